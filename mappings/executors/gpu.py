"""Checks of the GPU mappers: numpy executors that replay the CTA tiling each mapper chose.

Each check maps a small cascade with the GPU mapper on a GPU preset, takes the tiling from the
mapping (``GpuMapping.tiling``: CTA blocks of the copy, the GEMM tile and split-K factor, the
attention kernel's query/key blocks) and runs an executor with exactly that tiling against a plain
numpy reference (float64).
"""
from __future__ import annotations

from math import ceil

import numpy as np

import archsim
import workloads

from ..registry import map_cascade
from .attention import attention_1pass_tiled, attention_reference
from . import options
from .options import matmul_in, round_to
from .registry import TILING, Check, CheckResult, compare_dense, compare_product

ARCH = "h100_sxm5"


def copy_blocks(X: np.ndarray, ctas: int, steps: int, block_bytes: int, elem: int) -> np.ndarray:
    """Copy the flat tensor as the grid does: CTA c, step s moves block s x ctas + c."""
    flat = X.ravel()
    out = np.full_like(flat, np.nan)
    per = max(1, block_bytes // elem)
    for s in range(steps):
        for c in range(ctas):
            lo = (s * ctas + c) * per
            out[lo:lo + per] = flat[lo:lo + per]
    return out.reshape(X.shape)


def gemm_ctas(A: np.ndarray, B: np.ndarray, tile, splits: int, precision: str = "fp64") -> np.ndarray:
    """C = A @ B tile by tile: each CTA an Mt x Nt output tile over its K split, accumulating
    Kt-deep slices; split-K partials summed by the reduction kernel. Every product and sum is
    rounded to ``precision`` (``options.matmul_in``)."""
    M, K = A.shape
    N = B.shape[1]
    partial = np.zeros((splits, M, N))
    k_per = ceil(K / splits)
    for sk in range(splits):
        for m0 in range(0, M, tile.Mt):
            for n0 in range(0, N, tile.Nt):
                acc = np.zeros((min(tile.Mt, M - m0), min(tile.Nt, N - n0)))
                for k0 in range(sk * k_per, min(K, (sk + 1) * k_per), tile.Kt):
                    k1 = min(k0 + tile.Kt, (sk + 1) * k_per, K)
                    acc = round_to(acc + matmul_in(A[m0:m0 + tile.Mt, k0:k1], B[k0:k1, n0:n0 + tile.Nt],
                                                   precision), precision)
                partial[sk, m0:m0 + tile.Mt, n0:n0 + tile.Nt] = acc
    if precision == "fp64":
        return partial.sum(axis=0)
    total = np.zeros((M, N))
    for sk in range(splits):
        total = round_to(total + partial[sk], precision)
    return total


def _gemm_check(M: int, K: int, N: int, seed: int) -> tuple[str, Check]:
    name = f"mapped:gemm/gpu_gemm[{ARCH},M={M},K={K},N={N}]"

    def run() -> CheckResult:
        s = options.shape({"M": M, "N": N, "K": K}, run.shape_keys)
        precision = options.active().precision
        arch = archsim.load_arch(ARCH)
        mapping = map_cascade("gpu_gemm", workloads.build("gemm", M=s["M"], K=s["K"], N=s["N"]), arch)
        tile, splits = mapping.tiling["gemm"]
        rng = options.rng(seed)
        A = options.round_to(rng.standard_normal((s["M"], s["K"])), precision)
        B = options.round_to(rng.standard_normal((s["K"], s["N"])), precision)
        label = f"mapped:gemm/gpu_gemm[{ARCH},M={s['M']},K={s['K']},N={s['N']}]"
        return compare_product(label, gemm_ctas(A, B, tile, splits, precision), A, B, precision, TILING)
    run.shape_keys = ("M", "N", "K")
    run.precision_aware = True
    return name, run


def _copy_check(M: int, N: int, seed: int) -> tuple[str, Check]:
    name = f"mapped:copy/gpu_copy[{ARCH},M={M},N={N}]"

    def run() -> CheckResult:
        arch = archsim.load_arch(ARCH)
        mapping = map_cascade("gpu_copy", workloads.build("copy", M=M, N=N), arch)
        ctas, steps, block = mapping.tiling["copy"]
        X = options.rng(seed).standard_normal((M, N))
        return compare_dense(name, copy_blocks(X, ctas, steps, block, 2), X, TILING)
    return name, run


def _attention_checks(N: int, D: int, seed: int) -> dict[str, Check]:
    out = {}
    arch_name = ARCH

    def inputs():
        rng = options.rng(seed)
        return (rng.standard_normal((D, N)), rng.standard_normal((D, N)), rng.standard_normal((D, N)))

    def fused() -> CheckResult:
        arch = archsim.load_arch(arch_name)
        cascade = workloads.build("attention_1pass", M=N, P=N, E=D, F=D, M0=min(64, N))
        br, bc = map_cascade("gpu_attention_fused", cascade, arch).tiling["flash_fwd"]
        Q, K, V = inputs()
        got = attention_1pass_tiled(Q, K, V, M0=min(bc, N), P0=min(br, N))
        return compare_dense(fused.name, got, attention_reference(Q, K, V), TILING)

    def unfused() -> CheckResult:
        arch = archsim.load_arch(arch_name)
        cascade = workloads.build("attention_3pass", M=N, P=N, E=D, F=D)
        tiling = map_cascade("gpu_attention_unfused", cascade, arch).tiling
        Q, K, V = inputs()
        S = gemm_ctas(Q.T, K, *tiling["qk"])                  # S[p, m] = Q^T K, kernel qk
        S = S - S.max(axis=1, keepdims=True)                  # softmax kernel (fp32 rows)
        Pm = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
        O = gemm_ctas(Pm, V.T, *tiling["pv"])                 # O[p, f] = P V^T, kernel pv
        return compare_dense(unfused.name, O.T, attention_reference(Q, K, V), TILING)

    fused.name = f"mapped:attention_1pass/gpu_attention_fused[{arch_name},N={N},D={D}]"
    unfused.name = f"mapped:attention_3pass/gpu_attention_unfused[{arch_name},N={N},D={D}]"
    out[fused.name] = fused
    out[unfused.name] = unfused
    return out


def checks() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for i, (M, K, N) in enumerate(((96, 200, 80), (300, 64, 130), (8, 520, 72))):
        name, check = _gemm_check(M, K, N, seed=700 + i)
        found[name] = check
    name, check = _copy_check(64, 96, seed=720)
    found[name] = check
    found.update(_attention_checks(256, 16, seed=730))
    return found
