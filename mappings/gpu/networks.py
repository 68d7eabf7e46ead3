"""Convolutional layers and whole networks as GPU kernel sequences, and the ``gpu_group_conv`` mapper.

A layer runs as one kernel (mappings/gpu/conv.py chooses it; a 1x1 stride-1 convolution and the
fully connected layer run as a tensor-core GEMM, mappings/gpu/mappers.py). A network
(workloads/networks.py) runs its layers in order on one stream, PyTorch-eager style: 3x3 and
strided convolutions, pointwise GEMMs, pooling (max pooling reads its 3x3 windows once through
the cache: an elementwise pass; global average pooling reads its input once) and residual adds
(+ ReLU) as elementwise kernels. Batch norm is folded into the convolutions and ReLU fused in
their epilogues (inference). Tensors are NHWC in the chosen precision; weights and the input
image exist before the program starts; each activation is allocated by the kernel that writes it
and freed after its last reader (archsim/gpu/memory.py), so a network's energy includes static
power over the whole sequence's runtime.
"""
from __future__ import annotations

from dataclasses import replace

from archsim.gpu import GpuProgram
from workloads.conv_layers import ConvLayer
from workloads.networks import AddLayer, Network, PoolLayer

from ..registry import register
from ..spec import MappingError
from .conv import CONV_KERNELS, SELECTS, choose_conv_kernel
from .kernels import elementwise, wave_ctas
from .mappers import _GpuMapper, gemm_kernels

__all__ = ["layer_kernels", "conv_layer_program", "network_program", "layer_from_cascade"]


# (arch, layer GEMM) -> gemm_kernels(...): the GEMM tile choice simulates candidates, and the same
# pointwise layers recur in every form of a network, so a worker process chooses each once.
_GEMM_CHOICES: dict[tuple, tuple] = {}


def _gemm_layer(arch, name: str, M: int, N: int, K: int, elem: int, x: str, w: str, y: str):
    key = (arch.model_dump_json(), name, M, N, K, elem, x, w, y)
    if key not in _GEMM_CHOICES:
        if len(_GEMM_CHOICES) >= 4096:
            _GEMM_CHOICES.pop(next(iter(_GEMM_CHOICES)))
        _GEMM_CHOICES[key] = gemm_kernels(arch, name, M, N, K, elem, x, w, y)
    kernels, tile, chosen = _GEMM_CHOICES[key]
    return list(kernels), tile, chosen


def _is_gemm(layer: ConvLayer) -> bool:
    return layer.kernel == 1 and layer.stride == 1 and layer.groups == 1 and layer.padding == 0


def layer_kernels(layer, arch, batch: int, elem: int, kernel: str = "auto",
                  select: str = "time") -> tuple[list, str]:
    """The kernels of one network layer and a description of the choice (``select``: what the
    conv kernel choice minimises, mappings/gpu/conv.py)."""
    return _layer_kernels(layer, arch, batch, elem, kernel, select)[:2]


def _layer_kernels(layer, arch, batch: int, elem: int, kernel: str, select: str) -> tuple[list, str, object]:
    """:func:`layer_kernels` plus the ConvTile chosen (None unless the layer runs as a conv kernel)."""
    if isinstance(layer, ConvLayer):
        x, w, y = layer.inputs[0] if layer.inputs else "X", f"{layer.name}.w", layer.output or "Y"
        if _is_gemm(layer) and kernel == "auto":
            M = batch * layer.h_in * layer.w_in
            kernels, tile, _ = _gemm_layer(arch, layer.name, M, layer.c_out, layer.c_in, elem, x, w, y)
            return kernels, f"gemm:{tile}", None
        k, tile = choose_conv_kernel(layer, arch, batch, elem, kernel, layer.name, x, w, y, select)
        return [k], tile.describe(), tile
    wave = wave_ctas(arch)
    if isinstance(layer, PoolLayer):
        src, dst = layer.input_words(batch) * elem, layer.output_words(batch) * elem
        per_input = layer.kernel ** 2 / layer.stride ** 2      # window compares per input element
        op = "fp32.max" if layer.name.startswith("max") else "fp32.add"
        return [elementwise(layer.name, {layer.inputs[0]: src}, {layer.output: dst}, wave,
                            {op: per_input / elem})], "elementwise", None
    if isinstance(layer, AddLayer):
        n = layer.words(batch) * elem
        return [elementwise(layer.name, {t: n for t in layer.inputs}, {layer.output: n}, wave,
                            {"fp32.add": 0.5 / elem, "fp32.max": 0.5 / elem})], "elementwise", None
    raise TypeError(f"unknown layer type {type(layer).__name__}")


