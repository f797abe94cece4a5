"""`blocks:`: entries written once and used by name, expanded in place before the entries are read.

A use `{block: down, name: d1, filters: 128}` becomes the block's entries, copied, with the
use's parameters put in their `${...}` and named `d1.<entry>` (`d1.<n>` for the n-th entry when
it has no name); references inside the block to its own entries are renamed alike, and `in`, the
block's input, becomes `d1.in`, bound when the model is built to the use's `inputs` or to the
entry above. `d1` itself stands for the block's output entry (`Expansion.outputs`).

The copies keep their positions in the block's definition, each marked with the use it was made
for (`Mark.within`), so an error found in a copy, by any check or by the build, points into the
definition and names the use.

A block's definition is checked once, used or not: its keys, its parameters, its entries' names,
the blocks it uses (a block that uses itself, directly or not, is refused) and its `${...}`, where
the file's vars are put in now and the block's parameters are left for each use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import Mark, closest, did_you_mean
from ..format.declaration import BLOCK, BLOCK_NAME_PATTERN, REFERENCE, RESERVED_ENTRY_KEYS
from ..loader import PList, PMap
from ..spec import CallInputs, Ref
from .context import Context
from .sections import check_section
from .vars import substitute

_BLOCK_NAME = re.compile(BLOCK_NAME_PATTERN)
_REFERENCE = re.compile(REFERENCE)
INPUT = "in"  # inside a block, the block's input
USE_KEYS = ("block", "name", "inputs")  # a use's own keys; the others are the block's parameters


@dataclass
class Block:
    name: str
    params: dict[str, Any]  # name -> default; None: each use must give it
    layers: PList  # as written, the file's vars put in, the parameters left
    output: str | None  # the entry whose output is the block's; None: the last
    output_mark: Mark | None = None


@dataclass
class Scope:
    """The blocks a file's layer lists (and the specs written inside it) can use."""

    blocks: dict[str, Block] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every block defined, those with errors too
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Use:
    """A block used: `name` is the full name (`r1.a` for a use inside block used as `r1`)."""

    name: str
    raw: PMap

    @property
    def input_name(self) -> str:
        return f"{self.name}.{INPUT}"


@dataclass
class Placed:
    """One entry of the flat list a layer list expands to."""

    index: int  # the written entry's position in `layers` (for a block's entries: the use's)
    raw: PMap
    name: str | None = None  # a block's entry's (`d1.conv`); None: the one written
    uses: list[Use] = field(default_factory=list)  # the uses that start here, outermost first

    @property
    def defines(self) -> str | None:
        written = self.raw.get("name")
        return self.name or (written if isinstance(written, str) else None)


@dataclass
class Expansion:
    entries: list[Placed] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # a use -> the entry whose output is its
    failed: dict[str, Mark] = field(default_factory=dict)  # uses not expanded (reported): names still known

    def names(self) -> Iterator[tuple[str, Mark]]:
        """Every name the expanded list defines (uses and entries), with where it was written."""
        for placed in self.entries:
            for use in placed.uses:
                yield use.name, use.raw.value_mark("name")
            if placed.defines:
                yield placed.defines, placed.raw.value_mark("name") if "name" in placed.raw else placed.raw.mark
        yield from self.failed.items()


# --- definitions ------------------------------------------------------------------------------------


