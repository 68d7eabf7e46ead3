"""Functional executors of the PIUMA SpGEMM kernels, hash table included, and their checks.

Each executor computes C = A B the way its kernel's schedule does, element by element in plain
Python (small matrices only; the timing model counts the same steps in bulk):

* :func:`spgemm_inner` - A CSR x B CSC, one sorted merge per (row, non-empty column);
* :func:`spgemm_outer` - per k, every partial product (i, j, a_ik b_kj) into per-row bins (the
  DRAM intermediate), then a heap merge of each row's k-lists;
* row-wise dense: ``spgemm_rowwise(A, B, 'dense')`` of spgemm.py (reused, not duplicated);
* :func:`spgemm_smash` - SMASH: windows of rows (``make_windows``), one linear-probing hash table
  per window keyed by ``row * N + col`` with the Fibonacci hash of mappings/spgemm/hashing.py,
  insert-or-accumulate per partial product (v1: key and value slots, CAS per probe then an add;
  v2: one token per slot holding key and value; v3: v2 with the table cut into ``fragments``
  contiguous slot ranges, probing wraps inside a fragment), then write-back (scan, compact,
  sort each row). Counts every probe.

Values stay float64 in every version (v2/v3's 8-byte token is a cost-model assumption only).
Explicit zeros follow spgemm.py: C keeps the structural pattern; checks eliminate zeros.
"""
from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp

from ..spgemm.hashing import FIB, knuth_insert_probes, make_windows
from .options import seed_for
from .registry import CheckResult, compare_sparse
from .spgemm import row_work, spgemm_reference, spgemm_rowwise

__all__ = ["spgemm_inner", "spgemm_outer", "spgemm_smash", "run_kernel", "KERNEL_NAMES", "checks"]

KERNEL_NAMES = ("inner", "outer", "rowwise_dense", "smash_v1", "smash_v2", "smash_v3")
_MASK64 = (1 << 64) - 1


def _prep(A, B):
    A = sp.csr_matrix(A, dtype=np.float64, copy=True)
    B = sp.csr_matrix(B, dtype=np.float64, copy=True)
    for m in (A, B):
        m.sum_duplicates()
        m.sort_indices()
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"inner dimensions differ: A is {A.shape}, B is {B.shape}")
    return A, B


def _from_rows(rows: dict, shape) -> sp.csr_matrix:
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    idx, val = [], []
    for i in range(shape[0]):
        cols = sorted(rows.get(i, {}))
        idx += cols
        val += [rows[i][j] for j in cols]
        indptr[i + 1] = len(idx)
    return sp.csr_matrix((np.array(val, dtype=np.float64), np.array(idx, dtype=np.int64), indptr),
                         shape=shape)


def spgemm_inner(A, B):
    """Inner product; returns (C, {'multiplies', 'merge_steps'})."""
    A, B = _prep(A, B)
    Bc = sp.csc_matrix(B)
    Bc.sort_indices()
    rows, mults, steps = {}, 0, 0
    cols_ne = [j for j in range(Bc.shape[1]) if Bc.indptr[j + 1] > Bc.indptr[j]]
    for i in range(A.shape[0]):
        a0, a1 = A.indptr[i], A.indptr[i + 1]
        if a0 == a1:
            continue
        for j in cols_ne:
            p, q, q1 = a0, Bc.indptr[j], Bc.indptr[j + 1]
            acc, hit = 0.0, False
            while p < a1 and q < q1:
                steps += 1
                ka, kb = A.indices[p], Bc.indices[q]
                if ka == kb:
                    acc += A.data[p] * Bc.data[q]
                    mults += 1
                    hit = True
                    p += 1
                    q += 1
                elif ka < kb:
                    p += 1
                else:
                    q += 1
            if hit:
                rows.setdefault(i, {})[j] = acc
    return _from_rows(rows, (A.shape[0], B.shape[1])), {"multiplies": mults, "merge_steps": steps}


def spgemm_outer(A, B):
    """Outer product; returns (C, {'multiplies', 'partial_products', 'compares'})."""
    A, B = _prep(A, B)
    Ac = sp.csc_matrix(A)
    Ac.sort_indices()
    bins: dict[int, list[list[tuple[int, float]]]] = {}        # row -> one list per k
    pp = 0
    for k in range(Ac.shape[1]):
        b0, b1 = B.indptr[k], B.indptr[k + 1]
        for t in range(Ac.indptr[k], Ac.indptr[k + 1]):
            i, a = int(Ac.indices[t]), Ac.data[t]
            run = [(int(B.indices[s]), a * B.data[s]) for s in range(b0, b1)]
            pp += len(run)
            if run:
                bins.setdefault(i, []).append(run)
    rows, compares = {}, 0
    for i, lists in bins.items():                              # merge phase: k-way heap merge
        out: dict[int, float] = {}
        for j, v in heapq.merge(*lists):
            compares += max(1, int(np.ceil(np.log2(len(lists) + 1))))
            out[j] = out.get(j, 0.0) + v
        rows[i] = out
    C = _from_rows(rows, (A.shape[0], B.shape[1]))
    return C, {"multiplies": pp, "partial_products": pp, "compares": compares}


