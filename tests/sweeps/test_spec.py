"""Sweep specs: expansion, ids, and one-line errors naming file and field."""
import pytest

from sweeps.params import ParamError, point_id, split_params
from sweeps.spec import SweepSpecError, expand, load_spec

GOOD = """
name: t
fixed: {workload: attention_1pass, arch: generic_array, E: 8}
axes: {M: [32, 64], mapping: [unfused, fused]}
derived: {P: M}
"""


def write(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return path


def test_expand_is_a_grid_in_file_order(tmp_path):
    points = expand(load_spec(write(tmp_path, GOOD)))
    assert [(p["M"], p["mapping"], p["P"]) for p in points] == [
        (32, "unfused", 32), (32, "fused", 32), (64, "unfused", 64), (64, "fused", 64)]


def test_point_id_is_a_content_hash():
    a = {"workload": "w", "M": 1, "arch": "a"}
    assert point_id(a) == point_id(dict(reversed(list(a.items()))))
    assert point_id(a) != point_id({**a, "M": 2})


@pytest.mark.parametrize("text, where", [
    ("name: t\naxes: {M: 5}\n", "axes.M: expected a list of values"),
    ("name: t\naxes: {M: [1, 2}\n", "malformed YAML"),
    ("name: t\nfixed: {workload: w, arch: a, mapping: m}\nbogus: 1\n", "bogus: unknown field"),
    ("name: t\nfixed: {workload: w, arch: a, mapping: m, seq_len: 3}\n", "fixed.seq_len: unknown parameter"),
    ("name: t\nfixed: {workload: w, arch: a, mapping: m}\nderived: {P: M}\n", "derived.P:"),
    ("name: t\nfixed: {workload: w, arch: a}\n", "fixed.mapping: required"),
    ("name: t\nfixed: {workload: w, arch: a, mapping: m}\naxes: {M: []}\n", "axes"),
])
def test_bad_specs_give_one_line_naming_file_and_field(tmp_path, text, where):
    with pytest.raises(SweepSpecError) as info:
        load_spec(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "x.yaml") + ": ")
    assert where in message


def test_split_params_routes_keys():
    p = split_params({"workload": "w", "arch": "a", "mapping": "m", "M": 4,
                      "arch.levels.glb.capacity_bytes": 1024, "map.tiles.p": 8, "map.loop_order": "p,m1"})
    assert p.shape == {"M": 4}
    assert p.arch_overrides == {"levels.glb.capacity_bytes": 1024}
    assert p.map_options == {"tiles": {"p": 8}, "loop_order": ["p", "m1"]}
    with pytest.raises(ParamError):
        split_params({"workload": "w", "arch": "a", "mapping": "m", "lower": 1})
