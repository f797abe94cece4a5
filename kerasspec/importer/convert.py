"""A Keras model's configuration as a spec document (plain dicts and lists, in the order written).

Nothing of the configuration is deserialized: classes are looked up by name in Keras's own modules
(`keras.layers`, `keras.initializers`, ..., or a module inside the installed Keras package for
its own layers and operations), and a keyword is written only where its value differs from what
that class gives when made with its required arguments alone (Keras itself says what its
defaults are). A class from anywhere else is the user's and becomes a `module:Name` type (built
with `--allow-code`), its whole configuration written. What the format cannot say is an error
that names the layer, raised as `Unsupported` with the key path of the place in the document.
"""

from __future__ import annotations

import heapq
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._keras import OPS_PACKAGE
from ..format.declaration import MODEL_NAME_PATTERN, RESERVED_ENTRY_KEYS
from ..kinds import KINDS, Kind, object_kind, parameter_kind

Where = tuple[Any, ...]  # a key path in the configuration document
_TENSOR = "__keras_tensor__"
_ABSENT = object()  # a key a configuration lacks
_PROBE = "kerasspec_import_probe"  # the name of the layers made only to read Keras's defaults
# Keys an entry reserves now and those the format's additions reserve (`op`, `block`, `adapt`).
_RESERVED = frozenset(RESERVED_ENTRY_KEYS) | {"op", "block", "adapt"}
_NAME_FORBIDS = re.compile(r"[/\[\]\s]")
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_AUTO_CALL_KEYWORDS = ("mask",)  # filled in by Keras on every call; a recorded None means nothing


class Unsupported(Exception):
    """A construct the spec format cannot say, at key path `where` of the configuration."""

    def __init__(self, where: Where, message: str, hint: str | None = None):
        super().__init__(message)
        self.where, self.message, self.hint = where, message, hint


def _json(value: Any) -> Any:
    """A configuration value as JSON holds it (tuples as lists), to compare with the file's."""
    return json.loads(json.dumps(value))


@dataclass
class _Call:
    """One call of a layer or operation in a functional graph: `layers[position].inbound_nodes[node_index]`."""

    position: int
    node_index: int  # its place among the layer's calls in this model, as tensors' keras_history counts
    layer: dict[str, Any]
    node: dict[str, Any]
    where: Where
    needs: set[tuple[str, int]] = field(default_factory=set)  # the calls whose outputs it takes

    @property
    def key(self) -> tuple[str, int]:
        return (self.layer["name"], self.node_index)


