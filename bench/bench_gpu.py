"""GPU simulator throughput: simulated CTAs per second on a GEMM and a streaming copy.

Run: python bench/bench_gpu.py [--arch h100_sxm5]
Prints, per kernel, the CTAs simulated, events, wall seconds and CTAs/s, with the CTAs the
kernel represents (wave extrapolation) and the simulated time.
"""
from __future__ import annotations

import argparse
import time

import archsim
from archsim.gpu import kernel_cycles
from mappings.gpu import elementwise, gemm, GEMM_TILES
from mappings.gpu.kernels import wave_ctas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="h100_sxm5")
    args = ap.parse_args()
    arch = archsim.load_arch(args.arch)
    kernels = [gemm("gemm8192", 8192, 8192, 8192, GEMM_TILES[2], 2, arch.gpu.sms * 2, "A", "B", "C"),
               elementwise("copy1GiB", {"X": 1 << 30}, {"Y": 1 << 30}, wave_ctas(arch))]
    for k in kernels:
        for full in (False, True):
            t = time.perf_counter()
            cycles, _, events, simulated, extrapolated = kernel_cycles(k, arch, 1.0, 1.0, full=full)
            wall = time.perf_counter() - t
            print(f"{k.name:10s} {'full' if full else 'waves':5s} ctas {k.ctas:6d} simulated {simulated:6d} "
                  f"events {events:7d} wall {wall:6.2f} s  {simulated / wall:9,.0f} CTAs/s  "
                  f"time {cycles / arch.clock_hz * 1e3:8.3f} ms")


if __name__ == "__main__":
    main()
