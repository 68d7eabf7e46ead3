"""Row-wise hash SpGEMM on GPUs (``gpu_spgemm``): C = A B in the style of nsparse / cuSPARSE.

Rows are binned by their partial-product count f_i = sum over k in A's row i of nnz(B row k)
(powers of two from ``MIN_BIN`` up; nsparse's binning), and each bin runs as its own pair of
kernels, symbolic (count C's row lengths in a shared-memory hash table) then numeric (accumulate
values in a table of the bin's size), with ``ROWS_PER_CTA`` rows per CTA for small bins and one
row per CTA for large ones. Per CTA step: A's entries of its rows (8 B each: fp32 value and int32
column), B's rows they select (8 B per partial product, gathered in 32 B sectors: assumption,
one extra sector per B row for misalignment), one hash insertion per partial product (an FP32 FMA
for the numeric phase and ``PROBES_PER_INSERT`` shared-memory probes of 8 B), and C's row stored
(8 B per nonzero, numeric phase; 4 B row length, symbolic). Rows whose table would exceed
shared memory are counted in the top bin (the model does not fall back to global-memory tables;
stated, not modelled). Every CTA of a bin is charged the bin's mean work (``Kernel`` grids are
uniform), so imbalance inside a bin is not modelled; imbalance across bins is.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np

from archsim.gpu import GpuProgram, Kernel

from ..registry import register
from ..spec import MappingError
from ..spgemm.common import check_inputs
from .mappers import GpuMapping

__all__ = ["SpgemmBins", "bin_rows", "spgemm_kernels"]

MIN_BIN = 32
ROWS_PER_CTA = 8          # small bins: rows per CTA (a warp group each; assumption)
PROBES_PER_INSERT = 1.5   # assumption: linear probing at load factor <= 0.5 (Knuth: ~1.5)
ENTRY, SECTOR = 8, 32


@dataclass(frozen=True)
class SpgemmBins:
    """Per bin (table size in entries): rows, A entries, partial products, C nonzeros, B rows read."""

    table: tuple[int, ...]
    rows: tuple[int, ...]
    a_nnz: tuple[int, ...]
    products: tuple[int, ...]
    c_nnz: tuple[int, ...]


def bin_rows(A, B, max_table: int) -> SpgemmBins:
    """Bin the rows of C = A B by partial products (see the module docstring)."""
    b_len = np.diff(B.indptr)
    f = np.add.reduceat(np.concatenate([b_len[A.indices], [0]]), A.indptr[:-1]) * (np.diff(A.indptr) > 0)
    c = np.diff((A @ B).tocsr().indptr)
    table = np.maximum(MIN_BIN, 2 ** np.ceil(np.log2(np.maximum(2 * c, 1))).astype(np.int64))
    table = np.minimum(table, max_table)
    a_len = np.diff(A.indptr)
    out = {k: [] for k in ("table", "rows", "a_nnz", "products", "c_nnz")}
    for t in np.unique(table[f > 0]):
        sel = (table == t) & (f > 0)
        for key, value in (("table", int(t)), ("rows", int(sel.sum())), ("a_nnz", int(a_len[sel].sum())),
                           ("products", int(f[sel].sum())), ("c_nnz", int(c[sel].sum()))):
            out[key].append(value)
    return SpgemmBins(**{k: tuple(v) for k, v in out.items()})


def spgemm_kernels(bins: SpgemmBins, value_bytes: int = 4) -> list[Kernel]:
    kernels = []
    for t, rows, a_nnz, products, c_nnz in zip(bins.table, bins.rows, bins.a_nnz, bins.products,
                                              bins.c_nnz):
        per_cta = ROWS_PER_CTA if t <= 256 else 1
        ctas = ceil(rows / per_cta)
        gather = (products * ENTRY + a_nnz * SECTOR) / ctas        # B rows in 32 B sectors
        load = a_nnz * ENTRY / ctas + gather
        smem = per_cta * t * ENTRY
        threads = 256 if t > 256 else 32 * per_cta
        for phase, store, work in (("symbolic", rows * 4 / ctas, {}),
                                   ("numeric", c_nnz * ENTRY / ctas, {"fp32.mac": products / ctas})):
            kernels.append(Kernel(
                f"spgemm_{phase}[{t}]", ctas=ctas, threads=min(threads, 1024), registers_per_thread=32,
                smem_bytes=smem, steps=1, load_bytes_per_step=load,
                smem_bytes_per_step=products / ctas * PROBES_PER_INSERT * ENTRY,
                work_per_step=work, store_bytes=store, stages=1,
                reads={"A": 0, "B": 0}, writes={f"C.{phase}[{t}]": int(store * ctas)}))
    return kernels


class GpuSpgemmMapper:
    name = "gpu_spgemm"
    description = "GPU row-wise hash SpGEMM, rows binned by work (nsparse-style), symbolic + numeric"
    families = ("gpu",)

    def map(self, cascade, arch, **options) -> GpuMapping:
        options = dict(options)
        A, B = check_inputs(cascade, options.pop("matrix", None), options.pop("B", None))
        if options:
            raise MappingError(f"{sorted(options)[0]}: unknown option of mapper {self.name}")
        bins = bin_rows(A, B, arch.gpu.smem_per_cta_bytes // ENTRY // 2)
        a_bytes, b_bytes = A.nnz * ENTRY, B.nnz * ENTRY
        kernels = []
        for k in spgemm_kernels(bins):
            kernels.append(Kernel(**{**k.__dict__, "reads": {"A": a_bytes, "B": b_bytes}}))
        program = GpuProgram("spgemm", tuple(kernels), {"A": a_bytes, "B": b_bytes})
        choices = {"kernels": f"{len(bins.table)} bins x (symbolic, numeric)",
                   "tiles": ";".join(f"{t}:{r}" for t, r in zip(bins.table, bins.rows))}
        return GpuMapping(self.name, program, choices, {"bins": bins})

    def lower(self, cascade, mapping, arch) -> GpuProgram:
        return mapping.program


MAPPER = register(GpuSpgemmMapper())
