"""Lock files: what a spec's model is (`kerasspec lock`), checked by `validate --locked`.

`ticket.yaml` -> `ticket.lock.json`: the format version, kerasspec's and Keras's versions, the
model's totals, inputs and outputs, and per layer (keyed as `kerasspec.facts` keys them: the
spec's names) its type, output shapes, dtype and parameters. Deterministic: sorted keys, no
timestamps, no auto-generated names, so one spec gives a byte-identical file and a change that
only reformats the spec keeps it valid.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import Mark, SpecError
from .facts import ModelFacts, match_layers

LOCK_FORMAT = 1
_LAYER_FACTS = ("type", "output_shapes", "dtype", "trainable", "non_trainable")
_MAX_LOCK_BYTES = 64 * 1024 * 1024


def lock_path(spec_path: Path) -> Path:
    """`ticket.yaml` -> `ticket.lock.json`, beside it."""
    return spec_path.with_name(spec_path.stem + ".lock.json")


def lock_document(facts: ModelFacts, versions: dict[str, str]) -> dict[str, Any]:
    document = facts.document
    return {
        "format": LOCK_FORMAT,
        "versions": versions,
        "name": document["name"],
        "kind": document["kind"],
        "params": document["params"],
        "inputs": document["inputs"],
        "outputs": document["outputs"],
        "layers": {key: {k: layer[k] for k in _LAYER_FACTS} for key, layer in facts.layers.items()},
    }


_SCALAR_LIST = re.compile(r"\[\s*([^\[\]{}]*?)\s*\]")


def lock_text(document: dict[str, Any]) -> str:
    """Indented JSON with sorted keys; a list of numbers (a shape) on one line, as reviewers read it."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return (
        _SCALAR_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",") if x.strip()) + "]", text)
        + "\n"
    )


def read_lock(path: Path) -> dict[str, Any]:
    """A lock file's document; a located error when it is not one (or of a newer format)."""
    shown = str(path)
    try:
        if path.stat().st_size > _MAX_LOCK_BYTES:
            raise SpecError(None, "the file is too large to be a lock file", source=shown, code="bad-lock")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(None, "not a lock file: it is not UTF-8 text", source=shown, code="bad-lock") from None
    except OSError as exc:
        raise SpecError(
            None, f"cannot read the lock file: {exc.strerror or exc}", source=shown, code="bad-lock"
        ) from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise SpecError(None, "not a lock file: nested too deeply", source=shown, code="bad-lock") from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            Mark(shown, exc.lineno, exc.colno),
            f"not a lock file: {exc.msg}",
            hint="write it again with `kerasspec lock`",
            code="bad-lock",
        ) from None
    if not isinstance(document, dict) or "format" not in document:
        raise SpecError(
            None, "not a lock file: no `format`", hint="kerasspec lock writes one", source=shown, code="bad-lock"
        )
    if type(document["format"]) is not int or document["format"] != LOCK_FORMAT:
        newer = type(document["format"]) is int and document["format"] > LOCK_FORMAT
        raise SpecError(
            None,
            f"lock format {document['format']!r} is "
            + ("newer than this kerasspec reads" if newer else "not one kerasspec writes")
            + f" (format {LOCK_FORMAT})",
            hint="upgrade kerasspec" if newer else "write it again with `kerasspec lock`",
            source=shown,
            code="bad-lock",
        )
    problem = _lock_problem(document)
    if problem is not None:
        raise SpecError(
            None,
            f"corrupted lock file: {problem}",
            hint="write it again with `kerasspec lock`",
            source=shown,
            code="bad-lock",
        )
    return document


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _shape(value: Any) -> bool:
    return isinstance(value, list) and all(d is None or _count(d) for d in value)


def _tensors(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(t, dict)
        and isinstance(t.get("name"), str)
        and _shape(t.get("shape"))
        and isinstance(t.get("dtype"), str)
        for t in value
    )


