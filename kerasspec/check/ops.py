"""`op:` entries: a function of `keras.ops` called in a functional graph.

`{op: mean, name: pooled, inputs: tokens, axis: 1}` is `keras.ops.mean(tokens, axis=1)`. A
list in `inputs` is passed by position, a mapping by keyword, other keys are keywords; the
arguments are bound to the function's parameters here, from the signature the catalog read
from the installed Keras, so the builder only calls the function.
"""

from __future__ import annotations

from typing import Any

from ..catalog import OpInfo
from ..errors import Mark, closest, did_you_mean
from ..format.declaration import OP_ENTRY_KEYS, RESERVED_ENTRY_KEYS
from ..loader import PList, PMap
from ..spec import ENTRY_ABOVE, LayerEntry, Ref
from .context import Context
from .objects import wrong_argument_type
from .refs import reference, resolve


def read_op(ctx: Context, raw: PMap, entry: LayerEntry) -> OpInfo | None:
    """The op's name and its keyword keys, checked against the installed `keras.ops`."""
    name = raw["op"]
    mark = raw.value_mark("op")
    if not isinstance(name, str) or not name:
        ctx.error(mark, f"`op` names a function of keras.ops, got {name!r}", code="bad-op")
        return None
    info = ctx.catalog.op(name.removeprefix("keras.ops.").removeprefix("ops."))
    if info is None:
        names = ctx.catalog.op_names
        ctx.error(
            mark,
            f"unknown op '{name}': keras.ops has no such function" + did_you_mean(name, names),
            hint=None if closest(name, names) else "op names are keras.ops functions: add, mean, tensordot, ...",
            code="unknown-op",
        )
        return None
    entry.op = info.name
    for key in raw:
        if key in RESERVED_ENTRY_KEYS and key not in OP_ENTRY_KEYS:
            ctx.error(
                raw.key_mark(key),
                f"'{key}' is not allowed here: an `op` entry takes {', '.join(OP_ENTRY_KEYS[1:])} and the "
                f"keywords of keras.ops.{info.name}",
                code="bad-op",
            )
    for key in raw:
        if key not in RESERVED_ENTRY_KEYS:
            _check_keyword(ctx, info, raw, key)
    return info


def _check_keyword(ctx: Context, op: OpInfo, raw: PMap, key: Any) -> None:
    info, value, mark = op.info, raw[key], raw.value_mark(key)
    if key not in info.params:
        if not info.open:
            ctx.error(
                raw.key_mark(key),
                f"keras.ops.{op.name} has no argument '{key}'" + did_you_mean(str(key), info.params),
                hint=None
                if closest(str(key), info.params)
                else f"keras.ops.{op.name} takes: " + ", ".join(_signature(op)),
                code="unknown-argument",
            )
        return
    if isinstance(value, bool) and info.expects_number(str(key)):
        ctx.error(
            mark, f"keras.ops.{op.name} argument '{key}' is a number, not {str(value).lower()}", code="bad-argument"
        )
        return
    expected = None if mark in ctx.unresolved else wrong_argument_type(info, str(key), value)
    if expected is not None:
        ctx.error(mark, f"keras.ops.{op.name} argument '{key}' must be {expected}, got {value!r}", code="bad-argument")


def _signature(op: OpInfo) -> list[str]:
    return [*op.positional, *(["*args"] if op.varargs else []), *sorted(op.info.params - set(op.positional))]