def _home(key: int, bits: int) -> int:
    return ((key * FIB) & _MASK64) >> (64 - bits) if bits else 0


def spgemm_smash(A, B, version: int = 1, table_slots: int = 1 << 12, load_factor: float = 0.5,
                 fragments: int = 4):
    """SMASH v1/v2/v3 with explicit hash tables; returns (C, stats). ``table_slots`` (a power of
    two) is the largest table; each window's table is the smallest power of two holding its
    sum(f_i) at ``load_factor``. Stats: multiplies, inserts, insert_probes, probes, windows,
    knuth_insert_probes (sum over windows of inserts x Knuth at the window's final load)."""
    if version not in (1, 2, 3):
        raise ValueError(f"version must be 1, 2 or 3, got {version!r}")
    if table_slots < 1 or table_slots & (table_slots - 1):
        raise ValueError(f"table_slots must be a power of two, got {table_slots!r}")
    A, B = _prep(A, B)
    N = B.shape[1]
    f = row_work(A, B)
    windows = make_windows(f, int(load_factor * table_slots))
    st = dict(multiplies=0, inserts=0, insert_probes=0, probes=0, windows=len(windows),
              knuth_insert_probes=0.0)
    rows: dict[int, dict[int, float]] = {}
    for lo, hi in windows:
        fw = int(f[lo:hi].sum())
        if fw == 0:
            continue
        size = min(table_slots, 1 << int(np.ceil(np.log2(max(fw / load_factor, 1)))))
        bits = size.bit_length() - 1
        frag = min(fragments, size) if version == 3 else 1
        fsize = size // frag
        keys = [-1] * size                    # v1: key slots ...
        vals = [0.0] * size                   # ... and value slots; v2/v3: (key, value) token
        tokens = [None] * size
        inserts = 0
        for i in range(lo, hi):
            for t in range(A.indptr[i], A.indptr[i + 1]):
                k, a = A.indices[t], A.data[t]
                for s in range(B.indptr[k], B.indptr[k + 1]):
                    key = i * N + int(B.indices[s])
                    v = a * B.data[s]
                    st["multiplies"] += 1
                    h = _home(key, bits)
                    base = (h // fsize) * fsize
                    n = 0
                    while True:
                        n += 1
                        if version == 1:
                            if keys[h] == -1:                 # CAS(EMPTY -> key) succeeds
                                keys[h] = key
                                new = True
                                break
                            if keys[h] == key:                # CAS fails on our key: hit
                                new = False
                                break
                        else:
                            tok = tokens[h]
                            if tok is None or tok[0] == key:  # CAS the whole token
                                new = tok is None
                                tokens[h] = (key, (0.0 if new else tok[1]) + v)
                                break
                        if n >= fsize:
                            raise ValueError(f"window rows {lo}..{hi - 1}: table full")
                        h = base + (h - base + 1) % fsize
                    if version == 1:
                        vals[h] += v                          # atomic add on the value slot
                    st["probes"] += n
                    if new:
                        inserts += 1
                        st["insert_probes"] += n
        st["inserts"] += inserts
        st["knuth_insert_probes"] += inserts * knuth_insert_probes(inserts / size)
        for h in range(size):                                 # write-back: scan and compact
            if version == 1:
                key, val = keys[h], vals[h]
            else:
                key, val = tokens[h] if tokens[h] is not None else (-1, 0.0)
            if key >= 0:
                rows.setdefault(key // N, {})[key % N] = val
    return _from_rows(rows, (A.shape[0], N)), st


def run_kernel(name: str, A, B):
    """C and stats of kernel ``name`` (one of KERNEL_NAMES)."""
    if name == "inner":
        return spgemm_inner(A, B)
    if name == "outer":
        return spgemm_outer(A, B)
    if name == "rowwise_dense":
        C, s = spgemm_rowwise(A, B, "dense")
        return C, {"multiplies": s.multiplies, "partial_products": 0}
    if name.startswith("smash_v") and name[-1] in "123":
        return spgemm_smash(A, B, version=int(name[-1]), table_slots=1 << 10)
    raise ValueError(f"kernel: unknown {name!r}; known: {', '.join(KERNEL_NAMES)}")


def _matrices():
    from workloads import powerlaw_graph, rmat, uniform

    return {"rmat8": lambda: rmat(8, 8, seed=seed_for(501)), "uniform": lambda: uniform(256, 6, seed=seed_for(502)),
            "powerlaw": lambda: powerlaw_graph(256, 3, seed=seed_for(503))}


def checks() -> dict:
    """``archsim verify`` checks: every kernel on seeded R-MAT, uniform and power-law matrices."""
    out = {}
    for label, make in _matrices().items():
        for kernel in KERNEL_NAMES:
            name = f"spgemm_{kernel}[{label}]"

            def run(kernel=kernel, make=make, name=name) -> CheckResult:
                A = make()
                C, _ = run_kernel(kernel, A, A)
                return compare_sparse(name, C, spgemm_reference(A, A))
            out[name] = run
    return out
