"""Layer entries: their form (type, reuse or spec), names, reuse, and included specs."""

from __future__ import annotations

from pathlib import Path

from ..errors import Mark, closest, did_you_mean
from ..format.declaration import ENTRY_KEYS, RESERVED_ENTRY_KEYS
from ..kinds import KINDS
from ..loader import PList, PMap
from ..spec import InputDef, LayerEntry, Spec
from .context import Context, misspelt_keys
from .objects import check_object
from .ops import read_op
from .refs import reference
from .sections import check_value

ENTRY_MODES = ("type", "reuse", "spec", "op")


def layer_list(ctx: Context, tree: PMap) -> list[tuple[int, PMap]]:
    layers = tree.get("layers")
    if "layers" not in tree:
        if "layers" in misspelt_keys(tree):
            return []  # the unknown-key error already says `layer:` should be `layers:`
        ctx.error(
            tree.mark, "the spec has no `layers`", hint="layers: [{type: Dense, units: 10}]", code="missing-layers"
        )
        return []
    if not isinstance(layers, PList) or not layers:
        ctx.error(tree.value_mark("layers"), "`layers` must be a non-empty list of layer entries", code="bad-layers")
        return []
    entries = []
    for index, raw in enumerate(layers):
        if not isinstance(raw, PMap):
            ctx.error(
                layers.value_mark(index),
                f"layers[{index}] must be a mapping such as {{type: Dense, units: 10}}, got {raw!r}",
                code="bad-layer",
            )
            continue
        entries.append((index, raw))
    return entries


def read_entry(
    ctx: Context,
    raw: PMap,
    index: int,
    mark: Mark,
    spec: Spec,
    include_stack: tuple[Path, ...],
    *,
    name: str | None = None,
) -> LayerEntry | None:
    """One entry; `name` is its name where it is not the one written (`d1.conv` for the entry
    `conv` of a block used as `d1`)."""
    entry = LayerEntry(index=index, mark=raw.mark, raw=raw)
    if "name" in raw:
        written = raw["name"]
        name_mark = raw.value_mark("name")
        if not isinstance(written, str) or not written:
            ctx.error(name_mark, f"a layer name is text, got {written!r}", code="bad-name")
        elif any(c in "/[]." or c.isspace() for c in written):
            ctx.error(
                name_mark,
                f"layer name '{written}' may not contain '/', '[', ']', '.' or spaces",
                hint="Keras refuses '/' in names, name[i] picks one of a layer's outputs, "
                "and '.' joins the names of a block's entries (d1.conv)",
                code="bad-name",
            )
        else:
            entry.name = written
    if name is not None:
        entry.name = name
    modes = [k for k in ENTRY_MODES if k in raw]
    if len(modes) > 1:
        ctx.error(
            raw.key_mark(modes[1]),
            f"an entry has one of `type`, `reuse`, `spec` or `op`, not {' and '.join('`' + m + '`' for m in modes)}",
            code="bad-layer",
        )
        return None
    if not modes:
        misspelt = [(key, close) for key in raw if (close := closest(str(key), (*ENTRY_MODES, "block")))]
        where, close = misspelt[0] if misspelt else (None, None)
        ctx.error(
            raw.key_mark(where) if where is not None else raw.mark,
            f"{entry.describe() if name is not None else f'layers[{index}]'} has no `type`"
            + (f"; did you mean '{close}' for '{where}'?" if close else ""),
            hint="every entry names a Keras layer (`type: Dense`), reuses one (`reuse: name`), includes a spec "
            "(`spec: file.yaml`), calls a keras.ops function (`op: add`) or uses a block (`block: name`)",
            code="missing-type",
        )
        return None
    if modes[0] == "op":
        read_op(ctx, raw, entry)
        return entry
    if "call" in raw:
        call = raw["call"]
        if not isinstance(call, PMap):
            ctx.error(
                raw.value_mark("call"),
                "`call` must be a mapping of call keywords such as {training: false}",
                code="bad-value",
            )
        else:
            entry.call = dict(call)
    extra = [k for k in raw if k not in RESERVED_ENTRY_KEYS]
    mode = modes[0]
    read_adapt(ctx, raw, entry, mode)
    if mode == "type" and raw["type"] == "Sequential":
        entry.type = "Sequential"
        entry.spec = inline_sequential(ctx, raw, entry.name or f"sequential_{entry.index}", spec, include_stack)
        return entry
    if "layers" in raw:
        ctx.error(raw.key_mark("layers"), "`layers` goes with an inline `type: Sequential` only", code="bad-layer")
    if mode == "type":
        entry.type = raw["type"]
        entry.kwargs = {k: raw[k] for k in extra}
        check_object(ctx, KINDS["layers"], raw, extra)
    else:
        for key in extra:
            what = "reuses a layer as it is" if mode == "reuse" else "builds the included spec's model"
            ctx.error(
                raw.key_mark(key),
                f"'{key}' is not allowed here: a `{mode}` entry {what}, so it takes no constructor arguments",
                hint="only name, inputs and call go with `" + mode + "`",
                code="bad-layer",
            )
        if mode == "reuse":
            entry.reuse = reference(ctx, raw["reuse"], raw.value_mark("reuse"))
        else:
            entry.spec = include(ctx, raw, spec, include_stack)
    return entry


