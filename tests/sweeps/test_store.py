"""The result store: records committed per point, --resume, failures, exports, the DataFrame call."""
import sqlite3

import pandas as pd
import pytest

from sweeps import store
from sweeps.cli import main
from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

SPEC = """
name: st
seed: 3
fixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16, M0: 32, fidelity: bound}
axes: {arch.levels.dram.bandwidth_bytes_per_cycle: [16, 32]}
zip: [{M: [64, 96, 128, 256], arch.levels.glb.capacity_bytes: [262144, 16, 262144, 262144]}]
derived: {P: M}
"""


@pytest.fixture
def points(tmp_path):
    path = tmp_path / "st.yaml"
    path.write_text(SPEC)
    return path, expand(load_spec(path))


def test_resume_runs_only_the_missing_points_and_matches_a_fresh_run(tmp_path, points):
    _, pts = points
    fresh = run_sweep(pts, tmp_path / "fresh", seed=3)
    calls = []
    run_sweep(pts[:3], tmp_path / "r", seed=3)
    frame = run_sweep(pts, tmp_path / "r", seed=3, resume=True, progress=lambda *a: calls.append(a))
    assert len(calls) == len(pts) - 3
    assert (tmp_path / "r" / "results.csv").read_bytes() == (tmp_path / "fresh" / "results.csv").read_bytes()
    assert frame.equals(fresh)
    with store.ResultStore(tmp_path / "r" / store.DB_NAME) as db:
        rows = db.rows()
    assert sorted(rows["run"].value_counts().tolist()) == [3, len(pts) - 3]
    assert (rows["attempts"] == 1).all() and rows["point_id"].is_unique


def test_without_resume_the_store_starts_afresh(tmp_path, points):
    _, pts = points
    run_sweep(pts, tmp_path / "o", seed=3)
    calls = []
    run_sweep(pts, tmp_path / "o", seed=3, progress=lambda *a: calls.append(a))
    assert len(calls) == len(pts)


def test_resume_refuses_a_store_written_with_another_seed(tmp_path, points):
    _, pts = points
    run_sweep(pts[:2], tmp_path / "s", seed=3)
    with pytest.raises(store.StoreError, match="seed"):
        run_sweep(pts, tmp_path / "s", seed=4, resume=True)


def test_failures_are_stored_and_the_sweep_exits_1_with_a_summary(tmp_path, points, capsys):
    path, pts = points
    code = main(["sweep", str(path), "--out", str(tmp_path / "f"), "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{len(pts)} points, 2 failed" in out and "2 x CapacityError: tiles: group" in out
    frame = pd.read_csv(tmp_path / "f" / "results.csv")
    assert list(frame["status"]) == ["ok", "error", "ok", "ok"] * 2
    db = sqlite3.connect(tmp_path / "f" / store.DB_NAME)
    assert db.execute("SELECT count(*) FROM points WHERE status = 'error'").fetchone() == (2,)


def test_export_parquet_and_dataframe_call_agree_with_csv(tmp_path, points, capsys):
    path, _ = points
    out = tmp_path / "e"
    main(["sweep", str(path), "--out", str(out)])
    assert main(["export", str(out), "--format", "parquet"]) == 0
    csv = pd.read_csv(out / "results.csv")
    parquet = pd.read_parquet(out / "results.parquet")
    frame = store.results(out)
    assert list(parquet.columns) == list(csv.columns) == list(frame.columns)
    assert list(parquet["point_id"]) == list(csv["point_id"]) == list(frame["point_id"])
    pd.testing.assert_series_equal(parquet["energy_pj"], csv["energy_pj"])
    assert (frame["fidelity"][frame["status"] == "ok"] == "bound").all()


def test_bound_fidelity_agrees_with_the_event_simulation_on_energy(tmp_path):
    from sweeps.point import run_point

    params = {"workload": "attention_1pass", "arch": "generic_array", "mapping": "fused", "E": 16, "F": 16,
              "M0": 32, "M": 128, "P": 128}
    event = run_point(params)
    bound = run_point({**params, "fidelity": "bound"})
    assert bound["status"] == event["status"] == "ok"
    assert bound["fidelity"] == "bound" and event["fidelity"] == "event"
    assert bound["cycles"] == event["bound_cycles"] <= event["cycles"]
    assert bound["energy_pj"] == pytest.approx(event["energy_pj"], rel=1e-12)


def test_program_cache_matches_fresh_lowering():
    """Timing-only overrides reuse a cached program: it must equal a fresh lowering on that arch."""
    import archsim
    import workloads
    from mappings import get_mapper, lower
    from sweeps import evaluators
    from sweeps.params import split_params

    base = {"workload": "attention_1pass", "arch": "generic_array", "E": 16, "F": 16, "M0": 32, "M": 128, "P": 128}
    timing = {"arch.levels.dram.bandwidth_bytes_per_cycle": 7.0, "arch.levels.glb.latency_cycles": 9,
              "arch.levels.dram.access_bytes": 16, "arch.clock_hz": 5e8}
    for mapper in evaluators.STRUCTURAL_MAPPERS:
        evaluators.evaluate_einsum_point({**base, "mapping": mapper})          # fills the cache
        p = split_params({**base, "mapping": mapper, **timing})
        arch = archsim.load_arch(p.arch, p.arch_overrides)
        shape, _ = evaluators.resolve_shape(p.workload, p.shape, get_mapper(mapper), arch)
        cascade = workloads.build(p.workload, **shape)
        assert evaluators._structure_key(p, shape, arch) in evaluators._PROGRAMS   # a cache hit
        cached, choices = evaluators._lowered(p, shape, cascade, arch)
        mapping = get_mapper(mapper).map(cascade, arch)
        assert cached == lower(cascade, mapping, arch)
        assert choices == mapping.describe() and mapping.backing_level == arch.backing_level
