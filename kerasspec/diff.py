"""`kerasspec diff OLD NEW`: what a change does to the model, as one stable document.

Both models are built and described by `kerasspec.facts` (layers keyed by the spec's names);
named layers are matched by name, the unnamed ones of each (nested) model aligned in order as a
text diff aligns lines (`facts.match_layers`), so one entry inserted is one layer added, not
every later one changed. The document (`diff --format json`) is what the text and
markdown renderings show:

- `params`: `old`, `new`, `delta`, each `{total, trainable, non_trainable}`;
- `layers`: one item per layer, `name`, `change` (added | removed | changed | unchanged),
  `cause` for a changed one (`own`: its type or keywords; `upstream`: only its shapes or
  parameters, because of a change above it; `inside`: a nested model whose own layers changed;
  `connections`: only what it is called on),
  `old`/`new` (`type`, `output_shapes`, `params`, `inbound`), and `config` (keyword changes);
- `inputs`, `outputs`: old and new lists of `{name, shape, dtype}`;
- `settings`: `{key, old, new}` for every compile/data/train setting that differs, defaults
  explicit;
- `same`: true when nothing above differs.
"""

from __future__ import annotations

from typing import Any

from .facts import ModelFacts, match_layers
from .resolve import plain
from .spec import Spec

DIFF_FORMAT = 1
_MISSING = "<absent>"


def _params(layer: dict[str, Any]) -> dict[str, int]:
    return {
        "total": layer["trainable"] + layer["non_trainable"],
        "trainable": layer["trainable"],
        "non_trainable": layer["non_trainable"],
    }


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = _flat(old), _flat(new)
    return [
        {"key": key, "old": a.get(key, _MISSING), "new": b.get(key, _MISSING)}
        for key in list(a) + [k for k in b if k not in a]
        if a.get(key, _MISSING) != b.get(key, _MISSING)
    ]


def _side(layer: dict[str, Any], inbound: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": layer["type"],
        "output_shapes": layer["output_shapes"],
        "params": _params(layer),
        "inbound": layer["inbound"] if inbound is None else inbound,
    }


def _layer_item(old_key: str | None, new_key: str | None, old: dict, new: dict, renamed: dict) -> dict[str, Any]:
    if old_key is None:
        assert new_key is not None
        return {"name": new_key, "change": "added", "new": _side(new[new_key])}
    if new_key is None:
        return {"name": old_key, "change": "removed", "old": _side(old[old_key])}
    a, b = old[old_key], new[new_key]
    inbound = [renamed.get(s, s) for s in a["inbound"]]  # old keys as the new spec calls those layers
    item: dict[str, Any] = {"name": new_key, "change": "unchanged", "old": _side(a, inbound), "new": _side(b)}
    if old_key != new_key:
        item["old_name"] = old_key
    if a["type"] != b["type"]:  # another class: its keywords are another list, not changes of one
        item.update(change="changed", cause="own", config=[])
        return item
    changes = config_changes(a["config"], b["config"])
    if changes:
        item.update(change="changed", cause="own", config=changes)
    elif a["output_shapes"] != b["output_shapes"] or _params(a) != _params(b):
        item.update(change="changed", cause="upstream")
    elif inbound != b["inbound"]:
        item.update(change="changed", cause="connections")
    return item


def _totals(facts: ModelFacts) -> dict[str, int]:
    return dict(facts.document["params"])


def settings_changes(old: Spec, new: Spec) -> list[dict[str, Any]]:
    changes = []
    for section in ("compile", "data", "train"):
        a = _flat(plain(getattr(old, section).resolved()), section)
        b = _flat(plain(getattr(new, section).resolved()), section)
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key, _MISSING) != b.get(key, _MISSING):
                changes.append({"key": key, "old": a.get(key, _MISSING), "new": b.get(key, _MISSING)})
    return changes


def diff_document(old: ModelFacts, new: ModelFacts, old_spec: Spec, new_spec: Spec, sources: tuple[str, str]) -> dict:
    a, b = old.layers, new.layers
    pairs = match_layers(a, b)
    renamed = {o: n for o, n in pairs if o is not None and n is not None}
    layers = [_layer_item(o, n, a, b, renamed) for o, n in pairs]
    changed = [item["name"] for item in layers if item["change"] != "unchanged"]
    for item in layers:  # a nested model whose own layers changed: changed inside, not upstream
        if item.get("cause") == "upstream" and any(name.startswith(item["name"] + "/") for name in changed):
            item["cause"] = "inside"
    before, after = _totals(old), _totals(new)
    document: dict[str, Any] = {
        "format": DIFF_FORMAT,
        "old": {"source": sources[0], "name": old.document["name"], "kind": old.document["kind"]},
        "new": {"source": sources[1], "name": new.document["name"], "kind": new.document["kind"]},
        "model_name": {"old": old.document["name"], "new": new.document["name"]},
        "params": {"old": before, "new": after, "delta": {k: after[k] - before[k] for k in before}},
        "inputs": {"old": old.document["inputs"], "new": new.document["inputs"]},
        "outputs": {"old": old.document["outputs"], "new": new.document["outputs"]},
        "layers": layers,
        "settings": settings_changes(old_spec, new_spec),
    }
    document["same"] = (
        all(item["change"] == "unchanged" for item in layers)
        and document["inputs"]["old"] == document["inputs"]["new"]
        and document["outputs"]["old"] == document["outputs"]["new"]
        and not document["settings"]
        and before == after
        and old.document["name"] == new.document["name"]
    )
    return document
