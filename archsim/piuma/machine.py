"""The PIUMA machine as simpy processes: threads issuing work quanta on shared pipelines.

Model (numbers from the preset's ``piuma`` section and levels; see archsim/presets/piuma.yaml):

* A core has ``mtps_per_core`` multithreaded pipelines (MTPs) of ``threads_per_mtp`` threads and
  ``stps_per_core`` single-threaded pipelines (STPs). Logical thread t < MTP threads runs on MTP
  ``t % mtps`` (so any thread count spreads over all MTPs); the last threads are the STPs.
* Each thread is a simpy process running its quanta in order, one outstanding operation at a
  time. A quantum of n instructions with memory operations of latencies L_x costs the thread
  ``n`` issue cycles on its pipeline plus a stall of ``sum_x count_x (L_x - 1)`` (an op's first
  cycle is its issue slot). A pipeline issues one instruction per cycle, first come first served
  among its threads, so T threads with memory fraction m and latency L reach
  IPC = min(1, T / (1 + m (L - 1))) in steady state. An STP divides its stall by
  ``stp_memory_overlap`` (it overlaps that many memory ops).
* Batching: one simpy event per *slice* of a quantum; a quantum is cut into at most
  ``max_slices`` slices of at least ``slice_instrs`` instructions so threads sharing a pipeline
  interleave at slice granularity. Shared resources (pipelines, DRAM, SPAD banks) are
  :class:`~archsim.resources.Servers` (FIFO reservations in virtual time), so a slice is a single
  timeout event.
* A slice ends at max(issue end + stall, its DRAM transfer end, its SPAD-bank atomics end): each
  resource is held concurrently, as in archsim/engine.py. DRAM is one server of the level's total
  bandwidth (channels finely interleaved); bytes moved are what the mapper computed at the
  preset's ``dram_line_bytes`` granularity, so achieved bandwidth can never exceed the peak.
  Atomics hold one of ``spad_banks`` banks for ``atomic_occupancy_cycles`` each (per-bank, hence
  per-slot, serialisation; the slot-exact model is :class:`archsim.piuma.spad.Scratchpad`).
  Remote atomics (SMASH v3's tables spread over every core's SPAD) hold a bank of the *other*
  cores for the same occupancy, spread evenly over them (addresses interleaved over all cores),
  and each crosses the network twice (request and response: ``spad.network_hop`` actions).
* DRAM loads pay ``dram.latency_cycles`` plus the network latency times the share of remote
  channels ((cores-1)/cores, addresses interleaved over all cores' channels); a DMA burst pays
  ``dma_burst_latency_cycles`` once per quantum (double-buffered: later bursts overlap compute).
* Dynamic distribution: a thread pulling a quantum pays one instruction and one SPAD atomic; a
  core pulling a pooled batch pays 2 network latencies plus one atomic.

Leaves out: instruction caches, branch effects, register pressure, SPAD/cache capacity misses
(mappers decide what lives where and check capacity), mesh topology and link contention (one
average latency), DRAM row buffers and refresh, coherence (caches hold read-only data only),
collective engines, and network energy of remote DRAM accesses (only remote atomics are charged).
"""
from __future__ import annotations

import numpy as np
import simpy

from ..resources import Servers
from ..result import SimResult
from .program import TIMED_COLUMNS, Batch, PiumaProgram

__all__ = ["simulate_piuma", "thread_pipe", "load_imbalance"]


def thread_pipe(t: int, mtps: int, threads_per_mtp: int) -> int:
    """Pipeline index of logical thread t: MTPs 0..mtps-1, then STPs mtps, mtps+1, ..."""
    n_mtp_threads = mtps * threads_per_mtp
    return t % mtps if t < n_mtp_threads else mtps + (t - n_mtp_threads)


