"""Cost of the e2gc study: wall and CPU seconds of `archsim sweep e2gc` (docs/e2gc.md, target < 60 s
wall on 2 cores).

Run: python bench/bench_e2gc.py [--jobs 2] [--spec e2gc]
Runs the sweep into a fresh temporary directory and prints its point count, wall seconds, CPU
seconds (user + sys of the sweep and its workers) and the load average before and after (the
machine's other work inflates wall time).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--spec", default="e2gc")
    args = ap.parse_args()
    archsim = Path(sys.executable).with_name("archsim")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        done = subprocess.run([str(archsim), "sweep", args.spec, "--out", tmp, "--jobs", str(args.jobs),
                               "--no-progress"], capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"error: archsim sweep {args.spec} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = done.stdout.strip().splitlines()[-1].split(";")[0]
    print(f"{args.spec} --jobs {args.jobs}: {summary}; wall {wall:.1f} s, CPU {cpu:.1f} s; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
