"""Operator-level model graphs of video diffusion (AnimateDiff, SVD, VAE decoders), their
peak-memory liveness, and the Streamlined Inference transformations. docs/video.md."""
from .ir import Graph, GraphError, Op, Tensor
from .models import animatediff, latent_shape, svd, vae_decoder

__all__ = ["Graph", "GraphError", "Op", "Tensor", "animatediff", "latent_shape", "svd", "vae_decoder"]
