"""What a built model is, keyed by the spec: the facts `diff` compares and `lock` records.

Layers are keyed by the names the spec gives them, never by Keras's auto names (which come from a
process-wide counter, so two builds of one spec differ). An entry without a `name` is keyed by
the nearest named entry above it and its distance from it (`hidden+2`; `+1` before any named
entry); a layer of a nested model by its model's key and its own (`encoder/hidden`); an operation
node no entry made (the mask `Embedding(mask_zero=True)` computes) by what it is called on and its
class (`embed:NotEqual`). The document is plain JSON-ready data; `marks` says where each key's
entry is written, for located errors.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Mark
from .graph import calls, count_weights, is_model, model_inputs, named_outputs, operations, relevant_nodes
from .spec import ENTRY_ABOVE, LayerEntry, Ref, Spec


@dataclass
class ModelFacts:
    document: dict[str, Any]
    marks: dict[str, Mark] = field(default_factory=dict)
    entries: dict[str, LayerEntry] = field(default_factory=dict)  # layer key -> its spec entry

    @property
    def layers(self) -> dict[str, dict[str, Any]]:
        return self.document["layers"]


def entry_keys(spec: Spec) -> dict[int, str]:
    """id(entry) -> its key: its name, or `<nearest named entry above>+<distance>`."""
    keys: dict[int, str] = {}
    anchor, distance = "", 0
    for entry in spec.layers:
        if entry.name:
            anchor, distance = entry.name, 0
            keys[id(entry)] = entry.name
        else:
            distance += 1
            keys[id(entry)] = f"{anchor}+{distance}"
    return keys


def _shape(tensor: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(tensor.shape)]


def plain_config(value: Any) -> Any:
    """A config as JSON data, without names (a wrapped layer's name may be Keras's auto name)."""
    if isinstance(value, dict):
        return {str(k): plain_config(v) for k, v in value.items() if k != "name"}
    if isinstance(value, (list, tuple)):
        return [plain_config(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _config(operation: Any) -> dict[str, Any]:
    if is_model(operation):
        return {}  # a nested model's layers are facts of their own
    try:
        return plain_config(operation.get_config())
    except Exception:  # noqa: BLE001 - a user layer without get_config: its class and shapes still count
        return {}


def model_facts(built: Any) -> ModelFacts:
    """The facts of a built model (`kerasspec.builder.Built`)."""
    model, spec = built.model, built.spec
    facts = ModelFacts({})
    layers: dict[str, dict[str, Any]] = {}
    key_of = _walk(model, spec, built.entries, "", layers, facts)
    trainable, non_trainable = count_weights(model.trainable_weights), count_weights(model.non_trainable_weights)
    facts.document = {
        "name": spec.name,
        "kind": spec.kind,
        "params": {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable},
        "inputs": [
            {"name": name, "shape": _shape(t), "dtype": str(t.dtype)}
            for name, t in zip(_input_names(spec, model), model_inputs(model))
        ],
        "outputs": [
            {"name": str(n) if n is not None else _source(t, key_of), "shape": _shape(t), "dtype": str(t.dtype)}
            for n, t in named_outputs(model)
        ],
        "layers": layers,
    }
    return facts


def _input_names(spec: Spec, model: Any) -> list[str]:
    names = spec.input_names
    tensors = model_inputs(model)
    return names if len(names) == len(tensors) else [t.name for t in tensors]


def _walk(
    model: Any, spec: Spec | None, entries: dict[int, LayerEntry], prefix: str, out: dict[str, Any], facts: ModelFacts
) -> dict[int, str]:
    """Add the facts of `model`'s layers to `out`; returns id(layer) -> key."""
    keys = entry_keys(spec) if spec is not None else {}
    relevant = relevant_nodes(model)
    key_of: dict[int, str] = {}
    input_names = iter(spec.input_names if spec is not None else [])
    attributes = {id(value): name for name, value in vars(model).items() if not name.startswith("_")}
    for operation in operations(model):
        entry = entries.get(id(operation))
        nodes = calls(operation, relevant)
        sources = [_source(t, key_of) for node in nodes for t in node.input_tensors]
        if entry is not None and id(entry) in keys:
            key = keys[id(entry)]
        elif type(operation).__name__ == "InputLayer":  # a nested sequential model's own: "input"
            key = next(input_names, None) or "input"
        elif sources:  # a node no entry wrote (a mask): named by what it is called on
            key = f"{sources[0]}:{type(operation).__name__}"
        else:  # a layer a subclassed model calls in Python: the attribute that holds it
            key = attributes.get(id(operation)) or operation.name
        key = prefix + key
        while key in out:  # the same layer object listed twice cannot happen; a second mask op can
            key += "'"
        key_of[id(operation)] = key
        outputs = [t for node in nodes for t in node.output_tensors]
        config = _config(operation)
        if entry is not None and entry.op is not None:  # what an op is called with is not in its config
            config["arguments"] = _arguments(entry.op_arguments)
            if entry.op_varargs:
                config["varargs"] = _arguments(entry.op_varargs)
        if entry is not None and entry.adapt:  # learning from the data is not in the layer's config either
            config["adapt"] = True if entry.adapt is True else {"samples": int(entry.adapt)}
        out[key] = {
            "type": type(operation).__name__,
            "config": config,
            "output_shapes": [_shape(t) for t in outputs],
            "dtype": str(outputs[0].dtype) if outputs else None,
            "trainable": count_weights(getattr(operation, "trainable_weights", ())),
            "non_trainable": count_weights(getattr(operation, "non_trainable_weights", ())),
            "inbound": sources,
        }
        if entry is not None:
            facts.marks[key] = entry.mark
            facts.entries[key] = entry
        if entry is not None and entry.spec is not None and is_model(operation):
            _walk(operation, entry.spec, entries, key + "/", out, facts)
    return key_of


