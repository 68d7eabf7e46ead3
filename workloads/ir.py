"""Extended-Einsum intermediate representation (FuseMax's Einsums: map, reduce, iterate).

Assumes: tensors are dense or sparse arrays over named ranks; every index is an affine-ish
expression over lower-case ranks, upper-case size symbols and integer constants; a rank absent
from an Einsum's output is reduced with one operator (`sum` or `max`); an *iterative rank* is one
that an Einsum both reads at `r` and writes at `r + c` (c > 0) of the same tensor (a recurrence),
with a stop bound (iterate while `r < stop`). Every object is a frozen dataclass, compared by value.
Leaves out: strides/dilation other than what the index expressions spell out, populate (output
ranks not read by the expression are simply broadcast), nested iterative ranks, and data types
(sizes are counted in words; `analysis.footprints` converts to bytes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

OPS_ORDER = ("mul", "add", "sub", "div", "max", "exp", "sqrt")
BIN_OPS = ("mul", "add", "sub", "div", "max")
CALLS = ("exp", "sqrt")


class CascadeError(ValueError):
    """A cascade is ill-formed (unknown tensor, arity mismatch, cycle, bad reduction, ...)."""


# ----------------------------------------------------------------------------- index expressions
@dataclass(frozen=True)
class IRank:
    """A lower-case rank variable, e.g. `m1`."""
    name: str


@dataclass(frozen=True)
class ISym:
    """An upper-case size symbol used as a constant, e.g. `M1` in `RNV[f,M1,p]`."""
    name: str


@dataclass(frozen=True)
class IConst:
    """An integer constant index."""
    value: int


@dataclass(frozen=True)
class IBin:
    """`left op right` with op in '+', '-', '*'."""
    op: str
    left: "Index"
    right: "Index"


@dataclass(frozen=True)
class IPin:
    """Output-only: `rank=value`, the initial position of an iterative rank (e.g. `m1=0`)."""
    rank: str
    value: "Index"


Index = Union[IRank, ISym, IConst, IBin, IPin]


def index_ranks(ix: Index) -> tuple[str, ...]:
    """Ranks iterated by an index expression, in first-appearance order (a pin iterates none)."""
    if isinstance(ix, IRank):
        return (ix.name,)
    if isinstance(ix, IBin):
        out = list(index_ranks(ix.left))
        out += [r for r in index_ranks(ix.right) if r not in out]
        return tuple(out)
    return ()


def index_symbols(ix: Index) -> tuple[str, ...]:
    """Size symbols an index expression uses, in first-appearance order."""
    if isinstance(ix, ISym):
        return (ix.name,)
    if isinstance(ix, IBin):
        out = list(index_symbols(ix.left))
        out += [s for s in index_symbols(ix.right) if s not in out]
        return tuple(out)
    if isinstance(ix, IPin):
        return index_symbols(ix.value)
    return ()


def rank_offset(ix: Index) -> tuple[str, int] | None:
    """(rank, c) when `ix` is `rank`, `rank+c` or `rank-c` with integer c; else None."""
    if isinstance(ix, IRank):
        return ix.name, 0
    if isinstance(ix, IBin) and ix.op in "+-" and isinstance(ix.left, IRank) \
            and isinstance(ix.right, IConst):
        return ix.left.name, ix.right.value if ix.op == "+" else -ix.right.value
    return None


def eval_index(ix: Index, ranks: Mapping[str, object], symbols: Mapping[str, int]):
    """Evaluate with rank values (ints or numpy arrays, broadcast) and symbol values (ints)."""
    if isinstance(ix, IRank):
        return ranks[ix.name]
    if isinstance(ix, ISym):
        return symbols[ix.name]
    if isinstance(ix, IConst):
        return ix.value
    if isinstance(ix, IPin):
        return eval_index(ix.value, ranks, symbols)
    a, b = eval_index(ix.left, ranks, symbols), eval_index(ix.right, ranks, symbols)
    return a + b if ix.op == "+" else a - b if ix.op == "-" else a * b


def upper_bound(ix: Index) -> Index:
    """Exclusive extent this access needs: ix with each rank r -> (R - 1), plus 1.

    Exact for expressions monotone non-decreasing in every rank (all the cascades here)."""
    def sub(e: Index) -> Index:
        if isinstance(e, IRank):
            return IBin("-", ISym(e.name.upper()), IConst(1))
        if isinstance(e, IBin):
            return IBin(e.op, sub(e.left), sub(e.right))
        if isinstance(e, IPin):
            return sub(e.value)
        return e
    if isinstance(ix, IRank):
        return ISym(ix.name.upper())
    return IBin("+", sub(ix), IConst(1))


# ----------------------------------------------------------------------------- value expressions
@dataclass(frozen=True)
class Access:
    """Read of `tensor` at one index expression per tensor rank."""
    tensor: str
    index: tuple[Index, ...]


@dataclass(frozen=True)
class Const:
    """A scalar constant (0, 1, -inf, 1e-5, ...)."""
    value: float


@dataclass(frozen=True)
class BinOp:
    """Map operator between two operands; op in mul, add, sub, div, max."""
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Call:
    """Unary map function; fn in exp, sqrt."""
    fn: str
    arg: "Expr"


Expr = Union[Access, Const, BinOp, Call]


def accesses(expr: Expr) -> list[Access]:
    """Every tensor read in an expression, left to right (duplicates kept)."""
    if isinstance(expr, Access):
        return [expr]
    if isinstance(expr, BinOp):
        return accesses(expr.left) + accesses(expr.right)
    if isinstance(expr, Call):
        return accesses(expr.arg)
    return []


def expr_ops(expr: Expr) -> dict[str, int]:
    """Map operators evaluated once per iteration point, e.g. exp(a - b) -> {'sub': 1, 'exp': 1}."""
    counts: dict[str, int] = {}

    def walk(e: Expr) -> None:
        if isinstance(e, BinOp):
            counts[e.op] = counts.get(e.op, 0) + 1
            walk(e.left)
            walk(e.right)
        elif isinstance(e, Call):
            counts[e.fn] = counts.get(e.fn, 0) + 1
            walk(e.arg)
    walk(expr)
    return counts


def _ordered_union(groups) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        out += [r for r in g if r not in out]
    return tuple(out)


def reduced_ranks_of(out_index: tuple[Index, ...], expr: Expr) -> tuple[str, ...]:
    """Ranks read by `expr` that no output index iterates, in first-appearance order."""
    outs = _ordered_union(index_ranks(ix) for ix in out_index)
    allr = _ordered_union(index_ranks(ix) for a in accesses(expr) for ix in a.index)
    return tuple(r for r in allr if r not in outs)


# ----------------------------------------------------------------------------- tensors, einsums
@dataclass(frozen=True)
class Tensor:
    """A named tensor over `ranks`. `extents[i]` lists candidate exclusive extents (index
    expressions over size symbols) for rank i; the shape takes the largest. Empty `extents`
    means each rank has its own size (`rank_sizes[rank]`)."""
    name: str
    ranks: tuple[str, ...]
    sparse: bool = False
    extents: tuple[tuple[Index, ...], ...] = ()

    def shape(self, rank_sizes: Mapping[str, int]) -> tuple[int, ...]:
        """Extent per rank in elements, given lower-case rank sizes."""
        symbols = {r.upper(): n for r, n in rank_sizes.items()}
        if not self.extents:
            return tuple(int(rank_sizes[r]) for r in self.ranks)
        return tuple(max(int(eval_index(e, {}, symbols)) for e in cands)
                     for cands in self.extents)


@dataclass(frozen=True)
class Einsum:
    """`output[out_index] = reduce_op_{reduced_ranks} expr`.

    reduce_op is None exactly when no rank of `expr` is absent from the output."""
    name: str
    output: str
    out_index: tuple[Index, ...]
    expr: Expr
    reduce_op: str | None = None

    def __post_init__(self):
        if self.reduced_ranks and self.reduce_op not in ("sum", "max"):
            raise CascadeError(f"einsum {self.name}: reduces {','.join(self.reduced_ranks)} "
                               f"but reduce_op is {self.reduce_op!r} (need 'sum' or 'max')")
        if not self.reduced_ranks and self.reduce_op is not None:
            raise CascadeError(f"einsum {self.name}: reduce_op {self.reduce_op!r} "
                               "but no rank is reduced")
        for ix in self.out_index:
            if not isinstance(ix, IPin) and rank_offset(ix) is None:
                raise CascadeError(f"einsum {self.name}: output index must be rank, rank+c "
                                   "or rank=c")

    @property
    def out_tensor_ranks(self) -> tuple[str, ...]:
        """Rank names of the output tensor, one per output index."""
        return tuple(ix.rank if isinstance(ix, IPin) else rank_offset(ix)[0]
                     for ix in self.out_index)

    @property
    def output_ranks(self) -> tuple[str, ...]:
        """Ranks iterated by this Einsum that index its output (pins excluded)."""
        return _ordered_union(index_ranks(ix) for ix in self.out_index)

    @property
    def reduced_ranks(self) -> tuple[str, ...]:
        """Ranks of the expression absent from the output, in first-appearance order."""
        return reduced_ranks_of(self.out_index, self.expr)

    @property
    def iteration_ranks(self) -> tuple[str, ...]:
        """Output ranks then reduced ranks."""
        return self.output_ranks + self.reduced_ranks

    @property
    def inputs(self) -> tuple[str, ...]:
        """Tensor names read, in first-read order, without duplicates."""
        return _ordered_union((a.tensor,) for a in accesses(self.expr))

    def op_counts(self, rank_sizes: Mapping[str, int]) -> dict[str, int]:
        """Dense operator counts: map ops x iteration points; a reduction adds
        (iteration points - output points) of 'add' (sum) or 'max'. Zero counts omitted."""
        points = 1
        for r in self.iteration_ranks:
            points *= int(rank_sizes[r])
        out_points = 1
        for r in self.output_ranks:
            out_points *= int(rank_sizes[r])
        counts = {op: n * points for op, n in expr_ops(self.expr).items()}
        if self.reduce_op is not None:
            op = "add" if self.reduce_op == "sum" else "max"
            counts[op] = counts.get(op, 0) + points - out_points
        return {op: counts[op] for op in OPS_ORDER if counts.get(op, 0)}
