"""Text notation for cascades: parser and canonical printer (grammar in docs/notation.md).

Assumes one statement per line, `#` starts a comment, tensor names start with an upper-case
letter, ranks are lower case and size symbols upper case; `x` (or `*`) multiplies values.
Leaves out: multi-line statements, user-defined functions, and preserving comments or layout
(format_cascade prints the canonical form, so parse_cascade(format_cascade(c)) == c).
"""
from __future__ import annotations

import math
import re

from workloads.cascade import Cascade, make_cascade
from workloads.ir import (Access, BinOp, Call, CascadeError, Const, Einsum, IBin, IConst, Index,
                          IPin, IRank, ISym, Tensor, reduced_ranks_of)


class NotationError(ValueError):
    """A parse error: `line N: message` (N is 1-based)."""

    def __init__(self, lineno: int, message: str):
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno
        self.message = message


_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<id>[A-Za-z_][A-Za-z0-9_@]*)|(?P<op>>=|[\[\](){},=+\-*/:]))")
_BINOP_SYM = {"mul": "x", "add": "+", "sub": "-", "div": "/"}
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "+": 1, "-": 1, "*": 2}


def _tokenize(text: str, lineno: int) -> list[str]:
    toks, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise NotationError(lineno, f"unexpected character {text[pos:].strip()[:1]!r}")
        toks.append(m.group(m.lastgroup))
        pos = m.end()
    return toks


class _Parser:
    """Recursive-descent parser over the tokens of one line."""

    def __init__(self, toks: list[str], lineno: int):
        self.toks, self.i, self.lineno = toks, 0, lineno

    def err(self, msg: str) -> NotationError:
        return NotationError(self.lineno, msg)

    def peek(self, k: int = 0) -> str | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise self.err(f"unexpected end of line (expected {expected or 'more'})")
        if expected is not None and tok != expected:
            raise self.err(f"expected {expected!r}, found {tok!r}")
        self.i += 1
        return tok

    def end(self) -> None:
        if self.peek() is not None:
            raise self.err(f"unexpected {self.peek()!r}")

    def next(self, what: str) -> str:
        """Consume any token; `what` names it in the error at end of line."""
        if self.peek() is None:
            raise self.err(f"unexpected end of line (expected {what})")
        self.i += 1
        return self.toks[self.i - 1]

    def ident(self, what: str, upper: bool | None = None) -> str:
        tok = self.next(what)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_@]*", tok):
            raise self.err(f"expected {what}, found {tok!r}")
        if upper is True and not tok[0].isupper():
            raise self.err(f"{what} must start with an upper-case letter: {tok!r}")
        if upper is False and not tok[0].islower():
            raise self.err(f"{what} must be lower case: {tok!r}")
        return tok

    # index expressions
    def index(self) -> Index:
        left = self.iterm()
        while self.peek() in ("+", "-"):
            op = self.take()
            left = IBin(op, left, self.iterm())
        return left

    def iterm(self) -> Index:
        left = self.ifactor()
        while self.peek() == "*":
            self.take()
            left = IBin("*", left, self.ifactor())
        return left

    def ifactor(self) -> Index:
        tok = self.next("index")
        if tok == "(":
            ix = self.index()
            self.take(")")
            return ix
        if tok.isdigit():
            return IConst(int(tok))
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", tok):
            return IRank(tok) if tok[0].islower() else ISym(tok)
        raise self.err(f"bad index {tok!r}")

    def index_list(self, allow_pin: bool = False) -> tuple[Index, ...]:
        self.take("[")
        out: list[Index] = []
        while self.peek() != "]":
            if out:
                self.take(",")
            if allow_pin and self.peek(1) == "=":
                rank = self.ident("rank", upper=False)
                self.take("=")
                out.append(IPin(rank, self.index()))
            else:
                out.append(self.index())
        self.take("]")
        return tuple(out)

    # value expressions
    def expr(self):
        left = self.term()
        while self.peek() in ("+", "-"):
            op = "add" if self.take() == "+" else "sub"
            left = BinOp(op, left, self.term())
        return left

    def term(self):
        left = self.primary()
        while self.peek() in ("x", "*", "/"):
            op = "div" if self.take() == "/" else "mul"
            left = BinOp(op, left, self.primary())
        return left

    def primary(self):
        tok = self.next("operand")
        if tok == "(":
            e = self.expr()
            self.take(")")
            return e
        if tok == "-":
            nxt = self.next("number")
            if nxt == "inf" or re.fullmatch(r"[\d.].*", nxt):
                return Const(-float(nxt))
            raise self.err(f"expected a number after '-', found {nxt!r}")
        if tok == "inf" or tok[0].isdigit() or tok[0] == ".":
            return Const(float(tok))
        if tok in ("exp", "sqrt"):
            self.take("(")
            arg = self.expr()
            self.take(")")
            return Call(tok, arg)
        if tok == "max":
            self.take("(")
            a = self.expr()
            self.take(",")
            b = self.expr()
            self.take(")")
            return BinOp("max", a, b)
        if tok[0].isupper():
            return Access(tok, self.index_list())
        raise self.err(f"unexpected {tok!r} in expression")

    def reduction(self) -> tuple[str | None, tuple[str, ...] | None]:
        tok = self.peek()
        m = re.fullmatch(r"(sum|max)_([a-z][a-z0-9]*)?", tok or "")
        if not m:
            return None, None
        self.take()
        if m.group(2):
            return m.group(1), (m.group(2),)
        self.take("{")
        ranks = [self.ident("rank", upper=False)]
        while self.peek() == ",":
            self.take()
            ranks.append(self.ident("rank", upper=False))
        self.take("}")
        return m.group(1), tuple(ranks)


