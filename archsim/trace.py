"""The engine's per-op timeline as Chrome trace JSON (open in https://ui.perfetto.dev or chrome://tracing).

``chrome_trace(program, arch, result)`` takes a :class:`~archsim.engine.SimResult` made with
``simulate(..., trace=True)``: each op is one complete event (``ph: "X"``) from the cycle its deps
were done and its allocation was taken to the cycle its last hold (plus latency) ended, so an op that
queues for a busy unit shows its waiting time too. Times are microseconds at ``arch.clock_hz``; each
event's ``args`` keep the integer cycles, the unit's compute cycles and the bytes per level. Tracks:
one per compute unit (``pe2d``), one for pure transfers (ops without a unit); ops that overlap on a
track (queued behind each other, or ``count`` > 1 instances) go to extra tracks ``pe2d #2``, ... so
every track nests properly.
"""
from __future__ import annotations

__all__ = ["chrome_trace"]

TRANSFERS = "transfers"


def chrome_trace(program, arch, result) -> dict:
    """Chrome trace-event JSON (a dict) of ``result.trace``; raises ``ValueError`` when the result
    was simulated without ``trace=True``."""
    if not result.trace and program.ops:
        raise ValueError("trace: the result has no timeline; simulate with trace=True")
    us_per_cycle = 1e6 / arch.clock_hz
    tracks: dict[str, int] = {}
    lanes: dict[str, list[int]] = {}
    events = []
    for index, start, end in result.trace:
        op = program.ops[index]
        base = op.unit or TRANSFERS
        ends = lanes.setdefault(base, [])
        lane = next((k for k, free in enumerate(ends) if free <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        track = base if lane == 0 else f"{base} #{lane + 1}"
        tid = tracks.setdefault(track, len(tracks) + 1)
        events.append({
            "name": op.name, "cat": base, "ph": "X", "pid": 1, "tid": tid,
            "ts": start * us_per_cycle, "dur": (end - start) * us_per_cycle,
            "args": {"op": index, "start_cycle": start, "end_cycle": end, "compute_cycles": op.compute_cycles,
                     **{f"read_{lv}_bytes": n for lv, n in sorted(op.reads.items())},
                     **{f"write_{lv}_bytes": n for lv, n in sorted(op.writes.items())}},
        })
    meta = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0,
             "args": {"name": f"{program.name} on {arch.name}"}}]
    meta += [{"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": track}}
             for track, tid in tracks.items()]
    meta += [{"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid, "args": {"sort_index": tid}}
             for tid in tracks.values()]
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"program": program.name, "arch": arch.name, "clock_hz": arch.clock_hz,
                          "cycles": result.cycles}}
