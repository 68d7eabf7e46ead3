"""Invariants between the engine and the closed-form bound."""

import random

import pytest

from archsim import Op, Program, bound, simulate

UNITS = ("pe2d", "pe1d")
LEVELS = ("glb", "dram")


def random_program(seed: int, n: int = 60, with_alloc: bool = True) -> Program:
    rng = random.Random(seed)
    ops = []
    for i in range(n):
        deps = tuple(sorted(rng.sample(range(i), k=min(i, rng.randint(0, 3))))) if i else ()
        unit = rng.choice(UNITS + (None,))
        reads = {lv: rng.choice((0, 8, 40, 100)) for lv in LEVELS if rng.random() < 0.5}
        writes = {lv: rng.choice((0, 4, 64)) for lv in LEVELS if rng.random() < 0.3}
        size = rng.choice((10, 30, 60)) if with_alloc and rng.random() < 0.5 else 0
        ops.append(Op(f"o{i}", unit, rng.randint(0, 20) if unit else 0, reads=reads, writes=writes,
                      alloc={"glb": size}, free={"glb": size}, deps=deps))
    return Program(f"rand{seed}", tuple(ops))


@pytest.mark.parametrize("seed", range(25))
def test_sim_never_beats_bound(toy, toy_arch, seed):
    archs = (toy, toy_arch(**{"levels.dram.channels": 3, "units.pe1d.count": 2}))
    for arch in archs:
        p = random_program(seed)
        r, b = simulate(p, arch), bound(p, arch)
        assert r.cycles >= b.cycles >= b.critical_path_cycles
        assert b.cycles == max(b.critical_path_cycles, *b.resource_cycles.values())
        for name, c in b.resource_cycles.items():
            assert r.cycles >= c, name


def test_chain_equals_bound(toy, toy_arch):
    rng = random.Random(7)
    ops = [Op(f"c{i}", rng.choice(UNITS), rng.randint(0, 30),
              reads={rng.choice(LEVELS): rng.randint(0, 200)}, deps=(i - 1,) if i else ())
           for i in range(50)]
    p = Program("chain", tuple(ops))
    for arch in (toy, toy_arch(**{"levels.dram.channels": 4})):
        r, b = simulate(p, arch), bound(p, arch)
        assert r.cycles == b.cycles == b.critical_path_cycles
        assert b.bottleneck == "critical_path"   # ties go to the critical path (archsim/bound.py)


def test_independent_ops_on_one_unit_equal_sum(toy):
    cycles = [3, 9, 1, 14, 6, 2]
    p = Program("par", tuple(Op(f"o{i}", "pe2d", c) for i, c in enumerate(cycles)))
    r, b = simulate(p, toy), bound(p, toy)
    assert r.cycles == b.cycles == sum(cycles) == r.busy_cycles["pe2d"]
    assert b.bottleneck == "pe2d" and b.critical_path_cycles == max(cycles)


def test_bound_resource_sums_match_busy(toy):
    p = random_program(3, with_alloc=False)
    r, b = simulate(p, toy), bound(p, toy)
    assert b.resource_cycles == r.busy_cycles  # single-server resources: sum of holds
    assert b.to_dict()["cycles"] == b.cycles


def test_rerun_is_deterministic(toy):
    p = random_program(11)
    assert simulate(p, toy, trace=True) == simulate(p, toy, trace=True)
    assert bound(p, toy) == bound(p, toy)