def _source(tensor: Any, key_of: dict[int, str]) -> str:
    from ._keras import inbound_nodes, tensor_history

    history = tensor_history(tensor)
    if history is None:
        return "?"
    key = key_of.get(id(history.operation), history.operation.name)
    nodes = inbound_nodes(history.operation)
    node = nodes[history.node_index] if nodes and history.node_index < len(nodes) else None
    return f"{key}[{history.tensor_index}]" if node is not None and len(node.output_tensors) > 1 else key


def _arguments(value: Any) -> Any:
    """An op entry's arguments as data: references by name, constants as they are."""
    if isinstance(value, dict):
        return {str(k): _arguments(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arguments(v) for v in value]
    if isinstance(value, Ref):
        return f"<{value}>"
    if value is ENTRY_ABOVE:
        return "<the entry above>"
    return plain_config(value)


# --- matching two models' layers (diff, validate --locked) ------------------------------------

_DERIVED = re.compile(r"(?:^|[^/])(?:\+\d+|\.\d+)$")  # `hidden+2`, `+1`; a block's unnamed `d1.3`


def derived(key: str) -> bool:
    """Whether a key was derived from an entry's place rather than written as its name."""
    return bool(_DERIVED.search(key.rpartition("/")[2])) or key.rpartition("/")[2].startswith("+")


def _signature(layer: dict[str, Any]) -> str:
    return json.dumps([layer["type"], layer.get("config")], sort_keys=True, default=str)


def match_layers(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """Pairs (old key, new key) in the new model's order; None on one side: added or removed.
    Named layers pair by name; the unnamed ones of each model (or nested model) in order, aligned
    as a text diff aligns lines (identical first, then the same type), so one entry inserted
    anywhere, named or not, pairs every other."""
    pairs: dict[str, str] = {k: k for k in old if k in new and not derived(k)}
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for side, layers in ((0, old), (1, new)):
        for key in layers:
            if derived(key):
                groups.setdefault(key.rpartition("/")[0], ([], []))[side].append(key)
    for a, b in groups.values():
        matcher = difflib.SequenceMatcher(None, [_signature(old[k]) for k in a], [_signature(new[k]) for k in b])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                pairs.update(zip(a[i1:i2], b[j1:j2]))
            elif tag == "replace":
                free = list(b[j1:j2])
                for key in a[i1:i2]:
                    same = next((k for k in free if new[k]["type"] == old[key]["type"]), None)
                    if same is not None:
                        pairs[key] = same
                        free.remove(same)
    paired_new = {v: k for k, v in pairs.items()}
    result: list[tuple[str | None, str | None]] = [(paired_new.get(key), key) for key in new]
    old_order = list(old)
    for position, key in enumerate(old_order):  # removed layers, after where the layer above them went
        if key in pairs:
            continue
        anchor = next((pairs[k] for k in reversed(old_order[:position]) if k in pairs), None)
        at = next((i + 1 for i, (_, n) in enumerate(result) if n == anchor), 0) if anchor else 0
        while at < len(result) and result[at][1] is None:
            at += 1
        result.insert(at, (key, None))
    return result
