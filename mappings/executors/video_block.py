"""The video block of the Streamlined Inference reference, executed whole, sliced, and sliced +
grouped in numpy (float64), to prove that the Feature Slicer and Operator Grouping compute the
same numbers.

Block (the reference's section 6 block at reduced size, plus the motion module's GroupNorm): x of
shape (B, C, F, H, W);

1. spatial ResNet per frame: GN(G groups, statistics per frame), SiLU, 3x3 conv, SiLU, 3x3 conv,
   residual;
2. temporal block: GN whose statistics span (C/G, F, H, W) (as diffusers' motion module), then
   self-attention across the F frames at every pixel (``heads`` heads, Q/K/V and output
   projections), residual.

Executions:

- ``whole``: every op on the full tensor;
- ``sliced``: every op runs slice by slice (spatial ops along B x F, temporal ops along W, frames
  whole), materialising each op's full output (Feature Slicer);
- ``grouped``: the ResNet runs frame slices end to end and the temporal block runs width slices
  end to end (Operator Grouping), full tensors only between the two groups.

The temporal GroupNorm is ``two_pass`` (pass 1 accumulates per-column partial sums and sums of
squares over all slices, pass 2 normalises: exact) or ``per_slice`` (each width slice normalised
with its own statistics: an approximation). Reductions are defined column by column (one partial
per latent column, combined in column order), so whole and sliced runs do the same floating-point
operations: equality is exact, not within a tolerance.
"""
from __future__ import annotations

import numpy as np

from . import options
from .registry import CheckResult

__all__ = ["VideoBlockParams", "make_params", "run_block", "per_slice_groupnorm_error", "checks"]

EPS = 1e-5


class VideoBlockParams(dict):
    """Weights of the block: gn1/gn2 (gamma, beta), conv1/conv2 (C, C, 3, 3), gnt (gamma, beta),
    wq/wk/wv/wo (C, C); ``groups``, ``heads``."""


def make_params(C: int = 32, groups: int = 8, heads: int = 4, seed: int = 0) -> VideoBlockParams:
    rng = np.random.default_rng(seed)
    p = VideoBlockParams(groups=groups, heads=heads)
    for g in ("gn1", "gn2", "gnt"):
        p[g] = (1 + 0.1 * rng.standard_normal(C), 0.1 * rng.standard_normal(C))
    for c in ("conv1", "conv2"):
        p[c] = rng.standard_normal((C, C, 3, 3)) / np.sqrt(9 * C)
    for w in ("wq", "wk", "wv", "wo"):
        p[w] = rng.standard_normal((C, C)) / np.sqrt(C)
    return p


# ---- spatial ops on frames (N, C, H, W) ----------------------------------------------------
def _silu(x):
    return x / (1 + np.exp(-x))


def _gn_frames(x, gamma, beta, groups):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    mean = g.mean(axis=2, keepdims=True)
    var = ((g - mean) ** 2).mean(axis=2, keepdims=True)
    y = ((g - mean) / np.sqrt(var + EPS)).reshape(x.shape)
    return y * gamma[None, :, None, None] + beta[None, :, None, None]


def _conv3x3(x, w):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, r:r + h, s:s + wd] for r in range(3) for s in range(3)], axis=2)
    cols = cols.reshape(n, c * 9, h * wd).transpose(0, 2, 1)           # (N, HW, C*9)
    wm = w.reshape(w.shape[0], c * 9)                                  # (Cout, C*9), (c, r, s)
    out = np.matmul(cols, wm.T)                                        # per-frame GEMMs
    return out.transpose(0, 2, 1).reshape(n, -1, h, wd)


def _resnet_ops(p):
    g = p["groups"]
    return [lambda x: _gn_frames(x, *p["gn1"], g), _silu, lambda x: _conv3x3(x, p["conv1"]),
            lambda x: _gn_frames(x, *p["gn2"], g), _silu, lambda x: _conv3x3(x, p["conv2"])]


# ---- temporal ops on (B, C, F, H, W), sliced along W ---------------------------------------
def _column_partials(x, groups):
    """Per latent column w: (B, G) sums and sums of squares over (C/G, F, H)."""
    b, c, f, h, w = x.shape
    out = []
    for col in range(w):
        v = np.ascontiguousarray(x[..., col]).reshape(b, groups, -1)
        out.append((v.sum(axis=2), (v * v).sum(axis=2), v.shape[2]))
    return out


def _combine(partials):
    s = np.zeros_like(partials[0][0])
    q = np.zeros_like(partials[0][1])
    n = 0
    for ps, pq, pn in partials:             # column order
        s, q, n = s + ps, q + pq, n + pn
    mean = s / n
    return mean, q / n - mean * mean


