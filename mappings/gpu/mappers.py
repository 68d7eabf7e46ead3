"""GPU mappers: the cascades as PyTorch-eager-style kernel sequences on a GPU-family preset.

Registered: ``gpu_copy`` (copy), ``gpu_gemm`` (gemm), ``gpu_attention_unfused`` (attention_3pass:
S = QK^T, scale, cast to fp32, softmax, cast back, O = PV; S and P live in device memory) and
``gpu_attention_fused`` (attention_1pass: a FlashAttention-2 style kernel). Options:
``precision`` (fp16 default, bf16, fp32: element bytes of the tensors) and, for attention,
``instances`` (batch x heads, default 1). The GEMM tile (and split-K) is chosen by
:func:`choose_gemm_tile`; every choice is shown in the record (``kernels``, ``tiles``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from archsim.gpu import PRECISIONS, GpuProgram, ctas_per_sm, kernel_bound_cycles, kernel_cycles

from ..registry import register
from ..shape import largest_divisor_at_most
from ..spec import MappingError
from .kernels import FP32, GEMM_TILES, elementwise, fused_attention, gemm, rowwise, wave_ctas

__all__ = ["GpuMapping", "choose_gemm_tile", "MAPPERS", "AUTOTUNE", "TILE_TIMINGS"]

AUTOTUNE = 3   # GEMM candidates timed after the estimate ranks them
TILE_TIMINGS = ("event", "bound")   # how the candidates are timed


@dataclass(frozen=True)
class GpuMapping:
    mapper: str
    program: GpuProgram
    choices: dict = field(default_factory=dict)
    tiling: dict = field(default_factory=dict)   # kernel -> tile objects the executors replay
    backing_level: str = "dram"

    def describe(self) -> dict[str, str]:
        return dict(self.choices)


def _precision(options: dict) -> tuple[str, int]:
    precision = options.pop("precision", "fp16")
    if precision not in PRECISIONS:
        raise MappingError(f"precision: unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return precision, PRECISIONS[precision]


def _positive(options: dict, key: str, default: int) -> int:
    value = options.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MappingError(f"{key}: expected a positive integer, got {value!r}")
    return value


def _no_more(name: str, options: dict) -> None:
    if options:
        raise MappingError(f"{sorted(options)[0]}: unknown option of mapper {name}")


def _slots(arch, kernel) -> int:
    return arch.gpu.sms * ctas_per_sm(kernel, arch.gpu)


def choose_gemm_tile(arch, M: int, N: int, K: int, elem: int, batch: int = 1, timing: str = "event"):
    """(tile, splits) as a library's heuristic plus autotuning would pick it: every tile of the
    menu and split-K factor 1..16 (split-K only while the grid has fewer CTAs than SMs) is ranked
    by the estimate max(compute, SM ports, DRAM), and the ``AUTOTUNE`` best are timed; the
    fastest wins (ties: the larger tile; under ``bound`` timing, the better estimate first).
    Compute: the busiest SM's CTAs x its tile's MACs at the SM's tensor rate; SM ports: the same
    CTAs' global loads through the SM's L2 port and fragment reads through its shared-memory port;
    DRAM: the L2 model's traffic at the sustained bandwidth (all inputs cold). Tiles that exceed shared memory per CTA are
    skipped. ``timing``: ``event`` simulates each candidate (:func:`archsim.gpu.kernel_cycles`);
    ``bound`` takes its closed-form bound (:func:`archsim.gpu.kernel_bound_cycles`), the timing
    of the GPU family's bound fidelity."""
    if timing not in TILE_TIMINGS:
        raise MappingError(f"timing: expected one of {', '.join(TILE_TIMINGS)}, got {timing!r}")
    gpu = arch.gpu
    mma = arch.units["mma"]
    l2_cap = arch.levels["l2"].capacity_bytes
    dram_bw = arch.levels["dram"].bandwidth_bytes_per_cycle * gpu.dram_efficiency
    ranked = []
    for tile in GEMM_TILES:
        if tile.smem_bytes(elem) > gpu.smem_per_cta_bytes:
            continue
        for splits in (1, 2, 4, 8, 16):
            if splits > 1 and batch * ceil(M / tile.Mt) * ceil(N / tile.Nt) * (splits // 2) >= gpu.sms:
                break
            k = gemm("probe", M, N, K, tile, elem, gpu.sms, "A", "B", "C", batch, splits)
            slots = _slots(arch, k)
            k = gemm("probe", M, N, K, tile, elem, slots, "A", "B", "C", batch, splits)
            per_sm = ceil(k.ctas / gpu.sms)
            compute = per_sm * k.steps * tile.Mt * tile.Nt * tile.Kt / mma.lanes
            ports = per_sm * k.steps * max(k.load_bytes_per_step / gpu.l2_bytes_per_cycle_per_sm,
                                           k.smem_bytes_per_step / gpu.l1_bytes_per_cycle_per_sm)
            unique = sum(k.reads.values())
            dram = unique
            if k.wave_footprint_bytes > l2_cap:
                dram = min(k.load_bytes, ceil(k.ctas / slots) * k.wave_footprint_bytes)
            cost = max(compute, ports, (dram + sum(k.writes.values())) / dram_bw)
            ranked.append(((cost, -tile.Mt * tile.Nt, splits), tile, splits, k, dram))
    if not ranked:
        raise MappingError(f"tiles: no GEMM tile fits {arch.name}'s {gpu.smem_per_cta_bytes} B of "
                           "shared memory per CTA")
    ranked.sort(key=lambda c: c[0])
    timed = []
    for key, tile, splits, k, dram in ranked[:AUTOTUNE]:
        if timing == "event":
            order = (kernel_cycles(k, arch, min(1.0, dram / k.load_bytes), 1.0)[0], key[1], splits)
        else:   # equal bounds (the same MACs and bytes): the estimate, which sees waves, decides
            order = (kernel_bound_cycles(k, arch, dram, k.store_bytes_total), key[0], key[1], splits)
        timed.append((order, tile, splits))
    best = min(timed, key=lambda c: c[0])
    return best[1], best[2]


def gemm_kernels(arch, name: str, M: int, N: int, K: int, elem: int, a: str, b: str, c: str,
                 batch: int = 1, timing: str = "event") -> tuple[list, str, tuple]:
    """The kernels of one (batched) GEMM (the tiled kernel, plus a split-K reduction), their
    description and the (tile, splits) chosen (``timing``: :func:`choose_gemm_tile`)."""
    tile, splits = choose_gemm_tile(arch, M, N, K, elem, batch, timing)
    probe = gemm(name, M, N, K, tile, elem, arch.gpu.sms, a, b, c, batch, splits)
    slots = _slots(arch, probe)
    if splits == 1:
        return [gemm(name, M, N, K, tile, elem, slots, a, b, c, batch)], tile.describe(), (tile, 1)
    part = f"{c}.partial"
    kernels = [gemm(name, M, N, K, tile, elem, slots, a, b, part, batch, splits),
               elementwise(f"{name}.splitk_reduce", {part: batch * M * N * FP32 * splits},
                           {c: batch * M * N * elem}, wave_ctas(arch), {"fp32.add": 1 / FP32})]
    return kernels, f"{tile.describe()}/splitk{splits}", (tile, splits)


class _GpuMapper:
    families = ("gpu",)
    workloads: tuple[str, ...] = ()

    def __init__(self, name: str, description: str, workloads: tuple[str, ...], build, chunks=None):
        self.name, self.description, self.workloads, self._build = name, description, workloads, build
        self._chunks = chunks

    def choose_shape(self, shape: dict[str, int], arch) -> dict[str, int]:
        """The chunk sizes the mapper's kernel runs (the fused kernel's key block as ``M0``)."""
        return self._chunks(shape) if self._chunks else {}

    def map(self, cascade, arch, **options) -> GpuMapping:
        if cascade.name not in self.workloads:
            raise MappingError(f"workload: {self.name} maps {', '.join(self.workloads)}, not {cascade.name}")
        if arch.gpu is None:
            raise MappingError(f"arch: {arch.name} is not a GPU preset (family {arch.family})")
        options = dict(options)
        precision, elem = _precision(options)
        program, choices, tiling = self._build(cascade, arch, elem, options)
        _no_more(self.name, options)
        return GpuMapping(self.name, program, {"precision": precision, **choices}, tiling)

    def lower(self, cascade, mapping: GpuMapping, arch) -> GpuProgram:
        return mapping.program


def _copy(cascade, arch, elem, options):
    n = cascade.shape["M"] * cascade.shape["N"] * elem
    k = elementwise("copy", {"X": n}, {"Y": n}, wave_ctas(arch))
    block = n // (k.ctas * k.steps) if n % (k.ctas * k.steps) == 0 else ceil(n / (k.ctas * k.steps))
    return (GpuProgram("copy", (k,), {"X": n, "Y": n}), {"kernels": "copy", "tiles": f"ctas={k.ctas},steps={k.steps}"},
            {"copy": (k.ctas, k.steps, block)})


def _gemm(cascade, arch, elem, options):
    M, K, N = (cascade.shape[x] for x in ("M", "K", "N"))
    kernels, tile, chosen = gemm_kernels(arch, "gemm", M, N, K, elem, "A", "B", "Z")
    inputs = {"A": M * K * elem, "B": K * N * elem}
    return (GpuProgram("gemm", tuple(kernels), inputs),
            {"kernels": "+".join(k.name for k in kernels), "tiles": tile}, {"gemm": chosen})


def _attention_shape(cascade, options):
    s = cascade.shape
    if s["E"] != s["F"]:
        raise MappingError(f"E: GPU attention kernels take E == F (head dim), got E={s['E']} F={s['F']}")
    return _positive(options, "instances", 1), s["M"], s["P"], s["E"]


def _attention_unfused(cascade, arch, elem, options):
    BH, M, P, D = _attention_shape(cascade, options)
    s16, s32 = BH * P * M * elem, BH * P * M * FP32
    qkv = {"Q": BH * P * D * elem, "K": BH * M * D * elem, "V": BH * M * D * elem}
    k1, t1, c1 = gemm_kernels(arch, "qk", P, M, D, elem, "Q", "K", "S", BH)
    k6, t6, c6 = gemm_kernels(arch, "pv", P, D, M, elem, "P", "V", "O", BH)
    wave = wave_ctas(arch)
    kernels = [*k1,
               elementwise("scale", {"S": s16}, {"S2": s16}, wave, {"fp32.mul": 1 / elem}),
               elementwise("to_fp32", {"S2": s16}, {"F": s32}, wave),
               rowwise("softmax", BH * P, M * FP32, M * FP32, {"F": s32}, {"P32": s32},
                       {"fp32.max": M, "fp32.add": 2 * M, "sfu.exp": M, "fp32.mul": M}, wave),
               elementwise("to_half", {"P32": s32}, {"P": s16}, wave),
               *k6]
    return (GpuProgram("attention_unfused", tuple(kernels), qkv),
            {"kernels": "+".join(k.name for k in kernels), "tiles": f"qk={t1};pv={t6}"},
            {"qk": c1, "pv": c6})


BR, BC = 128, 64   # FlashAttention-2's query and key block at head dim 64 (Dao 2023)


def _key_block(shape: dict[str, int]) -> dict[str, int]:
    """``M0`` = the key block the fused kernel streams: Bc, or the largest divisor of M below it
    (the cascade's chunks are whole; the kernel's last block is partial when Bc does not divide M)."""
    return {"M0": largest_divisor_at_most(int(shape["M"]), BC)} if "M0" in shape else {}


def _attention_fused(cascade, arch, elem, options):
    BH, M, P, D = _attention_shape(cascade, options)
    if M != P:
        raise MappingError(f"P: the fused kernel here is self-attention (P == M), got P={P} M={M}")
    block = _key_block(cascade.shape)
    if block and cascade.shape["M0"] != block["M0"]:
        raise MappingError(f"M0: gpu_attention_fused streams keys in blocks of Bc={BC} (FlashAttention-2), "
                           f"so its chunk is M0={block['M0']} for M={M}; leave M0 unset, got M0={cascade.shape['M0']}")
    qkv = {"Q": BH * P * D * elem, "K": BH * M * D * elem, "V": BH * M * D * elem}
    probe = fused_attention("flash_fwd", BH, M, D, elem, arch.gpu.sms, "Q", "K", "V", "O", "LSE", BR, BC)
    k = fused_attention("flash_fwd", BH, M, D, elem, _slots(arch, probe), "Q", "K", "V", "O", "LSE", BR, BC)
    return (GpuProgram("attention_fused", (k,), qkv), {"kernels": "flash_fwd", "tiles": f"Br={BR},Bc={BC}"},
            {"flash_fwd": (BR, BC)})


MAPPERS = {m.name: register(m) for m in (
    _GpuMapper("gpu_copy", "GPU device-to-device copy (PyTorch's vectorised elementwise kernel)",
               ("copy",), _copy),
    _GpuMapper("gpu_gemm", "GPU tensor-core GEMM with a tile and split-K search (cuBLAS-like)",
               ("gemm",), _gemm),
    _GpuMapper("gpu_attention_unfused", "GPU eager attention: QK^T GEMM, scale, fp32 softmax, cast, PV "
               "GEMM (S and P in device memory)", ("attention_3pass",), _attention_unfused),
    _GpuMapper("gpu_attention_fused", "GPU fused 1-pass attention (FlashAttention-2 forward)",
               ("attention_1pass",), _attention_fused, _key_block),
)}
