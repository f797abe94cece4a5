"""`{type: X, ...}` objects and the names of Keras objects, against the installed Keras's catalog."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ..catalog import ClassInfo
from ..errors import Mark, closest, did_you_mean
from ..format.declaration import argument_type
from ..format.types import CODE_REFERENCE_PATTERN, Anything, KerasObject, ValueType
from ..kinds import KINDS, Kind, is_keras_layer_path, parameter_kind
from ..loader import PMap
from ..walker import Visitor, walk, walk_parameter
from .context import Context, article

_CODE_REF = re.compile(CODE_REFERENCE_PATTERN)


class StaticCheck(Visitor):
    """The static check of every object, name and code reference `walk` finds in a value."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def visit_object(self, kind: Kind | None, raw: PMap) -> None:
        check_object(self.ctx, kind, raw, [key for key in raw if key != "type"])

    def visit_name(self, kind: Kind, value: str, mark: Mark | None) -> None:
        check_name(self.ctx, kind, value, mark)

    def visit_code(self, kind: Kind, value: str, mark: Mark | None) -> None:
        code_reference(self.ctx, value, mark, kind.noun)

    def visit_untyped(self, kind: Kind, raw: PMap, mark: Mark | None) -> None:
        self.ctx.error(mark, f"{article(kind.noun)} object needs a `type`", code="missing-type")


def check_value(ctx: Context, param: str, value: Any, mark: Mark | None, owner: str | None = None) -> None:
    """A keyword's value (of the class `owner`): nested `{type: ...}` objects and names of Keras objects."""
    walk_parameter(StaticCheck(ctx), param, value, mark, owner)


def check_object(ctx: Context, kind: Kind | None, raw: PMap, arg_keys: Iterable[str]) -> ClassInfo | None:
    """Check `{type: X, k: v...}` against the catalog: the class, its keywords, their values."""
    type_name = raw["type"]
    mark = raw.value_mark("type")
    noun = kind.noun if kind is not None else "type"
    if not isinstance(type_name, str) or not type_name:
        ctx.error(mark, f"`type` must name a class, got {type_name!r}", code="bad-type")
        return None
    arg_keys = list(arg_keys)
    for key in [k for k in arg_keys if not isinstance(k, str)]:
        ctx.error(raw.key_mark(key), f"a keyword argument is named by text, got {key!r}", code="bad-argument")
        arg_keys.remove(key)
    if ":" in type_name:
        if (is_keras_layer_path(kind, type_name) and _CODE_REF.match(type_name)) or code_reference(
            ctx, type_name, mark, noun
        ):
            for key in arg_keys:
                check_value(ctx, key, raw[key], raw.value_mark(key))
        return None
    info = lookup_class(ctx, kind, type_name, mark)
    if info is None:
        return None
    if info.runs_code and not ctx.allow_code:
        ctx.error(
            mark,
            f"{type_name} runs Python code, so it is refused without --allow-code",
            hint="run with --allow-code only for specs you trust",
            code="code-not-allowed",
        )
        return info
    for key in arg_keys:
        if key not in info.params and not info.open:
            ctx.error(
                raw.key_mark(key),
                f"{type_name} has no argument '{key}'" + did_you_mean(str(key), info.params),
                hint=None
                if closest(str(key), info.params)
                else f"{type_name} takes: " + ", ".join(sorted(info.params)),
                code="unknown-argument",
            )
            continue
        if key == "dtype" and kind is KINDS["layers"] and isinstance(raw[key], str) and not known_dtype(ctx, raw[key]):
            ctx.error(
                raw.value_mark(key),
                f"unknown dtype '{raw[key]}'" + did_you_mean(raw[key], ctx.catalog.dtypes),
                hint="a dtype (float32, int64, ...) or a mixed-precision policy (mixed_float16, mixed_bfloat16)",
                code="bad-dtype",
            )
            continue
        if isinstance(raw[key], bool) and info.expects_number(str(key)):
            ctx.error(
                raw.value_mark(key),
                f"{type_name} argument '{key}' is a number, not {str(raw[key]).lower()}",
                hint="Keras would silently read true as 1 and false as 0",
                code="bool-for-number",
            )
            continue
        expected = None if raw.value_mark(key) in ctx.unresolved else wrong_argument_type(info, str(key), raw[key])
        if expected is not None:
            ctx.error(
                raw.value_mark(key),
                f"{type_name} argument '{key}' must be {expected}, got {raw[key]!r}",
                hint=info.details.get(str(key), {}).get("doc"),
                code="bad-argument",
            )
            continue
        check_value(ctx, str(key), raw[key], raw.value_mark(key), type_name)
    for required in info.required:
        if required not in arg_keys and required != "name":
            ctx.error(raw.mark, f"{type_name} needs argument '{required}'", code="missing-argument")
    return info


