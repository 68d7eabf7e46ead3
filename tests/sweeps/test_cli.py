"""The archsim command line: output formats, exit codes, one-line errors."""
import json

import pandas as pd
import pytest

from sweeps.cli import main

SMALL = ["--set", "M=128", "--set", "P=128", "--set", "E=16", "--set", "F=16", "--set", "M0=32"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_everything(capsys):
    code, out, _ = run(capsys, "list", "--json")
    listing = json.loads(out)
    assert code == 0
    assert "attention_1pass" in listing["cascades"]
    assert "generic_array" in listing["presets"]
    assert {"unfused", "fused"} <= set(listing["mappers"])
    assert "quickstart" in listing["sweeps"]


@pytest.mark.parametrize("cascade, passes", [
    ("attention_naive", 2), ("attention_3pass", 3), ("attention_3pass_deferred", 2),
    ("attention_2pass", 2), ("attention_1pass", 1)])
def test_passes_json(capsys, cascade, passes):
    code, out, _ = run(capsys, "passes", cascade, "--rank", "m", "--json")
    assert code == 0
    assert json.loads(out) == {"cascade": cascade, "rank": "m", "passes": passes}


def test_verify_one_check(capsys):
    code, out, _ = run(capsys, "verify", "attention_1pass[M0=16,P0=8]", "spgemm_rowwise_hash[uniform]")
    assert code == 0 and "2 passed, 0 failed" in out


@pytest.mark.parametrize("argv, fragment", [
    (["passes", "no_such_cascade"], "no_such_cascade"),
    (["passes", "attention_1pass", "--rank", "z"], "--rank"),
    (["run", "attention_1pass", "--arch", "nope", "--mapping", "fused"], "nope"),
    (["run", "attention_1pass", "--arch", "generic_array", "--mapping", "nope"], "nope"),
    (["run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused", "--set", "lower=1"], "lower"),
    (["verify", "no_such_check"], "no_such_check"),
    (["report", "/nonexistent/dir"], "no results"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err


@pytest.mark.parametrize("key", ["G", "C", "K", "H", "W"])
def test_group_conv_refuses_the_e2gc_study_names(capsys, key):
    """The cascade's shape symbols (GRP, CI, CO, OY, OX) are not E2GC's (G group size, C channels,
    K kernel, H input height): the study's names are refused, naming the key and listing the cascade's."""
    code, _, err = run(capsys, "run", "group_conv", "--arch", "fusemax", "--mapping", "spatial_group_conv",
                       "--set", f"{key}=8")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {key}: not a shape parameter of group_conv") and "GRP, CI, CO, OY, OX" in err


def test_run_json_record(capsys):
    code, out, _ = run(capsys, "run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused",
                       *SMALL, "--json")
    record = json.loads(out)
    assert code == 0 and record["status"] == "ok"
    assert record["cycles"] >= record["bound_cycles"] > 0
    assert record["energy_pj"] > 0 and 0 < record["util_pe2d"] <= 1


def test_run_tile_too_big_names_tensor_and_level(capsys):
    code, _, err = run(capsys, "run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused",
                       *SMALL, "--set", "arch.levels.glb.capacity_bytes=1024", "--set", "map.tiles.p=128")
    assert code == 2 and "glb" in err and "1024 B" in err


def test_sweep_records_failures_and_carries_on(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: s\nfixed: {workload: attention_1pass, arch: generic_array, mapping: fused, "
        "E: 16, F: 16, M0: 32}\nzip: [{M: [64, 96, 128], arch.levels.glb.capacity_bytes: [1048576, 16, 1048576]}]\n"
        "derived: {P: M}\n")
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "sweep", str(spec), "--out", str(out_dir))
    frame = pd.read_csv(out_dir / "results.csv")
    assert code == 1 and "1 failed" in out
    assert list(frame["M"]) == [64, 96, 128]
    assert list(frame["status"]) == ["ok", "error", "ok"]
    assert "CapacityError" in frame.loc[1, "error"] and "glb" in frame.loc[1, "error"]
    report = (out_dir / "report.md").read_text()
    assert "## Failed points" in report and "![" in report
    assert (out_dir / "plots" / "metrics_vs_M.png").stat().st_size > 0


def test_report_rebuilds_from_results_alone(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: s\nfixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 32}\n"
        "axes: {mapping: [unfused, fused], M: [64, 128]}\nderived: {P: M}\n")
    out_dir = tmp_path / "out"
    assert run(capsys, "sweep", str(spec), "--out", str(out_dir))[0] == 0
    first = (out_dir / "report.md").read_text()
    (out_dir / "report.md").unlink()
    assert run(capsys, "report", str(out_dir))[0] == 0
    assert (out_dir / "report.md").read_text() == first
