"""Processes: pool workers die with their sweep, SIGTERM and Ctrl-C stop cleanly and resumably, and
a worker that dies costs only its own point."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweeps.evaluators import Evaluator, register
from sweeps.executors import WORKER_DIED
from sweeps.params import point_id
from sweeps.runner import run_sweep

SLOW_SPEC = """
name: slow
fixed: {workload: attention_1pass, arch: generic_array, E: 32, F: 32, M0: 32}
axes: {M: [256, 384, 512, 640, 768, 896], mapping: [unfused, fused], arch.levels.dram.latency_cycles: [10, 20]}
derived: {P: M}
"""


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stored(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def _as_in_a_terminal() -> None:
    """A foreground command's Ctrl-C handling, whatever earlier tests (a Dask cluster) did to this
    process's SIGINT disposition (an ignored SIGINT is inherited and kept by Python)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(tmp_path):
    spec = tmp_path / "slow.yaml"
    spec.write_text(SLOW_SPEC)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sweeps.cli", "sweep", str(spec), "--out", str(out),
                             "--jobs", "2", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while (len(children(proc.pid)) < 2 or stored(out / "results.db") < 1) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    workers = children(proc.pid)
    assert len(workers) >= 2, "the pool must be running"
    return proc, workers, out, spec


def wait_gone(pids: set[int], seconds: float = 10) -> set[int]:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


def test_sigkill_of_the_sweep_leaves_no_worker_behind(tmp_path):
    proc, workers, _, _ = start_sweep(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)          # the driver only, not its process group
    proc.wait()
    survivors = wait_gone(workers)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_cleanly_and_can_be_resumed(tmp_path, sig, code):
    proc, workers, out, spec = start_sweep(tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert "Traceback" not in err
    line = [l for l in err.splitlines() if l.startswith("archsim: interrupted")]
    assert len(line) == 1 and f"--out {out} --resume" in line[0]
    assert not wait_gone(workers)
    kept = stored(out / "results.db")
    assert kept >= 1
    resumed = subprocess.run([sys.executable, "-m", "sweeps.cli", "sweep", str(spec), "--out", str(out),
                              "--jobs", "2", "--no-progress", "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} already stored" in resumed.stdout


def _crash_or_square(params: dict, seed: int = 0) -> dict:
    if params["x"] in (3, 7):
        os._exit(9)                            # what the OOM killer or `kill -9` does to a worker
    return {"y": params["x"] ** 2}


register(Evaluator("test_crash", "a point that kills its worker for x in (3, 7)", ("x",), lambda key: "name",
                   _crash_or_square))


def test_a_dead_worker_costs_only_its_own_point(tmp_path):
    points = [{"x": x} for x in range(12)]
    frame = run_sweep(points, tmp_path / "out", jobs=2, evaluator="test_crash")
    assert list(frame["point_id"]) == [point_id(p) for p in points]
    failed = frame[frame["status"] != "ok"]
    assert list(failed["x"]) == [3, 7] and set(failed["error"]) == {WORKER_DIED}
    ok = frame[frame["status"] == "ok"]
    assert list(ok["y"]) == [x * x for x in range(12) if x not in (3, 7)]
