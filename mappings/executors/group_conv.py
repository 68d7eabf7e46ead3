"""Tiled grouped convolution: the GPU conv kernels' schedule (mappings/gpu/conv.py), in numpy.

:func:`group_conv_tiled` walks the grid the chosen :class:`~mappings.gpu.conv.ConvTile` implies:
per image, per th x tw output tile, per channel block (whole groups, or a slice of one group's
output channels, :func:`~mappings.gpu.conv.channel_blocking`), it stages the input tile with its
halo for each ``channel_step`` slice of the block's input channels and accumulates the slice's
contribution tap by tap (the implicit GEMM's (r, s) steps; the direct kernel's window), then
stores the tile. Out-of-range pixels are zero padding (input) or discarded (edge tiles).
:func:`group_conv_reference` is the plain definition. ``checks()`` runs depthwise, grouped,
strided and dense layers with the tiles the GPU mapper chooses on P100 and V100 presets.
"""
from __future__ import annotations

import numpy as np

__all__ = ["group_conv_reference", "group_conv_tiled", "checks"]


def group_conv_reference(x: np.ndarray, w: np.ndarray, stride: int, padding: int, groups: int) -> np.ndarray:
    """y[n, p, q, o] = sum_{r, s, c} xpad[n, p*stride + r, q*stride + s, g(o)*G + c] w[o, r, s, c]:
    ``x`` NHWC (N, H, W, C_in); ``w`` (C_out, k, k, G) with G = C_in / groups."""
    n, h, wd, c_in = x.shape
    c_out, k, _, G = w.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    kg = c_out // groups
    y = np.zeros((n, ho, wo, c_out))
    for o in range(c_out):
        g = o // kg
        for r in range(k):
            for s in range(k):
                patch = xp[:, r:r + stride * ho:stride, s:s + stride * wo:stride, g * G:(g + 1) * G]
                y[:, :, :, o] += patch @ w[o, r, s]
    return y


def group_conv_tiled(x: np.ndarray, w: np.ndarray, layer, tile) -> np.ndarray:
    """``layer`` (workloads.conv_layers.ConvLayer) on ``x`` (NHWC) with ``w`` (C_out, k, k, G),
    computed tile by tile as ``tile`` (a ConvTile) schedules it."""
    from mappings.gpu.conv import channel_blocking
    n = x.shape[0]
    k, st, pad = layer.kernel, layer.stride, layer.padding
    G, kg, groups = layer.group_size, layer.out_per_group, layer.groups
    ho, wo = layer.h_out, layer.w_out
    th, tw = min(tile.th, ho), min(tile.tw, wo)
    xp = np.pad(x, ((0, 0), (pad, pad + th * st), (pad, pad + tw * st), (0, 0)))   # room for edge tiles
    groups_per_cta, slices = channel_blocking(layer, tile)
    blocks = []                      # (first output channel, output channels) per channel block
    if slices == 1:
        for g0 in range(0, groups, groups_per_cta):
            blocks.append((g0 * kg, min(groups, g0 + groups_per_cta) * kg - g0 * kg))
    else:
        width = -(-kg // slices)
        for g in range(groups):
            for o0 in range(g * kg, (g + 1) * kg, width):
                blocks.append((o0, min(width, (g + 1) * kg - o0)))
    y = np.zeros((n, ho, wo, layer.c_out))
    hh, ww = (th - 1) * st + k, (tw - 1) * st + k
    for img in range(n):
        for p0 in range(0, ho, th):
            for q0 in range(0, wo, tw):
                for o0, width in blocks:
                    acc = np.zeros((th, tw, width))
                    outs = np.arange(o0, o0 + width)
                    ins = np.unique(np.concatenate([np.arange(g * G, (g + 1) * G) for g in outs // kg]))
                    for c0 in range(0, len(ins), tile.channel_step):
                        chans = ins[c0:c0 + tile.channel_step]
                        halo = xp[img, p0 * st:p0 * st + hh, q0 * st:q0 * st + ww][:, :, chans]
                        # each output channel uses the slice's channels of its own group
                        mask = (chans[None, :] // G) == (outs[:, None] // kg)
                        wt = np.zeros((width, k, k, len(chans)))
                        for j, o in enumerate(outs):
                            sel = mask[j]
                            wt[j][:, :, sel] = w[o][:, :, chans[sel] - (o // kg) * G]
                        for r in range(k):
                            for s in range(k):
                                win = halo[r:r + st * th:st, s:s + st * tw:st]
                                acc += win @ wt[:, r, s, :].T
                    ph, qw = min(th, ho - p0), min(tw, wo - q0)
                    y[img, p0:p0 + ph, q0:q0 + qw, o0:o0 + width] = acc[:ph, :qw]
    return y


_CASES = (
    # (label, preset, c_in, c_out, h, kernel, stride, groups, batch): larger than one tile
    ("depthwise", "p100_pcie", 16, 16, 20, 3, 1, 16, 2),
    ("depthwise_stride2", "v100_sxm2", 8, 8, 37, 3, 2, 8, 1),
    ("grouped_G4", "p100_pcie", 64, 64, 18, 3, 1, 16, 1),
    ("grouped_G8", "v100_sxm2", 64, 64, 19, 3, 2, 8, 1),
    ("dense", "v100_sxm2", 40, 160, 9, 3, 1, 1, 2),
    ("dense_7x7_stem", "p100_pcie", 3, 8, 40, 7, 2, 1, 1),
)


def _check(name, preset, c_in, c_out, h, kernel, stride, groups, batch):
    def run():
        import archsim
        from mappings.gpu.conv import choose_conv_kernel
        from workloads.conv_layers import ConvLayer

        from . import options
        from .registry import TILING, compare_dense
        layer = ConvLayer(name, c_in, c_out, h, h, kernel, stride, kernel // 2, groups)
        _, tile = choose_conv_kernel(layer, archsim.load_arch(preset), batch, 2)
        rng = options.rng(900 + c_in + groups)
        x = rng.standard_normal((batch, h, h, c_in))
        w = rng.standard_normal((c_out, kernel, kernel, layer.group_size))
        got = group_conv_tiled(x, w, layer, tile)
        return compare_dense(name, got, group_conv_reference(x, w, stride, kernel // 2, groups), TILING)
    return run


def checks() -> dict:
    out = {}
    for label, preset, *shape in _CASES:
        name = f"group_conv_tiled[{label},{preset}]"
        out[name] = _check(name, preset, *shape)
    return out
