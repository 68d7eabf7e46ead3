"""Grouped convolution on a 2D PE array: a weight-stationary batch of per-group im2col GEMMs
(mapper ``spatial_group_conv``, the ``group_conv`` cascade).

The cascade's names: GRP groups of CI input and CO output channels, output OY x OX, R x S kernel
(workloads/cascades/conv.py). Per group the layer is a GEMM over the N x OY x OX output pixels x:
O[x, co] = sum_j X[x, j] WT[j, co] with the im2col contraction j = (ci, r, s) of J = CI R S and CO
outputs. Weight-stationary on the rows x cols array: the weights (j on rows, co on columns) sit in
the PEs, one pixel's im2col column enters per cycle and partial sums flow down the columns. Groups
smaller than the array are packed block-diagonally: ``pack`` = min(GRP, rows // J, cols // CO) groups
share the array (group i on rows [iJ, (i+1)J), columns [iCO, (i+1)CO)); a group larger than the
array is folded (``pack`` = 1, ``row_folds`` = ceil(J / rows), ``col_folds`` = ceil(CO / cols)). Only
pack x J x CO of the rows x cols PEs do useful MACs, so utilisation collapses as the group size
shrinks.

Loop nest: group blocks of ``pack`` groups (outermost); pixel tiles of ``images`` images x ``rows``
output rows x the full width; per tile, column folds then row folds (partial sums stay in glb).
Per tile DRAM loads the block's input tile (pack CI channels, (rows - 1) STRIDE + R input rows with
the halo, the full padded width) and stores its outputs. The block's weights are kept in glb and
loaded once (``weights=kept``) or, when they do not fit beside the tiles, loaded fold by fold from
DRAM for every tile (``weights=streamed/F``): one load of F consecutive folds ahead of their passes,
into two F-fold buffers (double-buffered, so the next load overlaps these passes). F is the least
power of two (or all the folds) that keeps the tile program within ``MAX_OPS`` ops (one load and one
array op per F folds); with option ``extrapolate``, when no tiling's program can be, the least that
keeps one block's image tile within ``UNIT_OPS`` ops (see Costing).

Timing per (tile, fold) pass (assumptions of this mapper): loading a fold's weights into the PEs
takes one cycle per array row used (skipped after the first tile when the block has a single fold:
the weights stay in the PEs); the pixels stream one per cycle; fill/drain once per pass
(``ComputeUnit.fill_drain_cycles``). glb traffic per pass: the fold's weights when loaded, one
im2col column (the rows used) per pixel, and for row folds after the first a partial-sum read and
write per pixel and column; the last row fold writes the outputs. Values are 2 bytes (FuseMax's
2-byte values, docs/reference/fusemax.md), partial sums too (assumption: as FuseMax's artifact).

Capacity (``CapacityError``): glb holds two input tiles (double-buffered), the output tile and the
block's weights (kept) or 2 F folds' weights (streamed); each PE's register file a weight and a
partial sum. Tile search: images over the powers of two up to N (and N), rows over 1..OY, both
weight modes; the least estimated time (max of array cycles, DRAM bytes / bandwidth, glb bytes /
bandwidth), then the least DRAM traffic, then the larger tile, among the tiles whose program stays
within ``MAX_OPS`` ops. Options ``pack``, ``images``,
``rows`` fix a choice (checked against the array and glb).

Costing. ``lower`` emits the whole tile program (at most ``MAX_OPS`` ops). ``cost`` simulates it
in full when it is small and otherwise extrapolates from the steady state (mappings/steady.py): the
program of a layer whose groups fill whole blocks and whose images fill whole image tiles repeats
one block of one image tile's worth of ops, so ``cost`` simulates the same tiling on fewer groups
and images (2-3 blocks, a few image tiles) and extrapolates bilinearly in (blocks, image tiles).
Option ``extrapolate`` (with ``cost``): when no tiling's whole program fits ``MAX_OPS``, the tile
search takes the periodic tilings whose image tile fits ``UNIT_OPS``, which only ``cost`` can run.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from math import ceil

from archsim import Op, Program, SimResult, simulate
from archsim.limits import MAX_PROGRAM_OPS as MAX_OPS

from .registry import register
from .spec import CapacityError, MappingError
from .steady import FULL_OPS, estimate

WORD_BYTES = 2
# Ops of one block's image tile, at most: the steady-state windows ``cost`` simulates hold up to
# about 18 such units (2-3 blocks x 2-6 image tiles), so this keeps them within MAX_OPS.
UNIT_OPS = MAX_OPS // 20
OPTIONS = ("pack", "images", "rows", "extrapolate")


@dataclass(frozen=True)
class GroupConvMapping:
    """The tiling :mod:`mappings.spatial_group_conv` chose (see the module docstring)."""

    mapper: str
    N: int
    GRP: int
    CI: int
    CO: int
    OY: int
    OX: int
    R: int
    S: int
    stride: int
    unit: str
    staging: str
    array_rows: int
    array_cols: int
    pack: int
    images: int
    rows: int
    weights_kept: bool
    fold_chunk: int = 1
    backing_level: str = "dram"

    @property
    def J(self) -> int:
        return self.CI * self.R * self.S

    @property
    def row_folds(self) -> int:
        return ceil(self.J / self.array_rows)

    @property
    def col_folds(self) -> int:
        return ceil(self.CO / self.array_cols)

    @property
    def blocks(self) -> int:
        return ceil(self.GRP / self.pack)

    def tiling(self) -> str:
        return (f"pack={self.pack},row_folds={self.row_folds},col_folds={self.col_folds},"
                f"tile={self.images}imgx{self.rows},weights="
                + ("kept" if self.weights_kept else f"streamed/{self.fold_chunk}"))

    def describe(self) -> dict[str, str]:
        return {"tiles": self.tiling(), "loop_order": "group_block,image_tile,row_tile,col_fold,row_fold",
                "spatial": f"{self.unit}=(grp,ci,r,s)x(grp,co)"}


def _tile_bytes(m, groups: int, images: int, rows: int) -> dict[str, int]:
    """Bytes of one tile of ``groups`` groups, ``images`` images, ``rows`` output rows."""
    h_in = (rows - 1) * m.stride + m.R
    w_in = (m.OX - 1) * m.stride + m.S
    return {"input": images * groups * m.CI * h_in * w_in * WORD_BYTES,
            "output": images * groups * m.CO * rows * m.OX * WORD_BYTES,
            "weights": groups * m.CO * m.J * WORD_BYTES}


def _fold_extents(m, groups: int) -> list[tuple[int, int]]:
    """(array rows used, array columns used) of each pass of a block of ``groups`` groups."""
    if m.row_folds == 1 and m.col_folds == 1:
        return [(groups * m.J, groups * m.CO)]
    return [(min(m.array_rows, m.J - fr * m.array_rows), min(m.array_cols, m.CO - fc * m.array_cols))
            for fc in range(m.col_folds) for fr in range(m.row_folds)]


def _glb_need(m) -> int:
    t = _tile_bytes(m, m.pack, m.images, m.rows)
    weights = t["weights"] if m.weights_kept else 2 * m.fold_chunk * m.array_rows * m.array_cols * WORD_BYTES
    return 2 * t["input"] + t["output"] + weights


def _pass_costs(m, groups: int, pixels: int, first_tile: bool, fill_drain) -> list[tuple[int, ...]]:
    """Each pass of one tile: (cycles, useful MACs, glb read bytes, glb write bytes, DRAM bytes of the
    fold's streamed weights) (see the module docstring)."""
    folds = _fold_extents(m, groups)
    single = len(folds) == 1
    out = []
    for i, (r, c) in enumerate(folds):
        per_pixel = r * c // groups if single else r * c     # useful weights = MACs per pixel
        load = r if (not single or first_tile) else 0
        reads = (per_pixel * WORD_BYTES if load else 0) + pixels * r * WORD_BYTES
        if i % m.row_folds:                                   # a partial sum to add to
            reads += pixels * c * WORD_BYTES
        writes = pixels * c * WORD_BYTES                      # partial sums, or outputs on the last
        streamed = per_pixel * WORD_BYTES if load and not m.weights_kept else 0
        out.append((load + pixels + fill_drain(r, c), pixels * per_pixel, reads, writes, streamed))
    return out


def _tile_cost(m, groups: int, pixels: int, first_tile: bool, fill_drain) -> tuple[int, ...]:
    """One tile's passes summed: (cycles, useful MACs, glb read bytes, glb write bytes, DRAM bytes of
    streamed weights); :func:`_pass_costs` in closed form over the distinct fold extents."""
    if m.row_folds == 1 and m.col_folds == 1:
        return _pass_costs(m, groups, pixels, first_tile, fill_drain)[0]
    rows_used = Counter(min(m.array_rows, m.J - fr * m.array_rows) for fr in range(m.row_folds))
    cols_used = Counter(min(m.array_cols, m.CO - fc * m.array_cols) for fc in range(m.col_folds))
    cycles = sum(nr * nc * (r + pixels + fill_drain(r, c))
                 for r, nr in rows_used.items() for c, nc in cols_used.items())
    weights = m.J * m.CO * WORD_BYTES            # every fold's weights, loaded once per tile
    reads = (weights + pixels * m.J * m.col_folds * WORD_BYTES          # weights, im2col columns
             + (m.row_folds - 1) * pixels * m.CO * WORD_BYTES)           # partial sums to add to
    writes = m.row_folds * pixels * m.CO * WORD_BYTES
    return cycles, pixels * m.J * m.CO, reads, writes, 0 if m.weights_kept else weights


def _tiles(m):
    """(images, output rows) of each pixel tile of a block, in loop order (edge tiles partial)."""
    return [(min(m.images, m.N - i0), min(m.rows, m.OY - p0))
            for i0 in range(0, m.N, m.images) for p0 in range(0, m.OY, m.rows)]


def _tile_shapes(m) -> dict[tuple[int, int], int]:
    """(images, output rows) -> tiles of that shape per block."""
    out: dict[tuple[int, int], int] = {}
    for i_n, images in ((m.N // m.images, m.images), (1 if m.N % m.images else 0, m.N % m.images)):
        for r_n, rows in ((m.OY // m.rows, m.rows), (1 if m.OY % m.rows else 0, m.OY % m.rows)):
            if i_n and r_n:
                out[(images, rows)] = out.get((images, rows), 0) + i_n * r_n
    return out


def _chunks(m, passes: list) -> list[tuple[int, ...]]:
    """The passes of one tile grouped ``fold_chunk`` at a time when weights are streamed (one weight
    load and one array op per group), summed; kept weights: one group of all passes."""
    size = len(passes) if m.weights_kept or len(passes) == 1 else m.fold_chunk
    return [tuple(sum(col) for col in zip(*passes[i:i + size])) for i in range(0, len(passes), size)]


def _tile_ops(m) -> tuple[int, int]:
    """(ops per pixel tile, ops per block besides) of the tile program (see :func:`build_program`):
    load, array op, store and one weight load per block, or a weight load and an array op per
    chunk of streamed folds."""
    folds = m.row_folds * m.col_folds
    if m.weights_kept or folds == 1:
        return 3, 1
    return 2 + 2 * ceil(folds / m.fold_chunk), 0


def _n_ops(m) -> int:
    """Ops of the tile program of ``m``."""
    per_tile, per_block = _tile_ops(m)
    return m.blocks * (per_tile * len(_tiles(m)) + per_block)


def _unit_ops(m) -> int:
    """Ops of one block's image tile (its row tiles): the unit ``cost`` extrapolates over."""
    return ceil(m.OY / m.rows) * _tile_ops(m)[0]


def _periodic(m) -> bool:
    """Whether the program repeats whole blocks of whole image tiles (what ``cost`` extrapolates)."""
    return m.GRP % m.pack == 0 and m.N % m.images == 0


def _estimate(m, arch) -> tuple[float, int]:
    """(estimated cycles, DRAM bytes) of the whole layer under mapping ``m``: the program's array
    cycles, DRAM bytes and glb bytes summed in closed form, the time the largest of array cycles,
    DRAM bytes / bandwidth and glb bytes / bandwidth."""
    dram_bw = arch.levels[m.backing_level].bandwidth_bytes_per_cycle
    glb_bw = arch.levels[m.staging].bandwidth_bytes_per_cycle
    fd = arch.units[m.unit].fill_drain_cycles
    first = _tiles(m)[0]
    cycles = dram = glb = 0
    full, last = divmod(m.GRP, m.pack)
    for groups, n_blocks in ((m.pack, full), (last, 1 if last else 0)):
        if not n_blocks:
            continue
        block_cycles = block_dram = block_glb = 0
        if m.weights_kept:
            block_dram += _tile_bytes(m, groups, 1, 1)["weights"]
            block_glb += _tile_bytes(m, groups, 1, 1)["weights"]
        for (images, rows), count in _tile_shapes(m).items():
            tb = _tile_bytes(m, groups, images, rows)
            later = _tile_cost(m, groups, images * rows * m.OX, False, fd)
            n_first = 1 if (images, rows) == first else 0
            for cost, n in ((_tile_cost(m, groups, images * rows * m.OX, True, fd), n_first),
                            (later, count - n_first)):
                block_cycles += n * cost[0]
                block_dram += n * (tb["input"] + tb["output"] + cost[4])
                block_glb += n * (tb["input"] + tb["output"] + cost[2] + cost[3] + cost[4])
        cycles += n_blocks * block_cycles
        dram += n_blocks * block_dram
        glb += n_blocks * block_glb
    return max(cycles, dram / dram_bw, glb / glb_bw), dram


def _whole(options: dict, key: str):
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MappingError(f"{key}: expected a positive integer, got {value!r}")
    return value


def _powers(limit: int) -> list[int]:
    out, x = [], 1
    while x < limit:
        out.append(x)
        x *= 2
    return out + [limit]


@dataclass(frozen=True)
class SpatialGroupConvMapper:
    name: str = "spatial_group_conv"
    families: tuple[str, ...] = ("spatial",)
    description: str = ("grouped convolution as a weight-stationary batch of per-group im2col GEMMs on the "
                        "2D array, small groups packed block-diagonally; options pack, images, rows, "
                        "extrapolate (tilings only its steady-state cost runs)")
    workloads: tuple[str, ...] = ("group_conv",)

    def map(self, cascade, arch, **options) -> GroupConvMapping:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise MappingError(f"{unknown[0]}: unknown option of {self.name}; known: {', '.join(OPTIONS)}")
        if cascade.name != "group_conv":
            raise MappingError(f"workload: {self.name} maps group_conv, not {cascade.name}")
        arrays = sorted(n for n, u in arch.units.items() if u.kind == "pe_array_2d")
        if not arrays:
            raise MappingError(f"arch: {arch.name} has no 2D PE array ({self.name} needs one)")
        backing = arch.backing_level
        on_chip = [n for n in arch.levels if n != backing]
        if not on_chip:
            raise MappingError(f"arch: {arch.name} needs an on-chip buffer and a backing level")
        staging = max(on_chip, key=lambda n: arch.levels[n].capacity_bytes)
        unit = arch.units[arrays[0]]
        rf = unit.register_file_bytes_per_pe
        if rf and rf < 2 * WORD_BYTES:
            raise CapacityError(f"tiles: a weight and a partial sum need {2 * WORD_BYTES} B per PE in the "
                                f"{arrays[0]} register file but it holds {rf} B")
        s = cascade.shape
        J, CO = s["CI"] * s["R"] * s["S"], s["CO"]
        fit = min(s["GRP"], unit.rows // J, unit.cols // CO) if J <= unit.rows and CO <= unit.cols else 1
        pack = _whole(options, "pack") or fit
        if pack > fit:
            raise MappingError(f"pack: at most {fit} groups of {J} x {CO} weights fit block-diagonally on "
                               f"the {unit.rows} x {unit.cols} array, got {pack}")
        base = dict(mapper=self.name, N=s["N"], GRP=s["GRP"], CI=s["CI"], CO=CO, OY=s["OY"], OX=s["OX"],
                    R=s["R"], S=s["S"], stride=s["STRIDE"], unit=arrays[0], staging=staging, array_rows=unit.rows,
                    array_cols=unit.cols, pack=pack, backing_level=backing)
        want_images, want_rows = _whole(options, "images"), _whole(options, "rows")
        extrapolate = options.get("extrapolate", False)
        if not isinstance(extrapolate, bool):
            raise MappingError(f"extrapolate: expected true or false, got {extrapolate!r}")
        for key, value, limit in (("images", want_images, s["N"]), ("rows", want_rows, s["OY"])):
            if value is not None and value > limit:
                raise MappingError(f"{key}: a tile of {value} exceeds the layer's {limit}")
        cap = arch.levels[staging].capacity_bytes
        best, smallest, fewest_ops = _search(base, s, want_images, want_rows, cap, arch, whole=True)
        if best is None and extrapolate:     # no tiling lowers whole: cost() extrapolates periodic ones
            best, smallest, _ = _search(base, s, want_images, want_rows, cap, arch, whole=False)
        if best is None and fewest_ops is not None:
            raise MappingError(f"images: every tile that fits {staging} gives a tile program of at least "
                               f"{fewest_ops} ops (> {MAX_OPS})")
        if best is None:
            need, m = smallest
            chunk = (f" with {m.fold_chunk} folds of weights per load (the fewest that keep its op count within the limit)"
                     if not m.weights_kept and m.fold_chunk > 1 else "")
            raise CapacityError(f"tiles: the smallest group_conv tile ({m.images} image x {m.rows} output "
                                f"row of {pack} group(s), double-buffered){chunk} needs {need} B in {staging} "
                                f"but its capacity is {cap} B")
        return best[1]

    def lower(self, cascade, mapping: GroupConvMapping, arch) -> Program:
        return build_program(mapping, arch)

    def cost(self, mapping: GroupConvMapping, arch) -> SimResult:
        """The mapping simulated: in full when its program is small or not periodic, else
        extrapolated from the steady state (see the module docstring)."""
        m = mapping
        if not _periodic(m) or _n_ops(m) <= FULL_OPS:
            return simulate(build_program(m, arch), arch)
        return estimate(lambda blocks, image_tiles: build_program(
            replace(m, GRP=blocks * m.pack, N=image_tiles * m.images), arch), arch, m.blocks, m.N // m.images,
            full_ops=FULL_OPS)


def _search(base: dict, s, want_images, want_rows, cap: int, arch, whole: bool):
    """(best (key, mapping) or None, smallest (glb need, mapping), fewest ops of a tiling over the
    limit or None) over the tilings: ``whole``, programs lowered whole (within ``MAX_OPS``); else
    periodic programs costed by extrapolation (one block's image tile within ``UNIT_OPS``)."""
    best, smallest, fewest_ops = None, None, None
    for kept in (True, False):
        for images in ([want_images] if want_images else _powers(s["N"])):
            for rows in ([want_rows] if want_rows else range(1, s["OY"] + 1)):
                m = GroupConvMapping(**base, images=images, rows=rows, weights_kept=kept)
                if not whole and not _periodic(m):
                    continue
                if not kept:
                    m = _chunked(m, whole)
                need = _glb_need(m)
                if smallest is None or need < smallest[0]:
                    smallest = (need, m)
                if need > cap:
                    continue
                n_ops = _n_ops(m) if whole else _unit_ops(m)
                if n_ops > (MAX_OPS if whole else UNIT_OPS):
                    fewest_ops = n_ops if fewest_ops is None else min(fewest_ops, n_ops)
                    continue
                cycles, dram = _estimate(m, arch)
                key = (cycles, dram, -images * rows, not kept)
                if best is None or key < best[0]:
                    best = (key, m)
    return best, smallest, fewest_ops


def _chunked(m: GroupConvMapping, whole: bool) -> GroupConvMapping:
    """``m`` (weights streamed) with the fewest folds per weight load, a power of two (or all the
    folds), that keeps the ``whole`` program within ``MAX_OPS`` ops, or else one block's image tile
    within ``UNIT_OPS`` ops."""
    for chunk in _powers(m.row_folds * m.col_folds):
        m = replace(m, fold_chunk=chunk)
        if (_n_ops(m) <= MAX_OPS) if whole else (_unit_ops(m) <= UNIT_OPS):
            break
    return m


def build_program(m: GroupConvMapping, arch) -> Program:
    """The tile program: per tile a DRAM load of the input, the array work and a store; loads run two
    tiles ahead (double buffering). Kept weights: one weight load per block and one array op per
    tile (all passes). Streamed weights: per chunk of ``fold_chunk`` folds a load of those folds'
    weights (``ldW[b,t,f]``, double-buffered: it waits for the array op that read the load two
    back) and that chunk's array op."""
    tiles = _tiles(m)
    n_ops = _n_ops(m)
    if n_ops > MAX_OPS:
        raise MappingError(f"images: the tile program has {n_ops} ops (> {MAX_OPS}); use larger tiles "
                           "(options images, rows), or cost it by steady-state extrapolation (the mapper's cost)")
    ops: list[Op] = []
    dram, glb = m.backing_level, m.staging

    def add(name, unit=None, cycles=0, work=None, reads=None, writes=None, deps=()):
        ops.append(Op(name, unit, int(cycles), work or {}, {k: int(v) for k, v in (reads or {}).items() if v},
                      {k: int(v) for k, v in (writes or {}).items() if v}, {}, {},
                      tuple(d for d in deps if d is not None)))
        return len(ops) - 1

    fd = arch.units[m.unit].fill_drain_cycles
    costs: dict[tuple, list] = {}
    tile_ends: list[int] = []        # each tile's last array op (frees its input buffer)
    weight_users: list[int] = []     # the array op reading each streamed weight load
    last = None
    for b in range(m.blocks):
        groups = min(m.pack, m.GRP - b * m.pack)
        ldw = None
        if m.weights_kept:
            w = _tile_bytes(m, groups, 1, 1)["weights"]
            ldw = add(f"ldW[{b}]", reads={dram: w}, writes={glb: w}, deps=(last,))
        for t, (images, rows) in enumerate(tiles):
            tb = _tile_bytes(m, groups, images, rows)
            key = (groups, images * rows * m.OX, t == 0)
            if key not in costs:
                costs[key] = _chunks(m, _pass_costs(m, *key, fd))
            ld = add(f"ld[{b},{t}]", reads={dram: tb["input"]}, writes={glb: tb["input"]},
                     deps=(tile_ends[-2] if len(tile_ends) >= 2 else None,))
            if m.weights_kept:
                cycles, macs, reads, writes, _ = costs[key][0]
                last = add(f"mm[{b},{t}]", m.unit, cycles, {"mac": macs}, reads={glb: reads},
                           writes={glb: writes}, deps=(ld, ldw, last))
            else:
                for f, (cycles, macs, reads, writes, streamed) in enumerate(costs[key]):
                    ldf = None
                    if streamed:
                        ldf = add(f"ldW[{b},{t},{f}]", reads={dram: streamed}, writes={glb: streamed},
                                  deps=(weight_users[-2] if len(weight_users) >= 2 else None,))
                    last = add(f"mm[{b},{t},{f}]", m.unit, cycles, {"mac": macs}, reads={glb: reads},
                               writes={glb: writes}, deps=(ld, ldf, last))
                    if ldf is not None:
                        weight_users.append(last)
            tile_ends.append(last)
            add(f"st[{b},{t}]", reads={glb: tb["output"]}, writes={dram: tb["output"]}, deps=(last,))
    return Program(f"group_conv[{m.tiling()}]", tuple(ops))


MAPPER = register(SpatialGroupConvMapper())
