"""Multi-objective search: budget respected, the reported front is non-dominated and complete."""
import json

import numpy as np
import pandas as pd
import pytest

from sweeps.cli import main
from sweeps.search import pareto_front, pareto_mask

SEARCH = """
name: se
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, fidelity: bound}
axes: {mapping: [unfused, fused], M0: [16, 32]}
sample:
  params:
    M: {pow2: [64, 256]}
    map.tiles.p: {pow2: [16, 256]}
    arch.levels.dram.bandwidth_bytes_per_cycle: {log_uniform: [4, 64]}
    arch.levels.glb.capacity_bytes: {choice: [262144, 1048576]}
derived: {P: M}
constraints: ['map.tiles.p <= P']
search: {budget: 30, population: 10, seed: 1}
"""


def test_pareto_mask_brute_force():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, size=(60, 3)).astype(float)
    mask = pareto_mask(values)
    for i, row in enumerate(values):
        dominated = any((other <= row).all() and (other < row).any() for other in values)
        assert mask[i] == (not dominated)


def test_search_respects_budget_and_reports_the_front(tmp_path, capsys):
    spec = tmp_path / "se.yaml"
    spec.write_text(SEARCH)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "2"]) == 0
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == 30 and frame["point_id"].is_unique
    assert (frame["map.tiles.p"] <= frame["P"]).all()
    meta = json.loads((out / "sweep.json").read_text())
    used = meta["search"]["objectives_used"]
    assert used == ["latency_s", "energy_pj", "area_mm2"]
    front, objectives = pareto_front(frame, used)
    report = (out / "report.md").read_text()
    assert f"{len(front)} of {len(frame)} ok points are Pareto-optimal" in report
    assert "![Pareto front](plots/pareto.png)" in report
    for pid in front["point_id"]:
        assert pid in report
    assert "Search: NSGA-II (Optuna), budget 30 points" in report
    # --budget overrides; the dry run describes the space
    assert main(["sweep", str(spec), "--dry-run", "--budget", "5"]) == 0
    assert "budget 5 points" in capsys.readouterr().out


def test_grid_report_fronts_compare_only_points_of_the_same_workload(tmp_path, capsys):
    spec = tmp_path / "g.yaml"
    spec.write_text("name: g\nfixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, "
                    "M0: 32, fidelity: bound}\naxes: {M: [64, 128], mapping: [unfused, fused]}\n"
                    "derived: {P: M}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    frame = pd.read_csv(out / "results.csv")
    fronts = [pareto_front(g, ["latency_s", "energy_pj", "area_mm2"])[0] for _, g in frame.groupby("M")]
    report = (out / "report.md").read_text()
    assert f"{sum(len(f) for f in fronts)} of 4 ok points are Pareto-optimal within each group of equal M" in report


EDGE_SPEC = """name: edges
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 16, M: 64, P: 64, fidelity: bound}
axes: {mapping: [fused, unfused]}
sample:
  params:
    arch.levels.glb.capacity_bytes: {int: [LOW, 1048576]}
search: {budget: 4, population: 2, seed: 0}
"""


@pytest.mark.parametrize("low, mapping, field", [
    ("0", "fused, unfused", "arch.levels.glb.capacity_bytes"),      # the range's lower edge is not a size
    ("4096", "fused, no_such_mapper", "mapping"),                  # the last choice is no mapper
])
def test_search_edges_are_checked_before_anything_runs(tmp_path, capsys, low, mapping, field):
    spec = tmp_path / "edges.yaml"
    spec.write_text(EDGE_SPEC.replace("LOW", low).replace("fused, unfused", mapping))
    code = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {spec}: ") and err.count("\n") == 1 and field in err
    assert not (tmp_path / "out").exists()


def test_edge_points_cover_each_dimension_at_its_edges(tmp_path):
    from sweeps.search import edge_points
    from sweeps.spec import load_spec

    spec = tmp_path / "edges.yaml"
    spec.write_text(EDGE_SPEC.replace("LOW", "4096"))
    points = edge_points(load_spec(spec))
    seen = {(p["mapping"], p["arch.levels.glb.capacity_bytes"]) for p in points}
    assert seen == {("fused", 4096), ("unfused", 4096), ("fused", 1048576)}
