"""Sweep benchmarks (print figures; not tests).

1. A 10,000-point closed-form sweep (``fidelity: bound``) on the local process pool: points/s for the
   sweep itself (evaluate + commit each record to SQLite + results.csv), and the report after it.
   Target: under 60 s on 2 cores.
2. Dask speedup on a CPU-bound sweep (event simulation): the same points on a LocalCluster of 1 and
   of 2 single-threaded worker processes on loopback, cluster start-up excluded. Target: >= 1.6x.

    python bench/bench_sweeps.py [--jobs 2] [--skip-dask] [--skip-10k]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sweeps.executors import local_cluster
from sweeps.report import build_report
from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

TEN_K = """
name: bench10k
description: 10,000 closed-form points of 1-pass attention on generic_array
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, fidelity: bound}
axes:
  arch.levels.dram.bandwidth_bytes_per_cycle: [%s]
  arch.levels.dram.latency_cycles: [%s]
  mapping: [unfused, fused]
  M: [64, 128]
  M0: [16, 32]
derived: {P: M}
""" % (", ".join(str(4 + 2 * i) for i in range(25)), ", ".join(str(20 + 4 * i) for i in range(50)))

CPU_BOUND = """
name: benchdask
fixed: {workload: attention_1pass, arch: generic_array, E: 64, F: 64, M0: 64, fidelity: event}
axes: {M: [%s], mapping: [unfused, fused]}
derived: {P: M}
""" % ", ".join(str(768 + 64 * i) for i in range(12))   # every point a distinct program: no cache hits


def load(text: str, tmp: Path, name: str):
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return load_spec(path)


def bench_10k(tmp: Path, jobs: int) -> None:
    spec = load(TEN_K, tmp, "bench10k")
    points = expand(spec)
    start = time.perf_counter()
    frame = run_sweep(points, tmp / "10k", seed=spec.seed, jobs=jobs)
    seconds = time.perf_counter() - start
    ok = int((frame["status"] == "ok").sum())
    print(f"10k closed-form sweep: {len(points)} points ({ok} ok) in {seconds:.1f} s with {jobs} jobs "
          f"= {len(points) / seconds:.0f} points/s (target: < 60 s)")
    start = time.perf_counter()
    build_report(tmp / "10k")
    print(f"  report (markdown + HTML) of {len(points)} points: {time.perf_counter() - start:.1f} s")


def bench_dask(tmp: Path) -> None:
    spec = load(CPU_BOUND, tmp, "benchdask")
    points = expand(spec)
    times = {}
    for workers in (1, 2):
        with local_cluster(workers) as cluster:
            run_sweep(points[:2], tmp / f"warm{workers}", seed=0, executor="dask",
                      scheduler=cluster.scheduler_address)   # workers import archsim once
            start = time.perf_counter()
            frame = run_sweep(points, tmp / f"dask{workers}", seed=0, executor="dask",
                              scheduler=cluster.scheduler_address)
            times[workers] = time.perf_counter() - start
        print(f"dask, {workers} worker(s): {len(points)} event-simulated points in {times[workers]:.1f} s "
              f"({int((frame['status'] == 'ok').sum())} ok)")
    same = (tmp / "dask1" / "results.csv").read_bytes() == (tmp / "dask2" / "results.csv").read_bytes()
    print(f"dask speedup 2 vs 1 workers: {times[1] / times[2]:.2f}x (target: >= 1.6x); "
          f"identical results.csv: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-10k", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_10k:
            bench_10k(Path(tmp), args.jobs)
        if not args.skip_dask:
            bench_dask(Path(tmp))


if __name__ == "__main__":
    main()