def default_einsum_name(output: str, out_index: tuple[Index, ...]) -> str:
    """`T@init` when the output is pinned (`T[m1=0,p]`), else the output tensor name."""
    return output + "@init" if any(isinstance(ix, IPin) for ix in out_index) else output


def parse_einsum(line: str, lineno: int = 1) -> Einsum:
    """Parse one Einsum statement, e.g. `LM[m1,p] = max_m0 BQK[m1,m0,p]`."""
    p = _Parser(_tokenize(line, lineno), lineno)
    name = None
    if p.peek(1) == ":":
        name = p.ident("einsum name")
        p.take(":")
    out = p.ident("output tensor", upper=True)
    out_index = p.index_list(allow_pin=True)
    p.take("=")
    op, listed = p.reduction()
    expr = p.expr()
    p.end()
    name = name or default_einsum_name(out, out_index)
    reduced = reduced_ranks_of(out_index, expr)
    if listed is not None and set(listed) != set(reduced):
        raise NotationError(lineno, f"{op}_ lists {','.join(listed)} but the reduced ranks are "
                                    f"{','.join(reduced) or 'none'}")
    if reduced and op is None:
        op = "sum"
    try:
        return Einsum(name, out, out_index, expr, op if reduced else None)
    except CascadeError as exc:
        raise NotationError(lineno, str(exc)) from None


def parse_cascade(text: str) -> Cascade:
    """Parse the notation of docs/notation.md. Raises NotationError (a ValueError)."""
    name, shape, parts, stops = None, {}, {}, {}
    inputs: list[Tensor] = []
    sparse: list[str] = []
    einsums: list[Einsum] = []
    where: dict[str, int] = {}
    last = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        last = lineno
        p = _Parser(_tokenize(line, lineno), lineno)
        head = p.peek()
        if name is None:
            if head != "cascade":
                raise NotationError(lineno, "first statement must be 'cascade NAME'")
            p.take()
            name = p.ident("cascade name")
            p.end()
            where[""] = lineno
            continue
        if head in ("shape", "ranks") and p.peek(1) == ":":
            p.i = 2
            while p.peek() is not None:
                sym = p.ident("shape parameter", upper=True)
                p.take("=")
                val = p.next("integer")
                if not val.isdigit() or int(val) <= 0:
                    raise p.err(f"shape parameter {sym}: need a positive integer, got {val!r}")
                if sym in shape:
                    raise p.err(f"shape parameter {sym} given twice")
                shape[sym] = int(val)
                if p.peek() == ",":
                    p.take()
        elif head == "partition" and p.peek(1) == ":":
            p.i = 2
            whole = p.ident("rank", upper=False)
            p.take("=")
            plist = [p.ident("rank", upper=False)]
            while p.peek() == "x":
                p.take()
                plist.append(p.ident("rank", upper=False))
            p.end()
            parts[whole] = tuple(plist)
        elif head == "input" and p.peek(1) != ":":
            p.take()
            is_sparse = p.peek() == "sparse" and p.peek(1) not in ("[", None)
            if is_sparse:
                p.take()
            tname = p.ident("tensor name", upper=True)
            idx = p.index_list()
            p.end()
            if not all(isinstance(ix, IRank) for ix in idx):
                raise p.err(f"input {tname}: declare plain rank names")
            inputs.append(Tensor(tname, tuple(ix.name for ix in idx), is_sparse))
        elif head == "sparse" and p.peek(1) != ":":
            p.take()
            sparse.append(p.ident("tensor name", upper=True))
            p.end()
        elif head == "stop" and p.peek(1) != ":":
            p.take()
            rank = p.ident("rank", upper=False)
            p.take(">=")
            stops[rank] = p.index()
            p.end()
        else:
            e = parse_einsum(line, lineno)
            einsums.append(e)
            where[e.name] = lineno
    if name is None:
        raise NotationError(max(last, 1), "empty cascade text (need 'cascade NAME')")
    try:
        return make_cascade(name, einsums, inputs, shape, parts, stops, sparse)
    except CascadeError as exc:
        msg = str(exc)
        m = re.match(r"einsum (\S+?):", msg)
        raise NotationError(where.get(m.group(1), where[""]) if m else where[""], msg) from None