def known_dtype(ctx: Context, value: str) -> bool:
    return value in ctx.catalog.dtypes or value.startswith("mixed_")


def lookup_class(ctx: Context, kind: Kind | None, type_name: str, mark: Mark | None) -> ClassInfo | None:
    if kind is not None:
        info = ctx.catalog.get_class(kind.name, type_name)
        if info is not None:
            return info
        elsewhere = ctx.catalog.find_class(type_name)
        classes = ctx.catalog.classes(kind.name)
        if elsewhere:
            ctx.error(
                mark,
                f"'{type_name}' is {article(KINDS[elsewhere[0].kind].noun)}, not {article(kind.noun)}",
                code="wrong-kind",
            )
        else:
            ctx.error(
                mark,
                f"unknown {kind.noun} '{type_name}'" + did_you_mean(type_name, classes),
                hint=None if closest(type_name, classes) else f"see the classes in keras.{kind.module}",
                code=f"unknown-{kind.noun.replace(' ', '-')}",
            )
        return None
    found = ctx.catalog.find_class(type_name)
    if found:
        return found[0]
    ctx.error(
        mark,
        f"unknown type '{type_name}'" + did_you_mean(type_name, ctx.catalog.all_class_names()),
        code="unknown-type",
    )
    return None


def code_reference(ctx: Context, value: Any, mark: Mark | None, what: str) -> bool:
    if not isinstance(value, str) or not _CODE_REF.match(value):
        ctx.error(
            mark,
            f"bad {what} {value!r}: user code is named as package.module:Name",
            hint="a .py file beside the spec holds the code; `mymodule:name` imports `name` from mymodule.py",
            code="bad-code-reference",
        )
        return False
    if not ctx.allow_code:
        ctx.error(
            mark,
            f"{what} '{value}' imports Python code, so it is refused without --allow-code",
            hint="run with --allow-code only for specs you trust; nothing was imported",
            code="code-not-allowed",
        )
        return False
    return True


@lru_cache(maxsize=4096)
def _argument_type(info: ClassInfo, key: str) -> ValueType:
    return argument_type(key, info.details.get(key, {}), info.name)


def wrong_argument_type(info: ClassInfo, key: str, value: Any) -> str | None:
    """What a keyword takes, when `value` is not that (types from Keras's signature and
    docstring); Keras objects (initializers, layers, ...) are checked by kind instead, and
    user code by its reference."""
    kind = parameter_kind(key, info.name)
    if value is None or (kind is not None and not kind.code_only):
        return None
    value_type = _argument_type(info, key)
    if isinstance(value, dict):
        value = {}  # a mapping's contents are checked where they are declared
    elif isinstance(value, list):
        value = list(value)
    if isinstance(value_type, (Anything, KerasObject)) or value_type.accepts(value):
        return None
    return value_type.expected


def check_keras_object(ctx: Context, kind_name: str, value: Any, mark: Mark) -> None:
    """A Keras object of one kind: its name (`adam`), or `{type: Class, ...}`."""
    kind = KINDS[kind_name]
    if isinstance(value, (PMap, str)):
        walk(StaticCheck(ctx), value, kind, mark)
    elif not (kind.name == "schedules" and isinstance(value, (int, float))):  # learning_rate: a number
        ctx.error(
            mark, f"expected {article(kind.noun)} name or {{type: ..., ...}} object, got {value!r}", code="bad-value"
        )


def check_name(ctx: Context, kind: Kind, value: str, mark: Mark | None) -> None:
    if kind.name == "layers":
        lookup_class(ctx, kind, value, mark)
        return
    info = ctx.catalog.get_class(kind.name, value)
    if info and info.runs_code and not ctx.allow_code:
        ctx.error(mark, f"{value} runs Python code, so it is refused without --allow-code", code="code-not-allowed")
        return
    names = ctx.catalog.names(kind.name)
    if not names or value in names:
        return  # (learning_rate is a number or a schedule object, never a bare name)
    if info is not None:
        needs = f" (it needs {', '.join(info.required)})" if info.required else ""
        ctx.error(
            mark,
            f"{kind.noun} '{value}' cannot be made from its name alone{needs}",
            hint=f"write it as an object: {{type: {value}, ...}}",
            code="needs-arguments",
        )
        return
    ctx.error(
        mark,
        f"unknown {kind.noun} '{value}'" + did_you_mean(value, names),
        code=f"unknown-{kind.noun.replace(' ', '-')}",
    )
