"""Shared pieces of the PIUMA SpGEMM mappers: software costs, traffic, distribution, mapping.

Assumptions (software, not machine: each is a mapper option default, labelled here):

* element = 4-byte column index + 8-byte fp64 value (12 B); row pointer 8 B; an outer-product
  partial product = (row, col, value) = 16 B; a SMASH v1 table entry = 8-byte key + 8-byte value
  (16 B), a v2/v3 token = one 8-byte word (32-bit column + 32-bit value; the functional executor
  keeps fp64 values, only the cost model uses 8 B).
* instruction counts per step (``COSTS``) are our estimates of a tight RISC loop, not measured
  PIUMA code; every kernel uses the same per-step prices where the steps are the same.
* contiguous reads/writes go through the DMA engine (one burst per segment); DRAM bytes moved by
  a segment of ``b`` useful bytes are ``ceil(b / line) * line`` with the preset's
  ``dram_line_bytes`` (segments assumed line-aligned: optimistic for 64-byte lines).
* the SMASH hash table may use ``table_fraction`` of the SPAD (the rest holds DMA buffers), and a
  window is sized so sum(f_i) <= ``load_factor`` x table slots (f_i bounds a row's distinct keys).
* read-only B row pointers are served by the core's cache when they fit in it, else by DRAM.

Leaves out: the symbolic phase that sizes outputs (same for every kernel), C's row-pointer
prefix sum, and thread start-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from archsim.piuma import Batch, PiumaProgram

from ..spec import MappingError

__all__ = ["COSTS", "ELEM_BYTES", "PTR_BYTES", "PP_BYTES", "DISTRIBUTIONS", "SpgemmMapping",
           "moved", "owners", "threads_per_core", "check_inputs", "rows_expand"]

ELEM_BYTES, PTR_BYTES, PP_BYTES = 12, 8, 16
DISTRIBUTIONS = ("static", "flop_balanced", "dynamic")
COSTS = {                     # instructions per step (assumption: hand-counted RISC loops)
    "a_entry": 4,             # load a_ik, load B row pointers, issue DMA for B row k, loop
    "mul": 1, "b_load": 2,    # multiply; load b_kj (col, value) from the SPAD DMA buffer
    "hash": 3, "probe": 2,    # hash the key; per probe: CAS/read + compare-branch
    "spa_update": 4,          # dense SPA: flag test, load, add, store
    "merge_step": 3,          # inner: compare two indices, advance, branch
    "pp_emit": 3,             # outer: form and store one (row, col, value) record
    "heap_step": 2,           # outer merge: per element per log2(lists) level
    "sort_step": 2,           # per element per log2 level of a row sort in write-back
    "scan_slot": 2,           # write-back: read a slot, test empty (and clear it)
    "out_entry": 2,           # write one C entry into the DMA output buffer
}


def moved(useful_bytes, line_bytes: int):
    """DRAM bytes moved for segments of ``useful_bytes`` (array or int) at ``line_bytes``."""
    return -(-np.asarray(useful_bytes, dtype=np.int64) // line_bytes) * line_bytes


def threads_per_core(arch, threads: int | None) -> int:
    p = arch.piuma
    if p is None:
        raise MappingError(f"arch {arch.name!r}: the SpGEMM mappers need a PIUMA-family preset "
                           "(e.g. piuma, piuma8)")
    most = p.mtps_per_core * p.threads_per_mtp + p.stps_per_core
    t = most if threads is None else int(threads)
    if not 1 <= t <= most:
        raise MappingError(f"threads: {t} outside 1..{most} threads per core of {arch.name}")
    return t


def owners(weights: np.ndarray, n_owners: int, distribution: str) -> np.ndarray | None:
    """Owner of each item: ``static`` = contiguous blocks of equal item count; ``flop_balanced``
    = contiguous blocks of equal total weight; ``dynamic`` = None (pulled at run time)."""
    n = len(weights)
    if distribution == "dynamic":
        return None
    if distribution == "static":
        return (np.arange(n) * n_owners // max(n, 1)).astype(np.int64)
    if distribution == "flop_balanced":
        w = np.asarray(weights, dtype=np.float64)
        cum = np.cumsum(w) - w / 2                              # item midpoints
        total = float(w.sum()) or 1.0
        return np.minimum((cum * n_owners / total).astype(np.int64), n_owners - 1)
    raise MappingError(f"distribution: {distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")


def check_inputs(cascade, A, B):
    """Validated float64 CSR copies of A and B (B defaults to A) for the spgemm cascade."""
    if cascade.name != "spgemm":
        raise MappingError(f"cascade {cascade.name!r}: the PIUMA SpGEMM mappers map 'spgemm' only")
    if A is None:
        raise MappingError("matrix: the SpGEMM mappers need map option matrix=<scipy sparse A>")
    A = sp.csr_matrix(A, dtype=np.float64)
    B = A if B is None else sp.csr_matrix(B, dtype=np.float64)
    if A.shape[1] != B.shape[0]:
        raise MappingError(f"matrix: inner dimensions differ, A {A.shape} x B {B.shape}")
    for m in (A, B):
        m.sum_duplicates()
        m.sort_indices()
    return A, B


def rows_expand(A, B, rows: slice | None = None):
    """Products of rows of C in order: (row i, A-entry index t, column j) int64 arrays, product
    order = for i, for k in A row i, for j in B row k (Gustavson order)."""
    lo, hi = (0, A.shape[0]) if rows is None else (rows.start, rows.stop)
    t0, t1 = A.indptr[lo], A.indptr[hi]
    k = A.indices[t0:t1]
    blen = np.diff(B.indptr)[k].astype(np.int64)
    t = np.repeat(np.arange(t0, t1), blen)
    starts = np.repeat(B.indptr[k].astype(np.int64) - np.concatenate([[0], np.cumsum(blen)[:-1]]), blen)
    j = B.indices[starts + np.arange(len(t))].astype(np.int64)
    a_row = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    return a_row[t], t, j


@dataclass(frozen=True)
class SpgemmMapping:
    """A mapped SpGEMM: the kernel, its choices, the thread program and model statistics."""

    mapper: str
    kernel: str
    distribution: str
    threads: int
    program: PiumaProgram
    stats: dict = field(default_factory=dict)
    backing_level: str = "dram"

    def describe(self) -> dict[str, str]:
        return {"kernel": self.kernel, "distribution": self.distribution,
                "threads_per_core": str(self.threads)}


def batch(columns: dict, owner) -> Batch:
    return Batch({k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}, owner)
