"""The discrete-event engine: run a :class:`~archsim.program.Program` on an :class:`~archsim.spec.Arch`.

Semantics. An op becomes ready when all its deps have finished; it starts as soon as its ``alloc``
bytes fit at every level it allocates (all-or-nothing; ready ops wait in request order and are
served first-fit, so a small later request may pass a large blocked one, which avoids false
deadlocks). At start it takes its alloc, then requests its unit (``compute_cycles``) and every level
it touches (see :mod:`archsim.plan`) at once; each resource serves requests FIFO in request order,
so an op's hold on a resource starts at max(now, when that resource frees up). A level's latency
follows its hold without occupying it (pipelined). The op finishes when its last hold plus latency
ends and then releases its ``free`` bytes. Time is integer cycles.

Implementation. Because a FIFO server with known hold times needs no queue, a resource is a
:class:`~archsim.resources.Servers` (next-free times); one simpy ``Timeout`` per op with a nonzero duration is the only event, its callback
completes the op and starts what became ready. Zero-length ops complete without an event. The run
is deterministic; ``seed`` is accepted for stochastic components to come and is unused today.
Leaves out: preemption, priorities other than FIFO, partial overlap of an op's phases (load then
compute then store): the mapping expresses that by splitting ops.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop

import simpy
from simpy.core import EmptySchedule
from simpy.events import Timeout

from .errors import ProgramError
from .plan import gc_paused, make_plan
from .resources import Servers
from .result import SimResult

__all__ = ["simulate", "CountingEnvironment"]


class CountingEnvironment(simpy.Environment):
    """A simpy Environment that counts processed events in ``processed``."""

    def __init__(self, initial_time: int = 0):
        super().__init__(initial_time)
        self.processed = 0

    def step(self) -> None:  # simpy's step, minus StopSimulation handling, plus a counter
        try:
            self._now, _, _, event = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        self.processed += 1
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value


def simulate(program, arch, seed: int = 0, *, trace: bool = False) -> SimResult:
    """Simulate ``program`` on ``arch``; raises :class:`ProgramError` on a bad program or deadlock.

    The cyclic garbage collector is paused during the run (the engine allocates many small
    acyclic tuples and events; collections cost ~30% of the run time) and restored afterwards."""
    with gc_paused():
        return _simulate(program, arch, trace)


def _simulate(program, arch, trace: bool) -> SimResult:
    plan = make_plan(program, arch)  # validates the program against arch
    ops = program.ops
    n = len(ops)
    level_names = plan.level_names
    cap = [arch.levels[name].capacity_bytes for name in level_names]
    occ = [0] * len(level_names)
    peak = [0] * len(level_names)
    allocs, frees = plan.allocs, plan.frees
    children = plan.children
    remaining = list(plan.ndeps)

    holds = plan.holds
    servers = [Servers(s) for s in plan.res_servers]
    reserve = [s.reserve for s in servers]
    env = CountingEnvironment()
    done: deque[int] = deque()
    waiting: list[int] = []
    finished = 0
    log: list[tuple[int, int, int]] = []

    def try_start(i: int) -> bool:
        al = allocs[i]
        if al:
            for lv, b in al:
                if occ[lv] + b > cap[lv]:
                    return False
            for lv, b in al:
                o = occ[lv] + b
                occ[lv] = o
                if o > peak[lv]:
                    peak[lv] = o
        now = env._now
        end = now
        for r, d, lat in holds[i]:
            e = reserve[r](now, d)
            if e + lat > end:
                end = e + lat
        if trace:
            log.append((i, now, end))
        if end == now:
            done.append(i)
        else:
            Timeout(env, end - now, i).callbacks.append(on_timeout)
        return True

    def drain() -> None:
        nonlocal finished, waiting
        while done:
            i = done.popleft()
            finished += 1
            fr = frees[i]
            if fr:
                for lv, b in fr:
                    occ[lv] -= b
                    if occ[lv] < 0:
                        raise ProgramError(
                            f"program {program.name!r}: op {i} ({ops[i].name!r}) frees {b} bytes at "
                            f"{level_names[lv]!r}, more than is allocated there")
                if waiting:
                    waiting = [j for j in waiting if not try_start(j)]
            for c in children[i]:
                remaining[c] -= 1
                if remaining[c] == 0 and not try_start(c):
                    waiting.append(c)

    def on_timeout(event) -> None:
        done.append(event._value)
        drain()

    try:
        for i in range(n):
            if remaining[i] == 0 and not try_start(i):
                waiting.append(i)
        drain()
        env.run()
    finally:
        # the three closures reference each other through their cells: break the cycle so the
        # run's data is freed by reference counting, not left to the cyclic collector
        try_start = drain = on_timeout = None  # noqa: F841

    if finished < n:
        raise ProgramError(_deadlock_message(program, waiting, allocs, occ, cap, level_names,
                                             remaining))
    busy_by: dict[str, int] = {name: 0 for name in (*arch.units, *arch.levels)}
    servers_by: dict[str, int] = {name: 0 for name in (*arch.units, *arch.levels)}
    for r, owner in enumerate(plan.res_owner):
        busy_by[owner] += servers[r].busy
        servers_by[owner] += plan.res_servers[r]
    cycles = int(env.now)
    return SimResult(
        program=program.name, arch=arch.name, family=arch.family,
        cycles=cycles, seconds=cycles / arch.clock_hz,
        busy_cycles=busy_by, servers=servers_by,
        actions=plan.actions, traffic_bytes=plan.traffic_bytes,
        peak_bytes=dict(zip(level_names, peak)),
        events=env.processed, ops=n, trace=tuple(log),
    )


def _deadlock_message(program, waiting, allocs, occ, cap, level_names, remaining) -> str:
    head = f"program {program.name!r}: deadlock"
    if waiting:
        i = waiting[0]
        need = ", ".join(f"{b} bytes at {level_names[lv]!r} (occupied {occ[lv]} of {cap[lv]})"
                         for lv, b in allocs[i])
        return (f"{head}: op {i} ({program.ops[i].name!r}) waits for {need}; "
                f"{len(waiting)} op(s) blocked on allocation and nothing left to free")
    i = next(k for k, r in enumerate(remaining) if r)  # unreachable for a valid DAG
    return f"{head}: op {i} ({program.ops[i].name!r}) never became ready"
