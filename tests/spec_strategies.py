"""Hypothesis strategies that draw spec files: mutated bundled specs, specs from a grammar of
the format, and raw text with broken YAML. Used by test_properties.py.

The grammar below is written from the format as users see it (README, the bundled specs), not
imported from kerasspec, so that it keeps generating the same inputs while the checker changes.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIRS = ("specs", "specs/code", "tests/specs")
BUNDLED = sorted(p.relative_to(ROOT).as_posix() for d in SPEC_DIRS for p in (ROOT / d).glob("*.yaml"))
TREES = {rel: yaml.safe_load((ROOT / rel).read_text(encoding="utf-8")) for rel in BUNDLED}

TOP_LEVEL = ["version", "name", "description", "kind", "vars", "input", "inputs", "layers", "class", "args"]
TOP_LEVEL += ["outputs", "compile", "data", "train"]
LAYER_KEYWORDS = {
    "Dense": ["units", "activation", "use_bias", "kernel_initializer", "kernel_regularizer", "dtype"],
    "Conv2D": ["filters", "kernel_size", "strides", "padding", "activation", "data_format"],
    "Conv1D": ["filters", "kernel_size", "padding", "activation"],
    "Dropout": ["rate", "seed", "noise_shape"],
    "Flatten": ["data_format"],
    "Concatenate": ["axis"],
    "Add": [],
    "Embedding": ["input_dim", "output_dim", "mask_zero", "embeddings_initializer"],
    "LSTM": ["units", "return_sequences", "return_state", "dropout", "activation"],
    "GRU": ["units", "return_sequences", "go_backwards"],
    "MaxPooling2D": ["pool_size", "strides", "padding"],
    "GlobalAveragePooling1D": ["data_format", "keepdims"],
    "BatchNormalization": ["axis", "momentum", "epsilon", "center", "scale"],
    "Activation": ["activation"],
    "Reshape": ["target_shape"],
    "Rescaling": ["scale", "offset"],
    "MultiHeadAttention": ["num_heads", "key_dim", "dropout"],
    "LayerNormalization": ["epsilon", "axis"],
    "Bidirectional": ["layer", "merge_mode"],
    "Dens": ["units"],  # misspelt on purpose
    "gated_layers:GatedDense": ["units", "activation"],  # user code
}
OBJECTS = ["HeNormal", "GlorotUniform", "L2", "L1L2", "Adam", "SGD", "EarlyStopping", "Dense", "NonNeg", "He"]
NAMES = ["relu", "softmax", "sigmoid", "adam", "rmsprop", "accuracy", "mse", "categorical_crossentropy", "float32"]
NAMES += ["same", "valid", "channels_last", "binary_crossentropy", "mean_absolute_error", "relux", "int32"]
LOSS_KEYS = ["optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "jit_compile", "run_eagerly"]
DATA_KEYS = ["samples", "seed", "sequence_length", "inputs", "targets", "file"]
DISTRIBUTIONS = ["binary", "integers", "uniform", "normal", "onehot", "constant", "gaussian"]
TRAIN_KEYS = ["epochs", "batch_size", "loop", "step", "seed", "callbacks", "validation_split", "shuffle"]
TRAIN_KEYS += ["class_weight", "verbose", "steps_per_epoch"]
INPUT_KEYS = ["shape", "dtype", "sparse", "ragged", "batch_size", "optional", "name"]

# Text that is odd for a YAML value or a name: control characters, bidi marks, astral and
# combining characters, a lone BOM, YAML's own indicators, and `${...}` in every state.
ODD_TEXT = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\U0001f600"]
ODD_TEXT += ["e\u0301", "\t", "\r", "\n", ":", "#", "- ", "[", "{", "}", "'", '"', "&a", "*a", "!!python/name:os"]
VAR_TEXT = ["${", "${units", "${}", "${ }", "${units}", "${nope}", "$${units}", "${1x}", "${a.b}", "${${x}}", "x${y"]

names = st.sampled_from(["x", "hidden", "features", "image", "label", "enc", "out", "title", "a", "b"])
odd_strings = st.one_of(
    st.sampled_from(ODD_TEXT + VAR_TEXT),
    st.text(min_size=0, max_size=6),
    st.builds("".join, st.lists(st.sampled_from(ODD_TEXT + VAR_TEXT + list(string.ascii_letters)), max_size=4)),
)
scalars = st.one_of(
    st.integers(-3, 300),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(NAMES),
    names,
    odd_strings,
)
# Any value at all, nested a little: what a mutation puts where a value was.
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(names, odd_strings, st.integers(-2, 2)), inner, max_size=3),
    ),
    max_leaves=6,
)


# --- (a) mutations of the bundled specs -------------------------------------------------------


def _slots(tree: Any, path: tuple = ()) -> list[tuple]:
    """Every place in the tree a mutation can touch: paths to dict keys and list items."""
    found = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _slots(value, path + (key,))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _slots(value, path + (index,))
    return found + [path]  # the root last: Hypothesis favours the first choices


def _get(tree: Any, path: tuple) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def typo(word: str, data: st.DataObject) -> str:
    """A one-character typo: delete, insert, replace or swap one character."""
    if not word:
        return data.draw(st.sampled_from(string.ascii_lowercase))
    i = data.draw(st.integers(0, len(word) - 1))
    how = data.draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
    char = data.draw(st.sampled_from(string.ascii_lowercase + "_"))
    if how == "delete":
        return word[:i] + word[i + 1 :]
    if how == "insert":
        return word[:i] + char + word[i:]
    if how == "replace":
        return word[:i] + char + word[i + 1 :]
    j = min(i + 1, len(word) - 1)
    return word[:i] + word[j] + word[i] + word[j + 1 :] if j != i else word + char


def _rename(container: dict, old: Any, new: Any) -> None:
    """Rename a key in place, keeping the key order (a typo stays where the key was written)."""
    items = [(new if k == old else k, v) for k, v in container.items()]
    container.clear()
    container.update(items)


def mutate(tree: Any, data: st.DataObject) -> Any:
    """Apply one random mutation somewhere in the tree; returns the (possibly new) root."""
    path = data.draw(st.sampled_from(_slots(tree)), label="path")
    if not path:
        return data.draw(st.one_of(values, st.just(tree)), label="new root")
    parent, key = _get(tree, path[:-1]), path[-1]
    value = parent[key]
    how = data.draw(
        st.sampled_from(["drop", "typo", "retype", "duplicate", "swap", "reference", "odd text", "key type"]),
        label="mutation",
    )
    if how == "drop":
        del parent[key]
    elif how == "typo" and isinstance(parent, dict) and isinstance(key, str):
        _rename(parent, key, typo(key, data))
    elif how == "typo" and isinstance(value, str):
        parent[key] = typo(value, data)
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(data.draw(st.integers(0, len(parent))), yaml.safe_load(yaml.safe_dump(value)))
    elif how == "swap" and isinstance(parent, list) and len(parent) > 1:
        other = data.draw(st.integers(0, len(parent) - 1))
        parent[key], parent[other] = parent[other], parent[key]
    elif how == "reference":
        parent[key] = data.draw(st.sampled_from(["nowhere", "hidden[99]", "x[0]", "enc[-1]", "[1]", "a b", ""]))
    elif how == "odd text" and isinstance(value, str):
        i = data.draw(st.integers(0, len(value)))
        parent[key] = value[:i] + data.draw(odd_strings) + value[i:]
    elif how == "key type" and isinstance(parent, dict):
        _rename(parent, key, data.draw(st.sampled_from([1, 0, -1, 2.5, True, False, None, "", " "])))
    else:  # retype, or a mutation that does not fit this place
        parent[key] = data.draw(values, label="value")
    return tree


def dump(tree: Any, data: st.DataObject) -> str:
    flow = data.draw(st.sampled_from([False, None, True]), label="flow style")
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=data.draw(st.booleans()), default_flow_style=flow)


@st.composite
def mutated_specs(draw: Any) -> tuple[str, str]:
    """(bundled spec it came from, YAML text): a bundled spec with 1 to 4 mutations."""
    data = draw(st.data())
    rel = draw(st.sampled_from(BUNDLED), label="spec")
    tree = yaml.safe_load(yaml.safe_dump(TREES[rel]))  # a private copy
    for _ in range(draw(st.integers(1, 4))):
        tree = mutate(tree, data)
    return rel, dump(tree, data)


# --- (b) specs from a grammar of the format ---------------------------------------------------


plausible = st.one_of(st.integers(1, 64), st.sampled_from(NAMES), st.booleans(), st.floats(0, 1), st.none())


@st.composite
def _object(draw: Any) -> dict:
    obj = {"type": draw(st.sampled_from(OBJECTS))}
    for key in draw(
        st.lists(st.sampled_from(["seed", "l2", "learning_rate", "monitor", "patience", "foo"]), max_size=2)
    ):
        obj[key] = draw(plausible)
    return obj


keyword_values = st.one_of(plausible, plausible, _object(), st.lists(st.integers(1, 5), max_size=3), values)


@st.composite
def layer_entries(draw: Any, known: list[str]) -> dict:
    entry: dict = {}
    form = draw(st.sampled_from(["type", "type", "type", "reuse", "spec"]))
    if form == "type":
        layer_type = draw(st.sampled_from(sorted(LAYER_KEYWORDS)))
        entry["type"] = layer_type
        for key in draw(st.lists(st.sampled_from(LAYER_KEYWORDS[layer_type] + ["unit", "name2"]), max_size=4)):
            entry[key] = draw(keyword_values)
    elif form == "reuse":
        entry["reuse"] = draw(st.sampled_from(known or ["nothing"]))
    else:
        entry["spec"] = draw(st.sampled_from(["encoder.yaml", "missing.yaml", "/abs.yaml", "x.txt", "spec.yaml"]))
    if draw(st.booleans()):
        entry["name"] = draw(st.one_of(names, odd_strings))
    if draw(st.booleans()):
        refs = st.one_of(st.sampled_from(known or ["x"]), names, st.sampled_from(["enc[1]", "hidden[99]", "x[0]"]))
        entry["inputs"] = draw(st.one_of(refs, st.lists(refs, max_size=3), st.dictionaries(names, refs, max_size=2)))
    return entry


@st.composite
def grammar_specs(draw: Any) -> str:
    """A spec built from the format's grammar, with plausible values and some odd ones."""
    spec: dict = {}
    if draw(st.booleans()):
        spec["version"] = draw(st.one_of(st.just(1), st.just(1), st.just(1), values))
    spec["name"] = draw(st.one_of(names, names, names, names, odd_strings, values))
    if draw(st.booleans()):
        spec["kind"] = draw(st.sampled_from(["sequential", "functional", "subclass", "foo"]))
    var_names = draw(st.lists(st.sampled_from(["units", "rate", "n", "1x", "a-b"]), max_size=3, unique=True))
    if var_names:
        spec["vars"] = {v: draw(st.one_of(st.integers(1, 9), st.sampled_from(VAR_TEXT), values)) for v in var_names}
    input_names = draw(st.lists(names, max_size=3, unique=True))

    def input_def() -> Any:
        shape = st.lists(st.one_of(st.integers(-1, 32), st.none(), st.sampled_from(VAR_TEXT)), max_size=4)
        definition = {"shape": draw(st.one_of(shape, shape, values))}
        for key in draw(st.lists(st.sampled_from(INPUT_KEYS), max_size=2)):
            definition[key] = draw(plausible)
        return definition

    if draw(st.booleans()):
        spec["inputs"] = {name: input_def() for name in input_names}
    elif draw(st.booleans()):
        spec["input"] = input_def()
    layers: list = []
    known = list(input_names)
    for _ in range(draw(st.integers(0, 6))):
        entry = draw(layer_entries(known))
        layers.append(entry)
        if isinstance(entry.get("name"), str):
            known.append(entry["name"])
    spec["layers"] = layers
    if draw(st.booleans()):
        outputs = st.one_of(st.sampled_from(known or ["x"]), names)
        spec["outputs"] = draw(st.one_of(outputs, st.lists(outputs, max_size=3)))
    if draw(st.booleans()):
        spec["class"], spec["args"] = draw(st.sampled_from(["ticket_model:TicketModel", "x", "a:b:c"])), draw(values)
    if draw(st.booleans()):
        per_output = st.one_of(st.sampled_from(NAMES), st.dictionaries(st.sampled_from(known or ["x"]), plausible))
        compile_section = {}
        for key in draw(st.lists(st.sampled_from(LOSS_KEYS), max_size=4, unique=True)):
            compile_section[key] = draw(st.one_of(per_output, st.lists(per_output, max_size=2), _object(), values))
        spec["compile"] = compile_section
    if draw(st.booleans()):
        data_section: dict = {}
        for key in draw(st.lists(st.sampled_from(DATA_KEYS), max_size=3, unique=True)):
            if key in ("inputs", "targets"):
                dist = st.fixed_dictionaries(
                    {"distribution": st.sampled_from(DISTRIBUTIONS)},
                    optional={k: plausible for k in ("low", "high", "mean", "std", "value", "foo")},
                )
                data_section[key] = draw(st.dictionaries(st.sampled_from(known or ["x"]), st.one_of(dist, values)))
            elif key == "file":
                data_section[key] = draw(st.sampled_from(["data.npz", "data.csv", "data.txt", "", "../x.npz"]))
            else:
                data_section[key] = draw(st.one_of(st.integers(-1, 10**10), values))
        spec["data"] = data_section
    if draw(st.booleans()):
        train: dict = {}
        for key in draw(st.lists(st.sampled_from(TRAIN_KEYS), max_size=4, unique=True)):
            if key == "loop":
                train[key] = draw(st.sampled_from(["fit", "custom", "manual"]))
            elif key == "callbacks":
                train[key] = draw(st.lists(_object(), max_size=2))
            elif key == "validation_split":
                train[key] = draw(st.one_of(st.floats(-1, 2), values))
            else:
                train[key] = draw(st.one_of(plausible, values))
        spec["train"] = train
    if draw(st.booleans()):
        spec[draw(st.sampled_from(["layer", "output", "compiles", "Name", "trian"]))] = draw(values)
    data = draw(st.data())
    return dump(spec, data)


