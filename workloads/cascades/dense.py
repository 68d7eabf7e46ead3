"""Dense linear-algebra cascades: a GEMM and a copy (the two microbenchmarks every machine is
first measured with).

gemm: Z[m,n] = sum_k A[m,k] x B[k,n]; A is M x K, B is K x N (a linear layer is M = tokens,
K = input features, N = output features).
copy: Y[m,n] = X[m,n], an M x N element-wise copy (a memory-bandwidth probe).
"""
from __future__ import annotations

from workloads.cascade import Cascade
from workloads.cascades._common import cascade, check_positive, from_text


@cascade
def gemm(M: int = 16, K: int = 16, N: int = 16) -> Cascade:
    """Z[m,n] = sum_k A[m,k] x B[k,n]."""
    check_positive(M=M, K=K, N=N)
    return from_text("gemm", dict(M=M, K=K, N=N), """
input A[m,k]
input B[k,n]
Z[m,n] = A[m,k] x B[k,n]
""")


@cascade
def copy(M: int = 16, N: int = 16) -> Cascade:
    """Y[m,n] = X[m,n]."""
    check_positive(M=M, N=N)
    return from_text("copy", dict(M=M, N=N), """
input X[m,n]
Y[m,n] = X[m,n]
""")
