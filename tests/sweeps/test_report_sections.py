"""Report sections that depend on what the records hold: the roofline (compute and traffic), the
Pareto front (only when a machine or mapping axis varies), and the smash study's speedup plot and
findings computed from the data."""
import archsim
import pandas as pd
import pytest

from archsim.record import roof_compute_ops_per_cycle
from sweeps.cli import main
from sweeps.studies.smash import findings

EINSUM = """name: e
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 16}
axes: {mapping: [unfused, fused], M: [64, 128]}
derived: {P: M}
"""
WORKLOAD_ONLY = """name: w
fixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16, M0: 16, fidelity: bound}
axes: {M: [64, 128, 256]}
derived: {P: M}
"""
SMASH = """name: s
evaluator: smash
fixed: {matrix: rmat, arch: piuma8, edge_factor: 4, scale: 6, distribution: flop_balanced}
axes: {kernel: [inner, outer, rowwise_dense, smash_v1], dram_line_bytes: [8, 64]}
"""


def _sweep(tmp_path, capsys, name, text):
    (tmp_path / f"{name}.yaml").write_text(text)
    assert main(["sweep", str(tmp_path / f"{name}.yaml"), "--out", str(tmp_path / name), "--no-progress"]) == 0
    capsys.readouterr()
    return pd.read_csv(tmp_path / name / "results.csv"), (tmp_path / name / "report.md").read_text()


def test_peaks_come_from_the_preset():
    generic = archsim.load_arch("generic_array")
    assert roof_compute_ops_per_cycle(generic) == 16 * 16 + 16          # a 16x16 and a 16-PE array
    piuma = archsim.load_arch("piuma8")
    assert roof_compute_ops_per_cycle(piuma) == (4 + 2) * 8             # 4 MTPs + 2 STPs per core, 8 cores


@pytest.mark.parametrize("name, text", [("einsum", EINSUM), ("smash", SMASH)])
def test_every_point_is_under_its_roof_and_the_report_shows_it(tmp_path, capsys, name, text):
    frame, md = _sweep(tmp_path, capsys, name, text)
    achieved = frame["compute_ops"] / frame["cycles"]
    roof = (frame["roof_compute_ops_per_cycle"]
            .clip(upper=frame["roof_dram_bytes_per_cycle"] * frame["compute_ops"] / frame["dram_bytes"]))
    assert (frame["compute_ops"] > 0).all() and (achieved <= roof * (1 + 1e-9)).all()
    assert "## Roofline" in md and (tmp_path / name / "plots" / "roofline.png").stat().st_size > 5000


def test_pareto_only_where_a_design_axis_varies(tmp_path, capsys):
    _, md = _sweep(tmp_path, capsys, "workload", WORKLOAD_ONLY)
    assert "## Pareto front" not in md and not (tmp_path / "workload" / "plots" / "pareto.png").exists()
    _, md = _sweep(tmp_path, capsys, "design", EINSUM)
    assert "## Pareto front" in md


def test_smash_report_has_a_speedup_plot_per_baseline(tmp_path, capsys):
    frame, md = _sweep(tmp_path, capsys, "smash", SMASH)
    assert "(plots/smash_speedups.png)" in md and "speedup of each kernel over inner, outer, rowwise_dense" in md
    assert "### Findings (computed from these records)" in md
    assert md.index("### Findings") < md.index("### Cycles")


def _records(rows):
    return pd.DataFrame(rows, columns=["scale", "line_bytes", "kernel", "cycles", "dram_bytes_per_cycle",
                                       "roof_dram_bytes_per_cycle"])


def test_findings_are_computed_from_the_records():
    rows = []
    for scale, dense, smash in ((10, 80, 100), (12, 300, 200)):        # dense wins at scale 10 only
        for line, slow in ((8, 1.0), (64, 1.5)):
            rows += [(scale, line, "rowwise_dense", dense * slow, 10.0 * line / 8, 100.0),
                     (scale, line, "smash_v1", smash * slow, 20.0 * line / 8, 100.0),
                     (scale, line, "smash_v2", smash * 1.1 * slow, 5.0, 100.0)]
    text = findings(_records(rows))
    assert text[0].startswith("rowwise_dense is faster than every SMASH version in 2 of 4 configurations "
                              "(faster than smash_v1 in 2, smash_v2 in 2)")
    assert "scale 10, DRAM access 8 B (0.80x SMASH's best cycles)" in text[0] and "scale 12" not in text[0]
    assert "; by R-MAT scale: 10: 2 of 2, 12: 0 of 2" in text[0]
    assert "multiply cycles by 1.5 to 1.5 (median 1.5) over 6 kernel configurations" in text[1]
    assert "8-byte: median 0.1, max 0.2; 64-byte: median 0.8, max 1.6" in text[2]


def test_findings_need_both_access_sizes_for_the_access_statement():
    rows = [(10, 8, "rowwise_dense", 80, 1.0, 100.0), (10, 8, "smash_v1", 100, 1.0, 100.0)]
    text = findings(_records(rows))
    assert len(text) == 1 and "1 of 1 configurations" in text[0]
