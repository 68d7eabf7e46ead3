"""Cascade: an ordered DAG of Einsums plus the tensors, sizes, partitions and stop bounds.

Assumes: Einsums are listed in a valid execution order (intra-iteration dependencies respected);
a read of an iterative tensor at `r + d` below the write offset `r + c` of its recurrence is a
loop-carried dependency and gets no graph edge. Tensor extents are inferred from every access
(reads and writes) so that e.g. RM has extent M1+1 on m1, and a convolution input read at `h+r`
has extent H+R-1. Leaves out: symbolic simplification of extents (they are evaluated numerically),
nested iterative ranks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import networkx as nx

from workloads.ir import (Access, CascadeError, Einsum, Index, IPin, ISym, IRank, Tensor,
                          accesses, index_ranks, index_symbols, rank_offset, upper_bound)


@dataclass(frozen=True)
class Cascade:
    """A validated cascade; build it with `make_cascade` (or `parse_cascade`)."""
    name: str
    einsums: tuple[Einsum, ...]
    tensor_list: tuple[Tensor, ...]
    input_names: tuple[str, ...]
    shape_items: tuple[tuple[str, int], ...] = ()
    partition_items: tuple[tuple[str, tuple[str, ...]], ...] = ()
    stop_items: tuple[tuple[str, Index], ...] = ()

    @property
    def tensors(self) -> dict[str, Tensor]:
        """Tensor name -> Tensor (inputs first, then intermediates in production order)."""
        return {t.name: t for t in self.tensor_list}

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.input_names

    @property
    def outputs(self) -> tuple[str, ...]:
        """Produced tensors no other Einsum reads, in production order."""
        read = {t for e in self.einsums for t in e.inputs if t != e.output}
        out: list[str] = []
        for e in self.einsums:
            if e.output not in read and e.output not in out:
                out.append(e.output)
        return tuple(out)

    @property
    def shape(self) -> dict[str, int]:
        """Upper-case shape parameters the cascade was built with."""
        return dict(self.shape_items)

    @property
    def rank_sizes(self) -> dict[str, int]:
        """Lower-case rank -> extent (the lower-cased shape parameters)."""
        return {k.lower(): v for k, v in self.shape_items}

    @property
    def partitions(self) -> dict[str, tuple[str, ...]]:
        """Whole rank -> its parts, e.g. {'m': ('m1', 'm0')} for M = M1 x M0."""
        return dict(self.partition_items)

    @property
    def stops(self) -> dict[str, Index]:
        """Iterative rank -> stop bound (iterate while rank < bound)."""
        return dict(self.stop_items)

    @property
    def iterative_ranks(self) -> tuple[str, ...]:
        return tuple(r for r, _ in self.stop_items)

    def family(self, rank: str) -> tuple[str, ...]:
        """The rank and the parts it is partitioned into (e.g. m -> (m, m1, m0))."""
        return (rank,) + self.partitions.get(rank, ())

    def einsum(self, name: str) -> Einsum:
        for e in self.einsums:
            if e.name == name:
                return e
        raise KeyError(name)

    def producers(self, tensor: str) -> tuple[str, ...]:
        """Names of Einsums writing `tensor`, in order."""
        return tuple(e.name for e in self.einsums if e.output == tensor)

    def consumers(self, tensor: str) -> tuple[str, ...]:
        """Names of Einsums reading `tensor` (a recurrence reading itself included), in order."""
        return tuple(e.name for e in self.einsums if tensor in e.inputs)

    @property
    def graph(self) -> nx.DiGraph:
        """Einsum-name DAG; edge P -> C when C reads what P writes (loop-carried reads omitted).
        Edge attribute `tensor` names the tensor. A fresh graph on every call."""
        return _build_graph(self.einsums, self.iterative_ranks)


def _loop_carried(p: Einsum, c: Einsum, a: Access, iterative: Sequence[str]) -> bool:
    for wi, ri in zip(p.out_index, a.index):
        w, r = rank_offset(wi), rank_offset(ri)
        if w and r and w[0] == r[0] and w[0] in iterative and r[1] < w[1] \
                and w[0] in c.iteration_ranks:
            return True
    return False


def _build_graph(einsums: Sequence[Einsum], iterative: Sequence[str]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(e.name for e in einsums)
    for c in einsums:
        for a in accesses(c.expr):
            for p in einsums:
                if p.output == a.tensor and p.name != c.name \
                        and not _loop_carried(p, c, a, iterative):
                    g.add_edge(p.name, c.name, tensor=a.tensor)
    return g


def make_cascade(name: str, einsums: Sequence[Einsum], inputs: Sequence[Tensor],
                 shape: Mapping[str, int] | None = None,
                 partitions: Mapping[str, Sequence[str]] | None = None,
                 stops: Mapping[str, Index] | None = None,
                 sparse: Iterable[str] = ()) -> Cascade:
    """Validate and assemble a cascade. `inputs` give names, ranks and sparsity (extents are
    inferred); `sparse` names intermediates stored sparse; `stops` overrides the default stop
    bound (the rank's size symbol) of iterative ranks. Raises CascadeError."""
    shape = dict(shape or {})
    partitions = {k: tuple(v) for k, v in (partitions or {}).items()}
    sparse = tuple(sparse)
    for k, v in shape.items():
        if not k[:1].isupper() or not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise CascadeError(f"shape parameter {k}={v!r}: need an upper-case name and a "
                               "positive integer")
    names = [e.name for e in einsums]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CascadeError(f"einsum names not unique: {', '.join(dup)}")
    ranks_of: dict[str, tuple[str, ...]] = {}
    sparse_of: dict[str, bool] = {}
    for t in inputs:
        if t.name in ranks_of:
            raise CascadeError(f"input {t.name} declared twice")
        ranks_of[t.name], sparse_of[t.name] = t.ranks, t.sparse
    written: set[str] = set()
    for e in einsums:
        if e.output in ranks_of and e.output not in written:
            raise CascadeError(f"einsum {e.name}: writes input tensor {e.output}")
        for a in accesses(e.expr):
            if a.tensor not in ranks_of:
                raise CascadeError(f"einsum {e.name}: reads {a.tensor} before it is produced")
            if len(a.index) != len(ranks_of[a.tensor]):
                raise CascadeError(f"einsum {e.name}: {a.tensor} has {len(ranks_of[a.tensor])} "
                                   f"ranks, accessed with {len(a.index)} indices")
        if e.output in ranks_of and ranks_of[e.output] != e.out_tensor_ranks:
            raise CascadeError(f"einsum {e.name}: {e.output} written with ranks "
                               f"{e.out_tensor_ranks}, elsewhere {ranks_of[e.output]}")
        ranks_of[e.output] = e.out_tensor_ranks
        sparse_of[e.output] = e.output in sparse
        written.add(e.output)
    for s in sparse:
        if s not in written:
            raise CascadeError(f"sparse declaration of {s}: not an intermediate")
    # iterative ranks: a recurrence writes T[r+c] (c > 0) and reads T
    iterative: list[str] = []
    for e in einsums:
        if e.output in e.inputs:
            for ix in e.out_index:
                ro = rank_offset(ix)
                if ro and ro[1] > 0 and ro[0] not in iterative:
                    iterative.append(ro[0])
    stops = dict(stops or {})
    for r in stops:
        if r not in iterative:
            raise CascadeError(f"stop condition on {r}: not an iterative rank")
    stop_items = tuple((r, stops.get(r, ISym(r.upper()))) for r in iterative)
    # sizes: every rank and symbol used must have a shape parameter (when a shape is given)
    if shape:
        used: list[str] = []
        for e in einsums:
            for ix in list(e.out_index) + [i for a in accesses(e.expr) for i in a.index]:
                used += [r.upper() for r in index_ranks(ix)] + list(index_symbols(ix))
                if isinstance(ix, IPin):
                    used.append(ix.rank.upper())
        used += [r.upper() for t in inputs for r in t.ranks]
        used += [sym for _, s in stop_items for sym in index_symbols(s)]
        for u in used:
            if u not in shape:
                raise CascadeError(f"size of {u.lower()} unknown: add {u}=... to the shape")
    for whole, parts in partitions.items():
        if shape and all(p.upper() in shape for p in (whole,) + parts):
            prod = 1
            for p in parts:
                prod *= shape[p.upper()]
            if prod != shape[whole.upper()]:
                raise CascadeError(f"partition {whole} = {' x '.join(parts)}: "
                                   f"{whole.upper()}={shape[whole.upper()]} != {prod}")
    # extents: candidates from the tensor's own rank names and every access
    cands: dict[str, list[list[Index]]] = {t: [[ISym(r.upper())] for r in rs]
                                           for t, rs in ranks_of.items()}
    for e in einsums:
        for t, idx in [(e.output, e.out_index)] + [(a.tensor, a.index) for a in accesses(e.expr)]:
            for pos, ix in enumerate(idx):
                if isinstance(ix, IRank) and ix.name == ranks_of[t][pos]:
                    continue
                ub = upper_bound(ix)
                if ub not in cands[t][pos]:
                    cands[t][pos].append(ub)
    tensors = []
    for t, rs in ranks_of.items():
        ext = tuple(tuple(c) for c in cands[t])
        trivial = all(len(c) == 1 for c in ext)
        tensors.append(Tensor(t, rs, sparse_of[t], () if trivial else ext))
    if any(sparse_of[t.name] and len(t.ranks) != 2 for t in tensors):
        raise CascadeError("sparse tensors must have exactly two ranks")
    g = _build_graph(einsums, iterative)
    if not nx.is_directed_acyclic_graph(g):
        cyc = nx.find_cycle(g)
        raise CascadeError(f"cascade {name} has a cycle: {' -> '.join(u for u, _ in cyc)}")
    pos = {n: i for i, n in enumerate(names)}
    for u, v in g.edges:
        if pos[u] > pos[v]:
            raise CascadeError(f"einsum {v} is listed before its producer {u}")
    return Cascade(name, tuple(einsums), tuple(tensors), tuple(t.name for t in inputs),
                   tuple(shape.items()), tuple(partitions.items()), stop_items)