def bind_op(
    ctx: Context, raw: PMap, entry: LayerEntry, op: OpInfo, defined: dict[str, Mark], later: dict[str, Mark]
) -> None:
    """Bind the entry's `inputs` (by position or keyword) and keyword keys to the function's
    parameters, as Python would: each argument once, every required one given."""
    keywords: dict[str, tuple[Any, Mark]] = {
        str(k): (raw[k], raw.value_mark(k)) for k in raw if k not in RESERVED_ENTRY_KEYS
    }
    for key, (value, mark) in keywords.items():
        if isinstance(value, str) and value.split("[", 1)[0] in defined:
            ctx.error(
                mark,
                f"'{value}' names a tensor: keras.ops.{op.name}'s '{key}' would get the text, not the tensor",
                hint=f"tensors go in `inputs`: inputs: {{{key}: {value}}}",
                code="bad-op",
            )
    positional: list[tuple[Any, Mark]] = []
    tensors = 0
    if "inputs" not in raw:
        positional = [(ENTRY_ABOVE, entry.mark)]
        tensors = 1
    else:
        value, mark = raw["inputs"], raw.value_mark("inputs")
        if isinstance(value, PMap):
            for key in value:
                item = _argument(ctx, value[key], value.value_mark(key), defined, later)
                if str(key) in keywords:
                    ctx.error(
                        value.key_mark(key),
                        f"keras.ops.{op.name} argument '{key}' is given twice: in `inputs` and as a key",
                        code="bad-op",
                    )
                elif key not in op.info.params and not op.info.open:
                    ctx.error(
                        value.key_mark(key),
                        f"keras.ops.{op.name} has no argument '{key}'" + did_you_mean(str(key), op.info.params),
                        hint=f"keras.ops.{op.name} takes: " + ", ".join(_signature(op)),
                        code="unknown-argument",
                    )
                keywords[str(key)] = (item, value.value_mark(key))
                tensors += _count_refs(item)
        elif isinstance(value, PList):
            if not value:
                ctx.error(mark, "`inputs` is an empty list", code="bad-reference")
            for index, item in enumerate(value):
                argument = _argument(ctx, item, value.value_mark(index), defined, later)
                positional.append((argument, value.value_mark(index)))
                tensors += _count_refs(argument)
        else:
            argument = _argument(ctx, value, mark, defined, later)
            positional.append((argument, mark))
            tensors += _count_refs(argument)
        if tensors == 0 and value not in ({}, []):
            ctx.error(
                mark,
                f"keras.ops.{op.name} is given no tensor: `inputs` holds only constants",
                hint="name an input or a layer above in `inputs` (constants go beside it: inputs: [hidden, 3.0])",
                code="op-without-tensor",
            )
    free = [name for name in op.positional if name not in keywords]
    for (item, _), name in zip(positional, free):
        entry.op_arguments[name] = item
    extra = positional[len(free) :]
    if extra and not op.varargs:
        taken = ", ".join(free) if free else "none"
        ctx.error(
            extra[0][1],
            f"keras.ops.{op.name} takes {len(free)} argument{'s' if len(free) != 1 else ''} by position "
            f"here ({taken}), given {len(positional)}",
            hint=f"keras.ops.{op.name}({', '.join(_signature(op))})",
            code="bad-op",
        )
    entry.op_varargs = [item for item, _ in extra] if op.varargs else []
    entry.op_arguments.update({name: item for name, (item, _) in keywords.items()})
    missing = [name for name in op.info.required if name not in entry.op_arguments]
    if missing:
        ctx.error(
            raw.value_mark("inputs") if "inputs" in raw else raw.mark,
            f"keras.ops.{op.name} needs {', '.join(repr(m) for m in missing)}"
            + (" (the entry above is its first argument)" if "inputs" not in raw else ""),
            hint=f"keras.ops.{op.name}({', '.join(_signature(op))}); give tensors in `inputs` (a list by position, "
            "a mapping by name) and other values as keys",
            code="missing-argument",
        )


def _argument(ctx: Context, value: Any, mark: Mark, defined: dict[str, Mark], later: dict[str, Mark]) -> Any:
    """A reference (text), a constant (a number, true/false, null) or a list of them."""
    if isinstance(value, str):
        ref = reference(ctx, value, mark)
        if ref is not None:
            resolve(ctx, ref, defined, later)  # reported there; still a tensor argument
        return ref if ref is not None else Ref(value, None, mark)
    if isinstance(value, PList):
        return [_argument(ctx, item, value.value_mark(i), defined, later) for i, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    ctx.error(
        mark,
        f"an op argument is a reference, a number, true/false, null or a list of them, got {value!r}",
        code="bad-op",
    )
    return None


def _count_refs(value: Any) -> int:
    if isinstance(value, Ref):
        return 1
    if isinstance(value, list):
        return sum(_count_refs(v) for v in value)
    return 0
