"""The GPU machine family: kernels of CTAs on SMs, shared memory, L2 and HBM/GDDR.

``simulate_gpu(program, arch)`` runs a :class:`GpuProgram` on a ``family: gpu`` preset and returns
an :class:`archsim.SimResult`; ``archsim.energy`` prices its actions and static power. Model and
what it leaves out: archsim/gpu/sim.py, l2.py, memory.py, occupancy.py; docs/gpu.md.
"""
from .memory import ROUND_BYTES, liveness, peak_bytes
from .occupancy import check_kernel, ctas_per_sm
from .params import PRECISIONS, GpuParams
from .program import GpuProgram, Kernel
from .sim import bound_gpu, kernel_bound_cycles, kernel_cycles, simulate_gpu, timing_key

__all__ = ["GpuParams", "GpuProgram", "Kernel", "PRECISIONS", "ROUND_BYTES", "bound_gpu",
           "check_kernel", "ctas_per_sm", "kernel_bound_cycles", "kernel_cycles", "liveness", "peak_bytes",
           "simulate_gpu", "timing_key"]
