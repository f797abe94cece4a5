"""`${...}` arithmetic: numbers and vars with `+ - * / // % **`, parentheses and unary minus.

Nothing else is read: no other names, calls, attributes, strings or comparisons. Operands and
results beyond 2**63 in magnitude are refused before they are computed, so `9**9**9` is an error
at once, never a hang. A result is an int when every operand is one and the operator keeps ints.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

LIMIT = 2**63
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(Exception):
    """Why an expression cannot be computed (said after `${...}`)."""


def evaluate(text: str, lookup: Callable[[str], Any]) -> int | float:
    """The value of `text`; `lookup(name)` gives a var's value or raises ExpressionError."""
    return _value(_parse(text), lookup)


def names_in(text: str) -> set[str]:
    """The names an expression reads (none when it is not Python at all: `evaluate` says why)."""
    try:
        return {node.id for node in ast.walk(_parse(text)) if isinstance(node, ast.Name)}
    except ExpressionError:
        return set()


def partially_evaluated(text: str, lookup: Callable[[str], Any], deferred: set[str]) -> str:
    """`text` with every name but the `deferred` ones replaced by its value, to be evaluated when
    those are known (a block's parameters, at each use); what is not arithmetic is refused now."""
    return ast.unparse(_substituted(_parse(text), lookup, deferred))


def _parse(text: str) -> ast.expr:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ExpressionError("is not arithmetic over numbers and vars") from None


def _substituted(node: ast.AST, lookup: Callable[[str], Any], deferred: set[str]) -> ast.expr:
    if isinstance(node, ast.Constant):
        _number(node.value, repr(node.value))
        return node
    if isinstance(node, ast.Name):
        if node.id in deferred:
            return node
        value = _number(lookup(node.id), f"var '{node.id}'")
        constant = ast.Constant(abs(value))  # a negative one as unary minus, which unparse brackets
        return ast.UnaryOp(ast.USub(), constant) if math.copysign(1, value) < 0 else constant
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return ast.UnaryOp(node.op, _substituted(node.operand, lookup, deferred))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return ast.BinOp(_substituted(node.left, lookup, deferred), node.op, _substituted(node.right, lookup, deferred))
    raise _not_arithmetic(node)


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{what} is {type(value).__name__ if value is not None else 'null'}, not a number")
    if not math.isfinite(value) or abs(value) > LIMIT:
        raise ExpressionError(f"{what} is beyond 2**63 in magnitude")
    return value


def _value(node: ast.AST, lookup: Callable[[str], Any]) -> int | float:
    if isinstance(node, ast.Constant):
        return _number(node.value, repr(node.value))
    if isinstance(node, ast.Name):
        return _number(lookup(node.id), f"var '{node.id}'")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, lookup)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left, lookup), _value(node.right, lookup)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            result = _OPERATORS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExpressionError("divides by zero") from None
        except OverflowError:
            raise ExpressionError("has a result beyond 2**63 in magnitude") from None
        if isinstance(result, complex):
            raise ExpressionError("takes a fractional power of a negative number")
        return _number(result, "the result")
    raise _not_arithmetic(node)


def _not_arithmetic(node: ast.AST) -> ExpressionError:
    return ExpressionError(f"has {_describe(node)}; only numbers, vars, + - * / // % ** and parentheses are read")


def _check_power(base: int | float, exponent: int | float) -> None:
    """Refuse a power whose result would pass 2**63, before computing it."""
    if abs(base) > 1 and exponent > 0 and exponent * math.log2(abs(base)) > 63:
        raise ExpressionError("has a result beyond 2**63 in magnitude")
    if base == 0 and exponent < 0:
        raise ExpressionError("divides by zero")


def _describe(node: ast.AST) -> str:
    return {
        ast.Call: "a call",
        ast.Attribute: "an attribute",
        ast.Compare: "a comparison",
        ast.BoolOp: "a boolean operator",
        ast.Subscript: "a subscript",
    }.get(type(node), f"'{type(node).__name__}'")
