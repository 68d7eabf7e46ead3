"""Every path from input to work has a cap checked before the work starts: each oversized input is
one `error:` line naming the field and the limit, and the process stays under 500 MB.

Each case runs the CLI in its own process, watched: it is killed past 500 MB resident (a failure)
or past a generous hang guard. Seconds per case are printed by bench/bench_malformed.py."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import workloads
from archsim.limits import MAX_EXPR_INT_BITS, MAX_PROGRAM_OPS, MAX_SWEEP_POINTS, MAX_UNIT_COUNT
from workloads.matrices import MAX_MATRIX_NNZ

MAX_RSS_BYTES = 500 * 2**20
HANG_GUARD_S = 120
RUN = ["run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused"]
SPEC = "name: big\nfixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16, M0: 16}\n"
HUGE_MTX = "%%MatrixMarket matrix coordinate real general\n1000000000000 1000000000000 1\n1 1 1.0\n"


def rss_bytes(pid: int) -> int:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_watched(argv, cwd) -> tuple[int, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "sweeps.cli", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak, start = 0, time.monotonic()
    while proc.poll() is None:
        peak = max(peak, rss_bytes(proc.pid))
        if peak > MAX_RSS_BYTES or time.monotonic() - start > HANG_GUARD_S:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"{argv}: runaway ({peak / 2**20:.0f} MB after {time.monotonic() - start:.0f} s)")
        time.sleep(0.02)
    return proc.returncode, proc.stderr.read(), peak


CASES = [
    ("lowering op count", RUN + ["--set", "M=65536", "--set", "P=65536"], {}, ["map.tiles", f"{MAX_PROGRAM_OPS:,}"]),
    ("lowering at 10^6", RUN + ["--set", "M=1000000", "--set", "P=1000000"], {}, ["map.tiles", f"{MAX_PROGRAM_OPS:,}"]),
    ("shape 10^12", RUN + ["--set", "M=1000000000000"], {}, ["map.tiles", f"{MAX_PROGRAM_OPS:,}"]),
    ("unit count", RUN + ["--set", "arch.units.pe2d.count=1000000000"], {}, ["units.pe2d.count", str(MAX_UNIT_COUNT)]),
    ("level channels", RUN + ["--set", "arch.levels.glb.channels=1000000000"], {}, ["levels.glb.channels", "65536"]),
    ("matrix market size line", ["run", "spgemm", "--matrix", "a.mtx", "--arch", "piuma", "--mapping", "smash_v1"],
     {"a.mtx": HUGE_MTX}, ["a.mtx: size line", f"{MAX_MATRIX_NNZ:,}"]),
    ("grid of 10^8 points", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "axes: {" + ", ".join(f"map.tiles.{r}: [{', '.join(str(i + 1) for i in range(100))}]"
                                            for r in "pmef") + "}\nderived: {M: 64, P: 64}\n"},
     ["axes:", "100,000,000 points", f"{MAX_SWEEP_POINTS:,}"]),
    ("sample.count 10^9", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "derived: {M: 64, P: 64}\nsample: {count: 1000000000, params: {map.tiles.p: {pow2: [1, 64]}}}\n"},
     ["sample.count", "1000000"]),
    ("sample.count x grid", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "axes: {M: [" + ", ".join(str(32 * (i + 1)) for i in range(1000)) + "]}\nderived: {P: M}\n"
      "sample: {count: 1000000, params: {map.tiles.p: {pow2: [1, 64]}}}\n"},
     ["axes:", "1000 M x 1000000 sample.count", f"{MAX_SWEEP_POINTS:,}"]),
    ("derived power", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "axes: {M: [32]}\nderived: {P: 'M ** 10 ** 9'}\n"}, ["derived.P", f"{MAX_EXPR_INT_BITS:,}"]),
    ("derived repetition", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "axes: {M: [32]}\nderived: {P: \"'a' * 10000000000\"}\n"}, ["derived.P", "10,000"]),
    ("constraint power", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "axes: {M: [32]}\nderived: {P: M}\nconstraints: ['9 ** 9 ** 9 > M']\n"},
     ["constraints[0]", f"{MAX_EXPR_INT_BITS:,}"]),
    ("search budget", ["sweep", "s.yaml", "--dry-run"],
     {"s.yaml": SPEC + "derived: {M: 64, P: 64}\nsample: {count: 0, params: {map.tiles.p: {pow2: [1, 64]}}}\n"
      "search: {budget: 1000000000000}\n"}, ["search.budget", "1000000"]),
]


@pytest.mark.parametrize("name, argv, files, fragments", CASES, ids=[c[0] for c in CASES])
def test_an_oversized_input_is_one_error_line_naming_field_and_limit(tmp_path, name, argv, files, fragments):
    for file, text in files.items():
        (tmp_path / file).write_text(text)
    code, err, peak = run_watched(argv, tmp_path)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err
    assert peak < MAX_RSS_BYTES


@pytest.mark.parametrize("call, fragment", [
    (lambda: workloads.rmat(10, 10**9), "edge_factor"),
    (lambda: workloads.uniform(2**26, 2**20), "edge_factor"),
    (lambda: workloads.powerlaw_graph(2**26, 2**20), "edge_factor"),
])
def test_generated_matrices_are_capped_before_allocating(call, fragment):
    with pytest.raises(ValueError, match=f"{fragment}.*more than the limit of {MAX_MATRIX_NNZ:,}"):
        call()
