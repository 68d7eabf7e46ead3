"""Next-free-time servers: the one resource mechanism every family's simulator shares.

A FIFO server whose hold times are known when a request arrives needs no queue: it is just the time
it next becomes free. A request at ``now`` for ``duration`` starts at ``max(now, free_at)`` and
moves ``free_at`` to its end, so requests are served in the order they are made (callers make them
in simulated-time order) and a simulation needs one event per request, not two. ``Servers`` holds
``count`` identical servers; :meth:`reserve` takes the one that frees first (lowest index on a
tie), :meth:`reserve_on` a named one (a thread's own pipeline). Times are cycles, int or float as
the caller uses them; ``busy`` sums the durations served.
"""
from __future__ import annotations

__all__ = ["Servers"]


class Servers:
    __slots__ = ("free_at", "busy")

    def __init__(self, count: int = 1):
        if count < 1:
            raise ValueError(f"Servers: count must be >= 1, got {count}")
        self.free_at: list = [0] * count
        self.busy = 0

    def reserve(self, now, duration):
        """Serve ``duration`` on the first server to free up; return the end time."""
        free_at = self.free_at
        k = 0 if len(free_at) == 1 else free_at.index(min(free_at))
        start = free_at[k] if free_at[k] > now else now
        end = start + duration
        free_at[k] = end
        self.busy += duration
        return end

    def reserve_on(self, k: int, now, duration):
        """Serve ``duration`` on server ``k``; return the end time."""
        free_at = self.free_at
        start = free_at[k] if free_at[k] > now else now
        end = start + duration
        free_at[k] = end
        self.busy += duration
        return end

    def earliest(self):
        """When the first server frees up."""
        return min(self.free_at)
