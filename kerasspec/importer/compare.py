"""How two Keras models differ, as a list of lines (empty: the same model).

Used to check an imported spec against the model it came from: the model's class and name,
parameter counts, input and output shapes, every layer (nested models' layers too) by name with
its class and whole `get_config()`, and the model's own configuration, which holds the wiring
(each call's inbound tensors). Nothing is left out of the comparison.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _typed(value: Any) -> str:
    """A config value as JSON: `==` takes 6 for 6.0 and 1 for True; this does not."""
    return json.dumps(value, sort_keys=True, default=repr)


def parameter_counts(model: Any) -> dict[str, int]:
    """Counted from the weights' shapes, so a model whose weights were never allocated counts too."""
    return {
        "trainable": sum(math.prod(w.shape) for w in model.trainable_weights),
        "non_trainable": sum(math.prod(w.shape) for w in model.non_trainable_weights),
    }


def _layers(model: Any, prefix: str = "") -> dict[str, Any]:
    found = {}
    for layer in getattr(model, "layers", []):
        found[prefix + layer.name] = layer
        if hasattr(layer, "layers") and layer is not model:
            found.update(_layers(layer, f"{prefix}{layer.name}/"))
    return found


def _config_differences(what: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    keys = sorted(k for k in ours.keys() | theirs.keys() if _typed(ours.get(k)) != _typed(theirs.get(k)))
    return [f"{what}: {k}: {_typed(ours.get(k))[:200]} != {_typed(theirs.get(k))[:200]}" for k in keys]


def model_differences(ours: Any, theirs: Any) -> list[str]:
    """Every way `ours` differs from `theirs` (the original)."""
    found: list[str] = []
    if (type(ours).__name__, ours.name) != (type(theirs).__name__, theirs.name):
        found.append(f"model: {type(ours).__name__} {ours.name!r} != {type(theirs).__name__} {theirs.name!r}")
    if parameter_counts(ours) != parameter_counts(theirs):
        found.append(f"parameters: {parameter_counts(ours)} != {parameter_counts(theirs)}")
    for what in ("inputs", "outputs"):
        shapes = [[list(t.shape) for t in getattr(m, what)] for m in (ours, theirs)]
        if shapes[0] != shapes[1]:
            found.append(f"{what} shapes: {shapes[0]} != {shapes[1]}")
    mine, reference = _layers(ours), _layers(theirs)
    if list(mine) != list(reference):
        missing = [n for n in reference if n not in mine]
        extra = [n for n in mine if n not in reference]
        found.append(
            f"layers: missing {missing[:5]}, extra {extra[:5]}" if missing or extra else "layers: another order"
        )
    for name in (n for n in reference if n in mine):
        a, b = mine[name], reference[name]
        if type(a) is not type(b):
            found.append(f"layer {name}: class {type(a).__name__} != {type(b).__name__}")
            continue
        found += _config_differences(f"layer {name}", a.get_config(), b.get_config())
    if not found:  # the layers are alike: the wiring is what is left
        found += _config_differences("model config", ours.get_config(), theirs.get_config())
    return found