# ----------------------------------------------------------------------------- printing
def format_index(ix: Index, parent: int = 0, right: bool = False) -> str:
    """Canonical text of an index expression (minimal parentheses)."""
    if isinstance(ix, IRank) or isinstance(ix, ISym):
        return ix.name
    if isinstance(ix, IConst):
        return str(ix.value)
    if isinstance(ix, IPin):
        return f"{ix.rank}={format_index(ix.value)}"
    prec = _PREC[ix.op]
    s = f"{format_index(ix.left, prec)}{ix.op}{format_index(ix.right, prec, True)}"
    return f"({s})" if prec < parent or (right and prec == parent) else s


def _format_const(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if math.isnan(v):
        raise ValueError("NaN constant has no notation")
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def format_expr(e, parent: int = 0, right: bool = False) -> str:
    """Canonical text of a value expression."""
    if isinstance(e, Access):
        return f"{e.tensor}[{','.join(format_index(i) for i in e.index)}]"
    if isinstance(e, Const):
        return _format_const(e.value)
    if isinstance(e, Call):
        return f"{e.fn}({format_expr(e.arg)})"
    if e.op == "max":
        return f"max({format_expr(e.left)}, {format_expr(e.right)})"
    prec = _PREC[e.op]
    s = f"{format_expr(e.left, prec)} {_BINOP_SYM[e.op]} {format_expr(e.right, prec, True)}"
    return f"({s})" if prec < parent or (right and prec == parent) else s


def format_einsum(e: Einsum) -> str:
    """Canonical one-line text; the reduction prefix is always explicit (`sum_e`, `max_m0`)."""
    lhs = f"{e.output}[{','.join(format_index(i) for i in e.out_index)}]"
    if e.name != default_einsum_name(e.output, e.out_index):
        lhs = f"{e.name}: {lhs}"
    red = ""
    if e.reduce_op:
        rs = e.reduced_ranks
        red = f"{e.reduce_op}_{rs[0]} " if len(rs) == 1 else f"{e.reduce_op}_{{{','.join(rs)}}} "
    return f"{lhs} = {red}{format_expr(e.expr)}"


def format_cascade(c: Cascade) -> str:
    """Canonical text: header, shape, partitions, inputs, sparse intermediates, Einsums, stops."""
    lines = [f"cascade {c.name}"]
    if c.shape_items:
        lines.append("shape: " + " ".join(f"{k}={v}" for k, v in c.shape_items))
    lines += [f"partition: {w} = {' x '.join(ps)}" for w, ps in c.partition_items]
    tensors = c.tensors
    for t in c.inputs:
        tt = tensors[t]
        lines.append(f"input {'sparse ' if tt.sparse else ''}{t}[{','.join(tt.ranks)}]")
    lines += [f"sparse {t.name}" for t in c.tensor_list if t.sparse and t.name not in c.inputs]
    lines += [format_einsum(e) for e in c.einsums]
    lines += [f"stop {r} >= {format_index(s)}" for r, s in c.stop_items]
    return "\n".join(lines) + "\n"
