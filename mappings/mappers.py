"""Mappers: choose a legal ``Mapping`` for a dense cascade on a spatial machine.

Shipped here, for any dense cascade on an architecture with a 2D PE array (and optionally a 1D
array), a global buffer and DRAM:

- ``unfused``: every Einsum is its own fusion group; intermediates round-trip through DRAM.
- ``fused``: the whole cascade is one fusion group, tile by tile; only inputs and final outputs
  touch DRAM (for a multi-pass cascade the staging buffer must then hold whole fibers).

Default choices (each overridable through options, all ``assumption``s of these mappers):
chunk sizes (``M0`` of a partitioned rank, unless the user sets them): the largest divisor of the
rank's size not above the 2D array's rows, so one chunk spans the array (``choose_shape``);
binding: a contraction (``sum`` reduction of a product) goes to the 2D array, everything else to
the 1D array when there is one; tiles: recurrence ranks (``m1``) step by 1, other ranks start whole
and the largest final-output rank is halved until the group fits the global buffer; loop order:
final-output ranks outermost, recurrence ranks innermost; spatial: each array unrolls the output
ranks that carry most of its Einsums' operations, largest tiles first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .lowering import lower_loop_nest
from .registry import register
from .shape import array_sized_chunks
from .spec import Mapping, MappingError, check_mapping, unit_dims

OPTION_KEYS = ("tiles", "loop_order", "spatial", "binding", "storage", "word_bytes")


@dataclass(frozen=True)
class LoopNestMapper:
    """A named strategy turning (cascade, arch, options) into a checked loop-nest ``Mapping``,
    lowered by ``mappings.lowering``; ``grouping`` decides the fusion groups."""

    name: str
    description: str
    grouping: Callable[[object], tuple[tuple[str, ...], ...]]
    families: tuple[str, ...] = ("spatial",)

    def map(self, cascade, arch, **options) -> Mapping:
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise MappingError(f"{unknown[0]}: unknown mapping option; known: {', '.join(OPTION_KEYS)}")
        sparse = [t.name for t in cascade.tensors.values() if t.sparse]
        if sparse:
            raise MappingError(
                f"workload: {cascade.name} has sparse tensors {sparse}; mapper {self.name} costs dense "
                "tensors on spatial arrays only")
        groups = self.grouping(cascade)
        staging, backing = _levels(arch)
        binding = {**_default_binding(cascade, arch), **_section(options, "binding")}
        word_bytes = _whole(options.get("word_bytes", 2), "word_bytes")
        storage = dict(_section(options, "storage"))
        iterative = tuple(cascade.iterative_ranks)
        user_tiles = {r: _whole(v, f"tiles.{r}") for r, v in _section(options, "tiles").items()}
        tiles = {**{r: 1 for r in iterative}, **user_tiles}
        user_order = _ranks(options.get("loop_order", ()), "loop_order")
        unknown_ranks = [r for r in user_order if r not in cascade.rank_sizes]
        if unknown_ranks:
            raise MappingError(f"loop_order: unknown rank {unknown_ranks[0]!r}; {cascade.name} has ranks "
                               f"{', '.join(sorted(cascade.rank_sizes))}")

        def build(tiles: dict[str, int]) -> Mapping:
            default = _default_loop_order(cascade, tiles, iterative)
            order = tuple(r for r in user_order if r in tiles) + tuple(r for r in default if r not in user_order)
            spatial = {**_default_spatial(cascade, arch, binding, tiles),
                       **{u: _ranks(r) for u, r in _section(options, "spatial").items()}}
            return Mapping(self.name, dict(tiles), order, spatial, binding, storage, groups,
                           staging, backing, word_bytes)

        mapping = build(tiles)
        if "tiles" not in options:
            mapping = _shrink_to_fit(cascade, arch, build, tiles, iterative)
        check_mapping(cascade, arch, mapping)
        return mapping

    def choose_shape(self, shape: dict[str, int], arch) -> dict[str, int]:
        """Chunk sizes (``M0``) sized to the rows of the 2D array (or the 1D array's lanes)."""
        units = _units_by_kind(arch, "pe_array_2d") or _units_by_kind(arch, "pe_array_1d")
        if not units:
            return {}
        return array_sized_chunks(shape, unit_dims(arch.units[units[0]])[0])

    def lower(self, cascade, mapping: Mapping, arch):
        return lower_loop_nest(cascade, mapping, arch)


def _whole(value, field: str) -> int:
    """An integer option value (``64``, ``64.0`` or ``"64"``), else ``MappingError`` naming ``field``."""
    if isinstance(value, bool):
        raise MappingError(f"{field}: expected an integer, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MappingError(f"{field}: expected an integer, got {value!r}") from None
    if not number.is_integer():
        raise MappingError(f"{field}: expected an integer, got {value!r}")
    return int(number)


def _section(options: dict, name: str) -> dict:
    section = options.get(name, {})
    if not isinstance(section, dict):
        raise MappingError(f"{name}: expected per-key values ({name}.<key>=...), got {section!r}")
    return section


def _levels(arch) -> tuple[str, str]:
    """(staging, backing): the largest on-chip level and ``arch.backing_level``."""
    backing = arch.backing_level
    on_chip = [n for n in arch.levels if n != backing]
    if not on_chip:
        raise MappingError(f"arch: {arch.name} needs an on-chip buffer and a backing level")
    return max(on_chip, key=lambda n: arch.levels[n].capacity_bytes), backing


def _units_by_kind(arch, kind: str) -> list[str]:
    return sorted(n for n, u in arch.units.items() if u.kind == kind)


def _is_contraction(einsum) -> bool:
    return einsum.reduce_op == "sum" and len(einsum.inputs) >= 2 and bool(einsum.reduced_ranks)


def _default_binding(cascade, arch) -> dict[str, str]:
    arrays_2d = _units_by_kind(arch, "pe_array_2d")
    arrays_1d = _units_by_kind(arch, "pe_array_1d")
    main = (arrays_2d or arrays_1d or sorted(arch.units))[0]
    vector = (arrays_1d or [main])[0]
    return {e.name: (main if _is_contraction(e) else vector) for e in cascade.einsums}


def _output_ranks(cascade) -> list[str]:
    ranks: dict[str, None] = {}
    for tensor in cascade.outputs:
        for rank in cascade.tensors[tensor].ranks:
            ranks.setdefault(rank, None)
    return list(ranks)


def _default_loop_order(cascade, tiles, iterative) -> tuple[str, ...]:
    outer = [r for r in _output_ranks(cascade) if r in tiles and r not in iterative]
    middle = sorted(r for r in tiles if r not in outer and r not in iterative)
    return tuple(outer + middle + [r for r in iterative if r in tiles])


def _ranks(value, field: str = "spatial") -> tuple[str, ...]:
    """Rank names given as a list or, from a sweep spec's scalar, a comma-separated string;
    ``MappingError`` naming ``field`` otherwise."""
    if isinstance(value, str):
        return tuple(r.strip() for r in value.split(","))
    if isinstance(value, (list, tuple)) and all(isinstance(r, str) for r in value):
        return tuple(value)
    raise MappingError(f"{field}: expected rank names (a list or 'a,b'), got {value!r}")


def _default_spatial(cascade, arch, binding, tiles) -> dict[str, tuple[str, ...]]:
    """Unroll, on each unit, the ranks that carry the most of its Einsums' operations."""
    spatial = {}
    sizes = cascade.rank_sizes
    work = workloads_op_totals(cascade)
    for unit_name, unit in sorted(arch.units.items()):
        score: dict[str, int] = {}
        for einsum in cascade.einsums:
            if binding.get(einsum.name) == unit_name:
                for rank in einsum.iteration_ranks:
                    if min(tiles.get(rank, sizes[rank]), sizes[rank]) > 1:
                        score[rank] = score.get(rank, 0) + work[einsum.name]
        ranked = sorted(score, key=lambda r: (-score[r], -min(tiles.get(r, sizes[r]), sizes[r]), r))
        spatial[unit_name] = tuple(ranked[: len(unit_dims(unit))])
    return spatial


def workloads_op_totals(cascade) -> dict[str, int]:
    """Einsum name -> total operations at the cascade's full size."""
    return {e.name: sum(e.op_counts(cascade.rank_sizes).values()) for e in cascade.einsums}


def _shrink_to_fit(cascade, arch, build, tiles, iterative) -> Mapping:
    """Halve the largest final-output rank (then any rank) until every group fits the buffer."""
    tiles = dict(tiles)
    sizes = cascade.rank_sizes
    preferred = [r for r in _output_ranks(cascade) if r not in iterative]
    partitioned = {r for whole, parts in cascade.partitions.items() for r in (whole, *parts)}
    others = sorted(r for r in sizes if r not in preferred and r not in iterative and r not in partitioned)
    fit_error = None   # the last capacity error: the real reason if shrinking breaks legality
    while True:
        mapping = build(tiles)
        try:
            check_mapping(cascade, arch, mapping)
            return mapping
        except MappingError as err:
            if not str(err).startswith("tiles:"):
                if fit_error is not None:
                    raise fit_error from None
                raise
            fit_error = err
            for pool in (preferred, others):
                extents = {r: min(tiles.get(r, sizes[r]), sizes[r]) for r in pool}
                shrinkable = [r for r in pool if extents[r] > 1]
                if shrinkable:
                    rank = max(shrinkable, key=lambda r: (extents[r], r))
                    tiles[rank] = (extents[rank] + 1) // 2
                    break
            else:
                raise


def _unfused_groups(cascade) -> tuple[tuple[str, ...], ...]:
    return tuple((e.name,) for e in cascade.einsums)


def _fused_groups(cascade) -> tuple[tuple[str, ...], ...]:
    return (tuple(e.name for e in cascade.einsums),)


for _mapper in (
    LoopNestMapper("unfused", "each Einsum its own group; intermediates through DRAM", _unfused_groups),
    LoopNestMapper("fused", "the whole cascade as one tiled group; only inputs and outputs touch DRAM",
                   _fused_groups),
):
    register(_mapper)
