"""The GPU simulator: kernels on a stream, CTAs on SM slots, shared L2 and DRAM servers.

Model (numbers from the preset's ``gpu:`` section, units and levels; docs/gpu.md):

* Stream. The program is timed as the reference protocol measures it: a loop of back-to-back
  iterations after warm-up. The host enqueues one kernel every ``launch_overhead_s``; the GPU runs
  the kernels one after another, each paying ``kernel_overhead_s`` (grid launch and drain) plus
  its CTA phase. In the loop's steady state an iteration of n kernels therefore takes
  max(n x launch_overhead, sum over kernels of (kernel_overhead + CTA phase)): host-bound when
  launches dominate, GPU-bound otherwise. The L2 state is carried through ``PASSES`` = 3
  iterations and the record describes the last one (its time, actions and DRAM traffic); only the
  last is timed. Kernel timings are cached per process (:func:`kernel_cycles`).
* CTAs. A kernel's CTAs are dispatched in index order to SM slots as slots free up (breadth-first
  over SMs at start: CTA i of the first wave goes to SM i mod SMs), up to the occupancy limit per
  SM (archsim/gpu/occupancy.py), so waves and tails emerge. Each CTA runs its prologue load, its
  main-loop steps in at most ``MAX_CHUNKS`` chunks (the first chunk is one step, so an
  unoverlapped prologue is charged exactly) and its epilogue store (archsim/gpu/program.py).
* Resources (all :class:`~archsim.resources.Servers`, FIFO in request order): per SM, one server
  per SM pipe unit (``mma``, ``fp32``, ``sfu``: count / lanes per SM cycles, shared by the SM's
  resident CTAs; one CTA's step uses its pipes one after another, as a warp issues its MMAs and
  then its softmax, while different CTAs overlap on different pipes), a shared-memory port (``l1_bytes_per_cycle_per_sm``) and an L2 port
  (``l2_bytes_per_cycle_per_sm``); device-wide, the L2 (its level bandwidth) and DRAM (level
  bandwidth x ``dram_efficiency``). A load holds its SM's L2 port, the L2 and, for the share of
  the kernel's loads that miss (archsim/gpu/l2.py), DRAM, concurrently; it completes after the
  longest hold plus the L2 latency (plus the DRAM latency when it misses). Latency is pipelined.
* Long kernels. With more than ``FULL_WAVES`` x slots CTAs (slots = SMs x CTAs per SM), the
  kernel is simulated at n1 = ``WARMUP_WAVES`` x slots + r and n2 = n1 + ``MEASURED_WAVES`` x slots
  CTAs (r = CTAs mod slots, the tail) and its time extrapolated linearly:
  t = t(n1) + (CTAs - n1) / (n2 - n1) x (t(n2) - t(n1)). The first waves' CTAs start in phase (all
  load, then all compute) and on some kernels the phases settle only after about 5 waves, so the
  waves measured come after 4 warm-up waves (measuring waves 1-2 erred by -17% to +48% on
  grouped-conv kernels). tests/gpu/test_gpu_sim.py checks this against full simulation.
* Energy actions are exact counts of the whole program (not extrapolated): ``<unit>.<op>`` per
  operator, ``smem.read|write``, ``l2.read|write`` and ``dram.read|write`` in the levels'
  ``access_bytes``; static power x time is added by :func:`archsim.energy`.

Leaves out: warp scheduling and instruction issue inside an SM, register bank conflicts, the L1
as a cache, TLBs, DRAM row-buffer effects, clock boost and power capping (the model runs at the
preset's boost clock), concurrent kernels and multiple streams.
"""
from __future__ import annotations

import simpy

from ..resources import Servers
from ..result import SimResult
from .l2 import L2Cache
from .memory import peak_bytes
from .occupancy import check_kernel, ctas_per_sm

__all__ = ["simulate_gpu", "bound_gpu", "kernel_bound_cycles", "kernel_cycles", "timing_key", "dram_traffic",
           "kernel_actions", "MAX_CHUNKS", "PASSES"]

