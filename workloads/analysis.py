"""Static analyses of a cascade: dense operator counts, tensor footprints, pass counts.

Assumes dense iteration spaces (sparsity is not discounted: counts and footprints are the dense
upper bounds) and one word size for every tensor. The pass count is FuseMax section III's
barrier rule, generalised to a rank partitioned into parts (m = m1 x m0): it is mapping-
independent and looks only at which tensors carry the rank family and which were produced by a
reduction over it. Leaves out: reuse, tiling and any architecture effect.
"""
from __future__ import annotations

import math

from workloads.cascade import Cascade
from workloads.ir import accesses, index_ranks


def op_counts(cascade: Cascade) -> dict[str, dict[str, int]]:
    """Einsum name -> {operator: count} (mul, add, sub, div, max, exp, sqrt), dense, from the
    cascade's rank sizes. A reduction counts iteration points minus output points."""
    sizes = cascade.rank_sizes
    return {e.name: e.op_counts(sizes) for e in cascade.einsums}


def footprints(cascade: Cascade, word_bytes: int = 2) -> dict[str, int]:
    """Tensor name -> bytes if fully materialised (dense extent x word_bytes), every tensor."""
    sizes = cascade.rank_sizes
    return {t.name: math.prod(t.shape(sizes)) * word_bytes for t in cascade.tensor_list}


def einsum_passes(cascade: Cascade, rank: str) -> dict[str, int]:
    """Einsum name -> the pass (1-based) over the family of `rank` in which it runs, for the
    Einsums iterating a rank of the family.

    Rule: tensors carrying a family rank *stream* in the pass of their producer (inputs: 0);
    tensors without family ranks are *available after* the pass of the reduction that made them
    (transitively; 0 if independent of the family). An Einsum iterating the family runs in
    max(1, streams of its family-carrying inputs, 1 + available-after of its other inputs);
    reading a family-carrying tensor at a constant index (RNV[f,M1,p]) counts as reading a
    reduced tensor; a recurrence's read of its own output is ignored."""
    family = set(cascade.family(rank))
    tensors = cascade.tensors
    stream: dict[str, int] = {t: 0 for t in cascade.inputs}
    avail: dict[str, int] = {t: 0 for t in cascade.inputs}
    passes: dict[str, int] = {}
    for e in cascade.einsums:
        iterates = bool(family & set(e.iteration_ranks))
        level = 1 if iterates else 0
        for a in accesses(e.expr):
            if a.tensor == e.output:
                continue
            carried = [pos for pos, r in enumerate(tensors[a.tensor].ranks) if r in family]
            if not carried:
                need = avail.get(a.tensor, 0) + (1 if iterates else 0)
            elif all(index_ranks(a.index[pos]) for pos in carried):
                need = stream.get(a.tensor, 0)
            else:  # constant index into a family rank: the whole fiber was reduced before
                need = stream.get(a.tensor, 0) + (1 if iterates else 0)
            level = max(level, need)
        if iterates:
            passes[e.name] = level
        out_carries = any(r in family for r in tensors[e.output].ranks)
        if out_carries:
            stream[e.output] = max(stream.get(e.output, 0), level)
        else:
            avail[e.output] = max(avail.get(e.output, 0), level)
    return passes


def count_passes(cascade: Cascade, rank: str) -> int:
    """Number of passes over the fibers of `rank` (and its partition parts) that the cascade
    forces: the largest pass of an Einsum iterating the family; 0 if none iterates it."""
    return max(einsum_passes(cascade, rank).values(), default=0)
