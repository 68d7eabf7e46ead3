import pytest
import yaml

import archsim
from archsim import SpecError, load_arch, preset_names
from archsim.spec import PRESET_DIR

PRESET = PRESET_DIR / "generic_array.yaml"


def test_preset_loads(generic):
    assert "generic_array" in preset_names()
    assert {"fusemax", "flat"} <= set(preset_names())
    assert generic.family == "spatial"
    assert generic.clock_hz == 1e9
    assert generic.units["pe2d"].lanes == 256 and generic.units["pe1d"].lanes == 16
    assert generic.units["pe2d"].cycles_per_op["exp"] == 7
    assert generic.levels["glb"].capacity_bytes == 256 * 1024
    assert generic.levels["dram"].access_bytes == 8
    e = generic.energy_pj
    assert e["pe2d"]["mac"] == 17.1645 and e["pe1d"]["div"] == 36.25
    assert e["pe2d"]["exp"] == pytest.approx(6 * 17.1645 + 8.3395)
    assert e["dram"]["read"] == 249.6 and e["pe2d"]["max"] == 0.028
    assert generic.placeholders == ("energy_pj.glb.read", "energy_pj.glb.write")
    assert generic.sources["energy_pj.glb.read"].startswith("placeholder")
    assert generic.sources["clock_hz"].startswith("assumption:")
    assert "fusemax.md" in generic.sources["energy_pj.pe2d.mac"]


def test_every_number_has_a_source(generic):
    flat = {}

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            flat[path] = node
    data = generic.model_dump(exclude={"sources", "placeholders", "path"})
    walk(data, "")
    # count/channels-free defaults are not in the file; everything else must carry a source
    missing = [p for p in flat if p not in generic.sources and not p.endswith(".count")]
    assert missing == []


def test_frozen(generic):
    with pytest.raises(Exception):
        generic.clock_hz = 2.0


def test_override_value_and_source():
    a = load_arch("generic_array", {"levels.glb.capacity_bytes": 1048576,
                                    "energy_pj.glb.read": 30.0})
    assert a.levels["glb"].capacity_bytes == 1048576
    assert a.sources["levels.glb.capacity_bytes"] == "override"
    assert a.placeholders == ("energy_pj.glb.write",)
    b = load_arch("generic_array", {"units.pe2d.count": 4})  # optional field absent from the file
    assert b.units["pe2d"].count == 4


