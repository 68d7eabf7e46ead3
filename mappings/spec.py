"""Mapping specs and their legality checks.

A ``Mapping`` says how a cascade runs on an architecture, in the vocabulary of TeAAL/Timeloop:

- ``tiles``: rank -> tile extent (the inner extent of that rank per tile step; ranks not listed
  run whole inside each step);
- ``loop_order``: the outer (temporal) loops over tiled ranks, outermost first;
- ``spatial``: unit -> ranks unrolled across that unit's PE dimensions (rows, then columns);
- ``binding``: einsum name -> compute unit;
- ``storage``: tensor name -> storage level holding its tiles on chip (``staging_level``);
- ``fusion_groups``: ordered lists of einsum names that run tile by tile together; tensors passed
  between groups round-trip through the backing level (DRAM).

Assumes dense tensors with ``word_bytes`` per value. Legality is checked against the cascade and
the architecture before lowering; every error is a one-line ``MappingError`` naming the tensor,
level and byte counts involved.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Mapping as MappingT

from workloads.ir import accesses, eval_index, index_ranks


class MappingError(ValueError):
    """An illegal mapping; the message names the offending field, tensor, level and bytes."""


class CapacityError(MappingError):
    """A mapping that is well formed but does not fit the machine (a buffer or register file is too
    small for its tiles): a property of the design point, recorded per point by a sweep, whereas any
    other ``MappingError`` is a mistake in the request and rejects a sweep spec before it runs."""


@dataclass(frozen=True)
class Mapping:
    """A complete, checked mapping of one cascade onto one architecture."""

    mapper: str
    tiles: MappingT[str, int]
    loop_order: tuple[str, ...]
    spatial: MappingT[str, tuple[str, ...]]
    binding: MappingT[str, str]
    storage: MappingT[str, str]
    fusion_groups: tuple[tuple[str, ...], ...]
    staging_level: str
    backing_level: str
    word_bytes: int = 2
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> dict[str, str]:
        """The choices a sweep record shows, as strings."""
        return {
            "tiles": ",".join(f"{r}={t}" for r, t in self.tiles.items()),
            "loop_order": ",".join(self.loop_order),
            "spatial": ";".join(f"{u}={','.join(r)}" for u, r in sorted(self.spatial.items())),
        }

    def to_dict(self) -> dict:
        return {
            "mapper": self.mapper,
            "tiles": dict(self.tiles),
            "loop_order": list(self.loop_order),
            "spatial": {u: list(r) for u, r in self.spatial.items()},
            "binding": dict(self.binding),
            "storage": dict(self.storage),
            "fusion_groups": [list(g) for g in self.fusion_groups],
            "staging_level": self.staging_level,
            "backing_level": self.backing_level,
            "word_bytes": self.word_bytes,
        }


def group_accesses(cascade, group) -> list[tuple[str, tuple]]:
    """(tensor, index expressions) of every read and write by the group's Einsums, in order."""
    by_name = {e.name: e for e in cascade.einsums}
    found = []
    for name in group:
        einsum = by_name[name]
        found += [(a.tensor, a.index) for a in accesses(einsum.expr)]
        found.append((einsum.output, einsum.out_index))
    return found


def _index_extent(index, extents: MappingT[str, int], symbols: MappingT[str, int]) -> int:
    """Elements an index expression spans when each rank r ranges over extents[r] values."""
    ranks = index_ranks(index)
    if not ranks:
        return 1  # a constant (M1), a literal or a pin (m1=0)
    low = eval_index(index, {r: 0 for r in ranks}, symbols)
    high = eval_index(index, {r: extents[r] - 1 for r in ranks}, symbols)
    return int(high - low + 1)


def group_tile_bytes(cascade, group, extents: MappingT[str, int], word_bytes: int) -> dict[str, int]:
    """Bytes of one tile of each tensor the group touches when rank r spans ``extents[r]``
    (ranks missing from ``extents`` are whole): the per-rank maximum over all its accesses,
    capped by the tensor's shape. ``K[e, m1*M0+m0]`` with m1 spanning 1 is an M0-wide tile."""
    sizes = cascade.rank_sizes
    full = {**sizes, **{r: min(e, sizes[r]) for r, e in extents.items()}}
    symbols = cascade.shape
    spans: dict[str, list[int]] = {}
    for tensor, index in group_accesses(cascade, group):
        widths = [_index_extent(ix, full, symbols) for ix in index]
        spans[tensor] = [max(a, b) for a, b in zip(spans.get(tensor, widths), widths)]
    return {t: prod(min(w, s) for w, s in zip(ws, cascade.tensors[t].shape(sizes))) * word_bytes
            for t, ws in spans.items()}


