"""Small, safe expressions for sweep specs: ``derived`` parameters and ``constraints``.

An expression is a Python expression restricted to constants, parameter names, arithmetic
(``+ - * / // % **``), comparisons, ``and``/``or``/``not``, ``x if c else y`` and the functions
``min max abs round int float log2 log10 sqrt ceil floor``. Sizes are capped (``archsim.limits``:
text length, integer bits, repetition length), checked before computing. A parameter whose key has dots
(``arch.levels.glb.capacity_bytes``, ``map.tiles.p``) is written as that dotted name. Nothing
else (attribute access on values, subscripts, lambdas, imports) parses: specs are data, not code.

>>> Expr("M // 4", "derived.M0").evaluate({"M": 256})
64
>>> Expr("map.tiles.p <= P", "constraints[0]").evaluate({"map.tiles.p": 32, "P": 64})
True
"""
from __future__ import annotations

import ast
import math
import operator

from archsim.limits import MAX_EXPR_CHARS, MAX_EXPR_INT_BITS, MAX_EXPR_SEQUENCE

FUNCTIONS = {
    "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "log2": math.log2, "log10": math.log10, "sqrt": math.sqrt, "ceil": math.ceil, "floor": math.floor,
}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


class ExprError(ValueError):
    """An expression that does not parse, uses a forbidden construct, or names an unknown parameter."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


class Expr:
    """A parsed expression; ``names`` are the parameter keys it reads (sorted)."""

    def __init__(self, text: str, where: str):
        self.text, self.where = str(text), where
        if len(self.text) > MAX_EXPR_CHARS:
            raise ExprError(f"{where}: expression of {len(self.text):,} characters, more than the limit of "
                            f"{MAX_EXPR_CHARS:,}")
        try:
            self.tree = ast.parse(self.text.strip(), mode="eval").body
            names: set[str] = set()
            self._check(self.tree, names)
        except (SyntaxError, RecursionError, MemoryError) as err:
            raise ExprError(f"{where}: cannot parse {self.text[:80]!r} ({getattr(err, 'msg', 'nested too deeply')})"
                            ) from None
        self.names = sorted(names)

    def _check(self, node: ast.AST, names: set[str]) -> None:
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            if name is None:
                raise ExprError(f"{self.where}: only parameter names may be dotted in {self.text!r}")
            if name not in FUNCTIONS:
                names.add(name)
            return
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
                raise ExprError(f"{self.where}: unknown function in {self.text!r} "
                                f"(allowed: {', '.join(sorted(FUNCTIONS))})")
            for arg in node.args:
                self._check(arg, names)
            return
        allowed = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
                   ast.Tuple, ast.List)
        if not isinstance(node, allowed) or isinstance(node, ast.BinOp) and type(node.op) not in _BIN \
                or isinstance(node, ast.Compare) and any(type(o) not in _CMP for o in node.ops):
            raise ExprError(f"{self.where}: unsupported expression {ast.unparse(node)!r} in {self.text!r}")
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.operator, ast.cmpop, ast.unaryop, ast.boolop, ast.expr_context)):
                self._check(child, names)

    def evaluate(self, params: dict):
        try:
            return self._eval(self.tree, params)
        except ExprError:
            raise
        except RecursionError:
            raise ExprError(f"{self.where}: {self.text[:80]!r}: nested too deeply") from None
        except Exception as err:  # noqa: BLE001 - any arithmetic problem is this expression's error
            raise ExprError(f"{self.where}: {self.text!r}: {type(err).__name__}: {err}") from None

    def _check_size(self, op: type, left, right) -> None:
        """Refuse, before computing it, a power or repetition past ``archsim.limits``."""
        if op is ast.Pow and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            bits = math.ceil(right * math.log2(abs(left)))
            if bits > MAX_EXPR_INT_BITS:
                raise ExprError(f"{self.where}: {self.text[:80]!r}: the power would have about {bits:,} bits, more "
                                f"than the limit of {MAX_EXPR_INT_BITS:,} (limit the exponent)")
        if op is ast.Mult and (isinstance(left, (str, tuple)) or isinstance(right, (str, tuple))):
            seq, count = (left, right) if isinstance(left, (str, tuple)) else (right, left)
            if _is_int(count) and len(seq) * count > MAX_EXPR_SEQUENCE:
                raise ExprError(f"{self.where}: {self.text[:80]!r}: repetition to {len(seq) * count:,} elements, "
                                f"more than the limit of {MAX_EXPR_SEQUENCE:,}")

    def _bounded(self, value):
        if _is_int(value) and value.bit_length() > MAX_EXPR_INT_BITS:
            raise ExprError(f"{self.where}: {self.text[:80]!r}: an integer of {value.bit_length():,} bits, more than "
                            f"the limit of {MAX_EXPR_INT_BITS:,}")
        return value

    def _eval(self, node: ast.AST, params: dict):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            if name not in params:
                raise ExprError(f"{self.where}: unknown parameter {name!r} in {self.text!r}")
            return params[name]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, params), self._eval(node.right, params)
            self._check_size(type(node.op), left, right)
            return self._bounded(_BIN[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, params))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, params) for v in node.values)
            return any(self._eval(v, params) for v in node.values)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, params)
            for op, comparator in zip(node.ops, node.comparators):
                right = self._eval(comparator, params)
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self._eval(node.body if self._eval(node.test, params) else node.orelse, params)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(e, params) for e in node.elts)
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._eval(a, params) for a in node.args))
        raise ExprError(f"{self.where}: unsupported expression in {self.text!r}")
