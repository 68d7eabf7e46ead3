"""Thread programs of the SpGEMM kernels on PIUMA (C = A B): inner, outer, row-wise, SMASH.

Each builder turns the matrices into per-item counts (see common.py for the per-step costs and
traffic rules) and distributes items over cores and threads. Items: rows of A (inner,
rowwise_dense, outer merge), columns k of A (outer multiply), chunks of at most ``item_flops``
partial products of one row (SMASH hashing: the shared, atomically updated table lets a heavy row
be split over threads), and table slices (SMASH write-back).

* inner: B (CSC) is kept in the SPAD when it fits (loaded once per core), else re-streamed per
  row; per row i and non-empty column j a sorted merge of nnz(A_i) + nnz(B_j) steps.
* outer: multiply stage writes every partial product (16 B) to DRAM bins by row, global barrier,
  merge stage reads them back and k-way merges (heap of nnz(A_i) lists).
* rowwise_dense: a private dense accumulator (value + flag per column) per thread, in the SPAD
  when every thread's fits, else in DRAM (each update a read and a write of one line).
* smash_v1: windows of rows sized to the SPAD table; hashing with linear probing, CAS per probe
  plus an atomic add; write-back scans the table. smash_v2: 8-byte tokens (half the entry,
  twice the window; a probe is a SPAD read, one CAS per update). smash_v3: v2 with the table
  fragmented over every core's SPAD (a window spans the machine: fewer, larger windows;
  (cores-1)/cores of atomics are remote).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from archsim.piuma import Stage

from ..spec import MappingError
from .common import COSTS as C
from .common import ELEM_BYTES, PP_BYTES, PTR_BYTES, batch, moved, owners, rows_expand
from .hashing import knuth_insert_probes, make_windows, probe_layout

# assumption: the inner-product kernel keeps B (CSC) resident only if it fits half the SPAD; the
# other half stages rows of A and the output.
B_SPAD_SHARE = 0.5
# assumption: hash tables (SMASH) and dense accumulators (rowwise_dense) may use 3/4 of the SPAD;
# the rest holds window metadata, work queues and staging buffers.
TABLE_FRACTION = 0.75

# assumption: defaults of the SMASH mapper options (docs/piuma.md): a hashing quantum of at most
# ITEM_FLOPS partial products; windows sized for a table load factor of LOAD_FACTOR.
ITEM_FLOPS = 512
LOAD_FACTOR = 0.5

__all__ = ["build_inner", "build_outer", "build_rowwise_dense", "build_smash", "mapper_constants"]


def mapper_constants(options: dict | None = None) -> dict[str, float]:
    """The SpGEMM mappers' own numbers a result depends on (all assumptions, see their comments):
    ``costs.<step>`` instructions per step, element/pointer/partial-product bytes, the SPAD
    shares and the SMASH defaults, with ``options`` (map.* of a point) replacing defaults."""
    from .common import COSTS
    out = {f"costs.{k}": v for k, v in COSTS.items()}
    out.update({"elem_bytes": ELEM_BYTES, "ptr_bytes": PTR_BYTES, "pp_bytes": PP_BYTES,
                "b_spad_share": B_SPAD_SHARE, "table_fraction": TABLE_FRACTION,
                "item_flops": ITEM_FLOPS, "load_factor": LOAD_FACTOR})
    for key, value in (options or {}).items():
        if key in out:
            out[key] = value
    return out


def _log2(x):
    return np.ceil(np.log2(np.maximum(np.asarray(x, dtype=np.float64), 1) + 1)).astype(np.int64)


def _row_sums(values, indptr):
    cums = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    return cums[indptr[1:]] - cums[indptr[:-1]]


def _basics(A, B, arch):
    p = arch.piuma
    line = p.dram_line_bytes
    blen = np.diff(B.indptr).astype(np.int64)
    a_len = np.diff(A.indptr).astype(np.int64)
    f = _row_sums(blen[A.indices], A.indptr)
    pattern = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape) @ \
        sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    c = np.diff(sp.csr_matrix(pattern).indptr).astype(np.int64)
    b_moved = _row_sums(moved(blen[A.indices] * ELEM_BYTES, line), A.indptr)
    ptr_in_cache = (B.shape[0] + 1) * PTR_BYTES <= arch.levels["cache"].capacity_bytes
    return line, blen, a_len, f, c, b_moved, ptr_in_cache


def _stage(name, cols: dict, weights, cores, T, distribution, keep=None) -> Stage:
    """Distribute items (columns of equal length) over cores x threads."""
    keep = np.flatnonzero(weights > 0) if keep is None else keep
    shape = np.shape(weights)
    cols = {k: np.broadcast_to(np.asarray(v, dtype=np.int64), shape)[keep] for k, v in cols.items()}
    w = np.asarray(weights)[keep]
    if distribution == "dynamic":
        core_of, own = owners(w, cores, "flop_balanced"), None
    else:
        g = owners(w, cores * T, distribution)
        core_of, own = g // T, g % T
    per_core = []
    for c in range(cores):
        idx = np.flatnonzero(core_of == c)
        per_core.append((batch({k: v[idx] for k, v in cols.items()},
                               None if own is None else own[idx]),))
    return Stage(name, per_core=tuple(per_core))


def _ptr_loads(n, ptr_in_cache):
    return {"cache_loads" if ptr_in_cache else "dram_loads": 2 * n}


def build_rowwise_dense(A, B, arch, T, distribution, table_fraction=TABLE_FRACTION, **_):
    line, blen, a_len, f, c, b_moved, pic = _basics(A, B, arch)
    N = B.shape[1]
    in_spad = T * N * (8 + 1) <= arch.levels["spad"].capacity_bytes * table_fraction
    cols = {"instrs": a_len * C["a_entry"] + f * (C["b_load"] + C["mul"] + C["spa_update"])
            + c * (C["out_entry"] + C["scan_slot"]) + C["sort_step"] * c * _log2(c),
            "spad_reads": 2 * f + (f if in_spad else 0) + c,
            "spad_writes": (f if in_spad else 0) + c,
            "dma_bursts": a_len + 2,
            "dram_read_bytes": b_moved + moved(a_len * ELEM_BYTES, line)
            + (0 if in_spad else f * line),
            "dram_write_bytes": moved(c * ELEM_BYTES, line) + (0 if in_spad else f * line),
            "mul": f, "add": f - c, "partial_products": 0 * f}
    if not in_spad:
        cols["dram_loads"] = f
    cols.update(_ptr_loads(a_len, pic))
    stage = _stage("rowwise", cols, cols["instrs"] * (f > 0), arch.piuma.cores, T, distribution)
    return [stage], {"spa_in_spad": bool(in_spad)}


def build_inner(A, B, arch, T, distribution, **_):
    line, blen, a_len, f, c, _, _ = _basics(A, B, arch)
    Bc = sp.csc_matrix(B)
    col_len = np.diff(Bc.indptr).astype(np.int64)
    n_ne = int((col_len > 0).sum())
    b_bytes = int(moved(col_len[col_len > 0] * ELEM_BYTES, line).sum()
                  + moved((B.shape[1] + 1) * PTR_BYTES, line))
    b_in_spad = Bc.nnz * ELEM_BYTES + (B.shape[1] + 1) * PTR_BYTES \
        <= arch.levels["spad"].capacity_bytes * B_SPAD_SHARE
    steps = n_ne * a_len + Bc.nnz
    cols = {"instrs": steps * C["merge_step"] + f * C["mul"] + c * C["out_entry"],
            "spad_reads": steps, "spad_writes": c,
            "dma_bursts": 2 + (0 if b_in_spad else n_ne),
            "dram_read_bytes": moved(a_len * ELEM_BYTES, line) + (0 if b_in_spad else b_bytes),
            "dram_write_bytes": moved(c * ELEM_BYTES, line),
            "mul": f, "add": np.maximum(f - c, 0), "partial_products": 0 * f}
    stages = []
    if b_in_spad:   # each core DMAs B once into its SPAD
        load = {"instrs": [1], "dma_bursts": [n_ne], "dram_read_bytes": [b_bytes],
                "spad_writes": [-(-b_bytes // arch.levels["spad"].access_bytes)]}
        stages.append(Stage("load_B", per_core=tuple((batch(load, np.zeros(1, np.int64)),)
                                                     for _ in range(arch.piuma.cores))))
    stages.append(_stage("inner", cols, cols["instrs"] * (a_len > 0), arch.piuma.cores, T,
                         distribution))
    return stages, {"b_in_spad": bool(b_in_spad), "b_restreamed_bytes": 0 if b_in_spad else b_bytes}


def build_outer(A, B, arch, T, distribution, **_):
    line, blen, a_len, f, c, _, _ = _basics(A, B, arch)
    Ac = sp.csc_matrix(A)
    acol = np.diff(Ac.indptr).astype(np.int64)
    ppk = acol * blen
    mult = {"instrs": acol * C["a_entry"] + ppk * (C["b_load"] + C["mul"] + C["pp_emit"]),
            "spad_reads": 2 * ppk, "spad_writes": ppk, "dma_bursts": 2 + acol,
            "dram_read_bytes": moved(acol * ELEM_BYTES, line) + moved(blen * ELEM_BYTES, line),
            "dram_write_bytes": acol * moved(blen * PP_BYTES, line),
            "mul": ppk, "partial_products": ppk}
    pp_moved = _row_sums(moved(blen[A.indices] * PP_BYTES, line), A.indptr)
    merge = {"instrs": f * (C["heap_step"] * _log2(a_len) + C["b_load"]) + c * C["out_entry"],
             "spad_reads": 2 * f, "spad_writes": c, "dma_bursts": a_len + 1,
             "dram_read_bytes": pp_moved, "dram_write_bytes": moved(c * ELEM_BYTES, line),
             "add": np.maximum(f - c, 0)}
    cores = arch.piuma.cores
    return [_stage("multiply", mult, mult["instrs"] * (ppk > 0), cores, T, distribution),
            _stage("merge", merge, merge["instrs"] * (f > 0), cores, T, distribution)], {}


def build_smash(A, B, arch, T, distribution, version=1, item_flops=ITEM_FLOPS, load_factor=LOAD_FACTOR,
                table_fraction=TABLE_FRACTION, **_):
    p = arch.piuma
    cores = p.cores
    line, blen, a_len, f, c, _, pic = _basics(A, B, arch)
    entry = 16 if version == 1 else 8
    slots = 1 << int(np.floor(np.log2(arch.levels["spad"].capacity_bytes * table_fraction / entry)))
    span = cores if version == 3 else 1            # v3: a window's table spans every core's SPAD
    cap = int(load_factor * slots * span)
    if version != 3:        # at least one window per core, so no core idles on a small matrix
        cap = max(1, min(cap, -(-int(f.sum()) // cores)))
    windows = make_windows(f, cap)
    N = B.shape[1]
    groups, stats = [], {"windows": len(windows), "inserts": 0, "insert_probes": 0, "probes": 0,
                         "knuth_insert_probes": 0.0, "table_slots": slots * span}
    for lo, hi in windows:
        fw = int(f[lo:hi].sum())
        if fw == 0:
            continue
        size = min(slots * span, 1 << int(np.ceil(np.log2(max(fw / load_factor, 1)))))
        i, t, j = rows_expand(A, B, slice(lo, hi))
        try:
            probes, inserts, ins_probes = probe_layout(i * N + j, size)
        except ValueError as err:
            raise MappingError(f"table_fraction: rows {lo}..{hi - 1}: {err}") from None
        stats["inserts"] += inserts
        stats["insert_probes"] += ins_probes
        stats["probes"] += int(probes.sum())
        stats["knuth_insert_probes"] += inserts * knuth_insert_probes(inserts / size)
        groups.append((lo, hi, i, t, probes, size, inserts))
    hash_cols = [_smash_items(g, blen, line, pic, version, item_flops, cores) for g in groups]
    wb = [_writeback(g, c, T * (cores if version == 3 else 1), line) for g in groups]
    stages = []
    if version == 3:
        for w, (cols, b) in enumerate(zip(hash_cols, wb)):
            stages.append(_stage(f"hash{w}", cols, cols["instrs"], cores, T, distribution))
            stages.append(_stage(f"writeback{w}", b, b["instrs"], cores, T, "static"))
        return stages, stats
    entries = []
    for cols, b in zip(hash_cols, wb):
        own = owners(cols["instrs"], T, distribution)
        entries.append((batch(cols, own), batch(b, np.arange(T))))
    if distribution == "dynamic":
        return [Stage("smash", pooled=tuple(entries))], stats
    weights = np.array([int(cols["instrs"].sum()) for cols in hash_cols])
    core_of = owners(weights, cores, distribution)
    per_core = tuple(tuple(b for w in np.flatnonzero(core_of == k) for b in entries[w])
                     for k in range(cores))
    return [Stage("smash", per_core=per_core)], stats


def _smash_items(group, blen, line, ptr_in_cache, version, item_flops, cores):
    lo, hi, i, t, probes, size, _ = group
    n = len(i)
    pos = np.arange(n)
    row_first = np.r_[True, i[1:] != i[:-1]]
    row_start = np.maximum.accumulate(np.where(row_first, pos, 0))
    chunk_first = ((pos - row_start) % item_flops) == 0
    seg_first = chunk_first | np.r_[True, t[1:] != t[:-1]]
    starts = np.flatnonzero(chunk_first)
    seg_pos = np.flatnonzero(seg_first)
    seg_len = np.diff(np.r_[seg_pos, n])
    seg_chunk = np.cumsum(chunk_first)[seg_pos] - 1
    nchunk = len(starts)
    segs = np.bincount(seg_chunk, minlength=nchunk)
    seg_bytes = np.bincount(seg_chunk, weights=moved(seg_len * ELEM_BYTES, line), minlength=nchunk)
    prod = np.diff(np.r_[starts, n])
    prb = np.add.reduceat(probes, starts)
    cols = {"instrs": segs * C["a_entry"] + prod * (C["b_load"] + C["mul"] + C["hash"])
            + prb * C["probe"],
            "dma_bursts": segs,
            "dram_read_bytes": seg_bytes.astype(np.int64) + moved(segs * ELEM_BYTES, line),
            "spad_writes": prod,                           # DMA lands B elements in the SPAD
            "mul": prod, "add": prod, "probes": prb, "partial_products": 0 * prod}
    if version == 1:
        cols["atomics"], cols["spad_reads"] = prb + prod, 2 * prod
    else:
        cols["atomics"], cols["spad_reads"] = prod, 2 * prod + prb
    if version == 3 and cores > 1:
        remote = prod * (cores - 1) // cores
        cols["atomics"], cols["remote_atomics"] = cols["atomics"] - remote, remote
    cols.update(_ptr_loads(segs, ptr_in_cache))
    return cols


def _writeback(group, c, n_threads, line):
    lo, hi, _, _, _, size, inserts = group
    share = np.full(n_threads, size // n_threads) + (np.arange(n_threads) < size % n_threads)
    out = np.full(n_threads, inserts // n_threads) + (np.arange(n_threads) < inserts % n_threads)
    rows = c[lo:hi]
    depth = int(_log2(rows[rows > 0].mean() if (rows > 0).any() else 1))
    return {"instrs": share * C["scan_slot"] + out * (C["out_entry"] + C["sort_step"] * depth),
            "spad_reads": share, "spad_writes": share, "dma_bursts": np.ones(n_threads, np.int64),
            "dram_write_bytes": moved(out * ELEM_BYTES, line)}
