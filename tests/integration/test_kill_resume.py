"""SIGKILL a sweep mid-run, then --resume: no finished point is lost, none runs twice, and the
results equal those of an uninterrupted run byte for byte."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

SPEC = """
name: kill
seed: 1
fixed: {workload: attention_1pass, arch: generic_array, E: 32, F: 32}
axes: {M: [256, 384, 512, 640, 768, 1024], mapping: [unfused, fused], M0: [32, 64]}
derived: {P: M}
"""


def stored(db_path) -> dict:
    if not db_path.exists():
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return {pid: (run, attempts) for pid, run, attempts in
                db.execute("SELECT point_id, run, attempts FROM points")}
    except sqlite3.OperationalError:   # tables not created yet
        return {}
    finally:
        db.close()


def test_sigkill_then_resume_loses_nothing_and_repeats_nothing(tmp_path):
    spec_path = tmp_path / "kill.yaml"
    spec_path.write_text(SPEC)
    points = expand(load_spec(spec_path))
    out = tmp_path / "out"
    db_path = out / "results.db"
    cli = [sys.executable, "-m", "sweeps.cli", "sweep", str(spec_path), "--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(cli, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(stored(db_path)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)      # the sweep's own process group: driver and pool workers
    proc.wait()
    before = stored(db_path)
    assert 4 <= len(before) < len(points), "the kill must land mid-sweep"
    assert not (out / "results.csv").exists()

    resumed = subprocess.run(cli + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(points) - len(before)} run, {len(before)} already stored)" in resumed.stdout
    after = stored(db_path)
    assert len(after) == len(points)                                   # zero lost
    assert all(attempts == 1 for _, attempts in after.values())        # zero run twice
    assert all(after[pid][0] == before[pid][0] for pid in before)      # finished rows untouched

    reference = run_sweep(points, tmp_path / "ref", seed=1, jobs=2)
    assert (reference["status"] == "ok").all()
    assert (out / "results.csv").read_bytes() == (tmp_path / "ref" / "results.csv").read_bytes()
