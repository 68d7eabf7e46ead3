"""The optimum group-size model: E(G) parts and the two balance rules."""
import math

import pytest

import archsim
from mappings.optimum_group import (RULES, coefficients, model_energy_pj, optimum_group_size,
                                    register_rule)
from workloads.conv_layers import ConvLayer

LAYER = ConvLayer("x", 256, 256, 14, 14, groups=32)   # the reference's worked layer


@pytest.mark.parametrize("preset, g_star", [("p100_pcie", 6.5), ("p100_sxm2", 7.6), ("p4000", 12.5)])
def test_ridge_rule_reproduces_the_papers_fp32_values(preset, g_star):
    assert optimum_group_size(LAYER, archsim.load_arch(preset), "ridge") == pytest.approx(g_star, abs=0.1)


def test_coefficients_match_the_worked_layer():
    co = coefficients(LAYER)
    assert (co.macs_per_g, co.fixed_words, co.words_per_g) == (451_584, 100_352, 2_304)
    assert co.arithmetic_intensity(8) == pytest.approx(30.41, abs=0.01)


def test_energy_rule_balances_compute_and_data_movement():
    arch = archsim.load_arch("v100_sxm2")
    g = optimum_group_size(LAYER, arch, "energy")
    parts = model_energy_pj(LAYER, arch, g)
    assert parts["compute"] == pytest.approx(parts["dram"] + parts["l2"], rel=1e-9)
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"))


def test_energy_per_mac_falls_with_group_size():
    arch = archsim.load_arch("p100_pcie")
    per_mac = [model_energy_pj(LAYER, arch, G)["total"] / coefficients(LAYER).macs(G) for G in (1, 4, 16, 256)]
    assert per_mac == sorted(per_mac, reverse=True)


def test_never_balanced_is_dense_and_rules_are_pluggable():
    arch = archsim.load_arch("p4000")
    assert math.isinf(optimum_group_size(LAYER, arch, "energy"))   # GDDR5 words cost more than any MAC saves
    register_rule("test_half_ridge", lambda co, a, u, w, lv: RULES["ridge"](co, a, u, w, lv) / 2)
    try:
        assert optimum_group_size(LAYER, arch, "test_half_ridge") == pytest.approx(
            optimum_group_size(LAYER, arch, "ridge") / 2)
    finally:
        RULES.pop("test_half_ridge")
    with pytest.raises(ValueError, match="rule"):
        optimum_group_size(LAYER, arch, "bogus")
