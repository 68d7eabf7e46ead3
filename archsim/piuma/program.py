"""PIUMA thread programs: work quanta grouped into batches, batches into stages.

Assumes the mapper has already turned its kernel into *work quanta*: one quantum is what one
thread does for one work item (a row, a slice of a row's partial products, a slice of a hash
table to write back) and is described only by counts: instructions it issues, memory operations
by latency class, DMA bursts, bytes it moves to and from DRAM, and free-form counters (``mul``,
``partial_products``, ``probes``...) that are summed, not timed. Leaves out addresses, data
values and anything about matrices: archsim never sees a matrix, only these counts.

A :class:`Batch` is a set of quanta run by the threads of one core, ending in a core barrier;
``owner[q]`` names the hardware thread (0 .. threads_per_core-1) that runs quantum q, or
``owner is None`` for dynamic distribution (threads pull the next quantum from a SPAD counter,
paying one atomic each). A :class:`Stage` ends in a global barrier; its batches are either
assigned per core (``per_core[c]``, run in order) or pooled (``pooled``: cores pull the next
batch from a counter on core 0, paying a network round trip plus an atomic).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TIMED_COLUMNS", "Batch", "Stage", "PiumaProgram"]

TIMED_COLUMNS = ("instrs", "dram_loads", "cache_loads", "spad_reads", "spad_writes", "atomics",
                 "remote_atomics", "dma_bursts", "dram_read_bytes", "dram_write_bytes")


@dataclass(frozen=True)
class Batch:
    """Quanta as columns (int64 arrays of one length). Missing timed columns count as zero."""

    columns: dict[str, np.ndarray]
    owner: np.ndarray | None = None

    def __post_init__(self):
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"batch columns differ in length: {sorted(lengths)}")
        if "instrs" not in self.columns:
            raise ValueError("batch: missing column 'instrs'")
        if self.owner is not None and len(self.owner) != len(self):
            raise ValueError("batch: owner length differs from the number of quanta")

    def __len__(self) -> int:
        return len(self.columns["instrs"])

    def col(self, name: str) -> np.ndarray:
        got = self.columns.get(name)
        return np.zeros(len(self), dtype=np.int64) if got is None else got


@dataclass(frozen=True)
class Stage:
    name: str
    per_core: tuple[tuple[Batch, ...], ...] = ()
    pooled: tuple[tuple[Batch, ...], ...] = ()


@dataclass(frozen=True)
class PiumaProgram:
    """Stages run in order, each ending in a global barrier; ``threads_per_core`` used per core."""

    name: str
    stages: tuple[Stage, ...]
    threads_per_core: int
    notes: dict = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        """Sum of every column over every quantum (timed columns and counters alike)."""
        out: dict[str, int] = {}
        for stage in self.stages:
            for batch in [b for group in stage.per_core + stage.pooled for b in group]:
                for name, values in batch.columns.items():
                    out[name] = out.get(name, 0) + int(values.sum())
        return out