_ADAPT = next(key for key in ENTRY_KEYS if key.name == "adapt")
LEARNS_VOCABULARY = ("StringLookup", "IntegerLookup", "TextVectorization")  # empty without adapt or vocabulary
# What an adapting layer learns, when written as its arguments instead.
GIVEN_STATE = {
    **{name: ("vocabulary",) for name in LEARNS_VOCABULARY},
    "Discretization": ("bin_boundaries",),
    "Normalization": ("mean", "variance"),
}


def read_adapt(ctx: Context, raw: PMap, entry: LayerEntry, mode: str) -> None:
    """`adapt: true | {samples: N}`: on a layer `type:` whose class has `adapt()`. A lookup
    that neither adapts nor is given its vocabulary has an empty table, which fails only when
    data first goes through it."""
    if raw.get("adapt") in (None, False):
        if mode == "type" and raw.get("type") in LEARNS_VOCABULARY and raw.get("vocabulary") is None:
            ctx.error(
                raw.value_mark("type"),
                f"{entry.describe()} ({raw['type']}) has no vocabulary: it neither learns one (`adapt`) nor is "
                "given one (`vocabulary`)",
                hint="add `adapt: true` to learn it from the training data, or give `vocabulary: [...]`",
                code="no-vocabulary",
            )
        return
    value, mark = raw["adapt"], raw.value_mark("adapt")
    before = len(ctx.errors)
    check_value(ctx, _ADAPT.type, value, mark, "adapt", None, _ADAPT.doc)
    if len(ctx.errors) > before:
        for error in ctx.errors[before:]:
            error.key_path = None  # the full path (`layers[3].adapt.samples`) is found from the mark
        return
    if value is False:
        return
    type_name = raw.get("type")
    if mode != "type" or type_name == "Sequential":
        what = "an inline `type: Sequential`" if mode == "type" else f"a `{mode}` entry"
        ctx.error(
            raw.key_mark("adapt"),
            f"`adapt` goes with a layer that learns from data; {what} has no adapt()",
            hint="write `adapt: true` on the preprocessing layer's own entry",
            code="bad-adapt",
        )
        return
    if isinstance(type_name, str) and ":" not in type_name:
        info = ctx.catalog.get_class(KINDS["layers"].name, type_name)
        if info is not None and not info.adapts:
            adapting = sorted(n for n, c in ctx.catalog.classes(KINDS["layers"].name).items() if c.adapts)
            ctx.error(
                raw.key_mark("adapt"),
                f"{type_name} has no adapt(): it learns nothing from data before training",
                hint="layers that adapt: " + ", ".join(adapting),
                code="bad-adapt",
            )
            return
    given = [key for key in GIVEN_STATE.get(str(type_name), ()) if raw.get(key) is not None]
    if given:
        ctx.error(
            raw.key_mark(given[0]),
            f"{entry.describe()} is given `{given[0]}` and adapts (`adapt`): adapting would learn what `{given[0]}` "
            "already says",
            hint=f"remove `{given[0]}` to learn it from the data, or remove `adapt`",
            code="bad-adapt",
        )
        return
    if isinstance(raw.get("inputs"), (PList, PMap)):
        ctx.error(
            raw.key_mark("adapt"),
            f"{entry.describe()} is called on several tensors; a layer adapts on the one tensor it is called on",
            code="bad-adapt",
        )
        return
    samples = value.get("samples") if isinstance(value, PMap) else None
    entry.adapt = int(samples) if samples is not None else True


def register_name(ctx: Context, entry: LayerEntry, names: dict[str, Mark], inputs: dict[str, InputDef]) -> None:
    if not entry.name:
        return
    mark = entry.raw.value_mark("name")
    if entry.name in inputs:
        ctx.error(
            mark,
            f"duplicate name '{entry.name}': an input is already called that (line {inputs[entry.name].mark.line})",
            code="duplicate-name",
        )
    elif entry.name in names:
        ctx.error(
            mark,
            f"duplicate name '{entry.name}' (first used at line {names[entry.name].line})",
            hint="every layer name must be unique in a spec",
            code="duplicate-name",
        )
    else:
        names[entry.name] = mark


