"""Inputs that used to be silently accepted or lost their field name are refused with one line
naming the field."""
import pytest
import scipy.io

import workloads
from sweeps.cli import main

RUN = ["run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused", "--set", "M=64", "--set", "P=64",
       "--set", "E=16", "--set", "F=16", "--set", "M0=16"]


@pytest.mark.parametrize("setting, fragment", [
    ("map.loop_order=Z,p", "loop_order: unknown rank 'Z'"),
    ("map.binding.Nope=pe2d", "binding.Nope: no such einsum"),
    ("map.word_bytes=0", "word_bytes: expected a positive integer"),
    ("map.word_bytes=abc", "word_bytes: expected an integer, got 'abc'"),
    ("map.tiles.p=abc", "tiles.p: expected an integer, got 'abc'"),
    ("map.tiles=4", "tiles: expected per-key values"),
    ("M=1000000000000", "map.tiles: about"),
])
def test_run_refuses_with_the_field(capsys, setting, fragment):
    code = main(RUN + ["--set", setting])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and fragment in err


def test_run_accepts_fidelity_like_a_sweep(capsys):
    assert main(RUN + ["--set", "fidelity=bound", "--json"]) == 0
    assert '"fidelity": "bound"' in capsys.readouterr().out


def test_an_unknown_search_objective_is_refused(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nfixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16,"
                    " M0: 16, M: 64, P: 64, fidelity: bound}\nsample: {count: 0, params: {map.tiles.p: {pow2: [16, 64]}}}\n"
                    "search: {budget: 4, population: 2, objectives: [latency_s, latncy_s]}\n")
    code = main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "search.objectives: 'latncy_s' is not a field" in err and "latency_s" in err


def test_the_smash_report_handles_a_sweep_over_matrix_files(tmp_path, capsys):
    for name, scale in (("a", 5), ("b", 6)):
        scipy.io.mmwrite(str(tmp_path / f"{name}.mtx"), workloads.rmat(scale, 4, seed=scale))
    spec = tmp_path / "m.yaml"
    spec.write_text(f"name: m\nevaluator: smash\nfixed: {{arch: piuma8}}\naxes: {{matrix: [{tmp_path / 'a.mtx'}, "
                    f"{tmp_path / 'b.mtx'}], kernel: [rowwise_dense, smash_v1]}}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert (tmp_path / "o" / "plots" / "smash_cycles.png").stat().st_size > 0


def test_a_study_key_that_is_not_an_integer_names_the_key(tmp_path, capsys):
    spec = tmp_path / "m.yaml"
    spec.write_text("name: m\nevaluator: smash\nfixed: {arch: piuma8, kernel: smash_v1, matrix: rmat}\n"
                    "axes: {scale: [abc]}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 2  # checked first
    err = capsys.readouterr().err
    assert "axes.scale[0]" in err and "'abc'" in err and not (tmp_path / "o").exists()
