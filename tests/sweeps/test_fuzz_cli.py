"""Fuzz the two ways input reaches archsim, sweep spec YAML and `archsim run --set`, with seeded
hypothesis (700 + 400 cases in the default run): every case ends in exit 0, a sweep's exit 1 (points
failed, summarised), or one `error: <text>` line, exit 2; never a traceback or an internal error,
and the process never grows past 500 MB.

Values mix the legal with the malformed and the huge (2**40, 10**12, deep powers); mid-sized legal
values that merely take long to simulate are left out, so the run stays fast.
"""
import contextlib
import io
import resource

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sweeps.cli import main

MAX_GROWTH_KB = 500 * 1024
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SHAPES = ["M", "P", "E", "F", "M0", "Q", "m"]
NAMES = {"workload": ["attention_1pass", "attention_3pass", "spgemm", "nope"],
         "arch": ["generic_array", "piuma", "flat", "nope", "missing.yaml"],
         "mapping": ["fused", "unfused", "smash_v1", "nope"],
         "fidelity": ["event", "bound", "nope"]}
ARCH_KEYS = ["arch.units.pe2d.count", "arch.units.pe2d.rows", "arch.levels.glb.capacity_bytes",
             "arch.levels.dram.bandwidth_bytes_per_cycle", "arch.levels.glb.channels", "arch.clock_hz",
             "arch.nope", "arch.units.pe2d.cycles_per_op.mac", "arch.family", "arch."]
MAP_KEYS = ["map.tiles.p", "map.tiles.m1", "map.tiles.zz", "map.word_bytes", "map.loop_order", "map.binding.QK",
            "map.binding.Nope", "map.spatial.pe2d", "map.storage.Q", "map.nope", "map.tiles"]
SCALARS = st.one_of(
    st.sampled_from([0, 1, 2, 4, 16, 32, 64, -1, -64, 3, 2**40, 10**12, 10**30, 1.5, 1e9, 1e400, -0.0,
                     True, "abc", "", "p,m1", "Z,Q", "pe2d", "nope", "1e9", "0x10", None]),
    st.integers(min_value=-2**70, max_value=2**70).filter(lambda v: not 128 < abs(v) < 2**20),
    st.text(max_size=12))
KEYS = st.one_of(st.sampled_from(SHAPES + ARCH_KEYS + MAP_KEYS + list(NAMES) + ["", "x.y", "ARCH.x"]),
                 st.text(max_size=10))
EXPRS = st.recursive(
    st.one_of(st.sampled_from(["M", "P", "E", "map.tiles.p", "Z", "'a'", "(1,)", "10", "9", "-1", "0.5", "1e308"]),
              st.integers(-10**6, 10**6).map(str)),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" + ", " - ", " * ", " / ", " // ", " % ", " ** ", " < ", " == ", " and "]),
                  inner).map("".join),
        st.tuples(st.sampled_from(["min(", "max(", "abs(", "log2(", "sqrt(", "int(", "ceil(", "len(", "M.", "("]),
                  inner).map(lambda t: t[0] + t[1] + ")"),
        st.tuples(st.sampled_from(["-", "not "]), inner).map("".join)),
    max_leaves=8)


def cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:                 # argparse's usage errors: "usage: ..." + one error line
            code = exit.code
    return code, err.getvalue()


def check_outcome(code: int, err: str) -> None:
    event(f"exit {code}")                          # pytest --hypothesis-show-statistics: the mix of outcomes
    assert "Traceback" not in err
    assert code in (0, 1, 2), err                  # 3 is an internal error
    if code == 2:
        errors = [line.split("error: ", 1)[1] for line in err.splitlines()
                  if line.startswith(("error: ", "archsim run: error: ", "archsim sweep: error: "))]
        assert errors and errors[-1].strip(), err


def value_list(draw_values):
    return st.lists(draw_values, min_size=1, max_size=3)


SMALL = st.lists(st.sampled_from([16, 32, 64]), min_size=1, max_size=2)
VALID_AXES = {"M": SMALL, "map.tiles.p": SMALL, "arch.levels.dram.bandwidth_bytes_per_cycle": SMALL,
              "mapping": st.lists(st.sampled_from(["fused", "unfused"]), min_size=1, max_size=2)}


