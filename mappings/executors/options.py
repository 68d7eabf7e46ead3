"""Options of ``archsim verify``: input seed, shape overrides and arithmetic precision.

The command line activates a :class:`VerifyOptions` with :func:`use`; a check reads
:func:`active` when it runs. Without options every check runs as registered (its own seed and
shape, float64).

- ``seed``: every check draws its inputs from ``rng(base)`` = ``default_rng([seed, base])``
  (``base`` is the check's own seed), so one ``--seed`` changes every check's inputs.
- ``shape``: upper-case rank sizes; a check honours the keys listed in its function's
  ``shape_keys`` attribute.
- ``precision``: checks that declare ``precision_aware`` run their executor in the format: inputs
  rounded to it, and every product and every partial sum rounded (one rounding per operation, as
  a multiply-accumulate unit of that width without a fused multiply-add). The GEMM tolerance is
  Higham's bound for an inner product of length n (Accuracy and Stability of Numerical
  Algorithms, 2nd ed., section 3.1): ``|fl(x.y) - x.y| <= gamma_n |x|.|y|``,
  ``gamma_n = n u / (1 - n u)``; the reference is float64 on the same rounded inputs, so its own
  ``gamma_n`` at float64 is added. Attention's tolerance builds on the same gamma_n
  (:func:`attention_bound`). When a bound does not exist (``n u >= 1``) the check is reported as
  skipped, not passed.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PRECISIONS", "VerifyOptions", "active", "use", "rng", "seed_for", "shape", "round_to",
           "unit_roundoff", "gamma", "matmul_in", "sum_in", "dot_bound", "attention_bound"]

# Significand bits (with the implicit bit): IEEE 754-2008 binary64, binary32, binary16;
# bfloat16 has 8 exponent and 7 stored fraction bits (Google Brain's format, as on TPUs and in
# NVIDIA's and Intel's bf16 units). Unit roundoff u = 2**-p (round to nearest).
PRECISIONS = {"fp64": 53, "fp32": 24, "bf16": 8, "fp16": 11}


@dataclass(frozen=True)
class VerifyOptions:
    seed: int | None = None
    shape: dict = field(default_factory=dict)
    precision: str = "fp64"

    def __post_init__(self):
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"--seed: expected a non-negative integer, got {self.seed!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        for key, value in self.shape.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--set {key}: expected a positive integer, got {value!r}")


_ACTIVE = VerifyOptions()


def active() -> VerifyOptions:
    return _ACTIVE


@contextlib.contextmanager
def use(options: VerifyOptions):
    """Run the checks inside with ``options`` active."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, options
    try:
        yield options
    finally:
        _ACTIVE = previous


def rng(base: int) -> np.random.Generator:
    """The input generator of a check whose own seed is ``base`` (``--seed`` mixes in)."""
    seed = _ACTIVE.seed
    return np.random.default_rng(base if seed is None else [seed, base])


def seed_for(base: int) -> int:
    """An integer seed for generators that take one (the matrices of workloads)."""
    seed = _ACTIVE.seed
    return base if seed is None else int(np.random.default_rng([seed, base]).integers(2**31))


def shape(defaults: dict, keys: tuple[str, ...]) -> dict:
    """``defaults`` with the active shape overrides among ``keys``."""
    return {**defaults, **{k: v for k, v in _ACTIVE.shape.items() if k in keys}}


def unit_roundoff(precision: str) -> float:
    return 2.0 ** -PRECISIONS[precision]


def gamma(n: int, precision: str) -> float:
    """Higham's gamma_n = n u / (1 - n u); ``inf`` when n u >= 1 (no bound)."""
    nu = n * unit_roundoff(precision)
    return nu / (1.0 - nu) if nu < 1.0 else float("inf")


