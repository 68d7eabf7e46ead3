"""Registry of executor-vs-reference checks.

``registry()`` returns a fresh ``dict[str, Check]``; a ``Check`` is a zero-arg
callable returning a :class:`CheckResult`. Every check builds its inputs from
a seeded ``numpy.random.Generator`` (``options.rng``: deterministic), runs a tiled executor
and an independent plain reference, and reports the max absolute error.

Tolerance of float64 checks: ``tol = REL_TOL * max(1, max|reference|)``
with ``REL_TOL = 1e-9``, i.e. relative to the reference's magnitude, absolute
for magnitudes below 1. Checks run in a chosen precision (``archsim verify --precision``: the GEMM
and tiled attention checks) use bounds derived from the format instead (Higham's inner-product
bound; mappings/executors/options.py). The GEMM checks use Higham's bound in float64 too. ``ok`` iff the error is finite and ``<= tol``. For
SpGEMM the sparsity patterns are compared first, after ``eliminate_zeros()``
on both sides; a pattern mismatch reports ``max_abs_err = inf``.

Each result says what its executor ran (``schedule``): ``simulated`` = the ops of a lowered,
simulated program, in the simulated order and at its tile extents; ``tiling`` = an executor at the
tiling a mapper chose, not the program's op order or fusion; ``reference`` = an executor or kernel
against the reference, tied to no mapping (the default).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from .attention import (
    attention_1pass_tiled,
    attention_2pass_tiled,
    attention_3pass_deferred_tiled,
    attention_3pass_tiled,
    attention_reference,
)
from . import options
from .gemm import gemm_reference, gemm_tiled
from .options import dot_bound
from .spgemm import spgemm_reference, spgemm_rowwise

__all__ = [
    "REL_TOL", "SIMULATED", "TILING", "REFERENCE", "CheckResult", "Check", "registry", "compare_dense", "compare_sparse",
    "attention_check", "gemm_check", "compare_product", "spgemm_check", "uniform_sparse", "powerlaw_sparse",
]

REL_TOL = 1e-9
SIMULATED, TILING, REFERENCE = "simulated", "tiling", "reference"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: max abs error against the reference and its tolerance."""

    name: str
    max_abs_err: float
    tol: float
    ok: bool
    schedule: str = REFERENCE
    precision: str = "fp64"
    skipped: str = ""           # why no verdict was possible (then ok is False and not a failure)


Check = Callable[[], CheckResult]


def _tol(ref_scale: float) -> float:
    return REL_TOL * max(1.0, float(ref_scale))


