import math

import pytest

import archsim
from archsim import MissingEnergyError, Op, Program, energy, simulate


def test_energy_prices_actions(generic):
    p = Program("e", (Op("a", "pe2d", 10, work={"mac": 100, "exp": 2}, reads={"dram": 16}),
                      Op("b", "pe1d", 1, work={"div": 3}, writes={"dram": 8}, deps=(0,))))
    e = energy(simulate(p, generic), generic)
    assert e.by_action["pe2d.mac"] == pytest.approx(100 * 17.1645)
    assert e.by_action["pe2d.exp"] == pytest.approx(2 * (6 * 17.1645 + 8.3395))
    assert e.by_action["dram.read"] == pytest.approx(2 * 249.6)
    assert e.by_action["dram.write"] == pytest.approx(249.6)
    assert e.by_action["pe1d.div"] == pytest.approx(3 * 36.25)
    assert e.total_pj == sum(e.by_action.values())
    assert math.isclose(e.total_pj, sum(e.by_component.values()), rel_tol=1e-12)
    assert set(e.by_component) == {"pe2d", "pe1d", "dram"}
    assert e.placeholders == ()


def test_placeholders_used_are_listed(generic):
    p = Program("g", (Op("a", None, 0, reads={"glb": 64}),))
    e = energy(simulate(p, generic), generic)
    assert e.placeholders == ("energy_pj.glb.read",)
    assert e.by_action == {"glb.read": pytest.approx(2 * 18.75)}


def test_missing_entry_raises(generic):
    data = generic.model_dump()
    del data["energy_pj"]["pe2d"]["exp"]
    arch = archsim.Arch.model_validate(data)
    p = Program("m", (Op("a", "pe2d", 7, work={"exp": 1}),))
    with pytest.raises(MissingEnergyError, match=r"'generic_array'.*'pe2d\.exp'"):
        energy(simulate(p, arch), arch)
    # a zero count needs no entry
    p0 = Program("z", (Op("a", "pe2d", 7, work={"exp": 0, "mac": 1}),))
    assert energy(simulate(p0, arch), arch).total_pj == pytest.approx(17.1645)


def test_breakdown_serializes(generic):
    e = energy(simulate(Program("s", (Op("a", "pe2d", 1, work={"add": 1}),)), generic), generic)
    d = e.to_dict()
    assert d["total_pj"] == pytest.approx(8.3395) and d["by_component"] == {"pe2d": 8.3395}


def test_sram_energy_horowitz_anchors_and_sqrt_rule():
    from archsim.energy import sram_access_pj_per_64b as sram
    assert sram(8 * 1024) == pytest.approx(10.0)
    assert sram(32 * 1024) == pytest.approx(20.0)
    assert sram(1 << 20) == pytest.approx(100.0)
    # beyond 1 MB one rule: sqrt(capacity); 16 MiB = 4x, 32 MiB = sqrt(32)x the 1 MB figure
    assert sram(16 << 20) == pytest.approx(400.0)
    assert sram(32 << 20) == pytest.approx(100.0 * 32 ** 0.5)
    # between anchors: a power law through the neighbours, monotone
    caps = [4096, 8192, 20000, 32768, 100000, 1 << 20, 4 << 20]
    values = [sram(c) for c in caps]
    assert values == sorted(values)
    with pytest.raises(ValueError, match="capacity_bytes"):
        sram(0)


def _with_rf(arch, reads, writes, rf_read=1.5, rf_write=1.0):
    data = arch.model_dump()
    data["units"]["pe2d"]["register_file_reads_per_op"] = reads
    data["units"]["pe2d"]["register_file_writes_per_op"] = writes
    data["energy_pj"]["pe2d"].update(rf_read=rf_read, rf_write=rf_write)
    return archsim.Arch.model_validate(data)


def test_register_file_accesses_counted_per_operator_and_priced(generic):
    ops = generic.units["pe2d"].cycles_per_op
    reads = {op: 2 for op in ops} | {"mac": 1}
    writes = {op: 1 for op in ops}
    arch = _with_rf(generic, reads, writes)
    p = Program("rf", (Op("a", "pe2d", 10, work={"mac": 100, "max": 7}),))
    r = simulate(p, arch)
    assert r.actions["pe2d.rf_read"] == 100 * 1 + 7 * 2
    assert r.actions["pe2d.rf_write"] == 100 + 7
    e = energy(r, arch)
    assert e.by_component["pe2d_rf"] == pytest.approx(114 * 1.5 + 107 * 1.0)
    assert e.by_component["pe2d"] == pytest.approx(100 * 17.1645 + 7 * e.by_action["pe2d.max"] / 7)
    assert math.isclose(e.total_pj, sum(e.by_component.values()), rel_tol=1e-12)
    # a unit without tables counts no register-file actions
    assert "pe2d.rf_read" not in simulate(p, generic).actions


def test_register_file_table_must_cover_every_operator(generic):
    ops = generic.units["pe2d"].cycles_per_op
    partial = {op: 1 for op in ops if op != "exp"}
    with pytest.raises(ValueError, match="register_file_reads_per_op.exp: missing"):
        _with_rf(generic, partial, {op: 1 for op in ops})
    with pytest.raises(ValueError, match="register_file_writes_per_op.foo: not in cycles_per_op"):
        _with_rf(generic, {op: 1 for op in ops}, {**{op: 1 for op in ops}, "foo": 1})