def read_blocks(ctx: Context, tree: PMap, variables: dict[str, Any]) -> Scope:
    """The file's `blocks:`, each checked: keys, parameters, entry names, blocks used (no
    recursion) and `${...}` (vars put in, parameters left for each use)."""
    scope = Scope(vars=variables)
    raw = tree.get("blocks")
    if raw is None:
        return scope
    if not isinstance(raw, PMap):
        ctx.error(
            tree.value_mark("blocks"),
            "`blocks` must be a mapping of block names to {params, layers, output}",
            hint="blocks: {down: {params: {filters: 64}, layers: [...]}}",
            code="bad-block",
        )
        return scope
    for name in raw:
        if not isinstance(name, str) or not _BLOCK_NAME.match(name):
            ctx.error(raw.key_mark(name), f"bad block name {name!r}: use letters, digits and '_'", code="bad-block")
            continue
        scope.names.append(name)
        block = _read_block(ctx, raw, name, variables)
        if block is not None:
            scope.blocks[name] = block
    for definition in scope.blocks.values():
        for use, _ in _uses_in(definition.layers):
            if use["block"] not in scope.names:
                _unknown_block(ctx, use, scope)
    for cycle in _cycles(ctx, scope):
        for name in cycle:
            scope.blocks.pop(name, None)  # its uses are not expanded: the cycle is the one error
    return scope


def _read_block(ctx: Context, holder: PMap, name: str, variables: dict[str, Any]) -> Block | None:
    definition = holder[name]
    if not isinstance(definition, PMap):
        ctx.error(
            holder.value_mark(name),
            f"block '{name}' must be a mapping with `layers` (and `params`, `output`)",
            code="bad-block",
        )
        return None
    for key in ("params", "output"):
        if key in definition and definition[key] is None:
            del definition[key]  # null is the key left out
    check_section(ctx, definition, BLOCK, f"blocks.{name}", skip=("layers", "output"))
    params = definition.get("params")
    if not isinstance(params, PMap):
        params = PMap(definition.mark)
    defaults: dict[str, Any] = {}
    for param in list(params):
        if not isinstance(param, str) or not _BLOCK_NAME.match(param):
            ctx.error(
                params.key_mark(param), f"bad parameter name {param!r}: use letters, digits and '_'", code="bad-block"
            )
        elif param in RESERVED_ENTRY_KEYS:
            ctx.error(
                params.key_mark(param),
                f"a block cannot have a parameter '{param}': every use's `{param}` is the entry's own",
                code="bad-block",
            )
        else:
            substitute(ctx, params, param, variables)
            defaults[param] = params[param]
    layers = definition.get("layers")
    if not isinstance(layers, PList) or not layers:
        if "layers" in definition:
            ctx.error(
                definition.value_mark("layers"), f"block '{name}' needs a non-empty list of `layers`", code="bad-block"
            )
        return None
    substitute(ctx, definition, "layers", variables, deferred=defaults)
    written = _entry_names(ctx, layers)
    output = definition.get("output")
    if output is not None:
        substitute(ctx, definition, "output", variables)
        output = definition["output"]
        if output not in written:
            ctx.error(
                definition.value_mark("output"),
                f"block '{name}' has no entry {output!r} for its `output`" + did_you_mean(str(output), written),
                hint=None if closest(str(output), written) else "its named entries: " + (", ".join(written) or "none"),
                code="bad-block",
            )
            return None
    return Block(name, defaults, layers, output, definition.value_mark("output") if output is not None else None)


def _entry_names(ctx: Context, layers: PList) -> list[str]:
    """The names a block's entries are written with (a use's is required); `in` is the block's input."""
    names = []
    for index, raw in enumerate(layers):
        if not isinstance(raw, PMap):
            ctx.error(
                layers.value_mark(index),
                f"a block's entry must be a mapping such as {{type: Dense, units: 10}}, got {raw!r}",
                code="bad-layer",
            )
            continue
        for key in RESERVED_ENTRY_KEYS:
            if key in raw and raw[key] is None:
                del raw[key]  # null is the key left out
        name = raw.get("name")
        if name == INPUT:
            ctx.error(
                raw.value_mark("name"),
                f"an entry in a block cannot be called '{INPUT}': `{INPUT}` is the block's input",
                code="bad-name",
            )
        elif isinstance(name, str):
            names.append(name)
    return names


def _uses_in(value: Any) -> Iterator[tuple[PMap, Mark]]:
    """Every block use inside a block's entries, at any depth (an inline spec's entries too)."""
    if isinstance(value, PMap):
        if "block" in value:
            yield value, value.value_mark("block")
        for item in value.values():
            yield from _uses_in(item)
    elif isinstance(value, PList):
        for item in value:
            yield from _uses_in(item)


