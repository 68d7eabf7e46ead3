"""The per-process kernel-cycles cache (archsim/gpu/sim.py) is exact: records computed with a warm
cache shared across layers, networks and machines equal those computed with the cache disabled."""
import pytest

import archsim
from archsim.gpu import sim
from mappings.gpu.networks import conv_layer_program, network_program
from workloads.conv_layers import ConvLayer
from workloads.networks import build_network, matched_fggc


def _programs(arch):
    layers = [ConvLayer(f"g{G}", 128, 128, 28, 28, groups=128 // G) for G in (1, 8, 128)]
    programs = [conv_layer_program(layer, arch, 8, 2)[0] for layer in layers]
    programs += [network_program(net, arch, 2, 2)[0]
                 for net in (build_network("mobilenet_v1", "e2gc", 8), matched_fggc("mobilenet_v1", 8))]
    return programs


@pytest.fixture(scope="module")
def machines():
    return [archsim.load_arch("v100_sxm2"), archsim.load_arch("p100_pcie")]


def test_cached_records_equal_uncached(machines, monkeypatch):
    work = [(arch, p) for arch in machines for p in _programs(arch)]
    calls = []
    real = sim._simulate_kernel
    monkeypatch.setattr(sim, "_simulate_kernel", lambda *a: calls.append(1) or real(*a))
    sim._KERNEL_CACHE.clear()
    warm = [sim.simulate_gpu(p, arch) for arch, p in work]
    again = [sim.simulate_gpu(p, arch) for arch, p in work]
    cached_calls = len(calls)
    kernels = 2 * sum(len(p.kernels) for _, p in work)
    assert cached_calls < kernels / 2          # repeats within and across programs were hits
    monkeypatch.setattr(sim, "KERNEL_CACHE_SIZE", 0)
    sim._KERNEL_CACHE.clear()
    cold = [sim.simulate_gpu(p, arch) for arch, p in work]
    assert len(calls) - cached_calls == kernels / 2   # disabled: every kernel simulated
    assert warm == cold
    assert again == cold


def test_machines_do_not_share_entries(machines):
    """One kernel on two machines: two entries, and the machine's timing fields change the result."""
    v100, p100 = machines
    layer = ConvLayer("x", 64, 64, 14, 14, groups=8)
    k = conv_layer_program(layer, v100, 4, 2)[0].kernels[0]
    slow = archsim.load_arch("v100_sxm2", {"gpu.dram_efficiency": 0.05})
    sim._KERNEL_CACHE.clear()
    fast_cycles = sim.kernel_cycles(k, v100, 1.0, 1.0)[0]
    slow_cycles = sim.kernel_cycles(k, slow, 1.0, 1.0)[0]
    assert len(sim._KERNEL_CACHE) == 2
    assert slow_cycles > fast_cycles
