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
