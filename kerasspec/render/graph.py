"""Walking a built Keras model's graph: the layers of a model in order, and who feeds whom.

Shared by `summary` and the Mermaid renderer so both see the same graph.
"""

from __future__ import annotations

from typing import Any


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
    """Outputs with the names losses and metrics use: a dict output's keys, else Keras's names."""
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        return list(struct.items())
    names = list(getattr(model, "output_names", None) or [None] * len(model.outputs))
    return list(zip(names, model.outputs))