class _Machine:
    def __init__(self, arch, program: PiumaProgram, slice_instrs: int, max_slices: int):
        p = arch.piuma
        if p is None:
            raise ValueError(f"arch {arch.name!r}: not a PIUMA-family preset (no piuma section)")
        self.p, self.arch, self.program = p, arch, program
        self.threads = p.mtps_per_core * p.threads_per_mtp + p.stps_per_core
        if not 1 <= program.threads_per_core <= self.threads:
            raise ValueError(f"program {program.name!r}: threads_per_core="
                             f"{program.threads_per_core} outside 1..{self.threads} for {arch.name}")
        self.env = simpy.Environment()
        lv = arch.levels
        remote = p.network_latency_cycles * (p.cores - 1) / p.cores
        self.lat = {"dram_loads": lv["dram"].latency_cycles + remote,
                    "cache_loads": lv["cache"].latency_cycles,
                    "spad_reads": lv["spad"].latency_cycles,
                    "spad_writes": lv["spad"].latency_cycles,
                    "atomics": p.atomic_latency_cycles,
                    "remote_atomics": p.atomic_latency_cycles + 2 * p.network_latency_cycles}
        self.dram_bw = lv["dram"].bandwidth_bytes_per_cycle
        self.slice_instrs, self.max_slices = slice_instrs, max_slices
        n_pipes = p.mtps_per_core + p.stps_per_core
        self.pipes = [Servers(n_pipes) for _ in range(p.cores)]
        self.banks = [Servers(p.spad_banks) for _ in range(p.cores)]
        self.dram = Servers(1)
        self.pipe_of = [thread_pipe(t, p.mtps_per_core, p.threads_per_mtp) for t in range(self.threads)]
        self.thread_busy = np.zeros((p.cores, program.threads_per_core))
        self.pipe_instrs = np.zeros(n_pipes)
        self.events = 0

    # ------------------------------------------------------------------ one thread
    def _quantum(self, core: int, t: int, row: dict, pulled: bool):
        pipe = self.pipe_of[t]
        n = float(row["instrs"]) + pulled
        stall = sum(row[k] * (lat - 1) for k, lat in self.lat.items())
        stall += (self.lat["atomics"] - 1) * pulled
        if row["dma_bursts"]:
            stall += self.p.dma_burst_latency_cycles
        if pipe >= self.p.mtps_per_core:
            stall /= self.p.stp_memory_overlap
        nbytes = float(row["dram_read_bytes"] + row["dram_write_bytes"])
        atom = float(row["atomics"] + pulled) * self.p.atomic_occupancy_cycles
        others = self.p.cores - 1
        remote = float(row["remote_atomics"]) * self.p.atomic_occupancy_cycles / others if others else 0.0
        k = int(min(self.max_slices, max(1, -(-n // self.slice_instrs))))
        env = self.env
        for _ in range(k):
            now = env.now
            done = self.pipes[core].reserve_on(pipe, now, n / k) + stall / k
            if nbytes:
                done = max(done, self.dram.reserve(now, nbytes / k / self.dram_bw))
            if atom:
                done = max(done, self.banks[core].reserve(now, atom / k))
            if remote:
                for c in range(self.p.cores):
                    if c != core:
                        done = max(done, self.banks[c].reserve(now, remote / k))
            self.events += 1
            yield env.timeout(done - now)
            self.thread_busy[core, t] += done - now
        self.pipe_instrs[pipe] += n

    def _thread(self, core: int, t: int, rows: list[dict] | None, shared: dict | None):
        if rows is not None:
            for row in rows:
                yield from self._quantum(core, t, row, False)
            return
        while shared["next"] < len(shared["rows"]):
            row = shared["rows"][shared["next"]]
            shared["next"] += 1
            yield from self._quantum(core, t, row, True)

    def _batch(self, core: int, batch: Batch):
        names = TIMED_COLUMNS
        cols = [batch.col(c).tolist() for c in names]
        rows = [dict(zip(names, vals)) for vals in zip(*cols)]
        T = self.program.threads_per_core
        procs = []
        if batch.owner is None:
            shared = {"next": 0, "rows": rows}
            for t in range(min(T, len(rows))):
                procs.append(self.env.process(self._thread(core, t, None, shared)))
        else:
            owner = np.asarray(batch.owner)
            if owner.size and (owner.min() < 0 or owner.max() >= T):
                raise ValueError(f"batch owner outside 0..{T - 1}")
            for t in range(T):
                mine = [rows[q] for q in np.flatnonzero(owner == t)]
                if mine:
                    procs.append(self.env.process(self._thread(core, t, mine, None)))
        self.events += len(procs) + 1
        yield self.env.all_of(procs)

    def _core(self, core: int, batches, pool: dict | None):
        if pool is None:
            for batch in batches:
                yield from self._batch(core, batch)
            return
        pull = 2 * self.p.network_latency_cycles + self.p.atomic_latency_cycles
        while pool["next"] < len(pool["batches"]):
            entry = pool["batches"][pool["next"]]
            pool["next"] += 1
            self.events += 1
            yield self.env.timeout(pull)
            for batch in entry:
                yield from self._batch(core, batch)

    def run(self) -> None:
        for stage in self.program.stages:
            if stage.pooled and stage.per_core:
                raise ValueError(f"stage {stage.name!r}: give per_core or pooled batches, not both")
            if len(stage.per_core) > self.p.cores:
                raise ValueError(f"stage {stage.name!r}: {len(stage.per_core)} cores of work on "
                                 f"a {self.p.cores}-core machine")
            pool = {"next": 0, "batches": list(stage.pooled)} if stage.pooled else None
            procs = [self.env.process(self._core(c, stage.per_core[c] if pool is None else (), pool))
                     for c in range(self.p.cores if pool else len(stage.per_core))]
            self.events += len(procs)
            self.env.run(until=self.env.all_of(procs))


def load_imbalance(thread_busy_cycles) -> float:
    """Max over mean busy time of the threads that ran work (1 = perfectly balanced)."""
    busy = np.asarray([b for b in thread_busy_cycles if b > 0])
    return float(busy.max() / busy.mean()) if busy.size else 1.0


def simulate_piuma(program: PiumaProgram, arch, seed: int = 0, slice_instrs: int = 1024,
                   max_slices: int = 8) -> SimResult:
    """Run ``program`` on a PIUMA-family ``arch``. Deterministic: ``seed`` is accepted for the
    common interface; nothing in the model is random (ties resolve in program order).

    ``counters``: the program's counters (multiplies, partial products, ...) plus ``mtp_instrs``,
    ``ipc_per_mtp`` (MTP instructions per cycle per MTP), ``load_imbalance`` (max / mean busy time
    of the threads that ran work), ``dram_bytes_per_cycle`` (achieved) and
    ``roof_dram_bytes_per_cycle``."""
    m = _Machine(arch, program, slice_instrs, max_slices)
    m.run()
    totals = program.totals()
    p, lv = arch.piuma, arch.levels
    cycles = int(np.ceil(m.env.now))
    n_mtp = p.mtps_per_core
    mtp_instrs = int(round(m.pipe_instrs[:n_mtp].sum()))
    stp_instrs = int(round(m.pipe_instrs[n_mtp:].sum()))
    read_b, write_b = totals.get("dram_read_bytes", 0), totals.get("dram_write_bytes", 0)
    acc = lv["dram"].access_bytes
    actions = {"mtp.instr": mtp_instrs, "stp.instr": stp_instrs,
               "dma.burst": totals.get("dma_bursts", 0),
               "spad.read": totals.get("spad_reads", 0), "spad.write": totals.get("spad_writes", 0),
               "spad.atomic": totals.get("atomics", 0) + totals.get("remote_atomics", 0),
               "cache.read": totals.get("cache_loads", 0),
               "spad.network_hop": 2 * totals.get("remote_atomics", 0),
               "dram.read": -(-read_b // acc), "dram.write": -(-write_b // acc)}
    busy = {"mtp": float(m.pipe_instrs[:n_mtp].sum()), "stp": float(m.pipe_instrs[n_mtp:].sum()),
            "dram": float(m.dram.busy)}
    servers = {"mtp": p.cores * n_mtp, "stp": p.cores * p.stps_per_core, "dram": 1}
    dram_bytes = int(read_b + write_b)
    counters = {k: v for k, v in totals.items() if k not in TIMED_COLUMNS}
    counters.update(
        mtp_instrs=mtp_instrs,
        ipc=mtp_instrs / (cycles * p.cores * n_mtp) if cycles else 0.0,
        load_imbalance=load_imbalance(m.thread_busy.ravel().tolist()),
        dram_bytes_per_cycle=dram_bytes / cycles if cycles else 0.0,
        roof_dram_bytes_per_cycle=lv["dram"].bandwidth_bytes_per_cycle)
    return SimResult(program=program.name, arch=arch.name, family=arch.family, cycles=cycles,
                     seconds=cycles / arch.clock_hz, busy_cycles=busy, servers=servers,
                     actions=actions, traffic_bytes={"dram": dram_bytes}, peak_bytes={},
                     events=m.events, counters=counters,
                     ops=sum(len(b) for st in program.stages for group in st.per_core + st.pooled
                             for b in group))
