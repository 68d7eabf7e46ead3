"""FuseMax family: presets, mappers, steady-state extrapolation, legality, evaluator."""
import math

import numpy as np
import pytest

import archsim
import workloads
from mappings import MappingError, get_mapper
from mappings.executors.fusemax import checks, run_schedule
from mappings.executors.attention import attention_reference
from mappings.fusemax import CASCADE_OF, PRESET_OF, mapper_for, search_gemm
from mappings.fusemax.attention import build_attention
from mappings.fusemax.gemm import build_gemm
from mappings.fusemax.steady import estimate

CONFIGS = ("unfused", "flat", "cascade", "architecture", "binding")


def _map(config, L=4096, E=64, instances=3, overrides=None, **opts):
    arch = archsim.load_arch(PRESET_OF[config], overrides or {})
    shape = dict(M=L, P=L, E=E, F=E)
    if CASCADE_OF[config] == "attention_1pass":
        shape["M0"] = 256
    cascade = workloads.build(CASCADE_OF[config], **shape)
    return arch, cascade, mapper_for(config).map(cascade, arch, instances=instances, **opts)


def test_presets_and_area():
    fm, fl = archsim.load_arch("fusemax"), archsim.load_arch("flat")
    assert fm.units["pe2d"].lanes == 65536 and fm.units["pe1d"].lanes == 256
    assert fm.levels["glb"].capacity_bytes == 16 << 20 and fl.levels["glb"].capacity_bytes == 32 << 20
    assert fm.units["pe1d"].cycles_per_op["exp"] == 7 and fl.units["pe1d"].cycles_per_op["exp"] == 1
    assert fm.clock_hz == 940e6
    assert abs(fm.levels["dram"].bandwidth_bytes_per_cycle * fm.clock_hz - 400 * 2**30) < 1e6
    for arch in (fm, fl):
        assert archsim.area_um2(arch) == pytest.approx(arch.area_um2)
    small = archsim.load_arch("fusemax", {"units.pe2d.rows": 128, "units.pe2d.cols": 128})
    assert archsim.area_um2(small)["pe2d"] == pytest.approx(fm.area_um2["pe2d"] / 4)


@pytest.mark.parametrize("config", CONFIGS)
def test_extrapolation_matches_full_simulation(config):
    overrides = {"levels.glb.capacity_bytes": 3 << 20} if config == "flat" else {}
    arch, _, mp = _map(config, L=4096, instances=8, overrides=overrides)
    if config == "flat":
        assert mp.spill_fraction > 0.2   # the small buffer forces FLAT to spill
    full = archsim.simulate(build_attention(mp, arch, mp.blocks, mp.M1), arch)
    est = estimate(lambda nb, nm: build_attention(mp, arch, nb, nm), arch, mp.blocks, mp.M1, full_ops=0)
    assert est.fidelity == "event+steady-state"
    assert est.ops < sum(1 for _ in build_attention(mp, arch, mp.blocks, mp.M1).ops)
    assert abs(est.cycles / full.cycles - 1) < 0.005
    for key in ("pe2d.mac", "dram.read", "dram.write"):
        if key in full.actions:
            assert abs(est.actions[key] / full.actions[key] - 1) < 0.005


def test_gemm_extrapolation_and_search():
    arch = archsim.load_arch("fusemax")
    gm = search_gemm(arch, 64 * 1024, 768, 3072)
    assert (2 * (gm.Mb * gm.Kb + gm.Kb * gm.Nb) + gm.Mb * gm.Nb) * 2 <= arch.levels["glb"].capacity_bytes
    mapper = get_mapper("fusemax_gemm")
    full = archsim.simulate(mapper.lower(None, gm, arch), arch)
    est = estimate(lambda nb, nm: build_gemm(gm, arch, nb), arch, gm.row_blocks, 1, full_ops=0)
    assert abs(est.cycles / full.cycles - 1) < 0.005
    assert full.actions["pe2d.mac"] == 64 * 1024 * 768 * 3072
    assert full.cycles >= 64 * 1024 * 768 * 3072 / 65536   # never beats the array's peak


def test_binding_period_matches_closed_form():
    """Cross-check: in steady state a binding tile costs max(2D, 1D) cycles per tile."""
    arch, _, mp = _map("binding", L=65536, instances=1)
    t2 = 64 + 1 + 1 + 7 + 1 + 64           # BQK, LM | SLN (sub + exp), SLD, SLNV
    t1 = 1 + 1 + 7 + 2 + 2 * 64            # RM, PRM (sub + exp) | SPD, RD, SPNV, RNV
    a = archsim.simulate(build_attention(mp, arch, 1, 4), arch).cycles
    b = archsim.simulate(build_attention(mp, arch, 1, 8), arch).cycles
    per_tile = (b - a) / (4 * mp.P1)
    assert per_tile == pytest.approx(max(t1, t2), rel=0.01)


