"""`kerasspec diff OLD NEW`: what a change does to the model, as one stable document.

Both models are built and described by `kerasspec.facts` (layers keyed by the spec's names);
layers are matched by key, and entries without a name by position among the unnamed entries
after the same named one, aligned as a text diff aligns lines (so one entry inserted is one layer
added, not every later one changed). The document (`diff --format json`) is what the text and
markdown renderings show:

- `params`: `old`, `new`, `delta`, each `{total, trainable, non_trainable}`;
- `layers`: one item per layer, `name`, `change` (added | removed | changed | unchanged),
  `cause` for a changed one (`own`: its type or keywords; `upstream`: only its shapes or
  parameters, because of a change above it; `connections`: only what it is called on),
  `old`/`new` (`type`, `output_shapes`, `params`, `inbound`), and `config` (keyword changes);
- `inputs`, `outputs`: old and new lists of `{name, shape, dtype}`;
- `settings`: `{key, old, new}` for every compile/data/train setting that differs, defaults
  explicit;
- `same`: true when nothing above differs.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .facts import ModelFacts
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


def _anchor(key: str) -> str | None:
    """The named entry an unnamed entry's key counts from (`hidden` of `hidden+2`); None for a
    key that is a name."""
    head, _, tail = key.rpartition("/")
    anchor, plus, distance = tail.rpartition("+")
    return (head + "/" + anchor if head else anchor) if plus and distance.isdigit() else None


def _signature(layer: dict[str, Any]) -> str:
    return json.dumps([layer["type"], layer["config"]], sort_keys=True, default=str)


def match_layers(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """Pairs (old key, new key) in the new model's order; None on one side: added or removed."""
    pairs: dict[str, str] = {k: k for k in old if k in new and _anchor(k) is None}
    groups_old: dict[str, list[str]] = {}
    groups_new: dict[str, list[str]] = {}
    for key in old:
        if (anchor := _anchor(key)) is not None:
            groups_old.setdefault(anchor, []).append(key)
    for key in new:
        if (anchor := _anchor(key)) is not None:
            groups_new.setdefault(anchor, []).append(key)
    for anchor in groups_old.keys() & groups_new.keys():
        a, b = groups_old[anchor], groups_new[anchor]
        matcher = difflib.SequenceMatcher(None, [_signature(old[k]) for k in a], [_signature(new[k]) for k in b])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("equal", "replace"):
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    if tag == "equal" or old[a[i]]["type"] == new[b[j]]["type"]:
                        pairs[a[i]] = b[j]
    paired_new = {v: k for k, v in pairs.items()}
    result: list[tuple[str | None, str | None]] = []
    placed_old: set[str] = set()
    old_order = list(old)
    for key in new:
        if key in paired_new:
            result.append((paired_new[key], key))
            placed_old.add(paired_new[key])
        else:
            result.append((None, key))
    for key in old_order:  # removed layers, each after the new position of the layer above it
        if key in pairs:
            continue
        above = old_order[: old_order.index(key)]
        anchor = next((pairs[k] for k in reversed(above) if k in pairs), None)
        at = next((i + 1 for i, (_, n) in enumerate(result) if n == anchor), 0) if anchor else 0
        while at < len(result) and result[at][1] is None:
            at += 1
        result.insert(at, (key, None))
    return result


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
    changes = config_changes(a["config"], b["config"])
    if a["type"] != b["type"] or changes:
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
    before, after = _totals(old), _totals(new)
    document: dict[str, Any] = {
        "format": DIFF_FORMAT,
        "old": {"source": sources[0], "name": old.document["name"], "kind": old.document["kind"]},
        "new": {"source": sources[1], "name": new.document["name"], "kind": new.document["kind"]},
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
    )
    return document