def check_reuse(
    ctx: Context, entry: LayerEntry, layer_names: dict[str, Mark], spec: Spec, inputs: dict[str, InputDef]
) -> None:
    ref = entry.reuse
    if ref is None:
        return
    if ref.index is not None:
        ctx.error(ref.mark, f"`reuse` names a layer, not one of its outputs: write '{ref.name}'", code="bad-reuse")
    elif ref.name == entry.name:
        ctx.error(ref.mark, f"'{ref.name}' is this entry itself; `reuse` names a layer entry above", code="bad-reuse")
    elif ref.name in inputs:
        ctx.error(
            ref.mark, f"'{ref.name}' is an input, not a layer; `reuse` names a layer entry above", code="bad-reuse"
        )
    elif ref.name not in layer_names:
        later = any(isinstance(e, PMap) and e.get("name") == ref.name for e in spec.tree.get("layers", []))
        if later:
            ctx.error(
                ref.mark,
                f"'{ref.name}' is defined later; `reuse` can only name a layer above it",
                code="forward-reference",
            )
        else:
            ctx.error(
                ref.mark,
                f"unknown layer '{ref.name}' in `reuse`" + did_you_mean(ref.name, layer_names),
                code="unknown-reference",
            )


def check_included_call(ctx: Context, entry: LayerEntry) -> None:
    included = entry.spec
    if included is None or entry.inputs is None:
        return
    wanted = max(1, len(included.input_names))
    given = len(entry.inputs) if isinstance(entry.inputs, list) else 1
    if given != wanted and not isinstance(entry.inputs, dict):
        ctx.error(
            entry.raw.value_mark("inputs"),
            f"the included spec '{included.name}' takes {wanted} input{'s' if wanted != 1 else ''}"
            + (f" ({', '.join(included.input_names)})" if wanted > 1 else "")
            + f", given {given}",
            code="include-arity",
        )


INLINE_SEQUENTIAL_KEYS = ("type", "name", "inputs", "call", "layers")
NOT_INLINE = ("compile", "data", "train", "vars", "blocks")


def inline_sequential(
    ctx: Context,
    raw: PMap,
    name: str,
    spec: Spec,
    include_stack: tuple[Path, ...],
    keys: tuple[str, ...] = INLINE_SEQUENTIAL_KEYS,
) -> Spec | None:
    """`{type: Sequential, name: augmentation, layers: [...]}`: a sequential model written in
    place and named `name`, checked as a sequential spec of its own."""
    for key in raw:
        if key not in keys:
            ctx.error(
                raw.key_mark(key),
                f"'{key}' is not allowed here: an inline `type: Sequential` takes {', '.join(keys[1:])}",
                code="bad-layer",
            )
    if "layers" not in raw:
        ctx.error(
            raw.mark,
            "an inline `type: Sequential` needs `layers`",
            hint="layers: [{type: Dense, units: 8}]",
            code="missing-layers",
        )
        return None
    mark = raw.value_mark("type")
    tree = PMap(raw.mark)
    tree.put("name", name, mark, mark)
    tree.put("kind", "sequential", mark, mark)
    tree.put("layers", raw["layers"], raw.key_mark("layers"), raw.value_mark("layers"))
    return ctx.inline(tree, spec, include_stack)


def include(ctx: Context, raw: PMap, spec: Spec, include_stack: tuple[Path, ...]) -> Spec | None:
    value = raw["spec"]
    mark = raw.value_mark("spec")
    if isinstance(value, PMap):  # an inline spec: the keys of a file, but no compile/data/train/vars
        for key in NOT_INLINE:
            if key in value:
                ctx.error(
                    value.key_mark(key),
                    f"an inline spec has no `{key}`: the spec that holds it has them",
                    code="bad-include",
                )
        return ctx.inline(value, spec, include_stack)
    if not isinstance(value, str) or not value:
        ctx.error(mark, f"`spec` is the path of a spec file, got {value!r}", code="bad-include")
        return None
    if Path(value).is_absolute():
        ctx.error(
            mark,
            f"`spec: {value}` is an absolute path",
            hint="write it relative to this spec's directory",
            code="bad-include",
        )
        return None
    if not value.endswith((".yaml", ".yml")):
        ctx.error(mark, f"`spec: {value}` does not name a .yaml or .yml file", code="bad-include")
        return None
    target = spec.path.parent / value
    shown = str(Path(spec.shown).parent / value)
    resolved = target.resolve()
    chain = include_stack + (spec.path.resolve(),)
    if resolved in chain:
        names = [p.name for p in chain[chain.index(resolved) :]] + [resolved.name]
        ctx.error(
            mark,
            "include loop: " + " -> ".join(names),
            hint="a spec cannot include itself, directly or through others",
            code="include-loop",
        )
        return None
    if not target.is_file():
        ctx.error(mark, f"included spec '{value}' not found (looked for {shown})", code="bad-include")
        return None
    return ctx.include(target, shown, chain)
