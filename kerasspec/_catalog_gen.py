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

from .kinds import KINDS

FORMAT = 3

# Strings that `model.compile` resolves itself from the target and prediction shapes
# (keras/src/trainers/compile_utils.py, get_metric and get_loss), on top of what
# `keras.metrics.get` and `keras.losses.get` know.
COMPILE_METRIC_NAMES = ["accuracy", "acc"]
COMPILE_LOSS_NAMES = ["crossentropy", "ce"]

_POPPED = re.compile(r"kwargs\.(?:pop|get)\(\s*[\"'](\w+)[\"']")
_ARG_LINE = re.compile(r"^(\s*)(\*{0,2}\w+)(?: \([^)]*\))?:\s*(.*)$")
_TYPE_WORDS = {
    "int": "integer",
    "integer": "integer",
    "integers": "integer",
    "float": "number",
    "floats": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "string": "string",
    "str": "string",
    "tuple": "array",
    "list": "array",
    "dict": "object",
    "none": "null",
}
_QUALIFIERS = {
    "a",
    "an",
    "the",
    "optional",
    "positive",
    "python",
    "non-negative",
    "nonnegative",
    "scalar",
    "single",
}
_QUOTED = re.compile(r'`"([\w\-]+)"`|"([\w\-]+)"')


def constructor(cls: type) -> dict[str, Any]:
    """Keyword names a class's constructor accepts, following `**kwargs` up the MRO.

    A class whose `__init__` takes `**kwargs` hands them to its parent; the walk stops at an
    `__init__` without `**kwargs`, or at one that rejects leftovers (`if kwargs: raise`, as
    `keras.layers.Layer` and the optimizers do). Names an `__init__` pops out of `kwargs`
    (`input_shape`, `implementation`, ...) are accepted too.
    """
    params: dict[str, None] = {}
    defaults: dict[str, str] = {}  # type name of each default, to spot `units: true`
    default_values: dict[str, Any] = {}
    owners: list[Any] = []
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
                    default_values[p.name] = p.default
        owners.append(klass)
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
    details = {k: v for k, v in argument_details(owners, default_values).items() if k in params}
    return {
        "params": sorted(params),
        "required": required,
        "open": open_ended,
        "defaults": defaults,
        "details": details,
    }


def _class_entry(klass: Any) -> dict[str, Any]:
    """A class's constructor, and whether it learns from data (`adapt()`, for `adapt: true`)."""
    entry = constructor(klass)
    if callable(getattr(klass, "adapt", None)):
        entry["adapts"] = True
    return entry


def documented_arguments(obj: Any) -> dict[str, str]:
    """`name: text` entries of a Google-style docstring's `Args:` section, each as one line."""
    doc = inspect.getdoc(obj) or ""
    found: dict[str, str] = {}
    inside, indent, current = False, None, None
    for line in doc.splitlines():
        if not inside:
            inside = line.strip() in ("Args:", "Arguments:")
            continue
        if line.strip() and not line.startswith(" "):
            break  # the next section (`Call arguments:`, `Returns:`, ...)
        match = _ARG_LINE.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            current = match.group(2).lstrip("*")
            found[current] = match.group(3).strip()
        elif current and line.strip():
            found[current] += " " + line.strip()
    return found


def _add(types: list[str], kind: str) -> None:
    if kind not in types:
        types.append(kind)


def _alternatives(words: list[str], types: list[str]) -> None:
    """`int or tuple`, `float or a tuple of size 2` -> the type after each `or`."""
    for i, before in enumerate(words[:-1]):
        if before != "or":
            continue
        following = [w.strip("`") for w in words[i + 1 :] if w.strip("`") not in _QUALIFIERS]
        word = following[0] if following else ""
        if word.rstrip("s") in _TYPE_WORDS | {"tupl": "array"}:
            _add(types, _TYPE_WORDS.get(word, _TYPE_WORDS.get(word.rstrip("s"), "array")))


def types_from_doc(text: str) -> tuple[list[str], list[str], int | None]:
    """JSON types, enum values and a minimum read from an argument's description, where its first
    words say so (`Positive integer, ...`, `int or tuple/list of 2 integers`, `string, either
    "valid" or "same"`); nothing when the description does not start with a type."""
    segments = re.split(r"[.;:(]", text, maxsplit=1)[0].lower().split(",")
    head = segments[0]
    words = head.replace("/", " or ").split()
    minimum = 1 if words[:1] == ["positive"] and len(words) > 1 and words[1] in ("int", "integer") else None
    while words and words[0] in _QUALIFIERS:
        words = words[1:]
    if not words or words[0] not in _TYPE_WORDS:
        return [], [], None
    types = [_TYPE_WORDS[words[0]]]
    _alternatives(words, types)
    for segment in segments[1:]:  # "Integer, tuple of integers, or None": alternatives after commas
        more = segment.replace("/", " or ").split()
        if more[:1] == ["or"]:
            more = more[1:]
        while more and more[0] in _QUALIFIERS:
            more = more[1:]
        if not more or more[0].strip("`") not in _TYPE_WORDS | {"tuples": "array", "lists": "array"}:
            break
        _add(types, _TYPE_WORDS.get(more[0].strip("`"), "array"))
        _alternatives(more, types)
    if head.split()[:1] == ["optional"] and "null" not in types:
        types.append("null")
    enum: list[str] = []
    first_sentence = text.split(". ", 1)[0]
    if types == ["string"] and ("either" in first_sentence or "one of" in first_sentence):
        enum = [a or b for a, b in _QUOTED.findall(first_sentence)]
    return types, enum, minimum


