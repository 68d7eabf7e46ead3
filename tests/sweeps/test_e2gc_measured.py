"""Comparing measured per-layer energies with the e2gc study's simulated curves."""
import pandas as pd
import pytest

from sweeps.studies.e2gc_measured import compare, main

SIM_PJ = {1: 9e9, 2: 8e9, 4: 6e9, 8: 5e9, 16: 7e9, 32: 12e9}       # minimum at G = 8


def _simulated(tmp_path):
    rows = [{"arch": "h200_sxm", "network": "layer", "status": "ok", "C": 256, "H": 28, "G": g, "energy_pj": e}
            for g, e in SIM_PJ.items()]
    rows.append({"arch": "h200_sxm", "network": "resnext50", "status": "ok", "C": 1024, "H": 224, "G": 8,
                 "energy_pj": 1.0})
    path = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _measured(tmp_path, energy_j: dict, name="measured.csv"):
    path = tmp_path / name
    pd.DataFrame([{"arch": "h200_sxm", "C": 256, "H": 28, "G": g, "energy_j": e} for g, e in energy_j.items()]
                 ).to_csv(path, index=False)
    return path


def test_same_order_gives_rho_one_and_equal_minima(tmp_path):
    sim = pd.read_csv(_simulated(tmp_path))
    measured = pd.DataFrame([{"arch": "h200_sxm", "C": 256, "H": 28, "G": g, "energy_j": 2e-12 * e + 0.001}
                             for g, e in SIM_PJ.items() if g != 32])     # a scaled, shifted copy, one G fewer
    row = compare(sim, measured).iloc[0]
    assert row["group_sizes"] == 5 and row["spearman_rho"] == pytest.approx(1.0)
    assert row["G_min_sim"] == row["G_min_measured"] == 8 and row["G_min_ge4_measured"] == 8


def test_reversed_order_gives_rho_minus_one(tmp_path):
    sim = pd.read_csv(_simulated(tmp_path))
    measured = pd.DataFrame([{"arch": "h200_sxm", "C": 256, "H": 28, "G": g, "energy_j": -e}
                             for g, e in SIM_PJ.items()])
    row = compare(sim, measured).iloc[0]
    assert row["spearman_rho"] == pytest.approx(-1.0)
    assert row["G_min_measured"] == 32 and row["G_min_sim"] == 8


def test_command_prints_the_table(tmp_path, capsys):
    code = main([str(_simulated(tmp_path)), str(_measured(tmp_path, {g: e * 1e-12 for g, e in SIM_PJ.items()})),
                 "--arch", "h200_sxm"])
    out = capsys.readouterr().out
    assert code == 0 and "spearman_rho" in out and "h200_sxm" in out


@pytest.mark.parametrize("measured, field", [
    ("missing.csv", "cannot read"),
    ("no_energy.csv", "energy_j: column missing"),
])
def test_bad_input_is_one_error_line_exit_2(tmp_path, capsys, measured, field):
    pd.DataFrame([{"arch": "h200_sxm", "C": 256, "H": 28, "G": 4}]).to_csv(tmp_path / "no_energy.csv", index=False)
    code = main([str(_simulated(tmp_path)), str(tmp_path / measured)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and field in err and len(err.strip().splitlines()) == 1
