"""Engine throughput benchmark: a seeded 20,000-op layered DAG over 3 units and 2 levels.

Run: python bench/bench_engine.py [--ops N] [--width W] [--repeat R]
Prints simpy events processed, wall seconds, events/s and ops/s of archsim.simulate (best of R),
and the closed-form bound next to the simulated cycles.
"""

from __future__ import annotations

import argparse
import random
import time

import archsim
from archsim import Op, Program


def bench_arch() -> archsim.Arch:
    """generic_array plus a third unit (a scalar core) so the program spreads over 3 units."""
    base = archsim.load_arch("generic_array")
    data = base.model_dump()
    data["units"]["scalar"] = {"kind": "scalar", "rows": 1, "cols": 1,
                               "cycles_per_op": {"add": 1, "max": 1}}
    data["name"] = "generic_array+scalar"
    return archsim.Arch.model_validate(data)


def layered_program(n_ops: int, width: int, seed: int = 0) -> Program:
    rng = random.Random(seed)
    units = ("pe2d", "pe1d", "scalar")
    ops: list[Op] = []
    prev: list[int] = []
    while len(ops) < n_ops:
        layer = []
        for _ in range(min(width, n_ops - len(ops))):
            unit = rng.choice(units)
            deps = tuple(sorted(rng.sample(prev, k=min(len(prev), rng.randint(1, 3))))) if prev else ()
            tile = rng.choice((256, 512, 1024, 2048))
            reads = {"glb": tile // 2}
            if rng.random() < 0.05:
                reads["dram"] = tile
            ops.append(Op(
                name=f"op{len(ops)}", unit=unit, compute_cycles=rng.randint(4, 64),
                work={"add": tile // 2}, reads=reads, writes={"glb": tile // 8},
                alloc={"glb": tile}, free={"glb": tile}, deps=deps))
            layer.append(len(ops) - 1)
        prev = layer
    return Program(f"layered-{n_ops}x{width}-seed{seed}", tuple(ops))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=20_000)
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    arch = bench_arch()
    t0 = time.perf_counter()
    program = layered_program(args.ops, args.width)
    t_build = time.perf_counter() - t0
    best = float("inf")
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = archsim.simulate(program, arch)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    b = archsim.bound(program, arch)
    t_bound = time.perf_counter() - t0
    print(f"program        {program.name}: {len(program.ops)} ops (built in {t_build:.3f} s)")
    print(f"events         {result.events}")
    print(f"wall seconds   {best:.3f} (best of {args.repeat}, incl. checks and planning)")
    print(f"events/s       {result.events / best:,.0f}")
    print(f"ops/s          {len(program.ops) / best:,.0f}")
    print(f"sim cycles     {result.cycles}")
    print(f"bound cycles   {b.cycles} (critical path {b.critical_path_cycles}, "
          f"bottleneck {b.bottleneck}; {t_bound:.3f} s)")
    print(f"sim / bound    {result.cycles / b.cycles:.3f}")
    print(f"busy cycles    {result.busy_cycles}")
    print(f"peak bytes     {result.peak_bytes}")


if __name__ == "__main__":
    main()
