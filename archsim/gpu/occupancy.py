"""Occupancy: how many CTAs of a kernel an SM holds at once (the CUDA occupancy calculator's rules).

Resident CTAs = min over the limits of ``max_ctas_per_sm``, threads (``max_threads_per_sm`` / the
CTA's threads rounded up to whole warps), registers (per warp, ``registers_per_thread`` x
``warp_size`` rounded up to ``register_alloc_unit``; ``registers_per_sm`` / the CTA's warps'
registers) and shared memory (the CTA's bytes rounded up to ``smem_alloc_unit_bytes``;
``smem_per_sm_bytes`` / that). A CTA that breaks a per-CTA limit (threads, registers per
thread, shared memory per CTA) is a :class:`ValueError` naming the field and the limit.
"""
from __future__ import annotations

__all__ = ["ctas_per_sm", "check_kernel"]


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def check_kernel(kernel, gpu) -> None:
    """ValueError naming the first per-CTA limit ``kernel`` breaks on a GPU with ``gpu`` params."""
    if kernel.threads > gpu.max_threads_per_cta:
        raise ValueError(f"kernel {kernel.name}: threads: {kernel.threads} per CTA exceeds the "
                         f"limit of {gpu.max_threads_per_cta}")
    if kernel.registers_per_thread > gpu.max_registers_per_thread:
        raise ValueError(f"kernel {kernel.name}: registers_per_thread: {kernel.registers_per_thread} "
                         f"exceeds the limit of {gpu.max_registers_per_thread}")
    if kernel.smem_bytes > gpu.smem_per_cta_bytes:
        raise ValueError(f"kernel {kernel.name}: smem_bytes: {kernel.smem_bytes} B per CTA exceeds "
                         f"the limit of {gpu.smem_per_cta_bytes} B")
    if ctas_per_sm(kernel, gpu) < 1:
        raise ValueError(f"kernel {kernel.name}: registers: the CTA's "
                         f"{kernel.threads} threads x {kernel.registers_per_thread} registers do not "
                         f"fit one SM's {gpu.registers_per_sm}")


def ctas_per_sm(kernel, gpu) -> int:
    warps = -(-kernel.threads // gpu.warp_size)
    limits = [gpu.max_ctas_per_sm, gpu.max_threads_per_sm // (warps * gpu.warp_size)]
    regs_per_warp = _round_up(kernel.registers_per_thread * gpu.warp_size, gpu.register_alloc_unit)
    limits.append(gpu.registers_per_sm // (regs_per_warp * warps))
    if kernel.smem_bytes:
        limits.append(gpu.smem_per_sm_bytes // _round_up(kernel.smem_bytes, gpu.smem_alloc_unit_bytes))
    return min(limits)
