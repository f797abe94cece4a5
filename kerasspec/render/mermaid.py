"""A Mermaid `flowchart` of a built model, which GitHub renders in pull requests and READMEs.

One node per layer (name, type, output shape); one edge per connection; a shared layer is
one node called from several places; a nested model is a subgraph (expanded) or one node.
Node ids are generated (`n0`, `n1`, ...), so any layer name is safe; labels are escaped
with Mermaid's `#NN;` entity codes.
"""

from __future__ import annotations

from typing import Any

from ..graph import calls, expandable, operations, relevant_nodes, source_layer

_ESCAPED = set('"<>&#`|{}')


def escape(text: str) -> str:
    return "".join(f"#{ord(c)};" if c in _ESCAPED else c for c in text)


def _shape_text(layer: Any, relevant: set[int] | None) -> str:
    shapes = []
    for node in calls(layer, relevant):
        for tensor in node.output_tensors:
            dims = ", ".join("None" if d is None else str(d) for d in tuple(tensor.shape))
            shapes.append(f"({dims})")
    return ", ".join(dict.fromkeys(shapes))


def _dtype_text(layer: Any, relevant: set[int] | None) -> str:
    """A layer's dtype; an operation node that is not a layer has none (the `NotEqual` of a
    mask): its outputs' dtypes, as Keras's plot shows them."""
    dtype = getattr(layer, "dtype", None)
    if dtype is not None:
        return str(dtype)
    outputs = [str(t.dtype) for node in calls(layer, relevant) for t in node.output_tensors]
    return ", ".join(dict.fromkeys(outputs))


def render_mermaid(
    model: Any,
    *,
    direction: str = "TB",
    expand_nested: bool = False,
    show_shapes: bool = True,
    show_dtype: bool = False,
) -> str:
    ids: dict[int, str] = {}
    lines = [f"flowchart {direction}"]
    edges: list[tuple[str, str]] = []

    def node_id(layer: Any) -> str:
        return ids.setdefault(id(layer), f"n{len(ids)}")

    def label(layer: Any, relevant: set[int] | None) -> str:
        parts = [escape(layer.name), escape(type(layer).__name__)]
        if show_shapes:
            shape = _shape_text(layer, relevant)
            if shape:
                parts.append(escape(shape))
        if show_dtype:
            parts.append(escape(_dtype_text(layer, relevant)))
        return "<br/>".join(parts)

    def emit(current: Any, indent: str) -> None:
        relevant = relevant_nodes(current)
        for layer in operations(current):
            if expand_nested and expandable(layer):
                lines.append(f'{indent}subgraph {node_id(layer)}["{label(layer, relevant)}"]')
                emit(layer, indent + "  ")
                lines.append(f"{indent}end")
            else:
                lines.append(f'{indent}{node_id(layer)}["{label(layer, relevant)}"]')
            for node in calls(layer, relevant):
                for tensor in node.input_tensors:
                    source = source_layer(tensor)
                    if source is not None:
                        edges.append((node_id(source), node_id(layer)))

    emit(model, "  ")
    lines.extend(f"  {a} --> {b}" for a, b in edges)
    return "\n".join(lines) + "\n"