def _json_value(value: Any) -> Any:
    """A default that JSON can hold (tuples as lists), or a marker that it cannot."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    raise TypeError


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"


def argument_details(owners: list[Any], defaults: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per argument: its default, and the type, enum and description its docstring gives.

    A type is only recorded when the docstring states one and the default agrees with it;
    where they disagree the argument stays untyped (accepted as any value, checked by Keras).
    """
    docs: dict[str, str] = {}
    for owner in owners:
        for name, text in documented_arguments(owner).items():
            docs.setdefault(name, text)
    details: dict[str, dict[str, Any]] = {}
    for name in set(docs) | set(defaults):
        entry: dict[str, Any] = {}
        text = docs.get(name, "")
        if text:
            entry["doc"] = text.split(". ", 1)[0].rstrip(".")[:300]
        types, enum, minimum = types_from_doc(text) if text else ([], [], None)
        if name in defaults:
            try:
                entry["default"] = _json_value(defaults[name])
            except TypeError:
                types = []
            else:
                default_type = _json_type(defaults[name])
                if types and default_type not in types and not (default_type == "integer" and "number" in types):
                    if default_type == "null" or (enum and defaults[name] in enum):
                        types.append(default_type)
                    else:
                        types, enum = [], []
        if enum and "default" in entry and entry["default"] not in enum + [None]:
            enum = []
        if types:
            entry["types"] = types
        if enum:
            entry["enum"] = enum
        if minimum is not None and types == ["integer"]:
            entry["minimum"] = minimum
        if entry:
            details[name] = entry
    return details


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

    listed = [kind for kind in KINDS.values() if kind.listed]
    kinds = {kind.name: _public_classes(kind.keras_module(keras), kind.keras_base(keras), kind.skip) for kind in listed}
    names = {
        kind.name: _accepted_names(kind.keras_module(keras)) for kind in KINDS.values() if kind.names_from == "get"
    }
    names["losses"] = sorted(set(names["losses"]) | set(COMPILE_LOSS_NAMES))
    names["metrics"] = sorted(set(names["metrics"]) | set(COMPILE_METRIC_NAMES))
    for kind in KINDS.values():  # kerasspec builds a bare class name itself: only argument-free ones count
        if kind.names_from == "argument-free classes":
            names[kind.name] = sorted(n for n, c in kinds[kind.name].items() if not constructor(c)["required"])
    from keras.src.backend.common import dtypes

    return {
        "format": FORMAT,
        "versions": {"keras": version("keras"), "tensorflow": version("tensorflow")},
        "classes": {kind: {n: _class_entry(c) for n, c in sorted(found.items())} for kind, found in kinds.items()},
        "names": names,
        "functions": {
            "Input": constructor_of_function(keras.Input),
            "compile": constructor_of_function(keras.Model.compile),
            "fit": constructor_of_function(keras.Model.fit),
            "image_dataset_from_directory": constructor_of_function(keras.utils.image_dataset_from_directory),
            "text_dataset_from_directory": constructor_of_function(keras.utils.text_dataset_from_directory),
        },
        "dtypes": sorted(dtypes.ALLOWED_DTYPES),
        "ops": operations(keras),
    }


# keras.ops's submodules whose functions are not all at its top level as well
OP_SUBMODULES = ("image", "linalg", "nn", "numpy")


def operations(keras: Any) -> dict[str, dict[str, Any]]:
    """The functions of `keras.ops` (and `image.resize`, `linalg.qr`, ... of its submodules)
    with their parameters in order: an `op:` entry binds its `inputs` to them by position."""
    found: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for prefix, module in [("", keras.ops)] + [(f"{m}.", getattr(keras.ops, m)) for m in OP_SUBMODULES]:
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("_") or not inspect.isfunction(fn):
                continue
            if prefix and getattr(keras.ops, name, None) is fn:
                aliases[prefix + name] = name  # `nn.sigmoid` is keras.ops.sigmoid
            else:
                found[prefix + name] = fn
    ops: dict[str, dict[str, Any]] = {name: operation(fn) for name, fn in sorted(found.items())}
    ops.update({alias: {"alias": name} for alias, name in sorted(aliases.items())})
    return ops


def operation(fn: Any) -> dict[str, Any]:
    info = constructor_of_function(fn)
    parameters = inspect.signature(fn).parameters.values()
    info["positional"] = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    info["varargs"] = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    info["open"] = any(p.kind == p.VAR_KEYWORD for p in parameters)
    for detail in info["details"].values():  # ops' docstrings rarely state types: a flag is a flag
        if isinstance(detail.get("default"), bool) and "types" not in detail:
            detail["types"] = ["boolean"]
    return info


def constructor_of_function(fn: Any) -> dict[str, Any]:
    params = [
        p
        for p in list(inspect.signature(fn).parameters.values())
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    names = {p.name for p in params}
    return {
        "params": sorted(names),
        "required": [p.name for p in params if p.default is p.empty],
        "open": False,
        "defaults": {name: type(value).__name__ for name, value in defaults.items()},
        "details": {k: v for k, v in argument_details([fn], defaults).items() if k in names},
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
