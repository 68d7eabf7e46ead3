"""FuseMax sweep benchmark: wall time of the whole study and simulated events per point.

Run: python bench/bench_fusemax.py [--jobs 2] [--spec fusemax]
Prints the sweep's wall time, points per second, and per config/scope the mean simulated events,
simulated ops and represented ops per point (the steady-state extrapolation's saving).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--spec", default="fusemax")
    args = ap.parse_args()
    spec = load_spec(ROOT / "sweeps" / f"{args.spec}.yaml")
    points = expand(spec)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        frame = run_sweep(points, Path(tmp), seed=spec.seed, jobs=args.jobs, evaluator=spec.evaluator)
        wall = time.perf_counter() - start
    ok = frame[frame["status"] == "ok"]
    print(f"{args.spec}: {len(frame)} points ({len(ok)} ok) in {wall:.1f} s wall on {args.jobs} jobs "
          f"({len(frame) / wall:.1f} points/s)")
    print(f"events per point: mean {ok['events'].mean():.0f}, max {ok['events'].max():.0f}")
    table = ok.groupby(["scope", "config"])[["events", "ops", "ops_represented"]].mean()
    print(table.to_string(float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
