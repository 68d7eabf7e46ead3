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
    assert len(layers) == 7 * (8 + 9 + 10 + 11) and all(p["G"] <= p["C"] for p in layers)
    assert {(p["network"], p["G"]) for p in nets} == {(n, g) for n in ("mobilenet_v1", "resnext50") for g in (4, 8)}
    assert {p["arch"] for p in nets} == {"p100_pcie", "p4000", "v100_sxm2", "a100_80gb", "h200_sxm"}


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
    ({"arch": "fusemax", "network": "resnext50", "G": 8}, "network: networks run on GPU presets"),
    (_layer_point(8, arch="fusemax", kernel="direct"), "kernel:"),
    (_layer_point(8, arch="fusemax", precision="fp32"), "precision:"),
    (_layer_point(8, arch="piuma8"), "arch:"),
    (_layer_point(8, select="power"), "select:"),
    (_layer_point(8, arch="fusemax", select="energy"), "select:"),
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


def test_spatial_layer_points_record_the_tiling_and_utilisation():
    """A layer point on a spatial preset runs spatial_group_conv: the same MACs as on a GPU, its
    tiling in ``tiles``, and utilisation that rises with G (collapses as groups shrink)."""
    ev = get_evaluator("e2gc")
    recs = [ev.evaluate(_layer_point(G, arch="fusemax")) for G in (1, 8, 128)]
    assert [r["macs"] for r in recs] == [8 * 14 * 14 * 9 * G * 128 for G in (1, 8, 128)]
    assert recs[0]["tiles"].startswith("pack=28,") and recs[0]["family"] == "spatial"
    util = [r["util_pe2d"] for r in recs]
    assert util == sorted(util) and util[0] < 0.01 and 0 < util[-1] <= 1


def test_spatial_layer_points_use_the_preset_backing_level():
    """A spatial preset whose backing level is not called dram gives the same record."""
    import archsim
    from sweeps.studies.e2gc import _spatial_layer
    from workloads.conv_layers import ConvLayer
    arch = archsim.load_arch("generic_array")
    spec = json.loads(arch.model_dump_json().replace('"dram"', '"hbm"'))
    spec["placeholders"] = tuple(spec["placeholders"])
    renamed = type(arch).model_validate(spec)
    assert renamed.backing_level == "hbm"
    layer = ConvLayer("x", 32, 32, 7, 7, groups=4)
    want, got = _spatial_layer(layer, arch, 2, 0, "event"), _spatial_layer(layer, renamed, 2, 0, "event")
    for key in ("g_star_ridge", "g_star_energy", "energy_pj", "latency_s"):
        assert got[key] == pytest.approx(want[key]), key


@pytest.mark.parametrize("extra, field", [("G: [5]\n  network: [layer]", "axes.G[0]: group size 5"), ("G: [8]\n  network: [vgg]", "unknown network")])
def test_sweep_with_a_bad_point_is_one_line_exit_2_before_running(capsys, tmp_path, extra, field):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\nevaluator: e2gc\nfixed: {arch: p100_pcie, C: 64, H: 7}\n"
                    f"axes:\n  {extra}\n")
    code, out, err = run(capsys, "sweep", str(spec), "--out", str(tmp_path / "out"))
    assert code == 2 and err.startswith("error: ") and field in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "results.csv").exists()
