"""The e2gc study: analyze CLI, evaluator records, bad input, and (slow) the acceptance checks."""
import json
from pathlib import Path

import pandas as pd
import pytest

from sweeps.cli import main
from sweeps.evaluators import get_evaluator
from sweeps.spec import expand_all, load_spec
from sweeps.studies.e2gc_report import layer_summary, report_sections

SPEC = Path(__file__).resolve().parents[2] / "sweeps" / "e2gc.yaml"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_layer_json(capsys):
    code, out, _ = run(capsys, "analyze", "group_conv", "--set", "C_in=256", "--set", "H=14", "--set", "G=8",
                       "--json")
    got = json.loads(out)
    assert code == 0
    assert (got["macs"], got["groups"], round(got["arithmetic_intensity"], 2)) == (3_612_672, 32, 30.41)


def test_analyze_network(capsys):
    code, out, _ = run(capsys, "analyze", "mobilenet_v1", "--set", "form=e2gc", "--set", "G=8", "--json")
    got = json.loads(out)
    assert code == 0 and got["network"] == "mobilenet_v1/e2gc8" and set(got["group_sizes"].split(",")) == {"8"}


@pytest.mark.parametrize("argv, field", [
    (["group_conv", "--set", "C_in=256", "--set", "G=5"], "G:"),
    (["group_conv", "--set", "H=2", "--set", "K=7", "--set", "padding=0"], "stride"),
    (["densenet"], "network:"),
    (["group_conv", "--set", "depth=3"], "--set depth"),
])
def test_analyze_bad_input_is_one_line_exit_2(capsys, argv, field):
    code, out, err = run(capsys, "analyze", *argv)
    assert code == 2 and err.startswith("error: ") and field in err and len(err.strip().splitlines()) == 1


def test_spec_expands_to_layers_and_network_pairs():
    points = expand_all(load_spec(SPEC)).points
    layers = [p for p in points if p["network"] == "layer"]
    nets = [p for p in points if p["network"] != "layer"]
    assert len(layers) == 5 * (8 + 9 + 10 + 11) and all(p["G"] <= p["C"] for p in layers)
    assert {(p["network"], p["G"]) for p in nets} == {(n, g) for n in ("mobilenet_v1", "resnext50") for g in (4, 8)}


def _layer_point(G, arch="p100_pcie", **extra):
    return {"arch": arch, "network": "layer", "C": 128, "H": 14, "G": G, "batch": 8, **extra}


def test_layer_records_energy_per_mac_and_g_star():
    ev = get_evaluator("e2gc")
    rec = ev.evaluate(_layer_point(8))
    assert rec["macs"] == 8 * 14 * 14 * 9 * 8 * 128
    assert rec["energy_per_mac_pj"] == pytest.approx(rec["energy_pj"] / rec["macs"])
    assert rec["energy_static_pj"] > 0 and 0 < rec["g_star_ridge"]
    bound = ev.evaluate(_layer_point(8, fidelity="bound"))
    assert bound["fidelity"] == "bound" and bound["energy_fp32_pj"] == pytest.approx(rec["energy_fp32_pj"])


@pytest.mark.parametrize("params, field", [
    (_layer_point(5), "G: group size 5"),
    (_layer_point(8, H=0), "h_in"),
    ({"arch": "p100_pcie", "network": "vgg16", "G": 8}, "network: unknown network"),
    (_layer_point(8, arch="fusemax"), "arch:"),
])
def test_bad_points_name_the_field(params, field):
    with pytest.raises(ValueError, match=field):
        get_evaluator("e2gc").evaluate(params)


def test_report_summary_flags_interior_minimum_and_monotone_energy_per_mac(tmp_path):
    rows = []
    for G, e in ((1, 5.0), (4, 6.0), (8, 4.0), (16, 7.0)):
        rows.append({"arch": "x", "C": 16, "H": 7, "G": G, "energy_pj": e, "energy_per_mac_pj": e / G,
                     "g_star_ridge": 6.0, "g_star_energy": 9.0, "g_star_ridge_fp32": 5.0, "network": "layer",
                     "latency_s": 1e-6})
    s = layer_summary(pd.DataFrame(rows)).iloc[0]
    assert s["interior_min_ge4"] and s["energy_per_mac_monotone"] and s["G_min_energy_ge4"] == 8
    assert any("interior minimum" in line for line in report_sections(pd.DataFrame(rows), {}, tmp_path))


@pytest.mark.slow
def test_p100_pcie_e2gc_gain_positive_for_both_networks():
    """Acceptance: the paper's pairing (MobileNet-V1 FgGC g=32 vs E2GC G=8; ResNeXt-50 g=32 vs G=8)."""
    ev = get_evaluator("e2gc")
    for network in ("mobilenet_v1", "resnext50"):
        rec = ev.evaluate({"arch": "p100_pcie", "network": network, "G": 8, "H": 224, "batch": 64})
        assert rec["fggc_groups"] == 32
        assert rec["ee_gain"] > 0, (network, rec["ee_gain"])


def test_spatial_array_utilisation_collapses_as_groups_shrink():
    """Grouped conv as batched small GEMMs, (c, k) unrolled on generic_array's 16 x 16 array."""
    from sweeps.evaluators import evaluate_einsum_point
    util = []
    for C in (1, 4, 16):
        rec = evaluate_einsum_point({"workload": "group_conv", "arch": "generic_array", "mapping": "unfused",
                                     "G": 64 // C, "C": C, "K": C, "H": 7, "W": 7,
                                     "map.spatial.pe2d": "c,k"})
        util.append(rec["util_pe2d"])
    assert util[0] <= 1 / 256 + 1e-9 and util == sorted(util) and util[-1] > 20 * util[0]


@pytest.mark.parametrize("extra, field", [("G: [5]\n  network: [layer]", "axes.G[0]: group size 5"), ("G: [8]\n  network: [vgg]", "unknown network")])
def test_sweep_with_a_bad_point_is_one_line_exit_2_before_running(capsys, tmp_path, extra, field):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\nevaluator: e2gc\nfixed: {arch: p100_pcie, C: 64, H: 7}\n"
                    f"axes:\n  {extra}\n")
    code, out, err = run(capsys, "sweep", str(spec), "--out", str(tmp_path / "out"))
    assert code == 2 and err.startswith("error: ") and field in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "results.csv").exists()