def _lock_problem(document: dict[str, Any]) -> str | None:
    """What makes a document with a `format` not a lock kerasspec wrote, if anything."""
    if not isinstance(document.get("versions"), dict) or not all(
        isinstance(v, str) for v in document["versions"].values()
    ):
        return "`versions` is not a mapping of names to versions"
    if not isinstance(document.get("name"), str):
        return "`name` is missing or not text"
    params = document.get("params")
    if not isinstance(params, dict) or not all(_count(params.get(k)) for k in ("total", "trainable", "non_trainable")):
        return "`params` is not {total, trainable, non_trainable} counts"
    for key in ("inputs", "outputs"):
        if not _tensors(document.get(key)):
            return f"`{key}` is not a list of {{name, shape, dtype}}"
    layers = document.get("layers")
    if not isinstance(layers, dict):
        return "`layers` is missing or not a mapping"
    for key, layer in layers.items():
        if not (
            isinstance(layer, dict)
            and isinstance(layer.get("type"), str)
            and isinstance(layer.get("output_shapes"), list)
            and all(_shape(shape) for shape in layer["output_shapes"])
            and (layer.get("dtype") is None or isinstance(layer.get("dtype"), str))
            and _count(layer.get("trainable"))
            and _count(layer.get("non_trainable"))
        ):
            return f"layer '{key}' is incomplete or has values of the wrong kind"
    return None


def _number(layer: dict[str, Any]) -> int:
    return int(layer["trainable"]) + int(layer["non_trainable"])


def check_lock(
    facts: ModelFacts, locked: dict[str, Any], current: dict[str, Any], lock_name: str, top: Mark
) -> list[SpecError]:
    """Each way the built model (`current`, its lock document) differs from the lock, located at
    the spec entry responsible (the file's start for what no entry made)."""
    errors: list[SpecError] = []

    def error(mark: Mark | None, message: str, hint: str | None = None) -> None:
        errors.append(SpecError(mark or top, message, hint=hint, code="lock-mismatch"))

    old, new = locked["layers"], current["layers"]
    if current["name"] != locked["name"]:
        error(top, f"the model is named '{current['name']}'; {lock_name} says '{locked['name']}'")
    for old_key, key in match_layers(old, new):
        if key is None:
            assert old_key is not None
            error(top, f"layer '{old_key}' ({old[old_key]['type']}) is in {lock_name} but not in the model")
            continue
        layer, mark = new[key], facts.marks.get(key)
        if old_key is None:
            error(mark, f"layer '{key}' ({layer['type']}) is not in {lock_name}", "run `kerasspec lock` if it is meant")
            continue
        was = old[old_key]
        if layer["type"] != was["type"]:
            error(mark, f"layer '{key}' is a {layer['type']}; {lock_name} says {was['type']}")
        if _number(layer) != _number(was):
            error(mark, f"layer '{key}' has {_number(layer):,} parameters; {lock_name} says {_number(was):,}")
        elif (layer["trainable"], layer["non_trainable"]) != (was["trainable"], was["non_trainable"]):
            error(
                mark,
                f"layer '{key}' has {layer['trainable']:,} trainable and {layer['non_trainable']:,} non-trainable "
                f"parameters; {lock_name} says {was['trainable']:,} and {was['non_trainable']:,}",
            )
        if layer["output_shapes"] != was["output_shapes"]:
            error(
                mark,
                f"layer '{key}' outputs {_shapes(layer['output_shapes'])}; {lock_name} says {_shapes(was['output_shapes'])}",
            )
        if layer["dtype"] != was["dtype"]:
            error(mark, f"layer '{key}' gives {layer['dtype']}; {lock_name} says {was['dtype']}")
    for role in ("inputs", "outputs"):
        if current[role] != locked[role]:
            error(top, f"the model's {role} are {_io(current[role])}; {lock_name} says {_io(locked[role])}")
    if current["params"] != locked["params"] and not errors:
        error(
            top,
            f"the model has {current['params']['total']:,} parameters; {lock_name} says {locked['params'].get('total')}",
        )
    return errors


def _shapes(shapes: list[Any]) -> str:
    return ", ".join("(" + ", ".join("None" if d is None else str(d) for d in s) + ")" for s in shapes) or "nothing"


def _io(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t.get('name')} {_shapes([t.get('shape', [])])} {t.get('dtype')}" for t in items) or "none"
