"""Wall time of `archsim --help` and `archsim list` in a fresh interpreter (the CLI imports its heavy
libraries lazily; the target for --help is well under 0.5 s). Prints the median of 5 runs.

    python bench/bench_cli.py
"""
import statistics
import subprocess
import sys
import time


def median_seconds(argv: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sweeps.cli", *argv], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    for argv in (["--help"], ["run", "--help"], ["list"]):
        print(f"archsim {' '.join(argv):12} {median_seconds(argv):.3f} s (median of 5)")