def carried_loop_ranks(cascade, group, loop_ranks) -> dict[str, tuple[int, ...]]:
    """Tensor -> positions in ``loop_ranks`` of the loops its accesses in the group depend on."""
    ranks: dict[str, set] = {}
    for tensor, index in group_accesses(cascade, group):
        ranks.setdefault(tensor, set()).update(r for ix in index for r in index_ranks(ix))
    return {t: tuple(i for i, r in enumerate(loop_ranks) if r in rs) for t, rs in ranks.items()}


def group_loop_ranks(cascade, mapping: "Mapping", group) -> tuple[str, ...]:
    """The mapping's loops that this group iterates, outermost first."""
    by_name = {e.name: e for e in cascade.einsums}
    iterated = {r for n in group for r in by_name[n].iteration_ranks}
    return tuple(r for r in mapping.loop_order if r in iterated)


def check_mapping(cascade, arch, mapping: Mapping) -> None:
    """Raise ``MappingError`` unless ``mapping`` is legal for ``cascade`` on ``arch``."""
    names = [e.name for e in cascade.einsums]
    ranks = set(cascade.rank_sizes)
    for rank, extent in mapping.tiles.items():
        if rank not in ranks:
            raise MappingError(f"tiles.{rank}: unknown rank; cascade {cascade.name} has ranks {sorted(ranks)}")
        if not isinstance(extent, int) or extent < 1:
            raise MappingError(f"tiles.{rank}: tile extent must be a positive integer, got {extent!r}")
        if extent > cascade.rank_sizes[rank]:
            raise MappingError(f"tiles.{rank}: tile extent {extent} exceeds the rank's size "
                               f"{cascade.rank_sizes[rank]}")
    for rank in mapping.loop_order:
        if rank not in mapping.tiles:
            raise MappingError(f"loop_order: rank {rank!r} is not tiled; tiled ranks are {sorted(mapping.tiles)}")
    for rank in mapping.tiles:
        if rank not in mapping.loop_order:
            raise MappingError(f"loop_order: tiled rank {rank!r} has no loop; add it to loop_order")
    if len(set(mapping.loop_order)) != len(mapping.loop_order):
        raise MappingError(f"loop_order: repeated rank in {list(mapping.loop_order)}")
    for unit, spatial_ranks in mapping.spatial.items():
        if unit not in arch.units:
            raise MappingError(f"spatial.{unit}: unknown unit; {arch.name} has {sorted(arch.units)}")
        dims = unit_dims(arch.units[unit])
        if len(spatial_ranks) > len(dims):
            raise MappingError(f"spatial.{unit}: {len(spatial_ranks)} ranks on a {len(dims)}-D unit")
        for rank in spatial_ranks:
            if rank not in ranks:
                raise MappingError(f"spatial.{unit}: unknown rank {rank!r}")
    grouped = [n for g in mapping.fusion_groups for n in g]
    if sorted(grouped) != sorted(names):
        missing = sorted(set(names) - set(grouped))
        extra = sorted(set(grouped) - set(names))
        raise MappingError(f"fusion_groups: must cover each einsum once (missing {missing}, unknown {extra})")
    order = {n: i for i, n in enumerate(names)}
    for group in mapping.fusion_groups:
        if [order[n] for n in group] != sorted(order[n] for n in group):
            raise MappingError(f"fusion_groups: group {list(group)} is not in cascade order")
    for name in mapping.binding:
        if name not in names:
            raise MappingError(f"binding.{name}: no such einsum in {cascade.name}; einsums: {', '.join(names)}")
    if isinstance(mapping.word_bytes, bool) or not isinstance(mapping.word_bytes, int) or mapping.word_bytes < 1:
        raise MappingError(f"word_bytes: expected a positive integer (bytes per value), got {mapping.word_bytes!r}")
    for name in names:
        unit = mapping.binding.get(name)
        if unit is None:
            raise MappingError(f"binding.{name}: einsum is not bound to a compute unit")
        if unit not in arch.units:
            raise MappingError(f"binding.{name}: unknown unit {unit!r}; {arch.name} has {sorted(arch.units)}")
    for level in (mapping.staging_level, mapping.backing_level):
        if level not in arch.levels:
            raise MappingError(f"storage: unknown level {level!r}; {arch.name} has {sorted(arch.levels)}")
    for tensor, level in mapping.storage.items():
        if tensor not in cascade.tensors:
            raise MappingError(f"storage.{tensor}: unknown tensor")
        if level not in arch.levels:
            raise MappingError(f"storage.{tensor}: unknown level {level!r}; {arch.name} has {sorted(arch.levels)}")
    _check_pass_barriers(cascade, mapping)
    _check_partial_reads(cascade, mapping)
    _check_capacity(cascade, arch, mapping)


