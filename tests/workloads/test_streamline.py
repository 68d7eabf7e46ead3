"""Feature Slicer, Operator Grouping, Step Rehash: memory effects, invariants, bad input."""
import pytest

from workloads.graphs import GraphError, animatediff
from workloads.graphs.builder import GraphBuilder
from workloads.graphs.liveness import liveness
from workloads.graphs.pipeline import pipeline_memory, plan_pipeline
from workloads.graphs.streamline import (feature_slicer, key_steps_every, key_steps_from_similarity,
                                         operator_grouping, step_rehash)


@pytest.fixture(scope="module")
def unet():
    return animatediff()


def _block(n=8, c=64):
    """One spatial layer of four ops, then a second layer: x -> a -> b -> y (layer l1) -> z (l2)."""
    b = GraphBuilder("blk")
    x = b.constant("x", (n, c, 8, 8))
    with b.scope(domain="spatial", extent=n, layer="l1", group="g"):
        a = b.pointwise("wide", x, shape=(n, 4 * c, 8, 8))
        y = b.pointwise("narrow", a, shape=(n, c, 8, 8))
    with b.scope(domain="spatial", extent=n, layer="l2", group="g"):
        z = b.pointwise("wide", y, shape=(n, 4 * c, 8, 8))
        out = b.pointwise("narrow", z, shape=(n, c, 8, 8))
    return b.build((out,), {})


def test_slicer_keeps_layer_io_full_and_intermediates_sliced():
    g = _block()
    s = feature_slicer(g, 4)
    assert [op.kind for op in s.ops] == ["sliced", "sliced"]
    full = g.tensors[s.ops[0].body[0].outputs[0]].nbytes     # the 4c intermediate
    assert s.ops[0].workspace_bytes == full // 4
    assert s.ops[0].outputs == g.ops[1].outputs                 # the layer output is full
    assert liveness(s).peak_bytes < liveness(g).peak_bytes


def test_grouping_removes_full_tensors_inside_the_group():
    g = _block()
    sliced, grouped = feature_slicer(g, 4), operator_grouping(g, 4)
    assert len(grouped.ops) == 1 and grouped.ops[0].outputs == g.outputs
    assert liveness(grouped).peak_bytes < liveness(sliced).peak_bytes


def test_uneven_slices_use_the_largest_slice():
    g = _block(n=10)
    s = feature_slicer(g, 4)   # slices of 3, 3, 2, 2 frames
    full = g.tensors[s.ops[0].body[0].outputs[0]].nbytes
    assert s.ops[0].workspace_bytes == pytest.approx(full * 3 / 10, abs=512)


def test_slices_at_once_multiplies_the_workspace():
    g = _block()
    one, two = operator_grouping(g, 4, 1), operator_grouping(g, 4, 2)
    assert two.ops[0].workspace_bytes == 2 * one.ops[0].workspace_bytes


def test_one_slice_is_the_identity(unet):
    assert liveness(operator_grouping(unet, 1)).peak_bytes == liveness(unet).peak_bytes


def test_transformations_keep_flops_and_weights(unet):
    for g in (feature_slicer(unet, 4), operator_grouping(unet, 4, 2)):
        assert g.flops() == pytest.approx(unet.flops())
        assert g.parameter_count() == unet.parameter_count()


def test_animatediff_peak_falls_monotonically_with_slices(unet):
    peaks = [liveness(operator_grouping(unet, s)).peak_bytes for s in (1, 2, 4, 8)]
    assert peaks == sorted(peaks, reverse=True) and peaks[-1] < peaks[0] / 4


def test_grouping_tends_to_p_plus_sin_plus_2sout():
    """Reference: with grouping the peak tends to P + S_in + 2 S_out as the slice count grows
    (persistent + a group's full input and output + one output slice's worth of intermediates)."""
    g = _block(n=64)
    p = g.persistent_bytes()
    s_in = s_out = g.tensors["x"].nbytes
    peaks = [liveness(operator_grouping(g, s)).peak_bytes for s in (1, 2, 8, 64)]
    assert peaks == sorted(peaks, reverse=True)
    # the only intermediates are 4x wide: one slice adds 4 S_out / s, i.e. the limit is reached
    assert peaks[-1] == pytest.approx(p + s_out + 4 * s_out / 64, rel=0.01)
    assert peaks[-1] <= p + s_in + 2 * s_out


