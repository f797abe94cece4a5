"""`{type: X, ...}` objects and the names of Keras objects, against the installed Keras's catalog."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ..catalog import KIND_NOUN, ClassInfo, kind_of_parameter
from ..errors import Mark, closest, did_you_mean
from ..format.declaration import argument_type
from ..format.types import CODE_REFERENCE_PATTERN, Anything, KerasObject, ValueType
from ..loader import PList, PMap
from .context import Context, article

_CODE_REF = re.compile(CODE_REFERENCE_PATTERN)


def is_code_reference(value: Any) -> bool:
    """`package.module:Name`, the form in which specs name user code."""
    return isinstance(value, str) and bool(_CODE_REF.match(value))


def check_object(ctx: Context, kind: str | None, raw: PMap, type_key: str, arg_keys: Iterable[str]) -> ClassInfo | None:
    """Check `{type: X, k: v...}` against the catalog: the class, its keywords, their values."""
    type_name = raw[type_key]
    mark = raw.value_mark(type_key)
    noun = KIND_NOUN.get(kind or "", "type")
    if not isinstance(type_name, str) or not type_name:
        ctx.error(mark, f"`{type_key}` must name a class, got {type_name!r}", code="bad-type")
        return None
    arg_keys = list(arg_keys)
    for key in [k for k in arg_keys if not isinstance(k, str)]:
        ctx.error(raw.key_mark(key), f"a keyword argument is named by text, got {key!r}", code="bad-argument")
        arg_keys.remove(key)
    if ":" in type_name:
        if code_reference(ctx, type_name, mark, noun):
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
        if key == "dtype" and kind == "layers" and isinstance(raw[key], str) and not known_dtype(ctx, raw[key]):
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
        expected = wrong_argument_type(info, str(key), raw[key])
        if expected is not None:
            ctx.error(
                raw.value_mark(key),
                f"{type_name} argument '{key}' must be {expected}, got {raw[key]!r}",
                hint=info.details.get(str(key), {}).get("doc"),
                code="bad-argument",
            )
            continue
        check_value(ctx, str(key), raw[key], raw.value_mark(key))
    for required in info.required:
        if required not in arg_keys and required != "name":
            ctx.error(raw.mark, f"{type_name} needs argument '{required}'", code="missing-argument")
    return info


def known_dtype(ctx: Context, value: str) -> bool:
    return value in ctx.catalog.dtypes or value.startswith("mixed_")


def lookup_class(ctx: Context, kind: str | None, type_name: str, mark: Mark) -> ClassInfo | None:
    if kind is not None:
        info = ctx.catalog.get_class(kind, type_name)
        if info is not None:
            return info
        elsewhere = ctx.catalog.find_class(type_name)
        noun = KIND_NOUN.get(kind, kind)
        if elsewhere:
            ctx.error(
                mark,
                f"'{type_name}' is a{'n' if KIND_NOUN[elsewhere[0].kind][0] in 'aeiou' else ''} {KIND_NOUN[elsewhere[0].kind]}, not a{'n' if noun[0] in 'aeiou' else ''} {noun}",
                code="wrong-kind",
            )
        else:
            ctx.error(
                mark,
                f"unknown {noun} '{type_name}'" + did_you_mean(type_name, ctx.catalog.classes(kind)),
                hint=None if closest(type_name, ctx.catalog.classes(kind)) else f"see the classes in keras.{kind}",
                code=f"unknown-{noun.replace(' ', '-')}",
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


def code_reference(ctx: Context, value: Any, mark: Mark, what: str) -> bool:
    if not isinstance(value, str) or not _CODE_REF.match(value):
        ctx.error(mark, f"bad {what} {value!r}: user code is named as package.module:Name", code="bad-code-reference")
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
    return argument_type(key, info.details.get(key, {}))


def wrong_argument_type(info: ClassInfo, key: str, value: Any) -> str | None:
    """What a keyword takes, when `value` is not that (types from Keras's signature and
    docstring); Keras objects (initializers, layers, ...) are checked by kind instead."""
    if value is None or (isinstance(value, str) and "${" in value) or kind_of_parameter(key):
        return None
    value_type = _argument_type(info, key)
    if isinstance(value, dict):
        value = {}  # a mapping's contents are checked where they are declared
    elif isinstance(value, list):
        value = list(value)
    if isinstance(value_type, (Anything, KerasObject)) or value_type.accepts(value):
        return None
    return value_type.expected


def check_keras_object(ctx: Context, kind: str, value: Any, mark: Mark) -> None:
    """A Keras object of one kind: its name (`adam`), or `{type: Class, ...}`."""
    if isinstance(value, PMap) and "type" in value:
        check_object(ctx, "layers" if kind == "activations" else kind, value, "type", [k for k in value if k != "type"])
    elif isinstance(value, str):
        check_name(ctx, kind, value, mark)
    elif isinstance(value, PMap):
        ctx.error(mark, f"{article(KIND_NOUN.get(kind, kind))} object needs a `type`", code="missing-type")
    elif not (kind == "schedules" and isinstance(value, (int, float))):
        noun = KIND_NOUN.get(kind, kind)
        ctx.error(mark, f"expected {article(noun)} name or {{type: ..., ...}} object, got {value!r}", code="bad-value")


def check_value(ctx: Context, param: str, value: Any, mark: Mark) -> None:
    """A keyword's value: nested `{type: ...}` objects and names of Keras objects."""
    kind = kind_of_parameter(param)
    if isinstance(value, PMap):
        if "type" in value:
            object_kind = "layers" if kind == "activations" else kind
            check_object(ctx, object_kind, value, "type", [k for k in value if k != "type"])
        else:
            for key in value:
                check_value(ctx, str(key), value[key], value.value_mark(key))
    elif isinstance(value, PList):
        for i, item in enumerate(value):
            check_value(ctx, param, item, value.value_mark(i))
    elif isinstance(value, str) and kind is not None:
        check_name(ctx, kind, value, mark)


def check_name(ctx: Context, kind: str, value: str, mark: Mark) -> None:
    if ":" in value:
        code_reference(ctx, value, mark, KIND_NOUN.get(kind, kind))
        return
    if kind == "layers":
        lookup_class(ctx, "layers", value, mark)
        return
    info = ctx.catalog.get_class(kind, value)
    if info and info.runs_code and not ctx.allow_code:
        ctx.error(mark, f"{value} runs Python code, so it is refused without --allow-code", code="code-not-allowed")
        return
    names = ctx.catalog.names(kind)
    if not names or value in names or kind == "schedules":
        return  # (learning_rate is a number or a schedule object, never a bare name)
    noun = KIND_NOUN.get(kind, kind)
    if info is not None:
        needs = f" (it needs {', '.join(info.required)})" if info.required else ""
        ctx.error(
            mark,
            f"{noun} '{value}' cannot be made from its name alone{needs}",
            hint=f"write it as an object: {{type: {value}, ...}}",
            code="needs-arguments",
        )
        return
    ctx.error(mark, f"unknown {noun} '{value}'" + did_you_mean(value, names), code=f"unknown-{noun.replace(' ', '-')}")