class Converter:
    """Converts one model's configuration; caches Keras's defaults per class and arguments."""

    def __init__(self, keras: Any):
        self.keras = keras
        self.defaults: dict[tuple[Any, str], dict[str, Any]] = {}
        self.keras_root = Path(keras.__file__).resolve().parent

    # --- models -------------------------------------------------------------------------------

    def spec(self, document: Any) -> dict[str, Any]:
        """The spec of a serialized model (`{module, class_name, config}`), top level."""
        if not isinstance(document, dict) or "class_name" not in document or "config" not in document:
            raise Unsupported((), "not a Keras model configuration: no class_name and config at the top")
        if "module" not in document:
            raise Unsupported(
                (),
                "a configuration written by Keras 2 (tf.keras), which kerasspec does not read",
                hint="load the model in Keras 3 and save it again (model.save('model.keras'))",
            )
        _forget_object_sharing(document)
        kind = self.model_kind(document)
        if kind is None:
            raise Unsupported(
                (),
                f"the model is of class '{document['class_name']}' (module '{document.get('module')}'), a subclassed "
                "model: its layers are made by Python code its configuration does not describe",
                hint="a spec of `kind: subclass` names such a class; write it by hand",
            )
        spec = self.sequential((), document) if kind == "sequential" else self.functional((), document)
        return spec

    def model_kind(self, serialized: dict[str, Any]) -> str | None:
        module, class_name = serialized.get("module") or "", serialized.get("class_name")
        if class_name in ("Functional", "Model") and module.startswith("keras"):
            return "functional"
        if class_name == "Sequential" and module.startswith("keras"):
            return "sequential"
        return None

    def model_settings(self, where: Where, config: dict[str, Any], what: str) -> str:
        """The model's name; its own trainable and dtype settings must be the defaults."""
        name = config.get("name")
        if not isinstance(name, str) or not name:
            raise Unsupported(where, f"{what} has no name")
        if what == "the model" and not re.fullmatch(MODEL_NAME_PATTERN, name):
            raise Unsupported(
                where,
                f"the model's name '{name}' is not a spec's model name (letters, digits, '_', '-', '.')",
                hint="rename the model in Keras (it names run directories)",
            )
        if config.get("trainable", True) is not True:
            raise Unsupported(
                where,
                f"{what} '{name}' is frozen (trainable: false), which a spec cannot say of a model",
                hint="set trainable on its layers instead",
            )
        dtype = config.get("dtype")
        if dtype is not None and self.dtype_name(where, dtype) not in ("float32", None):
            raise Unsupported(
                where,
                f"{what} '{name}' has dtype policy {self.dtype_name(where, dtype)}, which a spec cannot say of a model",
            )
        return name

    def sequential(self, where: Where, serialized: dict[str, Any]) -> dict[str, Any]:
        config = serialized["config"]
        name = self.model_settings(where, config, "the sequential model")
        spec: dict[str, Any] = {"name": name}
        entries: list[dict[str, Any]] = []
        for index, layer in enumerate(config.get("layers") or []):
            at = (*where, "config", "layers", index)
            if self.is_input_layer(layer):
                if index != 0:
                    raise Unsupported(at, f"the sequential model '{name}' has an input layer after its first layer")
                spec["input"] = self.input_definition(at, layer, named=True)
                continue
            entries.append(self.entry(at, layer))
        if not entries:
            raise Unsupported(where, f"the sequential model '{name}' has no layers, which a spec cannot say")
        spec["layers"] = entries
        return spec

    def functional(self, where: Where, serialized: dict[str, Any]) -> dict[str, Any]:
        config = serialized["config"]
        name = self.model_settings(where, config, "the model")
        graph = _Graph(self, where, config)
        entries, outputs = graph.entries(), graph.outputs()
        _names_without_dots(where, name, entries, outputs)
        return {"name": name, "inputs": graph.inputs, "layers": entries, "outputs": outputs}

    # --- layers -------------------------------------------------------------------------------

    def is_input_layer(self, layer: Any) -> bool:
        return (
            isinstance(layer, dict)
            and layer.get("class_name") == "InputLayer"
            and layer.get("module") == "keras.layers"
        )

    def input_definition(self, where: Where, layer: dict[str, Any], *, named: bool) -> dict[str, Any]:
        config = layer.get("config") or {}
        shape = config.get("batch_shape", config.get("batch_input_shape"))
        if not isinstance(shape, list) or not shape:
            raise Unsupported(where, f"input '{config.get('name')}' has no shape")
        definition: dict[str, Any] = {"shape": shape[1:]}
        if named:
            definition["name"] = config["name"]
        dtype = self.dtype_name(where, config.get("dtype"))
        if dtype not in (None, "float32"):
            definition["dtype"] = dtype
        for flag in ("sparse", "ragged", "optional"):
            if config.get(flag):
                definition[flag] = True
        if shape[0] is not None:
            definition["batch_size"] = shape[0]
        return definition

    def entry(self, where: Where, layer: Any) -> dict[str, Any]:
        """The entry that makes a layer (its name, type and keywords; not yet what it is called on)."""
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict) or "class_name" not in layer:
            raise Unsupported(where, "not a layer configuration (no class_name and config)")
        if "module" not in layer:
            raise Unsupported(
                where,
                "a layer configuration written by Keras 2 (tf.keras), which kerasspec does not read",
                hint="load the model in Keras 3 and save it again (model.save('model.keras'))",
            )
        name = self.layer_name(where, layer)
        kind = self.model_kind(layer)
        if kind is not None:
            nested = self.sequential(where, layer) if kind == "sequential" else self.functional(where, layer)
            if kind == "sequential" and "input" not in nested:
                return {"type": "Sequential", "name": name, "layers": nested["layers"]}
            return {"name": name, "spec": nested}
        operation = self.operation_class(layer)
        if operation is not None:
            return self.operation(where, layer, operation)
        made = self.layer_object(where, layer, name)
        return {"type": made.pop("type"), "name": name, **made}

    def layer_name(self, where: Where, layer: dict[str, Any]) -> str:
        name = layer["config"].get("name", layer.get("name"))
        if not isinstance(name, str) or not name:
            raise Unsupported(where, f"a {layer['class_name']} layer has no name")
        if _NAME_FORBIDS.search(name):
            raise Unsupported(
                where,
                f"layer '{name}' ({layer['class_name']}): its name has '/', '[', ']' or a space, which spec names may not",
            )
        return name

    def describe(self, layer: dict[str, Any]) -> str:
        config = layer.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        what = "operation" if str(layer.get("module")).startswith(OPS_PACKAGE + ".") else "layer"
        return f"{what} '{name}' ({layer.get('class_name')})"

    def layer_class(self, where: Where, layer: dict[str, Any]) -> tuple[str, Any]:
        """(the entry's `type`, the class or None for user code) of a serialized layer."""
        from ..usercode import code_running_layer

        module, class_name = layer.get("module") or "", str(layer["class_name"])
        code_running = KINDS["layers"].code_running
        if module == "keras.layers":
            cls = getattr(self.keras.layers, class_name, None)
            if not (inspect.isclass(cls) and issubclass(cls, self.keras.layers.Layer)):
                raise Unsupported(where, f"{self.describe(layer)}: the installed Keras has no layer {class_name}")
            if class_name in code_running:
                raise Unsupported(
                    where,
                    f"{self.describe(layer)}: a {class_name} layer holds Python code (a function or a saved model), "
                    "which a spec does not carry",
                    hint="write the layer as a class of your own in a module and name it as module:Class",
                )
            return class_name, cls
        if module == "keras" or module.startswith("keras."):
            cls = self.keras_internal(module, class_name)
            if cls is None or not issubclass(cls, self.keras.layers.Layer):
                raise Unsupported(
                    where, f"{self.describe(layer)}: '{module}:{class_name}' is not a layer of the installed Keras"
                )
            if code_running_layer(cls):
                raise Unsupported(
                    where, f"{self.describe(layer)}: a layer that holds Python code, which a spec does not carry"
                )
            return f"{module}:{class_name}", cls
        if module == "__main__" or not _MODULE_NAME.match(module) or not _MODULE_NAME.match(class_name):
            raise Unsupported(
                where,
                f"{self.describe(layer)}: its class was defined in "
                + ("the script that saved the model (__main__)" if module == "__main__" else f"module {module!r}")
                + ", which a spec cannot import",
                hint="move the class into a module of its own, save the model again, then import it",
            )
        return f"{module}:{class_name}", None

    def keras_internal(self, module: str, name: str) -> Any:
        """A class `name` defined in `module` of the installed Keras package, or None."""
        from ..usercode import defined_in_keras, keras_module

        found = keras_module(module) if _MODULE_NAME.match(module) and _MODULE_NAME.match(name) else None
        cls = getattr(found, name, None)
        return cls if defined_in_keras(cls) else None

    def layer_object(self, where: Where, layer: dict[str, Any], name: str | None) -> dict[str, Any]:
        """`{type: X, ...keywords}` of a serialized layer (the `name` key left to the caller)."""
        type_name, cls = self.layer_class(where, layer)
        written = {"type": type_name}
        config = layer["config"]
        if cls is None:  # user code: its defaults are unknown without importing it, so write all
            keys = [k for k, v in config.items() if k != "name" and self.base_layer_defaults().get(k) != v]
            accepted: Callable[[str], bool] = lambda key: True  # noqa: E731
        else:
            keys = self.keywords(where, cls, layer)
            accepted = _accepts(cls)
        for key in keys:
            at = (*where, "config", key)
            if key in _RESERVED or key == "type":
                raise Unsupported(at, f"{self.describe(layer)}: its argument '{key}' is a key the spec format reserves")
            if not accepted(key):
                raise Unsupported(
                    at,
                    f"{self.describe(layer)}: its configuration has '{key}', which its constructor does not take",
                    hint="a spec passes each key to the constructor; the class rebuilds itself some other way",
                )
            written[key] = self.value(at, key, config[key], layer)
        return written

    def keywords(self, where: Where, cls: Any, layer: dict[str, Any]) -> list[str]:
        """The keys of a Keras layer's configuration that a spec must write: the required ones,
        and those whose value differs from what the class makes of the others. Defaults may
        depend on other arguments (MaxPooling2D's strides are its pool_size when not given), so
        the class is made again with the keys found, and any key still different is added."""
        config = layer["config"]
        required = _required(cls)
        missing = [r for r in required if r not in config]
        if missing:
            raise Unsupported(
                where, f"{self.describe(layer)}: its configuration lacks the required argument '{missing[0]}'"
            )
        if any(_holds_object(config[r]) for r in required):  # a wrapped layer, say: written whole
            base = self.base_layer_defaults()
            return [k for k, v in config.items() if k != "name" and base.get(k) != v]
        found = self.made_config(where, cls, {r: config[r] for r in required}, layer)
        keys = [k for k, v in config.items() if k != "name" and (k in required or found.get(k, _ABSENT) != v)]
        plain = {k: config[k] for k in keys if not _holds_object(config[k])}
        if len(plain) > len(required):
            again = self.made_config(where, cls, plain, layer)
            keys += [k for k, v in config.items() if k not in keys and k != "name" and again.get(k, _ABSENT) != v]
        return [k for k in config if k in keys]  # in the configuration's order

    def base_layer_defaults(self) -> dict[str, Any]:
        return {"trainable": True, "dtype": self.default_dtype_policy()}

    def default_dtype_policy(self) -> Any:
        key = ("dtype", "")
        if key not in self.defaults:
            self.defaults[key] = {
                "policy": _json(
                    self.keras.saving.serialize_keras_object(self.keras.layers.Layer(name=_PROBE).dtype_policy)
                )
            }
        return self.defaults[key]["policy"]

    def made_config(self, where: Where, cls: Any, arguments: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
        """The configuration Keras gives `cls(**arguments)` (plain values only), as JSON holds it."""
        key = (cls, json.dumps(arguments, sort_keys=True))
        if key not in self.defaults:
            try:
                instance = cls(**{"name": _PROBE, **arguments})  # named: Keras's name counters stay as they are
                self.defaults[key] = _json(self.keras.saving.serialize_keras_object(instance)["config"])
            except Exception as exc:  # noqa: BLE001 - Keras refuses the file's arguments
                raise Unsupported(
                    where, f"{self.describe(layer)}: Keras refuses its arguments: {' '.join(str(exc).split())[:300]}"
                ) from None
        return self.defaults[key]

    # --- values -------------------------------------------------------------------------------

    def dtype_name(self, where: Where, dtype: Any) -> str | None:
        if dtype is None or isinstance(dtype, str):
            return dtype
        if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
            name = (dtype.get("config") or {}).get("name")
            if isinstance(name, str):
                return name
        raise Unsupported(
            where,
            f"a dtype policy of class '{dtype.get('class_name') if isinstance(dtype, dict) else dtype}', which a spec cannot say",
        )

    def value(self, where: Where, key: str, value: Any, owner: dict[str, Any]) -> Any:
        """A keyword's value as a spec writes it: plain values as they are, Keras objects as
        `{type: X, ...}` (or a name), a dtype policy as its name."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.value((*where, i), key, item, owner) for i, item in enumerate(value)]
        if not isinstance(value, dict):
            raise Unsupported(
                where, f"{self.describe(owner)}: argument '{key}' holds {value!r}, which a spec cannot say"
            )
        if key == "dtype":
            return self.dtype_name(where, value)
        class_name = value.get("class_name")
        if class_name == "__tuple__":
            return self.value((*where, "config", "value"), key, (value.get("config") or {}).get("value"), owner)
        if class_name is None:
            if "type" in value:
                raise Unsupported(
                    where,
                    f"{self.describe(owner)}: argument '{key}' is a mapping with a key 'type', which a spec reads as an object",
                )
            return {str(k): self.value((*where, k), key, v, owner) for k, v in value.items()}
        if isinstance(class_name, str) and class_name.startswith("__"):
            raise Unsupported(
                where,
                f"{self.describe(owner)}: argument '{key}' holds a serialized {class_name.strip('_')} "
                "(a tensor, an array, bytes or code), which a spec cannot say",
            )
        kind = object_kind(parameter_kind(key))
        if kind is None:
            raise Unsupported(
                where,
                f"{self.describe(owner)}: argument '{key}' holds a Keras object ({class_name}), and the spec format "
                "builds objects only for parameters that take initializers, regularizers, constraints, "
                "activations, layers, ...",
            )
        if kind.name == "layers":
            if not isinstance(value.get("config"), dict):
                raise Unsupported(
                    where, f"{self.describe(owner)}: argument '{key}' holds a layer without a configuration"
                )
            written = self.layer_object(where, value, None)
            name = value["config"].get("name")
            return {"type": written.pop("type"), **({"name": name} if name else {}), **written}
        return self.keras_object(where, kind, key, value, owner)

    def keras_object(self, where: Where, kind: Kind, key: str, value: dict[str, Any], owner: dict[str, Any]) -> Any:
        """An initializer, regularizer, constraint, activation, ...: `{type: X, ...non-defaults}`."""
        module, class_name, config = value.get("module") or "", str(value.get("class_name")), value.get("config")
        if class_name == "function":  # a function where the kind takes functions (an activation)
            if not isinstance(config, str):
                raise Unsupported(where, f"{self.describe(owner)}: argument '{key}' holds a function without a name")
            if module.startswith("keras"):
                return config
            if module == "__main__" or not _MODULE_NAME.match(module):
                raise Unsupported(
                    where,
                    f"{self.describe(owner)}: argument '{key}' is a function defined in {module!r}, which a spec cannot import",
                )
            return f"{module}:{config}"
        if not isinstance(config, dict):
            raise Unsupported(
                where, f"{self.describe(owner)}: argument '{key}' holds a {class_name} without a configuration"
            )
        if not module.startswith("keras"):
            if module == "__main__" or not _MODULE_NAME.match(module):
                raise Unsupported(
                    where,
                    f"{self.describe(owner)}: argument '{key}' is a class defined in {module!r}, which a spec cannot import",
                )
            return {
                "type": f"{module}:{class_name}",
                **{k: self.value((*where, "config", k), k, v, owner) for k, v in config.items()},
            }
        cls: Any = getattr(kind.keras_module(self.keras), class_name, None) if kind.module else None
        if not isinstance(cls, type):
            raise Unsupported(
                where, f"{self.describe(owner)}: argument '{key}': the installed Keras has no {kind.noun} {class_name}"
            )
        required = _required(cls)
        cache = (cls, json.dumps({r: config.get(r) for r in required}, sort_keys=True))
        if cache not in self.defaults:
            try:
                self.defaults[cache] = _json(cls(**{r: config[r] for r in required}).get_config())
            except Exception as exc:  # noqa: BLE001
                raise Unsupported(
                    where, f"{self.describe(owner)}: argument '{key}': Keras refuses {class_name}: {exc}"
                ) from None
        # A class that reads its configuration itself (Constant's from_config needs `value`) is
        # given all of it: the build hands the written keys to from_config.
        base = kind.keras_base(self.keras) if kind.base else None
        own_reader = base is not None and getattr(getattr(cls, "from_config", None), "__func__", None) is not getattr(
            base.from_config, "__func__", None
        )
        defaults = {} if own_reader else self.defaults[cache]
        written: dict[str, Any] = {"type": class_name}
        for k, v in config.items():
            if k in defaults and defaults[k] == v and k not in required:
                continue
            written[k] = self.value((*where, "config", k), k, v, owner)
        return written

    # --- operations ---------------------------------------------------------------------------

    def operation_class(self, layer: dict[str, Any]) -> Any:
        """The keras.ops Operation class of a graph node that is not a layer, or None."""
        module = layer.get("module") or ""
        if not module.startswith(OPS_PACKAGE + "."):
            return None
        cls = self.keras_internal(module, str(layer["class_name"]))
        if cls is None or issubclass(cls, self.keras.layers.Layer) or not issubclass(cls, self.keras.Operation):
            return None
        return cls

    def operation(self, where: Where, layer: dict[str, Any], cls: Any) -> dict[str, Any]:
        """`{op: function, name: N, ...keywords}` of an operation node (inputs are added by the graph)."""
        function_name, function = self.operation_function(where, layer, cls)
        config = layer["config"]
        entry: dict[str, Any] = {"op": function_name, "name": self.layer_name(where, layer)}
        parameters = inspect.signature(function).parameters
        for key, value in config.items():
            if key == "name":
                continue
            parameter = parameters.get(key)
            at = (*where, "config", key)
            if parameter is None or parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                raise Unsupported(
                    at,
                    f"operation '{config.get('name')}' ({layer['class_name']}): keras.ops.{function_name} takes no "
                    f"keyword '{key}', so an `op:` entry cannot give it",
                )
            if parameter.default is not parameter.empty and _json(parameter.default) == value:
                continue
            if key in _RESERVED:
                raise Unsupported(
                    at, f"operation '{config.get('name')}': its argument '{key}' is a key the spec format reserves"
                )
            entry[key] = self.value(at, key, value, layer)
        return entry

    def ops_function(self, name: str) -> Any:
        """`keras.ops.<name>` (`image.resize` in keras.ops.image), or None."""
        function: Any = self.keras.ops
        for part in name.split("."):
            function = getattr(function, part, None)
        return function

    def operation_function(self, where: Where, layer: dict[str, Any], cls: Any) -> tuple[str, Any]:
        """The keras.ops function that makes this operation class: named as the class in snake
        case (`Add` -> `add`, `ExpandDims` -> `expand_dims`), in keras.ops or the keras.ops
        namespace of its module (`image.resize`), and defined in the class's own module."""
        class_name = str(layer["class_name"])
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
        namespace = cls.__module__.rsplit(".", 1)[-1]
        for candidate in dict.fromkeys((snake, class_name.lower(), f"{namespace}.{snake}")):
            function = self.ops_function(candidate)
            if inspect.isfunction(function) and function.__module__ == cls.__module__:
                return candidate, function
        raise Unsupported(
            where,
            f"{self.describe(layer)}: the operation has no keras.ops function of its own, so an `op:` entry cannot say it",
            hint="write it with a keras.ops function in the model's code, or as a layer",
        )


def _forget_object_sharing(value: Any) -> None:
    """Drop the `shared_object_id` that saving a .keras file adds to each object serialized
    more than once (an initializer two layers share): each occurrence keeps its whole config, and
    a spec makes one object per mention anyway."""
    if isinstance(value, dict):
        value.pop("shared_object_id", None)
        for item in value.values():
            _forget_object_sharing(item)
    elif isinstance(value, list):
        for item in value:
            _forget_object_sharing(item)


def _required(cls: Any) -> list[str]:
    """The constructor arguments without a default."""
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in list(parameters.items())[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
    ]


def _accepts(cls: Any) -> Callable[[str], bool]:
    """Whether a key may be passed to the class's constructor (Layer's own keywords included)."""
    from ..usercode import constructor_keywords

    named, open_ended, _ = constructor_keywords(cls)
    if open_ended:
        return lambda key: True
    return lambda key: key in named


def _holds_object(value: Any) -> bool:
    if isinstance(value, dict):
        return "class_name" in value or any(_holds_object(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_object(v) for v in value)
    return False


class _Graph:
    """A functional model's graph as spec entries: its inputs, each call in an order where every
    tensor is made before it is used, and its outputs."""

    def __init__(self, converter: Converter, where: Where, config: dict[str, Any]):
        self.converter = converter
        self.where = where
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise Unsupported(where, "the model's configuration has no list of layers")
        self.inputs: dict[str, Any] = {}
        self.calls: dict[tuple[str, int], _Call] = {}
        self.uses: dict[tuple[str, int], set[int]] = {}
        self.positions: dict[str, int] = {}
        input_names = self.structure_names(config.get("input_layers"), "input_layers")
        for position, layer in enumerate(layers):
            at = (*where, "config", "layers", position)
            if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
                raise Unsupported(at, "not a layer configuration (no class_name and config)")
            name = layer.get("name", layer["config"].get("name"))
            if converter.is_input_layer(layer):
                if name not in input_names:
                    raise Unsupported(at, f"input '{name}' is not among the model's inputs")
                self.inputs[name] = converter.input_definition(at, layer, named=False)
                continue
            layer = {**layer, "name": name}
            self.positions[name] = position
            nodes = layer.get("inbound_nodes")
            if not isinstance(nodes, list):
                raise Unsupported(at, f"{converter.describe(layer)}: no inbound_nodes")
            for index, node in enumerate(nodes):
                if not isinstance(node, dict) or "args" not in node:
                    raise Unsupported(
                        (*at, "inbound_nodes", index),
                        f"{converter.describe(layer)}: a call recorded in Keras 2's form, which kerasspec does not read",
                        hint="load the model in Keras 3 and save it again",
                    )
                call = _Call(position, index, layer, node, at)
                if index > 0:
                    call.needs.add((name, index - 1))  # calls of a shared layer keep their order
                self.calls[call.key] = call
        self.inputs = {n: self.inputs[n] for n in input_names if n in self.inputs}
        missing = [n for n in input_names if n not in self.inputs]
        if missing:
            raise Unsupported(where, f"the model's input '{missing[0]}' has no input layer")
        for call in self.calls.values():
            for history in _tensors(call.node):
                producer = (history[0], history[1])
                if history[0] in self.inputs:
                    continue
                if producer not in self.calls:
                    raise Unsupported(
                        call.where,
                        f"{converter.describe(call.layer)} is called on '{history[0]}', which is not in the model",
                    )
                call.needs.add(producer)
                self.uses.setdefault(producer, set()).add(history[2])
        self.output_structure = self.outputs_counted_as_calls(config.get("output_layers"))
        for history in _histories(self.output_structure):
            self.uses.setdefault((history[0], history[1]), set()).add(history[2])
        self.names: dict[tuple[str, int], str] = {}

    def outputs_counted_as_calls(self, structure: Any) -> Any:
        """`output_layers` with node indices as the calls' tensors count them: there a nested
        functional model's first node (its own inputs to outputs) counts, in the calls it does not
        (Keras's get_config numbers the two apart)."""
        if isinstance(structure, list) and _is_history(structure):
            name, node_index, tensor_index = structure
            call = self.calls.get((name, node_index - 1))
            if node_index > 0 and call is not None and self.converter.model_kind(call.layer) == "functional":
                return [name, node_index - 1, tensor_index]
            return structure
        if isinstance(structure, list):
            return [self.outputs_counted_as_calls(item) for item in structure]
        if isinstance(structure, dict):
            return {key: self.outputs_counted_as_calls(item) for key, item in structure.items()}
        return structure

    def structure_names(self, structure: Any, what: str) -> list[str]:
        if isinstance(structure, dict):
            raise Unsupported(
                (*self.where, "config", what),
                "the model takes its inputs as a dict, which a spec cannot say (its inputs are a list, in order)",
            )
        return [h[0] for h in _histories(structure)]

    def order(self) -> list[_Call]:
        """Every call once, each after the calls it needs; otherwise in the configuration's order."""
        waiting = {key: set(call.needs) for key, call in self.calls.items()}
        needed_by: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for key, needs in waiting.items():
            for need in needs:
                needed_by.setdefault(need, []).append(key)
        ready = [(c.position, c.node_index, c.key) for c in self.calls.values() if not waiting[c.key]]
        heapq.heapify(ready)
        ordered = []
        while ready:
            _, _, key = heapq.heappop(ready)
            ordered.append(self.calls[key])
            for later in needed_by.get(key, ()):
                waiting[later].discard(key)
                if not waiting[later]:
                    call = self.calls[later]
                    heapq.heappush(ready, (call.position, call.node_index, later))
        if len(ordered) != len(self.calls):
            stuck = next(c for c in self.calls.values() if waiting[c.key])
            raise Unsupported(stuck.where, f"{self.converter.describe(stuck.layer)} is part of a cycle in the graph")
        return ordered

    def several(self, call: _Call) -> bool:
        """Whether the call returns several tensors (so references pick one: `name[i]`)."""
        if self.uses.get(call.key, {0}) - {0}:
            return True
        layer = call.layer
        if self.converter.model_kind(layer) == "functional":
            return isinstance(layer["config"].get("output_layers"), list) and isinstance(
                layer["config"]["output_layers"][0], list
            )
        kwargs = call.node.get("kwargs") or {}
        return bool(layer["config"].get("return_state")) or bool(kwargs.get("return_attention_scores"))

    def reference(self, history: list[Any]) -> str:
        name, node_index, tensor_index = history[0], history[1], history[2]
        if name in self.inputs:
            return name
        key = (name, node_index)
        if key not in self.names:
            raise Unsupported(
                (*self.where, "config", "output_layers"),
                f"the model's output names layer '{name}' (call {node_index}), which is not in the model",
            )
        reference = self.names[key]
        return f"{reference}[{tensor_index}]" if self.several(self.calls[key]) else reference

    def entries(self) -> list[dict[str, Any]]:
        used_names = set(self.inputs) | {c.layer["name"] for c in self.calls.values()}
        entries: list[dict[str, Any]] = []
        above = next(iter(self.inputs)) if len(self.inputs) == 1 else None
        for call in self.order():
            if call.node_index == 0:
                made = self.converter.entry(call.where, call.layer)
                self.names[call.key] = call.layer["name"]
            else:  # a shared layer's later call
                made = {"reuse": call.layer["name"]}
                if call.key in self.uses:
                    name = f"{call.layer['name']}_call{call.node_index}"
                    while name in used_names:
                        name += "_"
                    used_names.add(name)
                    made["name"] = name
                    self.names[call.key] = name
            inputs, call_keywords = self.arguments(call, made)
            entry: dict[str, Any] = {}
            for key in ("type", "op", "reuse", "name"):
                if key in made:
                    entry[key] = made.pop(key)
            if inputs is not None and inputs != above:
                entry["inputs"] = inputs
            entry.update(made)
            if call_keywords:
                entry["call"] = call_keywords
            if "spec" in entry:  # the nested model's mapping last, after the short keys
                entry["spec"] = entry.pop("spec")
            if "layers" in entry:
                entry["layers"] = entry.pop("layers")
            entries.append(entry)
            above = None if self.several(call) or call.key not in self.names else self.names[call.key]
        return entries

    def outputs(self) -> Any:
        structure = self.output_structure
        if isinstance(structure, dict):
            return {str(k): self.reference(v) for k, v in structure.items()}
        if isinstance(structure, list) and _is_history(structure):
            return self.reference(structure)
        if isinstance(structure, list) and structure:
            return [self.reference(h) for h in structure]
        raise Unsupported(
            (*self.where, "config", "output_layers"), "the model's outputs are not a tensor, a list or a dict of them"
        )

    # --- what each call is called on ---------------------------------------------------------

    def arguments(self, call: _Call, made: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """(`inputs` of the entry, its `call:` keywords); an operation's constant keywords go
        into `made` as keys of the entry."""
        args = call.node.get("args") or []
        kwargs = call.node.get("kwargs") or {}
        where = (*call.where, "inbound_nodes", call.node_index)
        converted_args = [self.argument(where, a, call) for a in args]
        tensor_kwargs = {k: self.argument(where, v, call) for k, v in kwargs.items() if _has_tensor(v)}
        constant_kwargs = {k: v for k, v in kwargs.items() if not _has_tensor(v)}
        if "op" in made:
            return self.operation_arguments(where, call, made, converted_args, tensor_kwargs, constant_kwargs)
        call_keywords = self.call_keywords(where, call, constant_kwargs)
        names = self.call_parameters(call)
        if len(converted_args) == 1 and not tensor_kwargs and _has_tensor(args[0]):
            return converted_args[0], call_keywords
        if len(converted_args) > len(names):
            raise Unsupported(
                where,
                f"{self.converter.describe(call.layer)} is called with more positional arguments than its call() names",
            )
        mapping: dict[str, Any] = {}
        for name, value, raw in zip(names, converted_args, args):
            if _has_tensor(raw):
                mapping[name] = value
            else:
                call_keywords[name] = value
        mapping.update(tensor_kwargs)
        if not mapping:
            raise Unsupported(where, f"{self.converter.describe(call.layer)} is called on no tensor")
        return mapping, call_keywords

    def argument(self, where: Where, value: Any, call: _Call) -> Any:
        if _is_tensor(value):
            return self.reference(value["config"]["keras_history"])
        if isinstance(value, list):
            items = [self.argument(where, v, call) for v in value]
            if any(_has_tensor(v) for v in value) and not all(_is_tensor(v) for v in value):
                raise Unsupported(
                    where,
                    f"{self.converter.describe(call.layer)} is called on a list of tensors and constants, which a spec cannot say",
                )
            return items
        if isinstance(value, dict) and _has_tensor(value):
            raise Unsupported(
                where,
                f"{self.converter.describe(call.layer)} is called on a dict of tensors, which a spec cannot say (a mapping in `inputs` names keyword arguments)",
            )
        if isinstance(value, dict):
            what = value.get("class_name", "object")
            if what in ("__slice__", "__ellipsis__"):
                what = "slice or `...` (indexing as in x[..., 0])"
            raise Unsupported(
                where, f"{self.converter.describe(call.layer)} is called with a {what}, which a spec cannot say"
            )
        return value

    def call_parameters(self, call: _Call) -> list[str]:
        """The names of the positional parameters of the layer's call()."""
        cls = self.call_class(call)
        if cls is None:
            return ["inputs"]
        try:
            parameters = list(inspect.signature(cls.call).parameters.values())[1:]
        except (TypeError, ValueError):
            return ["inputs"]
        return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def call_class(self, call: _Call) -> Any:
        layer = call.layer
        if self.converter.model_kind(layer) is not None:
            return self.converter.keras.Model
        if layer.get("module") == "keras.layers":
            return getattr(self.converter.keras.layers, str(layer["class_name"]), None)
        if (layer.get("module") or "").startswith("keras"):
            return self.converter.keras_internal(layer["module"], str(layer["class_name"]))
        return None

    def call_keywords(self, where: Where, call: _Call, constants: dict[str, Any]) -> dict[str, Any]:
        """Constant call keywords, without those Keras records by itself (a call's defaults)."""
        cls = self.call_class(call)
        try:
            parameters = inspect.signature(cls.call).parameters if cls is not None else {}
        except (TypeError, ValueError):
            parameters = {}
        written = {}
        for key, value in constants.items():
            parameter = parameters.get(key)
            if (
                parameter is not None
                and parameter.default is not inspect.Parameter.empty
                and _json(parameter.default) == value
            ):
                continue
            if value is None and (key in _AUTO_CALL_KEYWORDS or parameter is None):
                continue
            if isinstance(value, dict):
                raise Unsupported(
                    where,
                    f"{self.converter.describe(call.layer)}: call keyword '{key}' holds a serialized object, which a spec cannot say",
                )
            written[key] = value
        return written

    def operation_arguments(
        self,
        where: Where,
        call: _Call,
        made: dict[str, Any],
        args: list[Any],
        tensor_kwargs: dict[str, Any],
        constant_kwargs: dict[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        function = self.converter.ops_function(made["op"])
        parameters = list(inspect.signature(function).parameters.values())
        describe = self.converter.describe(call.layer)
        raw_args = call.node.get("args") or []
        plain = all(_is_tensor(a) or (isinstance(a, (int, float)) and not isinstance(a, bool)) for a in raw_args)
        for key, value in constant_kwargs.items():
            if key in _RESERVED:
                raise Unsupported(where, f"{describe}: its keyword '{key}' is a key the spec format reserves")
            made[key] = value
        if plain and not tensor_kwargs:
            if len(args) == 1 and _is_tensor(raw_args[0]):
                return args[0], {}
            return args, {}
        if len(args) > len(parameters):
            raise Unsupported(where, f"{describe} is called with more arguments than keras.ops.{made['op']} names")
        mapping: dict[str, Any] = {}
        for parameter, value, raw in zip(parameters, args, raw_args):
            if _has_tensor(raw):
                mapping[parameter.name] = value
            elif parameter.name in _RESERVED:
                raise Unsupported(
                    where, f"{describe}: its argument '{parameter.name}' is a key the spec format reserves"
                )
            else:
                made[parameter.name] = value
        mapping.update(tensor_kwargs)
        return mapping, {}


def _is_history(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and isinstance(value[1], int)


def _histories(structure: Any) -> list[list[Any]]:
    if _is_history(structure):
        return [structure]
    if isinstance(structure, list):
        return [h for item in structure for h in _histories(item)]
    if isinstance(structure, dict):
        return [h for item in structure.values() for h in _histories(item)]
    return []


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == _TENSOR


def _has_tensor(value: Any) -> bool:
    if _is_tensor(value):
        return True
    if isinstance(value, list):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


def _tensors(value: Any) -> list[list[Any]]:
    """The keras_history of every tensor a call node takes."""
    if _is_tensor(value):
        history = (value.get("config") or {}).get("keras_history")
        return [history] if isinstance(history, list) and _is_history(history) else []
    if isinstance(value, list):
        return [h for v in value for h in _tensors(v)]
    if isinstance(value, dict):
        return [h for v in value.values() for h in _tensors(v)]
    return []


def _names_without_dots(where: Where, model: str, entries: list[dict[str, Any]], outputs: Any) -> None:
    """Spec names may not hold '.' (it joins a block's entry names). An operation node named as
    kerasspec names an unnamed `op:` entry (`<model>.<position>`) and used only by the entry
    below it is written without its name, which gives it back; any other dotted name is refused."""
    referenced: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            referenced.add(value.split("[", 1)[0])
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)

    for entry in entries:
        collect(entry.get("inputs"))
        collect(entry.get("reuse"))
    collect(outputs)
    for position, entry in enumerate(entries, 1):
        name = entry.get("name")
        if not isinstance(name, str) or "." not in name:
            continue
        if "op" in entry and name == f"{model}.{position}" and name not in referenced:
            del entry["name"]
            continue
        raise Unsupported(
            where,
            f"layer '{name}': its name has '.', which spec names may not ('.' joins the names of a block's entries)",
            hint="rename the layer in Keras, or write its part of the spec by hand",
        )