@st.composite
def specs(draw) -> str:
    """A legal spec (fast: closed-form points of a small attention) with 0-3 mutations, each
    legal or not."""
    doc = {"name": "fuzz", "fixed": {"workload": "attention_1pass", "arch": "generic_array", "E": 16, "F": 16,
                                     "M0": 16, "fidelity": "bound"},
           "axes": {"M": [32], "mapping": ["fused"]}, "derived": {"P": "M"}}
    for _ in range(draw(st.integers(0, 3))):
        mutate = draw(st.sampled_from(MUTATIONS))
        mutate(draw, doc)
    text = yaml.safe_dump(doc, sort_keys=False)
    if draw(st.integers(0, 14)) == 0:              # a damaged file
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ": [", "\t", "\x00", "{{", "- -"])) + text[cut:]
    return text


def _fixed(draw, doc):
    doc["fixed"][draw(KEYS)] = draw(SCALARS)


def _drop(draw, doc):
    section = doc[draw(st.sampled_from(["fixed", "axes"]))]
    if section:
        section.pop(draw(st.sampled_from(sorted(section))))


def _axis(draw, doc):
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(VALID_AXES)))
        doc["axes"][key] = draw(VALID_AXES[key])
    else:
        doc["axes"][draw(KEYS)] = draw(value_list(SCALARS))


def _derived(draw, doc):
    doc["derived"][draw(st.sampled_from(["P", "M0", "map.tiles.p", "x"]))] = draw(EXPRS)


def _constraint(draw, doc):
    doc.setdefault("constraints", []).append(draw(EXPRS))


def _sample(draw, doc):
    kind = draw(st.sampled_from(["int", "pow2", "log_int", "uniform", "choice", "normal"]))
    values = draw(st.sampled_from([[1, 64], [8, 32], [64, 1], [0, 8], [1, 2**70]])) if draw(st.booleans()) \
        else draw(value_list(SCALARS))
    doc["sample"] = {"count": draw(st.sampled_from([1, 3, 0, -1, 10**9, 10**12, "x"])),
                     "seed": draw(st.sampled_from([0, 1, -5, 2**80])),
                     "params": {draw(st.sampled_from(["map.tiles.p", "map.tiles.m1"]) | KEYS): {kind: values}}}


def _zip(draw, doc):
    doc["zip"] = [draw(st.dictionaries(st.sampled_from(["E", "F", "M0"]) | KEYS, value_list(SCALARS), max_size=2))]


def _search(draw, doc):
    doc["search"] = {"budget": draw(st.sampled_from([0, 2, 10**12])),
                     "objectives": draw(st.lists(st.sampled_from(["latency_s", "energy_pj", "bogus"]), max_size=2))}
    doc["sample"] = {"count": 0, "params": {"map.tiles.p": {"pow2": [1, 32]}}}


def _top(draw, doc):
    doc[draw(st.sampled_from(["bogus", "path", "seed", "evaluator", "name", "description"]))] = draw(SCALARS)


MUTATIONS = [_fixed, _drop, _axis, _axis, _derived, _derived, _constraint, _sample, _zip, _search, _top]


@st.composite
def run_sets(draw) -> list[str]:
    argv = ["run", draw(st.sampled_from(["attention_1pass"] * 4 + NAMES["workload"])),
            "--arch", draw(st.sampled_from(["generic_array"] * 4 + NAMES["arch"])),
            "--mapping", draw(st.sampled_from(["fused"] * 3 + NAMES["mapping"]))]
    base = {"E": 16, "F": 16, "M0": 16, "M": 32, "P": 32}
    for key in list(base):
        if draw(st.integers(0, 4)) == 0:
            del base[key]
    for _ in range(draw(st.integers(0, 3))):
        base[draw(KEYS)] = draw(SCALARS)
    for key, value in base.items():
        text = "" if value is None else (yaml.safe_dump(value).removesuffix("\n...\n").strip()
                                         if not isinstance(value, str) else value)
        argv += ["--set", f"{key}={text}" if draw(st.integers(0, 19)) else key]
    return argv


_START_KB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@settings(max_examples=700, **SETTINGS)
@given(specs(), st.integers(0, 24).map(bool))    # one case in 25 runs the sweep (and writes its report)
def test_fuzzed_specs_end_in_a_result_or_one_error_line(tmp_path_factory, text, dry_run):
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_text(text, errors="surrogateescape")
    out = tmp_path_factory.getbasetemp() / "fuzz_out"
    argv = ["sweep", str(path)] + (["--dry-run"] if dry_run else ["--out", str(out), "--no-progress", "--force"])
    check_outcome(*cli(argv))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _START_KB < MAX_GROWTH_KB


@settings(max_examples=400, **SETTINGS)
@given(run_sets())
def test_fuzzed_run_settings_end_in_a_result_or_one_error_line(argv):
    check_outcome(*cli(argv))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _START_KB < MAX_GROWTH_KB
