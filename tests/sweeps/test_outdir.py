"""A sweep's output directory: one writer, one sweep's files, resume only of the same spec."""
import json
import sqlite3
import subprocess
import sys
import time

import pytest

from sweeps import outdir
from sweeps.cli import main

SPEC = """
name: {name}
seed: {seed}
description: {name} sweep
fixed: {{workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16, M0: 16, fidelity: bound}}
axes: {{M: {ms}}}
derived: {{P: M}}
"""


def spec(tmp_path, name="a", seed=0, ms="[32, 64]"):
    path = tmp_path / f"{name}{seed}{len(ms)}.yaml"
    path.write_text(SPEC.format(name=name, seed=seed, ms=ms))
    return path


def sweep(capsys, path, out, *flags):
    code = main(["sweep", str(path), "--out", str(out), "--no-progress", *flags])
    return code, capsys.readouterr().err


def stored_ids(out):
    db = sqlite3.connect(out / "results.db")
    try:
        return {row[0] for row in db.execute("SELECT point_id FROM points")}
    finally:
        db.close()


def test_a_second_writer_is_refused_while_the_first_holds_the_directory(tmp_path, capsys):
    out = tmp_path / "out"
    held = outdir.lock(out)
    try:
        code, err = sweep(capsys, spec(tmp_path), out)
    finally:
        held.release()
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {out}: another sweep (pid ") and "is writing to this directory" in err
    assert sorted(p.name for p in out.iterdir()) == [outdir.LOCK_NAME]      # nothing written
    assert sweep(capsys, spec(tmp_path), out)[0] == 0                        # free again after release


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from sweeps import outdir; "
                               f"outdir.lock({str(out)!r}); print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(outdir.OutDirError, match="another sweep"):
        outdir.lock(out)
    holder.kill()
    holder.wait()
    outdir.lock(out).release()


def test_a_different_sweep_is_refused_without_force_and_nothing_changes(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(capsys, spec(tmp_path, "a"), out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    code, err = sweep(capsys, spec(tmp_path, "b", ms="[128]"), out)
    assert code == 2 and "holds the results of another sweep" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_force_replaces_every_file_of_the_earlier_sweep(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(capsys, spec(tmp_path, "a", ms="[32, 64, 128]"), out)[0] == 0
    (out / "plots" / "stale_extra.png").write_bytes(b"old")
    assert sweep(capsys, spec(tmp_path, "b", ms="[256]"), out, "--force")[0] == 0
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["name"] == "b" and len(stored_ids(out)) == 1
    assert not (out / "plots" / "stale_extra.png").exists()
    assert "# b" in (out / "report.md").read_text() and "M=32" not in (out / "report.md").read_text()


def test_the_same_sweep_again_starts_afresh(tmp_path, capsys):
    out = tmp_path / "out"
    path = spec(tmp_path)
    assert sweep(capsys, path, out)[0] == 0
    (out / "results.csv").write_text("stale")
    assert sweep(capsys, path, out)[0] == 0
    assert (out / "results.csv").read_text().startswith("schema_version,point_id")


def test_a_new_sweep_removes_the_old_results_before_running(tmp_path, capsys):
    """A new sweep killed early must not leave the previous sweep's results.csv and reports behind."""
    out = tmp_path / "out"
    path = spec(tmp_path)
    assert sweep(capsys, path, out)[0] == 0
    lock = outdir.lock(out)
    try:
        outdir.prepare(out, json.loads((out / "sweep.json").read_text())["spec_sha256"], resume=False, force=False)
    finally:
        lock.release()
    assert sorted(p.name for p in out.iterdir()) == [outdir.LOCK_NAME]


def test_resume_of_another_spec_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(capsys, spec(tmp_path, "a", seed=1), out)[0] == 0
    meta = (out / "sweep.json").read_bytes()
    ids = stored_ids(out)
    code, err = sweep(capsys, spec(tmp_path, "a", seed=1, ms="[32, 64, 128]"), out, "--resume")
    assert code == 2 and "--resume: the directory holds another sweep" in err
    assert (out / "sweep.json").read_bytes() == meta and stored_ids(out) == ids


def test_resume_of_the_same_spec_runs_only_the_rest(tmp_path, capsys):
    out = tmp_path / "out"
    path = spec(tmp_path, ms="[32, 64, 128]")
    assert sweep(capsys, path, out)[0] == 0
    db = sqlite3.connect(out / "results.db")
    with db:
        db.execute("DELETE FROM points WHERE idx = 2")
    db.close()
    code = main(["sweep", str(path), "--out", str(out), "--no-progress", "--resume"])
    assert code == 0 and "(1 run, 2 already stored)" in capsys.readouterr().out


def test_resume_and_force_together_are_refused(tmp_path, capsys):
    code, err = sweep(capsys, spec(tmp_path), tmp_path / "out", "--resume", "--force")
    assert code == 2 and "--force" in err and not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_fails_fast_before_out_is_touched(tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    start = time.monotonic()
    code, err = sweep(capsys, spec(tmp_path), out, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and err.startswith("error: --scheduler: cannot connect to tcp://127.0.0.1:1")
    assert err.count("\n") == 1 and not out.exists()
    assert time.monotonic() - start < 60      # a hang guard, not a speed target: the timeout is 10 s