def _unknown_block(ctx: Context, use: PMap, scope: Scope) -> None:
    name = use["block"]
    if not isinstance(name, str):
        ctx.error(use.value_mark("block"), f"`block` names a block, got {name!r}", code="unknown-block")
        return
    ctx.error(
        use.value_mark("block"),
        f"unknown block '{name}'" + did_you_mean(name, scope.names),
        hint=None
        if closest(name, scope.names)
        else ("blocks: " + ", ".join(scope.names) if scope.names else "define it under `blocks:`"),
        code="unknown-block",
    )


def _cycles(ctx: Context, scope: Scope) -> list[list[str]]:
    """Blocks that use themselves, directly or through others: each cycle reported once, at the
    use that closes it."""
    edges = {
        name: [(u["block"], mark) for u, mark in _uses_in(block.layers) if u.get("block") in scope.blocks]
        for name, block in scope.blocks.items()
    }
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for target, mark in edges[name]:
            if target in path:
                cycle = path[path.index(target) :]
                if not any(set(cycle) == set(c) for c in found):
                    found.append(cycle)
                    chain = " -> ".join([*cycle, target])
                    ctx.error(
                        mark,
                        f"block '{target}' uses itself ({chain})",
                        hint="a block may use other blocks, but not itself, directly or through others",
                        code="block-recursion",
                    )
            elif target not in done:
                visit(target, [*path, target])
        done.add(name)

    for name in scope.blocks:
        if name not in done:
            visit(name, [name])
    return found


# --- uses -------------------------------------------------------------------------------------------


def expand(ctx: Context, scope: Scope, entries: list[tuple[int, PMap]], *, sequential: bool) -> Expansion:
    """A layer list with every block use replaced by the block's entries (recursively)."""
    expander = _Expander(ctx, scope, sequential)
    for index, raw in entries:
        if "block" in raw:
            expander.use(raw, index, "", (), "")
        else:
            expander.result.entries.append(Placed(index, raw))
    outputs = expander.result.outputs
    for use, target in outputs.items():
        while target in outputs:  # the output of a block whose output is a block's use
            target = outputs[target]
        outputs[use] = target
    return expander.result


