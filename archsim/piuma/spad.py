"""Slot-exact scratchpad atomics: the component the batched machine model abstracts.

Assumes each SPAD slot is an 8-byte word in bank ``slot % banks``; an atomic (CAS, fetch-add)
is a read-modify-write that holds its *slot* for ``occupancy`` cycles and its *bank* for the
same time, so two atomics on one slot always serialise, atomics on different slots of one bank
serialise, and atomics on different banks proceed in parallel. The requester sees the result
``latency`` cycles after its atomic starts. Leaves out: the values themselves (callers keep
them), bank conflicts of plain loads, and the network for remote atomics.

Used by tests as the ground truth of per-slot serialisation; archsim/piuma/machine.py keeps
only the per-bank occupancy (a batch of atomics does not name its slots).
"""
from __future__ import annotations

import simpy

__all__ = ["Scratchpad"]


class Scratchpad:
    def __init__(self, env: simpy.Environment, banks: int, latency: int, occupancy: int):
        if banks < 1 or latency < occupancy or occupancy < 1:
            raise ValueError("Scratchpad: need banks >= 1 and latency >= occupancy >= 1")
        self.env, self.latency, self.occupancy = env, latency, occupancy
        self.banks = [simpy.Resource(env, capacity=1) for _ in range(banks)]
        self.log: list[tuple[int, str, int]] = []   # (start cycle, who, slot)

    def atomic(self, who: str, slot: int):
        """Process: one atomic on ``slot``; returns when its result reaches the requester."""
        with self.banks[slot % len(self.banks)].request() as req:
            yield req
            start = self.env.now
            self.log.append((start, who, slot))
            yield self.env.timeout(self.occupancy)
        yield self.env.timeout(self.latency - self.occupancy)
