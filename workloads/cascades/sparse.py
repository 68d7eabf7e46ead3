"""Sparse cascades: SpGEMM Z[m,n] = A[m,k] x B[k,n] with A, B and Z sparse.

Assumes CSR-like two-rank sparse operands (the reference evaluator uses scipy.sparse); the
cascade itself carries no density, so analyses report dense upper bounds. Leaves out formats
(CSR/CSC/COO) and any nonzero-structure model: those belong to the mapping.
"""
from __future__ import annotations

from workloads.cascade import Cascade
from workloads.cascades._common import cascade, check_positive, from_text


@cascade
def spgemm(M: int = 16, K: int = 16, N: int = 16) -> Cascade:
    """Z[m,n] = sum_k A[m,k] x B[k,n]; A is M x K, B is K x N."""
    check_positive(M=M, K=K, N=N)
    return from_text("spgemm", dict(M=M, K=K, N=N), """
input sparse A[m,k]
input sparse B[k,n]
sparse Z
Z[m,n] = A[m,k] x B[k,n]
""")
