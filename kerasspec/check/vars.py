"""`vars` and `${name}`: every value of the tree interpolated before any other check."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..errors import Mark, closest, did_you_mean
from ..loader import PList, PMap
from .context import Context
from .expressions import ExpressionError, evaluate, names_in, partially_evaluated

VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_WHOLE = re.compile(r"\$\{([^}]*)\}")


class _LaterVars:
    """`name in later`: a var defined below the one being resolved (not itself), in O(1)."""

    def __init__(self, all_vars: PMap, resolved: dict[str, Any], current: str):
        self.all_vars, self.resolved, self.current = all_vars, resolved, current

    def __contains__(self, name: object) -> bool:
        return name in self.all_vars and name not in self.resolved and name != self.current


def interpolate_vars(ctx: Context, tree: PMap) -> dict[str, Any]:
    """Every `${...}` of the tree replaced, but in `blocks:` (whose parameters are known at each
    use: `kerasspec.check.blocks`); returns the vars, for the blocks."""
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
            raw_vars[key] = _substitute(ctx, raw_vars, key, raw_vars[key], _Names(resolved, later))
            resolved[key] = raw_vars[key]
    for key in list(tree):
        if key not in ("vars", "blocks"):
            tree[key] = _substitute(ctx, tree, key, tree[key], _Names(resolved))
    return resolved


def substitute(
    ctx: Context, container: Any, key: Any, known: dict[str, Any], deferred: Collection[str] | None = None
) -> None:
    """`${...}` in `container[key]` replaced from `known`, in place. With `deferred` (a block's
    parameters), those names and `$${` are left as written for a second pass; a var in an
    expression with them is put in as its value (`${filters * width}` -> `${filters * 2}`)."""
    names = _Names(known, deferred=None if deferred is None else frozenset(deferred))
    container[key] = _substitute(ctx, container, key, container[key], names)


@dataclass(frozen=True)
class _Names:
    known: dict[str, Any]
    later: Any = ()  # vars defined below the one being resolved
    deferred: frozenset[str] | None = None  # names left for a later pass (that pass reads `$${` too)

    def defers(self, text: str) -> bool:
        """Whether `${text}` waits for the later pass."""
        if self.deferred is None:
            return False
        name = text.strip()
        return name in self.deferred or (not VAR_NAME.match(name) and bool(names_in(name) & self.deferred))


def _substitute(ctx: Context, container: Any, key: Any, value: Any, names: _Names) -> Any:
    errors = len(ctx.errors)
    result = _substituted(ctx, container, key, value, names)
    if len(ctx.errors) > errors and isinstance(result, str):
        ctx.unresolved.add(container.value_mark(key))  # reported here: no type error on top
    return result


def _substituted(ctx: Context, container: Any, key: Any, value: Any, names: _Names) -> Any:
    if isinstance(value, PMap):
        for k in list(value):
            value[k] = _substitute(ctx, value, k, value[k], names)
        return value
    if isinstance(value, PList):
        for i in range(len(value)):
            value[i] = _substitute(ctx, value, i, value[i], names)
        return value
    if not isinstance(value, str) or "$" not in value:
        return value
    mark = container.value_mark(key)
    whole = _WHOLE.fullmatch(value)
    if whole and not names.defers(whole.group(1)):
        name = whole.group(1).strip()
        if not VAR_NAME.match(name) and _is_expression(name):
            result = _expression(ctx, name, names, mark, evaluate)
            return value if result is None else result
        if _var_known(ctx, name, names, mark):
            return copy.deepcopy(names.known[name])
        return value

    def replace(match: re.Match) -> str:
        text = match.group(0)
        if text == "$${":
            return text if names.deferred is not None else "${"
        if match.group(1) is None:
            ctx.error(
                mark,
                f"unterminated '${{' in '{value}'",
                hint="write ${name}, or $${ for a literal '${'",
                code="bad-var-ref",
            )
            return text
        name = match.group(1).strip()
        if names.defers(name):
            if VAR_NAME.match(name):
                return text
            deferred = set(names.deferred or ())
            partial = _expression(ctx, name, names, mark, lambda t, lookup: partially_evaluated(t, lookup, deferred))
            return text if partial is None else "${" + partial + "}"
        if not VAR_NAME.match(name) and _is_expression(name):
            result = _expression(ctx, name, names, mark, evaluate)
            return text if result is None else str(result)
        if not _var_known(ctx, name, names, mark):
            return text
        var = names.known[name]
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


def _expression(
    ctx: Context, text: str, names: _Names, mark: Mark, compute: Callable[[str, Callable[[str], Any]], Any]
) -> Any:
    """`compute(text, lookup)` (the value of `${text}`, or its text with vars put in), or None
    after reporting why there is none."""

    def lookup(name: str) -> Any:
        if not _var_known(ctx, name, names, mark):
            raise _Reported
        return names.known[name]

    try:
        return compute(text, lookup)
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


def _var_known(ctx: Context, name: str, names: _Names, mark: Mark) -> bool:
    if name in names.known:
        return True
    if name in names.later:
        ctx.error(
            mark,
            f"var '{name}' is defined later in `vars`; a var can only use the ones above it",
            code="unknown-var",
        )
    elif not VAR_NAME.match(name):
        ctx.error(mark, f"bad var reference '${{{name}}}': a var name is letters, digits and '_'", code="bad-var-ref")
    else:
        candidates = [*names.known, *(names.deferred or ())]  # in a block: its parameters too
        ctx.error(
            mark,
            f"unknown var '{name}'" + did_you_mean(name, candidates),
            hint=None
            if closest(name, candidates)
            else ("defined vars: " + ", ".join(candidates) if candidates else "define it under `vars:`"),
            code="unknown-var",
        )
    return False
