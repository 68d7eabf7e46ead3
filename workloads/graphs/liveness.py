"""Peak memory of a graph by tensor liveness, with the memory timeline as data.

Rules (standard liveness, the accounting of the Streamlined Inference paper, arXiv 2411.01171):

- weights and constants (latents, text/image context, embeddings) are persistent: allocated
  before the first op, never freed;
- an activation is allocated when its producer starts and freed after its last consumer (so a
  residual block keeps its input until the add, and a UNet skip lives from the down path to the
  up path); the graph's outputs live to the end;
- while an op runs, its ``workspace_bytes`` (scratch, e.g. the slice-sized intermediates of a
  sliced layer) are live too;
- every allocation is rounded up to ``ALLOC_ROUND_BYTES`` = 512 B, the block granularity of
  PyTorch's CUDA caching allocator (the same rule as archsim/gpu/memory.py).

Leaves out allocator fragmentation and reserved-but-unallocated segments, cuDNN/cuBLAS
workspaces, and framework buffers (CUDA context): a measured ``max_memory_allocated`` is at
least this peak.
"""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph

__all__ = ["ALLOC_ROUND_BYTES", "MemoryTimeline", "liveness"]

ALLOC_ROUND_BYTES = 512


def _rounded(nbytes: int) -> int:
    return -(-int(nbytes) // ALLOC_ROUND_BYTES) * ALLOC_ROUND_BYTES


@dataclass(frozen=True)
class MemoryTimeline:
    """Per op (in run order): ``activation_bytes`` live while it runs (its outputs included),
    ``workspace_bytes``; ``persistent_bytes`` throughout. ``total(i)`` = all three."""

    graph: str
    op_names: tuple[str, ...]
    persistent_bytes: int
    activation_bytes: tuple[int, ...]
    workspace_bytes: tuple[int, ...]
    live_at_peak: tuple[tuple[str, int], ...]   # (tensor, bytes) live at the peak op, largest first

    def total(self, i: int) -> int:
        return self.persistent_bytes + self.activation_bytes[i] + self.workspace_bytes[i]

    @property
    def totals(self) -> list[int]:
        return [self.total(i) for i in range(len(self.op_names))]

    @property
    def peak_index(self) -> int:
        t = self.totals
        return max(range(len(t)), key=t.__getitem__) if t else 0

    @property
    def peak_bytes(self) -> int:
        return max(self.totals, default=self.persistent_bytes)

    @property
    def peak_op(self) -> str:
        return self.op_names[self.peak_index] if self.op_names else ""


def liveness(graph: Graph, extra_persistent_bytes: int = 0) -> MemoryTimeline:
    """The memory timeline of ``graph``; ``extra_persistent_bytes``: other resident bytes
    (weights of the pipeline's other models, a rehash cache)."""
    last: dict[str, int] = {}
    for i, op in enumerate(graph.ops):
        for t in (*op.inputs, *op.outputs):
            last[t] = i
    end = len(graph.ops)
    for t in graph.outputs:
        last[t] = end
    persistent = extra_persistent_bytes + sum(_rounded(t.nbytes) for t in graph.tensors.values()
                                              if t.role != "activation")
    live: dict[str, int] = {}
    acts, work = [], []
    peak_total, peak_live = -1, {}
    for i, op in enumerate(graph.ops):
        for t in op.outputs:
            live[t] = _rounded(graph.tensors[t].nbytes)
        a, w = sum(live.values()), _rounded(op.workspace_bytes) if op.workspace_bytes else 0
        acts.append(a)
        work.append(w)
        if a + w > peak_total:
            peak_total, peak_live = a + w, dict(live)
            if w:
                peak_live[f"{op.name}:workspace"] = w
        for t in set(op.inputs) | set(op.outputs):
            if last.get(t) == i and t in live:
                del live[t]
    top = tuple(sorted(peak_live.items(), key=lambda kv: (-kv[1], kv[0])))
    return MemoryTimeline(graph.name, tuple(op.name for op in graph.ops), persistent, tuple(acts),
                          tuple(work), top)
