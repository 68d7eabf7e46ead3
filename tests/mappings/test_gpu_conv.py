"""GPU grouped/depthwise/dense conv kernels, their choice, the gpu_group_conv mapper and the tiled
executor that follows their schedule."""
import numpy as np
import pytest

import archsim
import workloads
from archsim.families import get_family
from mappings import MappingError, map_cascade
from mappings.executors import registry
from mappings.executors.group_conv import group_conv_reference, group_conv_tiled
from mappings.gpu.conv import (DIRECT_TILES, IMPLICIT_TILES, ConvTile, choose_conv_kernel, conv_kernel,
                               estimate_cycles, simulated_cost)
from workloads.conv_layers import ConvLayer


@pytest.fixture(scope="module")
def v100():
    return archsim.load_arch("v100_sxm2")


def test_direct_kernel_charges_exactly_the_layer_macs_when_tiles_divide(v100):
    layer = ConvLayer("x", 64, 64, 32, 32, groups=16)
    k = conv_kernel("x", layer, DIRECT_TILES[0], 2, 2, "X", "W", "Y")
    assert k.work["fp32.mac"] == layer.macs(2)
    assert k.load_bytes >= sum(k.reads.values())


def test_implicit_gemm_pads_small_groups_to_fragments(v100):
    dw = ConvLayer("dw", 64, 64, 32, 32, groups=64)
    k = conv_kernel("dw", dw, IMPLICIT_TILES[0], 1, 2, "X", "W", "Y")
    assert k.work["mma.mac"] == pytest.approx(64 * dw.macs(1))      # 8 x 8 padding of G = K = 1
    dense = ConvLayer("d", 64, 128, 32, 32, groups=1)
    k = conv_kernel("d", dense, IMPLICIT_TILES[0], 1, 2, "X", "W", "Y")
    assert k.work["mma.mac"] == pytest.approx(dense.macs(1))


def test_auto_choice_depthwise_direct_dense_tensor_cores(v100):
    _, t_dw = choose_conv_kernel(ConvLayer("dw", 256, 256, 28, 28, groups=256), v100, 64, 2)
    _, t_dense = choose_conv_kernel(ConvLayer("d", 256, 256, 28, 28, groups=1), v100, 64, 2)
    assert (t_dw.kind, t_dense.kind) == ("direct", "implicit_gemm")


@pytest.mark.parametrize("preset, groups", [("v100_sxm2", 32), ("p100_pcie", 16), ("h200_sxm", 64)])
def test_choice_simulates_candidates_and_select_picks_its_objective(preset, groups):
    """select=time is no slower, select=energy no costlier, than the other's pick, and both are no
    worse than the best candidate by the closed-form estimate alone (it is among the simulated)."""
    arch = archsim.load_arch(preset)
    layer = ConvLayer("x", 128, 128, 28, 28, groups=groups)
    k_time, _ = choose_conv_kernel(layer, arch, 16, 2, select="time")
    k_energy, _ = choose_conv_kernel(layer, arch, 16, 2, select="energy")
    menu = IMPLICIT_TILES + DIRECT_TILES if "mma" in arch.units else DIRECT_TILES
    fits = [conv_kernel("conv", layer, t, 16, 2, "X", "W", "Y") for t in menu]
    fits = [k for k in fits if k.smem_bytes <= arch.gpu.smem_per_cta_bytes]
    by_estimate = min(fits, key=lambda k: estimate_cycles(k, arch))
    assert simulated_cost(k_time, arch, "time") <= simulated_cost(k_energy, arch, "time")
    assert simulated_cost(k_energy, arch, "energy") <= simulated_cost(k_time, arch, "energy")
    assert simulated_cost(k_time, arch, "time") <= simulated_cost(by_estimate, arch, "time")


