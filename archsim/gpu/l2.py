"""The L2 reuse model: which global bytes reach DRAM.

Stated model (tensor granularity, LRU, write-back, write-allocate):

- L2 holds whole tensors in least-recently-used order. After a kernel touches its tensors (reads,
  then writes, each moved to the most-recent end), a tensor is *resident* while it and every
  tensor touched after it fit in the capacity (its LRU stack distance); the others are evicted.
  A tensor larger than the L2 is never resident (a streaming pass evicts its own head before it
  is read again: the LRU cliff).
- A kernel's first read of each input costs its size in DRAM reads unless the tensor is resident.
- Re-reads within the kernel (load traffic beyond the inputs' unique bytes: operand panels shared
  by several CTAs): CTAs of one wave run concurrently and read a shared panel within a short
  window, so re-reads inside a wave hit; a panel read again by a later wave hits only if one
  wave's panels (``wave_footprint_bytes``) fit the L2. Otherwise every wave fetches its panels
  from DRAM: the kernel reads min(load bytes, waves x wave footprint) from DRAM.
- Writes allocate dirty lines in L2 and cost DRAM writes only when the tensor is evicted, charged
  to the kernel whose touches evicted it; a tensor freed while resident never reaches DRAM.

Leaves out: set conflicts and hashing across L2 partitions (A100/H100 split the L2 in two halves
with a crossbar between them), partial residency, prefetching and compression.
"""
from __future__ import annotations

from collections import OrderedDict

__all__ = ["L2Cache"]


class L2Cache:
    def __init__(self, capacity_bytes: int):
        self.capacity = capacity_bytes
        self.lru: OrderedDict[str, int] = OrderedDict()   # tensor -> bytes, most recent last
        self.dirty: set[str] = set()
        self.used = 0                                      # bytes in ``lru``

    def resident(self, tensor: str) -> bool:
        return tensor in self.lru

    def run_kernel(self, kernel, slots: int) -> tuple[float, float]:
        """Account ``kernel``'s touches (``slots`` CTAs run at once); return its (DRAM read bytes,
        DRAM write bytes)."""
        reads = sum(b for t, b in kernel.reads.items() if not self.resident(t))
        rereads = kernel.load_bytes > sum(kernel.reads.values())
        if rereads and kernel.wave_footprint_bytes > self.capacity:
            waves = -(-kernel.ctas // slots)
            reads = min(kernel.load_bytes, waves * kernel.wave_footprint_bytes)
        for t, b in kernel.reads.items():
            self._touch(t, b)
        for t, b in kernel.writes.items():
            self._touch(t, b)
            self.dirty.add(t)
        return float(reads), float(self._evict())

    def free(self, tensor: str) -> None:
        """The tensor's memory was released: its lines are dropped without a write-back."""
        self.used -= self.lru.pop(tensor, 0)
        self.dirty.discard(tensor)

    def _touch(self, tensor: str, nbytes: int) -> None:
        self.used += nbytes - self.lru.pop(tensor, 0)
        self.lru[tensor] = nbytes

    def _evict(self) -> int:
        """Drop tensors beyond the capacity (LRU stack distance: the longest most-recent run that
        fits stays, so the oldest go first); return dirty bytes written back."""
        written = 0
        while self.used > self.capacity:
            t, nbytes = self.lru.popitem(last=False)
            self.used -= nbytes
            if t in self.dirty:
                self.dirty.discard(t)
                written += nbytes
        return written
