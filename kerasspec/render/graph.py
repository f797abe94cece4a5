"""Walking a built Keras model's graph: the layers of a model in order, and who feeds whom.

Shared by `summary` and the Mermaid renderer so both see the same graph.
"""

from __future__ import annotations

import weakref
from typing import Any

# A subclassed model has no graph of its own: `model.inputs`/`model.outputs` do not exist.
# The builder calls it once on symbolic inputs and records what went in and came out here,
# so data, summary and the runner see its inputs and named outputs like any other model's.
_SYMBOLIC_CALLS: weakref.WeakKeyDictionary[Any, tuple[dict[str, Any], Any, bool]] = weakref.WeakKeyDictionary()


def record_symbolic_call(model: Any, inputs: dict[str, Any], outputs: Any, *, by_name: bool) -> None:
    """`by_name`: the model was called on a dict of its inputs (else on the one tensor)."""
    _SYMBOLIC_CALLS[model] = (inputs, outputs, by_name)


def inputs_by_name(model: Any) -> bool:
    """Whether data goes in as a dict by input name (functional models take one too)."""
    return _SYMBOLIC_CALLS[model][2] if model in _SYMBOLIC_CALLS else True


def is_subclassed(model: Any) -> bool:
    return model in _SYMBOLIC_CALLS


def model_inputs(model: Any) -> list[Any]:
    """The model's input tensors (for a subclassed model, those it was called on)."""
    if model in _SYMBOLIC_CALLS:
        return list(_SYMBOLIC_CALLS[model][0].values())
    try:
        return list(model.inputs or [])
    except (AttributeError, ValueError):
        return []


def outputs_are_dict(model: Any) -> bool:
    if model in _SYMBOLIC_CALLS:
        return isinstance(_SYMBOLIC_CALLS[model][1], dict)
    return isinstance(getattr(model, "_outputs_struct", None), dict)


def is_model(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Model)


def graph_of(model: Any) -> Any:
    """The functional graph behind a model (a built Sequential keeps one in `_functional`)."""
    inner = getattr(model, "_functional", None)
    return inner if inner is not None else model


def operations(model: Any) -> list[Any]:
    """Layers in the order Keras shows them, input layers included where the model has them."""
    graph = graph_of(model)
    ops = getattr(graph, "_operations", None)
    return list(ops) if ops is not None else list(model.layers)


def relevant_nodes(model: Any) -> set[int] | None:
    """Ids of the call nodes that belong to this model (a layer may be called elsewhere too)."""
    by_depth = getattr(graph_of(model), "_nodes_by_depth", None)
    if not by_depth:
        return None
    return {id(node) for nodes in by_depth.values() for node in nodes}


def calls(layer: Any, relevant: set[int] | None) -> list[Any]:
    return [n for n in layer._inbound_nodes if relevant is None or id(n) in relevant]


def source_layer(tensor: Any) -> Any | None:
    history = getattr(tensor, "_keras_history", None)
    return history.operation if history is not None else None


def expandable(layer: Any) -> bool:
    return is_model(layer) and bool(getattr(layer, "layers", None))


def named_outputs(model: Any) -> list[tuple[str | None, Any]]:
    """Outputs with the names losses and metrics use: a dict output's keys, else Keras's names
    (a subclassed model's list outputs are `output_0`, `output_1`, ...)."""
    if model in _SYMBOLIC_CALLS:
        outputs = _SYMBOLIC_CALLS[model][1]
        if isinstance(outputs, dict):
            return list(outputs.items())
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        return [(f"output_{i}", t) for i, t in enumerate(outputs)]
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        return list(struct.items())
    names = list(getattr(model, "output_names", None) or [None] * len(model.outputs))
    return list(zip(names, model.outputs))
