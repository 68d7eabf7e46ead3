"""PIUMA machine model: latency hiding (IPC formula), slot atomics, bandwidth cap, determinism."""
import numpy as np
import pytest
import simpy

import archsim
from archsim.piuma import Batch, PiumaProgram, Scratchpad, Stage, simulate_piuma


def one_mtp(L):
    return archsim.load_arch("piuma", {"piuma.mtps_per_core": 1, "piuma.stps_per_core": 0,
                                       "levels.dram.latency_cycles": L})


def mtp_program(T, n=100, m=0.2, quanta=200, nbytes=0):
    cols = {"instrs": np.full(T * quanta, n), "dram_loads": np.full(T * quanta, int(m * n)),
            "dram_read_bytes": np.full(T * quanta, nbytes)}
    batch = Batch(cols, owner=np.repeat(np.arange(T), quanta))
    return PiumaProgram("ipc", (Stage("s", ((batch,),)),), T)


@pytest.mark.parametrize("T", [1, 4, 16])
@pytest.mark.parametrize("L", [50, 100, 200])
def test_one_mtp_ipc_matches_latency_hiding_formula(T, L):
    m = 0.2
    result = simulate_piuma(mtp_program(T, m=m), one_mtp(L))
    expected = min(1.0, T / (1 + m * (L - 1)))
    assert result.counters["ipc"] == pytest.approx(expected, rel=0.05)


def test_bandwidth_binds_and_is_never_exceeded():
    arch = one_mtp(50)
    free = simulate_piuma(mtp_program(16), arch)
    heavy = simulate_piuma(mtp_program(16, nbytes=20_000), arch)
    assert heavy.cycles > 1.5 * free.cycles                   # DRAM, not issue, binds
    assert heavy.counters["dram_bytes_per_cycle"] <= heavy.counters["roof_dram_bytes_per_cycle"]
    assert heavy.counters["dram_bytes_per_cycle"] > 0.9 * heavy.counters["roof_dram_bytes_per_cycle"]


def test_stp_overlaps_memory_ops():
    arch = archsim.load_arch("piuma", {"piuma.mtps_per_core": 1, "piuma.threads_per_mtp": 1})
    cols = {"instrs": np.full(10, 100), "dram_loads": np.full(10, 20)}
    mtp = simulate_piuma(PiumaProgram("p", (Stage("s", ((Batch(cols, np.zeros(10, int)),),)),), 2), arch)
    stp = simulate_piuma(PiumaProgram("p", (Stage("s", ((Batch(cols, np.ones(10, int)),),)),), 2), arch)
    assert stp.cycles < mtp.cycles / 4


def test_atomics_on_one_slot_serialise_other_banks_do_not():
    env = simpy.Environment()
    spad = Scratchpad(env, banks=4, latency=8, occupancy=2)
    for who, slot in (("a", 5), ("b", 5), ("c", 6), ("d", 5)):
        env.process(spad.atomic(who, slot))
    env.run()
    assert spad.log == [(0, "a", 5), (0, "c", 6), (2, "b", 5), (4, "d", 5)]


def test_dynamic_pull_and_determinism():
    arch = archsim.load_arch("piuma8")
    rng = np.random.default_rng(1)
    cols = {"instrs": rng.integers(10, 5000, 400), "dram_loads": rng.integers(0, 50, 400),
            "atomics": rng.integers(0, 30, 400)}
    prog = PiumaProgram("d", (Stage("s", per_core=tuple((Batch(cols),) for _ in range(8))),), 66)
    a, b = simulate_piuma(prog, arch), simulate_piuma(prog, arch)
    assert a.cycles == b.cycles and a == b
    assert a.actions["spad.atomic"] == 8 * cols["atomics"].sum()


def test_non_piuma_arch_is_refused():
    with pytest.raises(ValueError, match="not a PIUMA-family preset"):
        simulate_piuma(mtp_program(1), archsim.load_arch("generic_array"))


def test_piuma_section_required_for_piuma_family(tmp_path):
    text = (archsim.spec.PRESET_DIR / "piuma.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.split("\npiuma:\n")[0] + "\nenergy_pj:\n" + text.split("\nenergy_pj:\n")[1])
    with pytest.raises(archsim.SpecError, match="bad.yaml: piuma: required"):
        archsim.load_arch(str(bad))


def test_remote_atomics_occupy_the_other_cores_banks_and_cost_network_energy():
    """Core 0 hammers remote atomics; core 1 only does local ones. Core 1's banks are then
    shared with core 0's traffic, so the run takes longer than core 1 alone."""
    arch = archsim.load_arch("piuma8", {"piuma.atomic_occupancy_cycles": 20, "piuma.atomic_latency_cycles": 1,
                                        "piuma.network_latency_cycles": 0})   # no stall: only banks bind
    n = 64
    local = {"instrs": np.full(n, 10), "atomics": np.full(n, 200)}
    remote = {"instrs": np.full(n, 10), "remote_atomics": np.full(n, 200 * 7)}
    idle = {"instrs": np.full(1, 1)}
    alone = PiumaProgram("a", (Stage("s", per_core=((Batch(idle),), (Batch(local),))),), 16)
    both = PiumaProgram("b", (Stage("s", per_core=((Batch(remote),), (Batch(local),))),), 16)
    r_alone, r_both = simulate_piuma(alone, arch), simulate_piuma(both, arch)
    assert r_both.cycles > 1.1 * r_alone.cycles
    assert r_both.actions["spad.network_hop"] == 2 * n * 200 * 7
    e = archsim.energy(r_both, arch)
    assert e.by_action["spad.network_hop"] == pytest.approx(2 * n * 200 * 7 * 32.0)


@pytest.mark.parametrize("path,instead", [
    ("units.mtp.count", "piuma.mtps_per_core"), ("units.stp.count", "piuma.stps_per_core"),
    ("units.dma.count", "nothing"), ("levels.spad.bandwidth_bytes_per_cycle", "piuma.spad_banks"),
    ("levels.cache.bandwidth_bytes_per_cycle", "levels.cache.latency_cycles"),
    ("levels.dram.channels", "levels.dram.bandwidth_bytes_per_cycle")])
def test_overriding_a_field_the_simulator_does_not_read_is_refused(path, instead):
    with pytest.raises(archsim.SpecError, match=rf"piuma8.yaml: {path}: not read by the piuma .*set {instead}"):
        archsim.load_arch("piuma8", {path: 8})


def test_fields_the_simulator_reads_change_the_result():
    cols = {"instrs": np.full(64, 1000), "dram_loads": np.full(64, 100), "atomics": np.full(64, 3000),
            "dram_read_bytes": np.full(64, 800)}
    prog = PiumaProgram("r", (Stage("s", per_core=tuple((Batch(cols),) for _ in range(8))),), 16)
    base = simulate_piuma(prog, archsim.load_arch("piuma8")).cycles
    for path, value in (("piuma.mtps_per_core", 1), ("levels.dram.latency_cycles", 400),
                        ("piuma.spad_banks", 1), ("levels.dram.bandwidth_bytes_per_cycle", 1.0)):
        assert simulate_piuma(prog, archsim.load_arch("piuma8", {path: value})).cycles != base, path
