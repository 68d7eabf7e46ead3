"""Model graphs: parameter counts against the published models, shapes, bad input."""
import pytest

from workloads.graphs import GraphError, animatediff, svd, vae_decoder
from workloads.graphs.builder import GraphBuilder

# Published sizes (docs/video.md lists each source). "diffusers": the model diffusers 0.42.1 builds
# from workloads/graphs/diffusers_configs.py, counted by tests/workloads/test_diffusers_crosscheck.py.
SD15_UNET = 860e6            # CompVis stable-diffusion README: "a 860M UNet" (diffusers: 859,520,964)
ANIMATEDIFF_MOTION_V1 = 417_137_600  # diffusers MotionAdapter, AnimateDiff v1 config
ANIMATEDIFF_MOTION_V2 = 453_209_280  # diffusers MotionAdapter, v2 config (mid-block module)
SVD_UNET = 1_524_623_082     # diffusers UNetSpatioTemporalConditionModel (SVD config)
SD_VAE_DECODER = 49_490_199  # diffusers AutoencoderKL (SD config): decoder + post_quant_conv
SVD_TEMPORAL_DECODER = 63_579_183  # diffusers AutoencoderKLTemporalDecoder (SVD config): decoder


def _sd_unet_only():
    g = animatediff()
    motion = sum(t.numel for t in g.weights() if ".motion." in t.name)
    return g.parameter_count() - motion, motion


def test_animatediff_parameters_within_1_percent():
    unet, motion = _sd_unet_only()
    assert unet == pytest.approx(SD15_UNET, rel=0.01)
    assert motion == pytest.approx(ANIMATEDIFF_MOTION_V1, rel=0.01)


def test_mid_motion_graph_is_the_v2_adapter():
    g = animatediff(mid_motion=True)
    motion = sum(t.numel for t in g.weights() if ".motion." in t.name)
    assert motion == pytest.approx(ANIMATEDIFF_MOTION_V2, rel=0.01)


def test_mid_motion_adds_one_1280_module():
    extra = animatediff(mid_motion=True).parameter_count() - animatediff().parameter_count()
    c = 1280
    assert extra == pytest.approx(22 * c * c, rel=0.01)   # 22 C^2 per motion module (+ biases/norms)


def test_svd_and_vae_parameters_within_1_percent():
    assert svd().parameter_count() == pytest.approx(SVD_UNET, rel=0.01)
    assert svd(frames=25).parameter_count() == svd().parameter_count()
    assert vae_decoder().parameter_count() == pytest.approx(SD_VAE_DECODER, rel=0.01)
    assert vae_decoder(temporal=True, frames_at_once=14).parameter_count() == pytest.approx(
        SVD_TEMPORAL_DECODER, rel=0.01)


def test_parameters_do_not_depend_on_resolution_or_attention():
    base = animatediff().parameter_count()
    assert animatediff(576, 1024, attention="fused").parameter_count() == base


def test_shapes_follow_the_latent():
    g = animatediff(576, 1024)
    assert g.tensors["latents"].shape == (32, 4, 72, 128)
    assert g.tensors[g.outputs[0]].shape == (16, 4, 72, 128)
    v = vae_decoder(512, 512, frames_at_once=2)
    assert v.tensors[v.outputs[0]].shape == (2, 3, 512, 512)


@pytest.mark.parametrize("h,w,field", [(500, 512, "height"), (512, 520, "width"), (512, 0, "width")])
def test_bad_resolution_is_one_line(h, w, field):
    with pytest.raises(GraphError, match=f"^{field}: "):
        animatediff(h, w)


def test_flops_of_a_conv_layer():
    b = GraphBuilder("t")
    x = b.constant("x", (2, 8, 4, 4))
    with b.scope(domain="spatial", extent=2, layer="l"):
        b.conv(x, 16)
    op = b.ops[0]
    assert op.compute == ("gemm", 1, 2 * 16, 16, 8 * 9)
    assert op.flops == 2 * 32 * 16 * 72
