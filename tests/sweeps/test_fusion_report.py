"""The quick-start report states what fusion buys: unfused / fused per point, from the records."""
import pandas as pd

from sweeps.cli import main


def test_report_gives_unfused_over_fused_ratios(tmp_path, capsys):
    spec = tmp_path / "q.yaml"
    spec.write_text("name: q\nfixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 16, "
                    "fidelity: bound}\naxes: {mapping: [unfused, fused], M: [64, 128]}\nderived: {P: M}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    capsys.readouterr()
    md = (tmp_path / "o" / "report.md").read_text()
    frame = pd.read_csv(tmp_path / "o" / "results.csv").set_index(["mapping", "M"])
    ratio = frame.loc[("unfused", 128), "dram_bytes"] / frame.loc[("fused", 128), "dram_bytes"]
    assert "## Fusion: unfused / fused" in md
    assert md.index("## Fusion") < md.index("## Pareto front")          # the study's own figures first
    row = next(line for line in md.splitlines() if line.startswith("| 128 |"))
    assert float(row.split("|")[2]) == float(f"{ratio:.4g}") and ratio > 1