def compare_dense(name: str, got, ref, schedule: str = REFERENCE) -> CheckResult:
    """Compare two dense arrays (shape mismatch or non-finite values fail)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    tol = _tol(np.max(np.abs(ref)) if ref.size else 0.0)
    if got.shape != ref.shape:
        return CheckResult(name, float("inf"), tol, False, schedule)
    err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
    if not np.isfinite(err):
        err = float("inf")
    return CheckResult(name, err, tol, err <= tol, schedule)


def compare_sparse(name: str, got, ref, schedule: str = REFERENCE) -> CheckResult:
    """Compare two sparse matrices: same pattern after eliminating zeros, then values."""
    got = sp.csr_matrix(got, dtype=np.float64, copy=True)
    ref = sp.csr_matrix(ref, dtype=np.float64, copy=True)
    for m in (got, ref):
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
    tol = _tol(np.max(np.abs(ref.data)) if ref.nnz else 0.0)
    same_pattern = (got.shape == ref.shape
                    and np.array_equal(got.indptr, ref.indptr)
                    and np.array_equal(got.indices, ref.indices))
    if not same_pattern:
        return CheckResult(name, float("inf"), tol, False, schedule)
    err = float(np.max(np.abs(got.data - ref.data))) if ref.nnz else 0.0
    if not np.isfinite(err):
        err = float("inf")
    return CheckResult(name, err, tol, err <= tol, schedule)


def attention_check(name: str, executor: Callable, *, M0: int, P0: int, M: int = 64,
                    P: int = 32, E: int = 16, F: int = 12, seed: int = 0,
                    scale: float = 1.0) -> Check:
    """Build a check of ``executor(Q, K, V, M0, P0, precision=...)`` against ``attention_reference``.

    Q, K, V are standard normal (Q scaled by ``scale``) from ``options.rng(seed)``, in the active
    shape (M, P, E, F) and rounded to the active precision. In float64 the tolerance is
    ``REL_TOL``'s; in a chosen precision it is ``options.attention_bound``.
    """
    def run() -> CheckResult:
        defaults = {"M": M, "P": P, "E": E, "F": F}
        s = options.shape(defaults, run.shape_keys)
        precision = options.active().precision
        changed = {k: v for k, v in s.items() if v != defaults[k]}
        label = name if not changed else name[:-1] + "".join(f",{k}={v}" for k, v in changed.items()) + "]"
        r = options.rng(seed)
        Q = options.round_to(scale * r.standard_normal((s["E"], s["P"])), precision)
        K = options.round_to(r.standard_normal((s["E"], s["M"])), precision)
        V = options.round_to(r.standard_normal((s["F"], s["M"])), precision)
        try:
            got = executor(Q, K, V, M0, P0, precision=precision)
        except ValueError as err:
            raise ValueError(f"--set: check {label}: {err}") from None
        ref = attention_reference(Q, K, V)
        if precision == "fp64":
            return compare_dense(label, got, ref)
        tol = options.attention_bound(Q, K, V, M0, precision)
        if not np.isfinite(tol):
            return CheckResult(label, float("nan"), tol, False, REFERENCE, precision,
                               skipped=f"no worst-case bound in {precision} at this shape (rho >= 1)")
        result = compare_dense(label, got, ref)
        return CheckResult(label, result.max_abs_err, tol, result.max_abs_err <= tol, REFERENCE, precision)
    run.shape_keys = ("M", "P", "E", "F")
    run.precision_aware = True
    return run


def compare_product(name: str, got, A, B, precision: str, schedule: str = REFERENCE) -> CheckResult:
    """Compare ``got`` (``A @ B`` run in ``precision``) with float64 ``A @ B`` on the same inputs,
    within Higham's inner-product bound (:func:`options.dot_bound`)."""
    tol = dot_bound(A, B, precision)
    if not np.isfinite(tol):
        return CheckResult(name, float("nan"), tol, False, schedule, precision,
                           skipped=f"reduction length K={np.shape(A)[1]} has K*u >= 1 in {precision}: no bound")
    got = np.asarray(got, dtype=np.float64)
    ref = gemm_reference(A, B)
    if got.shape != ref.shape:
        return CheckResult(name, float("inf"), tol, False, schedule, precision)
    err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
    if not np.isfinite(err):
        err = float("inf")
    return CheckResult(name, err, tol, err <= tol, schedule, precision)


def gemm_check(name: str, *, M: int, N: int, K: int, M0: int, N0: int, K0: int,
               array_rows: int, array_cols: int, seed: int = 0, executor: Callable = gemm_tiled) -> Check:
    """Build a check of ``executor`` (:func:`gemm_tiled`) against ``A @ B`` on standard normal
    inputs, in the active shape and precision."""
    def run() -> CheckResult:
        s = options.shape({"M": M, "N": N, "K": K}, run.shape_keys)
        precision = options.active().precision
        r = options.rng(seed)
        A = options.round_to(r.standard_normal((s["M"], s["K"])), precision)
        B = options.round_to(r.standard_normal((s["K"], s["N"])), precision)
        got = executor(A, B, M0, N0, K0, array_rows, array_cols, precision=precision)
        label = name if s == {"M": M, "N": N, "K": K} else \
            f"gemm_tiled[M={s['M']},N={s['N']},K={s['K']},M0={M0},N0={N0},K0={K0},array={array_rows}x{array_cols}]"
        return compare_product(label, got, A, B, precision)
    run.shape_keys = ("M", "N", "K")
    run.precision_aware = True
    return run


