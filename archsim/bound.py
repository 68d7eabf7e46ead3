"""Closed-form lower bound on a program's cycles (roofline per op, summed per resource).

Each op's duration is its contention-free time: the longest of its holds (unit compute_cycles and,
per level or channel, ceil(bytes / bandwidth) + latency), computed by :mod:`archsim.plan` exactly
as the engine does; resources are busy only for the bandwidth part (latency is pipelined). The critical path is the longest dep chain of durations. Each resource must serve
its holds one after another: a unit with ``count`` instances needs at least ceil(sum / count) cycles,
a multi-channel level at least its busiest channel's sum. ``cycles`` is the max of the critical path
and the resource sums, so ``simulate(...).cycles >= bound(...).cycles`` always, with equality on a
dep chain (no contention) and on independent ops that share one resource. Ignores allocation waits
(capacity) and the interplay of the two terms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .plan import gc_paused, make_plan

__all__ = ["bound", "bound_result", "Bound"]


@dataclass(frozen=True)
class Bound:
    """``cycles`` = max(``critical_path_cycles``, max of ``resource_cycles``); ``bottleneck`` names
    the term that set it (``"critical_path"`` or a unit/level name)."""

    cycles: int
    critical_path_cycles: int
    resource_cycles: dict[str, int]
    bottleneck: str

    def to_dict(self) -> dict:
        return asdict(self)


def bound(program, arch) -> Bound:
    """Closed-form lower bound of :func:`archsim.simulate` for ``program`` on ``arch``."""
    with gc_paused():
        plan = make_plan(program, arch)  # validates the program against arch
    return _bound(program, arch, plan)


def _bound(program, arch, plan) -> Bound:
    durations = plan.durations
    finish = [0] * len(durations)
    for i, op in enumerate(program.ops):
        start = 0
        for d in op.deps:
            if finish[d] > start:
                start = finish[d]
        finish[i] = start + durations[i]
    critical = max(finish, default=0)

    sums = [0] * len(plan.res_names)
    for holds in plan.holds:
        for r, c, _latency in holds:
            sums[r] += c
    resource: dict[str, int] = {name: 0 for name in (*arch.units, *arch.levels)}
    for r, owner in enumerate(plan.res_owner):
        per_server = -(-sums[r] // plan.res_servers[r])
        if per_server > resource[owner]:
            resource[owner] = per_server
    bottleneck, cycles = "critical_path", critical
    for name, c in resource.items():
        if c > cycles:
            bottleneck, cycles = name, c
    return Bound(cycles=cycles, critical_path_cycles=critical, resource_cycles=resource,
                 bottleneck=bottleneck)


def bound_result(program, arch):
    """:func:`bound` as a :class:`~archsim.result.SimResult` (fidelity ``bound``): the bound's
    cycles, the program's actions and traffic, busy = each unit's resource bound x its count (the
    held fraction the bound implies); no occupancy, no events."""
    from .result import SimResult

    with gc_paused():
        plan = make_plan(program, arch)
    b = _bound(program, arch, plan)
    return SimResult(program=program.name, arch=arch.name, family=arch.family, cycles=b.cycles,
                     seconds=b.cycles / arch.clock_hz,
                     busy_cycles={u: b.resource_cycles.get(u, 0) * arch.units[u].count for u in arch.units},
                     servers={u: unit.count for u, unit in arch.units.items()},
                     actions=plan.actions, traffic_bytes=plan.traffic_bytes, peak_bytes={},
                     events=0, ops=len(program.ops), fidelity="bound")