def conv_layer_program(layer: ConvLayer, arch, batch: int, elem: int, kernel: str = "auto",
                       select: str = "time"):
    """(program, choices, conv tile) of one convolution layer on its own (input and weights
    pre-allocated); the tile is the chosen ConvTile, None when the layer runs as a GEMM."""
    layer = replace(layer, inputs=("X",), output="Y")
    kernels, described, tile = _layer_kernels(layer, arch, batch, elem, kernel, select)
    inputs = {t: n for k in kernels for t, n in k.reads.items() if t == "X" or t.endswith(".w")}
    return (GpuProgram(layer.name, tuple(kernels), inputs),
            {"kernels": "+".join(k.name for k in kernels), "tiles": described}, tile)


def network_program(network: Network, arch, batch: int, elem: int,
                    select: str = "time") -> tuple[GpuProgram, dict]:
    """(program, choices) of a whole network: its layers in order on one stream."""
    kernels, tiles = [], []
    first = network.layers[0]
    inputs = {first.inputs[0]: first.input_words(batch) * elem}
    for layer in network.layers:
        ks, tile = layer_kernels(layer, arch, batch, elem, select=select)
        kernels += ks
        tiles.append(f"{layer.name}={tile}")
        for k in ks:            # weights as the kernels read them (a GEMM's B leaves the FC bias out)
            inputs.update({t: n for t, n in k.reads.items() if t.endswith(".w")})
    return (GpuProgram(network.label(), tuple(kernels), inputs),
            {"kernels": str(len(kernels)), "tiles": ";".join(tiles)})


def layer_from_cascade(cascade) -> ConvLayer:
    """The ConvLayer of a ``group_conv`` cascade (GRP groups, CI in / CO out channels per group,
    output OY x OX, R x S kernel, stride STRIDE, over a pre-padded input: 'same' padding (R - 1) / 2,
    so the unpadded input is (OY - 1) STRIDE + R - 2 x padding rows)."""
    s = cascade.shape
    if s["R"] != s["S"] or s["R"] % 2 == 0:
        raise MappingError(f"R: GPU conv kernels take square odd kernels, got R={s['R']} S={s['S']}")
    stride, pad = s["STRIDE"], (s["R"] - 1) // 2
    h_in, w_in = ((s[x] - 1) * stride + s["R"] - 2 * pad for x in ("OY", "OX"))
    return ConvLayer("group_conv", s["GRP"] * s["CI"], s["GRP"] * s["CO"], h_in, w_in, s["R"], stride, pad,
                     groups=s["GRP"])


def _group_conv(cascade, arch, elem, options):
    if "batch" in options:
        raise MappingError("batch: the images per batch are the group_conv cascade's N (--set N=...)")
    kernel = options.pop("kernel", "auto")
    if kernel not in CONV_KERNELS:
        raise MappingError(f"kernel: unknown conv kernel {kernel!r}; known: {', '.join(CONV_KERNELS)}")
    select = options.pop("select", "time")
    if select not in SELECTS:
        raise MappingError(f"select: expected one of {', '.join(SELECTS)}, got {select!r}")
    layer, batch = layer_from_cascade(cascade), cascade.shape["N"]
    program, choices, tile = conv_layer_program(layer, arch, batch, elem, kernel, select)
    return program, {**choices, "batch": str(batch)}, {"group_conv": tile}


MAPPER = register(_GpuMapper(
    "gpu_group_conv", "GPU grouped/depthwise/dense 3x3 convolution (NHWC; tensor-core implicit GEMM or "
    "direct FP32 kernel, autotuned by simulating the best candidates); the cascade's N is the batch; options "
    "kernel (auto|implicit_gemm|direct), select (time|energy)",
    ("group_conv",), _group_conv))
