"""Cross-check of the model graphs against diffusers (optional, slow): each model is built from
workloads/graphs/diffusers_configs.py on torch's meta device (no weights, no network) and
compared with archsim's graph: total parameters within 1% (issue 10), parameters per block,
block output shapes from a meta-device forward pass, and that pass's GEMM/convolution/attention
FLOPs (torch.utils.flop_counter) against the graph's. Needs the ``crosscheck`` extra:
``pip install -e '.[crosscheck]' && python -m pytest -m slow tests/workloads/test_diffusers_crosscheck.py``.
"""
import re

import pytest

from workloads.graphs import animatediff, svd, vae_decoder
from workloads.graphs import diffusers_configs as cfg
from workloads.graphs.pipeline import (CLIP_IMAGE_ENCODER_PARAMS, CLIP_TEXT_ENCODER_PARAMS,
                                       SVD_VAE_ENCODER_PARAMS)

pytestmark = pytest.mark.slow
torch = None   # imported by the fixture below, so that collecting this module needs neither package


@pytest.fixture(scope="module", autouse=True)
def _torch_and_diffusers():
    global torch
    torch = pytest.importorskip("torch", reason="the cross-check needs torch (extra: crosscheck)")
    pytest.importorskip("diffusers", reason="the cross-check needs diffusers (extra: crosscheck)")


# The blocks whose outputs are compared (not the time embedding: archsim's ends with the per-frame
# repeat that diffusers does outside the block).
_BLOCK_MODULE = re.compile(r"^(?:decoder\.)?(?:(?:down|up)_blocks\.\d+\.(?:resnets|attentions|motion_modules|"
                           r"downsamplers|upsamplers)\.\d+|mid_block\.(?:resnets|attentions|motion_modules)\.\d+|"
                           r"conv_in|conv_out|post_quant_conv|time_conv_out)$")
_KIND = {"resnets": "res", "attentions": "attn", "motion_modules": "motion"}


def diffusers_block(name: str, vae: bool = False) -> str:
    """archsim's block name for a diffusers parameter or module name."""
    p = name.split(".")
    if p[0] == "decoder":
        p = p[1:]
    if p[0] in ("down_blocks", "up_blocks"):
        side, i = p[0][:-len("_blocks")], p[1]
        if p[2] in ("downsamplers", "upsamplers"):
            return f"{side}{i}.{p[2][:-len('rs')]}"
        return f"{side}{i}.res{p[3]}" if vae else f"{side}{i}.{p[3]}.{_KIND[p[2]]}"
    if p[0] == "mid_block":
        return f"mid.res{p[2]}" if p[1] == "resnets" else f"mid.{_KIND[p[1]]}"
    if p[0] in ("conv_norm_out", "conv_act", "conv_out"):
        return "conv_out"
    if p[0] in ("time_embedding", "add_embedding"):
        return "time_embedding"
    return p[0]


def archsim_block(layer: str) -> str:
    """The block an archsim layer belongs to, in diffusers_block's names."""
    p = layer.split(".")
    if re.fullmatch(r"(down|up)\d", p[0]):
        if p[1].isdigit():
            return f"{p[0]}.{p[1]}." + {"temporal_res": "res", "concat": "res",
                                         "time_context": "attn"}.get(p[2], p[2])
        return f"{p[0]}.{p[1]}"          # downsample, upsample; the VAE's up0.res0 (+ .temporal_res)
    if p[0] == "mid":
        if p[1].isdigit():               # SVD: mid.0.res, mid.0.temporal_res
            return f"mid.res{p[1]}"
        return "mid.attn" if p[1] == "time_context" else f"mid.{p[1]}"
    return p[0]


def archsim_blocks(graph):
    """(parameters per block, output shape per block: the last op's output)."""
    params, shapes, seen = {}, {}, set()
    for op in graph.ops:
        key = archsim_block(op.layer)
        for t in op.inputs:
            tensor = graph.tensors[t]
            if tensor.role == "weight" and t not in seen:
                seen.add(t)
                params[key] = params.get(key, 0) + tensor.numel
        shapes[key] = graph.tensors[op.outputs[-1]].shape
    return params, shapes


def diffusers_params(model, vae=False, keep=lambda name: True):
    out = {}
    for name, p in model.named_parameters():
        if keep(name):
            key = diffusers_block(name, vae)
            out[key] = out.get(key, 0) + p.numel()
    return out


def archsim_matmul_flops(graph) -> float:
    """FLOPs of the graph's GEMMs, convolutions and attentions (what torch's FlopCounterMode counts)."""
    return sum(op.flops for op in graph.ops if op.compute[0] in ("gemm", "attention"))


