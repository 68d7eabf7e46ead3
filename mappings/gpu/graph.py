"""Operator graphs (workloads/graphs) lowered to GPU kernel programs and timed on the GPU family.

Lowering, op by op, in PyTorch-eager style (one kernel per op, builders of mappings/gpu/kernels.py):

- ``gemm`` ops (linear layers, convolutions as implicit GEMMs, attention's batched QK^T / PV):
  the tiled tensor-core GEMM with the tile/split-K search of :func:`gemm_kernels`; a kernel's
  ``reads``/``writes`` name the graph's tensors with their real sizes (a convolution reads its
  input once from DRAM; the im2col re-reads are on-chip);
- ``rowwise`` ops (GroupNorm, LayerNorm, softmax): one row-wise kernel;
- ``attention`` ops (fused): the FlashAttention-2 kernel, with Lk / 64 key blocks per CTA;
- elementwise ops: PyTorch's vectorised elementwise kernel;
- ``sliced`` composites (Feature Slicer / Operator Grouping): the body ops' kernels at slice
  size, once per slice (``slices_at_once`` slices batched into one kernel), slice tensors named
  ``tensor@i``; uneven slices are charged as the largest slice (an upper bound). A temporal
  composite with two-pass GroupNorm adds one statistics kernel per slice that reads the slice.

Element bytes are the op's input dtype; fp32 GEMMs and convolutions (a VAE built in fp32) run on
the tensor cores, as PyTorch's cuDNN convolutions do by default with TF32 (an assumption: TF32's
rate is taken as the fp16 rate of the preset).

Timing: the GPU family's loop protocol and CTA model (archsim/gpu/sim.py: ``kernel_cycles``,
the L2 model carried through ``PASSES`` iterations, an iteration = max(host launches, GPU time)),
with one difference: within a program, a kernel's cycles and actions are computed once per
(``archsim.gpu.timing_key``, DRAM traffic), not per position, so the thousands of repeated kernels
of a UNet step cost one evaluation. tests/mappings/test_gpu_graph.py checks that this equals
``simulate_gpu`` exactly.
Peak memory of the graphs comes from workloads/graphs/liveness.py (the GPU allocator's peak of
the unsliced program is the same number; sliced programs name slice views, which the
tensor-level allocator cannot follow).
"""
from __future__ import annotations

from dataclasses import replace
from math import ceil

from archsim.gpu import GpuProgram, check_kernel, ctas_per_sm, kernel_bound_cycles, kernel_cycles, timing_key
from archsim.gpu.sim import dram_traffic, kernel_actions
from archsim.result import SimResult

from .kernels import FP32, elementwise, fused_attention, rowwise, wave_ctas
from .mappers import gemm_kernels

__all__ = ["lower_graph", "slice_kernels", "time_program", "clear_kernel_cache"]

_NORM_WORK = {"fp32.add": 2.0, "fp32.mul": 2.0}            # per element: sum, sum of squares, scale
_SOFTMAX_WORK = {"fp32.max": 1.0, "fp32.add": 2.0, "sfu.exp": 1.0, "fp32.mul": 1.0}


_GEMM_CACHE: dict = {}


def _gemm_cached(arch, M: int, N: int, K: int, elem: int, batch: int, timing: str):
    key = (id(arch), M, N, K, elem, batch, timing)
    if key not in _GEMM_CACHE:
        _GEMM_CACHE[key] = (arch, tuple(gemm_kernels(arch, "gemm", M, N, K, elem, "A", "B", "C", batch,
                                                     timing)[0]))
    # (the arch is kept with the entry so its id cannot be reused by another object)
    return _GEMM_CACHE[key][1]


def _scaled(nbytes: int, f: float) -> int:
    return max(1, int(round(nbytes * f)))


