"""Pedagogical cascades of FuseMax section III over one rank k (size K).

Z = (sum_k A_k B_k) x (sum_k A_k) written three ways: 2-pass (Z re-reads A after the reduction
Y), reassociated (1 pass: X = sum_k A_k is reduced alongside Y), and iterative (1 pass: running
RY, RX, RZ with extra compute, RZ[k+1] = RZ[k] + RY[k+1] A[k] + A[k] B[k] RX[k]).
All three compute the same Z. Leaves out any rank other than k.
"""
from __future__ import annotations

from workloads.cascade import Cascade
from workloads.cascades._common import cascade, check_positive, from_text

_IN = "input A[k]\ninput B[k]\n"


@cascade
def pedagogical_2pass(K: int = 8) -> Cascade:
    """Y = A_k x B_k; Z = Y x A_k (summed over k): 2 passes over k."""
    check_positive(K=K)
    return from_text("pedagogical_2pass", dict(K=K), _IN + """
Y[] = sum_k A[k] x B[k]
Z[] = sum_k Y[] x A[k]
""")


@cascade
def pedagogical_reassoc(K: int = 8) -> Cascade:
    """Y = A_k x B_k; X = sum_k A_k; Z = Y x X: 1 pass over k."""
    check_positive(K=K)
    return from_text("pedagogical_reassoc", dict(K=K), _IN + """
Y[] = sum_k A[k] x B[k]
X[] = sum_k A[k]
Z[] = Y[] x X[]
""")


@cascade
def pedagogical_iterative(K: int = 8) -> Cascade:
    """Running RY, RX, RZ recurrences over the iterative rank k: 1 pass over k."""
    check_positive(K=K)
    return from_text("pedagogical_iterative", dict(K=K), _IN + """
RY[k=0] = 0
RX[k=0] = 0
RZ[k=0] = 0
RY[k+1] = RY[k] + A[k] x B[k]
RZ[k+1] = RZ[k] + RY[k+1] x A[k] + A[k] x B[k] x RX[k]
RX[k+1] = RX[k] + A[k]
Z[] = RZ[K]
stop k >= K
""")
