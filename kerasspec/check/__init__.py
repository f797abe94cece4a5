"""The static checks of a spec file: everything that can be known without importing Keras.

`load()` reads the file (positions kept), applies `--set` overrides, interpolates `vars`, reads
its `blocks` (`blocks`, which also expands their uses in each layer list), then checks it: the
declared sections (`sections`), the header and inputs (`header`), each kind's rules (`kinds`),
layer entries and includes (`entries`), references (`refs`), Keras objects against the installed
Keras's catalog (`objects`). All errors found are raised together as `SpecErrors`, in source
order, each once, with its key path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..catalog import Catalog, get_catalog
from ..errors import SpecError, SpecErrors
from ..format.declaration import RESERVED_ENTRY_KEYS, TOP_LEVEL, TOP_LEVEL_KEYS
from ..loader import PList, PMap, apply_override, key_paths, load_file
from ..spec import Spec
from .blocks import Scope, read_blocks
from .context import Context, Fatal
from .header import check_model_name, check_version, infer_kind
from .kinds import check_functional, check_sequential, check_subclass
from .sections import check_settings, report_unknown_keys, rule_errors
from .vars import interpolate_vars

__all__ = ["load", "spec_trees", "with_key_paths"]


def load(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    allow_code: bool = False,
    catalog: Catalog | None = None,
    spec_type: type[Spec] = Spec,
    shown: str | None = None,
) -> Spec:
    """Read and check a spec file; raise `SpecErrors` listing every problem found. Errors name
    the file as `shown` (default: the path as given)."""
    path = Path(path)
    ctx = Context(catalog or get_catalog(), allow_code, spec_type=spec_type)
    ctx.include = lambda target, shown, chain: _load_spec(ctx, target, shown, (), chain)
    ctx.inline = lambda tree, holder, chain: _check_inline(ctx, tree, holder, chain)
    spec = _load_spec(ctx, path, shown or str(path), overrides, ())
    if spec is not None:
        _refuse_nested_adapt(ctx, spec)
    if ctx.errors:
        raise SpecErrors(_once(sorted(with_key_paths(ctx.errors, ctx.trees), key=_error_order)))
    assert spec is not None
    return spec


def _refuse_nested_adapt(ctx: Context, spec: Spec) -> None:
    """`adapt:` learns on what the layer is called on, from the model's inputs: the spec's own
    layers (blocks expanded), not the layers inside a model used as a layer."""
    for nested in spec.included():
        for entry in nested.layers:
            if entry.adapt:
                ctx.error(
                    entry.raw.key_mark("adapt"),
                    f"`adapt` works on the spec's own layers; {entry.describe()} is inside the nested model "
                    f"'{nested.name}'",
                    hint="write the preprocessing layer (with `adapt: true`) in the outer spec's `layers`",
                    code="bad-adapt",
                )
        _refuse_nested_adapt(ctx, nested)


def _load_spec(
    ctx: Context, path: Path, shown: str, overrides: Sequence[str], include_stack: tuple[Path, ...]
) -> Spec | None:
    try:
        tree = load_file(path, shown)
        for item in overrides:
            apply_override(tree, item)
    except SpecError as exc:
        ctx.errors.append(exc)
        return None
    ctx.trees.append(tree)
    try:
        return _check(ctx, tree, path, shown, include_stack)
    except Fatal:
        return None


def _check_inline(ctx: Context, tree: PMap, holder: Spec, include_stack: tuple[Path, ...]) -> Spec | None:
    """A spec written inside another (its vars were substituted with the file's; it uses the
    file's blocks)."""
    try:
        return _check(ctx, tree, holder.path, holder.shown, include_stack, ctx.scopes[id(holder.tree)], holder.code_dir)
    except Fatal:
        return None


def _check(
    ctx: Context,
    tree: PMap,
    path: Path,
    shown: str,
    include_stack: tuple[Path, ...],
    scope: Scope | None = None,
    code_dir: Path | None = None,
) -> Spec:
    """`scope`: the blocks of the file an inline spec is written in; a file reads its own.
    `code_dir`: where that file's user modules are (an inline spec's own `code_dir` wins)."""
    if scope is None:
        scope = read_blocks(ctx, tree, interpolate_vars(ctx, tree))
    ctx.scopes[id(tree)] = scope
    _drop_nulls(tree, tuple(tree))
    layers = tree.get("layers")
    for entry in layers if isinstance(layers, PList) else ():
        if isinstance(entry, PMap):
            _drop_nulls(entry, RESERVED_ENTRY_KEYS)
    report_unknown_keys(ctx, tree, list(TOP_LEVEL_KEYS), TOP_LEVEL, "")
    version = check_version(ctx, tree)
    name = check_model_name(ctx, tree)
    description = tree.get("description")
    if description is not None and not isinstance(description, str):
        ctx.error(tree.value_mark("description"), "`description` must be text", code="bad-value")
    kind = infer_kind(ctx, tree)
    spec = ctx.spec_type(
        path=path,
        shown=shown,
        tree=tree,
        name=name or "",
        kind=kind,
        version=version,
        description=description,
        allow_code=ctx.allow_code,
        code_dir=check_code_dir(ctx, tree, path) or code_dir,
    )
    ctx.errors.extend(rule_errors(tree, TOP_LEVEL, {"kind": kind}))
    if kind == "sequential":
        check_sequential(ctx, spec, include_stack, scope)
    elif kind == "functional":
        check_functional(ctx, spec, include_stack, scope)
    else:
        check_subclass(ctx, spec, include_stack)
    check_settings(ctx, spec)
    return spec


def check_code_dir(ctx: Context, tree: PMap, path: Path) -> Path | None:
    """`code_dir:` as a path (relative to the spec's file), or None when it is not written."""
    written = tree.get("code_dir")
    if written is None:
        return None
    if not isinstance(written, str) or not written:
        ctx.error(tree.value_mark("code_dir"), "`code_dir` must be a directory name", code="bad-value")
        return None
    directory = path.parent / written
    if ctx.allow_code and not directory.is_dir():
        ctx.error(
            tree.value_mark("code_dir"),
            f"`code_dir` '{written}' is no directory (it is read relative to the spec's file)",
            code="bad-path",
        )
    return directory


def with_key_paths(errors: list[SpecError], trees: Sequence[PMap]) -> list[SpecError]:
    """Each error with the key path of the place it points at (`layers[2].units`), found in the
    trees of the files read (a spec and those it includes)."""
    paths: dict = {}
    for tree in trees:
        paths.update(key_paths(tree))
    files = {tree.mark for tree in trees}  # errors about a whole file have no key path
    for error in errors:
        if error.key_path is None and error.mark is not None and error.mark not in files:
            error.key_path = paths.get((error.mark.source, error.mark.line, error.mark.col))
    return errors


def spec_trees(spec: Spec) -> list[PMap]:
    """The trees of a spec and of every spec it includes."""
    trees = [spec.tree]
    for included in spec.included():
        trees += spec_trees(included)
    return trees


def _drop_nulls(mapping: PMap, keys: Sequence[str]) -> None:
    """A key written `null` is the key left out (the format says so)."""
    for key in keys:
        if key in mapping and mapping[key] is None:
            del mapping[key]


def _once(errors: list[SpecError]) -> list[SpecError]:
    """Each error once: a block's entry is checked for every use, and a mistake that does not
    depend on the use is the same at each (the first use's is kept)."""
    seen: set[tuple] = set()
    kept = []
    for error in errors:
        mark = error.mark
        key = (mark.source, mark.line, mark.col, error.message) if mark else (error.source, error.message)
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def _error_order(error: SpecError) -> tuple:
    mark = error.mark
    return (mark.source, mark.line, mark.col) if mark else (error.source or "", 0, 0)