def uniform_sparse(n: int, nnz_per_row: float, seed: int) -> sp.csr_matrix:
    """Seeded uniform random (Erdos-Renyi) n x n CSR, mean ``nnz_per_row`` per row.

    Row degrees are Binomial(n, nnz_per_row / n); columns uniform without replacement.
    """
    rng = options.rng(seed)
    deg = rng.binomial(n, nnz_per_row / n, n)
    rows = np.repeat(np.arange(n), deg)
    cols = np.concatenate([rng.choice(n, d, replace=False) for d in deg])
    vals = rng.standard_normal(rows.size)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def powerlaw_sparse(n: int, mean_nnz_per_row: float, seed: int, alpha: float = 1.3) -> sp.csr_matrix:
    """Seeded skewed n x n CSR: Pareto row degrees and Zipf-weighted column choice.

    Row degrees follow ``1 + Pareto(alpha)`` rescaled to ``mean_nnz_per_row``
    and clipped to [1, n]; columns are drawn without replacement with
    probability proportional to ``1 / (rank + 1)`` over a seeded permutation,
    so a few columns (hence rows of B = A) are heavy.
    """
    rng = options.rng(seed)
    raw = 1.0 + rng.pareto(alpha, n)
    deg = np.clip(np.rint(raw * mean_nnz_per_row / raw.mean()), 1, n).astype(np.int64)
    weights = 1.0 / (np.arange(n) + 1.0)
    weights = weights[rng.permutation(n)]
    weights /= weights.sum()
    rows = np.repeat(np.arange(n), deg)
    cols = np.concatenate([rng.choice(n, d, replace=False, p=weights) for d in deg])
    vals = rng.standard_normal(rows.size)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def spgemm_check(name: str, make_matrix: Callable[[], sp.csr_matrix], accumulator: str,
                 table_slots: int | None = None) -> Check:
    """Build a check of ``spgemm_rowwise(A, A)`` against scipy's ``A @ A``."""
    def run() -> CheckResult:
        A = make_matrix()
        C, _ = spgemm_rowwise(A, A, accumulator=accumulator, table_slots=table_slots)
        return compare_sparse(name, C, spgemm_reference(A, A))
    return run


_ATTENTION_1PASS_TILINGS = ((16, 8), (8, 32), (64, 4), (1, 1), (32, 16))
_ATTENTION_VARIANTS = (
    ("attention_2pass", attention_2pass_tiled),
    ("attention_3pass", attention_3pass_tiled),
    ("attention_3pass_deferred", attention_3pass_deferred_tiled),
)
_GEMM_SHAPES = (
    # (M, N, K, M0, N0, K0, array_rows, array_cols)
    (32, 32, 32, 16, 16, 8, 4, 4),        # everything divides
    (37, 29, 23, 16, 12, 5, 4, 3),        # edge tiles, folds and chunks everywhere
    (10, 7, 9, 4, 8, 16, 8, 8),           # array larger than tiles, K0 > K
)


def registry() -> dict[str, Check]:
    """Return all registered checks, keyed by name (a new dict on every call)."""
    checks: dict[str, Check] = {}
    for i, (M0, P0) in enumerate(_ATTENTION_1PASS_TILINGS):
        name = f"attention_1pass[M0={M0},P0={P0}]"
        checks[name] = attention_check(name, attention_1pass_tiled, M0=M0, P0=P0, seed=100 + i)
    # Larger logits (scaled Q) stress the running-max correction.
    checks["attention_1pass[M0=8,P0=16,scale=4]"] = attention_check(
        "attention_1pass[M0=8,P0=16,scale=4]", attention_1pass_tiled, M0=8, P0=16,
        seed=199, scale=4.0)
    for j, (base, fn) in enumerate(_ATTENTION_VARIANTS):
        for M0, P0 in ((16, 8), (4, 32)):
            name = f"{base}[M0={M0},P0={P0}]"
            checks[name] = attention_check(name, fn, M0=M0, P0=P0, seed=200 + 10 * j + M0)
    for i, (M, N, K, M0, N0, K0, ar, ac) in enumerate(_GEMM_SHAPES):
        name = f"gemm_tiled[M={M},N={N},K={K},M0={M0},N0={N0},K0={K0},array={ar}x{ac}]"
        checks[name] = gemm_check(name, M=M, N=N, K=K, M0=M0, N0=N0, K0=K0,
                                  array_rows=ar, array_cols=ac, seed=300 + i)
    matrices = {
        "uniform": lambda: uniform_sparse(200, 6, seed=400),
        "powerlaw": lambda: powerlaw_sparse(200, 6.0, seed=401),
    }
    for acc in ("dense", "hash"):
        for label, make in matrices.items():
            name = f"spgemm_rowwise_{acc}[{label}]"
            checks[name] = spgemm_check(name, make, acc)
    # Fixed 64-slot tables: the fullest uniform row reaches load ~0.98 (long probe chains).
    checks["spgemm_rowwise_hash[uniform,table_slots=64]"] = spgemm_check(
        "spgemm_rowwise_hash[uniform,table_slots=64]", matrices["uniform"], "hash",
        table_slots=64)
    for module in _check_modules():
        checks.update(module.checks())
    return checks


def _check_modules():
    """Every module of this package that defines ``checks() -> dict[str, Check]`` (mapped.py and
    the machine-family executors), imported lazily because they build on this module."""
    package = __name__.rsplit(".", 1)[0]
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if callable(getattr(module, "checks", None)):
            yield module
