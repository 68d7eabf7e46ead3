"""Grouped convolution at the tiling ``spatial_group_conv`` chose (mappings/spatial_group_conv.py), in numpy.

:func:`group_conv_spatial_tiled` walks that mapper's loop nest: per block of ``pack`` groups it
builds the block-diagonal weight matrix the array holds ((grp, ci, r, s) rows x (grp, co) columns); per
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
    """Block-diagonal (len(groups) J) x (len(groups) CO) matrix; row j = ci R S + r S + s."""
    J, CO = m.J, m.CO
    out = np.zeros((len(groups) * J, len(groups) * CO))
    for i, g in enumerate(groups):
        wg = w[g * CO:(g + 1) * CO]                      # (CO, R, S, CI)
        out[i * J:(i + 1) * J, i * CO:(i + 1) * CO] = wg.transpose(3, 1, 2, 0).reshape(J, CO)
    return out


def group_conv_spatial_tiled(x: np.ndarray, w: np.ndarray, m, padding: int) -> np.ndarray:
    """``x`` NHWC (N, H_in, W_in, GRP CI), ``w`` (GRP CO, R, S, CI); ``m`` a GroupConvMapping whose
    OY x OX is the output; the input is zero-padded by ``padding`` (the cascade's pre-padded input)."""
    from mappings.spatial_group_conv import _fold_extents, _tiles
    st, R, S, CI, CO, J = m.stride, m.R, m.S, m.CI, m.CO, m.J
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    y = np.zeros((m.N, m.OY, m.OX, m.GRP * CO))
    starts = [(i0, p0) for i0 in range(0, m.N, m.images) for p0 in range(0, m.OY, m.rows)]
    for b in range(m.blocks):
        groups = list(range(b * m.pack, min(m.GRP, (b + 1) * m.pack)))
        wb = _block_weights(w, m, groups)
        folds = _fold_extents(m, len(groups))
        single = len(folds) == 1
        chans = np.concatenate([np.arange(g * CI, (g + 1) * CI) for g in groups])
        for (i0, p0), (images, rows) in zip(starts, _tiles(m)):
            halo = xp[i0:i0 + images, p0 * st:(p0 + rows - 1) * st + R, :, :][..., chans]   # the DRAM tile
            cols = np.empty((images, rows, m.OX, len(groups), CI, R, S))
            for r in range(R):
                for s in range(S):
                    win = halo[:, r:r + st * rows:st, s:s + st * m.OX:st]     # (images, rows, OX, groups CI)
                    cols[..., r, s] = win.reshape(images, rows, m.OX, len(groups), CI)
            X = cols.reshape(images * rows * m.OX, len(groups) * J)
            out = np.zeros((X.shape[0], len(groups) * CO))
            for i, (r_used, c_used) in enumerate(folds):
                fr, fc = (0, 0) if single else (i % m.row_folds, i // m.row_folds)
                r0, c0 = fr * m.array_rows, fc * m.array_cols
                out[:, c0:c0 + c_used] += X[:, r0:r0 + r_used] @ wb[r0:r0 + r_used, c0:c0 + c_used]
            y[i0:i0 + images, p0:p0 + rows, :, groups[0] * CO:(groups[-1] + 1) * CO] = \
                out.reshape(images, rows, m.OX, len(groups) * CO)
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
    cascade = workloads.build("group_conv", GRP=groups, CI=layer.group_size, CO=layer.out_per_group,
                              OY=layer.h_out, OX=layer.w_out, R=kernel, S=kernel, N=batch, STRIDE=stride)
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