def _gn_apply(x, mean, var, gamma, beta, groups):
    b, c = x.shape[:2]
    g = x.reshape(b, groups, c // groups, *x.shape[2:])
    y = (g - mean[:, :, None, None, None, None]) / np.sqrt(var[:, :, None, None, None, None] + EPS)
    return y.reshape(x.shape) * gamma[None, :, None, None, None] + beta[None, :, None, None, None]


def _temporal_attention(x, p):
    """Self-attention across frames at every pixel of x (B, C, F, H, W); returns the same shape."""
    b, c, f, h, w = x.shape
    heads, d = p["heads"], c // p["heads"]
    t = np.ascontiguousarray(x.transpose(0, 3, 4, 2, 1)).reshape(b * h * w, f, c)
    q, k, v = (np.matmul(t, p[n].T) for n in ("wq", "wk", "wv"))

    def split(a):
        return a.reshape(-1, f, heads, d).transpose(0, 2, 1, 3)
    s = np.matmul(split(q), split(k).transpose(0, 1, 3, 2)) / np.sqrt(d)
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    o = np.matmul(s / s.sum(axis=-1, keepdims=True), split(v))
    o = np.matmul(o.transpose(0, 2, 1, 3).reshape(-1, f, c), p["wo"].T)
    return o.reshape(b, h, w, f, c).transpose(0, 4, 3, 1, 2)


def _frames(x):
    b, c, f, h, w = x.shape
    return np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4)).reshape(b * f, c, h, w)


def _video(y, b, f):
    n, c, h, w = y.shape
    return np.ascontiguousarray(y.reshape(b, f, c, h, w).transpose(0, 2, 1, 3, 4))


def _bounds(n: int, slices: int) -> list[tuple[int, int]]:
    """Uneven slices allowed: the first n % slices slices are one longer."""
    q, r = divmod(n, slices)
    out, a = [], 0
    for i in range(slices):
        e = a + q + (i < r)
        out.append((a, e))
        a = e
    return out


def run_block(x: np.ndarray, p: VideoBlockParams, mode: str = "whole", slices: int = 1,
              groupnorm: str = "two_pass") -> np.ndarray:
    """Execute the block on x (B, C, F, H, W); ``mode`` whole | sliced | grouped."""
    b, c, f, h, w = x.shape
    if mode not in ("whole", "sliced", "grouped"):
        raise ValueError(f"mode: expected whole, sliced or grouped, got {mode!r}")
    if mode != "whole" and not 1 <= slices <= min(b * f, w):
        raise ValueError(f"slices: {slices} exceeds the sliced axis (B x F = {b * f}, W = {w})")
    frames = _frames(x)
    ops = _resnet_ops(p)
    fb = _bounds(b * f, slices) if mode != "whole" else [(0, b * f)]
    if mode == "grouped":
        parts = []
        for lo, hi in fb:
            y = frames[lo:hi]
            for op in ops:
                y = op(y)
            parts.append(y + frames[lo:hi])
        y = np.concatenate(parts)
    else:
        y = frames
        for op in ops:
            y = np.concatenate([op(y[lo:hi]) for lo, hi in fb])
        y = y + frames
    v = _video(y, b, f)
    g = p["groups"]
    wb = _bounds(w, slices) if mode != "whole" else [(0, w)]
    if groupnorm == "per_slice" and mode != "whole":
        stats = {bd: _combine(_column_partials(v[..., bd[0]:bd[1]], g)) for bd in wb}
    else:   # whole, or two-pass: pass 1 over every slice's columns, in column order
        partials = []
        for lo, hi in wb:
            partials += _column_partials(v[..., lo:hi], g)
        whole_stats = _combine(partials)
        stats = {bd: whole_stats for bd in wb}
    gamma, beta = p["gnt"]
    if mode == "grouped":
        out = np.concatenate([
            v[..., lo:hi] + _temporal_attention(_gn_apply(v[..., lo:hi], *stats[(lo, hi)], gamma, beta, g), p)
            for lo, hi in wb], axis=4)
    else:
        n = np.concatenate([_gn_apply(v[..., lo:hi], *stats[(lo, hi)], gamma, beta, g) for lo, hi in wb],
                           axis=4)
        a = np.concatenate([_temporal_attention(n[..., lo:hi], p) for lo, hi in wb], axis=4)
        out = v + a
    return out


def _input(shape=(1, 32, 8, 8, 8), seed: int = 1):
    return np.random.default_rng(seed).standard_normal(shape)


def per_slice_groupnorm_error(slices: int, shape=(1, 32, 8, 8, 8), seed: int = 1) -> tuple[float, float]:
    """(max abs error, max relative error) of per-slice temporal GroupNorm vs the whole block."""
    x, p = _input(shape, seed), make_params(shape[1], seed=seed)
    ref = run_block(x, p)
    got = run_block(x, p, "grouped", slices, "per_slice")
    err = float(np.max(np.abs(got - ref)))
    return err, err / float(np.max(np.abs(ref)))


def _exact_check(name: str, mode: str, slices: int):
    def run() -> CheckResult:
        x, p = _input(seed=options.seed_for(1)), make_params(seed=options.seed_for(0))
        ref, got = run_block(x, p), run_block(x, p, mode, slices, "two_pass")
        err = float(np.max(np.abs(got - ref)))
        return CheckResult(name, err, 0.0, bool(np.array_equal(got, ref)))
    return run


def checks() -> dict:
    """Exact equality of sliced and sliced+grouped executions (two-pass GroupNorm) with the
    whole block, for even and uneven slice counts (8 frames, width 8)."""
    out = {}
    for mode in ("sliced", "grouped"):
        for s in (2, 3, 8):
            name = f"video_block_{mode}[slices={s},groupnorm=two_pass]"
            out[name] = _exact_check(name, mode, s)
    return out