def _check_pass_barriers(cascade, mapping: Mapping) -> None:
    """Inside a fusion group, no Einsum may re-read a rank that an upstream Einsum of the group
    fully reduces over while that rank is tiled: the consumer would see a partial reduction."""
    by_name = {e.name: e for e in cascade.einsums}
    tiled = {r for r, t in mapping.tiles.items() if t < cascade.rank_sizes[r]}
    for group in mapping.fusion_groups:
        members = set(group)
        for name in group:
            consumer = by_name[name]
            for tensor in consumer.inputs:
                for producer_name in cascade.producers(tensor):
                    producer = by_name[producer_name]
                    if producer_name == name or producer_name not in members:
                        continue
                    for rank in producer.reduced_ranks:
                        if rank in tiled and rank in consumer.iteration_ranks:
                            raise MappingError(
                                f"fusion_groups: {name} re-reads rank {rank} after {producer_name} "
                                f"reduces over it (a pass barrier); keep {rank} whole (tiles.{rank}) "
                                "or split the group")


def _check_partial_reads(cascade, mapping: Mapping) -> None:
    """An Einsum that does not iterate a loop r runs once per run of steps sharing its own tile
    indices, i.e. after each completion of the loops inside its innermost own loop. If a producer
    of its input in the same group iterates r and r lies outside one of the consumer's own loops,
    the consumer would run before r completes and read a partial result."""
    by_name = {e.name: e for e in cascade.einsums}
    for group in mapping.fusion_groups:
        loops = [r for r in group_loop_ranks(cascade, mapping, group)
                 if mapping.tiles[r] < cascade.rank_sizes[r]]
        position = {r: i for i, r in enumerate(loops)}
        for name in group:
            consumer = by_name[name]
            own = [position[r] for r in consumer.iteration_ranks if r in position]
            for tensor in consumer.inputs:
                for producer_name in cascade.producers(tensor):
                    if producer_name == name or producer_name not in group:
                        continue
                    for rank in by_name[producer_name].iteration_ranks:
                        if rank in position and rank not in consumer.iteration_ranks \
                                and any(p > position[rank] for p in own):
                            raise MappingError(
                                f"loop_order: {name} would read {tensor} before the {rank} loop "
                                f"completes; put {rank} inside the loops {name} iterates "
                                f"(order {loops})")


def _check_capacity(cascade, arch, mapping: Mapping) -> None:
    """Every group's live tiles must fit the staging level: two tiles (double buffering) of each
    tensor whose tile changes with the group's loops, one of every other tensor."""
    level = arch.levels[mapping.staging_level]
    for group in mapping.fusion_groups:
        loops = [r for r in group_loop_ranks(cascade, mapping, group)
                 if mapping.tiles[r] < cascade.rank_sizes[r]]
        carried = carried_loop_ranks(cascade, group, loops)
        sizes = group_tile_bytes(cascade, group, mapping.tiles, mapping.word_bytes)
        buffers = {t: b * (2 if carried[t] else 1) for t, b in sizes.items()}
        total = sum(buffers.values())
        if total > level.capacity_bytes:
            largest = max(sizes, key=lambda t: (sizes[t], t))
            raise CapacityError(
                f"tiles: group {'+'.join(group)} needs {total} B in {mapping.staging_level} "
                f"(largest tile: tensor {largest} {sizes[largest]} B, double-buffered tiles "
                f"counted twice) but its capacity is {level.capacity_bytes} B; shrink tiles of "
                f"{list(cascade.tensors[largest].ranks)}"
            )


def unit_dims(unit) -> tuple[int, ...]:
    """PE-array dimensions of a compute unit: (rows, cols) for a 2D array, (lanes,) otherwise."""
    if unit.kind == "pe_array_2d":
        return (unit.rows, unit.cols)
    return (unit.rows * unit.cols,)


def spatial_lanes(arch, mapping: Mapping, unit_name: str, einsum, tile_extent: MappingT[str, int]) -> int:
    """PEs of ``unit_name`` busy on ``einsum`` per cycle: spatial ranks it iterates, capped by the array."""
    dims = unit_dims(arch.units[unit_name])
    lanes = 1
    for dim, rank in zip(dims, mapping.spatial.get(unit_name, ())):
        if rank in einsum.iteration_ranks:
            lanes *= min(dim, tile_extent[rank])
    return max(1, lanes)
