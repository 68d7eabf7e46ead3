"""Graph lowering to GPU programs: timing with the per-program kernel memo equals the GPU family's
simulator exactly; bound fidelity equals bound_gpu; allocator peak equals graph liveness."""
import pytest

from archsim import load_arch
from archsim.gpu import bound_gpu, peak_bytes, simulate_gpu
from mappings.gpu.graph import clear_kernel_cache, lower_graph, time_program
from workloads.graphs.builder import GraphBuilder
from workloads.graphs.liveness import liveness
from workloads.graphs.streamline import operator_grouping


@pytest.fixture(scope="module")
def arch():
    return load_arch("a100_80gb")


def _tiny_block(n=4, c=64, hw=16, repeats=3):
    """Repeated spatial attention + temporal-GN layers: repeated kernels at different positions."""
    from workloads.graphs.blocks import self_attention
    b = GraphBuilder("tiny")
    x = b.constant("x", (n, c, hw, hw))
    for r in range(repeats):
        with b.scope(domain="spatial", extent=n, layer=f"l{r}", group=f"g{r}", level=0):
            t = b.copy(b.group_norm(x), (n, hw * hw, c))
            t = b.add(self_attention(b, t, 2), t)
            x = b.copy(t, (n, c, hw, hw))
        with b.scope(domain="temporal", extent=hw, layer=f"m{r}", group=f"h{r}", level=0):
            x = b.add(b.silu(b.group_norm(x, frames=n)), x)
    return b.build((x,), {})


def test_cached_timing_equals_simulate_gpu(arch):
    clear_kernel_cache()
    p = lower_graph(_tiny_block(), arch)
    ref = simulate_gpu(p, arch)
    got = time_program(p, arch, peak_bytes(p))
    assert got.seconds == ref.seconds
    assert got.actions == ref.actions
    assert got.traffic_bytes == ref.traffic_bytes
    assert got.peak_bytes == ref.peak_bytes
    again = time_program(p, arch, peak_bytes(p))
    assert again == got


def test_bound_fidelity_equals_bound_gpu(arch):
    p = lower_graph(_tiny_block(), arch)
    assert time_program(p, arch, fidelity="bound").seconds == pytest.approx(bound_gpu(p, arch).seconds, rel=1e-12)
    assert time_program(p, arch, fidelity="bound").seconds <= time_program(p, arch).seconds


def test_allocator_peak_equals_graph_liveness(arch):
    g = _tiny_block()
    p = lower_graph(g, arch)
    m = liveness(g)
    assert peak_bytes(p) == max(a + w for a, w in zip(m.activation_bytes, m.workspace_bytes))


def test_sliced_programs_pay_launches_and_keep_flops(arch):
    g = _tiny_block()
    s = operator_grouping(g, 4)
    p, ps = lower_graph(g, arch), lower_graph(s, arch)
    assert len(ps.kernels) > 3 * len(p.kernels)
    mac = sum(k.work.get("mma.mac", 0) for k in p.kernels)
    mac_s = sum(k.work.get("mma.mac", 0) for k in ps.kernels)
    assert mac_s >= mac                      # edge tiles of smaller GEMMs only add
    assert time_program(ps, arch).seconds > time_program(p, arch).seconds


@pytest.mark.slow
def test_video_block_time_grows_with_slices(arch):
    """Event simulation: more slices, more launches and smaller kernels -> more time."""
    from workloads.graphs.models import video_block
    g = video_block()
    times = [time_program(lower_graph(operator_grouping(g, s), arch), arch).seconds for s in (1, 4, 16)]
    assert times == sorted(times) and times[-1] > 1.2 * times[0]


@pytest.mark.parametrize("slices,at_once", [(4, 1), (3, 1), (4, 2)])
def test_renamed_slice_copies_equal_lowering_every_slice(arch, slices, at_once):
    """lower_graph lowers a sliced composite's first run and renames copies of it; lowering every
    run from the body gives the same kernels (names, tensors, bytes, work), uneven slices included."""
    from mappings.gpu.graph import slice_kernels
    g = operator_grouping(_tiny_block(), slices, at_once)
    composites = [op for op in g.ops if op.kind == "sliced"]
    assert composites and any(op.norm == "two_pass" for op in composites)
    expect = []
    for op in g.ops:
        if op.kind == "sliced":
            for i in range(-(-op.slices // op.slices_at_once)):
                expect += slice_kernels(op, g, arch, i)
    got = [k for k in lower_graph(g, arch).kernels if "@" in "".join((*k.reads, *k.writes, k.name))]
    assert got == expect
    assert any("@1" in t for k in got for t in k.writes)
