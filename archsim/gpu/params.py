"""Machine numbers only the GPU family needs (``gpu:`` section of a ``family: gpu`` preset).

Occupancy limits follow the CUDA occupancy calculator: a CTA of T threads, R registers per thread
and S bytes of shared memory is resident on an SM while the SM's threads, CTA slots, registers
(allocated per warp in ``register_alloc_unit`` registers) and shared memory (allocated in
``smem_alloc_unit_bytes``) last. Host/stream costs: the host enqueues one kernel every
``launch_overhead_s`` (PyTorch eager dispatch plus the driver's launch call) and the GPU pays
``kernel_overhead_s`` per kernel (grid launch and drain) before and after its CTAs run.
``dram_efficiency``: the fraction of the vendor DRAM peak that streaming traffic sustains
(refresh, read/write turnaround, page misses). Per-SM ports: ``l1_bytes_per_cycle_per_sm`` is an
SM's load/store path to L1/shared memory, ``l2_bytes_per_cycle_per_sm`` its share of the L2
fabric (the L2 level's own bandwidth caps the total).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GpuParams", "PRECISIONS"]

PosInt = Annotated[int, Field(gt=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]

# Bytes per element of each precision the GPU kernels accept.
PRECISIONS = {"fp16": 2, "bf16": 2, "fp32": 4}


class GpuParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    sms: PosInt
    warp_size: PosInt
    max_threads_per_sm: PosInt
    max_threads_per_cta: PosInt
    max_ctas_per_sm: PosInt
    registers_per_sm: PosInt
    max_registers_per_thread: PosInt
    register_alloc_unit: PosInt
    smem_per_sm_bytes: PosInt
    smem_per_cta_bytes: PosInt
    smem_alloc_unit_bytes: PosInt
    l1_bytes_per_cycle_per_sm: PosFloat
    l2_bytes_per_cycle_per_sm: PosFloat
    dram_efficiency: Fraction
    launch_overhead_s: NonNegFloat
    kernel_overhead_s: NonNegFloat
    tdp_w: PosFloat
    process_nm: PosFloat