def test_attention_workspace_halves_when_slices_double(unet):
    w = {s: max(op.workspace_bytes for op in operator_grouping(unet, s).ops) for s in (4, 8)}
    assert w[4] == pytest.approx(2 * w[8], rel=0.01)


@pytest.mark.parametrize("slices", [9, 33])
def test_slice_count_beyond_the_axis_is_one_line(unet, slices):
    with pytest.raises(GraphError, match=r"^slices: \d+ exceeds the sliced axis"):
        operator_grouping(unet, slices)


def test_bad_options():
    g = _block()
    with pytest.raises(GraphError, match="^groupnorm: "):
        feature_slicer(g, 2, groupnorm="exact")
    with pytest.raises(GraphError, match="^slices: "):
        feature_slicer(g, 0)


def test_rehash_skips_the_deep_region_and_caches_its_output(unet):
    plan = step_rehash(unet, from_level=3)
    assert plan.skipped_ops > 0
    assert len(plan.reuse.ops) == len(unet.ops) - plan.skipped_ops
    assert plan.reuse.flops() < unet.flops()
    # the cache is the up path's deepest output: (B x F, 1280, 8, 8) fp16
    assert plan.cache_bytes == 32 * 1280 * 8 * 8 * 2
    deeper = step_rehash(unet, from_level=2)
    assert deeper.skipped_ops > plan.skipped_ops
    assert deeper.reuse.check()


def test_key_step_schedules():
    assert len(key_steps_every(25, 2)) == 13
    assert key_steps_from_similarity([1, .99, .9, .99, .99], threshold=.95) == (0, 2)
    assert key_steps_from_similarity([1, .99, .99, .99], threshold=.95, max_reuse=1) == (0, 2)


def test_streamlined_animatediff_memory_against_the_paper():
    """Paper (A100): 41.7 GB -> 11 GB. Baseline within 15%; the streamlined figure depends on
    the slice count (unpublished): 4 slices lands within 15% of 11 GB."""
    base, _, _ = pipeline_memory(plan_pipeline("animatediff"))
    streamlined, _, _ = pipeline_memory(plan_pipeline("animatediff", variant="rehash", slices=4))
    assert base == pytest.approx(41.7e9, rel=0.15)
    assert streamlined == pytest.approx(11e9, rel=0.15)


def test_svd_decodes_in_fp16_and_streamlining_lowers_the_peak():
    """diffusers' SVD pipeline upcasts the VAE for the image encode only and decodes in fp16."""
    plan = plan_pipeline("svd")
    vae = plan.phases[-1].graph
    assert {t.dtype_bytes for t in vae.tensors.values()} == {2}
    base, phase, tl = pipeline_memory(plan)
    assert phase == "vae_decode"                    # the all-frames decode dominates (SDPA UNet)
    small, _, ts = pipeline_memory(plan_pipeline("svd", variant="grouping", slices=4))
    assert small < base and ts["vae_decode"].peak_bytes < tl["vae_decode"].peak_bytes


def test_video_block_micro_memory_falls_with_slices():
    """The reference's video block (1, 320, 16, 64, 64): whole vs 2..16 slices; the held-back
    measurement is compared in the gpu_micro study (docs/video.md)."""
    from workloads.graphs.models import video_block
    g = video_block()
    peaks = [liveness(operator_grouping(g, s)).peak_bytes for s in (1, 2, 4, 8, 16)]
    assert peaks == sorted(peaks, reverse=True) and peaks[0] > peaks[-1]
    # sliced to one frame, what remains is the input, the layer outputs and the weights
    x = 16 * 320 * 64 * 64 * 2
    assert peaks[-1] - g.persistent_bytes() < 3 * x
