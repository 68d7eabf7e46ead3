"""Reference evaluator: interprets any cascade with numpy (and scipy.sparse for sparse products).

Assumes float64 values, zero-initialised intermediates (a write covers only the points its
Einsum iterates; e.g. a padding Einsum leaves zeros around), and shapes from Tensor.shape. Each
Einsum is vectorised over its whole iteration space by broadcasting (memory ~ the product of its
rank sizes: this is an oracle for small shapes, not a fast path). Einsums iterating an iterative
rank run inside a loop over that rank, in cascade order, one step at a time. A two-operand product
with one contracted rank and a sparse operand goes through scipy.sparse matmul; any other read of
a sparse tensor densifies it. Leaves out: nested iterative ranks, sparse outputs of other Einsums.
"""
from __future__ import annotations

from typing import Mapping

import networkx as nx
import numpy as np
import scipy.sparse as sp

from workloads.cascade import Cascade
from workloads.ir import (Access, BinOp, Call, CascadeError, Const, Einsum, IRank, accesses,
                          eval_index)


def random_inputs(cascade: Cascade, seed: int, density: float = 0.1) -> dict[str, object]:
    """Seeded inputs: standard-normal dense arrays; sparse inputs as scipy CSR matrices with
    the given density (normal values). Same seed, same arrays."""
    rng = np.random.default_rng(seed)
    sizes, tensors, out = cascade.rank_sizes, cascade.tensors, {}
    for name in cascade.inputs:
        t = tensors[name]
        shape = t.shape(sizes)
        if t.sparse:
            out[name] = sp.random(shape[0], shape[1], density=density, format="csr",
                                  random_state=rng, data_rvs=rng.standard_normal)
        else:
            out[name] = rng.standard_normal(shape)
    return out


def _schedule(cascade: Cascade) -> list[tuple[str | None, list[Einsum]]]:
    """[(iterative rank or None, einsums)] in execution order; loop groups are contracted."""
    group: dict[str, str] = {}
    for e in cascade.einsums:
        loops = [r for r in cascade.iterative_ranks if r in e.iteration_ranks]
        if len(loops) > 1:
            raise CascadeError(f"einsum {e.name}: nested iterative ranks are not supported")
        group[e.name] = "loop:" + loops[0] if loops else e.name
    order = {}
    for i, e in enumerate(cascade.einsums):
        order.setdefault(group[e.name], i)
    g = nx.DiGraph()
    g.add_nodes_from(order)
    g.add_edges_from((group[u], group[v]) for u, v in cascade.graph.edges
                     if group[u] != group[v])
    try:
        nodes = list(nx.lexicographical_topological_sort(g, key=lambda n: order[n]))
    except nx.NetworkXUnfeasible:
        raise CascadeError(f"cascade {cascade.name}: an Einsum outside a loop is needed inside "
                           "it and depends on it") from None
    return [(n[5:] if n.startswith("loop:") else None,
             [e for e in cascade.einsums if group[e.name] == n]) for n in nodes]


