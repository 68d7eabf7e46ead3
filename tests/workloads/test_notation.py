"""Notation: canonical printing, round trips (registered and random cascades), parse errors."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workloads
from workloads.cascade import make_cascade
from workloads.ir import (Access, BinOp, Call, Const, Einsum, IBin, IConst, IPin, IRank, ISym,
                          Tensor, reduced_ranks_of)
from workloads.notation import NotationError, format_cascade, parse_cascade, parse_einsum


@pytest.mark.parametrize("name", workloads.cascade_names())
def test_registered_round_trip(name):
    c = workloads.build(name)
    text = format_cascade(c)
    assert parse_cascade(text) == c
    assert format_cascade(parse_cascade(text)) == text


def test_paper_forms_parse():
    e = parse_einsum("QK[m,p] = Q[e,p] x K[e,m]")
    assert e.reduce_op == "sum" and e.reduced_ranks == ("e",) and e.inputs == ("Q", "K")
    assert e.iteration_ranks == ("m", "p", "e")
    lm = parse_einsum("LM[m1,p] = max_m0 BQK[m1,m0,p]")
    assert lm.reduce_op == "max" and lm.reduced_ranks == ("m0",)
    init = parse_einsum("RM[m1=0,p] = -inf")
    assert init.name == "RM@init" and init.output_ranks == ("p",)
    assert init.out_index[0] == IPin("m1", IConst(0)) and init.expr == Const(-math.inf)
    bk = parse_einsum("BK[e,m1,m0] = K[e, m1*M0+m0]")
    assert bk.expr.index[1] == IBin("+", IBin("*", IRank("m1"), ISym("M0")), IRank("m0"))
    sn = parse_einsum("SLN[m1,m0,p] = exp(BQK[m1,m0,p] - RM[m1+1,p])")
    assert sn.expr == Call("exp", BinOp("sub", Access("BQK", (IRank("m1"), IRank("m0"),
                                                                IRank("p"))),
                                         Access("RM", (IBin("+", IRank("m1"), IConst(1)),
                                                       IRank("p")))))
    multi = parse_einsum("O[h] = sum_{c,r} I[c,h+r] x W[c,r]")
    assert multi.reduced_ranks == ("c", "r")


def test_precedence_and_parentheses():
    c = parse_cascade("cascade t\ninput A[i]\ninput B[i]\n"
                      "X[i] = A[i] - (B[i] - A[i]) / (A[i] x B[i])\n")
    assert "A[i] - (B[i] - A[i]) / (A[i] x B[i])" in format_cascade(c)
    assert parse_cascade(format_cascade(c)) == c


@pytest.mark.parametrize("text, line, fragment", [
    ("input Q[e,p]\n", 1, "cascade NAME"),
    ("cascade a\ninput Q[e,p]\nX[p] = Q[e,p] +\n", 3, "end of line"),
    ("cascade a\ninput Q[e,p]\n\nX[p] = R[p]\n", 4, "before it is produced"),
    ("cascade a\ninput Q[e,p]\nX[p] = max_m Q[e,p]\n", 3, "reduced ranks are e"),
    ("cascade a\nshape: E=0\n", 2, "positive integer"),
    ("cascade a\ninput Q[e,p]\nX[p] = Q[e]\n", 3, "accessed with 1"),
    ("cascade a\ninput Q[e,p]\nX[p] = Q[e,p] $ 2\n", 3, "unexpected character"),
    ("cascade a\ninput Q[e,p]\nX[p] = Q[e,p]\nX[p] = Q[e,p]\n", 1, "not unique"),
    ("cascade a\ninput Q[e]\nstop e >= E\n", 1, "not an iterative rank"),
])
def test_parse_errors(text, line, fragment):
    with pytest.raises(NotationError) as info:
        parse_cascade(text)
    assert info.value.lineno == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"line {line}: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------- random well-formed cascades
RANKS = ("a", "b", "c")
CONSTS = st.one_of(st.sampled_from([0.0, 1.0, -math.inf, math.inf, 0.5, -2.0, 1e-05]),
                   st.floats(allow_nan=False, allow_infinity=False, width=64))


@st.composite
def index_exprs(draw):
    r, r2 = draw(st.sampled_from(RANKS)), draw(st.sampled_from(RANKS))
    return draw(st.sampled_from([
        IRank(r), IBin("+", IRank(r), IConst(1)), IConst(0), ISym(r.upper()),
        IBin("+", IBin("*", IRank(r), ISym(r2.upper())), IRank(r2)),
        IBin("-", IRank(r), IBin("-", IRank(r2), IConst(2)))]))


def exprs(tensors):
    def access(draw_args):
        name, arity = draw_args
        return st.tuples(*[index_exprs() for _ in range(arity)]).map(
            lambda ix: Access(name, ix))
    leaves = st.one_of(CONSTS.map(Const),
                       st.sampled_from(sorted(tensors.items())).flatmap(access))
    return st.recursive(leaves, lambda kids: st.one_of(
        st.builds(BinOp, st.sampled_from(["mul", "add", "sub", "div", "max"]), kids, kids),
        st.builds(Call, st.sampled_from(["exp", "sqrt"]), kids)), max_leaves=6)


@st.composite
def cascades(draw):
    tensors, inputs, einsums = {}, [], []
    for i in range(draw(st.integers(1, 3))):
        ranks = tuple(draw(st.permutations(RANKS))[:draw(st.integers(0, 3))])
        sparse = len(ranks) == 2 and draw(st.booleans())
        inputs.append(Tensor(f"I{i}", ranks, sparse))
        tensors[f"I{i}"] = len(ranks)
    for i in range(draw(st.integers(1, 4))):
        out = tuple(draw(st.permutations(RANKS))[:draw(st.integers(0, 3))])
        idx = []
        for j, r in enumerate(out):
            kind = draw(st.integers(0, 5))
            idx.append(IPin(r, IConst(0)) if kind == 0 and j == 0 else
                       IBin("+", IRank(r), IConst(1)) if kind == 1 else IRank(r))
        expr = draw(exprs(tensors))
        red = reduced_ranks_of(tuple(idx), expr)
        op = draw(st.sampled_from(["sum", "max"])) if red else None
        name = draw(st.sampled_from([None, f"E{i}"]))
        out_name = f"T{i}"
        default = out_name + ("@init" if any(isinstance(x, IPin) for x in idx) else "")
        einsums.append(Einsum(name or default, out_name, tuple(idx), expr, op))
        tensors[out_name] = len(out)
    shape = {r.upper(): draw(st.integers(1, 5)) for r in RANKS}
    return make_cascade(draw(st.sampled_from(["rand", "x_1"])), einsums, inputs, shape)


@settings(max_examples=150, deadline=None)
@given(cascades())
def test_random_round_trip(c):
    text = format_cascade(c)
    back = parse_cascade(text)
    assert back == c
    assert format_cascade(back) == text
