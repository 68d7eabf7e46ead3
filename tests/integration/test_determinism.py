"""Same spec and seed give identical records, whatever the job count."""
from pathlib import Path

from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

SPEC = """
name: det
seed: 7
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 32}
axes: {mapping: [unfused, fused], M: [64, 128]}
derived: {P: M}
"""


def test_identical_records_on_rerun_and_across_job_counts(tmp_path: Path):
    path = tmp_path / "det.yaml"
    path.write_text(SPEC)
    points = expand(load_spec(path))
    first = run_sweep(points, tmp_path / "a", seed=7, jobs=1)
    second = run_sweep(points, tmp_path / "b", seed=7, jobs=1)
    pooled = run_sweep(points, tmp_path / "c", seed=7, jobs=2)
    assert (first["status"] == "ok").all()
    a = (tmp_path / "a" / "results.csv").read_bytes()
    assert a == (tmp_path / "b" / "results.csv").read_bytes()
    assert a == (tmp_path / "c" / "results.csv").read_bytes()
    assert first.equals(second) and first.equals(pooled)