class _Expander:
    def __init__(self, ctx: Context, scope: Scope, sequential: bool):
        self.ctx, self.scope, self.sequential = ctx, scope, sequential
        self.result = Expansion()

    def use(self, raw: PMap, index: int, prefix: str, stack: tuple[str, ...], outer: str) -> None:
        """Expand one use: `prefix` names the uses it is inside (`r1.`), `stack` their blocks,
        `outer` says where they were (for the marks of the copies)."""
        ctx = self.ctx
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            ctx.error(
                raw.value_mark("name") if "name" in raw else raw.mark,
                "a block entry needs a `name`" if name is None else f"a block entry's name is text, got {name!r}",
                hint=f"{{block: {raw['block']}, name: ...}}: its entries are named <name>.<entry>",
                code="bad-name",
            )
            return
        full = prefix + name
        if "." in name:
            ctx.error(
                raw.value_mark("name"),
                f"name '{name}' may not contain '.'",
                hint="'.' joins the names of a block's entries (d1.conv)",
                code="bad-name",
            )
        block_name = raw["block"]
        modes = [k for k in ("type", "reuse", "spec") if k in raw]
        if modes:
            ctx.error(
                raw.key_mark(modes[0]),
                f"an entry has one of `type`, `reuse`, `spec` or `block`, not `block` and `{modes[0]}`",
                code="bad-layer",
            )
            self.result.failed[full] = raw.value_mark("name")
            return
        block = self.scope.blocks.get(block_name) if isinstance(block_name, str) else None
        if block is None or block_name in stack:
            if not stack and block_name not in self.scope.names:  # in a block: reported with its definition
                _unknown_block(ctx, raw, self.scope)
            self.result.failed[full] = raw.value_mark("name")
            return
        values = self.parameters(raw, block)
        inputs = raw.get("inputs")
        if inputs is not None and not (isinstance(inputs, str) or (isinstance(inputs, PList) and inputs)):
            ctx.error(
                raw.value_mark("inputs"),
                f"a block is called on a reference or a list of references, got {_shown(inputs)}",
                code="bad-reference",
            )
            values = None
        if values is None:
            self.result.failed[full] = raw.value_mark("name")
            return
        within = f"in block '{block.name}', used by '{full}' at line {raw.mark.line}" + outer
        body = _copied(block.layers, f" ({within})")
        holder = PMap(body.mark)
        holder.put("layers", body, body.mark, body.mark)
        substitute(ctx, holder, "layers", {**self.scope.vars, **values})
        self.body(body, block, Use(full, raw), index, [*stack, block.name], ", " + within)

    def parameters(self, raw: PMap, block: Block) -> dict[str, Any] | None:
        """The use's parameter values, defaults filled in; None when one is missing or unknown."""
        ctx, fine = self.ctx, True
        for key in raw:
            if key not in USE_KEYS and key not in block.params:
                known = list(block.params)
                ctx.error(
                    raw.key_mark(key),
                    f"block '{block.name}' has no parameter '{key}'" + did_you_mean(str(key), known),
                    hint=None
                    if closest(str(key), known)
                    else (
                        "its parameters: " + ", ".join(known) if known else f"block '{block.name}' takes no parameters"
                    ),
                    code="unknown-parameter",
                )
                fine = False
        values = {}
        for param, default in block.params.items():
            value = default if raw.get(param) is None else raw[param]  # null is the key left out
            if value is None:
                ctx.error(
                    raw.mark,
                    f"block '{block.name}' needs parameter '{param}' (it has no default)",
                    hint=f"{{block: {block.name}, name: {raw.get('name')}, {param}: ...}}",
                    code="missing-parameter",
                )
                fine = False
            values[param] = value
        return values if fine else None

    def body(self, body: PList, block: Block, use: Use, index: int, stack: list[str], outer: str) -> None:
        """The copied entries of one use, renamed and placed; the use's input bound at the first."""
        local = {  # the block's names -> this use's
            _inner_name(raw, position): f"{use.name}.{_inner_name(raw, position)}"
            for position, raw in enumerate(body, 1)
            if isinstance(raw, PMap)
        }
        start = len(self.result.entries)
        last = None
        for position, raw in enumerate(body, 1):
            if not isinstance(raw, PMap):
                continue  # reported with the definition
            self.localise(raw, block, use, local)
            if position == 1 and "inputs" in use.raw and "inputs" not in raw and not self.sequential:
                raw.put("inputs", use.input_name, raw.mark, raw.mark)  # the first is called on the block's input
            full = local[_inner_name(raw, position)]
            if "block" in raw:
                self.use(raw, index, f"{use.name}.", tuple(stack), outer)
            else:
                self.result.entries.append(Placed(index, raw, full))
            last = full
        if len(self.result.entries) == start:
            self.result.failed[use.name] = use.raw.value_mark("name")
            return
        self.result.entries[start].uses.insert(0, use)
        output = local[block.output] if block.output is not None else last
        if output is not None:
            self.result.outputs[use.name] = output
        if self.sequential and block.output_mark is not None and output != last:
            self.ctx.error(
                block.output_mark,
                f"block '{block.name}' is used in a sequential spec, where its output must be its last entry",
                hint="leave `output` out, or use the block in a functional spec",
                code="sequential-rules",
            )

    def localise(self, raw: PMap, block: Block, use: Use, local: dict[str, str]) -> None:
        """The references of a block's entry renamed for this use: its own entries, and `in`."""
        for key in ("inputs", "reuse"):
            if key not in raw:
                continue
            value = raw[key]
            if isinstance(value, str):
                raw[key] = self.renamed(value, raw.value_mark(key), block, use, local)
            elif isinstance(value, PList):
                self.rename_items(value, block, use, local)
            elif isinstance(value, PMap) and key == "inputs":
                for k in value:
                    if isinstance(value[k], str):
                        value[k] = self.renamed(value[k], value.value_mark(k), block, use, local)
                    elif isinstance(value[k], PList):
                        self.rename_items(value[k], block, use, local)

    def rename_items(self, items: PList, block: Block, use: Use, local: dict[str, str]) -> None:
        for i, item in enumerate(items):
            if isinstance(item, str):
                items[i] = self.renamed(item, items.value_mark(i), block, use, local)
            elif isinstance(item, PList):  # an `op:` entry's argument that is a list of tensors
                self.rename_items(item, block, use, local)

    def renamed(self, text: str, mark: Mark, block: Block, use: Use, local: dict[str, str]) -> str:
        match = _REFERENCE.match(text)
        if not match:
            return text  # a bad reference: reported when the entry is read
        name, index = match.group("name"), match.group("index")
        head = name.split(".", 1)[0]
        if name == INPUT:
            target = use.input_name
        elif name in local:
            target = local[name]
        elif head in local:
            target = f"{use.name}.{name}"  # `a.d`: an entry of the block used here as `a`
        else:
            self.ctx.error(
                mark,
                f"'{name}' is not an entry of block '{block.name}'" + did_you_mean(name, [INPUT, *local]),
                hint=f"inside a block, references name its own entries, or `{INPUT}` for its input",
                code="unknown-reference",
            )
            self.ctx.unresolved.add(mark)
            return text
        return target if index is None else f"{target}[{index}]"


