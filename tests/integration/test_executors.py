"""Same spec and seed: byte-identical records whatever the executor (inline, process pool, a real
Dask LocalCluster on loopback), for a grid sweep with a failing point and for an NSGA-II search."""
import distributed  # a hard dependency: a broken install must fail here, not skip
import pytest

from sweeps.cli import main

GRID = """
name: ex
seed: 5
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 32, fidelity: bound}
axes: {mapping: [unfused, fused]}
zip: [{M: [64, 96, 128, 256], arch.levels.glb.capacity_bytes: [262144, 16, 262144, 262144]}]
derived: {P: M}
"""

SEARCH = """
name: se
seed: 5
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, fidelity: bound}
axes: {mapping: [unfused, fused]}
sample:
  seed: 2
  params:
    M: {pow2: [64, 256]}
    arch.levels.dram.bandwidth_bytes_per_cycle: {log_uniform: [8, 64]}
derived: {P: M, M0: 16}
search: {budget: 16, population: 6, seed: 9, objectives: [latency_s, energy_pj, area_mm2]}
"""


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.mark.parametrize("text, code", [(GRID, 1), (SEARCH, 0)], ids=["grid", "search"])
def test_records_identical_across_executors(tmp_path, cluster, capsys, text, code):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    runs = {
        "inline": ["--jobs", "1"],
        "process": ["--jobs", "2"],
        "dask": ["--executor", "dask", "--scheduler", cluster.scheduler_address],
    }
    outputs = {}
    for name, argv in runs.items():
        out = tmp_path / name
        assert main(["sweep", str(spec), "--out", str(out), *argv]) == code
        outputs[name] = (out / "results.csv").read_bytes()
    capsys.readouterr()
    assert outputs["inline"] == outputs["process"] == outputs["dask"]
    assert outputs["inline"].count(b"\n") > 8


def test_dask_without_scheduler_starts_a_local_cluster(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(GRID.replace("[262144, 16,", "[262144, 262144,"))       # every point fits
    assert main(["sweep", str(spec), "--out", str(tmp_path / "d"), "--executor", "dask", "--jobs", "2"]) == 0
    assert "8 points, 0 failed" in capsys.readouterr().out


def test_scheduler_needs_the_dask_executor(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(GRID)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler" in capsys.readouterr().err