def _op_kernels(op, graph, arch, f: float, name_of, timing: str) -> list:
    """Kernels of one (non-composite) op at fraction ``f`` of its sliced axis."""
    t = graph.tensors
    reads = {name_of(x): (t[x].nbytes if t[x].role == "weight" else _scaled(t[x].nbytes, f))
             for x in op.inputs}
    writes = {name_of(y): _scaled(t[y].nbytes, f) for y in op.outputs}
    kind = op.compute[0]
    label = op.name
    elem = t[op.inputs[0]].dtype_bytes         # fp16 graphs; fp32 ones on TF32 tensor cores
    if kind == "gemm":
        _, batch, M, N, K = op.compute
        if batch > 1:
            batch = max(1, ceil(batch * f))
        else:
            M = max(1, ceil(M * f))
        kernels = list(_gemm_cached(arch, M, N, K, elem, batch, timing))
        main = replace(kernels[0], name=label, reads=reads, writes=writes)
        if len(kernels) == 1:
            return [main]
        part = f"{name_of(op.outputs[0])}.partial"
        main = replace(main, writes={part: kernels[0].writes["C.partial"]})
        red = replace(kernels[1], name=f"{label}.splitk_reduce", reads={part: kernels[1].reads["C.partial"]},
                      writes=writes)
        return [main, red]
    if kind == "rowwise":
        _, rows, row_len = op.compute
        rows = max(1, ceil(rows * f))
        in_bytes, out_bytes = sum(reads.values()), sum(writes.values())
        work = _SOFTMAX_WORK if op.kind == "softmax" else _NORM_WORK
        return [rowwise(label, rows, ceil(in_bytes / rows), ceil(out_bytes / rows), reads, writes,
                        {k: v * row_len for k, v in work.items()}, wave_ctas(arch))]
    if kind == "attention":
        _, bh, lq, lk, d = op.compute
        bh = max(1, ceil(bh * f))
        q, k, v = (name_of(x) for x in op.inputs)
        o = name_of(op.outputs[0])
        probe = fused_attention(label, bh, lq, d, elem, arch.gpu.sms, q, k, v, o, f"{o}.lse")
        kern = fused_attention(label, bh, lq, d, elem, arch.gpu.sms * ctas_per_sm(probe, arch.gpu),
                               q, k, v, o, f"{o}.lse")
        try:
            check_kernel(kern, arch.gpu)
        except ValueError:          # head dim too large for the flash kernel: SDPA's other paths
            return _attention_fallback(label, bh, lq, lk, d, t[op.inputs[0]].dtype_bytes, arch, q, k, v, o,
                                       reads, writes, timing)
        return [replace(kern, steps=ceil(lk / 64), reads=reads,
                        writes={**writes, f"{o}.lse": bh * lq * FP32})]
    in_bytes = max(1, sum(reads.values()))
    return [elementwise(label, reads, writes, wave_ctas(arch), {"fp32.mul": op.flops * f / in_bytes})]


def _attention_fallback(label, bh, lq, lk, d, elem, arch, q, k, v, o, reads, writes, timing) -> list:
    """Fused attention whose CTA does not fit the SM (e.g. the VAE's one head of 512): timed as
    QK^T, a row-wise softmax and PV with the scores in device memory (an upper bound on the
    memory-efficient kernel PyTorch picks; the graph's peak memory still counts no scores)."""
    s, p = f"{o}.scores", f"{o}.probs"
    qk = replace(_gemm_cached(arch, lq, lk, d, elem, bh, timing)[0], name=f"{label}.qk",
                 reads={q: reads[q], k: reads[k]}, writes={s: bh * lq * lk * elem})
    sm = rowwise(f"{label}.softmax", bh * lq, lk * elem, lk * elem, {s: bh * lq * lk * elem},
                 {p: bh * lq * lk * elem}, {a: n * lk for a, n in _SOFTMAX_WORK.items()}, wave_ctas(arch))
    pv = replace(_gemm_cached(arch, lq, d, lk, elem, bh, timing)[0], name=f"{label}.pv",
                 reads={p: bh * lq * lk * elem, v: reads[v]}, writes=writes)
    return [qk, sm, pv]


def lower_graph(graph, arch, tile_timing: str = "event") -> GpuProgram:
    """The graph as one GPU program (kernels in stream order; weights and constants are inputs);
    ``tile_timing`` times the GEMM tile candidates (:func:`mappings.gpu.mappers.choose_gemm_tile`).
    A sliced composite's slices differ only in their tensors' names: its first slice is lowered
    and the others are renamed copies of it."""
    kernels = []
    for op in graph.ops:
        if op.kind != "sliced":
            kernels += _op_kernels(op, graph, arch, 1.0, lambda x: x, tile_timing)
            continue
        first = slice_kernels(op, graph, arch, 0, tile_timing)
        kernels += first
        for i in range(1, ceil(op.slices / op.slices_at_once)):
            kernels += [_renamed(k, i) for k in first]
    inputs = {n: t.nbytes for n, t in graph.tensors.items() if t.role != "activation"}
    return GpuProgram(graph.name, tuple(kernels), inputs)