def _inner_name(raw: PMap, position: int) -> str:
    """An entry's name in its block: the one written, else its 1-based position."""
    name = raw.get("name")
    return name if isinstance(name, str) else str(position)


def canonical(inputs: CallInputs | None, outputs: dict[str, str]) -> CallInputs | None:
    """References to a block's use as references to its output entry (`d1` -> `d1.out`)."""
    if inputs is None or isinstance(inputs, Ref):
        return None if inputs is None else canonical_ref(inputs, outputs)
    if isinstance(inputs, list):
        return [canonical_ref(ref, outputs) for ref in inputs]
    return {
        key: [canonical_ref(r, outputs) for r in value] if isinstance(value, list) else canonical_ref(value, outputs)
        for key, value in inputs.items()
    }


def canonical_argument(value: Any, outputs: dict[str, str]) -> Any:
    """An `op:` entry's argument with references to a block's use as references to its output."""
    if isinstance(value, Ref):
        return canonical_ref(value, outputs)
    if isinstance(value, list):
        return [canonical_argument(item, outputs) for item in value]
    return value


def canonical_ref(ref: Ref, outputs: dict[str, str]) -> Ref:
    """`ref`, or its block use's output entry; a reference that failed to read (None) stays so."""
    return Ref(outputs[ref.name], ref.index, ref.mark) if isinstance(ref, Ref) and ref.name in outputs else ref


def _copied(value: Any, within: str) -> Any:
    """A deep copy whose marks say which use it was made for."""
    if isinstance(value, PMap):
        new = PMap(_at(value.mark, within))
        for key, item in value.items():
            new.put(key, _copied(item, within), _at(value.key_mark(key), within), _at(value.value_mark(key), within))
        return new
    if isinstance(value, PList):
        items = PList(_at(value.mark, within))
        for item, mark in zip(value, value.item_marks):
            items.add(_copied(item, within), _at(mark, within))
        return items
    return value


def _at(mark: Mark, within: str) -> Mark:
    return Mark(mark.source, mark.line, mark.col, within)


def _shown(value: Any) -> str:
    if isinstance(value, PMap):
        return "a mapping"
    if isinstance(value, PList):
        return "an empty list" if not value else "a list"
    return repr(value)
