"""References (`name`, `name[i]`): what a layer is called on, and the outputs."""

from __future__ import annotations

import re
from typing import Any

from ..errors import Mark, closest, did_you_mean
from ..format.declaration import REFERENCE
from ..loader import PList, PMap
from ..spec import CallInputs, Ref, Spec
from .context import Context, misspelt_keys

_REFERENCE = re.compile(REFERENCE)


def reference(ctx: Context, value: Any, mark: Mark) -> Ref | None:
    if not isinstance(value, str):
        ctx.error(mark, f"a reference is the name of an input or layer, got {value!r}", code="bad-reference")
        return None
    match = _REFERENCE.match(value)
    if not match:
        ctx.error(
            mark,
            f"bad reference '{value}'",
            hint="write NAME, or NAME[INDEX] with INDEX a whole number from 0 for one of a layer's outputs",
            code="bad-reference",
        )
        return None
    index = match.group("index")
    return Ref(match.group("name"), int(index) if index is not None else None, mark)


def resolve(ctx: Context, ref: Ref | None, defined: dict[str, Mark], later: dict[str, Mark]) -> bool:
    """True when `ref` names something defined above; else reports why not."""
    if ref is None:
        return False
    if ref.name in defined:
        return True
    if ref.mark in ctx.unresolved:
        return False  # reported already (a block's entry naming what is not in the block)
    if ref.name in later:
        ctx.error(
            ref.mark,
            f"'{ref.name}' is defined later (line {later[ref.name].line}); a layer can only use inputs and layers above it",
            hint="move this entry below the one it uses",
            code="forward-reference",
        )
    elif _inner_reference(ref.name, defined, later):
        use, _, inner = ref.name.rpartition(".")
        entries = sorted(
            {n[len(use) + 1 :] for n in (*defined, *later) if n.startswith(use + ".") and "." not in n[len(use) + 1 :]}
            - {"in"}
        )
        if not entries:
            return False  # a use that could not be expanded: reported already
        ctx.error(
            ref.mark,
            f"block '{use}' has no entry '{inner}'" + did_you_mean(inner, entries),
            hint=None if closest(inner, entries) else "its entries: " + ", ".join(entries),
            code="unknown-reference",
        )
    elif ref.name == "in":
        ctx.error(
            ref.mark,
            "`in` is a block's input, and this entry is not in a block",
            hint="name the input or entry it is called on",
            code="unknown-reference",
        )
    else:
        ctx.error(
            ref.mark,
            f"unknown reference '{ref.name}'" + did_you_mean(ref.name, defined),
            hint=None if closest(ref.name, defined) else "known names: " + ", ".join(defined),
            code="unknown-reference",
        )
    return False


def _inner_reference(name: str, defined: dict[str, Mark], later: dict[str, Mark]) -> bool:
    """`d1.nope`: a name inside a block's use (`d1`) that the use does not have."""
    use, dot, _ = name.rpartition(".")
    return bool(dot) and (use in defined or use in later)


def call_inputs(ctx: Context, raw: PMap, defined: dict[str, Mark], later: dict[str, Mark]) -> CallInputs | None:
    value = raw["inputs"]
    mark = raw.value_mark("inputs")
    if isinstance(value, PMap):
        result: dict[str, Any] = {}
        for key in value:
            item = value[key]
            if isinstance(item, PList):
                refs = [reference(ctx, v, item.value_mark(i)) for i, v in enumerate(item)]
                for r in refs:
                    resolve(ctx, r, defined, later)
                result[key] = [r for r in refs if r]
            elif isinstance(item, str):
                ref = reference(ctx, item, value.value_mark(key))
                resolve(ctx, ref, defined, later)
                result[key] = ref
            else:
                ctx.error(
                    value.value_mark(key),
                    f"`inputs.{key}` must name a layer or input, got {item!r}",
                    hint=f"put values that are not tensors under `call:` (call: {{{key}: {item!r}}})",
                    code="bad-reference",
                )
        return result
    if isinstance(value, PList):
        if not value:
            ctx.error(mark, "`inputs` is an empty list", code="bad-reference")
            return None
        refs = [reference(ctx, v, value.value_mark(i)) for i, v in enumerate(value)]
        for r in refs:
            resolve(ctx, r, defined, later)
        return [r for r in refs if r]
    ref = reference(ctx, value, mark)
    resolve(ctx, ref, defined, later)
    return ref


def check_outputs(ctx: Context, spec: Spec, defined: dict[str, Mark], later: dict[str, Mark]) -> None:
    tree = spec.tree
    if "outputs" not in tree:
        if "outputs" in misspelt_keys(tree):
            return
        last = next((e.name for e in reversed(spec.layers) if e.name), None)
        ctx.error(
            tree.mark,
            "a functional spec needs `outputs`",
            hint=f"outputs: [{last}]" if last else "name the output layer and list it: outputs: [name]",
            code="missing-outputs",
        )
        return
    value = tree["outputs"]
    mark = tree.value_mark("outputs")
    if isinstance(value, PMap):
        spec.outputs_form = "dict"
        if not value:
            ctx.error(mark, "`outputs` is an empty mapping", code="bad-outputs")
        for key in value:
            ref = reference(ctx, value[key], value.value_mark(key))
            if ref is not None and resolve(ctx, ref, defined, later):
                spec.outputs.append((str(key), ref))
    elif isinstance(value, PList):
        spec.outputs_form = "list"
        if not value:
            ctx.error(mark, "`outputs` is an empty list", code="bad-outputs")
        for i, item in enumerate(value):
            ref = reference(ctx, item, value.value_mark(i))
            if ref is not None and resolve(ctx, ref, defined, later):
                spec.outputs.append((ref.name, ref))
    else:
        spec.outputs_form = "one"
        ref = reference(ctx, value, mark)
        if ref is not None and resolve(ctx, ref, defined, later):
            spec.outputs.append((ref.name, ref))
