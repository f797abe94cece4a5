"""A spec as kerasspec runs it: vars substituted, overrides applied, defaults made explicit.

`resolved_text()` is what `kerasspec resolve` prints and what a run directory's
`spec.resolved.yaml` holds: itself a valid spec that builds the same model. Paths the spec gives
relative to its own file (`spec:` includes, `data.file`, a folder's `directory`) are rewritten relative to where the text
will live.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .format.declaration import SPEC_VERSION
from .spec import Spec


def plain(value: Any) -> Any:
    """Positioned values as plain dicts and lists (for YAML/JSON output)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _escaped(value: Any) -> Any:
    """Text that holds `${` after interpolation was written `$${`: written so again."""
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value.replace("${", "$${") if isinstance(value, str) else value


def _escaped_but_block_entries(tree: dict[str, Any]) -> dict[str, Any]:
    """The tree escaped, but the entries of `blocks:`: they are written as they are, `${param}`
    and `$${` still to be read at each use (the file's vars are put in already)."""
    blocks = tree.get("blocks")
    escaped = _escaped({k: v for k, v in tree.items() if k != "blocks"})
    if isinstance(blocks, dict):
        blocks = {
            name: {k: v if k == "layers" else _escaped(v) for k, v in block.items()}
            if isinstance(block, dict)
            else block
            for name, block in blocks.items()
        }
    return {k: blocks if k == "blocks" else escaped[k] for k in tree}


def _entry_lists(tree: dict[str, Any]) -> list[Any]:
    """The layer lists of the tree: its `layers`, and each block's."""
    blocks = tree.get("blocks")
    found = [tree.get("layers")]
    if isinstance(blocks, dict):
        found += [block.get("layers") for block in blocks.values() if isinstance(block, dict)]
    return [entries for entries in found if isinstance(entries, list)]


def resolved_tree(spec: Spec, target_dir: Path, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`options`: command-line options written into the tree, by key path (`train.epochs`);
    None values are left out."""
    tree = _escaped_but_block_entries(plain(spec.tree))
    tree.pop("vars", None)  # every ${...} is substituted already (in blocks, but their parameters)
    here, there = spec.path.parent.resolve(), target_dir.resolve()

    def moved(value: Any) -> Any:
        return os.path.relpath(here / value, there) if isinstance(value, str) and value else value

    _move_includes(tree, moved)
    header = {"version": SPEC_VERSION, "name": spec.name, "kind": spec.kind}
    code_dir = os.path.relpath(spec.code_directory.resolve(), there)
    if (spec.allow_code or "code_dir" in spec.tree) and code_dir != ".":  # user modules stay where they were
        header["code_dir"] = code_dir
    tree.pop("code_dir", None)
    for key in ("compile", "data", "train"):
        settings = getattr(spec, key)
        values = _escaped(plain(settings.resolved()))
        if values:
            tree[key] = values
    given = {path: value for path, value in (options or {}).items() if value is not None}
    data = tree.get("data", {})
    folders = [data[kind] for kind in ("images", "text") if isinstance(data.get(kind), dict)]
    for folder in folders:
        folder["directory"] = moved(folder.get("directory"))
    if data.get("file"):
        data["file"] = moved(data["file"])
    if (data.get("file") or folders) and "samples" not in spec.data and "data.samples" not in given:
        del data["samples"]  # the default counts synthetic rows; a file or folder gives all of its own
    for path, value in given.items():
        section, _, key = path.partition(".")
        tree.setdefault(section, {})[key] = value
    return {**header, **{k: v for k, v in tree.items() if k not in header}}


def _move_includes(spec_tree: dict[str, Any], moved: Any) -> None:
    """Rewrite every `spec: file.yaml` of a spec's tree: its layer entries', a subclass's `args`'
    and those of the specs written in place among them (whose paths are relative to this file)."""

    def visit(value: Any, deep: bool) -> None:
        """`deep`: inside `args`, where models may sit in lists and mappings of any depth."""
        if isinstance(value, list):
            for item in value:
                visit(item, deep)
        elif isinstance(value, dict):
            include = value.get("spec")
            if isinstance(include, str) and "type" not in value:
                value["spec"] = moved(include)
            elif isinstance(include, dict) and "type" not in value:
                _move_includes(include, moved)
            elif value.get("type") == "Sequential":
                visit(value.get("layers"), False)
            elif deep and "type" not in value:
                visit(list(value.values()), True)

    for entries in _entry_lists(spec_tree):  # its layers, and each block's
        visit(entries, False)
    args = spec_tree.get("args")
    visit(list(args.values()) if isinstance(args, dict) else None, True)


def resolved_text(spec: Spec, target_dir: Path, note: str, options: Mapping[str, Any] | None = None) -> str:
    import yaml

    after = "vars, --set and the command-line options" if options else "vars and --set"
    header = f"# {spec.name} {note}: {spec.path.resolve()} after {after}, defaults explicit.\n"
    header += "# Paths to other files are relative to this file's directory.\n"
    tree = resolved_tree(spec, target_dir, options)
    return header + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
