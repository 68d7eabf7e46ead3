"""The one result contract every machine family's simulator returns.

Whatever the family (spatial tile-op engine, PIUMA threads, GPU CTAs), a run is summarised by the
same numbers, so that energy (:func:`archsim.energy`), the record builder
(:func:`archsim.record.result_metrics`) and reports never branch on the family:

- ``cycles`` at ``arch.clock_hz`` and ``seconds`` (= cycles / clock);
- ``busy_cycles[x]``: server-cycles unit or level ``x`` was held, summed over its ``servers[x]``
  identical instances (so the held fraction is busy / (cycles x servers));
- ``actions``: ``"<unit>.<op>"`` and ``"<level>.read|write"`` counts, priced by the preset's energy
  table (floats where a count was extrapolated);
- ``traffic_bytes[level]``: bytes read plus written at each storage level;
- ``peak_bytes[level]``: peak occupancy (empty when the fidelity does not track it);
- ``events``: discrete events processed; ``ops``: program elements simulated (tile ops, quanta,
  CTAs); ``fidelity``: how the numbers were obtained (``event``, ``event+steady-state``,
  ``event+waves``, ``bound``);
- ``counters``: family-specific statistics (PIUMA load imbalance, GPU achieved bandwidth...),
  flattened into records as they are;
- ``trace``: optional (index, start, end) cycles per op or kernel.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["SimResult", "add_counts"]


def add_counts(a: dict, b: dict) -> dict:
    """Key-wise sum of two count dicts (keys sorted)."""
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}


@dataclass(frozen=True)
class SimResult:
    """Outcome of any family's simulator (see the module docstring for each field's unit)."""

    program: str
    arch: str
    family: str
    cycles: int | float
    seconds: float
    busy_cycles: dict[str, float]
    servers: dict[str, int]
    actions: dict[str, int | float]
    traffic_bytes: dict[str, int | float]
    peak_bytes: dict[str, int]
    events: int
    ops: int
    fidelity: str = "event"
    counters: dict[str, float] = field(default_factory=dict)
    trace: tuple[tuple[int, int | float, int | float], ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def then(self, other: "SimResult") -> "SimResult":
        """``self`` followed by ``other`` on the same machine with a barrier between them:
        time, busy time, actions, traffic, events and counters add; peaks take the max."""
        if (self.arch, self.family) != (other.arch, other.family):
            raise ValueError(f"cannot chain results of {self.arch!r} and {other.arch!r}")
        fidelity = self.fidelity if self.fidelity == other.fidelity else "+".join(
            sorted(set(self.fidelity.split("+")) | set(other.fidelity.split("+")),
                   key=lambda s: (s != "event", s)))
        return SimResult(
            program=f"{self.program};{other.program}", arch=self.arch, family=self.family,
            cycles=self.cycles + other.cycles, seconds=self.seconds + other.seconds,
            busy_cycles=add_counts(self.busy_cycles, other.busy_cycles),
            servers={**other.servers, **self.servers},
            actions=add_counts(self.actions, other.actions),
            traffic_bytes=add_counts(self.traffic_bytes, other.traffic_bytes),
            peak_bytes={k: max(self.peak_bytes.get(k, 0), other.peak_bytes.get(k, 0))
                        for k in sorted(set(self.peak_bytes) | set(other.peak_bytes))},
            events=self.events + other.events, ops=self.ops + other.ops, fidelity=fidelity,
            counters=add_counts(self.counters, other.counters))
