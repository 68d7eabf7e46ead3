"""Attention cascades of FuseMax (section III): naive, 3-pass, 3-pass with division deferral,
2-pass and 1-pass (Cascade 5).

Assumes one head of one batch element (B and H dropped, as in the paper), no 1/sqrt(E) scale
(it folds into Q), softmax over the key rank m. Ranks: m (keys, M), p (queries, P), e (Q/K
embedding, E), f (V embedding, F); the 2-pass and 1-pass cascades split m = m1 x m0
(M1 = M / M0 chunks of M0). Leaves out masking, dropout and the projections.
"""
from __future__ import annotations

from workloads.cascade import Cascade
from workloads.cascades._common import cascade, check_divides, check_positive, from_text

_QK = """input Q[e,p]
input K[e,m]
input V[f,m]
QK[m,p] = Q[e,p] x K[e,m]
"""


@cascade
def attention_naive(M: int = 16, P: int = 4, E: int = 4, F: int = 4) -> Cascade:
    """QK, the naive softmax (exp, sum, divide) and AV: 2 passes over m."""
    check_positive(M=M, P=P, E=E, F=F)
    return from_text("attention_naive", dict(M=M, P=P, E=E, F=F), _QK + """
SN[m,p] = exp(QK[m,p])
SD[p] = sum_m SN[m,p]
A[m,p] = SN[m,p] / SD[p]
AV[f,p] = A[m,p] x V[f,m]
""")


@cascade
def attention_3pass(M: int = 16, P: int = 4, E: int = 4, F: int = 4) -> Cascade:
    """Cascade 4 (numerically stable 3-pass softmax): 3 passes over m."""
    check_positive(M=M, P=P, E=E, F=F)
    return from_text("attention_3pass", dict(M=M, P=P, E=E, F=F), _QK + """
GM[p] = max_m QK[m,p]
SN[m,p] = exp(QK[m,p] - GM[p])
SD[p] = sum_m SN[m,p]
A[m,p] = SN[m,p] / SD[p]
AV[f,p] = A[m,p] x V[f,m]
""")


@cascade
def attention_3pass_deferred(M: int = 16, P: int = 4, E: int = 4, F: int = 4) -> Cascade:
    """Cascade 4 with division deferral (F x P divisions): 2 passes over m."""
    check_positive(M=M, P=P, E=E, F=F)
    return from_text("attention_3pass_deferred", dict(M=M, P=P, E=E, F=F), _QK + """
GM[p] = max_m QK[m,p]
SN[m,p] = exp(QK[m,p] - GM[p])
SD[p] = sum_m SN[m,p]
SNV[f,p] = SN[m,p] x V[f,m]
AV[f,p] = SNV[f,p] / SD[p]
""")


_BLOCKED = """partition: m = m1 x m0
input Q[e,p]
input K[e,m]
input V[f,m]
BK[e,m1,m0] = K[e,m1*M0+m0]
BV[f,m1,m0] = V[f,m1*M0+m0]
"""


def _split(M: int, M0: int) -> int:
    check_divides("M0", M0, "M", M)
    return M // M0


@cascade
def attention_2pass(M: int = 16, P: int = 4, E: int = 4, F: int = 4, M0: int = 4) -> Cascade:
    """2-pass cascade: pass 1 per-chunk local max LM, locally normalised numerator SLN, local
    denominator SLD and SLNV, and the global max GM; pass 2 corrects each chunk by
    PRM = exp(LM - GM) and accumulates the denominator SD and numerator SNV."""
    check_positive(M=M, P=P, E=E, F=F, M0=M0)
    M1 = _split(M, M0)
    return from_text("attention_2pass", dict(M=M, P=P, E=E, F=F, M0=M0, M1=M1), _BLOCKED + """
BQK[m1,m0,p] = Q[e,p] x BK[e,m1,m0]
LM[m1,p] = max_m0 BQK[m1,m0,p]
SLN[m1,m0,p] = exp(BQK[m1,m0,p] - LM[m1,p])
SLD[m1,p] = sum_m0 SLN[m1,m0,p]
SLNV[f,m1,p] = SLN[m1,m0,p] x BV[f,m1,m0]
GM[p] = max_m1 LM[m1,p]
PRM[m1,p] = exp(LM[m1,p] - GM[p])
SD[p] = sum_m1 SLD[m1,p] x PRM[m1,p]
SNV[f,p] = sum_m1 SLNV[f,m1,p] x PRM[m1,p]
AV[f,p] = SNV[f,p] / SD[p]
""")


@cascade
def attention_1pass(M: int = 16, P: int = 4, E: int = 4, F: int = 4, M0: int = 4) -> Cascade:
    """Cascade 5 (FlashAttention-2 / FuseMax) exactly as in the paper: running max RM,
    denominator RD and numerator RNV over the iterative rank m1; 1 pass over m."""
    check_positive(M=M, P=P, E=E, F=F, M0=M0)
    M1 = _split(M, M0)
    return from_text("attention_1pass", dict(M=M, P=P, E=E, F=F, M0=M0, M1=M1), _BLOCKED + """
RM[m1=0,p] = -inf
RD[m1=0,p] = 0
RNV[f,m1=0,p] = 0
BQK[m1,m0,p] = Q[e,p] x BK[e,m1,m0]
LM[m1,p] = max_m0 BQK[m1,m0,p]
RM[m1+1,p] = max(RM[m1,p], LM[m1,p])
SLN[m1,m0,p] = exp(BQK[m1,m0,p] - RM[m1+1,p])
SLD[m1,p] = sum_m0 SLN[m1,m0,p]
SLNV[f,m1,p] = SLN[m1,m0,p] x BV[f,m1,m0]
PRM[m1,p] = exp(RM[m1,p] - RM[m1+1,p])
SPD[m1,p] = RD[m1,p] x PRM[m1,p]
RD[m1+1,p] = SLD[m1,p] + SPD[m1,p]
SPNV[f,m1,p] = RNV[f,m1,p] x PRM[m1,p]
RNV[f,m1+1,p] = SLNV[f,m1,p] + SPNV[f,m1,p]
AV[f,p] = RNV[f,M1,p] / RD[M1,p]
stop m1 >= M1
""")
