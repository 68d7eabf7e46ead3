"""Operator graphs: exact tensor shapes, dtypes and weights of a model, op by op, in run order.

A :class:`Graph` is what an eager framework executes: a list of :class:`Op` in stream order over
named :class:`Tensor` s. Tensors have a role: ``weight`` (a parameter, persistent), ``constant``
(persistent non-parameter inputs: latents, text context, embeddings) or ``activation`` (produced
by an op). Every op names the compute it does as one of a few kinds the GPU lowering understands
(``gemm`` with (batch, M, N, K); ``elementwise``; ``rowwise`` with rows and row length) and, for the
transformations (workloads/graphs/streamline.py), where it sits:

- ``domain``: ``spatial`` (frames are independent: sliceable along batch x frames),
  ``temporal`` (mixes frames: sliceable along a non-temporal axis, frames whole) or ``global``
  (time embeddings: never sliced);
- ``extent``: the length of the axis a slicer cuts for this op (batch x frames for spatial ops,
  the latent width for temporal ops), 0 for global ops;
- ``layer``: the module the op belongs to (a ResNet block, one attention, a feed-forward, ...):
  the unit the Feature Slicer runs slice by slice;
- ``group``: consecutive layers of the same kind (a spatial ResNet block and its spatial
  transformer; a motion module): the unit Operator Grouping runs slice by slice;
- ``level``: the UNet resolution level (0 = full latent resolution), used by Step Rehash;
- ``norm``: ``groupnorm_frames`` for a GroupNorm whose statistics span frames (exact under
  slicing only with two-pass statistics).

Assumes fp16 weights and activations unless a tensor says otherwise; shapes are logical (the
layout an op sees), and a layout change that PyTorch materialises (``permute().reshape()``) is
an explicit ``copy`` op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

__all__ = ["Tensor", "Op", "Graph", "GraphError"]


class GraphError(ValueError):
    """A graph was built or transformed with bad parameters (one-line message)."""


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype_bytes: int
    role: str  # weight | constant | activation

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype_bytes


@dataclass(frozen=True)
class Op:
    """One operator. ``compute``: ("gemm", batch, M, N, K) | ("elementwise",) |
    ("rowwise", rows, row_len); ``workspace_bytes``: scratch live only while the op runs;
    ``flops``: floating-point operations (2 per MAC). ``slices``/``slices_at_once`` are set by the
    Feature Slicer / Operator Grouping on composite ops (``kind == "sliced"``)."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    compute: tuple = ("elementwise",)
    flops: float = 0.0
    domain: str = "spatial"
    extent: int = 0
    layer: str = ""
    group: str = ""
    level: int = -1
    norm: str = ""
    workspace_bytes: int = 0
    slices: int = 1
    slices_at_once: int = 1
    body: tuple["Op", ...] = ()


@dataclass(frozen=True)
class Graph:
    name: str
    tensors: dict[str, Tensor]
    ops: tuple[Op, ...]
    outputs: tuple[str, ...]
    meta: dict = field(default_factory=dict)

    def weights(self) -> list[Tensor]:
        return [t for t in self.tensors.values() if t.role == "weight"]

    def parameter_count(self) -> int:
        """Parameters (elements of ``weight`` tensors)."""
        return sum(t.numel for t in self.weights())

    def persistent_bytes(self) -> int:
        """Bytes of weights and constants (alive for the whole graph)."""
        return sum(t.nbytes for t in self.tensors.values() if t.role != "activation")

    def flops(self) -> float:
        return sum(op.flops for op in self.ops)

    def check(self) -> "Graph":
        """Every op reads tensors that exist before it; every activation has one producer."""
        seen = {n for n, t in self.tensors.items() if t.role != "activation"}
        for op in self.ops:
            for t in op.inputs:
                if t not in seen:
                    raise GraphError(f"{self.name}: op {op.name} reads {t} before it is produced")
            for t in op.outputs:
                if t in seen:
                    raise GraphError(f"{self.name}: op {op.name} writes {t}, produced earlier")
                if t not in self.tensors:
                    raise GraphError(f"{self.name}: op {op.name} writes unknown tensor {t}")
                seen.add(t)
        for t in self.outputs:
            if t not in seen:
                raise GraphError(f"{self.name}: output {t} is never produced")
        return self
