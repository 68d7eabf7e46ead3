"""The ``e2gc`` study: grouped convolution from one layer to whole networks on GPU presets, and
single layers on spatial arrays.

Point keys: ``arch`` (a GPU preset, or for layer points a spatial preset), ``network`` (``layer``, ``mobilenet_v1`` or ``resnext50``),
``G`` (group size: channels per group), ``batch`` (default 64), ``precision`` (fp16 default);
layer points also take ``C`` (= C_in = C_out), ``H`` (= H_in = W_in), ``stride`` (default 1) and
``kernel`` (auto | implicit_gemm | direct); ``select`` (time | energy: what the GPU conv kernel
choice minimises among its simulated candidates, mappings/gpu/conv.py); ``fidelity``: ``event`` (default, the GPU simulator)
or ``bound`` (its closed form, archsim/gpu/sim.py ``bound_gpu``: same actions, lower-bound time);
network points take ``H`` = 224 (the stage tables'
resolution) and ``C`` (ignored beyond G <= C: the widest grouped layer).

A layer point runs one 3x3 grouped layer (padding 1) on the simulator and adds ``macs``,
``energy_per_mac_pj``, the kernel chosen and the optimum-G model's G* by both balance rules
(``g_star_ridge``, ``g_star_energy``: the machine's tensor-core unit and fp16 words at the point's
batch, and the paper's FP32 reading ``g_star_ridge_fp32`` at batch 1; mappings/optimum_group.py).
On a spatial preset a layer point runs the ``spatial_group_conv`` mapper (mappings/spatial_group_conv.py:
per-group im2col GEMMs, weight-stationary, small groups packed block-diagonally; its tiling in
``tiles``, the array's utilisation in ``util_pe2d``) and G* uses the 2D array and 2-byte words with
the levels DRAM and glb (``g_star_ridge_fp32`` is left empty). ``family`` names the machine family.
A network point runs the E2GC form with group size G and its matched-complexity FgGC partner
(``workloads.networks.matched_fggc``) and records images/s and images/J of both and the E2GC gain
``ee_gain`` = (images/J E2GC) / (images/J FgGC) - 1; its other columns describe the E2GC run.
"""
from __future__ import annotations

from functools import lru_cache

import archsim
from archsim.families import get_family
import workloads
from archsim.record import result_metrics
from mappings import get_mapper, map_cascade
from mappings.gpu.conv import CONV_KERNELS, SELECTS
from mappings.gpu.networks import conv_layer_program, network_program
from mappings.optimum_group import optimum_group_size
from workloads.conv_layers import ConvLayer
from workloads.networks import NETWORKS, build_network, matched_fggc

from ..evaluators import Evaluator, Param, register
from ..params import ParamError
from .e2gc_report import report_sections

KEYS = ("arch", "network", "G", "C", "H", "batch", "precision", "stride", "kernel", "select", "fidelity")
FIDELITIES = ("event", "bound")
SPATIAL_WORD_BYTES = 2          # mappings/spatial_group_conv.py WORD_BYTES
ELEM = {"fp16": 2, "bf16": 2, "fp32": 4}
NETWORK_RESOLUTION = 224


@lru_cache(maxsize=None)
def _load_arch(name: str):
    """A preset parsed once per process (presets are frozen; points check and run many per preset)."""
    return archsim.load_arch(name)


def classify(key: str) -> str:
    if key in KEYS:
        return "name"
    raise ParamError(f"{key}: unknown parameter of the e2gc study; expected one of {', '.join(KEYS)}")


