"""Benchmark: SpGEMM kernels on piuma8 for R-MAT (edge factor 8); prints wall time and events.

Events are batched: one simpy timeout per *slice* of a work quantum (a row, a chunk of at most
item_flops partial products of one row, or a table slice in write-back; at most 8 slices per
quantum), plus one process per busy thread per batch (window); never one per multiply.
Usage: python bench/bench_smash.py [scale ...]   (default 14)
"""
import sys
import time

import archsim
import workloads
from archsim.piuma import simulate_piuma
from mappings import get_mapper

KERNELS = ("inner", "outer", "rowwise_dense", "smash_v1", "smash_v2", "smash_v3")


def main(scales):
    arch = archsim.load_arch("piuma8")
    for scale in scales:
        A = workloads.rmat(scale, 8, seed=0)
        print(f"R-MAT scale {scale}, edge factor 8: nnz {A.nnz}")
        cycles = {}
        for k in KERNELS:
            t0 = time.perf_counter()
            m = get_mapper(k).map(workloads.build("spgemm"), arch, matrix=A)
            t1 = time.perf_counter()
            r = simulate_piuma(m.program, arch)
            t2 = time.perf_counter()
            cycles[k] = r.cycles
            print(f"  {k:14} cycles {r.cycles:>11}  multiplies {r.counters['mul']:>9}  events "
                  f"{r.events:>7}  map {t1 - t0:5.2f} s  simulate {t2 - t1:5.2f} s  "
                  f"total {t2 - t0:5.2f} s  ({r.events / max(t2 - t1, 1e-9):,.0f} events/s)")
        for base in ("inner", "outer", "rowwise_dense"):
            print(f"  speedup over {base:13}: " + "  ".join(
                f"{k} {cycles[base] / cycles[k]:.2f}x" for k in KERNELS if k != base))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [14])
