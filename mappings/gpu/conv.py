"""Grouped, depthwise and dense convolution kernels on GPUs (NHWC, cuDNN-like), and their choice.

Two kernel families, each a grid of CTAs over (image, th x tw output-pixel tile, channel block);
a channel block is either a run of whole groups or, when a group is wider than the block, a slice
of one group's output channels. A CTA steps over its input channels a slice at a time
(``channel_step``: 32, or 16 / 8 when shared memory is short), staging the input tile with its
halo ((th-1) s + k) x ((tw-1) s + k) and the matching weights in shared memory, and stores its
outputs once with a fused bias + ReLU epilogue (batch norm folded into the weights: inference).
Edge tiles run as full tiles (their MACs and loads are charged in full). Stated assumptions:

- ``implicit_gemm`` (tensor cores, ``mma.mac``): per group an implicit GEMM of M = pixels,
  N = output channels per group, K = k^2 x group size. The MMA operates on whole fragments, so a
  group's channels are padded to ``MMA_CHANNEL_GRANULE`` = 8 (the fp16 128-bit vector, CUTLASS's
  channel alignment) in K and its output channels to ``MMA_N_GRANULE`` = 8 (mma.m16n8k16) in N:
  a depthwise layer wastes 63 of every 64 tensor-core MACs. One main-loop step per (channel
  slice, tap): the slice's halo tile is loaded at its first tap; warps read A fragments for every
  tap from shared memory (``warps_n`` times, or once per warp column's own groups in a block of
  several groups) and B fragments ``warps_m`` times. 40 + accumulators registers per thread.
- ``direct`` (FP32 pipes, ``fp32.mac``, fp16 storage, fp32 accumulation): a thread owns
  ``DIRECT_PIXELS`` adjacent output pixels along w x up to ``DIRECT_CHANNELS`` output channels
  of one group; per input channel it reads the 3 x ((pixels-1) s + k) input window and k^2 x
  channels weights from shared memory into registers (no MAC waste, little reuse); 64 registers
  per thread.

Choice (``kernel="auto"``, as cuDNN's autotuner would: it times candidates): every candidate of
the menus is ranked by :func:`estimate_cycles` (max of the busiest SM's pipe time, its L2 and
shared-memory ports, and DRAM traffic at the sustained bandwidth); the ``AUTOTUNE`` best of each
kernel family, unless estimated over ``PRUNE`` times the best estimate, are simulated (each as a
program of its own: :func:`simulated_cost`) and ``select`` picks among them: ``time`` (default) the fastest,
``energy`` the least energy (the kernel's actions priced by the preset plus static power over its
time); ties go to the menu order. ``kernel=implicit_gemm|direct`` restricts the menus to one family.
Leaves out Winograd/FFT algorithms, split-K over channels, and the layout transforms cuDNN may add.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from math import ceil

import archsim
from archsim.gpu import GpuProgram, Kernel, ctas_per_sm, simulate_gpu

from ..spec import MappingError

__all__ = ["ConvTile", "channel_blocking", "IMPLICIT_TILES", "DIRECT_TILES", "conv_kernel", "estimate_cycles",
           "simulated_cost", "choose_conv_kernel", "CONV_KERNELS", "SELECTS", "AUTOTUNE", "PRUNE"]

CHANNEL_STEPS = (32, 16, 8)   # channel steps tried, largest first, until the tile fits shared memory
MMA_CHANNEL_GRANULE = 8
MMA_N_GRANULE = 8
DIRECT_PIXELS = 4
DIRECT_CHANNELS = 4
FP32 = 4
CONV_KERNELS = ("auto", "implicit_gemm", "direct")
SELECTS = ("time", "energy")
AUTOTUNE = 2                  # candidates per kernel family (best by the estimate) the choice simulates
# A candidate whose estimate exceeds PRUNE x the best estimate is not simulated. assumption: the
# estimate errs by less than 2x between candidates: on the e2gc study's layers (V100, P100, H200,
# batch 64) every simulated winner's estimate was within 1.07x of the best estimate, and every
# candidate estimated >= 1.75x the best simulated >= 1.4x slower than the winner.
PRUNE = 2.0


def _ceil_to(x: int, unit: int) -> int:
    return -(-x // unit) * unit


@dataclass(frozen=True)
class ConvTile:
    """A CTA tile: ``th`` x ``tw`` output pixels x ``channels`` output channels (a block of whole
    groups, or a slice of one group); ``warps_m`` x ``warps_n`` warps; ``stages`` buffers."""

    kind: str
    th: int
    tw: int
    channels: int
    warps_m: int
    warps_n: int
    stages: int
    channel_step: int = 32      # input channels staged per main-loop step (CUTLASS's Kt = 32)

    def describe(self) -> str:
        return (f"{self.kind}:{self.th}x{self.tw}x{self.channels}/c{self.channel_step}/s{self.stages}"
                f"/w{self.warps_m}x{self.warps_n}")


# Menus (assumption: representative of cuDNN's grouped-conv kernels, not its exact list).
IMPLICIT_TILES = tuple(ConvTile("implicit_gemm", th, tw, n, wm, wn, 3) for (th, tw, n, wm, wn) in (
    (16, 16, 128, 4, 2), (8, 16, 128, 2, 2), (16, 16, 64, 4, 2), (8, 16, 64, 2, 2), (16, 16, 32, 4, 2)))
DIRECT_TILES = tuple(ConvTile("direct", th, tw, n, 8, 1, 2) for (th, tw, n) in (
    (16, 16, 32), (8, 16, 64), (8, 8, 128), (16, 16, 16)))


def channel_blocking(layer, tile: ConvTile) -> tuple[int, int]:
    """(groups per CTA, slices per group): a CTA's channel block is ``groups per CTA`` whole groups
    (slices = 1) or one of ``slices`` near-equal slices of one group's output channels."""
    n_granule = MMA_N_GRANULE if tile.kind == "implicit_gemm" else 1
    Kp = _ceil_to(layer.out_per_group, n_granule)
    if Kp <= tile.channels:
        return min(layer.groups, max(1, tile.channels // Kp)), 1
    return 1, ceil(Kp / tile.channels)


def conv_kernel(name: str, layer, tile: ConvTile, batch: int, elem: int, x: str, w: str, y: str) -> Kernel:
    """The kernel running ``layer`` (a workloads.conv_layers.ConvLayer) with ``tile``."""
    k, s = layer.kernel, layer.stride
    G, Kg, groups = layer.group_size, layer.out_per_group, layer.groups
    th, tw = min(tile.th, layer.h_out), min(tile.tw, layer.w_out)
    tensor = tile.kind == "implicit_gemm"
    Gp = _ceil_to(G, MMA_CHANNEL_GRANULE) if tensor else G
    Kp = _ceil_to(Kg, MMA_N_GRANULE) if tensor else Kg
    groups_per_cta, out_slices = channel_blocking(layer, tile)
    if out_slices == 1:                         # a block of whole groups
        out_ch, in_ch, mac_out = groups_per_cta * Kg, groups_per_cta * G, groups_per_cta * Kp
        blocks = ceil(groups / groups_per_cta)
    else:                                       # a slice of one group's outputs
        out_ch, in_ch, mac_out = ceil(Kg / out_slices), G, tile.channels
        blocks = groups * out_slices
    pixels = th * tw
    halo = ((th - 1) * s + k) * ((tw - 1) * s + k)
    slices = max(1, ceil(in_ch / tile.channel_step))
    ch_slice = in_ch / slices
    threads = 32 * tile.warps_m * tile.warps_n
    if tensor:
        # one step per (channel slice, tap): the slice's halo tile is loaded at its first tap and
        # stays (double-buffered) while the taps' weight slices stream through ``stages`` buffers
        steps = slices * k * k
        w_step = out_ch * G / slices                         # weight elements of one tap
        macs_step = pixels * mac_out * Gp / slices
        load = (halo * ch_slice / (k * k) + w_step) * elem
        work = {"mma.mac": macs_step}
        # A fragments (pixels x padded channels): a warp column reads only its own groups' channels,
        # so the block's A is read warps_n / min(warps_n, groups) times; B fragments (MACs / pixels)
        # once per warp row
        a_reads = tile.warps_n / min(tile.warps_n, groups_per_cta)
        smem = (a_reads * pixels * Gp * ch_slice / G + tile.warps_m * macs_step / pixels) * elem
        smem_bytes = (2 * halo * ceil(ch_slice) + tile.stages * ceil(w_step)) * elem
        registers = min(255, pixels * mac_out // threads + 40)
    else:
        steps = slices
        w_step = k * k * out_ch * G / slices
        load = (halo * ch_slice + w_step) * elem
        work = {"fp32.mac": pixels * out_ch * k * k * G / slices}
        kr = min(Kg, DIRECT_CHANNELS)
        thread_blocks = pixels * out_ch / (DIRECT_PIXELS * kr)
        window = k * ((DIRECT_PIXELS - 1) * s + k)
        smem = thread_blocks * G * (window + k * k * kr) * elem / steps
        smem_bytes = tile.stages * (halo * ceil(ch_slice) + ceil(w_step)) * elem
        registers = 64
    tiles = ceil(layer.h_out / th) * ceil(layer.w_out / tw)
    outputs = pixels * out_ch
    return Kernel(name, ctas=batch * tiles * blocks, threads=threads, registers_per_thread=registers,
                  smem_bytes=int(smem_bytes), steps=steps, load_bytes_per_step=load,
                  smem_bytes_per_step=smem, work_per_step=work, store_bytes=outputs * elem,
                  epilogue_work={"fp32.add": outputs, "fp32.max": outputs}, stages=tile.stages,
                  reads={x: layer.input_words(batch) * elem, w: layer.weights() * elem},
                  writes={y: layer.output_words(batch) * elem})


def estimate_cycles(kernel: Kernel, arch) -> float:
    """Closed-form cost of one kernel: max(busiest SM's pipe cycles, its L2-port and shared-memory
    cycles, compulsory DRAM bytes / sustained bandwidth), CTAs spread over SMs in whole waves."""
    gpu = arch.gpu
    per_sm = ceil(kernel.ctas / gpu.sms)
    pipes = 0.0
    for action, count in kernel.work_per_step.items():
        unit, _, op = action.partition(".")
        u = arch.units[unit]
        pipes += count * u.cycles_per_op[op] / u.lanes
    compute = per_sm * kernel.steps * pipes
    ports = per_sm * kernel.steps * max(kernel.load_bytes_per_step / gpu.l2_bytes_per_cycle_per_sm,
                                        kernel.smem_bytes_per_step / gpu.l1_bytes_per_cycle_per_sm)
    dram_bw = arch.levels["dram"].bandwidth_bytes_per_cycle * gpu.dram_efficiency
    dram = (sum(kernel.reads.values()) + sum(kernel.writes.values())) / dram_bw
    return max(compute, ports, dram)


def simulated_cost(kernel: Kernel, arch, select: str = "time") -> float:
    """The kernel as a program of its own (its reads pre-allocated), simulated with the GPU family's
    protocol (archsim/gpu/sim.py): its cycles for ``select="time"``, its energy in pJ (actions and
    static power) for ``"energy"``. A layer timed on its own therefore reuses this simulation."""
    result = simulate_gpu(GpuProgram(kernel.name, (kernel,), dict(kernel.reads)), arch)
    return result.cycles if select == "time" else archsim.energy(result, arch).total_pj


def choose_conv_kernel(layer, arch, batch: int, elem: int, kernel: str = "auto",
                       name: str = "conv", x: str = "X", w: str = "W", y: str = "Y",
                       select: str = "time") -> tuple[Kernel, ConvTile]:
    """The kernel of the menus ``kernel`` allows that ``select`` prefers among the ``AUTOTUNE``
    best (by :func:`estimate_cycles`) fitting candidates of each family within ``PRUNE`` x the best
    estimate, simulated."""
    if kernel not in CONV_KERNELS:
        raise MappingError(f"kernel: unknown conv kernel {kernel!r}; known: {', '.join(CONV_KERNELS)}")
    if select not in SELECTS:
        raise MappingError(f"select: expected one of {', '.join(SELECTS)}, got {select!r}")
    menu = {"auto": IMPLICIT_TILES + DIRECT_TILES, "implicit_gemm": IMPLICIT_TILES,
            "direct": DIRECT_TILES}[kernel]
    if "mma" not in arch.units:
        menu = tuple(t for t in menu if t.kind == "direct")
    ranked: dict[str, list] = {}
    for order, base in enumerate(menu):
        for step in CHANNEL_STEPS:
            tile = replace(base, channel_step=step)
            k = conv_kernel(name, layer, tile, batch, elem, x, w, y)
            if k.smem_bytes <= arch.gpu.smem_per_cta_bytes and ctas_per_sm(k, arch.gpu) >= 1:
                break
        else:
            continue
        ranked.setdefault(tile.kind, []).append((estimate_cycles(k, arch), order, k, tile))
    if not ranked:
        raise MappingError(f"kernel: no {kernel} conv tile fits {arch.name} for layer {layer.name}")
    floor = min(c[0] for family in ranked.values() for c in family)
    candidates = [c for family in ranked.values() for c in sorted(family, key=lambda c: c[:2])[:AUTOTUNE]
                  if c[0] <= PRUNE * floor]
    best = min(candidates, key=lambda c: (simulated_cost(c[2], arch, select), c[1]))
    return best[2], best[3]
