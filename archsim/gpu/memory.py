"""Device memory: a tensor-liveness allocator over a kernel sequence.

A tensor that is not a program input is allocated when the first kernel that writes it starts and
freed after the last kernel that reads or writes it; a kernel's ``workspace_bytes`` live while it
runs. Every allocation is rounded up to ``ROUND_BYTES`` = 512 B, the block granularity of
PyTorch's CUDA caching allocator (kMinBlockSize = 512 in c10/cuda/CUDACachingAllocator.cpp), so
the peak is comparable with ``torch.cuda.max_memory_allocated()`` measured above the inputs.
Leaves out the allocator's segment rounding (2 MiB segments: reserved, not allocated, memory),
fragmentation and streams other than one.
"""
from __future__ import annotations

__all__ = ["ROUND_BYTES", "liveness", "peak_bytes"]

ROUND_BYTES = 512


def _rounded(nbytes: int) -> int:
    return -(-int(nbytes) // ROUND_BYTES) * ROUND_BYTES


def liveness(program) -> list[int]:
    """Live bytes (above the inputs) while each kernel runs, in kernel order."""
    last: dict[str, int] = {}
    for i, k in enumerate(program.kernels):
        for t in (*k.reads, *k.writes):
            last[t] = i
    sizes = program.tensor_bytes()
    live, timeline, allocated = 0, [], set()
    for i, k in enumerate(program.kernels):
        for t in k.writes:
            if t not in program.inputs and t not in allocated:
                allocated.add(t)
                live += _rounded(sizes[t])
        timeline.append(live + (_rounded(k.workspace_bytes) if k.workspace_bytes else 0))
        for t in set(k.reads) | set(k.writes):
            if last[t] == i and t in allocated:
                live -= _rounded(sizes[t])
    return timeline


def peak_bytes(program) -> int:
    """Peak live bytes above the inputs (max of :func:`liveness`, 0 for an empty program)."""
    return max(liveness(program), default=0)
