"""A whole video generation as graphs: the UNet steps (with Step Rehash: key and reuse steps) and
the VAE decode, with every model's weights resident, as the diffusers pipelines keep them.

Variants (the study's axis): ``baseline``; ``slicer`` (Feature Slicer); ``grouping`` (Feature
Slicer + Operator Grouping); ``rehash`` (grouping + Step Rehash). The streamlined variants decode
one frame at a time (the paper's streamlined path); the baseline decodes all frames at once.

Resident weights not in the graphs (docs/video.md): AnimateDiff's CLIP ViT-L/14 text encoder,
123M parameters (Stable Diffusion v1 model card: "123M text encoder"); SVD's OpenCLIP ViT-H/14
image encoder, 632,076,800 (transformers CLIPVisionModelWithProjection in the ViT-H-14
configuration), and its VAE encoder, 34,163,664 (diffusers AutoencoderKLTemporalDecoder encoder +
quant_conv); all three checked by tests/workloads/test_diffusers_crosscheck.py. All fp16, the VAE decodes
included: diffusers' SVD pipeline upcasts its VAE (config ``force_upcast``) only for the
conditioning image's encode and casts it back to fp16 before decoding (docs/video.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph, GraphError
from .liveness import MemoryTimeline, liveness
from .models import animatediff, svd, vae_decoder
from .streamline import (feature_slicer, key_steps_every, operator_grouping, step_rehash)

__all__ = ["VARIANTS", "VIDEO_MODELS", "Phase", "PipelinePlan", "plan_pipeline", "pipeline_memory"]

CLIP_TEXT_ENCODER_PARAMS = 123e6       # Stable Diffusion v1 model card: "123M text encoder"
CLIP_IMAGE_ENCODER_PARAMS = 632_076_800  # transformers CLIPVisionModelWithProjection, ViT-H-14 config
SVD_VAE_ENCODER_PARAMS = 34_163_664    # diffusers AutoencoderKLTemporalDecoder encoder + quant_conv
VARIANTS = ("baseline", "slicer", "grouping", "rehash")
# model -> (UNet builder, default frames, default (height, width), encoder params, VAE temporal?, VAE dtype bytes)
VIDEO_MODELS = {
    "animatediff": (animatediff, 16, (512, 512), CLIP_TEXT_ENCODER_PARAMS, False, 2),
    "svd": (svd, 14, (576, 1024), CLIP_IMAGE_ENCODER_PARAMS + SVD_VAE_ENCODER_PARAMS, True, 2),
    "svd_xt": (svd, 25, (576, 1024), CLIP_IMAGE_ENCODER_PARAMS + SVD_VAE_ENCODER_PARAMS, True, 2),
}


@dataclass(frozen=True)
class Phase:
    """``graph`` runs ``count`` times; ``resident_bytes``: other models' weights, the latents of
    all frames and the rehash cache, live throughout."""

    name: str
    graph: Graph
    count: int
    resident_bytes: int


@dataclass(frozen=True)
class PipelinePlan:
    model: str
    variant: str
    phases: tuple[Phase, ...]
    params: dict


def plan_pipeline(model: str = "animatediff", height: int | None = None, width: int | None = None,
                  frames: int | None = None, steps: int = 25, variant: str = "baseline",
                  slices: int = 8, slices_at_once: int = 1, groupnorm: str = "two_pass",
                  attention: str | None = None, rehash_from_level: int = 3, key_every: int = 2,
                  vae_frames_at_once: int | None = None) -> PipelinePlan:
    """The phases of one generation (see the module docstring). ``attention`` defaults to
    unfused for AnimateDiff and fused (SDPA) for SVD (docs/video.md: why)."""
    if model not in VIDEO_MODELS:
        raise GraphError(f"model: unknown video model {model!r}; known: {', '.join(VIDEO_MODELS)}")
    if variant not in VARIANTS:
        raise GraphError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    build, f0, (h0, w0), enc_params, temporal_vae, vae_dtype = VIDEO_MODELS[model]
    height, width, frames = height or h0, width or w0, frames or f0
    attention = attention or ("unfused" if model == "animatediff" else "fused")
    if not isinstance(steps, int) or steps < 1:
        raise GraphError(f"steps: expected a positive integer, got {steps!r}")
    unet = build(height=height, width=width, frames=frames, attention=attention)
    if variant == "slicer":
        unet = feature_slicer(unet, slices, groupnorm)
    elif variant in ("grouping", "rehash"):
        unet = operator_grouping(unet, slices, slices_at_once, groupnorm)
    vae_n = vae_frames_at_once or (frames if variant == "baseline" else 1)
    if frames % vae_n:
        raise GraphError(f"vae_frames_at_once: {vae_n} does not divide frames {frames}")
    vae = vae_decoder(height, width, vae_n, temporal=temporal_vae, attention=attention,
                      dtype_bytes=vae_dtype)
    encoders = int(enc_params) * 2
    lat_h, lat_w = unet.meta["latent"]
    latents = frames * 4 * lat_h * lat_w * 2
    vae_weights = sum(t.nbytes for t in vae.weights())
    unet_weights = sum(t.nbytes for t in unet.weights())
    params = dict(model=model, height=height, width=width, frames=frames, steps=steps,
                  variant=variant, attention=attention, vae_frames_at_once=vae_n)
    if variant != "baseline":
        params.update(slices=slices, slices_at_once=slices_at_once, groupnorm=groupnorm)
    phases = []
    if variant == "rehash":
        plan = step_rehash(unet, rehash_from_level)
        keys = len(key_steps_every(steps, key_every))
        resident = encoders + vae_weights + plan.cache_bytes
        phases += [Phase("unet_key", plan.key, keys, resident),
                   Phase("unet_reuse", plan.reuse, steps - keys, resident)]
        params.update(rehash_from_level=rehash_from_level, key_every=key_every, key_steps=keys)
    else:
        phases.append(Phase("unet", unet, steps, encoders + vae_weights))
    phases.append(Phase("vae_decode", vae, frames // vae_n, encoders + unet_weights + latents))
    return PipelinePlan(model, variant, tuple(phases), params)


def pipeline_memory(plan: PipelinePlan) -> tuple[int, str, dict[str, MemoryTimeline]]:
    """(peak bytes of the whole generation, the phase where it occurs, timeline per phase)."""
    timelines = {p.name: liveness(p.graph, p.resident_bytes) for p in plan.phases if p.count}
    name = max(timelines, key=lambda n: timelines[n].peak_bytes)
    return timelines[name].peak_bytes, name, timelines
