"""Convolution cascades: a grouped convolution and a small video-diffusion block.

group_conv: a batch of N images, GRP groups, CI input channels per group, CO output channels per
group (total C_in = GRP x CI, C_out = GRP x CO), output OY x OX (rows x columns), kernel R x S, stride
STRIDE, over an input already padded to ((OY-1) STRIDE + R) x ((OX-1) STRIDE + S):
O[n,grp,co,oy,ox] = sum_{ci,r,s} I[n,grp,ci,oy STRIDE + r,ox STRIDE + s] x WT[grp,co,ci,r,s].
In E2GC's notation (docs/e2gc.md, ``archsim analyze group_conv``) CI is the group size G, GRP the
number of groups g, GRP x CI the channels C, R = S the kernel size K, and the (unpadded) input H x H;
depthwise is CI = CO = 1, dense is GRP = 1.

video_block: frames T, GroupNorm over GRP groups of CI channels (statistics per frame and group
over CI x H x W, eps 1e-5, affine GAM/BET), a 3x3 'same' convolution to CO channels (explicit zero
padding Einsum YP), then temporal self-attention over frames at every pixel (queries t, keys u,
embedding E, values cv back to CO channels, no 1/sqrt(E) scale) with a residual add. (GRP, CI, CO
as in group_conv.) Leaves out time
embeddings, the SiLU, and multi-head splitting.
"""
from __future__ import annotations

from workloads.cascade import Cascade
from workloads.cascades._common import cascade, check_positive, from_text


@cascade
def group_conv(GRP: int = 2, CI: int = 3, CO: int = 4, OY: int = 6, OX: int = 6, R: int = 3,
               S: int = 3, N: int = 1, STRIDE: int = 1) -> Cascade:
    """Grouped convolution (R x S kernel), see the module docstring."""
    check_positive(GRP=GRP, CI=CI, CO=CO, OY=OY, OX=OX, R=R, S=S, N=N, STRIDE=STRIDE)
    return from_text("group_conv", dict(N=N, GRP=GRP, CI=CI, CO=CO, OY=OY, OX=OX, R=R, S=S, STRIDE=STRIDE), """
input I[n,grp,ci,oy,ox]
input WT[grp,co,ci,r,s]
O[n,grp,co,oy,ox] = I[n,grp,ci,oy*STRIDE+r,ox*STRIDE+s] x WT[grp,co,ci,r,s]
""")


@cascade
def video_block(T: int = 4, GRP: int = 2, CI: int = 2, H: int = 4, W: int = 4, CO: int = 4,
                E: int = 4) -> Cascade:
    """GroupNorm -> 3x3 conv -> temporal attention (+ residual), see the module docstring.
    Derived shape symbols: U = T (key frames), CV = CO (value channels), R = S = 3."""
    check_positive(T=T, GRP=GRP, CI=CI, H=H, W=W, CO=CO, E=E)
    n = CI * H * W
    shape = dict(T=T, GRP=GRP, CI=CI, H=H, W=W, CO=CO, E=E, U=T, CV=CO, R=3, S=3)
    return from_text("video_block", shape, f"""
input X[t,grp,ci,h,w]
input GAM[grp,ci]
input BET[grp,ci]
input WC[co,grp,ci,r,s]
input WQ[co,e]
input WK[co,e]
input WV[co,cv]
SX[t,grp] = sum_{{ci,h,w}} X[t,grp,ci,h,w]
MEAN[t,grp] = SX[t,grp] / {n}
XC[t,grp,ci,h,w] = X[t,grp,ci,h,w] - MEAN[t,grp]
SS[t,grp] = sum_{{ci,h,w}} XC[t,grp,ci,h,w] x XC[t,grp,ci,h,w]
VAR[t,grp] = SS[t,grp] / {n}
RSTD[t,grp] = 1 / sqrt(VAR[t,grp] + 0.00001)
XN[t,grp,ci,h,w] = XC[t,grp,ci,h,w] x RSTD[t,grp]
Y[t,grp,ci,h,w] = XN[t,grp,ci,h,w] x GAM[grp,ci] + BET[grp,ci]
YP[t,grp,ci,h+1,w+1] = Y[t,grp,ci,h,w]
CONV[t,co,h,w] = YP[t,grp,ci,h+r,w+s] x WC[co,grp,ci,r,s]
QT[t,e,h,w] = CONV[t,co,h,w] x WQ[co,e]
KT[u,e,h,w] = CONV[u,co,h,w] x WK[co,e]
VT[u,cv,h,w] = CONV[u,co,h,w] x WV[co,cv]
QKT[u,t,h,w] = QT[t,e,h,w] x KT[u,e,h,w]
GM[t,h,w] = max_u QKT[u,t,h,w]
SN[u,t,h,w] = exp(QKT[u,t,h,w] - GM[t,h,w])
SD[t,h,w] = sum_u SN[u,t,h,w]
SNV[t,cv,h,w] = SN[u,t,h,w] x VT[u,cv,h,w]
Z[t,cv,h,w] = SNV[t,cv,h,w] / SD[t,h,w] + CONV[t,cv,h,w]
""")
