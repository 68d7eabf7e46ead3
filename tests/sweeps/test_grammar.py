"""Sweep spec grammar: zipped axes, seeded sampling, constraints, derived expressions, name checks,
and `--dry-run` (expanded points and their count, nothing run)."""
import pytest

from sweeps.cli import main
from sweeps.expr import Expr, ExprError
from sweeps.params import point_id
from sweeps.spec import SweepSpecError, expand, expand_all, load_spec

BASE = "name: g\nfixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16}\n"


def spec(tmp_path, text, name="g.yaml"):
    base = BASE
    for key, value in (("mapping", "fused"), ("workload", "attention_1pass")):
        if f"{key}: [" in text:      # the test varies it: not fixed
            base = base.replace(f"{key}: {value}, ", "")
    path = tmp_path / name
    path.write_text(base + text)
    return load_spec(path)


def test_zip_advances_lists_together_after_the_grid(tmp_path):
    points = expand(spec(tmp_path, "axes: {mapping: [unfused, fused]}\nzip: [{M: [32, 64], P: [64, 128]}]\n"))
    assert [(p["mapping"], p["M"], p["P"]) for p in points] == [
        ("unfused", 32, 64), ("unfused", 64, 128), ("fused", 32, 64), ("fused", 64, 128)]


def test_sampling_is_seeded_and_crossed_with_the_grid(tmp_path):
    text = ("axes: {{M0: [16, 32]}}\nsample:\n  count: 5\n  seed: {seed}\n  params:\n"
            "    M: {{pow2: [32, 256]}}\n    arch.levels.dram.bandwidth_bytes_per_cycle: {{uniform: [8, 64]}}\n"
            "derived: {{P: M}}\n")
    a = expand(spec(tmp_path, text.format(seed=3), "a.yaml"))
    b = expand(spec(tmp_path, text.format(seed=3), "b.yaml"))
    c = expand(spec(tmp_path, text.format(seed=4), "c.yaml"))
    assert a == b and a != c
    assert len(a) == 10 and [p["M0"] for p in a[:5]] == [16] * 5
    assert all(p["M"] in (32, 64, 128, 256) and p["P"] == p["M"] for p in a)
    assert all(8 <= p["arch.levels.dram.bandwidth_bytes_per_cycle"] <= 64 for p in a)


def test_constraints_drop_points_and_derived_are_expressions(tmp_path):
    result = expand_all(spec(tmp_path, "axes: {M: [32, 64, 128], map.tiles.p: [16, 64]}\n"
                                       "derived:\n  P: M * 2\n  M0: min(M, 32)\n"
                                       "constraints: ['map.tiles.p <= M', 'M0 >= 32']\n"))
    assert result.combinations == 6 and result.dropped_by_constraints == 1
    assert [(p["M"], p["map.tiles.p"], p["P"], p["M0"]) for p in result.points] == [
        (32, 16, 64, 32), (64, 16, 128, 32), (64, 64, 128, 32), (128, 16, 256, 32), (128, 64, 256, 32)]


def test_duplicate_points_are_dropped(tmp_path):
    result = expand_all(spec(tmp_path, "axes: {M: [32, 64], M0: [16, 32]}\nderived: {P: M}\n"
                                       "constraints: ['M0 <= M']\n"))
    assert len({point_id(p) for p in result.points}) == len(result.points)


@pytest.mark.parametrize("text, where", [
    ("axes: {M: [32]}\nderived: {P: M +}\n", "derived.P: cannot parse"),
    ("axes: {M: [32]}\nderived: {P: __import__('os')}\n", "derived.P: unknown function"),
    ("axes: {M: [32]}\nderived: {P: Q}\n", "derived.P: 'Q' is not"),
    ("axes: {M: [32]}\nconstraints: ['Z < 3']\n", "constraints[0]: 'Z' is not"),
    ("axes: {M: [32, 0]}\nderived: {P: 64 // M}\n", "derived.P: '64 // M': ZeroDivisionError"),
    ("axes: {M: [32]}\nzip: [{E0: [1, 2], F0: [1]}]\n", "zip[0]: zipped lists"),
    ("sample: {count: 3, params: {M: {gauss: [1, 2]}}}\n", "sample.params.M: expected one of"),
    ("sample: {count: 3, params: {M: {pow2: [0, 8]}}}\n", "sample.params.M.pow2: the low end"),
    ("axes: {M: [32], workload: [attention_1pass, nope]}\n", "axes.workload[1]: unknown cascade 'nope'"),
    ("axes: {mapping: [fused, nope]}\n", "axes.mapping[1]: unknown mapper"),
    ("axes: {fidelity: [bound, exact]}\n", "axes.fidelity[1]: unknown fidelity"),
    ("search: {budget: 0}\n", "search.budget"),
])
def test_bad_grammar_is_one_line_naming_the_field(tmp_path, text, where):
    with pytest.raises(SweepSpecError) as info:
        expand(spec(tmp_path, text, "bad.yaml"))
    message = str(info.value)
    assert "\n" not in message and where in message, message


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_expressions_are_data_not_code():
    assert Expr("log2(M) + 1 if M > 1 else 0", "x").evaluate({"M": 8}) == 4
    for text in ("(lambda: 1)()", "[x for x in M]", "M[0]", "open('f')"):
        with pytest.raises(ExprError):
            Expr(text, "x")
    with pytest.raises(ExprError, match="unknown parameter 'M.__class__'"):   # a dotted name is a key
        Expr("M.__class__", "x").evaluate({"M": 8})


def test_dry_run_prints_points_and_count_and_runs_nothing(tmp_path, capsys):
    path = _write(tmp_path, BASE + "axes: {M: [32, 64, 128]}\nderived: {P: M, M0: 16}\nconstraints: ['M > 32']\n")
    out_dir = tmp_path / "out"
    assert main(["sweep", str(path), "--dry-run", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 points (3 combinations, 1 dropped by constraints, 0 duplicates)"
    assert out[0].startswith("0 ") and "M=64" in out[0] and "P=64" in out[0]
    assert not out_dir.exists()


def test_malformed_spec_fails_before_any_point_runs(tmp_path, capsys):
    path = _write(tmp_path, BASE + "axes: {M: [32, 64]}\nderived: {P: M, M0: 16}\nconstraints: ['M > X']\n")
    out_dir = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: constraints[0]:") and err.count("\n") == 1
    assert not out_dir.exists()
