"""The rules of each kind of spec: sequential, functional, subclass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Mark
from ..loader import PList, PMap
from ..spec import LayerEntry, Spec
from ..walker import walk_parameter
from .blocks import Expansion, Placed, Scope, Use, canonical, canonical_argument, canonical_ref, expand
from .context import Context
from .entries import check_included_call, check_reuse, include, inline_sequential, layer_list, read_entry, register_name
from .header import input_def
from .objects import StaticCheck, code_reference
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


def check_sequential(ctx: Context, spec: Spec, include_stack: tuple[Path, ...], scope: Scope) -> None:
    tree = spec.tree
    if "input" in tree:
        spec.input = input_def(ctx, tree, "input", "input", allow_name=True)
    expansion = expand(ctx, scope, layer_list(ctx, tree), sequential=True)
    names: dict[str, Mark] = {}
    for placed in expansion.entries:
        for use in placed.uses:
            if "inputs" in use.raw:
                message, hint = _NOT_IN_SEQUENTIAL["inputs"]
                ctx.error(
                    use.raw.key_mark("inputs"), f"block '{use.name}' {message}", hint=hint, code="sequential-rules"
                )
            register_name(ctx, _use_entry(placed, use), names, {})
        raw = placed.raw
        entry = read_entry(ctx, raw, placed.index, raw.mark, spec, include_stack, name=placed.name)
        if entry is None:
            continue
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
            _check_reuse(ctx, entry, names, spec, expansion)
        spec.layers.append(entry)
    spec.block_outputs = expansion.outputs


def check_functional(ctx: Context, spec: Spec, include_stack: tuple[Path, ...], scope: Scope) -> None:
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
        if not isinstance(key, str) or not key or any(c in key for c in "/[."):
            ctx.error(
                raw_inputs.key_mark(key),
                f"bad input name {key!r}",
                hint="'/' and '[' mean something in references, '.' joins the names of a block's entries",
                code="bad-name",
            )
            continue
        definition = input_def(ctx, raw_inputs, key, key, allow_name=False)
        if definition:
            spec.inputs[key] = definition
    expansion = expand(ctx, scope, layer_list(ctx, tree), sequential=False)
    later_names: dict[str, Mark] = {}
    for name, mark in expansion.names():
        later_names.setdefault(name, mark)
    # every input written counts as defined, a bad one too: its own error is reported once; so
    # does a block use that could not be expanded
    defined: dict[str, Mark] = {str(n): raw_inputs.value_mark(n) for n in raw_inputs if isinstance(n, str)}
    defined.update(expansion.failed)
    aliases = expansion.outputs
    layer_names: dict[str, Mark] = {}
    for position, placed in enumerate(expansion.entries):
        raw = placed.raw
        bindings = []
        for use in placed.uses:  # the block uses whose first entry this is
            register_name(ctx, _use_entry(placed, use), layer_names, spec.inputs)
            given = use.raw.get("inputs")
            called_on = None
            if isinstance(given, (str, PList)):
                called_on = canonical(call_inputs(ctx, use.raw, defined, later_names), aliases)
            bindings.append((use.input_name, called_on))
            defined[use.name] = defined[use.input_name] = use.raw.value_mark("name")
        entry = read_entry(ctx, raw, placed.index, raw.mark, spec, include_stack, name=placed.name)
        if entry is None:
            continue
        entry.block_inputs = bindings
        op = ctx.catalog.op(entry.op) if entry.op is not None else None
        if op is not None:
            bind_op(ctx, raw, entry, op, defined, later_names)
            entry.op_arguments = {k: canonical_argument(v, aliases) for k, v in entry.op_arguments.items()}
            entry.op_varargs = [canonical_argument(v, aliases) for v in entry.op_varargs]
        elif "inputs" in raw:
            entry.inputs = canonical(call_inputs(ctx, raw, defined, later_names), aliases)
        if "inputs" not in raw and position == 0 and len(spec.inputs) > 1:
            first = placed.uses[0].raw if placed.uses else raw
            what = f"entry, block '{placed.uses[0].name}'," if placed.uses else "layer"
            ctx.error(
                first.mark,
                f"the first {what} has no `inputs`, and the spec has {len(spec.inputs)} inputs ({', '.join(spec.inputs)})",
                hint=f"say which it is called on: `inputs: {next(iter(spec.inputs))}` (a list for merge layers)",
                code="ambiguous-input",
            )
        if entry.reuse is not None:
            _check_reuse(ctx, entry, layer_names, spec, expansion)
        if entry.spec is not None:
            check_included_call(ctx, entry)
        register_name(ctx, entry, layer_names, spec.inputs)
        if entry.name:
            defined[entry.name] = entry.mark
        spec.layers.append(entry)
    for name, mark in later_names.items():  # an entry with errors of its own may still be an output
        defined.setdefault(name, mark)
    _check_derived_op_names(ctx, spec)
    check_outputs(ctx, spec, defined, later_names)
    # an output given as a block's use is its output entry, named so unless the mapping names it
    outputs = [(name, canonical_ref(ref, aliases)) for name, ref in spec.outputs]
    spec.outputs = outputs if spec.outputs_form == "dict" else [(ref.name, ref) for _, ref in outputs]
    spec.block_outputs = aliases


def _use_entry(placed: Placed, use: Use) -> LayerEntry:
    """A block use as an entry, for the checks of names."""
    return LayerEntry(index=placed.index, mark=use.raw.mark, raw=use.raw, name=use.name)


def _check_reuse(
    ctx: Context, entry: LayerEntry, layer_names: dict[str, Mark], spec: Spec, expansion: Expansion
) -> None:
    ref = entry.reuse
    if ref is not None and ref.name in expansion.outputs:
        ctx.error(
            ref.mark,
            f"'{ref.name}' is a block's use, not a layer; `reuse` names a layer entry",
            hint=f"its output layer is '{expansion.outputs[ref.name]}'",
            code="bad-reuse",
        )
        return
    check_reuse(ctx, entry, layer_names, spec, {} if spec.kind == "sequential" else spec.inputs)


ARG_INCLUDE_KEYS = ("spec", "name")
ARG_SEQUENTIAL_KEYS = ("type", "name", "layers")


class _ArgsCheck(StaticCheck):
    """The static check of a subclass's `args`: Keras objects as everywhere, and nested models
    (`{spec: file.yaml}`, a spec written in place, `{type: Sequential, layers: [...]}`), which
    the constructor receives built. Each is checked as a spec of its own and remembered in
    `spec.arg_models` with its model's name: its own `name`, else an included spec's name, else
    the argument's (`encoder`; `blocks_0`, `blocks_1` inside a list or mapping)."""

    def __init__(self, ctx: Context, spec: Spec, include_stack: tuple[Path, ...]):
        super().__init__(ctx)
        self.spec, self.include_stack = spec, include_stack
        self.key, self.top, self.count = "", None, 0

    def check(self, key: str, value: Any, mark: Mark | None) -> None:
        self.key, self.top, self.count = key, value, 0
        walk_parameter(self, key, value, mark)

    def visit_model(self, raw: PMap, mark: Mark | None) -> None:
        name = raw.get("name")
        if "name" in raw and (not isinstance(name, str) or not name):
            self.ctx.error(raw.value_mark("name"), f"a model name is text, got {name!r}", code="bad-name")
        if raw is self.top:
            default = self.key
        else:
            default, self.count = f"{self.key}_{self.count}", self.count + 1
        own = name if isinstance(name, str) and name else None
        if "type" in raw:
            nested = inline_sequential(
                self.ctx, raw, own or default, self.spec, self.include_stack, ARG_SEQUENTIAL_KEYS
            )
        else:
            for key in raw:
                if key not in ARG_INCLUDE_KEYS:
                    self.ctx.error(
                        raw.key_mark(key),
                        f"'{key}' is not allowed here: a nested model in `args` takes {' and '.join(ARG_INCLUDE_KEYS)}",
                        code="bad-include",
                    )
            nested = include(self.ctx, raw, self.spec, self.include_stack)
        if nested is not None:
            self.spec.arg_models[raw.mark] = (own or nested.name or default, nested)


def check_subclass(ctx: Context, spec: Spec, include_stack: tuple[Path, ...]) -> None:
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
            checker = _ArgsCheck(ctx, spec, include_stack)
            for key in args:
                checker.check(str(key), args[key], args.value_mark(key))
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


def _check_derived_op_names(ctx: Context, spec: Spec) -> None:
    """An unnamed op entry is named `<model>.<n>`; a block use named like the model names its
    entries `<model>.<n>` too. Say so at the op, before Keras refuses the model at its start."""
    names = {entry.name for entry in spec.layers if entry.name}
    for entry in spec.layers:
        derived = f"{spec.name}.{entry.index + 1}"
        if entry.op is not None and not entry.name and derived in names:
            ctx.error(
                entry.raw.key_mark("op"),
                f"this op entry would be named '{derived}', the name of an entry of block use '{spec.name}'",
                hint="give the op entry a `name`, or the block use another one than the model's",
                code="duplicate-name",
            )