def diffusers_forward(model, run, vae=False):
    """(block output shapes, FLOPs counted by torch) of a meta-device forward pass; a 5-D
    (B, C, F, H, W) output is compared as (B F, C, H, W)."""
    from torch.utils.flop_counter import FlopCounterMode
    shapes, hooks, counter = {}, [], FlopCounterMode(display=False)

    def hook(key):
        def record(module, args, out):
            t = out if torch.is_tensor(out) else out[0]
            s = tuple(t.shape)
            if len(s) == 5:
                s = (s[0] * s[2], s[1], s[3], s[4])
            shapes[key] = s
        return record

    for name, module in model.named_modules():
        if _BLOCK_MODULE.match(name):
            hooks.append(module.register_forward_hook(hook(diffusers_block(name, vae))))
    try:
        with torch.no_grad(), counter:
            run()
    finally:
        for h in hooks:
            h.remove()
    return shapes, counter.get_total_flops()


def _build(cls, kwargs):
    with torch.device("meta"):
        model = cls(**kwargs)
    return model.to("meta")   # AlphaBlender's torch.Tensor([alpha]) ignores the device context


def _compare(name, ours_params, theirs_params, ours_shapes, theirs_shapes, report, graph=None,
             theirs_flops=None):
    total_ours, total_theirs = sum(ours_params.values()), sum(theirs_params.values())
    diff = (total_ours - total_theirs) / total_theirs
    blocks = sorted(set(ours_params) | set(theirs_params))
    bad_blocks = {b: (ours_params.get(b, 0), theirs_params.get(b, 0)) for b in blocks
                  if abs(ours_params.get(b, 0) - theirs_params.get(b, 0)) > 0.01 * theirs_params.get(b, 1)}
    bad_shapes = {b: (ours_shapes.get(b), theirs_shapes[b]) for b in theirs_shapes
                  if ours_shapes.get(b) != theirs_shapes[b]}
    report.append(f"{name}: archsim {total_ours:,} diffusers {total_theirs:,} ({100 * diff:+.4f}%); "
                  f"{len(blocks)} blocks, {len(bad_blocks)} off by >1%; {len(theirs_shapes)} block "
                  f"output shapes, {len(bad_shapes)} differ")
    flops_diff = 0.0
    if graph is not None:
        ours_flops = archsim_matmul_flops(graph)
        flops_diff = (ours_flops - theirs_flops) / theirs_flops
        report[-1] += (f"; GEMM/conv/attention FLOPs archsim {ours_flops:.4e} torch "
                       f"{theirs_flops:.4e} ({100 * flops_diff:+.4f}%)")
    return diff, bad_blocks, bad_shapes, flops_diff


@pytest.fixture(scope="module")
def report():
    lines = []
    yield lines
    print("\n" + "\n".join(lines))


def _check(result):
    diff, bad_blocks, bad_shapes, flops_diff = result
    assert abs(diff) <= 0.01          # issue 10: parameter counts within 1%
    assert abs(flops_diff) <= 0.01    # the same tolerance for the FLOPs the lowering times
    assert bad_blocks == {}
    assert bad_shapes == {}


def test_sd15_unet_and_animatediff_v1_motion_modules(report):
    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel
    unet = _build(UNet2DConditionModel, cfg.SD15_UNET)
    adapter = _build(MotionAdapter, cfg.ANIMATEDIFF_V1_MOTION)
    both = _build(UNetMotionModel, cfg.SD15_MOTION_UNET)
    g = animatediff(512, 512, frames=16, batch=2)
    params, shapes = archsim_blocks(g)
    motion = {k: v for k, v in params.items() if k.endswith(".motion")}
    spatial = {k: v for k, v in params.items() if not k.endswith(".motion")}
    theirs_spatial, theirs_motion = diffusers_params(unet), diffusers_params(adapter)
    assert sum(diffusers_params(both).values()) == sum(theirs_spatial.values()) + sum(theirs_motion.values())

    def run():
        # AnimateDiffPipeline repeats the text embedding per frame (as archsim's text_context)
        both(torch.empty(2, 4, 16, 64, 64, device="meta"), torch.tensor(999),
             encoder_hidden_states=torch.empty(2 * 16, 77, 768, device="meta"))
    theirs_shapes, flops = diffusers_forward(both, run)
    _check(_compare("SD1.5 UNet (animatediff() without motion modules)", spatial, theirs_spatial,
                    {k: v for k, v in shapes.items() if k in spatial}, {}, report))
    _check(_compare("AnimateDiff v1 motion modules", motion, theirs_motion, {}, {}, report))
    _check(_compare("AnimateDiff (UNetMotionModel, v1) 512x512x16, B=2", params, diffusers_params(both),
                    shapes, theirs_shapes, report, g, flops))


