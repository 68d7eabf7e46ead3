"""Programs: the tile-level op DAG that mappings lower to and the engine runs.

An :class:`Op` names one compute unit (or ``None`` for a pure transfer), the cycles it keeps that unit
busy, the operator counts it executes (``work``, for energy and invariants), the bytes it reads and
writes per storage level, the bytes it allocates at start and frees at end per level, and the indices
of the ops it depends on. Ops are listed in topological order (deps point backwards). Assumes the
lowering already turned work into ``compute_cycles`` (the engine never looks at ``lanes`` or
``cycles_per_op``); leaves out data values, addresses and per-word timing: an op is a tile, a row
block or a burst. Construction checks shapes and signs; :meth:`Program.check` checks the program
against an :class:`~archsim.spec.Arch` and raises :class:`ProgramError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ProgramError

__all__ = ["Op", "Program"]


def _counts(name: str, what: str, value: Mapping[str, int]) -> Mapping[str, int]:
    if not value:
        return {}
    for key, n in value.items():
        if not isinstance(key, str) or isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ProgramError(f"op {name!r}: {what}[{key!r}] = {n!r}: expected a non-negative int "
                               "keyed by name")
    return dict(value)  # a private copy (plain dict so programs pickle)


@dataclass(frozen=True, eq=True)
class Op:
    """One tile-level operation. Bytes and counts are non-negative ints; ``deps`` are op indices."""

    name: str
    unit: str | None = None
    compute_cycles: int = 0
    work: Mapping[str, int] = field(default_factory=dict)
    reads: Mapping[str, int] = field(default_factory=dict)
    writes: Mapping[str, int] = field(default_factory=dict)
    alloc: Mapping[str, int] = field(default_factory=dict)
    free: Mapping[str, int] = field(default_factory=dict)
    deps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        c = self.compute_cycles
        if isinstance(c, bool) or not isinstance(c, int) or c < 0:
            raise ProgramError(f"op {self.name!r}: compute_cycles = {c!r}: expected an int >= 0")
        if self.unit is None and (c or any(self.work.values())):
            raise ProgramError(f"op {self.name!r}: compute_cycles/work need a unit (unit is None)")
        for attr in ("work", "reads", "writes", "alloc", "free"):
            object.__setattr__(self, attr, _counts(self.name, attr, getattr(self, attr)))
        deps = tuple(self.deps)
        if any(isinstance(d, bool) or not isinstance(d, int) for d in deps):
            raise ProgramError(f"op {self.name!r}: deps must be op indices (ints), got {deps!r}")
        object.__setattr__(self, "deps", deps)

    def __hash__(self) -> int:
        return hash((self.name, self.unit, self.compute_cycles, self.deps))


@dataclass(frozen=True)
class Program:
    """A named op DAG in topological order; ``deps`` of op i are indices < i."""

    name: str
    ops: tuple[Op, ...]

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        for i, op in enumerate(ops):
            if not isinstance(op, Op):
                raise ProgramError(f"program {self.name!r}: ops[{i}] is {type(op).__name__}, not Op")
            for d in op.deps:
                if not 0 <= d < i:
                    raise ProgramError(f"program {self.name!r}: op {i} ({op.name!r}) depends on {d}; "
                                       "deps must point to earlier ops (topological order)")

    def __len__(self) -> int:
        return len(self.ops)

    def check(self, arch) -> None:
        """Raise :class:`ProgramError` if an op names an unknown unit/level/operator or allocates
        more than a level's capacity."""
        units, levels = arch.units, arch.levels
        for i, op in enumerate(self.ops):
            where = f"program {self.name!r}: op {i} ({op.name!r})"
            if op.unit is not None:
                unit = units.get(op.unit)
                if unit is None:
                    raise ProgramError(f"{where}: unknown unit {op.unit!r} on arch {arch.name!r} "
                                       f"(units: {', '.join(units)})")
                for kind, n in op.work.items():
                    if n and kind not in unit.cycles_per_op:
                        raise ProgramError(f"{where}: unit {op.unit!r} cannot do {kind!r} "
                                           f"(ops: {', '.join(unit.cycles_per_op)})")
            for attr in ("reads", "writes", "alloc", "free"):
                for lvl in getattr(op, attr):
                    if lvl not in levels:
                        raise ProgramError(f"{where}: {attr} names unknown level {lvl!r} on arch "
                                           f"{arch.name!r} (levels: {', '.join(levels)})")
            for lvl, n in op.alloc.items():
                cap = levels[lvl].capacity_bytes
                if n > cap:
                    raise ProgramError(f"{where}: allocates {n} bytes at {lvl!r}, more than its "
                                       f"capacity of {cap} bytes")
