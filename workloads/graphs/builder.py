"""A small graph builder: PyTorch-eager layers (conv, linear, norms, attention) as graph ops.

Conventions (each an assumption about the eager framework, stated once):

- Activations are NCHW ``(N, C, H, W)`` for convolutions and ``(N, L, C)`` tokens for linear
  layers and attention; N is the batch x frames a spatial op sees (or pixels for a temporal op).
- A convolution is an implicit GEMM (cuDNN): M = N x Hout x Wout, N = Cout, K = Cin x kernel.
- Unfused attention follows the eager recipe of the GPU family (mappings/gpu/mappers.py):
  heads split by copies of Q, K, V; S = QK^T (fp16); scale; cast to fp32; softmax (fp32); cast
  back; O = PV; heads merged by a copy. So at the softmax S32 and P32 are both live.
  Fused attention is one kernel (FlashAttention / PyTorch SDPA) with no materialised scores.
- GroupNorm and LayerNorm are one row-wise kernel each (statistics in fp32 registers).
"""
from __future__ import annotations

from contextlib import contextmanager
from math import prod

from .ir import Graph, GraphError, Op, Tensor

__all__ = ["GraphBuilder", "FP16", "FP32"]

FP16, FP32 = 2, 4


class GraphBuilder:
    def __init__(self, name: str, dtype_bytes: int = FP16, attention: str = "unfused"):
        if attention not in ("unfused", "fused"):
            raise GraphError(f"attention: expected 'unfused' or 'fused', got {attention!r}")
        self.name, self.dtype, self.attention_impl = name, dtype_bytes, attention
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.ctx = dict(domain="global", extent=0, layer="", group="", level=-1)
        self._count = 0

    # ---- context -------------------------------------------------------------------------
    @contextmanager
    def scope(self, **ctx):
        old = dict(self.ctx)
        self.ctx.update(ctx)
        try:
            yield
        finally:
            self.ctx = old

    # ---- tensors -------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        self._count += 1
        return f"{base}#{self._count}"

    def weight(self, name: str, shape: tuple[int, ...]) -> str:
        key = f"{self.ctx['layer'] or 'model'}.{name}"
        if key in self.tensors:
            key = self._unique(key)
        self.tensors[key] = Tensor(key, tuple(shape), self.dtype, "weight")
        return key

    def constant(self, name: str, shape: tuple[int, ...], dtype_bytes: int | None = None) -> str:
        self.tensors[name] = Tensor(name, tuple(shape), dtype_bytes or self.dtype, "constant")
        return name

    def shape(self, t: str) -> tuple[int, ...]:
        return self.tensors[t].shape

    def _act(self, shape, dtype_bytes=None) -> str:
        name = self._unique(f"{self.ctx['layer'] or 'x'}.t")
        self.tensors[name] = Tensor(name, tuple(int(s) for s in shape), dtype_bytes or self.dtype,
                                    "activation")
        return name

    def _op(self, kind, inputs, out_shapes, compute=("elementwise",), flops=0.0, out_dtype=None,
            norm="", workspace_bytes=0) -> list[str]:
        outs = [self._act(s, out_dtype) for s in out_shapes]
        c = self.ctx
        self.ops.append(Op(self._unique(f"{c['layer'] or 'model'}.{kind}"), kind, tuple(inputs),
                           tuple(outs), compute, float(flops), c["domain"], c["extent"], c["layer"],
                           c["group"], c["level"], norm, workspace_bytes))
        return outs

    # ---- layers --------------------------------------------------------------------------
    def conv(self, x: str, cout: int, k: int = 3, stride: int = 1, bias: bool = True,
             time_kernel: int = 1) -> str:
        """2-D convolution (padding k // 2), or with ``time_kernel`` > 1 a (time_kernel, 1, 1)
        Conv3d over frames (a temporal op: the activation is (B x F, C, H, W))."""
        n, cin, h, w = self.shape(x)
        ho, wo = -(-h // stride), -(-w // stride)
        ins = [x, self.weight("conv.weight", (cout, cin, time_kernel, k, k) if time_kernel > 1
                              else (cout, cin, k, k))]
        if bias:
            ins.append(self.weight("conv.bias", (cout,)))
        M, K = n * ho * wo, cin * k * k * time_kernel
        return self._op("conv", ins, [(n, cout, ho, wo)], ("gemm", 1, M, cout, K), 2 * M * cout * K)[0]

    def linear(self, x: str, cout: int, bias: bool = True) -> str:
        *lead, cin = self.shape(x)
        ins = [x, self.weight("linear.weight", (cout, cin))]
        if bias:
            ins.append(self.weight("linear.bias", (cout,)))
        M = prod(lead)
        return self._op("linear", ins, [(*lead, cout)], ("gemm", 1, M, cout, cin), 2 * M * cout * cin)[0]

    def group_norm(self, x: str, groups: int = 32, frames: int = 1) -> str:
        """GroupNorm over channels in ``groups``; ``frames`` > 1: statistics also span that many
        consecutive samples of the leading axis (a GroupNorm on (B, C, F, H, W))."""
        s = self.shape(x)
        c = s[1] if len(s) == 4 else s[-1]
        ins = [x, self.weight("norm.weight", (c,)), self.weight("norm.bias", (c,))]
        rows = s[0] // frames * groups
        n = prod(s)
        return self._op("group_norm", ins, [s], ("rowwise", rows, n // rows), 8 * n,
                        norm="groupnorm_frames" if frames > 1 else "")[0]

    def layer_norm(self, x: str) -> str:
        s = self.shape(x)
        ins = [x, self.weight("norm.weight", (s[-1],)), self.weight("norm.bias", (s[-1],))]
        return self._op("layer_norm", ins, [s], ("rowwise", prod(s[:-1]), s[-1]), 8 * prod(s))[0]

    def pointwise(self, kind: str, *xs: str, shape=None, flops_per_elem: float = 1.0) -> str:
        """An elementwise op (silu, add, mul, scale, upsample, concat, copy) producing ``shape``
        (the first input's shape by default)."""
        shape = shape or self.shape(xs[0])
        return self._op(kind, xs, [shape], ("elementwise",), flops_per_elem * prod(shape))[0]

    def silu(self, x: str) -> str:
        return self.pointwise("silu", x, flops_per_elem=4)

    def add(self, a: str, b: str) -> str:
        return self.pointwise("add", a, b)

    def copy(self, x: str, shape) -> str:
        """A layout change PyTorch materialises (permute + reshape / contiguous)."""
        return self.pointwise("copy", x, shape=tuple(shape), flops_per_elem=0)

    def attention(self, q: str, k: str, v: str, heads: int) -> str:
        """Multi-head attention of q (N, Lq, C) over k, v (N, Lk, C) -> (N, Lq, C)."""
        n, lq, c = self.shape(q)
        lk = self.shape(k)[1]
        d = c // heads
        bh = n * heads
        if self.attention_impl == "fused":
            return self._op("attention_fused", [q, k, v], [(n, lq, c)],
                            ("attention", bh, lq, lk, d), 4 * bh * lq * lk * d)[0]
        qh = self.copy(q, (bh, lq, d))
        kh = self.copy(k, (bh, lk, d))
        vh = self.copy(v, (bh, lk, d))
        s = self._op("qk", [qh, kh], [(bh, lq, lk)], ("gemm", bh, lq, lk, d), 2 * bh * lq * lk * d)[0]
        s2 = self.pointwise("scale", s)
        if self.dtype == FP32:      # an fp32 graph has no casts around the softmax
            p = self._op("softmax", [s2], [(bh, lq, lk)], ("rowwise", bh * lq, lk), 5 * bh * lq * lk)[0]
        else:
            f = self._op("to_fp32", [s2], [(bh, lq, lk)], out_dtype=FP32)[0]
            p32 = self._op("softmax", [f], [(bh, lq, lk)], ("rowwise", bh * lq, lk), 5 * bh * lq * lk,
                           out_dtype=FP32)[0]
            p = self._op("to_half", [p32], [(bh, lq, lk)])[0]
        o = self._op("pv", [p, vh], [(bh, lq, d)], ("gemm", bh, lq, d, lk), 2 * bh * lq * lk * d)[0]
        return self.copy(o, (n, lq, c))

    def build(self, outputs: tuple[str, ...], meta: dict) -> Graph:
        return Graph(self.name, dict(self.tensors), tuple(self.ops), tuple(outputs), meta).check()
