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

from dataclasses import dataclass, field
from typing import Any

from .errors import Mark
from .graph import calls, count_weights, is_model, model_inputs, named_outputs, operations, relevant_nodes
from .spec import LayerEntry, Spec


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
    for operation in operations(model):
        entry = entries.get(id(operation))
        nodes = calls(operation, relevant)
        sources = [_source(t, key_of) for node in nodes for t in node.input_tensors]
        if entry is not None and id(entry) in keys:
            key = keys[id(entry)]
        elif type(operation).__name__ == "InputLayer":
            key = next(input_names, None) or operation.name
        elif sources:  # a node no entry wrote (a mask): named by what it is called on
            key = f"{sources[0]}:{type(operation).__name__}"
        else:  # a layer a subclassed model calls in Python: Keras's name is all there is
            key = operation.name
        key = prefix + key
        while key in out:  # the same layer object listed twice cannot happen; a second mask op can
            key += "'"
        key_of[id(operation)] = key
        outputs = [t for node in nodes for t in node.output_tensors]
        out[key] = {
            "type": type(operation).__name__,
            "config": _config(operation),
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
