"""Building blocks of the video UNets and VAE decoders, as in diffusers (module names in the docs).

Each function appends the ops of one module to a :class:`GraphBuilder` and returns the output
tensor. ``b.ctx`` decides each op's domain/layer/group; the callers set it per module.
"""
from __future__ import annotations

from .builder import GraphBuilder

__all__ = ["resnet", "self_attention", "cross_attention", "feed_forward", "spatial_transformer",
           "motion_module", "temporal_resnet", "svd_transformer", "vae_attention"]


def resnet(b: GraphBuilder, x: str, cout: int, temb: str | None = None) -> str:
    """ResnetBlock2D: GN, SiLU, conv3x3, (+ time embedding projection), GN, SiLU, conv3x3,
    shortcut (1x1 conv when the channel count changes), add."""
    cin = b.shape(x)[1]
    h = b.conv(b.silu(b.group_norm(x)), cout)
    if temb is not None:
        t = b.linear(b.silu(temb), cout)
        h = b.pointwise("add_bias", h, t)
    h = b.conv(b.silu(b.group_norm(h)), cout)
    short = b.conv(x, cout, k=1) if cin != cout else x
    return b.add(short, h)


def self_attention(b: GraphBuilder, x: str, heads: int) -> str:
    """Attention with q, k, v from x (no bias) and a biased output projection."""
    c = b.shape(x)[-1]
    q, k, v = (b.linear(x, c, bias=False) for _ in range(3))
    return b.linear(b.attention(q, k, v, heads), c)


def cross_attention(b: GraphBuilder, x: str, context: str, heads: int) -> str:
    c = b.shape(x)[-1]
    q = b.linear(x, c, bias=False)
    k = b.linear(context, c, bias=False)
    v = b.linear(context, c, bias=False)
    return b.linear(b.attention(q, k, v, heads), c)


def feed_forward(b: GraphBuilder, x: str, cout: int | None = None, mult: int = 4) -> str:
    """GEGLU feed-forward: Linear(C, 2 x mult x C), x * gelu(gate), Linear(mult x C, cout)."""
    *lead, c = b.shape(x)
    p = b.linear(x, 2 * mult * c)
    g = b.pointwise("geglu", p, shape=(*lead, mult * c), flops_per_elem=8)
    return b.linear(g, cout or c)


def _layer(b, name, **extra):
    return b.scope(layer=name, **extra)


def spatial_transformer(b: GraphBuilder, x: str, heads: int, context: str, prefix: str,
                        conv_proj: bool = True) -> str:
    """Transformer2DModel (SD1.5: GN, 1x1-conv proj_in, self-attn, cross-attn, GEGLU FF,
    proj_out, residual)."""
    n, c, h, w = b.shape(x)
    with _layer(b, f"{prefix}.proj_in"):
        t = b.group_norm(x)
        t = b.conv(t, c, k=1) if conv_proj else t
        t = b.copy(t, (n, h * w, c))
        if not conv_proj:
            t = b.linear(t, c)
    with _layer(b, f"{prefix}.attn1"):
        t = b.add(self_attention(b, b.layer_norm(t), heads), t)
    with _layer(b, f"{prefix}.attn2"):
        t = b.add(cross_attention(b, b.layer_norm(t), context, heads), t)
    with _layer(b, f"{prefix}.ff"):
        t = b.add(feed_forward(b, b.layer_norm(t)), t)
    with _layer(b, f"{prefix}.proj_out"):
        if conv_proj:
            t = b.conv(b.copy(t, (n, c, h, w)), c, k=1)
        else:
            t = b.copy(b.linear(t, c), (n, c, h, w))
        return b.add(t, x)


def motion_module(b: GraphBuilder, x: str, frames: int, heads: int, prefix: str) -> str:
    """AnimateDiff motion module (diffusers AnimateDiffTransformer3D): GroupNorm over
    (C/32, F, H, W), proj_in, two temporal self-attentions over the frames (sinusoidal position
    encoding added before each), GEGLU FF, proj_out, residual. Temporal domain, sliced by width."""
    n, c, h, w = b.shape(x)
    bsz = n // frames
    with _layer(b, f"{prefix}.proj_in"):
        t = b.group_norm(x, frames=frames)
        t = b.copy(t, (bsz * h * w, frames, c))
        t = b.linear(t, c)
    for i in (1, 2):
        with _layer(b, f"{prefix}.attn{i}"):
            u = b.pointwise("pos_encode", b.layer_norm(t))
            t = b.add(self_attention(b, u, heads), t)
    with _layer(b, f"{prefix}.ff"):
        t = b.add(feed_forward(b, b.layer_norm(t)), t)
    with _layer(b, f"{prefix}.proj_out"):
        t = b.copy(b.linear(t, c), (n, c, h, w))
        return b.add(t, x)


