"""The Streamlined Inference transformations (Zhan, Wu et al., NeurIPS 2024, arXiv 2411.01171) as
graph-to-graph functions.

- :func:`feature_slicer`: every layer (``Op.layer``) of a spatial or temporal op runs slice by
  slice: spatial layers along batch x frames, temporal layers along the latent width, frames
  whole. The layer's inputs and outputs stay full tensors; its intermediates exist one slice at a
  time (a composite op, ``kind == "sliced"``, whose ``workspace_bytes`` is the peak of the
  slice-sized intermediates). Uneven slices are allowed: the largest is ceil(extent / slices).
- :func:`operator_grouping`: the same, with the unit widened to maximal runs of consecutive ops
  of the same domain (a spatial ResNet block and its spatial transformer; a motion module): full
  tensors exist only at group boundaries. ``slices_at_once`` = k slices of a group run together
  (more parallelism, k times the slice workspace).
- :func:`step_rehash`: the deep region of the UNet (ops at resolution levels >= ``from_level``)
  is skipped at non-key steps and its cached output reused; the cache is persistent memory.

GroupNorm whose statistics span frames (temporal layers) is exact under slicing only with two-pass
statistics (``groupnorm="two_pass"``: one more read of the layer input per slice to accumulate
sum and sum of squares); ``"per_slice"`` normalises each slice with its own statistics (an
approximation, measured in workloads/video_numerics.py). Memory is the same for both; the
two-pass read is charged by the GPU lowering.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .ir import Graph, GraphError, Op, Tensor
from .liveness import _rounded

__all__ = ["feature_slicer", "operator_grouping", "step_rehash", "RehashPlan", "key_steps_every",
           "key_steps_from_similarity", "GROUPNORM_MODES"]

GROUPNORM_MODES = ("two_pass", "per_slice")


def _slice_fraction(extent: int, slices: int) -> float:
    return -(-extent // slices) / extent


def _check(graph: Graph, slices: int, at_once: int, groupnorm: str) -> None:
    if isinstance(slices, bool) or not isinstance(slices, int) or slices < 1:
        raise GraphError(f"slices: expected a positive integer, got {slices!r}")
    if isinstance(at_once, bool) or not isinstance(at_once, int) or at_once < 1:
        raise GraphError(f"slices_at_once: expected a positive integer, got {at_once!r}")
    if groupnorm not in GROUPNORM_MODES:
        raise GraphError(f"groupnorm: expected one of {', '.join(GROUPNORM_MODES)}, got {groupnorm!r}")
    for op in graph.ops:
        if op.domain in ("spatial", "temporal") and op.extent and slices > op.extent:
            axis = "batch x frames" if op.domain == "spatial" else "latent width"
            raise GraphError(f"slices: {slices} exceeds the sliced axis ({axis} = {op.extent}) "
                             f"of {op.layer}")


def _composite(graph: Graph, run: list[Op], read_later: set[str], slices: int, at_once: int,
               groupnorm: str, unit: str) -> Op:
    produced = {t for op in run for t in op.outputs}
    inputs = []
    for op in run:
        for t in op.inputs:
            if t not in produced and t not in inputs:
                inputs.append(t)
    outputs = [t for op in run for t in op.outputs if t in read_later]
    internal = produced - set(outputs)
    f = _slice_fraction(run[0].extent, slices)
    last = {t: i for i, op in enumerate(run) for t in op.inputs if t in internal}
    live: dict[str, int] = {}
    peak = 0
    for i, op in enumerate(run):
        for t in op.outputs:
            if t in internal:
                live[t] = _rounded(graph.tensors[t].nbytes * f)
        peak = max(peak, sum(live.values()) + _rounded(op.workspace_bytes * f))
        for t in op.outputs:
            if t in internal and t not in last:
                del live[t]
        for t in op.inputs:
            if last.get(t) == i:
                del live[t]
    k = min(at_once, slices)
    norm = groupnorm if any(op.norm == "groupnorm_frames" for op in run) else ""
    return Op(f"{unit}[{slices}]", "sliced", tuple(inputs), tuple(outputs), ("sliced",),
              sum(op.flops for op in run), run[0].domain, run[0].extent, run[0].layer, run[0].group,
              run[0].level, norm, k * peak, slices, k, tuple(run))


def _collapse(graph: Graph, key, slices: int, at_once: int, groupnorm: str, label: str) -> Graph:
    _check(graph, slices, at_once, groupnorm)
    if slices == 1 and at_once == 1:
        return graph
    last_read = {t: i for i, op in enumerate(graph.ops) for t in op.inputs}
    last_read.update({t: len(graph.ops) for t in graph.outputs})
    ops: list[Op] = []
    i = 0
    while i < len(graph.ops):
        op = graph.ops[i]
        k = key(op)
        if k is None:
            ops.append(op)
            i += 1
            continue
        j = i
        while j + 1 < len(graph.ops) and key(graph.ops[j + 1]) == k:
            j += 1
        run = list(graph.ops[i:j + 1])
        unit = run[0].layer if label == "slicer" else f"{run[0].layer}..{run[-1].layer}"
        read_later = {t for o in run for t in o.outputs if last_read.get(t, -1) > j}
        ops.append(_composite(graph, run, read_later, slices, at_once, groupnorm, unit))
        i = j + 1
    meta = dict(graph.meta, **{label: slices, "slices_at_once": min(at_once, slices),
                               "groupnorm": groupnorm})
    return replace(graph, ops=tuple(ops), meta=meta)


def _sliceable(op: Op) -> bool:
    return op.domain in ("spatial", "temporal") and op.extent > 0 and op.kind != "sliced"


def feature_slicer(graph: Graph, slices: int, groupnorm: str = "two_pass") -> Graph:
    """Each spatial/temporal layer runs in ``slices`` slices (see the module docstring)."""
    return _collapse(graph, lambda op: (op.layer, op.domain, op.extent) if _sliceable(op) else None,
                     slices, 1, groupnorm, "slicer")


def operator_grouping(graph: Graph, slices: int, slices_at_once: int = 1,
                      groupnorm: str = "two_pass") -> Graph:
    """Maximal runs of consecutive same-domain ops run slice by slice, ``slices_at_once`` at a
    time; subsumes the Feature Slicer (apply it to the unsliced graph)."""
    return _collapse(graph, lambda op: (op.domain, op.extent) if _sliceable(op) else None,
                     slices, slices_at_once, groupnorm, "grouping")


@dataclass(frozen=True)
class RehashPlan:
    """``key`` runs every op and stores the deep region's output in the cache; ``reuse`` skips the
    deep region and reads the cache. ``cache_bytes`` are persistent in both."""

    key: Graph
    reuse: Graph
    cache_bytes: int
    skipped_ops: int


def step_rehash(graph: Graph, from_level: int = 3) -> RehashPlan:
    """Split ``graph`` (one UNet step) into the key-step and reuse-step graphs of Step Rehash:
    the region from the first to the last op at level >= ``from_level`` is skipped at reuse
    steps; its outputs (read after the region) become a persistent cache."""
    levels = [op.level for op in graph.ops]
    if not isinstance(from_level, int) or from_level < 1 or from_level > max(levels, default=-1):
        raise GraphError(f"rehash_from_level: expected 1..{max(levels, default=0)}, got {from_level!r}")
    idx = [i for i, lv in enumerate(levels) if lv >= from_level]
    lo, hi = idx[0], idx[-1]
    region = graph.ops[lo:hi + 1]
    for op in region:
        if op.domain != "global" and op.level < from_level:
            raise GraphError(f"rehash_from_level: the deep region is not contiguous ({op.name})")
    produced = {t for op in region for t in op.outputs}
    later = set(graph.outputs) | {t for op in graph.ops[hi + 1:] for t in op.inputs}
    cache = sorted(produced & later)
    cache_bytes = sum(_rounded(graph.tensors[t].nbytes) for t in cache)
    tensors = dict(graph.tensors)
    for t in cache:
        tensors[t] = Tensor(t, graph.tensors[t].shape, graph.tensors[t].dtype_bytes, "constant")
    reuse = replace(graph, tensors=tensors, ops=graph.ops[:lo] + graph.ops[hi + 1:],
                    meta=dict(graph.meta, rehash="reuse", rehash_from_level=from_level))
    key = replace(graph, meta=dict(graph.meta, rehash="key", rehash_from_level=from_level))
    return RehashPlan(key, reuse, cache_bytes, len(region))


def key_steps_every(steps: int, every: int = 2) -> tuple[int, ...]:
    """Key steps 0, every, 2 x every, ... (every other step: 13 of 25, the paper's ablation)."""
    if steps < 1 or every < 1:
        raise GraphError(f"steps/every: expected positive integers, got {steps}, {every}")
    return tuple(range(0, steps, every))


def key_steps_from_similarity(similarity: list[float], threshold: float,
                              max_reuse: int | None = None) -> tuple[int, ...]:
    """Key steps from a per-step similarity series (``similarity[i]``: similarity of the deep
    feature at step i to the one at step i - 1; the paper's metric is not published): step 0 is
    a key; step i is a key when its similarity is below ``threshold`` or after ``max_reuse``
    consecutive reuse steps."""
    keys, run = [0], 0
    for i in range(1, len(similarity)):
        run += 1
        if similarity[i] < threshold or (max_reuse is not None and run > max_reuse):
            keys.append(i)
            run = 0
    return tuple(keys)