def test_mapper_runs_the_cascade_and_rejects_bad_options(v100):
    c = workloads.build("group_conv", GRP=8, CI=16, CO=16, OY=14, OX=14, R=3, S=3, N=4)
    m = map_cascade("gpu_group_conv", c, v100)
    r = get_family("gpu").simulate(m.program, v100)
    layer_macs = 8 * 16 * 16 * 14 * 14 * 9 * 4
    done = r.actions.get("mma.mac", 0) + r.actions.get("fp32.mac", 0)
    assert done >= layer_macs and r.seconds > 0
    with pytest.raises(MappingError, match="kernel"):
        map_cascade("gpu_group_conv", c, v100, kernel="winograd")
    with pytest.raises(MappingError, match="select"):
        map_cascade("gpu_group_conv", c, v100, select="power")
    assert map_cascade("gpu_group_conv", c, v100, select="energy").program.kernels
    with pytest.raises(MappingError, match="batch"):
        map_cascade("gpu_group_conv", c, v100, batch=4)
    strided = map_cascade("gpu_group_conv", workloads.build("group_conv", GRP=8, CI=16, CO=16, OY=7, OX=7,
                                                            N=4, STRIDE=2), v100)
    assert 4 * strided.program.kernels[0].writes["Y"] == m.program.kernels[0].writes["Y"]   # 7x7 vs 14x14


def test_mapper_chooses_the_conv_kernel_once_and_reports_its_tile(v100, monkeypatch):
    import mappings.gpu.networks as networks
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return choose_conv_kernel(*args, **kwargs)

    monkeypatch.setattr(networks, "choose_conv_kernel", counted)
    m = map_cascade("gpu_group_conv", workloads.build("group_conv", GRP=8, CI=16, CO=16, OY=14, OX=14, N=4), v100)
    assert len(calls) == 1
    assert isinstance(m.tiling["group_conv"], ConvTile)
    assert m.choices["tiles"] == m.tiling["group_conv"].describe()


@pytest.mark.parametrize("tile", [
    ConvTile("implicit_gemm", 4, 8, 16, 2, 2, 3, channel_step=8),    # slices of a group, 8-channel steps
    ConvTile("direct", 5, 3, 64, 4, 1, 2, channel_step=16),          # several groups per block
])
@pytest.mark.parametrize("groups, stride", [(1, 1), (4, 2), (24, 1)])
def test_tiled_executor_equals_reference_for_any_tile(tile, groups, stride):
    layer = ConvLayer("x", 24, 48, 11, 13, 3, stride, 1, groups)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 11, 13, 24))
    w = rng.standard_normal((48, 3, 3, layer.group_size))
    np.testing.assert_allclose(group_conv_tiled(x, w, layer, tile), group_conv_reference(x, w, stride, 1, groups),
                               atol=1e-10)


def test_group_conv_checks_registered_and_pass():
    checks = {n: c for n, c in registry().items() if n.startswith("group_conv_tiled")}
    assert {"depthwise", "grouped_G4", "dense"} <= {n.split("[")[1].split(",")[0] for n in checks}
    for check in checks.values():
        assert check().ok


def test_repeated_kernels_cost_what_a_fresh_simulation_costs(v100):
    """The simulator times kernels equal but for names once (archsim/gpu/sim.py timing_key): a
    program repeating a kernel under another name costs what it costs when the repeat differs by a
    negligible byte count and is simulated afresh."""
    from dataclasses import replace as dc_replace

    from archsim.gpu import GpuProgram
    layer = ConvLayer("x", 64, 64, 14, 14, groups=8)
    k, _ = choose_conv_kernel(layer, v100, 4, 2, x="A", w="W", y="B")
    io = dict(reads={"B": k.writes["B"], "W": k.reads["W"]}, writes={"C": k.writes["B"]})
    same = dc_replace(k, name="again", **io)
    fresh = dc_replace(k, name="again", store_bytes=k.store_bytes + 1e-9, **io)
    inputs = {"A": k.reads["A"], "W": k.reads["W"]}
    cached = get_family("gpu").simulate(GpuProgram("p", (k, same), inputs), v100)
    afresh = get_family("gpu").simulate(GpuProgram("p", (k, fresh), inputs), v100)
    assert cached.cycles == pytest.approx(afresh.cycles, rel=1e-9)
    assert cached.actions == pytest.approx(afresh.actions, rel=1e-9)
