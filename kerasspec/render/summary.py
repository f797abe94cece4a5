"""`kerasspec summary`: the document behind the table and `--json`, and the Rich table.

Counts and sizes come from the built Keras model with the same helpers `model.summary()`
uses, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._keras import (
    build_shapes,
    graph_operations,
    inbound_nodes,
    readable_memory_size,
    tensor_history,
    weight_memory_size,
)
from ..errors import SpecError
from ..graph import calls, count_weights, expandable, model_inputs, named_outputs, operations, relevant_nodes


def _shape(tensor: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(tensor.shape)[1:]]


def _batch_shape(tensor: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(tensor.shape)]


def _params(operation: Any) -> int:
    """A layer's parameters; 0 for an operation node that is not a layer (the `NotEqual` that
    `Embedding(mask_zero=True)` adds for its mask has no weights, no `built`)."""
    return int(operation.count_params()) if getattr(operation, "built", False) else 0


def _memory(weights: Iterable[Any]) -> float:
    return weight_memory_size(list(weights))


def _source_name(tensor: Any, names: dict[int, str] | None = None) -> str:
    if names and id(tensor) in names:
        return names[id(tensor)]
    history = tensor_history(tensor)
    if history is None:
        return "?"
    operation = history.operation
    nodes = inbound_nodes(operation)
    node = nodes[history.node_index] if nodes else None
    several = node is not None and len(node.output_tensors) > 1
    return f"{operation.name}[{history.tensor_index}]" if several else operation.name


def _layer_record(layer: Any, relevant: set[int] | None, prefix: str, names: dict[int, str] | None) -> dict[str, Any]:
    nodes = calls(layer, relevant)
    shapes: list[list[int | None]] = []
    inbound: list[str] = []
    for node in nodes:
        shapes.extend(_batch_shape(t) for t in node.output_tensors)
        inbound.extend(_source_name(t, names) for t in node.input_tensors)
    if not nodes:
        shapes = _shapes_from_build(layer)
    return {
        "name": prefix + layer.name,
        "type": type(layer).__name__,
        "output_shapes": shapes,
        "params": _params(layer),
        "trainable_params": count_weights(getattr(layer, "trainable_weights", ())),
        "calls": len(nodes),
        "inbound": inbound,
    }


def _shapes_from_build(layer: Any) -> list[list[int | None]]:
    """A layer called inside a subclassed model's `call` has no graph node; its output shape is
    computed from the shapes it was built with, as `model.summary()` does."""
    shapes = build_shapes(layer)
    if not shapes:
        return []
    try:
        shape = layer.compute_output_shape(**shapes)
    except Exception:  # noqa: BLE001 - a layer that cannot say: shown as '?', as Keras does
        return []
    if isinstance(shape, dict):
        shape = list(shape.values())
    several = isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape)
    return [[None if d is None else int(d) for d in s] for s in (shape if several else [shape])]


def _layer_records(
    model: Any, expand_nested: bool, names: dict[int, str] | None, prefix: str = ""
) -> list[dict[str, Any]]:
    """Rows as `model.summary()` lists them: a Sequential without its input layer."""
    import keras

    relevant = relevant_nodes(model)
    layers = model.layers if isinstance(model, keras.Sequential) else operations(model)
    records = []
    for layer in layers:
        records.append(_layer_record(layer, relevant, prefix, names))
        if expand_nested and expandable(layer):
            records.extend(_layer_records(layer, True, None, prefix + layer.name + "/"))
    return records


def summary_document(
    model: Any, kind: str, expand_nested: bool = False, names: dict[int, str] | None = None
) -> dict[str, Any]:
    """The stable JSON of `summary --json`."""
    trainable = count_weights(model.trainable_weights)
    non_trainable = count_weights(model.non_trainable_weights)
    outputs = named_outputs(model)
    return {
        "name": model.name,
        "kind": kind,
        "params": {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable},
        "sizes_bytes": {
            "total": _memory(model.weights),
            "trainable": _memory(model.trainable_weights),
            "non_trainable": _memory(model.non_trainable_weights),
        },
        "inputs": [{"name": t.name, "shape": _shape(t), "dtype": str(t.dtype)} for t in model_inputs(model)],
        "outputs": [{"name": n, "shape": _shape(t)} for n, t in outputs],
        "layers": _layer_records(model, expand_nested, names),
    }


def inspect_layer(model: Any, name: str, names: dict[int, str] | None = None) -> dict[str, Any]:
    """`--layer NAME`: the tensors a layer was called on and produced (`layer.input` / `.output`)."""
    layer = _find_layer(model, name)
    nodes = calls(layer, relevant_nodes(model)) or inbound_nodes(layer)

    def describe(tensors: Iterable[Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": (names or {}).get(id(t)),
                "shape": _batch_shape(t),
                "dtype": str(t.dtype),
                "from": _source_name(t, names),
            }
            for t in tensors
        ]

    return {
        "name": layer.name,
        "type": type(layer).__name__,
        "params": _params(layer),
        "calls": [{"inputs": describe(n.input_tensors), "outputs": describe(n.output_tensors)} for n in nodes],
    }


def _find_layer(model: Any, name: str) -> Any:
    parts = name.split("/")
    current = model
    for part in parts:
        layers = {layer.name: layer for layer in getattr(current, "layers", [])}
        layers.update({op.name: op for op in graph_operations(current) or []})  # a Sequential's mask op too
        if part not in layers:
            from ..errors import did_you_mean

            raise SpecError(
                None,
                f"the model has no layer '{name}'" + did_you_mean(part, layers),
                hint="layers: " + ", ".join(layers),
                source="--layer",
                code="unknown-layer",
            )
        current = layers[part]
    return current


def format_shape(shape: list[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def render_summary(document: dict[str, Any], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    functional = document["kind"] == "functional"
    table = Table(title=f'Model: "{escape(document["name"])}"', title_justify="left", show_lines=False)
    table.add_column("Layer (type)", overflow="fold")
    table.add_column("Output shape", overflow="fold")
    table.add_column("Param #", justify="right")
    if functional:
        table.add_column("Connected to", overflow="fold")
    for row in document["layers"]:
        shapes = ", ".join(format_shape(s) for s in row["output_shapes"]) or "?"
        cells = [f"{escape(row['name'])} ({escape(row['type'])})", shapes, f"{row['params']:,}"]
        if functional:
            cells.append(escape(", ".join(row["inbound"])) or "-")
        table.add_row(*cells)
    console.print(table)
    params, sizes = document["params"], document["sizes_bytes"]
    console.print(f" Total params: {params['total']:,} ({readable_memory_size(sizes['total'])})", highlight=False)
    console.print(
        f" Trainable params: {params['trainable']:,} ({readable_memory_size(sizes['trainable'])})", highlight=False
    )
    console.print(
        f" Non-trainable params: {params['non_trainable']:,} ({readable_memory_size(sizes['non_trainable'])})",
        highlight=False,
    )


def render_layer(info: dict[str, Any], console: Any) -> None:
    from rich.markup import escape

    console.print(f"{escape(info['name'])} ({escape(info['type'])}), {info['params']:,} params", highlight=False)
    for index, call in enumerate(info["calls"]):
        label = f"call {index}: " if len(info["calls"]) > 1 else ""
        for role in ("inputs", "outputs"):
            for t in call[role]:
                named = f" {escape(t['from'] if role == 'inputs' else (t['name'] or ''))}".rstrip()
                console.print(
                    f"  {label}{role[:-1]}{named}: shape={format_shape(t['shape'])} dtype={t['dtype']}",
                    highlight=False,
                )