def round_to(x, precision: str) -> np.ndarray:
    """``x`` rounded to nearest (ties to even) in ``precision``, held in float64.

    fp32 and fp16 are numpy's casts (with their exponent ranges: fp16 overflows above 65504);
    bf16 rounds the significand to 8 bits and keeps float64's exponent range (values here are far
    inside bf16's, which is fp32's).
    """
    x = np.asarray(x, dtype=np.float64)
    if precision == "fp64":
        return x
    if precision == "fp32":
        return x.astype(np.float32).astype(np.float64)
    if precision == "fp16":
        return x.astype(np.float16).astype(np.float64)
    mant, exp = np.frexp(x)                       # x = mant * 2**exp, 0.5 <= |mant| < 1
    bits = PRECISIONS[precision]
    return np.ldexp(np.rint(np.ldexp(mant, bits)), exp - bits)


def matmul_in(A, B, precision: str) -> np.ndarray:
    """``A @ B`` one multiply-accumulate step at a time, each product and sum rounded to
    ``precision`` (plain ``A @ B`` for fp64)."""
    if precision == "fp64":
        return np.asarray(A) @ np.asarray(B)
    A, B = np.asarray(A), np.asarray(B)
    acc = np.zeros((A.shape[0], B.shape[1]))
    for k in range(A.shape[1]):
        acc = round_to(acc + round_to(np.multiply.outer(A[:, k], B[k, :]), precision), precision)
    return acc


def sum_in(x, precision: str) -> np.ndarray:
    """``x.sum(axis=0)`` one addition at a time, each rounded to ``precision``."""
    x = np.asarray(x)
    if precision == "fp64":
        return x.sum(axis=0)
    acc = np.zeros(x.shape[1:])
    for row in x:
        acc = round_to(acc + row, precision)
    return acc


def attention_bound(Q, K, V, M0: int, precision: str) -> float:
    """Tolerance of a tiled attention executor run in ``precision`` against the float64 reference
    on the same inputs (a worst-case bound in the standard model, every operation rounded once).

    Every term w_m = exp(s_m - max) of the softmax reaches the numerator sum_m w_m V[f, m] and the
    denominator sum_m w_m scaled by one factor in [exp(-eta) (1 - gamma_k), exp(eta) (1 + gamma_k)]:
    eta = gamma_E S (the logit s_m, an inner product of length E, S = max |K|^T |Q|) + c u D (the
    c <= M1 + 1 rounded exponent arguments, each at most D = the largest logit spread, in absolute
    terms), k = M + 6 M1 + 8 roundings along a term's path (products, the sums over m, the
    running-max corrections, two per exp, the division). With rho = exp(eta) (1 + gamma_k) - 1,
    |N'/D' - N/D| <= 2 rho max|V| / (1 - rho), plus u (1 + rho) / (1 - rho) max|V| for the final
    division. The reference's own bound (the same at float64) is added. ``inf`` when rho >= 1.
    """
    Q, K, V = (np.asarray(x, dtype=np.float64) for x in (Q, K, V))
    E, M = K.shape
    M1 = M // M0
    S = float(np.max(np.abs(K).T @ np.abs(Q)))
    logits = K.T @ Q
    vmax = float(np.max(np.abs(V)))

    def tol(p: str) -> float:
        u = unit_roundoff(p)
        D = float(np.max(logits.max(axis=0) - logits.min(axis=0))) + 2 * gamma(E, p) * S
        rho = np.exp(gamma(E, p) * S + (M1 + 1) * u * D) * (1 + gamma(M + 6 * M1 + 8, p)) - 1
        return (2 * rho + u * (1 + rho)) / (1 - rho) * vmax if rho < 1 else float("inf")

    return tol(precision) + tol("fp64")


def dot_bound(A, B, precision: str) -> float:
    """Tolerance of ``A @ B`` computed in ``precision`` against float64 on the same inputs:
    ``(gamma_K(u) + gamma_K(u_fp64)) * max (|A| @ |B|)``, K the reduction length."""
    A, B = np.abs(np.asarray(A)), np.abs(np.asarray(B))
    K = A.shape[1]
    scale = float(np.max(A @ B)) if A.size and B.size else 0.0
    return (gamma(K, precision) + gamma(K, "fp64")) * scale
