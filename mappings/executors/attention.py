"""Tiled numpy executors for the attention cascades (FuseMax, MICRO 2024).

Each executor walks the loop nest a mapping implies, tile by tile, and never
calls :func:`attention_reference`; the registry compares the two.

Layout and contract (shared by every function here), following the FuseMax
notation (batch and heads dropped, no ``1/sqrt(E)`` scale):

* ``Q`` has shape ``(E, P)`` (ranks e x p), ``K`` has shape ``(E, M)``
  (e x m), ``V`` has shape ``(F, M)`` (f x m).
* ``QK[m, p] = sum_e Q[e, p] K[e, m]``; ``A = softmax over m of QK``;
  the result is ``AV[f, p] = sum_m A[m, p] V[f, m]``, shape ``(F, P)``.
* ``M0`` (key chunk, the M = M1 x M0 split) must be a positive integer that
  divides ``M``; ``P0`` (query tile) must be a positive integer that divides
  ``P``. Violations raise ``ValueError`` naming the parameter.
* Inputs are converted to float64; outputs are new float64 arrays, the inputs
  are never modified.
* ``precision`` (fp64, fp32, bf16, fp16; ``options.PRECISIONS``): the inputs and the result of every
  operation (product, sum, difference, exp, division) are rounded to it, sums one addition at a
  time; max is exact. fp64 is plain numpy.
"""

from __future__ import annotations

import numpy as np

from .options import matmul_in, round_to, sum_in

__all__ = [
    "attention_reference",
    "attention_1pass_tiled",
    "attention_2pass_tiled",
    "attention_3pass_tiled",
    "attention_3pass_deferred_tiled",
]


