"""A built model's graph as kerasspec sees it: its inputs, named outputs, layers in order and
who feeds whom, for functional, sequential and subclassed models alike.

The builder records here what a subclassed model was called on; data, the runner and the
renderers read the graph through these functions. The private Keras attributes behind them
are reached only through `kerasspec._keras`.
"""

from __future__ import annotations

import weakref
from typing import Any

from ._keras import graph_node_ids, graph_operations, inbound_nodes, outputs_structure, tensor_history

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
    return isinstance(outputs_structure(model), dict)


def is_model(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Model)


def operations(model: Any) -> list[Any]:
    """Layers in the order Keras shows them, input layers included where the model has them."""
    ops = graph_operations(model)
    return ops if ops is not None else list(model.layers)


def relevant_nodes(model: Any) -> set[int] | None:
    """Ids of the call nodes that belong to this model (a layer may be called elsewhere too)."""
    return graph_node_ids(model)


def calls(layer: Any, relevant: set[int] | None) -> list[Any]:
    return [n for n in inbound_nodes(layer) if relevant is None or id(n) in relevant]


def source_layer(tensor: Any) -> Any | None:
    history = tensor_history(tensor)
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
    struct = outputs_structure(model)
    if isinstance(struct, dict):
        return list(struct.items())
    names = list(getattr(model, "output_names", None) or [None] * len(model.outputs))
    return list(zip(names, model.outputs))


def count_weights(weights: Any) -> int:
    """Scalars in a list of variables, each variable once (shared ones are listed twice)."""
    total = 0
    for weight in {id(w): w for w in weights}.values():
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total
