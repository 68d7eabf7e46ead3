"""Row-wise (Gustavson) SpGEMM executor with an explicit per-row accumulator.

Contract of :func:`spgemm_rowwise`:

* ``A_csr`` (M x K) and ``B_csr`` (K x N) are scipy sparse matrices (any
  format; converted to CSR). Returns ``(C, stats)`` where ``C`` is a
  ``scipy.sparse.csr_matrix`` (M x N, float64) with sorted, duplicate-free
  column indices, and ``stats`` is an :class:`SpGEMMStats`.
* Loop order i, k, j: for each row i of A, for each nonzero a_ik, for each
  nonzero b_kj, accumulate ``a_ik * b_kj`` into row i's accumulator keyed by
  column j; then write the row back (columns sorted).
* ``accumulator='dense'``: a dense sparse accumulator (SPA) of N values plus
  an occupied flag per column, reset after each row. Each update touches one
  slot, so ``probes == multiplies``.
* ``accumulator='hash'``: an open-addressing hash table with linear probing,
  implemented by hand. Key = column, slot = ``(col * 107) & (size - 1)``;
  size is the smallest power of two >= ``2 * f_i`` (``f_i`` = row work =
  sum over k in row i of nnz(B[k, :])), or ``table_slots`` if given (must be
  a power of two; a row with more distinct columns than slots raises
  ``ValueError``). Every slot inspected counts as one probe, so
  ``probes >= multiplies >= inserts``.
* Explicit zeros: C keeps the *structural* pattern, i.e. every column that
  received an update, even if the values cancel to exactly 0.0 (that is what
  the hardware writes back). scipy's ``A @ B`` drops exact zeros, so checks
  compare after ``eliminate_zeros()`` on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["SpGEMMStats", "spgemm_rowwise", "spgemm_reference", "row_work"]

_HASH_MULT = 107
_EMPTY = -1


@dataclass(frozen=True)
class SpGEMMStats:
    """Accumulator statistics of one :func:`spgemm_rowwise` run.

    multiplies: partial products a_ik * b_kj (total work f).
    inserts: new keys placed in an accumulator (= structural nnz of C).
    probes: accumulator slots inspected (dense: one per update).
    max_probe: longest probe sequence of a single update.
    table_slots_total: sum over non-empty rows of the accumulator size used.
    """

    multiplies: int
    inserts: int
    probes: int
    max_probe: int
    table_slots_total: int


def spgemm_reference(A, B) -> sp.csr_matrix:
    """scipy's ``A @ B`` as float64 CSR with sorted indices (zeros eliminated)."""
    C = sp.csr_matrix(sp.csr_matrix(A, dtype=np.float64) @ sp.csr_matrix(B, dtype=np.float64))
    C.eliminate_zeros()
    C.sort_indices()
    return C


