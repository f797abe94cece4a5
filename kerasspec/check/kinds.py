"""The rules of each kind of spec: sequential, functional, subclass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import Mark
from ..loader import PMap
from ..spec import LayerEntry, Spec
from .context import Context
from .entries import check_included_call, check_reuse, layer_list, read_entry, register_name
from .header import input_def
from .objects import check_value, code_reference
from .ops import bind_op
from .refs import call_inputs, check_outputs

_NOT_IN_SEQUENTIAL = {
    "inputs": (
        "has `inputs`, but the spec is sequential",
        "in a sequential spec each layer takes the one above it; for a graph, declare top-level `inputs:` and `outputs:`",
    ),
    "call": (
        "has `call`, but a sequential model calls each layer plainly",
        "use a functional spec (top-level `inputs:`/`outputs:`) to pass call arguments",
    ),
}


def _read_entries(
    ctx: Context, spec: Spec, include_stack: tuple[Path, ...], entries: list[tuple[int, PMap]]
) -> Iterator[tuple[int, PMap, LayerEntry]]:
    """Each well-formed layer entry, read (its form, name, type and keywords checked)."""
    for index, raw in entries:
        entry = read_entry(ctx, raw, index, spec.tree["layers"].value_mark(index), spec, include_stack)
        if entry is not None:
            yield index, raw, entry


def check_sequential(ctx: Context, spec: Spec, include_stack: tuple[Path, ...]) -> None:
    tree = spec.tree
    if "input" in tree:
        spec.input = input_def(ctx, tree, "input", "input", allow_name=True)
    names: dict[str, Mark] = {}
    for _, raw, entry in _read_entries(ctx, spec, include_stack, layer_list(ctx, tree)):
        for key, (message, hint) in _NOT_IN_SEQUENTIAL.items():
            if key in raw:
                ctx.error(raw.key_mark(key), f"{entry.describe()} {message}", hint=hint, code="sequential-rules")
        if entry.op is not None:
            ctx.error(
                raw.key_mark("op"),
                f"{entry.describe()} calls keras.ops.{entry.op}, but the spec is sequential",
                hint="op entries belong to functional graphs: declare top-level `inputs:` and `outputs:`",
                code="sequential-rules",
            )
        register_name(ctx, entry, names, {})
        if entry.reuse is not None:
            check_reuse(ctx, entry, names, spec, {})
        spec.layers.append(entry)


def check_functional(ctx: Context, spec: Spec, include_stack: tuple[Path, ...]) -> None:
    tree = spec.tree
    raw_inputs = tree.get("inputs")
    if not isinstance(raw_inputs, PMap) or not raw_inputs:
        ctx.error(
            tree.value_mark("inputs") if "inputs" in tree else tree.mark,
            "a functional spec needs `inputs`: a mapping of input names to {shape: [...]}",
            hint="inputs: {features: {shape: [10]}}",
            code="functional-rules",
        )
        raw_inputs = PMap(tree.mark)
    for key in raw_inputs:
        if not isinstance(key, str) or not key or "/" in key or "[" in key:
            ctx.error(raw_inputs.key_mark(key), f"bad input name {key!r}", code="bad-name")
            continue
        definition = input_def(ctx, raw_inputs, key, key, allow_name=False)
        if definition:
            spec.inputs[key] = definition
    entries = layer_list(ctx, tree)
    later_names: dict[str, Mark] = {}
    for _, raw in entries:
        if isinstance(raw.get("name"), str):
            later_names.setdefault(raw["name"], raw.value_mark("name"))
    # every input written counts as defined, a bad one too: its own error is reported once
    defined: dict[str, Mark] = {str(n): raw_inputs.value_mark(n) for n in raw_inputs if isinstance(n, str)}
    layer_names: dict[str, Mark] = {}
    for index, raw, entry in _read_entries(ctx, spec, include_stack, entries):
        op = ctx.catalog.op(entry.op) if entry.op is not None else None
        if op is not None:
            bind_op(ctx, raw, entry, op, defined, later_names)
        elif "inputs" in raw:
            entry.inputs = call_inputs(ctx, raw, defined, later_names)
        if "inputs" not in raw and index == 0 and len(spec.inputs) > 1:
            ctx.error(
                entry.mark,
                f"the first layer has no `inputs`, and the spec has {len(spec.inputs)} inputs ({', '.join(spec.inputs)})",
                hint=f"say which it is called on: `inputs: {next(iter(spec.inputs))}` (a list for merge layers)",
                code="ambiguous-input",
            )
        if entry.reuse is not None:
            check_reuse(ctx, entry, layer_names, spec, spec.inputs)
        if entry.spec is not None:
            check_included_call(ctx, entry)
        register_name(ctx, entry, layer_names, spec.inputs)
        if entry.name:
            defined[entry.name] = entry.mark
        spec.layers.append(entry)
    for _, raw in entries:  # an entry with errors of its own may still be an output
        if isinstance(raw.get("name"), str):
            defined.setdefault(raw["name"], raw.value_mark("name"))
    check_outputs(ctx, spec, defined, later_names)


def check_subclass(ctx: Context, spec: Spec) -> None:
    tree = spec.tree
    class_ref = tree.get("class")
    if class_ref is None:
        ctx.error(tree.mark, "a subclass spec needs `class: package.module:ClassName`", code="subclass-rules")
    elif code_reference(ctx, class_ref, tree.value_mark("class"), "class"):
        spec.class_ref = class_ref
    args = tree.get("args")
    if args is not None:
        if not isinstance(args, PMap):
            ctx.error(tree.value_mark("args"), "`args` must be a mapping of constructor keywords", code="bad-value")
        else:
            for key in args:
                check_value(ctx, str(key), args[key], args.value_mark(key))
            spec.args = dict(args)
    if "input" in tree:
        spec.input = input_def(ctx, tree, "input", "input", allow_name=True)
    elif isinstance(tree.get("inputs"), PMap):
        for key in tree["inputs"]:
            definition = input_def(ctx, tree["inputs"], key, str(key), allow_name=False)
            if definition:
                spec.inputs[str(key)] = definition
    else:
        ctx.error(
            tree.mark,
            "a subclass spec needs `inputs:` (or `input:`) shapes to build the model with",
            code="subclass-rules",
        )
