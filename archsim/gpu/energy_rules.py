"""The one place GPU per-action energies are derived (the presets' ``derived:`` entries).

Sources (docs/reference/gpu.md): Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm:
fp16 add 0.4 pJ, fp16 mult 1.1 pJ, fp32 add 0.9 pJ, fp32 mult 3.7 pJ; 64-bit SRAM read 10 pJ
(8 KB array), 20 pJ (32 KB), 100 pJ (1 MB). O'Connor et al., "Fine-Grained DRAM", MICRO 2017:
HBM2 about 3.9 pJ/bit.

Rules (chosen before any result was looked at; each an ``assumption``):

- Process: logic and SRAM energy scale linearly with the feature size from 45 nm,
  E(node) = E(45 nm) x node / 45 (capacitance scales with dimensions; supply-voltage scaling,
  which stalled below 28 nm, is ignored, so this is optimistic for the newest nodes).
- SRAM capacity: :func:`archsim.energy.sram_access_pj_per_64b`, the project's one rule (a power
  law between Horowitz's points, sqrt(capacity) outside them). C is the capacity of the array an
  access reaches: one shared-memory bank (shared memory / 32 banks) or one L2 slice
  (``L2_SLICE_BYTES``).
- The ``mma`` pipe's FMA is priced by the arithmetic it runs (``MMA_MATH``): on tensor cores
  (fp16 multiply, fp32 accumulate) fp16 mult + fp32 add; as half2 on FP32 cores (Pascal GP100:
  HFMA2 multiplies and adds in fp16, which is what gives it 2x the FP32 rate) fp16 mult + fp16
  add; as FP32 FMAs where the part has no fast fp16 (GP104) fp32 mult + fp32 add. An FP32 FMA =
  fp32 mult + fp32 add; an SFU transcendental = ``SFU_FMA_EQUIVALENT`` FP32 FMAs (a quadratic
  interpolation with a table look-up; no published per-op energy).
- DRAM I/O does not scale with the logic node: HBM2/2e/3/3e at 3.9 pJ/bit, GDDR5 at
  ``GDDR5_PJ_PER_BIT`` (O'Connor et al. state GDDR5 costs several times HBM per bit).
"""
from __future__ import annotations

from ..energy import sram_access_pj_per_64b

__all__ = ["scaled", "gpu_energy_table", "L2_SLICE_BYTES", "SMEM_BANKS", "MMA_MATH"]

HOROWITZ_NM = 45.0
FP16_ADD_PJ, FP16_MUL_PJ, FP32_ADD_PJ, FP32_MUL_PJ = 0.4, 1.1, 0.9, 3.7
# the mma pipe's arithmetic -> (multiply, add) pJ at 45 nm and how the preset states it
MMA_MATH = {"tensor": (FP16_MUL_PJ, FP32_ADD_PJ, "fp16 mult 1.1 + fp32 add 0.9"),
            "half2": (FP16_MUL_PJ, FP16_ADD_PJ, "fp16 mult 1.1 + fp16 add 0.4 (half2 FMA on the FP32 cores)"),
            "fp32": (FP32_MUL_PJ, FP32_ADD_PJ, "fp32 mult 3.7 + fp32 add 0.9 (fp16 GEMMs run as FP32 FMAs)")}
HBM_PJ_PER_BIT = 3.9
GDDR5_PJ_PER_BIT = 14.0      # assumption: "several times" HBM's 3.9 pJ/bit (O'Connor et al.)
SFU_FMA_EQUIVALENT = 4       # assumption: see the module docstring
L2_SLICE_BYTES = 512 * 1024  # assumption: L2 built of 512 KB slices (A100: 40 MB in 80 slices)
SMEM_BANKS = 32              # CUDA programming guide: shared memory has 32 banks of 4 bytes


def scaled(pj_45nm: float, node_nm: float) -> float:
    """Linear process scaling from 45 nm (see the module docstring)."""
    return pj_45nm * node_nm / HOROWITZ_NM


def gpu_energy_table(node_nm: float, smem_per_sm_bytes: int, smem_access_bytes: int,
                     l2_access_bytes: int, dram_access_bytes: int, dram_pj_per_bit: float,
                     mma_math: str = "tensor") -> dict:
    """``energy_pj`` entries of a GPU preset: component -> action -> pJ (rounded to 4 digits);
    ``mma_math`` is a key of ``MMA_MATH``."""
    bank = sram_access_pj_per_64b(smem_per_sm_bytes / SMEM_BANKS)
    slice_ = sram_access_pj_per_64b(L2_SLICE_BYTES)
    fma32 = FP32_MUL_PJ + FP32_ADD_PJ
    table = {
        "mma": {"mac": scaled(MMA_MATH[mma_math][0] + MMA_MATH[mma_math][1], node_nm)},
        "fp32": {"mac": scaled(fma32, node_nm), "add": scaled(FP32_ADD_PJ, node_nm),
                 "mul": scaled(FP32_MUL_PJ, node_nm), "max": scaled(FP32_ADD_PJ, node_nm)},
        "sfu": {"exp": scaled(SFU_FMA_EQUIVALENT * fma32, node_nm),
                "rsqrt": scaled(SFU_FMA_EQUIVALENT * fma32, node_nm)},
        "smem": {a: scaled(bank * smem_access_bytes / 8, node_nm) for a in ("read", "write")},
        "l2": {a: scaled(slice_ * l2_access_bytes / 8, node_nm) for a in ("read", "write")},
        "dram": {a: dram_pj_per_bit * 8 * dram_access_bytes for a in ("read", "write")},
    }
    return {c: {a: round(v, 4) for a, v in acts.items()} for c, acts in table.items()}
