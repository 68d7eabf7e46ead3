"""Convolution cascades: a grouped convolution and a small video-diffusion block.

group_conv: a batch of N images, GRP groups, CI input channels per group, CO output channels per
group (total C_in = GRP x CI, C_out = GRP x CO), output OY x OX (rows x columns), kernel R x S, stride
STRIDE, over an input already padded to ((OY-1) STRIDE + R) x ((OX-1) STRIDE + S):
O[n,grp,co,oy,ox] = sum_{ci,r,s} I[n,grp,ci,oy STRIDE + r,ox STRIDE + s] x WT[grp,co,ci,r,s].
In E2GC's notation (docs/e2gc.md, ``archsim analyze group_conv``) CI is the group size G, GRP the
number of groups g, GRP x CI the channels C, R = S the kernel size K, and the (unpadded) input H x H;
depthwise is CI = CO = 1, dense is GRP = 1.

video_block: frames T, GroupNorm over G groups of J channels (statistics per frame and group over
J x H x W, eps 1e-5, affine GAM/BET), a 3x3 'same' convolution to K channels (explicit zero
padding Einsum YP), then temporal self-attention over frames at every pixel (queries t, keys u,
embedding E, values back to K channels, no 1/sqrt(E) scale) with a residual add. Leaves out time
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
def video_block(T: int = 4, G: int = 2, J: int = 2, H: int = 4, W: int = 4, K: int = 4,
                E: int = 4) -> Cascade:
    """GroupNorm -> 3x3 conv -> temporal attention (+ residual), see the module docstring.
    Derived shape symbols: U = T (key frames), N = K (value channels), R = S = 3."""
    check_positive(T=T, G=G, J=J, H=H, W=W, K=K, E=E)
    n = J * H * W
    shape = dict(T=T, G=G, J=J, H=H, W=W, K=K, E=E, U=T, N=K, R=3, S=3)
    return from_text("video_block", shape, f"""
input X[t,g,j,h,w]
input GAM[g,j]
input BET[g,j]
input WC[k,g,j,r,s]
input WQ[k,e]
input WK[k,e]
input WV[k,n]
SX[t,g] = sum_{{j,h,w}} X[t,g,j,h,w]
MEAN[t,g] = SX[t,g] / {n}
XC[t,g,j,h,w] = X[t,g,j,h,w] - MEAN[t,g]
SS[t,g] = sum_{{j,h,w}} XC[t,g,j,h,w] x XC[t,g,j,h,w]
VAR[t,g] = SS[t,g] / {n}
RSTD[t,g] = 1 / sqrt(VAR[t,g] + 0.00001)
XN[t,g,j,h,w] = XC[t,g,j,h,w] x RSTD[t,g]
Y[t,g,j,h,w] = XN[t,g,j,h,w] x GAM[g,j] + BET[g,j]
YP[t,g,j,h+1,w+1] = Y[t,g,j,h,w]
CV[t,k,h,w] = YP[t,g,j,h+r,w+s] x WC[k,g,j,r,s]
QT[t,e,h,w] = CV[t,k,h,w] x WQ[k,e]
KT[u,e,h,w] = CV[u,k,h,w] x WK[k,e]
VT[u,n,h,w] = CV[u,k,h,w] x WV[k,n]
QKT[u,t,h,w] = QT[t,e,h,w] x KT[u,e,h,w]
GM[t,h,w] = max_u QKT[u,t,h,w]
SN[u,t,h,w] = exp(QKT[u,t,h,w] - GM[t,h,w])
SD[t,h,w] = sum_u SN[u,t,h,w]
SNV[t,n,h,w] = SN[u,t,h,w] x VT[u,n,h,w]
Z[t,n,h,w] = SNV[t,n,h,w] / SD[t,h,w] + CV[t,n,h,w]
""")