def row_work(A_csr, B_csr) -> np.ndarray:
    """Per-row work ``f_i = sum_{k in row i of A} nnz(B[k, :])`` (int64, length M)."""
    A = sp.csr_matrix(A_csr)
    B = sp.csr_matrix(B_csr)
    b_len = np.diff(B.indptr).astype(np.int64)
    per_entry = b_len[A.indices]
    cums = np.concatenate([[0], np.cumsum(per_entry)])
    return (cums[A.indptr[1:]] - cums[A.indptr[:-1]]).astype(np.int64)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def spgemm_rowwise(A_csr, B_csr, accumulator: str = "dense",
                   table_slots: int | None = None) -> tuple[sp.csr_matrix, SpGEMMStats]:
    """Gustavson row-wise SpGEMM; see the module docstring for the full contract."""
    if accumulator not in ("dense", "hash"):
        raise ValueError(f"accumulator must be 'dense' or 'hash', got {accumulator!r}")
    if not sp.issparse(A_csr):
        raise ValueError("A_csr must be a scipy sparse matrix")
    if not sp.issparse(B_csr):
        raise ValueError("B_csr must be a scipy sparse matrix")
    if table_slots is not None:
        if accumulator != "hash":
            raise ValueError("table_slots is only valid with accumulator='hash'")
        if (isinstance(table_slots, bool) or not isinstance(table_slots, (int, np.integer))
                or table_slots <= 0 or (int(table_slots) & (int(table_slots) - 1))):
            raise ValueError(f"table_slots must be a positive power of two, got {table_slots!r}")
        table_slots = int(table_slots)
    A = sp.csr_matrix(A_csr, dtype=np.float64, copy=True)   # never mutate caller
    B = sp.csr_matrix(B_csr, dtype=np.float64, copy=True)
    A.sum_duplicates()
    B.sum_duplicates()
    M, KA = A.shape
    KB, N = B.shape
    if KA != KB:
        raise ValueError(f"inner dimensions differ: A_csr is {A.shape}, B_csr is {B.shape}")

    a_ptr, a_idx, a_val = A.indptr, A.indices, A.data
    b_ptr, b_idx, b_val = B.indptr, B.indices, B.data
    f = row_work(A, B)
    out_ptr = np.zeros(M + 1, dtype=np.int64)
    out_idx: list[np.ndarray] = []
    out_val: list[np.ndarray] = []
    multiplies = inserts = probes = max_probe = slots_total = 0

    if accumulator == "dense":
        spa_val = np.zeros(N, dtype=np.float64)
        spa_occ = np.zeros(N, dtype=bool)
    for i in range(M):
        if f[i] == 0:
            out_ptr[i + 1] = out_ptr[i]
            continue
        if accumulator == "dense":
            slots_total += N
            touched: list[int] = []
            for t in range(a_ptr[i], a_ptr[i + 1]):
                k, a_ik = a_idx[t], a_val[t]
                for s in range(b_ptr[k], b_ptr[k + 1]):
                    j = int(b_idx[s])
                    multiplies += 1
                    probes += 1
                    if not spa_occ[j]:
                        spa_occ[j] = True
                        spa_val[j] = 0.0
                        touched.append(j)
                        inserts += 1
                    spa_val[j] += a_ik * b_val[s]
            max_probe = max(max_probe, 1)
            cols = np.array(sorted(touched), dtype=np.int64)
            vals = spa_val[cols].copy()
            spa_occ[cols] = False                           # reset SPA for next row
        else:
            size = table_slots if table_slots is not None else _next_pow2(2 * int(f[i]))
            mask = size - 1
            slots_total += size
            keys = np.full(size, _EMPTY, dtype=np.int64)
            tvals = np.zeros(size, dtype=np.float64)
            for t in range(a_ptr[i], a_ptr[i + 1]):
                k, a_ik = a_idx[t], a_val[t]
                for s in range(b_ptr[k], b_ptr[k + 1]):
                    j = int(b_idx[s])
                    multiplies += 1
                    h = (j * _HASH_MULT) & mask
                    n_probe = 0
                    while True:
                        n_probe += 1
                        key = keys[h]
                        if key == j:                         # hit: accumulate
                            break
                        if key == _EMPTY:                    # miss: insert
                            keys[h] = j
                            inserts += 1
                            break
                        if n_probe >= size:                  # wrapped: table full
                            raise ValueError(f"table_slots={size} too small for row {i}")
                        h = (h + 1) & mask
                    tvals[h] += a_ik * b_val[s]
                    probes += n_probe
                    max_probe = max(max_probe, n_probe)
            occ = keys != _EMPTY                             # write-back: scan, compact, sort
            cols = keys[occ]
            vals = tvals[occ]
            order = np.argsort(cols, kind="stable")
            cols, vals = cols[order], vals[order]
        out_idx.append(cols)
        out_val.append(vals)
        out_ptr[i + 1] = out_ptr[i] + cols.size

    indices = np.concatenate(out_idx) if out_idx else np.zeros(0, dtype=np.int64)
    data = np.concatenate(out_val) if out_val else np.zeros(0, dtype=np.float64)
    C = sp.csr_matrix((data, indices, out_ptr), shape=(M, N))
    C.has_sorted_indices = True
    stats = SpGEMMStats(multiplies=multiplies, inserts=inserts, probes=probes,
                        max_probe=max_probe, table_slots_total=slots_total)
    return C, stats
