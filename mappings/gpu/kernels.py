"""GPU kernel builders: what one CTA of each kernel loads, computes and stores.

Each builder returns an :class:`archsim.gpu.Kernel`; mappers (mappings/gpu/mappers.py) compose
them into programs. Conventions (stated once, used by every builder):

- Elementwise kernels (copy, scale, casts, SiLU, residual adds) follow PyTorch's vectorised
  elementwise kernel: 128 threads per CTA, each moving ``ELEMENTWISE_BYTES_PER_THREAD`` bytes of
  input (4 x 16-byte vectors), no shared memory, 32 registers per thread (assumption). A grid
  larger than one wave of resident CTAs (``max_ctas``, the GPU's slots for such a CTA) is
  modelled as a grid-stride loop of one wave (each CTA handles several blocks as consecutive
  steps, posting its stores), which keeps the bytes, the concurrency and the per-slot order of
  the larger grid while bounding the simulated CTAs.
- Row-wise reductions (softmax, GroupNorm statistics) give one CTA a block of rows, loading each
  row once and writing it once (the row fits in registers/shared memory).
- Tiled GEMMs (tensor-core kernels in the style of cuBLAS/CUTLASS): a CTA computes an Mt x Nt
  output tile, stepping over K in Kt slices staged through shared memory in ``stages`` buffers;
  a warp owns a (Mt / warps_m) x (Nt / warps_n) sub-tile and reads its A and B fragments from
  shared memory every k-slice. Partial edge tiles run as full tiles (the MMA instructions operate
  on whole fragments), so their MACs and loads are charged in full. Tiles are rasterised in
  near-square groups of CTAs (CUTLASS's threadblock swizzle), so one wave of CTAs covers about
  sqrt(wave) x sqrt(wave) tiles: its panel footprint is what the L2 model reads from DRAM.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, isqrt

from archsim.gpu import Kernel

__all__ = ["GemmTile", "GEMM_TILES", "ELEMENTWISE_BYTES_PER_THREAD", "wave_ctas", "elementwise", "rowwise",
           "gemm", "fused_attention"]

ELEMENTWISE_BYTES_PER_THREAD = 64
ELEMENTWISE_THREADS = 128
FP32 = 4


def wave_ctas(arch, threads: int = ELEMENTWISE_THREADS) -> int:
    """CTAs of ``threads`` threads (few registers, no shared memory) resident at once on ``arch``."""
    gpu = arch.gpu
    return gpu.sms * min(gpu.max_ctas_per_sm, gpu.max_threads_per_sm // threads)


@dataclass(frozen=True)
class GemmTile:
    """A CTA tile: Mt x Nt outputs, Kt-deep k-slices, ``stages`` shared-memory buffers,
    ``warps_m`` x ``warps_n`` warps."""

    Mt: int
    Nt: int
    Kt: int
    stages: int
    warps_m: int
    warps_n: int

    @property
    def threads(self) -> int:
        return 32 * self.warps_m * self.warps_n

    def registers(self) -> int:
        """fp32 accumulators of the warp's sub-tile per thread, plus 40 for addresses, fragments
        and indices (assumption), capped at 255."""
        return min(255, self.Mt * self.Nt // self.threads + 40)

    def smem_bytes(self, elem: int) -> int:
        return self.stages * (self.Mt + self.Nt) * self.Kt * elem

    def describe(self) -> str:
        return f"{self.Mt}x{self.Nt}x{self.Kt}/s{self.stages}/w{self.warps_m}x{self.warps_n}"


# The tile menu (cuBLAS/CUTLASS-like shapes; assumption: a representative subset of its kernels).
GEMM_TILES = (
    GemmTile(128, 256, 32, 3, 2, 4), GemmTile(256, 128, 32, 3, 4, 2), GemmTile(128, 128, 32, 4, 2, 2),
    GemmTile(128, 64, 32, 4, 2, 2), GemmTile(64, 128, 32, 4, 2, 2), GemmTile(64, 64, 32, 4, 2, 2),
)


def elementwise(name: str, reads: dict[str, int], writes: dict[str, int], max_ctas: int,
                work_per_byte: dict[str, float] | None = None) -> Kernel:
    """A vectorised elementwise kernel over the largest input: every input and output streamed
    once; ``work_per_byte``: operator counts per input byte (e.g. fp32.mul for a scale)."""
    in_bytes = sum(reads.values())
    out_bytes = sum(writes.values())
    per_cta = ELEMENTWISE_THREADS * ELEMENTWISE_BYTES_PER_THREAD
    blocks = max(1, ceil(max(reads.values(), default=out_bytes) / per_cta))
    ctas = min(blocks, max_ctas)
    steps = ceil(blocks / ctas)
    n = ctas * steps
    work = {k: v * in_bytes / n for k, v in (work_per_byte or {}).items()}
    return Kernel(name, ctas=ctas, threads=ELEMENTWISE_THREADS, registers_per_thread=32, smem_bytes=0,
                  steps=steps, load_bytes_per_step=in_bytes / n, smem_bytes_per_step=0.0,
                  work_per_step=work, store_bytes=0.0, store_bytes_per_step=out_bytes / n,
                  reads=reads, writes=writes, stages=1)


def rowwise(name: str, rows: int, row_bytes_in: int, row_bytes_out: int, reads: dict[str, int],
            writes: dict[str, int], work_per_row: dict[str, float], max_ctas: int,
            rows_per_cta: int = 4) -> Kernel:
    """One CTA per ``rows_per_cta`` rows (a warp per row, 4 warps; a grid-stride loop beyond
    ``max_ctas``), each row loaded and stored once (softmax; GroupNorm over a group)."""
    blocks = ceil(rows / rows_per_cta)
    ctas = min(blocks, max_ctas)
    steps = ceil(blocks / ctas)
    n = rows / (ctas * steps)
    return Kernel(name, ctas=ctas, threads=128, registers_per_thread=64, smem_bytes=0, steps=steps,
                  load_bytes_per_step=n * row_bytes_in, smem_bytes_per_step=0.0,
                  work_per_step={k: v * n for k, v in work_per_row.items()},
                  store_bytes=0.0, store_bytes_per_step=n * row_bytes_out, reads=reads, writes=writes,
                  stages=1)


def _wave_tiles(slots: int, tiles_m: int, tiles_n: int) -> tuple[int, int]:
    """(m-tiles, n-tiles) one swizzled wave of ``slots`` CTAs covers."""
    side = max(1, isqrt(slots))
    wm = min(tiles_m, side)
    wn = min(tiles_n, ceil(slots / wm))
    return wm, wn


def gemm(name: str, M: int, N: int, K: int, tile: GemmTile, elem: int, slots: int,
         a: str, b: str, c: str, batch: int = 1, splits: int = 1, out_elem: int | None = None) -> Kernel:
    """A batched tiled GEMM C[batch] = A[batch] (M x K) @ B[batch] (K x N) with ``splits``-way
    split-K (partial sums in fp32 to a workspace when splits > 1; see :func:`split_k_reduce`)."""
    out_elem = out_elem or elem
    tm, tn = ceil(M / tile.Mt), ceil(N / tile.Nt)
    k_per_split = ceil(K / splits)
    steps = ceil(k_per_split / tile.Kt)
    ctas = batch * tm * tn * splits
    load = (tile.Mt + tile.Nt) * tile.Kt * elem
    smem_reads = (tile.Mt * tile.warps_n + tile.Nt * tile.warps_m) * tile.Kt * elem
    wm, wn = _wave_tiles(slots, tm, tn)
    footprint = (wm * tile.Mt + wn * tile.Nt) * K * elem
    c_elem = FP32 if splits > 1 else out_elem
    return Kernel(name, ctas=ctas, threads=tile.threads, registers_per_thread=tile.registers(),
                  smem_bytes=tile.smem_bytes(elem), steps=steps, load_bytes_per_step=load,
                  smem_bytes_per_step=smem_reads,
                  work_per_step={"mma.mac": tile.Mt * tile.Nt * tile.Kt},
                  store_bytes=tile.Mt * tile.Nt * c_elem, stages=tile.stages,
                  reads={a: batch * M * K * elem, b: batch * K * N * elem},
                  writes={c: batch * M * N * c_elem * splits if splits > 1 else batch * M * N * out_elem},
                  wave_footprint_bytes=footprint)


def fused_attention(name: str, batch_heads: int, N: int, D: int, elem: int, slots: int, q: str, k: str,
                    v: str, o: str, lse: str, Br: int = 128, Bc: int = 64) -> Kernel:
    """FlashAttention-2 forward: one CTA per (batch x head, Br-query block), 4 warps, iterating
    over Bc-key blocks with a 2-stage K/V pipeline: S = Q K^T and O += P V on tensor cores, the
    online softmax (row max, exp, row sum, rescale) on the FP32 pipes and SFU; stores O and the
    fp32 log-sum-exp per query. Dao, "FlashAttention-2", 2023 (Br = 128, Bc = 64 at d = 64)."""
    q_blocks = ceil(N / Br)
    steps = ceil(N / Bc)
    kv = 2 * Bc * D * elem
    work = {"mma.mac": 2 * Br * Bc * D, "sfu.exp": Br * Bc,
            "fp32.max": Br * Bc, "fp32.add": Br * Bc, "fp32.mul": Br * Bc + Br * D}
    tensor = batch_heads * N * D * elem
    heads_per_wave = min(batch_heads, ceil(slots / q_blocks) + 1)
    return Kernel(name, ctas=batch_heads * q_blocks, threads=128, registers_per_thread=255,
                  smem_bytes=(Br * D + 2 * 2 * Bc * D) * elem, steps=steps,
                  load_bytes_per_step=kv, smem_bytes_per_step=4 * kv,
                  work_per_step=work, prologue_load_bytes=Br * D * elem,
                  store_bytes=Br * D * elem + Br * FP32, stages=2,
                  reads={q: tensor, k: tensor, v: tensor},
                  writes={o: tensor, lse: batch_heads * N * FP32},
                  wave_footprint_bytes=heads_per_wave * 2 * N * D * elem)
