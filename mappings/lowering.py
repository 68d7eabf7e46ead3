"""Lowering (cascade, mapping, arch) -> Program: one op per tile of work.

The loop nest of a fusion group is the mapping's ``loop_order`` restricted to the ranks the group
iterates; each step of that nest is one tile. Per step:

- a *load* op brings a tile of each group input from the backing level (DRAM) to the tensor's
  on-chip level when the tile indices of the loop ranks that tensor carries change (so a tile is
  reused across inner loops over ranks it lacks, as in Timeloop's reuse analysis);
- a *compute* op per einsum on its bound unit. An einsum runs once per run of consecutive steps
  sharing the tile indices of the loop ranks it iterates, at the run's last step (so a consumer of
  a recurrence's final value, such as AV after the m1 loop, runs once, after the loop);
- a *store* op writes a group output tile back when its tile is complete (the tile indices of its
  loop ranks are about to change, or the group ends); revisiting a stored partial tile (reduction
  loop outside an output loop) reloads it first.

Compute cycles per op: ``ComputeUnit.cycles_for`` (ceil(sum_op count x cycles_per_op / lanes), with
operators with dedicated units overlapping the rest) plus, on a 2D PE array, a fill
and drain of ``ComputeUnit.fill_drain_cycles(rows_used, cols_used)`` = max(rows_used, cols_used)
cycles (operands skew in along one edge while results drain along the other; the FuseMax paper's
"about 256 cycles for a 256-wide array").
Dependencies: producer tiles, the einsum's own previous tile (in-order execution per einsum), and
for data crossing groups the final store of that tensor (a kernel boundary). Leaves out: register
files, multicast networks, bank conflicts; later machine families refine these per mapper.
"""
from __future__ import annotations

from itertools import product
from math import ceil

from archsim import Op, Program
from archsim.limits import MAX_PROGRAM_OPS

from .spec import (Mapping, MappingError, carried_loop_ranks, group_loop_ranks, group_tile_bytes,
                   spatial_lanes, unit_dims)


class _Builder:
    """Accumulates op fields as mutable dicts, frozen into ``Op``s at the end."""

    def __init__(self) -> None:
        self.ops: list[dict] = []

    def add(self, name: str, unit: str | None = None, compute_cycles: int = 0, work=None,
            reads=None, writes=None, alloc=None, deps=()) -> int:
        self.ops.append({
            "name": name, "unit": unit, "compute_cycles": int(compute_cycles),
            "work": dict(work or {}), "reads": dict(reads or {}), "writes": dict(writes or {}),
            "alloc": dict(alloc or {}), "free": {},
            "deps": tuple(sorted({d for d in deps if d is not None})),
        })
        return len(self.ops) - 1

    def add_free(self, op_index: int, level: str, nbytes: int) -> None:
        free = self.ops[op_index]["free"]
        free[level] = free.get(level, 0) + nbytes

    def program(self, name: str) -> Program:
        return Program(name=name, ops=tuple(Op(**fields) for fields in self.ops))


def lower_loop_nest(cascade, mapping: Mapping, arch) -> Program:
    """Lower ``cascade`` under ``mapping`` to a tile-level ``Program`` for ``arch``."""
    builder = _Builder()
    consumers_after: dict[str, int] = {}
    group_of = {n: gi for gi, g in enumerate(mapping.fusion_groups) for n in g}
    for einsum in cascade.einsums:
        for tensor in einsum.inputs:
            consumers_after[tensor] = max(consumers_after.get(tensor, -1), group_of[einsum.name])
    final_store: dict[str, int] = {}
    check_program_size(cascade, mapping)
    for gi, group in enumerate(mapping.fusion_groups):
        _lower_group(cascade, mapping, arch, builder, gi, group, consumers_after, final_store)
    return builder.program(f"{cascade.name}/{mapping.mapper}")


