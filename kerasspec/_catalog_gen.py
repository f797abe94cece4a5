"""Read what the installed Keras accepts and print it as JSON.

Run as `python -m kerasspec._catalog_gen` in a subprocess (it imports Keras, which costs
seconds); `kerasspec.catalog` caches the result per Keras/TensorFlow version so that
`validate` never imports TensorFlow itself.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from typing import Any

FORMAT = 1

# Strings that `model.compile` resolves itself from the target and prediction shapes
# (keras/src/trainers/compile_utils.py, get_metric and get_loss), on top of what
# `keras.metrics.get` and `keras.losses.get` know.
COMPILE_METRIC_NAMES = ["accuracy", "acc"]
COMPILE_LOSS_NAMES = ["crossentropy", "ce"]

_POPPED = re.compile(r"kwargs\.(?:pop|get)\(\s*[\"'](\w+)[\"']")


def constructor(cls: type) -> dict[str, Any]:
    """Keyword names a class's constructor accepts, following `**kwargs` up the MRO.

    A class whose `__init__` takes `**kwargs` hands them to its parent; the walk stops at an
    `__init__` without `**kwargs`, or at one that rejects leftovers (`if kwargs: raise`, as
    `keras.layers.Layer` and the optimizers do). Names an `__init__` pops out of `kwargs`
    (`input_shape`, `implementation`, ...) are accepted too.
    """
    params: dict[str, None] = {}
    defaults: dict[str, str] = {}  # type name of each default, to spot `units: true`
    required: list[str] = []
    first = True
    open_ended = False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            signature = inspect.signature(init)
        except (TypeError, ValueError):
            break
        has_var_kw = False
        for p in list(signature.parameters.values())[1:]:
            if p.kind is p.VAR_KEYWORD:
                has_var_kw = True
            elif p.kind is not p.VAR_POSITIONAL:
                params.setdefault(p.name, None)
                if first and p.default is p.empty:
                    required.append(p.name)
                elif p.default is not p.empty and p.name not in defaults:
                    defaults[p.name] = type(p.default).__name__
        first = False
        try:
            source = inspect.getsource(init)
        except (OSError, TypeError):
            source = ""
        for name in _POPPED.findall(source):
            params.setdefault(name, None)
        open_ended = has_var_kw
        if not has_var_kw or re.search(r"\n\s*if kwargs:\s*\n\s*raise", source):
            open_ended = False
            break
    return {"params": sorted(params), "required": required, "open": open_ended, "defaults": defaults}


def _public_classes(module: Any, base: type, skip: tuple[str, ...] = ()) -> dict[str, type]:
    found = {}
    for name in dir(module):
        if name.startswith("_") or name in skip:
            continue
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, base):
            found[name] = obj
    return found


def _accepted_names(module: Any) -> list[str]:
    """Every string the module's `get()` resolves: its registry's keys that really resolve."""
    candidates: set[str] = set()
    private = sys.modules.get("keras.src." + module.__name__.rsplit(".", 1)[-1])
    registry = getattr(private, "ALL_OBJECTS_DICT", None)
    if isinstance(registry, dict):
        candidates.update(k for k in registry if isinstance(k, str))
    candidates.update(n for n in dir(module) if not n.startswith("_") and n not in ("get", "serialize", "deserialize"))
    accepted = []
    for name in sorted(candidates):
        try:
            if module.get(name) is not None:
                accepted.append(name)
        except Exception:  # noqa: BLE001 - a name get() refuses is simply not accepted
            pass
    return accepted


def generate() -> dict[str, Any]:
    from importlib.metadata import version

    import keras
    import keras.src.activations  # noqa: F401 - registries live here
    import keras.src.constraints  # noqa: F401
    import keras.src.initializers  # noqa: F401
    import keras.src.losses  # noqa: F401
    import keras.src.metrics  # noqa: F401
    import keras.src.optimizers  # noqa: F401
    import keras.src.regularizers  # noqa: F401

    kinds = {
        "layers": _public_classes(keras.layers, keras.layers.Layer),
        "initializers": _public_classes(keras.initializers, keras.initializers.Initializer),
        "regularizers": _public_classes(keras.regularizers, keras.regularizers.Regularizer),
        "constraints": _public_classes(keras.constraints, keras.constraints.Constraint),
        "optimizers": _public_classes(keras.optimizers, keras.optimizers.Optimizer),
        "schedules": _public_classes(keras.optimizers.schedules, keras.optimizers.schedules.LearningRateSchedule),
        "losses": _public_classes(keras.losses, keras.losses.Loss),
        "metrics": _public_classes(keras.metrics, keras.metrics.Metric),
        "callbacks": _public_classes(keras.callbacks, keras.callbacks.Callback, skip=("CallbackList",)),
    }
    names = {
        "initializers": _accepted_names(keras.initializers),
        "regularizers": _accepted_names(keras.regularizers),
        "constraints": _accepted_names(keras.constraints),
        "optimizers": _accepted_names(keras.optimizers),
        "losses": sorted(set(_accepted_names(keras.losses)) | set(COMPILE_LOSS_NAMES)),
        "metrics": sorted(set(_accepted_names(keras.metrics)) | set(COMPILE_METRIC_NAMES)),
        "activations": _accepted_names(keras.activations),
    }
    # Callbacks have no get(): kerasspec builds a bare name itself, so only argument-free ones count.
    names["callbacks"] = sorted(n for n, c in kinds["callbacks"].items() if not constructor(c)["required"])
    from keras.src.backend.common import dtypes

    return {
        "format": FORMAT,
        "versions": {"keras": version("keras"), "tensorflow": version("tensorflow")},
        "classes": {kind: {n: constructor(c) for n, c in sorted(found.items())} for kind, found in kinds.items()},
        "names": names,
        "functions": {
            "Input": constructor_of_function(keras.Input),
            "compile": constructor_of_function(keras.Model.compile),
            "fit": constructor_of_function(keras.Model.fit),
        },
        "dtypes": sorted(dtypes.ALLOWED_DTYPES),
    }


def constructor_of_function(fn: Any) -> dict[str, Any]:
    params = [
        p
        for p in list(inspect.signature(fn).parameters.values())
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return {
        "params": sorted(p.name for p in params),
        "required": [p.name for p in params if p.default is p.empty],
        "open": False,
        "defaults": {p.name: type(p.default).__name__ for p in params if p.default is not p.empty},
    }


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    out = sys.stdout
    sys.stdout = sys.stderr  # anything Keras prints must not corrupt the JSON
    data = generate()
    out.write(json.dumps(data, sort_keys=True))
    out.flush()


if __name__ == "__main__":
    main()
