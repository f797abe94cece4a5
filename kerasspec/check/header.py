"""The file's header keys (version, name, kind) and its inputs."""

from __future__ import annotations

import re

from ..errors import closest, did_you_mean
from ..format.declaration import INPUT, KINDS, MODEL_NAME_PATTERN, SPEC_VERSION
from ..loader import PList, PMap
from ..spec import InputDef
from .context import Context, Fatal
from .sections import check_section

_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def check_version(ctx: Context, tree: PMap) -> int:
    if "version" not in tree:
        return SPEC_VERSION
    value = tree["version"]
    if isinstance(value, bool) or value != SPEC_VERSION or not isinstance(value, int):
        ctx.error(
            tree.value_mark("version"),
            f"unsupported spec version {value!r}; this kerasspec reads version {SPEC_VERSION}",
            hint="write `version: 1` or leave it out",
            code="bad-version",
        )
    return SPEC_VERSION


def check_model_name(ctx: Context, tree: PMap) -> str | None:
    if "name" not in tree:
        ctx.error(
            tree.mark,
            "the spec has no `name`",
            hint="add `name: my_model` (letters, digits, '_', '-', '.')",
            code="missing-name",
        )
        return None
    name = tree["name"]
    mark = tree.value_mark("name")
    if not isinstance(name, str) or not name:
        ctx.error(mark, f"`name` must be text, got {name!r}", code="bad-name")
        return None
    if "/" in name or "\\" in name:
        ctx.error(
            mark,
            f"model name '{name}' contains a path separator",
            hint="the name becomes file and directory names; use letters, digits, '_', '-', '.'",
            code="bad-name",
        )
    elif ".." in name or name.startswith("."):
        ctx.error(
            mark,
            f"model name '{name}' contains '..' or starts with '.'",
            hint="the name becomes file and directory names; use letters, digits, '_', '-', '.'",
            code="bad-name",
        )
    elif not _MODEL_NAME.match(name):
        ctx.error(mark, f"model name '{name}' may contain only letters, digits, '_', '-' and '.'", code="bad-name")
    return name


def infer_kind(ctx: Context, tree: PMap) -> str:
    if "kind" in tree:
        kind = tree["kind"]
        if kind not in KINDS:
            ctx.error(
                tree.value_mark("kind"),
                f"unknown kind {kind!r}" + (did_you_mean(kind, KINDS) if isinstance(kind, str) else ""),
                hint="kind is sequential, functional or subclass (or left out to be inferred)",
                code="bad-kind",
            )
            raise Fatal
        return kind
    if "class" in tree:
        return "subclass"
    layers = tree.get("layers")
    layer_has_inputs = isinstance(layers, PList) and any(isinstance(e, PMap) and "inputs" in e for e in layers)
    if "inputs" in tree or "outputs" in tree:
        return "functional"
    if layer_has_inputs and "input" not in tree:
        return "functional"
    return "sequential"


def input_def(ctx: Context, container: PMap, key: str, name: str, allow_name: bool) -> InputDef | None:
    label = "input" if allow_name else f"inputs.{key}"
    value = container[key]
    mark = container.value_mark(key)
    if isinstance(value, (PList, int)) and not isinstance(value, bool):
        holder = PMap(mark)
        holder.put("shape", value, mark, mark)
        value = holder
    if not isinstance(value, PMap):
        ctx.error(mark, f"input '{name}' must be a mapping such as {{shape: [10]}}", code="bad-input")
        return None
    if not allow_name and "name" in value:
        allowed = [k.name for k in INPUT.keys if k.name != "name"]
        ctx.unknown_key(value, "name", allowed, "unknown input key 'name'", INPUT.listing)
    check_section(ctx, value, INPUT, label, skip=("shape", "name"))
    if "shape" not in value:  # reported by the section check: the declaration requires it
        return None
    shape = read_shape(ctx, value, "shape")
    dtype = value.get("dtype")
    if dtype is not None and (not isinstance(dtype, str) or dtype not in ctx.catalog.dtypes):
        ctx.error(
            value.value_mark("dtype"),
            f"unknown dtype {dtype!r}" + (did_you_mean(dtype, ctx.catalog.dtypes) if isinstance(dtype, str) else ""),
            hint=None
            if isinstance(dtype, str) and closest(dtype, ctx.catalog.dtypes)
            else "dtypes: " + ", ".join(sorted(ctx.catalog.dtypes)),
            code="bad-dtype",
        )
    if allow_name and isinstance(value.get("name"), str):
        name = value["name"]
    options = {k: value[k] for k in ("sparse", "ragged", "batch_size", "optional") if k in value}
    return InputDef(name, shape or (), dtype, options, mark)


def read_shape(ctx: Context, container: PMap, key: str) -> tuple[int | None, ...] | None:
    value = container[key]
    mark = container.value_mark(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value_list: list = [value]
        marks = [mark]
    elif isinstance(value, PList):
        value_list, marks = list(value), value.item_marks
    else:
        ctx.error(mark, f"a shape is a list of sizes such as [28, 28, 1], got {value!r}", code="bad-shape")
        return None
    dims: list[int | None] = []
    for dim, dim_mark in zip(value_list, marks):
        if dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0):
            dims.append(dim)
        else:
            ctx.error(dim_mark, f"a dimension is a positive whole number or null, got {dim!r}", code="bad-shape")
            return None
    return tuple(dims)