def check_program_size(cascade, mapping: Mapping) -> None:
    """Refuse, before lowering, a mapping whose loop nests would emit more ops than
    ``archsim.limits.MAX_PROGRAM_OPS`` (estimate per group: tile steps x (einsums + tensors), an upper
    bound on the loads, computes and stores of a step)."""
    total = 0
    for gi, group in enumerate(mapping.fusion_groups):
        counts = {r: ceil(cascade.rank_sizes[r] / mapping.tiles[r]) for r in group_loop_ranks(cascade, mapping, group)}
        steps = 1
        for count in counts.values():
            steps *= count
        einsums = [e for e in cascade.einsums if e.name in group]
        tensors = {t for e in einsums for t in (*e.inputs, e.output)}
        total += steps * (len(einsums) + len(tensors))
        if total > MAX_PROGRAM_OPS:
            tiles = " x ".join(f"{n} {r} tiles" for r, n in counts.items())
            raise MappingError(
                f"map.tiles: about {total:,} tile ops ({tiles} in fusion group {gi}), more than "
                f"the limit of {MAX_PROGRAM_OPS:,} per program; use larger tiles (map.tiles.<rank>) or a smaller shape")


def _lower_group(cascade, mapping, arch, builder, gi, group, consumers_after, final_store) -> None:
    by_name = {e.name: e for e in cascade.einsums}
    einsums = [by_name[n] for n in group]
    loop_ranks = group_loop_ranks(cascade, mapping, group)
    sizes = cascade.rank_sizes
    counts = [ceil(sizes[r] / mapping.tiles[r]) for r in loop_ranks]
    produced = {e.output for e in einsums}
    inputs = list(dict.fromkeys(t for e in einsums for t in e.inputs if t not in produced))
    outputs = [t for t in dict.fromkeys(e.output for e in einsums)
               if consumers_after.get(t, -1) > gi or t in cascade.outputs]
    backing, word = mapping.backing_level, mapping.word_bytes

    def level_of(tensor: str) -> str:
        return mapping.storage.get(tensor, mapping.staging_level)

    carried = carried_loop_ranks(cascade, group, loop_ranks)
    einsum_keys = {e.name: tuple(i for i, r in enumerate(loop_ranks) if r in e.iteration_ranks)
                   for e in einsums}
    steps = list(product(*[range(c) for c in counts]))
    resident: dict[str, tuple] = {}     # tensor -> loop indices of the tile now on chip
    resident_bytes: dict[str, int] = {}
    last_writer: dict[str, int] = {}    # tensor -> op that last produced/loaded its resident tile
    last_reader: dict[str, int] = {}    # tensor -> last op that read its resident tile
    retired: dict[str, list] = {}       # tensor -> op that freed each earlier tile, in order
    last_exec: dict[str, int] = {}      # einsum -> its previous compute op
    stored_keys: dict[str, set] = {t: set() for t in outputs}
    tile_cache: dict[tuple, dict[str, int]] = {}

    def tile_bytes(local) -> dict[str, int]:
        key = tuple(local[r] for r in loop_ranks)
        if key not in tile_cache:
            tile_cache[key] = group_tile_bytes(cascade, group, {r: local[r] for r in loop_ranks}, word)
        return tile_cache[key]

    def buffer_free_dep(tensor: str) -> int | None:
        """Double buffering: a new tile may take the buffer of the tile two generations back."""
        earlier = retired.get(tensor, [])
        return earlier[-2] if len(earlier) >= 2 else None

    def retire(tensor: str) -> None:
        """Free the resident tile of ``tensor`` at the end of its last use."""
        if tensor in resident:
            holder = last_reader.get(tensor, last_writer.get(tensor))
            builder.add_free(holder, level_of(tensor), resident_bytes[tensor])
            retired.setdefault(tensor, []).append(holder)
            del resident[tensor]

    def store(tensor: str) -> None:
        if tensor not in resident:
            return
        b = resident_bytes[tensor]
        op = builder.add(f"g{gi}.store.{tensor}", reads={level_of(tensor): b}, writes={backing: b},
                         deps=[last_writer.get(tensor), last_reader.get(tensor)])
        stored_keys[tensor].add(resident[tensor])
        last_reader[tensor] = op
        final_store[tensor] = op

    for si, step in enumerate(steps):
        nxt = steps[si + 1] if si + 1 < len(steps) else None
        local = dict(sizes)
        for rank, idx in zip(loop_ranks, step):
            local[rank] = min(mapping.tiles[rank], sizes[rank] - idx * mapping.tiles[rank])
        tiles = tile_bytes(local)
        tag = ",".join(f"{r}{i}" for r, i in zip(loop_ranks, step))
        for tensor in inputs:
            key = tuple(step[i] for i in carried[tensor])
            if resident.get(tensor) == key:
                continue
            retire(tensor)
            b = tiles[tensor]
            op = builder.add(f"g{gi}.load.{tensor}[{tag}]", reads={backing: b},
                             writes={level_of(tensor): b}, alloc={level_of(tensor): b},
                             deps=[final_store.get(tensor), buffer_free_dep(tensor)])
            resident[tensor], resident_bytes[tensor], last_writer[tensor] = key, b, op
            last_reader.pop(tensor, None)
        for einsum in einsums:
            key = tuple(step[i] for i in einsum_keys[einsum.name])
            if nxt is not None and key == tuple(nxt[i] for i in einsum_keys[einsum.name]):
                continue  # not the last step of this einsum's run
            out = einsum.output
            out_key = tuple(step[i] for i in carried[out])
            deps = [last_writer.get(t) for t in einsum.inputs] + [last_exec.get(einsum.name)]
            alloc = {}
            if resident.get(out) != out_key:
                if out in outputs:
                    store(out)
                retire(out)
                b = tiles[out]
                alloc = {level_of(out): b}
                deps.append(buffer_free_dep(out))
                if out_key in stored_keys.get(out, ()):
                    reload = builder.add(f"g{gi}.reload.{out}[{tag}]", reads={backing: b},
                                         writes={level_of(out): b}, alloc=alloc, deps=deps)
                    deps, alloc = [reload], {}
                resident[out], resident_bytes[out] = out_key, b
                last_reader.pop(out, None)
            else:
                deps.append(last_writer.get(out))
            op = builder.add(f"g{gi}.{einsum.name}[{tag}]", alloc=alloc, deps=deps,
                             **_compute_fields(mapping, arch, einsum, local, tiles, level_of))
            last_exec[einsum.name] = op
            last_writer[out] = op
            for tensor in einsum.inputs:
                last_reader[tensor] = op
    for tensor in outputs:
        store(tensor)
    for tensor in list(resident):
        retire(tensor)


