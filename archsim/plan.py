"""Resource holds of each op, shared by the engine and the closed-form bound.

An op holds its unit for ``compute_cycles`` and each level it touches (reads + writes there) for
``ceil(bytes / bandwidth_bytes_per_cycle)``; the level's ``latency_cycles`` then delays the op's end
without occupying the level (latency is pipelined: the next op's transfer may start while this
one's data is in flight, as with many outstanding memory requests). A level with ``channels`` > 1
is that many independent servers of bandwidth/channels each; an op's bytes are cut into
``access_bytes`` chunks dealt round-robin over the channels, continuing from where the previous op
(in program order) left off, and each channel the op touches pays the latency once. A unit with
``count`` > 1 is that many identical servers. Leaves out bank conflicts, row-buffer effects,
address mapping and a cap on outstanding requests.
Computing the channel split in program order (not at run time) keeps engine and bound consistent.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Plan", "make_plan", "count_actions", "gc_paused"]


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector (restored on exit): the engine and bound allocate many
    small acyclic tuples, and generation-0 collections cost ~30% of their run time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

_EPS = 1e-9  # guards ceil() against float noise in bytes / bandwidth


@dataclass(frozen=True)
class Plan:
    """Resources (servers) and, per op, the (resource index, busy cycles, trailing latency) holds, the
    (level index, bytes) allocs and frees, plus the program's action counts."""

    res_names: tuple[str, ...]   # unit name, level name, or "level[k]" for channel k
    res_owner: tuple[str, ...]   # the unit or level each resource belongs to
    res_servers: tuple[int, ...]  # identical servers behind the resource (unit count; 1 per channel)
    holds: tuple[tuple[tuple[int, int, int], ...], ...]  # (resource, busy cycles, latency after)
    durations: tuple[int, ...]   # max (busy + latency) per op: its contention-free duration
    level_names: tuple[str, ...]
    allocs: tuple[tuple[tuple[int, int], ...], ...]
    frees: tuple[tuple[tuple[int, int], ...], ...]
    actions: dict[str, int]       # see count_actions
    traffic_bytes: dict[str, int]  # bytes read plus written per level, whole program
    children: tuple[list[int], ...]  # op -> ops that depend on it (deduplicated)
    ndeps: tuple[int, ...]        # distinct deps per op


def _cycles(nbytes: int, bandwidth: float) -> int:
    return math.ceil(nbytes / bandwidth - _EPS)


def make_plan(program, arch) -> Plan:
    """One pass over the program: holds, allocs/frees and actions. Raises ProgramError (via
    ``program.check``) on unknown units/levels/operators or an alloc above capacity."""
    try:
        return _make_plan(program, arch)
    except (KeyError, _Invalid):
        program.check(arch)  # raises the descriptive ProgramError
        raise  # pragma: no cover - check() and _make_plan disagree


class _Invalid(Exception):
    pass


def _make_plan(program, arch) -> Plan:
    names: list[str] = []
    owner: list[str] = []
    servers: list[int] = []
    unit_info: dict[str, tuple[int, dict]] = {}
    for uname, unit in arch.units.items():
        unit_info[uname] = (len(names), unit.cycles_per_op)
        names.append(uname)
        owner.append(uname)
        servers.append(unit.count)
    level_names = tuple(arch.levels)
    lvl_info: dict[str, tuple] = {}
    for li, (lname, lvl) in enumerate(arch.levels.items()):
        lvl_info[lname] = (li, len(names), lvl.channels, lvl.latency_cycles,
                           lvl.bandwidth_bytes_per_cycle, lvl.access_bytes, lvl.capacity_bytes)
        for k in range(lvl.channels):
            names.append(lname if lvl.channels == 1 else f"{lname}[{k}]")
            owner.append(lname)
            servers.append(1)
    pointer = [0] * len(level_names)
    n_read = [0] * len(level_names)
    n_write = [0] * len(level_names)
    traffic = [0] * len(level_names)
    work: dict[tuple[str, str], int] = {}
    holds_all, durations, allocs, frees = [], [], [], []
    children: list[list[int]] = []
    ndeps: list[int] = []
    for i, op in enumerate(program.ops):
        children.append([])
        deps = op.deps
        if len(deps) > 1:
            deps = dict.fromkeys(deps)
        ndeps.append(len(deps))
        for d in deps:
            children[d].append(i)
        holds = []
        dur = 0
        if op.unit is not None:
            uidx, cpo = unit_info[op.unit]
            for kind, n in op.work.items():
                if n:
                    if kind not in cpo:
                        raise _Invalid
                    key = (op.unit, kind)
                    work[key] = work.get(key, 0) + n
            if op.compute_cycles > 0:
                dur = op.compute_cycles
                holds.append((uidx, dur, 0))
        r, w = op.reads, op.writes
        for lname, nbytes in r.items():
            if nbytes:
                info = lvl_info[lname]
                n_read[info[0]] += -(-nbytes // info[5])
        if w:
            touched = r.copy() if r else {}
            for lname, nbytes in w.items():
                if nbytes:
                    info = lvl_info[lname]
                    n_write[info[0]] += -(-nbytes // info[5])
                    touched[lname] = touched.get(lname, 0) + nbytes
        else:
            touched = r
        for lname, nbytes in touched.items():
            if nbytes <= 0:
                continue
            li, base, chans, lat, bw, ab, _ = lvl_info[lname]
            traffic[li] += nbytes
            if chans == 1:
                c = math.ceil(nbytes / bw - _EPS)
                holds.append((base, c, lat))
                if c + lat > dur:
                    dur = c + lat
                continue
            chunks = -(-nbytes // ab)
            q, rem = divmod(chunks, chans)
            ptr = pointer[li]
            per_chan = bw / chans
            short_chan = (ptr + chunks - 1) % chans
            short = chunks * ab - nbytes
            for k in range(chans):
                nchunks = q + (1 if (k - ptr) % chans < rem else 0)
                if nchunks == 0:
                    continue
                b = nchunks * ab - (short if k == short_chan else 0)
                c = _cycles(b, per_chan)
                holds.append((base + k, c, lat))
                if c + lat > dur:
                    dur = c + lat
            pointer[li] = (ptr + chunks) % chans
        holds_all.append(tuple(holds))
        durations.append(dur)
        al = op.alloc
        if al:
            entries = []
            for lname, b in al.items():
                if b:
                    info = lvl_info[lname]
                    if b > info[6]:
                        raise _Invalid
                    entries.append((info[0], b))
            allocs.append(tuple(entries))
        else:
            allocs.append(())
        fr = op.free
        frees.append(tuple((lvl_info[k][0], b) for k, b in fr.items() if b) if fr else ())
    acts = {f"{u}.{k}": n for (u, k), n in work.items()}
    for li, lname in enumerate(level_names):
        if n_read[li]:
            acts[lname + ".read"] = n_read[li]
        if n_write[li]:
            acts[lname + ".write"] = n_write[li]
    return Plan(tuple(names), tuple(owner), tuple(servers), tuple(holds_all), tuple(durations),
                level_names, tuple(allocs), tuple(frees), dict(sorted(acts.items())),
                dict(zip(level_names, traffic)), tuple(children), tuple(ndeps))


def count_actions(program, arch) -> dict[str, int]:
    """``"<unit>.<op>"`` -> work count; ``"<level>.read"``/``".write"`` -> ceil(bytes/access_bytes)
    per op, summed. Keys sorted; zero counts omitted."""
    return make_plan(program, arch).actions