def _check_tile(name: str, value: object, extent: int, rank: str) -> int:
    """Return ``value`` as int if it is a positive divisor of ``extent``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    value = int(value)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if extent % value != 0:
        raise ValueError(f"{name}={value} must divide rank {rank}={extent}")
    return value


_NO_TILES = object()


def _validate(Q, K, V, M0=_NO_TILES, P0=_NO_TILES, precision: str = "fp64"):
    """Validate operands (and tile sizes unless omitted); return them as float64 arrays rounded to
    ``precision``, and the tiles."""
    Q = round_to(Q, precision)
    K = round_to(K, precision)
    V = round_to(V, precision)
    for name, arr in (("Q", Q), ("K", K), ("V", V)):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    E, P = Q.shape
    if K.shape[0] != E:
        raise ValueError(f"K must have shape (E={E}, M), got {K.shape}")
    M = K.shape[1]
    if V.shape[1] != M:
        raise ValueError(f"V must have shape (F, M={M}), got {V.shape}")
    if M == 0 or P == 0:
        raise ValueError(f"ranks M and P must be non-empty, got M={M}, P={P}")
    if M0 is not _NO_TILES:
        M0 = _check_tile("M0", M0, M, "M")
    if P0 is not _NO_TILES:
        P0 = _check_tile("P0", P0, P, "P")
    return Q, K, V, M0, P0


def attention_reference(Q, K, V) -> np.ndarray:
    """Plain (untiled) numpy attention: ``AV = V @ softmax_m(K^T Q)``, shape (F, P)."""
    Q, K, V, _, _ = _validate(Q, K, V)
    QK = K.T @ Q                                  # QK[m, p]
    QK = QK - QK.max(axis=0, keepdims=True)
    SN = np.exp(QK)
    A = SN / SN.sum(axis=0, keepdims=True)        # A[m, p]
    return V @ A                                  # AV[f, p]


def attention_1pass_tiled(Q, K, V, M0: int, P0: int, precision: str = "fp64") -> np.ndarray:
    """Cascade 5 (1-pass; FlashAttention-2 / FuseMax), executed tile by tile.

    Loop nest: ``for each P0-wide query tile: for m1 in range(M // M0):``
    BQK, LM, RM, SLN, SLD, SLNV, PRM, SPD, RD, SPNV, RNV in that order, with
    the running state RM[p], RD[p], RNV[f, p] of the tile carried across m1.
    After the last chunk ``AV = RNV / RD``. K and V are each read exactly once
    per query tile (one pass over M).
    """
    Q, K, V, M0, P0 = _validate(Q, K, V, M0, P0, precision)
    r = lambda x: round_to(x, precision)  # noqa: E731
    E, P = Q.shape
    F, M = V.shape
    M1 = M // M0
    AV = np.empty((F, P), dtype=np.float64)
    for p_lo in range(0, P, P0):
        Qt = Q[:, p_lo:p_lo + P0]                           # Q[e, p] for this tile
        RM = np.full(P0, -np.inf)                           # RM[m1=0, p]
        RD = np.zeros(P0)                                   # RD[m1=0, p]
        RNV = np.zeros((F, P0))                             # RNV[f, m1=0, p]
        for m1 in range(M1):
            BK = K[:, m1 * M0:(m1 + 1) * M0]                # BK[e, m1, m0]
            BV = V[:, m1 * M0:(m1 + 1) * M0]                # BV[f, m1, m0]
            BQK = matmul_in(BK.T, Qt, precision)            # BQK[m1, m0, p]
            LM = BQK.max(axis=0)                            # LM[m1, p]
            RM_next = np.maximum(RM, LM)                    # RM[m1+1, p]
            SLN = r(np.exp(r(BQK - RM_next)))               # SLN[m1, m0, p]
            SLD = sum_in(SLN, precision)                    # SLD[m1, p]
            SLNV = matmul_in(BV, SLN, precision)            # SLNV[f, m1, p]
            PRM = r(np.exp(r(RM - RM_next)))                # PRM[m1, p] (exp(-inf) = 0)
            SPD = r(RD * PRM)                               # SPD[m1, p]
            RD = r(SLD + SPD)                               # RD[m1+1, p]
            SPNV = r(RNV * PRM)                             # SPNV[f, m1, p]
            RNV = r(SLNV + SPNV)                            # RNV[f, m1+1, p]
            RM = RM_next
        AV[:, p_lo:p_lo + P0] = r(RNV / RD)                 # AV[f, p], m1 = M1
    return AV


def _pass1_qk_and_max(Qt, K, M0: int, M1: int, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1 of the 3-pass cascades for one query tile: QK[m, p] chunk by chunk (the whole
    M-fiber buffered, O(M) per query) and the running global max GM[p]."""
    QK = np.empty((M0 * M1, Qt.shape[1]))
    GM = np.full(Qt.shape[1], -np.inf)
    for m1 in range(M1):
        sl = slice(m1 * M0, (m1 + 1) * M0)
        QK[sl] = matmul_in(K[:, sl].T, Qt, precision)
        GM = np.maximum(GM, QK[sl].max(axis=0))
    return QK, GM


def attention_3pass_tiled(Q, K, V, M0: int, P0: int, precision: str = "fp64") -> np.ndarray:
    """Cascade 4 (3-pass softmax), each pass walking the M fiber in M0 chunks.

    Per P0 query tile: pass 1 computes QK chunk by chunk (the whole M-fiber is
    buffered, O(M) per query) and the running global max GM; pass 2 computes
    ``SN = exp(QK - GM)`` and accumulates ``SD``; pass 3 divides
    ``A = SN / SD`` (M x P divisions) and accumulates ``AV += A x V``.
    """
    Q, K, V, M0, P0 = _validate(Q, K, V, M0, P0, precision)
    r = lambda x: round_to(x, precision)  # noqa: E731
    E, P = Q.shape
    F, M = V.shape
    M1 = M // M0
    AV = np.empty((F, P), dtype=np.float64)
    for p_lo in range(0, P, P0):
        Qt = Q[:, p_lo:p_lo + P0]
        QK, GM = _pass1_qk_and_max(Qt, K, M0, M1, precision)   # buffered fiber, global max
        SN = np.empty((M, P0))
        SD = np.zeros(P0)
        for m1 in range(M1):                                # pass 2: SN, SD
            sl = slice(m1 * M0, (m1 + 1) * M0)
            SN[sl] = r(np.exp(r(QK[sl] - GM)))
            SD = r(SD + sum_in(SN[sl], precision))
        acc = np.zeros((F, P0))
        for m1 in range(M1):                                # pass 3: A, AV
            sl = slice(m1 * M0, (m1 + 1) * M0)
            A = r(SN[sl] / SD)
            acc = r(acc + matmul_in(V[:, sl], A, precision))
        AV[:, p_lo:p_lo + P0] = acc
    return AV


def attention_3pass_deferred_tiled(Q, K, V, M0: int, P0: int, precision: str = "fp64") -> np.ndarray:
    """Cascade 4 with division deferral (passes 2 and 3 merged; 2 passes over M).

    Per P0 query tile: pass 1 computes QK chunk by chunk and the global max
    GM; pass 2 computes ``SN = exp(QK - GM)`` and accumulates both ``SD`` and
    ``SNV[f, p] = sum_m SN[m, p] V[f, m]``; finally ``AV = SNV / SD``
    (F x P divisions instead of M x P).
    """
    Q, K, V, M0, P0 = _validate(Q, K, V, M0, P0, precision)
    r = lambda x: round_to(x, precision)  # noqa: E731
    E, P = Q.shape
    F, M = V.shape
    M1 = M // M0
    AV = np.empty((F, P), dtype=np.float64)
    for p_lo in range(0, P, P0):
        Qt = Q[:, p_lo:p_lo + P0]
        QK, GM = _pass1_qk_and_max(Qt, K, M0, M1, precision)
        SD = np.zeros(P0)
        SNV = np.zeros((F, P0))
        for m1 in range(M1):                                # pass 2: SN, SD, SNV
            sl = slice(m1 * M0, (m1 + 1) * M0)
            SN = r(np.exp(r(QK[sl] - GM)))
            SD = r(SD + sum_in(SN, precision))
            SNV = r(SNV + matmul_in(V[:, sl], SN, precision))
        AV[:, p_lo:p_lo + P0] = r(SNV / SD)
    return AV


def attention_2pass_tiled(Q, K, V, M0: int, P0: int, precision: str = "fp64") -> np.ndarray:
    """2-pass cascade (TileFlow-style), M = M1 x M0.

    Per P0 query tile, pass 1 walks the M0 chunks and, per chunk m1, computes
    the local max ``LM[m1, p]``, the locally normalised numerator
    ``SLN = exp(BQK - LM)``, the local denominator ``SLD[m1, p]`` and the local
    product ``SLNV[f, m1, p] = SLN x BV``; it also reduces the global max
    ``GM[p] = max_m1 LM``. Pass 2 walks the chunks again and corrects each one
    by ``exp(LM[m1] - GM)``: ``SD = sum SLD * c``, ``SNV = sum SLNV * c``;
    finally ``AV = SNV / SD``. Per-chunk state is O(M1) per query.
    """
    Q, K, V, M0, P0 = _validate(Q, K, V, M0, P0, precision)
    r = lambda x: round_to(x, precision)  # noqa: E731
    E, P = Q.shape
    F, M = V.shape
    M1 = M // M0
    AV = np.empty((F, P), dtype=np.float64)
    for p_lo in range(0, P, P0):
        Qt = Q[:, p_lo:p_lo + P0]
        LM = np.empty((M1, P0))
        SLD = np.empty((M1, P0))
        SLNV = np.empty((M1, F, P0))
        GM = np.full(P0, -np.inf)
        for m1 in range(M1):                                # pass 1
            sl = slice(m1 * M0, (m1 + 1) * M0)
            BQK = matmul_in(K[:, sl].T, Qt, precision)
            LM[m1] = BQK.max(axis=0)
            SLN = r(np.exp(r(BQK - LM[m1])))
            SLD[m1] = sum_in(SLN, precision)
            SLNV[m1] = matmul_in(V[:, sl], SLN, precision)
            GM = np.maximum(GM, LM[m1])
        SD = np.zeros(P0)
        SNV = np.zeros((F, P0))
        for m1 in range(M1):                                # pass 2
            corr = r(np.exp(r(LM[m1] - GM)))
            SD = r(SD + r(SLD[m1] * corr))
            SNV = r(SNV + r(SLNV[m1] * corr))
        AV[:, p_lo:p_lo + P0] = r(SNV / SD)
    return AV