def test_flat_is_softmax_bound_and_binding_is_not():
    arch, _, mp = _map("flat", L=1024, instances=2)
    est = mapper_for("flat").cost(mp, arch)
    per_tile = est.cycles / (mp.blocks * mp.M1)
    # max, sub, add, div per element on the 1D ALU; exp beside it on the dedicated exp unit
    assert per_tile == pytest.approx(4 * 256, rel=0.05)
    arch_b, _, mb = _map("binding", L=1024, instances=2)
    assert mapper_for("binding").cost(mb, arch_b).cycles < est.cycles / 5


def test_every_config_never_beats_its_bound():
    for config in CONFIGS:
        arch, _, mp = _map(config, L=2048, instances=2)
        prog = build_attention(mp, arch, mp.blocks, mp.M1)
        assert archsim.simulate(prog, arch).cycles >= archsim.bound(prog, arch).cycles


def test_flat_spills_at_long_sequences_only():
    assert _map("flat", L=4096)[2].spill_fraction == 0
    assert _map("flat", L=1 << 20)[2].spill_fraction > 0.9


def test_register_file_overflow_is_rejected():
    arch = archsim.load_arch("fusemax", {"units.pe2d.rows": 16, "units.pe2d.cols": 16})
    cascade = workloads.build("attention_1pass", M=1024, P=1024, E=64, F=64, M0=256)
    with pytest.raises(MappingError, match=r"tensor BQK.*pe2d register file.*B"):
        mapper_for("binding").map(cascade, arch)


def test_global_buffer_overflow_is_rejected():
    arch = archsim.load_arch("fusemax")
    cascade = workloads.build("attention_1pass", M=1 << 20, P=1 << 20, E=64, F=64, M0=256)
    with pytest.raises(MappingError, match=r"tensor Q\+RM\+RD\+RNV.*needs \d+ B in glb.*capacity is 16777216 B"):
        mapper_for("binding").map(cascade, arch, P1=1024)
    with pytest.raises(MappingError, match="workload"):
        mapper_for("flat").map(cascade, arch)


def test_schedule_checks_pass_and_catch_a_bad_order():
    results = {name: check() for name, check in checks().items()}
    assert all(r.ok for r in results.values()), [n for n, r in results.items() if not r.ok]
    arch = archsim.load_arch("fusemax", {"units.pe2d.rows": 8, "units.pe2d.cols": 8, "units.pe1d.cols": 8})
    cascade = workloads.build("attention_1pass", M=32, P=16, E=8, F=8, M0=8)
    mapper = get_mapper("fusemax_binding")
    mp = mapper.map(cascade, arch)
    prog = mapper.lower(cascade, mp, arch)
    trace = archsim.simulate(prog, arch, trace=True).trace
    rng = np.random.default_rng(0)
    Q, K, V = rng.standard_normal((8, 16)), rng.standard_normal((8, 32)), rng.standard_normal((8, 32))
    bad = [(i, -s, e) for i, s, e in trace]          # reversed order: consumers before producers
    got = run_schedule(prog, bad, Q, K, V, mp.M0, mp.P0, mp.P1)
    assert not np.allclose(got, attention_reference(Q, K, V), equal_nan=False)


def test_evaluator_point_columns_and_scope():
    from sweeps.evaluators import get_evaluator
    ev = get_evaluator("fusemax")
    base = {"model": "bert", "seq_len": 1024, "config": "binding", "batch": 64}
    att = ev.evaluate({**base, "scope": "attention"}, 0)
    e2e = ev.evaluate({**base, "scope": "end_to_end"}, 0)
    for key in ("latency_s", "energy_pj", "util_pe2d", "util_pe1d", "dram_bytes"):
        assert math.isfinite(att[key]) and att[key] >= 0
    assert e2e["latency_s"] > att["latency_s"] and e2e["energy_pj"] > att["energy_pj"]
    assert att["util_pe2d"] >= 0.85
    with pytest.raises(ValueError, match="scope"):
        ev.evaluate({**base, "scope": "decoder"}, 0)
    with pytest.raises(ValueError, match="model"):
        ev.evaluate({**base, "model": "gpt9", "scope": "attention"}, 0)


@pytest.mark.slow
def test_full_sweep_reproduces_headline_shape(tmp_path):
    from sweeps.cli import main
    assert main(["sweep", "fusemax", "--out", str(tmp_path), "--jobs", "2"]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "Headline means" in text
