"""The video diffusion models as operator graphs: one denoising step of the UNet, and the VAE decode.

- ``animatediff``: the SD1.5 UNet (diffusers UNet2DConditionModel: block channels
  320/640/1280/1280, 2 layers per down block, 3 per up block, GroupNorm 32, 8 heads, 1x1-conv
  transformer projections, cross-attention to 77 x 768 CLIP text) with AnimateDiff v1 motion
  modules (diffusers MotionAdapter: 8 heads, after every down/up layer, none in the mid block
  unless ``mid_motion``). Classifier-free guidance doubles the batch.
- ``svd``: UNetSpatioTemporalConditionModel (channels 320/640/1280/1280, heads 5/10/20/20,
  SpatioTemporalResBlocks, TransformerSpatioTemporalModel, cross-attention to one 1024-wide CLIP
  image token, 8 latent input channels), CFG batch 2; SVD uses 14 frames, SVD-XT 25.
- ``vae_decoder``: the SD AutoencoderKL decoder (post_quant_conv, 512/512/256/128 channels,
  3 ResNets per up block, mid attention), ``temporal=True`` for SVD's TemporalDecoder (each ResNet
  followed by a (3,1,1) temporal ResNet, a final temporal conv). ``frames_at_once`` frames decode
  together (1 = one frame at a time).

Sources: the models' configurations as diffusers constructor arguments, each value cited, in
workloads/graphs/diffusers_configs.py (parameters and block output shapes checked against
diffusers by tests/workloads/test_diffusers_crosscheck.py), and the Streamlined Inference paper
(arXiv 2411.01171) for the settings; docs/video.md. Leaves out the text/image encoders'
compute (their weights are counted as persistent bytes by the pipeline), the scheduler's
arithmetic beyond one elementwise update, and the VAE encoder.
"""
from __future__ import annotations

from .blocks import (motion_module, resnet, spatial_transformer, svd_transformer, temporal_resnet,
                     vae_attention)
from .builder import GraphBuilder
from .ir import Graph, GraphError

__all__ = ["animatediff", "svd", "vae_decoder", "video_block", "latent_shape", "LATENT_FACTOR"]

LATENT_FACTOR = 8            # SD/SVD VAE: latent = image / 8
UNET_DOWNSAMPLING = 8        # three stride-2 downsamples in the UNet
CHANNELS = (320, 640, 1280, 1280)