def test_animatediff_v2_motion_modules_are_the_mid_motion_graph(report):
    from diffusers import MotionAdapter
    adapter = _build(MotionAdapter, cfg.ANIMATEDIFF_V2_MOTION)
    assert sum(diffusers_params(adapter).values()) == sum(
        diffusers_params(_build(MotionAdapter, {})).values())   # the defaults are v2's
    params, _ = archsim_blocks(animatediff(mid_motion=True))
    motion = {k: v for k, v in params.items() if k.endswith(".motion")}
    _check(_compare("AnimateDiff v2 motion modules (mid_motion=True)", motion,
                    diffusers_params(adapter), {}, {}, report))


@pytest.mark.parametrize("frames", [cfg.SVD_FRAMES, cfg.SVD_XT_FRAMES])
def test_svd_unet(frames, report):
    from diffusers import UNetSpatioTemporalConditionModel
    model = _build(UNetSpatioTemporalConditionModel, dict(cfg.SVD_UNET, num_frames=frames))
    assert diffusers_params(model) == diffusers_params(_build(UNetSpatioTemporalConditionModel, {}))
    g = svd(576, 1024, frames=frames, batch=2)
    params, shapes = archsim_blocks(g)

    def run():
        model(torch.empty(2, frames, 8, 72, 128, device="meta"), torch.tensor(1.0),
              encoder_hidden_states=torch.empty(2, 1, 1024, device="meta"),
              added_time_ids=torch.empty(2, 3, device="meta"))
    theirs_shapes, flops = diffusers_forward(model, run)
    _check(_compare(f"SVD UNet 576x1024x{frames}, B=2", params, diffusers_params(model), shapes,
                    theirs_shapes, report, g, flops))


def test_sd_vae_decoder(report):
    from diffusers import AutoencoderKL
    vae = _build(AutoencoderKL, cfg.SD_VAE)
    g = vae_decoder(512, 512, frames_at_once=2)
    params, shapes = archsim_blocks(g)
    keep = lambda n: n.startswith(("decoder.", "post_quant_conv."))
    theirs = diffusers_params(vae, vae=True, keep=keep)

    def run():
        vae.decode(torch.empty(2, 4, 64, 64, device="meta"))
    theirs_shapes, flops = diffusers_forward(vae, run, vae=True)
    _check(_compare("SD VAE decoder 512x512, 2 frames", params, theirs, shapes, theirs_shapes,
                    report, g, flops))


def test_svd_temporal_decoder(report):
    from diffusers import AutoencoderKLTemporalDecoder
    vae = _build(AutoencoderKLTemporalDecoder, cfg.SVD_VAE)
    frames = cfg.SVD_FRAMES
    g = vae_decoder(576, 1024, frames_at_once=frames, temporal=True)
    params, shapes = archsim_blocks(g)
    theirs = diffusers_params(vae, vae=True, keep=lambda n: n.startswith("decoder."))
    encoder = sum(p.numel() for n, p in vae.named_parameters() if n.startswith(("encoder.", "quant_conv.")))
    assert encoder == pytest.approx(SVD_VAE_ENCODER_PARAMS, rel=0.01)   # resident in the pipeline

    def run():
        vae.decode(torch.empty(frames, 4, 72, 128, device="meta"), num_frames=frames)
    theirs_shapes, flops = diffusers_forward(vae, run, vae=True)
    _check(_compare(f"SVD temporal VAE decoder 576x1024, {frames} frames", params, theirs, shapes,
                    theirs_shapes, report, g, flops))


def test_resident_encoders(report):
    """The text/image encoders the pipeline keeps resident (not graphs: only their weights count)."""
    pytest.importorskip("transformers", reason="the encoders' check needs transformers (extra: crosscheck)")
    from transformers import (CLIPTextConfig, CLIPTextModel, CLIPVisionConfig,
                              CLIPVisionModelWithProjection)
    for name, ours, model in (
            ("CLIP ViT-L/14 text encoder", CLIP_TEXT_ENCODER_PARAMS,
             _build(CLIPTextModel, dict(config=CLIPTextConfig(**cfg.CLIP_TEXT)))),
            ("OpenCLIP ViT-H/14 image encoder", CLIP_IMAGE_ENCODER_PARAMS,
             _build(CLIPVisionModelWithProjection, dict(config=CLIPVisionConfig(**cfg.CLIP_IMAGE))))):
        theirs = sum(p.numel() for p in model.parameters())
        report.append(f"{name}: pipeline {ours:,.0f} transformers {theirs:,} "
                      f"({100 * (ours - theirs) / theirs:+.4f}%)")
        assert ours == pytest.approx(theirs, rel=0.01)