def test_load_by_path(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text(PRESET.read_text())
    assert load_arch(str(p)).name == "generic_array"


def _write(tmp_path, mutate) -> str:
    data = yaml.safe_load(PRESET.read_text())
    mutate(data)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    return str(p)


def _err(path, overrides=None) -> str:
    with pytest.raises(SpecError) as info:
        load_arch(path, overrides or {})
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_unknown_key(tmp_path):
    p = _write(tmp_path, lambda d: d["levels"]["glb"].update(banks={"value": 4, "source": "x"}))
    assert _err(p).startswith(f"{p}: levels.glb.banks: unknown key")


def test_wrong_type(tmp_path):
    p = _write(tmp_path, lambda d: d["levels"]["glb"].update(
        capacity_bytes={"value": 1.5, "source": "x"}))
    msg = _err(p)
    assert msg.startswith(f"{p}: levels.glb.capacity_bytes: ") and "integer" in msg


def test_value_not_a_number(tmp_path):
    p = _write(tmp_path, lambda d: d["units"]["pe2d"].update(rows={"value": "16", "source": "x"}))
    assert _err(p).startswith(f"{p}: units.pe2d.rows: value must be a number")


def test_wrong_kind(tmp_path):
    p = _write(tmp_path, lambda d: d["units"]["pe2d"].update(kind="systolic"))
    assert _err(p).startswith(f"{p}: units.pe2d.kind: ")


def test_missing_source(tmp_path):
    p = _write(tmp_path, lambda d: d["levels"]["dram"].update(latency_cycles={"value": 100}))
    assert _err(p).startswith(f"{p}: levels.dram.latency_cycles: missing source")


def test_bare_number(tmp_path):
    p = _write(tmp_path, lambda d: d["energy_pj"]["pe2d"].update(mac=17.1645))
    assert _err(p).startswith(f"{p}: energy_pj.pe2d.mac: bare number 17.1645 without a source")


def test_assumption_needs_reason(tmp_path):
    p = _write(tmp_path, lambda d: d.update(clock_hz={"value": 1e9, "source": "assumption"}))
    assert _err(p).startswith(f"{p}: clock_hz: an assumption must say why")


@pytest.mark.parametrize("field,value", [("capacity_bytes", 0), ("bandwidth_bytes_per_cycle", -1.0),
                                         ("latency_cycles", -3), ("channels", 0)])
def test_impossible_value(tmp_path, field, value):
    p = _write(tmp_path, lambda d: d["levels"]["glb"].update({field: {"value": value, "source": "x"}}))
    msg = _err(p)
    assert msg.startswith(f"{p}: levels.glb.{field}: ") and "greater than" in msg


def test_missing_field(tmp_path):
    p = _write(tmp_path, lambda d: d["levels"]["glb"].pop("access_bytes"))
    assert _err(p) == f"{p}: levels.glb.access_bytes: missing required field"


def test_energy_component_must_exist(tmp_path):
    p = _write(tmp_path, lambda d: d["energy_pj"].update(noc={"hop": {"value": 1.0, "source": "x"}}))
    assert _err(p).startswith(f"{p}: energy_pj.noc: not a unit or level")


def test_loader_fields_not_in_file(tmp_path):
    p = _write(tmp_path, lambda d: d.update(sources={}))
    assert _err(p).startswith(f"{p}: sources: set by the loader")


@pytest.mark.parametrize("path", ["levels.l2.capacity_bytes", "levels.glb.size_bytes",
                                  "units.pe2d.lanes", "energy_pj.pe2d.fma", "bogus",
                                  "levels.glb.capacity_bytes.x"])
def test_unknown_override_path(path):
    msg = _err("generic_array", {path: 1})
    assert msg.startswith(f"archsim/presets/generic_array.yaml: {path}: unknown override path")


def test_bad_override_value():
    msg = _err("generic_array", {"levels.glb.capacity_bytes": -5})
    assert msg.startswith("archsim/presets/generic_array.yaml: levels.glb.capacity_bytes: ")


def test_unknown_preset():
    msg = _err("no_such_machine")
    assert msg.startswith("no_such_machine: unknown preset") and "generic_array" in msg


def test_yaml_syntax_error(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    assert _err(str(p)).startswith(f"{p}: <yaml line")


def test_spec_error_is_value_error():
    assert issubclass(SpecError, ValueError)
    assert archsim.SpecError is SpecError


@pytest.mark.parametrize("name", preset_names())
def test_every_shipped_preset_loads_with_a_source_for_every_number(name):
    arch = load_arch(name)
    assert arch.sources and all(src.strip() for src in arch.sources.values())
    assert set(arch.placeholders) <= {p for p, src in arch.sources.items() if src.startswith("placeholder")}


def test_dedicated_units_overlap_the_alu():
    flat = load_arch("flat").units["pe1d"]
    fusemax = load_arch("fusemax").units["pe1d"]
    softmax = {"max": 512, "sub": 512, "exp": 512, "add": 512, "div": 512}
    assert flat.cycles_for(softmax, 256) == 4 * 2           # exp beside the ALU's 4 operators
    assert fusemax.cycles_for(softmax, 256) == (4 + 7) * 2  # exp on the MAC datapath: serial
    assert flat.cycles_for({"exp": 512}, 256) == 2          # the exp unit alone
    assert flat.cycles_for({"add": 10}, 10_000) == 1        # lanes capped by the array


def test_dedicated_unit_for_an_unknown_operator_is_rejected(tmp_path):
    raw = yaml.safe_load(PRESET.read_text())
    raw["units"]["pe1d"]["dedicated_units_per_pe"] = {"sqrt": {"value": 1, "source": "assumption: test"}}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(raw))
    assert _err(p).startswith(f"{p}: units.pe1d: dedicated_units_per_pe.sqrt: not in cycles_per_op")
