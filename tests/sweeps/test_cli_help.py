"""Help that teaches: every command explains its options and shows examples, `list` says what each
name is, `describe` shows a preset's sources, `list --params` an evaluator's keys, `verify` selects
by glob or prefix, `run --trace` writes a Chrome trace, and `archsim --help` loads no heavy library."""
import json
import subprocess
import sys

import pytest

from sweeps.cli import build_parser, main, select_checks

COMMANDS = ("list", "describe", "passes", "verify", "run", "sweep", "report", "export")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_imports_no_heavy_library():
    """`archsim --help` is fast because the CLI module imports numerical libraries lazily
    (bench/bench_cli.py prints the wall time)."""
    heavy = ("pandas", "matplotlib", "simpy", "scipy", "numpy", "archsim", "workloads", "mappings")
    code = ("import sys, contextlib, io\nfrom sweeps.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_its_options_and_shows_examples(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and f"archsim {command}" in text.split("examples:", 1)[1]
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.dest}: no help"


def test_run_and_sweep_help_define_util_and_busy(capsys):
    for command in ("run", "sweep"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "util_<unit>" in text and "useful lane-cycles" in text and "busy_<unit>" in text


def test_executor_choices_are_the_executors():
    from sweeps.executors import EXECUTORS

    parser = build_parser()
    sweep = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices["sweep"]
    assert tuple(next(a for a in sweep._actions if a.dest == "executor").choices) == EXECUTORS


def test_list_describes_every_name(capsys):
    import archsim
    import workloads
    from mappings import mapper_names

    code, out, _ = run(capsys, "list", "--json")
    listing = json.loads(out)
    assert code == 0
    assert set(listing["cascades"]) == set(workloads.cascade_names())
    assert set(listing["presets"]) == set(archsim.preset_names())
    assert set(listing["mappers"]) == set(mapper_names())
    for section in listing.values():
        assert all(meaning.strip() for meaning in section.values())
    assert "FuseMax" in listing["mappers"]["fusemax_binding"]
    assert "M0=4" in listing["cascades"]["attention_1pass"]          # the example defaults are visible
    code, out, _ = run(capsys, "list")
    assert code == 0 and "fusemax_binding" in out and "+Binding" in out


@pytest.mark.parametrize("evaluator", ["einsum", "fusemax", "smash"])
def test_list_params_covers_what_the_evaluator_accepts(evaluator, capsys):
    from sweeps.evaluators import get_evaluator

    code, out, _ = run(capsys, "list", "--params", evaluator, "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all(r["type"] and r["default"] and r["meaning"] for r in rows)
    ev = get_evaluator(evaluator)
    literal = [r["name"] for r in rows if "<" not in r["name"] and "," not in r["name"]]
    for name in literal:
        ev.classify(name)                               # every declared key is accepted
    for name in ev.required:
        assert name in literal and next(r for r in rows if r["name"] == name)["default"] == "required"


def test_list_params_of_unknown_evaluator_is_one_line(capsys):
    code, _, err = run(capsys, "list", "--params", "nope")
    assert code == 2 and err.startswith("error: ") and "nope" in err and err.count("\n") == 1


def test_describe_prints_every_number_with_its_source(capsys):
    import archsim

    arch = archsim.load_arch("fusemax")
    code, out, _ = run(capsys, "describe", "fusemax")
    assert code == 0 and out.startswith("fusemax (spatial family")
    for field, source in arch.sources.items():
        assert field in out and source in out
    code, out, _ = run(capsys, "describe", "fusemax", "--json")
    numbers = {n["field"]: n for n in json.loads(out)["numbers"]}
    assert numbers["units.pe2d.rows"]["value"] == 256
    assert numbers["clock_hz"]["source"].startswith("fusemax.md")


def test_verify_selects_by_glob_prefix_and_exact_name():
    names = ["attention_1pass[M0=16,P0=8]", "attention_2pass[M0=4,P0=32]", "spgemm_inner[uniform]",
             "spgemm_smash_v1[rmat8]", "fusemax:binding[E=64]"]
    assert select_checks(["spgemm_*"], names) == names[2:4]
    assert select_checks(["attention_1pass[M0=16,P0=8]"], names) == names[:1]
    assert select_checks(["attention"], names) == names[:2]
    assert select_checks(["fusemax:*", "spgemm_smash*", "fusemax:binding"], names) == [names[4], names[3]]
    with pytest.raises(ValueError, match="no check matches 'gpu_\\*'"):
        select_checks(["gpu_*"], names)


def test_verify_glob_runs_only_the_selected_checks(capsys):
    code, out, _ = run(capsys, "verify", "gemm_tiled*")
    assert code == 0 and "3 passed, 0 failed" in out and "spgemm" not in out


def test_run_trace_is_chrome_trace_json_of_every_op(tmp_path, capsys):
    path = tmp_path / "trace.json"
    code, out, err = run(capsys, "run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused",
                         "--set", "M=64", "--set", "P=64", "--set", "E=16", "--set", "F=16",
                         "--trace", str(path), "--json")
    record = json.loads(out)
    assert code == 0 and "trace:" in err
    trace = json.loads(path.read_text())
    ops = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(ops) == record["ops"]
    assert max(e["args"]["end_cycle"] for e in ops) == record["cycles"] == trace["otherData"]["cycles"]
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    assert {"pe2d", "pe1d"} <= set(names.values())
    by_track: dict[int, list] = {}
    for e in ops:
        assert e["dur"] >= 0 and e["tid"] in names
        by_track.setdefault(e["tid"], []).append((e["args"]["start_cycle"], e["args"]["end_cycle"]))
    for spans in by_track.values():                       # slices on one track never overlap
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_spgemm_run_suggests_how_to_pick_a_matrix_and_runs_a_generated_one(capsys):
    code, _, err = run(capsys, "run", "spgemm", "--arch", "piuma8", "--mapping", "smash_v1")
    assert code == 2 and "--matrix FILE.mtx" in err and "--set matrix=rmat" in err
    code, out, _ = run(capsys, "run", "spgemm", "--arch", "piuma8", "--mapping", "smash_v1",
                       "--set", "matrix=rmat", "--set", "scale=6", "--json")
    record = json.loads(out)
    assert code == 0 and record["n"] == 64 and record["cycles"] > 0