class _Env:
    def __init__(self, cascade: Cascade, inputs: Mapping[str, object]):
        self.c = cascade
        self.sizes = cascade.rank_sizes
        self.symbols = cascade.shape
        self.values: dict[str, object] = {}
        self._dense: dict[str, np.ndarray] = {}
        tensors = cascade.tensors
        for name in cascade.inputs:
            if name not in inputs:
                raise ValueError(f"missing input tensor {name}")
            v = inputs[name]
            v = v.tocsr() if sp.issparse(v) else np.asarray(v, dtype=float)
            want = tensors[name].shape(self.sizes)
            if tuple(v.shape) != want:
                raise ValueError(f"input {name}: shape {tuple(v.shape)}, expected {want}")
            self.values[name] = v

    def dense(self, name: str) -> np.ndarray:
        v = self.values[name]
        if sp.issparse(v):
            if name not in self._dense:
                self._dense[name] = v.toarray()
            return self._dense[name]
        return v

    def out_array(self, name: str) -> np.ndarray:
        if name not in self.values:
            self.values[name] = np.zeros(self.c.tensors[name].shape(self.sizes))
        return self.values[name]

    def run(self, e: Einsum, fixed: Mapping[str, int]) -> None:
        if not fixed and self._try_sparse(e):
            return
        ranks = e.iteration_ranks
        n = len(ranks)
        vals: dict[str, np.ndarray] = {}
        for k, r in enumerate(ranks):
            a = np.array([fixed[r]]) if r in fixed else np.arange(self.sizes[r])
            vals[r] = a.reshape((1,) * k + (-1,) + (1,) * (n - k - 1))
        full = tuple(vals[r].size for r in ranks)
        value = np.broadcast_to(self._expr(e.expr, vals), full)
        n_out = len(e.output_ranks)
        if e.reduce_op == "sum":
            value = value.sum(axis=tuple(range(n_out, n)))
        elif e.reduce_op == "max":
            value = value.max(axis=tuple(range(n_out, n)))
        out_vals = {r: vals[r].reshape(vals[r].shape[:n_out]) for r in e.output_ranks}
        idx = tuple(eval_index(ix, out_vals, self.symbols) for ix in e.out_index)
        self.out_array(e.output)[idx] = value

    def _expr(self, x, vals):
        if isinstance(x, Access):
            arr = self.dense(x.tensor)
            return arr[tuple(eval_index(ix, vals, self.symbols) for ix in x.index)]
        if isinstance(x, Const):
            return np.float64(x.value)
        if isinstance(x, Call):
            return (np.exp if x.fn == "exp" else np.sqrt)(self._expr(x.arg, vals))
        a, b = self._expr(x.left, vals), self._expr(x.right, vals)
        return {"mul": np.multiply, "add": np.add, "sub": np.subtract, "div": np.divide,
                "max": np.maximum}[x.op](a, b)

    def _try_sparse(self, e: Einsum) -> bool:
        """Sparse x sparse/dense product with one contracted rank via scipy; True if done."""
        x = e.expr
        if not (isinstance(x, BinOp) and x.op == "mul" and isinstance(x.left, Access)
                and isinstance(x.right, Access) and e.reduce_op == "sum"
                and len(e.reduced_ranks) == 1 and len(e.out_index) == 2
                and all(isinstance(i, IRank) for i in e.out_index)):
            return False
        ops = [x.left, x.right]
        if not any(sp.issparse(self.values[a.tensor]) for a in ops) or \
                not all(len(a.index) == 2 and all(isinstance(i, IRank) for i in a.index)
                        for a in ops):
            return False
        k = e.reduced_ranks[0]
        (ra, rb) = (i.name for i in e.out_index)
        mats = {}
        for a in ops:
            names = tuple(i.name for i in a.index)
            v = self.values[a.tensor]
            if k not in names or len(set(names)) != 2:
                return False
            other = names[0] if names[1] == k else names[1]
            mats[other] = (v, names)
        if set(mats) != {ra, rb}:
            return False
        left, lnames = mats[ra]
        right, rnames = mats[rb]
        left = left if lnames == (ra, k) else left.T
        right = right if rnames == (k, rb) else right.T
        res = left @ right
        if self.c.tensors[e.output].sparse:
            self.values[e.output] = sp.csr_matrix(res)
        else:
            self.out_array(e.output)[...] = res.toarray() if sp.issparse(res) else res
        return True


def evaluate(cascade: Cascade, inputs: Mapping[str, object]) -> dict[str, object]:
    """Evaluate every Einsum; returns every tensor (inputs, intermediates, outputs) by name.
    Dense tensors are numpy float64 arrays; sparse intermediates scipy CSR matrices."""
    env = _Env(cascade, inputs)
    for rank, einsums in _schedule(cascade):
        if rank is None:
            for e in einsums:
                env.run(e, {})
            continue
        stop = int(eval_index(cascade.stops[rank], {}, cascade.shape))
        for i in range(stop):
            for e in einsums:
                env.run(e, {rank: i})
    return dict(env.values)