def latent_shape(height: int, width: int) -> tuple[int, int]:
    """(latent height, latent width); raises GraphError unless the image divides by 8 x 8."""
    for field, v in (("height", height), ("width", width)):
        if not isinstance(v, int) or v <= 0:
            raise GraphError(f"{field}: expected a positive integer, got {v!r}")
        if v % LATENT_FACTOR:
            raise GraphError(f"{field}: {v} is not divisible by the latent factor {LATENT_FACTOR}")
        if (v // LATENT_FACTOR) % UNET_DOWNSAMPLING:
            raise GraphError(f"{field}: latent {v // LATENT_FACTOR} is not divisible by the UNet's "
                             f"downsampling {UNET_DOWNSAMPLING} (image multiple of "
                             f"{LATENT_FACTOR * UNET_DOWNSAMPLING})")
    return height // LATENT_FACTOR, width // LATENT_FACTOR


def _time_embedding(b: GraphBuilder, batch: int, frames: int, extra_ids: bool) -> str:
    with b.scope(layer="time_embedding", domain="global", extent=0):
        t = b.constant("timestep_sinusoid", (batch, 320))
        emb = b.linear(b.silu(b.linear(t, 1280)), 1280)
        if extra_ids:   # SVD: fps, motion bucket, noise augmentation -> 3 x 256 sinusoids
            a = b.constant("added_time_ids_sinusoid", (batch, 768))
            emb = b.add(emb, b.linear(b.silu(b.linear(a, 1280)), 1280))
        return b.pointwise("repeat_frames", emb, shape=(batch * frames, 1280), flops_per_elem=0)


def animatediff(height: int = 512, width: int = 512, frames: int = 16, batch: int = 2,
                attention: str = "unfused", mid_motion: bool = False) -> Graph:
    """One UNet evaluation of AnimateDiff (batch 2 = classifier-free guidance)."""
    h, w = latent_shape(height, width)
    b = GraphBuilder("animatediff", attention=attention)
    n = batch * frames
    x = b.constant("latents", (n, 4, h, w))
    ctx = b.constant("text_context", (n, 77, 768))
    temb = _time_embedding(b, batch, frames, extra_ids=False)

    def spatial(name, level, group):
        return b.scope(layer=name, domain="spatial", extent=n, group=group, level=level)

    def temporal(prefix, level, group):
        return b.scope(domain="temporal", extent=w >> level, group=group, level=level,
                       layer=prefix)

    with spatial("conv_in", 0, "conv_in"):
        x = b.conv(x, 320)
    skips = [x]
    for i, c in enumerate(CHANNELS):
        for j in range(2):
            g = f"down{i}.{j}"
            with spatial(f"{g}.res", i, f"{g}.spatial"):
                x = resnet(b, x, c, temb)
            if i < 3:
                with spatial(f"{g}.attn", i, f"{g}.spatial"):
                    x = spatial_transformer(b, x, 8, ctx, f"{g}.attn")
            with temporal(f"{g}.motion", i, f"{g}.temporal"):
                x = motion_module(b, x, frames, 8, f"{g}.motion")
            skips.append(x)
        if i < 3:
            with spatial(f"down{i}.downsample", i + 1, f"down{i}.downsample"):
                x = b.conv(x, c, stride=2)
            skips.append(x)
    with spatial("mid.res0", 3, "mid.spatial"):
        x = resnet(b, x, 1280, temb)
    with spatial("mid.attn", 3, "mid.spatial"):
        x = spatial_transformer(b, x, 8, ctx, "mid.attn")
    if mid_motion:
        with temporal("mid.motion", 3, "mid.temporal"):
            x = motion_module(b, x, frames, 8, "mid.motion")
    with spatial("mid.res1", 3, "mid.spatial2" if mid_motion else "mid.spatial"):
        x = resnet(b, x, 1280, temb)
    for i, c in enumerate(reversed(CHANNELS)):
        level = 3 - i
        for j in range(3):
            g = f"up{i}.{j}"
            with spatial(f"{g}.res", level, f"{g}.spatial"):
                x = _cat(b, x, skips.pop())
                x = resnet(b, x, c, temb)
            if i > 0:
                with spatial(f"{g}.attn", level, f"{g}.spatial"):
                    x = spatial_transformer(b, x, 8, ctx, f"{g}.attn")
            with temporal(f"{g}.motion", level, f"{g}.temporal"):
                x = motion_module(b, x, frames, 8, f"{g}.motion")
        if i < 3:
            with spatial(f"up{i}.upsample", level - 1, f"up{i}.upsample"):
                nn, cc, hh, ww = b.shape(x)
                x = b.conv(b.pointwise("upsample", x, shape=(nn, cc, 2 * hh, 2 * ww), flops_per_elem=0), c)
    with spatial("conv_out", 0, "conv_out"):
        x = b.conv(b.silu(b.group_norm(x)), 4)
    with b.scope(layer="guidance", domain="global", extent=0):
        out = b.pointwise("cfg_combine", x, shape=(n // batch, 4, h, w), flops_per_elem=3)
    return b.build((out,), dict(model="animatediff", height=height, width=width, frames=frames,
                                batch=batch, attention=attention, latent=(h, w)))


def svd(height: int = 576, width: int = 1024, frames: int = 14, batch: int = 2,
        attention: str = "fused") -> Graph:
    """One UNet evaluation of Stable Video Diffusion (14 frames; SVD-XT: 25)."""
    h, w = latent_shape(height, width)
    b = GraphBuilder("svd", attention=attention)
    n = batch * frames
    x = b.constant("latents", (n, 8, h, w))
    ctx = b.constant("image_context", (n, 1, 1024))
    temb = _time_embedding(b, batch, frames, extra_ids=True)
    heads = (5, 10, 20, 20)

    def stres(x, c, prefix, level):
        with b.scope(layer=f"{prefix}.res", domain="spatial", extent=n, group=f"{prefix}.spatial",
                     level=level):
            x = resnet(b, x, c, temb)
        with b.scope(domain="temporal", extent=w >> level, group=f"{prefix}.temporal", level=level):
            return temporal_resnet(b, x, frames, temb, prefix)

    def transformer(x, prefix, level, hd):
        with b.scope(level=level):
            with b.scope(layer=f"{prefix}.time_context", domain="temporal", extent=w >> level,
                         group=f"{prefix}.temporal"):
                hh, ww = b.shape(x)[2:]
                tc = b.pointwise("broadcast_context", ctx, shape=(batch * hh * ww, 1, 1024),
                                 flops_per_elem=0)
            return svd_transformer(b, x, frames, hd, ctx, tc, f"{prefix}.attn",
                                   f"{prefix}.spatial2", f"{prefix}.temporal2")

    with b.scope(layer="conv_in", domain="spatial", extent=n, group="conv_in", level=0):
        x = b.conv(x, 320)
    skips = [x]
    for i, c in enumerate(CHANNELS):
        for j in range(2):
            g = f"down{i}.{j}"
            x = stres(x, c, g, i)
            if i < 3:
                x = transformer(x, g, i, heads[i])
            skips.append(x)
        if i < 3:
            with b.scope(layer=f"down{i}.downsample", domain="spatial", extent=n,
                         group=f"down{i}.downsample", level=i + 1):
                x = b.conv(x, c, stride=2)
            skips.append(x)
    x = stres(x, 1280, "mid.0", 3)
    x = transformer(x, "mid", 3, heads[3])
    x = stres(x, 1280, "mid.1", 3)
    for i, c in enumerate(reversed(CHANNELS)):
        level = 3 - i
        for j in range(3):
            g = f"up{i}.{j}"
            with b.scope(layer=f"{g}.concat", domain="spatial", extent=n, group=f"{g}.spatial",
                         level=level):
                x = _cat(b, x, skips.pop())
            x = stres(x, c, g, level)
            if i > 0:
                x = transformer(x, g, level, heads[3 - i])
        if i < 3:
            with b.scope(layer=f"up{i}.upsample", domain="spatial", extent=n,
                         group=f"up{i}.upsample", level=level - 1):
                nn, cc, hh, ww = b.shape(x)
                x = b.conv(b.pointwise("upsample", x, shape=(nn, cc, 2 * hh, 2 * ww), flops_per_elem=0), c)
    with b.scope(layer="conv_out", domain="spatial", extent=n, group="conv_out", level=0):
        x = b.conv(b.silu(b.group_norm(x)), 4)
    with b.scope(layer="guidance", domain="global", extent=0):
        out = b.pointwise("cfg_combine", x, shape=(n // batch, 4, h, w), flops_per_elem=3)
    return b.build((out,), dict(model="svd", height=height, width=width, frames=frames,
                                batch=batch, attention=attention, latent=(h, w)))


def _cat(b: GraphBuilder, x: str, skip: str) -> str:
    n, c1, hh, ww = b.shape(x)
    return b.pointwise("concat", x, skip, shape=(n, c1 + b.shape(skip)[1], hh, ww), flops_per_elem=0)


def vae_decoder(height: int = 512, width: int = 512, frames_at_once: int = 1, temporal: bool = False,
                attention: str = "unfused", dtype_bytes: int = 2) -> Graph:
    """The VAE decoder on ``frames_at_once`` latent frames (SD AutoencoderKL decoder, or SVD's
    TemporalDecoder with ``temporal=True``; a temporal decoder sees all its frames together).
    ``dtype_bytes`` 4 runs it in fp32 (diffusers upcasts a VAE whose config says
    ``force_upcast`` for encoding; the SVD pipeline decodes in fp16)."""
    h, w = latent_shape(height, width)
    b = GraphBuilder("vae_decoder_temporal" if temporal else "vae_decoder", dtype_bytes=dtype_bytes,
                     attention=attention)
    n = frames_at_once
    x = b.constant("latents", (n, 4, h, w))
    level = [0]

    def block(name):
        return b.scope(layer=name, domain="spatial", extent=n, group=name, level=level[0])

    def res(x, c, name):
        with block(name):
            x = resnet(b, x, c)
        if temporal:
            with b.scope(domain="temporal", extent=b.shape(x)[3], group=f"{name}.temporal",
                         level=level[0]):
                x = temporal_resnet(b, x, n, None, name)
        return x

    if not temporal:
        with block("post_quant_conv"):
            x = b.conv(x, 4, k=1)
    with block("conv_in"):
        x = b.conv(x, 512)
    x = res(x, 512, "mid.res0")
    with block("mid.attn"):
        x = vae_attention(b, x, "mid.attn")
    x = res(x, 512, "mid.res1")
    for i, c in enumerate((512, 512, 256, 128)):
        for j in range(3):
            x = res(x, c, f"up{i}.res{j}")
        if i < 3:
            level[0] += 1
            with block(f"up{i}.upsample"):
                nn, cc, hh, ww = b.shape(x)
                x = b.conv(b.pointwise("upsample", x, shape=(nn, cc, 2 * hh, 2 * ww), flops_per_elem=0), c)
    with block("conv_out"):
        x = b.conv(b.silu(b.group_norm(x)), 3)
    if temporal:
        with b.scope(layer="time_conv_out", domain="temporal", extent=b.shape(x)[3], group="time_conv_out",
                     level=level[0]):
            x = b.conv(x, 3, k=1, time_kernel=3)
    return b.build((x,), dict(model=b.name, height=height, width=width, frames_at_once=n,
                              attention=attention, dtype_bytes=dtype_bytes))


def video_block(batch: int = 1, channels: int = 320, frames: int = 16, height: int = 64, width: int = 64,
                heads: int = 8, attention: str = "unfused") -> Graph:
    """The reference's micro-benchmark block on a latent (B, C, F, H, W): a ResNet block per frame
    (GroupNorm 32, SiLU, 3x3 conv, SiLU, 3x3 conv, residual; no time embedding) then temporal
    self-attention across the frames at every pixel (``heads`` heads, Q/K/V and output
    projections, residual). The temporal layer's tokens are the pixels, sliced along the width."""
    b = GraphBuilder("video_block", attention=attention)
    n = batch * frames
    x = b.constant("x", (n, channels, height, width))
    with b.scope(layer="res", domain="spatial", extent=n, group="spatial", level=0):
        x = resnet(b, x, channels)
    with b.scope(layer="temporal_attn", domain="temporal", extent=width, group="temporal", level=0):
        t = b.copy(x, (batch * height * width, frames, channels))
        q, k, v = (b.linear(t, channels, bias=False) for _ in range(3))
        o = b.linear(b.attention(q, k, v, heads), channels)
        out = b.add(b.copy(o, (n, channels, height, width)), x)
    return b.build((out,), dict(model="video_block", frames=frames, latent=(height, width),
                                attention=attention))