def temporal_resnet(b: GraphBuilder, x: str, frames: int, temb: str | None, prefix: str,
                    mix: bool = True) -> str:
    """SVD TemporalResnetBlock ((3,1,1) Conv3d over frames, GroupNorm over frames) and the
    AlphaBlender that mixes it with its spatial input (one learned parameter)."""
    n, c, h, w = b.shape(x)
    with _layer(b, f"{prefix}.temporal_res"):
        t = b.copy(x, (n, c, h, w))
        u = b.conv(b.silu(b.group_norm(t, frames=frames)), c, k=1, time_kernel=3)
        if temb is not None:
            u = b.pointwise("add_bias", u, b.linear(b.silu(temb), c))
        u = b.conv(b.silu(b.group_norm(u, frames=frames)), c, k=1, time_kernel=3)
        u = b.add(t, u)
        if not mix:
            return b.copy(u, (n, c, h, w))
        alpha = b.weight("time_mixer.mix_factor", (1,))
        return b.copy(b.pointwise("alpha_blend", x, u, alpha, shape=(n, c, h, w), flops_per_elem=3),
                      (n, c, h, w))


def svd_transformer(b: GraphBuilder, x: str, frames: int, heads: int, context: str,
                    time_context: str, prefix: str, spatial_group: str, temporal_group: str) -> str:
    """TransformerSpatioTemporalModel: GN, proj_in, a spatial BasicTransformerBlock, a frame
    position embedding, a TemporalBasicTransformerBlock (ff_in, self-attn over frames,
    cross-attn to the image embedding, FF), an AlphaBlender, proj_out, residual."""
    n, c, h, w = b.shape(x)
    bsz = n // frames
    ctx_s = dict(domain="spatial", extent=n, group=spatial_group)
    with _layer(b, f"{prefix}.proj_in", **ctx_s):
        t = b.linear(b.copy(b.group_norm(x), (n, h * w, c)), c)
    with _layer(b, f"{prefix}.attn1", **ctx_s):
        t = b.add(self_attention(b, b.layer_norm(t), heads), t)
    with _layer(b, f"{prefix}.attn2", **ctx_s):
        t = b.add(cross_attention(b, b.layer_norm(t), context, heads), t)
    with _layer(b, f"{prefix}.ff", **ctx_s):
        t = b.add(feed_forward(b, b.layer_norm(t)), t)
    with _layer(b, f"{prefix}.time_pos", domain="global", extent=0):
        e = b.linear(b.silu(b.linear(b.constant(f"{prefix}.frame_index_emb", (n, c)), 4 * c)), c)
    ctx_t = dict(domain="temporal", extent=w, group=temporal_group)
    with _layer(b, f"{prefix}.temporal_in", **ctx_t):
        u = b.pointwise("add_bias", t, e)
        u = b.copy(u, (bsz * h * w, frames, c))
        u = b.add(feed_forward(b, b.layer_norm(u)), u)
    with _layer(b, f"{prefix}.temporal_attn1", **ctx_t):
        u = b.add(self_attention(b, b.layer_norm(u), heads), u)
    with _layer(b, f"{prefix}.temporal_attn2", **ctx_t):
        u = b.add(cross_attention(b, b.layer_norm(u), time_context, heads), u)
    with _layer(b, f"{prefix}.temporal_ff", **ctx_t):
        u = b.add(feed_forward(b, b.layer_norm(u)), u)
        u = b.copy(u, (n, h * w, c))
    with _layer(b, f"{prefix}.proj_out", **ctx_s):
        alpha = b.weight("time_mixer.mix_factor", (1,))
        t = b.pointwise("alpha_blend", t, u, alpha, shape=(n, h * w, c), flops_per_elem=3)
        t = b.copy(b.linear(t, c), (n, c, h, w))
        return b.add(t, x)


def vae_attention(b: GraphBuilder, x: str, prefix: str) -> str:
    """The VAE mid-block attention: GN, q/k/v/out linears with bias, one head, residual."""
    n, c, h, w = b.shape(x)
    with _layer(b, prefix):
        t = b.copy(b.group_norm(x), (n, h * w, c))
        q, k, v = (b.linear(t, c) for _ in range(3))
        o = b.linear(b.attention(q, k, v, 1), c)
        return b.add(b.copy(o, (n, c, h, w)), x)
