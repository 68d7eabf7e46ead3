"""FuseMax spatial-array mappers: attention in five configurations and GEMMs for end-to-end layers.

Importing registers ``fusemax_unfused``, ``fusemax_flat``, ``fusemax_cascade``,
``fusemax_architecture``, ``fusemax_binding`` and ``fusemax_gemm`` (docs/fusemax.md).
"""
from .common import CONFIGS, AttentionMapping
from .gemm import GemmMapping, search_gemm
from .mappers import CASCADE_OF, PRESET_OF, mapper_for
from ..steady import estimate

__all__ = ["CONFIGS", "CASCADE_OF", "PRESET_OF", "AttentionMapping", "GemmMapping",
           "estimate", "mapper_for", "search_gemm"]
