"""Runtime of the streamlined study (target: under 60 s on 2 cores).

Runs ``archsim sweep streamlined`` in-process (one job unless ``--jobs``) and prints its exit
status, wall and CPU seconds (this process and its workers) and the machine's load average:
    .venv/bin/python bench/bench_streamlined.py [--out DIR] [--jobs N]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from sweeps.cli import main as sweep_main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="report directory (default: a temporary one)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="streamlined_")
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    code = sweep_main(["sweep", "streamlined", "--out", out, "--jobs", str(args.jobs), "--no-progress"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = os.times()
    cpu_children = children.children_user + children.children_system
    print(f"streamlined study: exit {code}, wall {wall:.1f} s, CPU {cpu + cpu_children:.1f} s "
          f"(this process {cpu:.1f} s, workers {cpu_children:.1f} s), jobs {args.jobs}, "
          f"load average before {load[0]:.2f}, report {out}")


if __name__ == "__main__":
    main()