def slice_kernels(op, graph, arch, i: int, tile_timing: str = "event") -> list:
    """The kernels of run ``i`` of sliced composite ``op`` (``slices_at_once`` slices per run),
    lowered from its body; its tensors are named ``tensor@i`` (weights keep their names)."""
    f = min(1.0, -(-op.extent // op.slices) * op.slices_at_once / op.extent)

    def name_of(x):
        return x if graph.tensors[x].role == "weight" else f"{x}@{i}"
    kernels = []
    if op.norm == "two_pass":       # pass 1 of the temporal GroupNorm: read the slice
        for body in op.body:
            if body.norm == "groupnorm_frames":
                src = body.inputs[0]
                nb = _scaled(graph.tensors[src].nbytes, f)
                kernels.append(rowwise(f"{body.name}.stats@{i}", max(1, ceil(body.compute[1] * f)),
                                       ceil(nb / max(1, ceil(body.compute[1] * f))), 0,
                                       {name_of(src): nb}, {}, {"fp32.add": 2 * body.compute[2]},
                                       wave_ctas(arch)))
    for body in op.body:
        kernels += _op_kernels(body, graph, arch, f, name_of, tile_timing)
    return kernels


def _slice_name(name: str, i: int) -> str:
    """``name`` of run 0 (``x@0``, ``x@0.partial``, ``stats@0``) as run ``i`` names it."""
    base, sep, rest = name.partition("@0")
    return f"{base}@{i}{rest}" if sep and (not rest or rest[0] == ".") else name


def _renamed(k, i: int):
    return replace(k, name=_slice_name(k.name, i), reads={_slice_name(t, i): b for t, b in k.reads.items()},
                   writes={_slice_name(t, i): b for t, b in k.writes.items()})


# ---- timing -----------------------------------------------------------------------------------
def clear_kernel_cache() -> None:
    """Forget the lowered GEMM kernels (tile choices) kept per (arch, shape, timing)."""
    _GEMM_CACHE.clear()


def time_program(program: GpuProgram, arch, peak_bytes: int = 0, fidelity: str = "event") -> SimResult:
    """Time ``program`` as ``simulate_gpu`` (``fidelity="event"``) or ``bound_gpu``
    (``"bound"``) does, with the same stream model and result; within the program, a kernel's
    timing and actions are computed once per (:func:`archsim.gpu.timing_key`, DRAM traffic), and
    the event path's kernel simulations are cached per process by :func:`archsim.gpu.kernel_cycles`."""
    if fidelity not in ("event", "bound"):
        raise ValueError(f"fidelity: expected event or bound, got {fidelity!r}")
    gpu = arch.gpu
    contents = [timing_key(k) for k in program.kernels]
    checked = set()
    for k, c in zip(program.kernels, contents):
        if c not in checked:
            check_kernel(k, gpu)
            checked.add(c)
    clock = arch.clock_hz
    host, overhead = gpu.launch_overhead_s * clock, gpu.kernel_overhead_s * clock
    gpu_cycles = 0.0
    busy: dict[str, float] = {}
    actions: dict[str, float] = {}
    dram = 0.0
    events = simulated = extrapolated = 0
    memo: dict = {}
    traffic = dram_traffic(program, arch)[-1]                 # the last pass
    for k, c, (d_read, d_write) in zip(program.kernels, contents, traffic):
        if (c, d_read, d_write) not in memo:
            if fidelity == "bound":
                timing = (kernel_bound_cycles(k, arch, d_read, d_write), {}, 0, 0, 0)
            else:
                fr = min(1.0, d_read / k.load_bytes) if k.load_bytes else 0.0
                fw = min(1.0, d_write / k.store_bytes_total) if k.store_bytes_total else 0.0
                timing = kernel_cycles(k, arch, fr, fw)
            memo[c, d_read, d_write] = (timing, kernel_actions(k, arch, d_read, d_write))
        (cycles, k_busy, k_events, k_sim, k_extra), k_actions = memo[c, d_read, d_write]
        gpu_cycles += overhead + cycles
        for x, b in k_busy.items():
            busy[x] = busy.get(x, 0.0) + b
        for a, n in k_actions.items():
            actions[a] = actions.get(a, 0.0) + n
        dram += d_read + d_write
        events += k_events
        simulated += k_sim
        extrapolated += k_extra
    cycles = max(len(program.kernels) * host, gpu_cycles)
    servers = {u: gpu.sms for u in ("mma", "fp32", "sfu") if u in arch.units}
    servers.update(l2=1, dram=1, smem=gpu.sms)
    l2_bytes = sum(k.load_bytes + k.store_bytes_total for k in program.kernels)
    if fidelity == "bound":
        busy, servers = {}, {u: gpu.sms for u in ("mma", "fp32", "sfu") if u in arch.units}
    return SimResult(
        program=program.name, arch=arch.name, family=arch.family, cycles=cycles,
        seconds=cycles / clock, busy_cycles=busy, servers=servers, actions=dict(sorted(actions.items())),
        traffic_bytes={"dram": dram, "l2": l2_bytes} if fidelity == "event" else {"dram": dram},
        peak_bytes={"dram": peak_bytes}, events=events, ops=len(program.kernels),
        fidelity="bound" if fidelity == "bound" else ("event+waves" if extrapolated else "event"),
        counters={"kernels": len(program.kernels), "ctas_simulated": simulated,
                  "static_power_w": arch.static_power_w or 0.0} if fidelity == "event"
        else {"kernels": len(program.kernels)})
