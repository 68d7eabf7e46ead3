"""GPU-family mappers (registered as ``gpu_*``): kernel sequences on GPU presets.
Kernel builders: mappings/gpu/kernels.py; mappers: mappings/gpu/mappers.py; model: docs/gpu.md."""
from .kernels import GEMM_TILES, GemmTile, elementwise, fused_attention, gemm, rowwise
from .mappers import MAPPERS, GpuMapping, choose_gemm_tile, gemm_kernels

__all__ = ["GEMM_TILES", "GemmTile", "GpuMapping", "MAPPERS", "choose_gemm_tile", "elementwise",
           "fused_attention", "gemm", "gemm_kernels", "rowwise"]