# --- (c) raw text mutations -------------------------------------------------------------------


@st.composite
def broken_texts(draw: Any) -> bytes:
    """The bytes of a bundled spec (or a drawn one), truncated and/or with characters put in."""
    if draw(st.booleans()):
        raw = (ROOT / draw(st.sampled_from(BUNDLED))).read_bytes()
    else:
        raw = draw(grammar_specs()).encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["truncate", "truncate", "insert", "insert", "bytes", "delete", "newline"]))
        i = draw(st.integers(0, len(raw)))
        if how == "truncate":
            raw = raw[:i]
        elif how == "insert":
            piece = draw(st.one_of(st.sampled_from(ODD_TEXT + VAR_TEXT + ["\r\n", "  ", "\t-"]), st.text(max_size=4)))
            raw = raw[:i] + piece.encode("utf-8") + raw[i:]
        elif how == "bytes":  # not always UTF-8
            raw = raw[:i] + draw(st.binary(min_size=1, max_size=3)) + raw[i:]
        elif how == "delete":
            raw = raw[:i] + raw[i + draw(st.integers(1, 20)) :]
        else:  # line ending style, or the final newline removed
            raw = draw(st.sampled_from([raw.replace(b"\n", b"\r\n"), raw.replace(b"\n", b"\r"), raw.rstrip(b"\n")]))
    return raw


# --- --set overrides --------------------------------------------------------------------------

set_items = st.lists(
    st.one_of(
        st.builds(
            "{}={}".format,
            st.sampled_from(["train.epochs", "layers.hidden.units", "layers[0].units", "layers.99.x", "name", "a..b"]),
            st.one_of(st.sampled_from(["3", "[1, 2", "{a: 1", "'x", "${units}", "!!python/name:os", ""]), odd_strings),
        ),
        st.sampled_from(["noequals", "=3", "layers.nowhere.units=1", "name.sub=1"]),
    ),
    max_size=2,
)
# Mostly none: one bad `--set` stops the check of the file before anything else is looked at.
overrides: st.SearchStrategy[list[str]] = st.one_of(st.just([]), st.just([]), st.just([]), set_items)
