"""Tiled numpy executors: run a mapped schedule tile by tile and check it.

An executor follows the loop nest a mapping implies (sliced, fused, running
max, hashed) and must agree with an independent plain reference before the
mapping's cost model is believed. ``registry()`` lists the seeded checks.
"""

from .attention import (
    attention_1pass_tiled,
    attention_2pass_tiled,
    attention_3pass_deferred_tiled,
    attention_3pass_tiled,
    attention_reference,
)
from .gemm import gemm_reference, gemm_tiled
from .registry import REL_TOL, Check, CheckResult, registry
from .spgemm import SpGEMMStats, row_work, spgemm_reference, spgemm_rowwise

__all__ = [
    "attention_1pass_tiled",
    "attention_2pass_tiled",
    "attention_3pass_tiled",
    "attention_3pass_deferred_tiled",
    "attention_reference",
    "gemm_tiled",
    "gemm_reference",
    "spgemm_rowwise",
    "spgemm_reference",
    "row_work",
    "SpGEMMStats",
    "registry",
    "Check",
    "CheckResult",
    "REL_TOL",
]