def _fuse_macs(einsum, work: dict[str, int], unit) -> dict[str, int]:
    """On a unit with a MAC datapath, a sum of products runs each multiply with its accumulate as
    one ``mac`` (the first product of each output element has nothing to accumulate: a ``mul``)."""
    if "mac" not in unit.cycles_per_op or einsum.reduce_op != "sum" or "mul" not in work:
        return work
    macs = min(work["mul"], work.get("add", 0))
    fused = {**work, "mac": macs, "mul": work["mul"] - macs, "add": work.get("add", 0) - macs}
    return {op: n for op, n in fused.items() if n}


def _compute_fields(mapping, arch, einsum, local, tiles, level_of) -> dict:
    """Unit, cycles, work and on-chip bytes of one tile of ``einsum``."""
    unit_name = mapping.binding[einsum.name]
    unit = arch.units[unit_name]
    work = _fuse_macs(einsum, einsum.op_counts(local), unit)
    for op in work:
        if op not in unit.cycles_per_op:
            raise MappingError(
                f"binding.{einsum.name}: unit {unit_name} has no '{op}' operation "
                f"(it supports {sorted(unit.cycles_per_op)})")
    lanes = spatial_lanes(arch, mapping, unit_name, einsum, local)
    cycles = unit.cycles_for(work, lanes)
    if work and unit.kind == "pe_array_2d":
        used = [min(d, local[r]) for d, r in zip(unit_dims(unit), mapping.spatial.get(unit_name, ()))
                if r in einsum.iteration_ranks]
        cycles += unit.fill_drain_cycles(*(used + [0, 0])[:2])
    reads: dict[str, int] = {}
    for tensor in einsum.inputs:
        level = level_of(tensor)
        reads[level] = reads.get(level, 0) + tiles[tensor]
    writes = {level_of(einsum.output): tiles[einsum.output]}
    return {"unit": unit_name, "compute_cycles": cycles, "work": work, "reads": reads, "writes": writes}