def _int(params: dict, key: str, default=None) -> int:
    value = params.get(key, default)
    if value is None:
        raise ParamError(f"{key}: required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"{key}: expected an integer, got {value!r}")
    return value


def _run(program, arch, seed: int, fidelity: str) -> dict:
    family = get_family(arch.family)
    result = family.simulate(program, arch, seed) if fidelity == "event" else family.bound(program, arch)
    return result_metrics(result, arch, archsim.energy(result, arch))


def _layer_of(params: dict) -> ConvLayer:
    C, H, G = _int(params, "C"), _int(params, "H"), _int(params, "G")
    if G < 1 or C % G:
        raise ParamError(f"G: group size {G} does not divide C={C}")
    return ConvLayer(f"c{C}_h{H}_g{G}", C, C, H, H, 3, _int(params, "stride", 1), 1, groups=C // G)


def _networks_of(name: str, params: dict):
    H, G = _int(params, "H", NETWORK_RESOLUTION), _int(params, "G")
    if H != NETWORK_RESOLUTION:
        raise ParamError(f"H: the {name} stage tables are built for {NETWORK_RESOLUTION}x{NETWORK_RESOLUTION} "
                         f"inputs, got H={H}")
    e2gc = build_network(name, "e2gc", G)
    return matched_fggc(name, G), e2gc


def _resolve(params: dict):
    """(arch, elem, batch, fidelity, network, layer or (fggc, e2gc)): every check but the simulation."""
    for key in params:
        classify(key)
    if "arch" not in params:
        raise ParamError("arch: required")
    arch = _load_arch(str(params["arch"]))
    if arch.family not in ("gpu", "spatial"):
        raise ParamError(f"arch: the e2gc study runs GPU and spatial presets; {arch.name} is a {arch.family} machine")
    precision = str(params.get("precision", "fp16"))
    if precision not in ELEM:
        raise ParamError(f"precision: unknown precision {precision!r}; known: {', '.join(ELEM)}")
    if arch.family == "spatial" and ELEM[precision] != SPATIAL_WORD_BYTES:
        raise ParamError(f"precision: spatial arrays hold 2-byte values (fp16, bf16), got {precision}")
    batch = _int(params, "batch", 64)
    fidelity = str(params.get("fidelity", "event"))
    if fidelity not in FIDELITIES:
        raise ParamError(f"fidelity: expected one of {', '.join(FIDELITIES)}, got {fidelity!r}")
    select = str(params.get("select", "time"))
    if select not in SELECTS:
        raise ParamError(f"select: expected one of {', '.join(SELECTS)}, got {select!r}")
    if select != "time" and arch.family != "gpu":
        raise ParamError("select: chooses among GPU conv kernels; spatial presets run spatial_group_conv")
    network = str(params.get("network", "layer"))
    if network == "layer":
        kernel = str(params.get("kernel", "auto"))
        if arch.family == "spatial" and kernel != "auto":
            raise ParamError(f"kernel: {kernel!r} is a GPU conv kernel; spatial presets run spatial_group_conv")
        if kernel not in CONV_KERNELS:
            raise ParamError(f"kernel: unknown conv kernel {kernel!r}; known: {', '.join(CONV_KERNELS)}")
        return arch, ELEM[precision], batch, fidelity, network, _layer_of(params)
    if network not in NETWORKS:
        raise ParamError(f"network: unknown network {network!r}; known: layer, {', '.join(NETWORKS)}")
    if arch.family != "gpu":
        raise ParamError(f"network: networks run on GPU presets; {arch.name} is a {arch.family} machine "
                         "(use network: layer)")
    return arch, ELEM[precision], batch, fidelity, network, _networks_of(network, params)


def _layer(layer: ConvLayer, params: dict, arch, elem: int, batch: int, seed: int, fidelity: str) -> dict:
    if arch.family == "spatial":
        return _spatial_layer(layer, arch, batch, seed, fidelity)
    program, choices, _ = conv_layer_program(layer, arch, batch, elem, str(params.get("kernel", "auto")),
                                             str(params.get("select", "time")))
    record = _run(program, arch, seed, fidelity)
    macs = layer.macs(batch)
    unit = "mma" if "mma" in arch.units else "fp32"
    record.update(choices)
    record.update({
        "family": arch.family, "macs": macs, "energy_per_mac_pj": record["energy_pj"] / macs,
        "arithmetic_intensity": layer.arithmetic_intensity(batch),
        "g_star_ridge": optimum_group_size(layer, arch, "ridge", batch, unit, elem),
        "g_star_energy": optimum_group_size(layer, arch, "energy", batch, unit, elem),
        "g_star_ridge_fp32": optimum_group_size(layer, arch, "ridge", 1, "fp32", 4),
    })
    return record


def _spatial_layer(layer: ConvLayer, arch, batch: int, seed: int, fidelity: str) -> dict:
    cascade = workloads.build("group_conv", GRP=layer.groups, CI=layer.group_size, CO=layer.out_per_group,
                              OY=layer.h_out, OX=layer.w_out, R=layer.kernel, S=layer.kernel, N=batch,
                              STRIDE=layer.stride)
    mapper = get_mapper("spatial_group_conv")
    if fidelity == "event":       # simulated, extrapolated from the steady state where the program is long
        mapping = map_cascade(mapper.name, cascade, arch, extrapolate=True)
        result = mapper.cost(mapping, arch)
        record = result_metrics(result, arch, archsim.energy(result, arch))
    else:
        mapping = map_cascade(mapper.name, cascade, arch)
        record = _run(mapper.lower(cascade, mapping, arch), arch, seed, fidelity)
    macs = layer.macs(batch)
    levels = (mapping.backing_level, mapping.staging)
    record.update(mapping.describe())
    record.update({
        "family": arch.family, "macs": macs, "energy_per_mac_pj": record["energy_pj"] / macs,
        "arithmetic_intensity": layer.arithmetic_intensity(batch),
        "g_star_ridge": optimum_group_size(layer, arch, "ridge", batch, mapping.unit, SPATIAL_WORD_BYTES, levels),
        "g_star_energy": optimum_group_size(layer, arch, "energy", batch, mapping.unit, SPATIAL_WORD_BYTES,
                                            levels),
    })
    return record


def _network(pair, arch, elem: int, batch: int, seed: int, fidelity: str, select: str) -> dict:
    fggc, e2gc = pair
    runs = {}
    for form, net in (("fggc", fggc), ("e2gc", e2gc)):
        program, choices = network_program(net, arch, batch, elem, select)
        runs[form] = (_run(program, arch, seed, fidelity), net, choices)
    record = dict(runs["e2gc"][0])
    for form, (rec, net, choices) in runs.items():
        record[f"macs_{form}"] = net.macs(batch) / batch
        record[f"params_{form}"] = net.params()
        record[f"images_per_s_{form}"] = batch / rec["latency_s"]
        record[f"images_per_j_{form}"] = batch / (rec["energy_pj"] * 1e-12)
        record[f"energy_static_fraction_{form}"] = rec.get("energy_static_pj", 0.0) / rec["energy_pj"]
        record[f"kernels_{form}"] = choices["kernels"]
    record["family"] = arch.family
    record["fggc_groups"] = fggc.value
    record["ee_gain"] = record["images_per_j_e2gc"] / record["images_per_j_fggc"] - 1
    record["speed_gain"] = record["images_per_s_e2gc"] / record["images_per_s_fggc"] - 1
    return record


def check(params: dict) -> None:
    """Everything but the simulation: keys, arch, precision, fidelity, G divides C, the network."""
    _resolve(params)


def evaluate(params: dict, seed: int = 0) -> dict:
    arch, elem, batch, fidelity, network, what = _resolve(params)
    if network == "layer":
        return _layer(what, params, arch, elem, batch, seed, fidelity)
    return _network(what, arch, elem, batch, seed, fidelity, str(params.get("select", "time")))


PARAMS = (
    Param("arch", "GPU or spatial preset", "required", "a family: gpu preset, or for layer points a family: "
          "spatial preset (`archsim list`)"),
    Param("network", "layer | mobilenet_v1 | resnext50", "layer", "one 3x3 grouped layer, or an E2GC network "
          "and its matched-MACs FgGC partner"),
    Param("G", "int", "required", "group size (channels per group); must divide C"),
    Param("C", "int", "required for layers", "layer: C_in = C_out; network: the widest grouped layer (G <= C)"),
    Param("H", "int", "required for layers; 224", "layer: H_in = W_in; network: input resolution (224)"),
    Param("batch", "int", "64", "images per batch"),
    Param("stride", "int", "1", "layer stride (padding 1)"),
    Param("kernel", "auto | implicit_gemm | direct", "auto", "layer kernel family (auto: both; the best "
          "candidates by the estimate are simulated)"),
    Param("select", "time | energy", "time", "GPU conv kernel choice: the fastest or the least-energy "
          "simulated candidate"),
    Param("precision", "fp16 | bf16 | fp32", "fp16", "element type of every tensor"),
    Param("fidelity", "event | bound", "event", "the GPU simulator or its closed form"),
)


register(Evaluator("e2gc", "grouped conv layers on GPU and spatial presets, FgGC/E2GC networks on GPU "
                   "presets (arch, network, G)",
                   ("arch", "network", "G"), classify, evaluate, report_sections,
                   is_workload_key=lambda key: key in ("network", "G", "C", "H", "batch", "stride"),
                   params=PARAMS, check=check))
