"""Grouped convolution at the tiling ``spatial_group_conv`` chose (mappings/spatial_group_conv.py), in numpy.

:func:`group_conv_spatial_tiled` walks that mapper's loop nest: per block of ``pack`` groups it
builds the block-diagonal weight matrix the array holds ((g, c, r, s) rows x (g, k) columns); per
pixel tile (``images`` x ``rows`` output rows x the full width) it gathers the im2col columns from
the tile's input rows (with the halo) and runs the passes: column folds, and within each the row
folds accumulating partial sums, each pass on its own fold of the weights (streamed weights reach
glb F folds at a time ahead of their passes), exactly the array extents the mapper costs. ``checks()`` compares
it with the direct reference (mappings/executors/group_conv.py) for depthwise, grouped and dense
layers on generic_array and fusemax, some with a small glb so the layer takes many tiles.
"""
from __future__ import annotations

import numpy as np

from .group_conv import group_conv_reference

__all__ = ["group_conv_spatial_tiled", "checks"]


def _block_weights(w: np.ndarray, m, groups: list[int]) -> np.ndarray:
    """Block-diagonal (len(groups) J) x (len(groups) K) matrix; row j = c R S + r S + s."""
    J, K = m.J, m.K
    out = np.zeros((len(groups) * J, len(groups) * K))
    for i, g in enumerate(groups):
        wg = w[g * K:(g + 1) * K]                        # (K, R, S, C)
        out[i * J:(i + 1) * J, i * K:(i + 1) * K] = wg.transpose(3, 1, 2, 0).reshape(J, K)
    return out


def group_conv_spatial_tiled(x: np.ndarray, w: np.ndarray, m, padding: int) -> np.ndarray:
    """``x`` NHWC (N, H_in, W_in, G C), ``w`` (G K, R, S, C); ``m`` a GroupConvMapping whose H x W
    is the output; the input is zero-padded by ``padding`` (the cascade's pre-padded input)."""
    from mappings.spatial_group_conv import _fold_extents, _tiles
    st, R, S, C, K, J = m.stride, m.R, m.S, m.C, m.K, m.J
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    y = np.zeros((m.N, m.H, m.W, m.G * K))
    starts = [(i0, h0) for i0 in range(0, m.N, m.images) for h0 in range(0, m.H, m.rows)]
    for b in range(m.blocks):
        groups = list(range(b * m.pack, min(m.G, (b + 1) * m.pack)))
        wb = _block_weights(w, m, groups)
        folds = _fold_extents(m, len(groups))
        single = len(folds) == 1
        chans = np.concatenate([np.arange(g * C, (g + 1) * C) for g in groups])
        for (i0, h0), (images, rows) in zip(starts, _tiles(m)):
            halo = xp[i0:i0 + images, h0 * st:(h0 + rows - 1) * st + R, :, :][..., chans]   # the DRAM tile
            cols = np.empty((images, rows, m.W, len(groups), C, R, S))
            for r in range(R):
                for s in range(S):
                    win = halo[:, r:r + st * rows:st, s:s + st * m.W:st]     # (images, rows, W, groups C)
                    cols[..., r, s] = win.reshape(images, rows, m.W, len(groups), C)
            X = cols.reshape(images * rows * m.W, len(groups) * J)
            out = np.zeros((X.shape[0], len(groups) * K))
            for i, (r_used, c_used) in enumerate(folds):
                fr, fc = (0, 0) if single else (i % m.row_folds, i // m.row_folds)
                r0, c0 = fr * m.array_rows, fc * m.array_cols
                out[:, c0:c0 + c_used] += X[:, r0:r0 + r_used] @ wb[r0:r0 + r_used, c0:c0 + c_used]
            y[i0:i0 + images, h0:h0 + rows, :, groups[0] * K:(groups[-1] + 1) * K] = \
                out.reshape(images, rows, m.W, len(groups) * K)
    return y


_CASES = (
    # (label, preset, glb bytes (None: the preset's), c_in, c_out, h, kernel, stride, groups, batch)
    ("depthwise", "fusemax", None, 64, 64, 9, 3, 1, 64, 2),                 # pack 28: blocks 28, 28, 8
    ("depthwise_stride2", "generic_array", 640,  8, 8, 17, 3, 2, 8, 3),     # many tiles
    ("grouped_G4", "fusemax", None, 32, 32, 8, 3, 1, 8, 2),                 # pack 7: blocks 7, 1
    ("grouped_G8", "generic_array", 6144,  32, 32, 10, 3, 1, 4, 2),         # 5 row folds, many tiles
    ("dense", "generic_array", None, 40, 24, 6, 3, 1, 1, 1),                # 23 row x 2 column folds
    ("dense", "fusemax", None, 64, 64, 7, 3, 2, 1, 2),                      # 3 row folds, stride 2
)


def spatial_case(preset: str, glb, c_in, c_out, h, kernel, stride, groups, batch):
    """(layer, arch, mapping) of one check: the cascade of the layer, mapped by spatial_group_conv."""
    import archsim
    import workloads
    from mappings import map_cascade
    from workloads.conv_layers import ConvLayer
    arch = archsim.load_arch(preset, {"levels.glb.capacity_bytes": glb} if glb else {})
    layer = ConvLayer("check", c_in, c_out, h, h, kernel, stride, kernel // 2, groups)
    cascade = workloads.build("group_conv", G=groups, C=layer.group_size, K=layer.out_per_group,
                              H=layer.h_out, W=layer.w_out, R=kernel, S=kernel, N=batch, STRIDE=stride)
    return layer, arch, map_cascade("spatial_group_conv", cascade, arch)


def _check(name, preset, glb, c_in, c_out, h, kernel, stride, groups, batch):
    def run():
        from . import options
        from .registry import TILING, compare_dense
        layer, _, mapping = spatial_case(preset, glb, c_in, c_out, h, kernel, stride, groups, batch)
        rng = options.rng(700 + c_in + groups)
        x = rng.standard_normal((batch, h, h, c_in))
        w = rng.standard_normal((c_out, kernel, kernel, layer.group_size))
        got = group_conv_spatial_tiled(x, w, mapping, layer.padding)
        return compare_dense(name, got, group_conv_reference(x, w, stride, layer.padding, groups), TILING)
    return run


def checks() -> dict:
    return {f"group_conv_spatial[{label},{preset}]": _check(f"group_conv_spatial[{label},{preset}]", preset, *rest)
            for label, preset, *rest in _CASES}