PASSES = 3
MAX_CHUNKS = 4          # main-loop chunks per CTA (the first is one step)
FULL_WAVES = 12         # kernels of at most this many waves are simulated CTA by CTA
WARMUP_WAVES = 4        # longer ones: after this many waves (the CTAs' phases settle)
MEASURED_WAVES = 4      # the time of this many more is measured and extrapolated
_UNITS = ("mma", "fp32", "sfu")


def _params(arch):
    if arch.gpu is None:
        raise ValueError(f"arch {arch.name!r}: not a GPU-family preset (no gpu section)")
    return arch.gpu


def _chunks(steps: int) -> list[int]:
    """Steps per chunk: one step first, then the rest in at most MAX_CHUNKS - 1 near-equal chunks."""
    rest = steps - 1
    n = min(MAX_CHUNKS - 1, rest)
    return [1] + [rest // n + (1 if i < rest % n else 0) for i in range(n)] if n else [1]


class _Device:
    """The servers of one kernel's run (fresh per kernel: a barrier separates kernels)."""

    def __init__(self, arch, kernel, read_fraction: float, write_fraction: float):
        gpu = arch.gpu
        self.arch, self.k, self.gpu = arch, kernel, gpu
        self.env = simpy.Environment()
        self.pipes = [{u: Servers(1) for u in _UNITS if u in arch.units} for _ in range(gpu.sms)]
        self.smem_port = [Servers(1) for _ in range(gpu.sms)]
        self.l2_port = [Servers(1) for _ in range(gpu.sms)]
        self.l2, self.dram = Servers(1), Servers(1)
        self.l2_bw = arch.levels["l2"].bandwidth_bytes_per_cycle
        self.dram_bw = arch.levels["dram"].bandwidth_bytes_per_cycle * gpu.dram_efficiency
        self.l2_lat = arch.levels["l2"].latency_cycles
        self.dram_lat = arch.levels["dram"].latency_cycles
        self.read_fraction, self.write_fraction = read_fraction, write_fraction
        self.events = 0
        self.chunks = _chunks(kernel.steps)
        self.step_work, self.epilogue_work = self._terms(kernel.work_per_step), self._terms(kernel.epilogue_work)

    def _terms(self, work: dict) -> tuple:
        """(unit, count, cycles per op, lanes) per operator of ``work``, looked up once per kernel."""
        out = []
        for action, count in work.items():
            unit, _, op = action.partition(".")
            u = self.arch.units[unit]
            out.append((unit, count, u.cycles_per_op[op], u.lanes))
        return tuple(out)

    def transfer(self, sm: int, nbytes: float, dram_fraction: float) -> float:
        """Reserve a global load/store of ``nbytes``; return when it completes."""
        now = self.env.now
        if nbytes <= 0:
            return now
        end = max(self.l2_port[sm].reserve(now, nbytes / self.gpu.l2_bytes_per_cycle_per_sm),
                  self.l2.reserve(now, nbytes / self.l2_bw))
        lat = self.l2_lat
        if dram_fraction > 0:
            end = max(end, self.dram.reserve(now, nbytes * dram_fraction / self.dram_bw))
            lat += self.dram_lat
        return end + lat

    def compute(self, sm: int, terms: tuple, steps: int, smem_bytes: float) -> float:
        now = self.env.now
        end = now
        if smem_bytes > 0:
            end = self.smem_port[sm].reserve(now, smem_bytes / self.gpu.l1_bytes_per_cycle_per_sm)
        per_unit: dict[str, float] = {}
        for unit, count, cycles_per_op, lanes in terms:
            per_unit[unit] = per_unit.get(unit, 0.0) + count * steps * cycles_per_op / lanes
        t = now
        for unit, cycles in per_unit.items():    # one CTA's pipes run one after another
            t = self.pipes[sm][unit].reserve(t, cycles)
        return max(end, t)

    def cta(self, sm: int):
        k, env = self.k, self.env
        chunks = self.chunks
        pipelined = k.stages >= 2
        posted = env.now
        ready = self.transfer(sm, k.prologue_load_bytes + chunks[0] * k.load_bytes_per_step,
                              self.read_fraction)
        for c, steps in enumerate(chunks):
            self.events += 1
            yield env.timeout(max(0.0, ready - env.now))
            nxt = None
            if pipelined and c + 1 < len(chunks):
                nxt = self.transfer(sm, chunks[c + 1] * k.load_bytes_per_step, self.read_fraction)
            done = self.compute(sm, self.step_work, steps, steps * k.smem_bytes_per_step)
            if done > env.now:
                self.events += 1
                yield env.timeout(done - env.now)
            if k.store_bytes_per_step:     # posted: the CTA does not wait for it until the end
                posted = max(posted, self.transfer(sm, steps * k.store_bytes_per_step, self.write_fraction))
            if c + 1 < len(chunks):
                ready = nxt if nxt is not None else self.transfer(
                    sm, chunks[c + 1] * k.load_bytes_per_step, self.read_fraction)
        done = self.compute(sm, self.epilogue_work, 1, 0.0) if k.epilogue_work else env.now
        done = max(done, posted, self.transfer(sm, k.store_bytes, self.write_fraction))
        self.events += 1
        yield env.timeout(max(0.0, done - env.now))

    def run(self, n_ctas: int) -> float:
        slots = ctas_per_sm(self.k, self.gpu)
        counter = [0]

        def slot(sm: int):
            while counter[0] < n_ctas:
                counter[0] += 1
                yield from self.cta(sm)

        for _ in range(slots):
            for sm in range(self.gpu.sms):
                self.env.process(slot(sm))
        self.env.run()
        return float(self.env.now)

    def busy(self) -> dict[str, float]:
        out = {u: sum(p[u].busy for p in self.pipes) for u in self.pipes[0]}
        out["l2"], out["dram"] = self.l2.busy, self.dram.busy
        out["smem"] = sum(s.busy for s in self.smem_port)
        return out


# Per-process cache of kernel_cycles results: (machine, timing_key, DRAM fractions, full) -> result.
# Exact: the simulation is deterministic and reads nothing else (tests/gpu/test_kernel_cache.py).
KERNEL_CACHE_SIZE = 1 << 16
_KERNEL_CACHE: dict[tuple, tuple] = {}


def _machine_key(arch) -> str:
    """What a kernel's cycles read of the machine: its units, levels and gpu section."""
    return arch.model_dump_json(include={"units", "levels", "gpu"})


def kernel_cycles(kernel, arch, read_fraction: float, write_fraction: float, full: bool = False):
    """(cycles of the CTA phase, busy per resource, events, CTAs simulated, extrapolated?);
    ``full`` simulates every CTA (no wave extrapolation). Equal kernels (names and tensors aside)
    on equal machines are simulated once per process (``KERNEL_CACHE_SIZE`` entries; 0 disables)."""
    gpu = _params(arch)
    key = (_machine_key(arch), timing_key(kernel), read_fraction, write_fraction, full)
    hit = _KERNEL_CACHE.get(key)
    if hit is None:
        hit = _simulate_kernel(kernel, arch, gpu, read_fraction, write_fraction, full)
        if KERNEL_CACHE_SIZE > 0:
            if len(_KERNEL_CACHE) >= KERNEL_CACHE_SIZE:
                _KERNEL_CACHE.pop(next(iter(_KERNEL_CACHE)))
            _KERNEL_CACHE[key] = hit
    cycles, busy, events, simulated, extrapolated = hit
    return cycles, dict(busy), events, simulated, extrapolated


def _simulate_kernel(kernel, arch, gpu, read_fraction: float, write_fraction: float, full: bool):
    slots = gpu.sms * ctas_per_sm(kernel, gpu)
    n = kernel.ctas
    if full or n <= FULL_WAVES * slots:
        dev = _Device(arch, kernel, read_fraction, write_fraction)
        return dev.run(n), dev.busy(), dev.events, n, False
    r = n % slots
    n1, n2 = WARMUP_WAVES * slots + r, (WARMUP_WAVES + MEASURED_WAVES) * slots + r
    d1, d2 = (_Device(arch, kernel, read_fraction, write_fraction) for _ in range(2))
    t1, t2 = d1.run(n1), d2.run(n2)
    waves = (n - n1) / (n2 - n1)          # in units of the measured waves
    b1, b2 = d1.busy(), d2.busy()
    busy = {x: b1[x] + waves * (b2[x] - b1[x]) for x in b1}
    return t1 + waves * (t2 - t1), busy, d1.events + d2.events, n1 + n2, True


def kernel_actions(kernel, arch, dram_read: float, dram_write: float) -> dict[str, float]:
    """Energy actions of one kernel run given its DRAM traffic (see the module docstring)."""
    acts = {k: float(v) for k, v in kernel.work.items() if v}
    lv = arch.levels
    smem_read = kernel.ctas * kernel.steps * kernel.smem_bytes_per_step
    smem_write = kernel.load_bytes if kernel.smem_bytes else 0.0
    for name, nbytes in (("smem.read", smem_read), ("smem.write", smem_write),
                         ("l2.read", kernel.load_bytes), ("l2.write", kernel.store_bytes_total),
                         ("dram.read", dram_read), ("dram.write", dram_write)):
        if nbytes:
            acts[name] = nbytes / lv[name.split(".")[0]].access_bytes
    return acts


def dram_traffic(program, arch) -> list[list[tuple[float, float]]]:
    """Per pass (``PASSES``) and kernel: (DRAM read bytes, DRAM write bytes) from the L2 model, with
    each non-input tensor freed (dropped from L2) after the last kernel that touches it. A pass
    that ends in the L2 state the previous pass ended in has reached the steady state: the passes
    after it repeat it exactly and are copied, not recomputed."""
    l2 = L2Cache(arch.levels["l2"].capacity_bytes)
    last = {}
    for i, k in enumerate(program.kernels):
        for t in (*k.reads, *k.writes):
            last[t] = i
    frees: dict[int, list[str]] = {}
    for t, j in last.items():
        if t not in program.inputs:
            frees.setdefault(j, []).append(t)
    slots = [arch.gpu.sms * ctas_per_sm(k, arch.gpu) for k in program.kernels]
    passes, state = [], None
    while len(passes) < PASSES:
        per_kernel = []
        for i, k in enumerate(program.kernels):
            per_kernel.append(l2.run_kernel(k, slots[i]))
            for t in frees.get(i, ()):
                l2.free(t)
        passes.append(per_kernel)
        end = (list(l2.lru.items()), set(l2.dirty))
        if end == state:
            passes += [per_kernel] * (PASSES - len(passes))
        state = end
    return passes


def timing_key(k) -> tuple:
    """The fields a kernel's CTA phase depends on besides its DRAM fractions: equal keys give equal
    cycles, so repeated layers (names and tensors aside) are simulated once."""
    return (k.ctas, k.threads, k.registers_per_thread, k.smem_bytes, k.steps, k.load_bytes_per_step,
            k.smem_bytes_per_step, tuple(sorted(k.work_per_step.items())), k.store_bytes, k.stages,
            k.store_bytes_per_step, k.prologue_load_bytes, tuple(sorted(k.epilogue_work.items())))


def simulate_gpu(program, arch, seed: int = 0) -> SimResult:
    """Run ``program`` (a GpuProgram) on a GPU-family ``arch``; deterministic (``seed`` unused)."""
    gpu = _params(arch)
    for k in program.kernels:
        check_kernel(k, gpu)
    clock = arch.clock_hz
    host = gpu.launch_overhead_s * clock
    overhead = gpu.kernel_overhead_s * clock
    traffic = dram_traffic(program, arch)
    gpu_cycles = 0.0
    busy: dict[str, float] = {}
    actions: dict[str, float] = {}
    dram = {"read": 0.0, "write": 0.0}
    events = simulated = extrapolated = 0
    for k, (d_read, d_write) in zip(program.kernels, traffic[-1]):   # the record describes the last pass
        fr = min(1.0, d_read / k.load_bytes) if k.load_bytes else 0.0
        fw = min(1.0, d_write / k.store_bytes_total) if k.store_bytes_total else 0.0
        cycles, k_busy, k_events, k_sim, k_extra = kernel_cycles(k, arch, fr, fw)
        gpu_cycles += overhead + cycles
        for x, b in k_busy.items():
            busy[x] = busy.get(x, 0.0) + b
        for a, n in kernel_actions(k, arch, d_read, d_write).items():
            actions[a] = actions.get(a, 0.0) + n
        dram["read"] += d_read
        dram["write"] += d_write
        events += k_events
        simulated += k_sim
        extrapolated += k_extra
    cycles = max(len(program.kernels) * host, gpu_cycles)
    servers = {u: gpu.sms for u in _UNITS if u in arch.units}
    servers.update(l2=1, dram=1, smem=gpu.sms)
    l2_bytes = sum(k.load_bytes + k.store_bytes_total for k in program.kernels)
    return SimResult(
        program=program.name, arch=arch.name, family=arch.family, cycles=cycles,
        seconds=cycles / clock, busy_cycles=busy, servers=servers, actions=dict(sorted(actions.items())),
        traffic_bytes={"dram": dram["read"] + dram["write"], "l2": l2_bytes},
        peak_bytes={"dram": peak_bytes(program)}, events=events, ops=len(program.kernels),
        fidelity="event+waves" if extrapolated else "event",
        counters={"kernels": len(program.kernels), "ctas_simulated": simulated,
                  "static_power_w": arch.static_power_w or 0.0})


def kernel_bound_cycles(kernel, arch, dram_read: float, dram_write: float) -> float:
    """A closed-form lower bound on one kernel's CTA phase (cycles, without the kernel overhead):
    max(compute at the pipes' peak over all SMs, L2 bytes / L2 bandwidth, DRAM bytes / sustained
    DRAM bandwidth), given the kernel's DRAM read and write bytes."""
    gpu = _params(arch)
    lane_cycles = dict.fromkeys((u for u in _UNITS if u in arch.units), 0.0)
    for action, n in kernel.work.items():
        unit, _, op = action.partition(".")
        if unit in lane_cycles:
            lane_cycles[unit] += n * arch.units[unit].cycles_per_op[op]
    compute = max([c / (arch.units[u].lanes * gpu.sms) for u, c in lane_cycles.items()], default=0.0)
    l2 = (kernel.load_bytes + kernel.store_bytes_total) / arch.levels["l2"].bandwidth_bytes_per_cycle
    dram = (dram_read + dram_write) / (arch.levels["dram"].bandwidth_bytes_per_cycle * gpu.dram_efficiency)
    return max(compute, l2, dram)


def bound_gpu(program, arch) -> SimResult:
    """A lower bound per kernel (:func:`kernel_bound_cycles`) plus the kernel overhead, on the
    stream with the host's launch rate; the loop protocol and actions of :func:`simulate_gpu`."""
    gpu = _params(arch)
    clock = arch.clock_hz
    traffic = dram_traffic(program, arch)
    gpu_cycles = 0.0
    actions: dict[str, float] = {}
    dram_total = 0.0
    for k, (d_read, d_write) in zip(program.kernels, traffic[-1]):     # the last pass
        gpu_cycles += gpu.kernel_overhead_s * clock + kernel_bound_cycles(k, arch, d_read, d_write)
        for a, n in kernel_actions(k, arch, d_read, d_write).items():
            actions[a] = actions.get(a, 0.0) + n
        dram_total += d_read + d_write
    cycles = max(len(program.kernels) * gpu.launch_overhead_s * clock, gpu_cycles)
    return SimResult(program=program.name, arch=arch.name, family=arch.family, cycles=cycles,
                     seconds=cycles / clock, busy_cycles={},
                     servers={u: gpu.sms for u in _UNITS if u in arch.units},
                     actions=dict(sorted(actions.items())), traffic_bytes={"dram": dram_total},
                     peak_bytes={"dram": peak_bytes(program)}, events=0, ops=len(program.kernels),
                     fidelity="bound", counters={"kernels": len(program.kernels)})
