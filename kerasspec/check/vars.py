"""`vars` and `${name}`: every value of the tree interpolated before any other check."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import Mark, closest, did_you_mean
from ..loader import PList, PMap
from .context import Context
from .expressions import ExpressionError, evaluate

VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_WHOLE = re.compile(r"\$\{([^}]*)\}")


class _LaterVars:
    """`name in later`: a var defined below the one being resolved (not itself), in O(1)."""

    def __init__(self, all_vars: PMap, resolved: dict[str, Any], current: str):
        self.all_vars, self.resolved, self.current = all_vars, resolved, current

    def __contains__(self, name: object) -> bool:
        return name in self.all_vars and name not in self.resolved and name != self.current


def interpolate_vars(ctx: Context, tree: PMap) -> None:
    raw_vars = tree.get("vars")
    resolved: dict[str, Any] = {}
    if raw_vars is not None and not isinstance(raw_vars, PMap):
        ctx.error(tree.value_mark("vars"), "`vars` must be a mapping of names to values", code="bad-vars")
        raw_vars = None
    if raw_vars:
        for key in list(raw_vars):
            if not isinstance(key, str) or not VAR_NAME.match(key):
                ctx.error(raw_vars.key_mark(key), f"bad var name '{key}': use letters, digits and '_'", code="bad-vars")
                continue
            later = _LaterVars(raw_vars, resolved, key)
            raw_vars[key] = _substitute(ctx, raw_vars, key, raw_vars[key], resolved, later)
            resolved[key] = raw_vars[key]
    for key in list(tree):
        if key != "vars":
            tree[key] = _substitute(ctx, tree, key, tree[key], resolved, ())


def _substitute(ctx: Context, container: Any, key: Any, value: Any, known: dict[str, Any], later: Any) -> Any:
    errors = len(ctx.errors)
    result = _substituted(ctx, container, key, value, known, later)
    if len(ctx.errors) > errors and isinstance(result, str):
        ctx.unresolved.add(container.value_mark(key))  # reported here: no type error on top
    return result


def _substituted(ctx: Context, container: Any, key: Any, value: Any, known: dict[str, Any], later: Any) -> Any:
    if isinstance(value, PMap):
        for k in list(value):
            value[k] = _substitute(ctx, value, k, value[k], known, later)
        return value
    if isinstance(value, PList):
        for i in range(len(value)):
            value[i] = _substitute(ctx, value, i, value[i], known, later)
        return value
    if not isinstance(value, str) or "$" not in value:
        return value
    mark = container.value_mark(key)
    whole = _WHOLE.fullmatch(value)
    if whole:
        name = whole.group(1).strip()
        if not VAR_NAME.match(name) and _is_expression(name):
            result = _expression(ctx, name, known, later, mark)
            return value if result is None else result
        if _var_known(ctx, name, known, later, mark):
            return copy.deepcopy(known[name])
        return value

    def replace(match: re.Match) -> str:
        text = match.group(0)
        if text == "$${":
            return "${"
        if match.group(1) is None:
            ctx.error(
                mark,
                f"unterminated '${{' in '{value}'",
                hint="write ${name}, or $${ for a literal '${'",
                code="bad-var-ref",
            )
            return text
        name = match.group(1).strip()
        if not VAR_NAME.match(name) and _is_expression(name):
            result = _expression(ctx, name, known, later, mark)
            return text if result is None else str(result)
        if not _var_known(ctx, name, known, later, mark):
            return text
        var = known[name]
        if isinstance(var, (PMap, PList)):
            ctx.error(
                mark,
                f"var '{name}' is a {'mapping' if isinstance(var, PMap) else 'list'} and cannot be put inside text",
                hint=f"use it as the whole value: '${{{name}}}'",
                code="bad-var-ref",
            )
            return text
        if isinstance(var, bool):
            return "true" if var else "false"
        return "null" if var is None else str(var)

    return _VAR.sub(replace, value)


def _is_expression(text: str) -> bool:
    """Arithmetic rather than a var name (good or bad): an operator or bracket, or a number."""
    if any(c in text for c in "+-*/%()<>=!&|^~. "):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _expression(ctx: Context, text: str, known: dict[str, Any], later: Any, mark: Mark) -> int | float | None:
    """The value of `${text}`, or None after reporting why it has none."""

    def lookup(name: str) -> Any:
        if not _var_known(ctx, name, known, later, mark):
            raise _Reported
        return known[name]

    try:
        return evaluate(text, lookup)
    except _Reported:
        return None
    except ExpressionError as exc:
        ctx.error(
            mark,
            f"the expression '${{{text}}}' {exc}",
            hint="${...} holds numbers and vars with + - * / // % ** and parentheses, e.g. ${1 / 255}",
            code="bad-expression",
        )
        return None


class _Reported(Exception):
    """An unknown var inside an expression, reported already."""


def _var_known(ctx: Context, name: str, known: dict[str, Any], later: Any, mark: Mark) -> bool:
    if name in known:
        return True
    if name in later:
        ctx.error(
            mark,
            f"var '{name}' is defined later in `vars`; a var can only use the ones above it",
            code="unknown-var",
        )
    elif not VAR_NAME.match(name):
        ctx.error(mark, f"bad var reference '${{{name}}}': a var name is letters, digits and '_'", code="bad-var-ref")
    else:
        ctx.error(
            mark,
            f"unknown var '{name}'" + did_you_mean(name, known),
            hint=None
            if closest(name, known)
            else ("defined vars: " + ", ".join(known) if known else "define it under `vars:`"),
            code="unknown-var",
        )
    return False
