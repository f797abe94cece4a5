"""Data that fits the model: synthetic (seeded, streamed batch by batch) or from a file.

Synthetic data is inferred from the built model and the spec, as the contract says: an
integer input feeding `Embedding(input_dim=V)` draws from [0, V); a target follows its loss
(one-hot for categorical crossentropy, class ids for the sparse kind, 0/1 for binary,
floats for regression); `null` dimensions become `data.sequence_length`; explicit
`distribution`s in `data.inputs` / `data.targets` win. Each batch is drawn from its own
generator seeded with (seed, stream, batch index), so the same seed gives the same data in
any order, and memory does not grow with the number of samples.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError
from .graph import inputs_by_name, model_inputs, outputs_are_dict
from .loader import PMap
from .settings import Train
from .spec import Spec


@dataclass
class Column:
    """One input or target: its name, per-sample shape, dtype and how to draw it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    distribution: dict[str, Any]

    @property
    def is_string(self) -> bool:
        return self.dtype == "string"

    @property
    def array_dtype(self) -> Any:
        """The NumPy dtype its values are held in (strings as Python objects)."""
        return object if self.is_string else self.dtype

    def draw(self, rng: np.random.Generator, rows: int) -> np.ndarray:
        d = self.distribution
        kind = d["distribution"]
        shape = (rows, *self.shape)
        values: np.ndarray
        if kind == "choice":
            options = list(d["values"])
            picked = rng.integers(0, len(options), size=shape)
            if self.is_string:
                return np.array([str(v) for v in options], dtype=object)[picked]
            values = np.asarray(options)[picked]
        elif self.is_string:  # pragma: no cover - string inputs always draw by choice
            raise ValueError(kind)
        elif kind == "binary":
            values = rng.integers(0, 2, size=shape, dtype=np.uint8)
        elif kind == "integers":
            values = rng.integers(int(d.get("low", 0)), int(d.get("high", 2)), size=shape)
        elif kind == "uniform":
            values = rng.uniform(float(d.get("low", 0.0)), float(d.get("high", 1.0)), size=shape)
        elif kind == "normal":
            values = rng.normal(float(d.get("mean", 0.0)), float(d.get("std", 1.0)), size=shape)
        elif kind == "onehot":
            classes = self.shape[-1] if self.shape else 1
            ids = rng.integers(0, classes, size=shape[:-1])
            values = np.eye(classes)[ids]
        elif kind == "constant":
            values = np.full(shape, d.get("value", 0))
        else:  # pragma: no cover - the spec checks distributions statically
            raise ValueError(kind)
        return values.astype(self.dtype)


RANDOM_TOKENS = tuple(f"token{i}" for i in range(16))  # a string input's values when nothing says


def _concrete(shape: tuple, sequence_length: int) -> tuple[int, ...]:
    return tuple(sequence_length if d is None else int(d) for d in shape)


def compile_value_for_output(spec: Spec, key: str, names: list[str], position: int) -> Any:
    """The part of `compile.<key>` that applies to one output: by name from a mapping, by
    position from a list, else the value shared by all outputs. For `metrics` a list is per
    output only when it holds one list per output ([[m1], [m2]]); [m1, m2] is for every output."""
    value = spec.compile.get(key)
    if isinstance(value, PMap) and "type" not in value:
        return value.get(names[position])
    if isinstance(value, list):
        if key == "metrics" and not (
            len(names) > 1 and len(value) == len(names) and all(isinstance(v, list) or v is None for v in value)
        ):
            return value
        return value[position] if position < len(value) else None
    return value


def target_distribution(loss: Any, shape: tuple[int, ...]) -> tuple[dict[str, Any], tuple[int, ...], str]:
    """What a target must look like for its loss: (distribution, per-sample shape, dtype)."""
    name = loss.get("type", "") if isinstance(loss, dict) else (loss or "")
    key = str(name).lower().replace("_", "")
    classes = shape[-1] if shape else 1
    if "sparsecategorical" in key:
        return {"distribution": "integers", "low": 0, "high": classes}, shape[:-1], "int32"
    if "categorical" in key or key in ("kldivergence", "kld", "kullbackleiblerdivergence"):
        return {"distribution": "onehot"}, shape, "float32"
    if key in ("crossentropy", "ce"):  # compile picks the kind by shape: binary for one unit
        return (
            ({"distribution": "binary"}, shape, "float32")
            if classes == 1
            else ({"distribution": "onehot"}, shape, "float32")
        )
    if "binary" in key or key in ("bce", "hinge", "squaredhinge"):
        return {"distribution": "binary"}, shape, "float32"
    return {"distribution": "uniform", "low": 0.0, "high": 1.0}, shape, "float32"


def _embedding_vocabulary(model: Any) -> dict[str, int]:
    """Input name -> input_dim of the Embedding that input feeds directly, or through the input
    of a nested model it feeds (a masking Embedding fed 0/1 would mask whole rows, which then
    average to NaN)."""
    import keras

    from .graph import calls, expandable, model_inputs, operations, relevant_nodes, source_layer

    found: dict[str, int] = {}

    def walk(current: Any, outer: dict[int, str] | None) -> None:
        """`outer`: id of a nested model's input layer -> the model input feeding it."""
        relevant = relevant_nodes(current)

        def model_input(tensor: Any) -> str | None:
            source = source_layer(tensor)
            if not isinstance(source, keras.layers.InputLayer):
                return None
            return source.name if outer is None else outer.get(id(source))

        for layer in operations(current):
            for node in calls(layer, relevant):
                fed = [model_input(tensor) for tensor in node.input_tensors]
                fed_by = {i: name for i, name in enumerate(fed) if name is not None}
                if isinstance(layer, keras.layers.Embedding):
                    found.update(dict.fromkeys(fed_by.values(), int(layer.input_dim)))
                elif expandable(layer) and fed_by:
                    inner = [source_layer(t) for t in model_inputs(layer)]
                    walk(layer, {id(inner[i]): name for i, name in fed_by.items() if i < len(inner)})

    walk(model, None)
    if isinstance(model, keras.Sequential) and model.layers and isinstance(model.layers[0], keras.layers.Embedding):
        found[model.inputs[0].name] = int(model.layers[0].input_dim)
    return found


def _lookup_vocabulary(model: Any) -> dict[str, list[str]]:
    """Input name -> the vocabulary (without its OOV and mask tokens) of a StringLookup the
    input feeds directly, when the lookup has one."""
    import keras

    from .graph import calls, operations, relevant_nodes, source_layer

    found: dict[str, list[str]] = {}
    relevant = relevant_nodes(model)
    for layer in operations(model):
        if not isinstance(layer, keras.layers.StringLookup):
            continue
        try:
            words = [str(w) for w in layer.get_vocabulary(include_special_tokens=False)]
        except Exception:  # noqa: BLE001 - a lookup not yet adapted has none
            continue
        for node in calls(layer, relevant):
            for tensor in node.input_tensors:
                source = source_layer(tensor)
                if isinstance(source, keras.layers.InputLayer) and words:
                    found.setdefault(source.name, words)
    first = model.layers[0] if isinstance(model, keras.Sequential) and model.layers else None
    if isinstance(first, keras.layers.StringLookup) and model.inputs:
        words = [str(w) for w in first.get_vocabulary(include_special_tokens=False)]
        if words:
            found[model.inputs[0].name] = words
    return found


def is_text(array: Any) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind in "OUS"


def as_tensors(value: Any) -> Any:
    """Arrays of strings as TensorFlow string tensors (Keras takes no NumPy string arrays), in
    the same structure; other arrays unchanged."""
    if isinstance(value, dict):
        return {k: as_tensors(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(as_tensors(v) for v in value)
    if is_text(value):
        import tensorflow as tf

        return tf.constant(value.astype(str) if value.dtype.kind == "O" else value, dtype=tf.string)
    return value


def keras_ready(arguments: dict[str, Any]) -> dict[str, Any]:
    """fit/evaluate/predict arguments with string arrays as tensors."""
    return {k: as_tensors(v) if k in ("x", "validation_data") else v for k, v in arguments.items()}


def named_outputs(model: Any) -> list[tuple[str, Any]]:
    """Outputs by the names data files and `data.targets` use: Keras's, and for a Sequential
    (which names none) its last layer's, as the spec names the output of a sequential spec."""
    from .graph import named_outputs as graph_outputs

    outputs = graph_outputs(model)
    if type(model).__name__ == "Sequential" and len(outputs) == 1 and outputs[0][0] is None and model.layers:
        return [(model.layers[-1].name, outputs[0][1])]
    return [(name or f"output_{i}", t) for i, (name, t) in enumerate(outputs)]


def plan_columns(spec: Spec, model: Any) -> tuple[list[Column], list[Column]]:
    sequence_length = int(spec.data.sequence_length)
    explicit_inputs = spec.data.inputs or {}
    explicit_targets = spec.data.targets or {}
    vocabulary = _embedding_vocabulary(model)
    strings = _lookup_vocabulary(model)
    inputs = []
    tensors = model_inputs(model)
    # A sequential spec's one input goes by the spec's name for it (`input`, or its `name:`), as
    # validate reads `data.inputs` and files do, whatever Keras named the tensor.
    spec_names = spec.input_names if spec.kind == "sequential" and len(tensors) == 1 else []
    for position, tensor in enumerate(tensors):
        name = spec_names[position] if spec_names else tensor.name
        explicit = dict(explicit_inputs.get(name) or {})
        shape = _concrete(tuple(tensor.shape)[1:], int(explicit.pop("sequence_length", sequence_length)))
        dtype = str(tensor.dtype)
        if "distribution" in explicit:
            distribution = explicit
            if dtype != "string":
                _refuse_words(explicit_inputs[name], f"input '{name}' takes numbers ({dtype})")
        elif dtype == "string":
            distribution = {"distribution": "choice", "values": strings.get(tensor.name) or list(RANDOM_TOKENS)}
        elif tensor.name in vocabulary:
            distribution = {"distribution": "integers", "low": 0, "high": vocabulary[tensor.name]}
        elif "int" in dtype:
            distribution = {"distribution": "integers", "low": 0, "high": 2}
        else:
            distribution = {"distribution": "uniform", "low": 0.0, "high": 1.0}
        inputs.append(Column(name, shape, dtype, distribution))
    outputs = named_outputs(model)
    names = [name for name, _ in outputs]
    targets = []
    for position, (name, tensor) in enumerate(outputs):
        shape = _concrete(tuple(tensor.shape)[1:], sequence_length)
        distribution, target_shape, dtype = target_distribution(
            compile_value_for_output(spec, "loss", names, position), shape
        )
        if name in explicit_targets:
            _refuse_words(explicit_targets[name], f"target '{name}' takes numbers")
            distribution, target_shape, dtype = dict(explicit_targets[name]), shape, "float32"
        targets.append(Column(name, target_shape, dtype, distribution))
    return inputs, targets


def _refuse_words(written: PMap, what: str) -> None:
    """A choice of numbers only, for a column that takes numbers."""
    words = [v for v in written.get("values") or [] if isinstance(v, str)]
    if words:
        raise SpecError(
            written.value_mark("values"),
            f"{what}, but its values include '{words[0]}'",
            hint="only a `dtype: string` input takes text",
            code="data-value",
        )


def structure(model: Any, columns: list[Column], arrays: dict[str, np.ndarray], *, outputs: bool) -> Any:
    """Arrays keyed by name, as the model takes them (one array for a single plain output)."""
    if outputs and len(columns) == 1 and not outputs_are_dict(model):
        return arrays[columns[0].name]
    if not outputs and len(columns) == 1 and (not inputs_by_name(model) or type(model).__name__ == "Sequential"):
        return arrays[columns[0].name]
    return {c.name: arrays[c.name] for c in columns}


IN_MEMORY_BYTES = 256 * 1024 * 1024  # below this, synthetic data is drawn up front


# One batch of synthetic data is drawn whole, and Keras copies it into a tensor: a spec whose
# batch is larger than this (a huge null-dimension length, say) is refused before it is drawn.
MAX_BATCH_BYTES = 4 * 1024**3


STRING_BYTES = 64  # what one string value is reckoned to take (a Python object and its text)


def _row_bytes(columns: list[Column]) -> int:
    return sum(math.prod(c.shape) * (STRING_BYTES if c.is_string else np.dtype(c.dtype).itemsize) for c in columns)


def check_batch_size(
    spec: Spec, model: Any, inputs: list[Column], targets: list[Column] | None, batch_size: int
) -> None:
    """Refuse a synthetic batch over `MAX_BATCH_BYTES`, at `data.sequence_length` when null
    dimensions are what make it large, else at the largest input's shape."""
    columns = inputs + (targets or [])
    size = _row_bytes(columns) * batch_size
    if size <= MAX_BATCH_BYTES:
        return
    data = spec.data
    has_null = any(None in tuple(t.shape)[1:] for t in model_inputs(model))
    mark = None
    default_fits = _row_bytes(columns) * Train.empty().batch_size <= MAX_BATCH_BYTES
    if default_fits and spec.train.get("batch_size") == batch_size:  # the spec's batch size is the cause
        mark = spec.train.value_mark("batch_size")
    elif has_null and "sequence_length" in data:
        mark = data.value_mark("sequence_length")
    elif inputs:
        biggest = max(inputs, key=lambda c: math.prod(c.shape))
        holder, key = (
            (spec.tree["inputs"], biggest.name) if isinstance(spec.tree.get("inputs"), PMap) else (spec.tree, "input")
        )
        if key in holder:  # `{shape: [...]}`, or the shorthand `[...]` itself
            entry = holder[key]
            mark = entry.value_mark("shape") if isinstance(entry, PMap) and "shape" in entry else holder.value_mark(key)
    raise SpecError(
        mark,
        f"one batch of synthetic data would take {size / 1024**3:,.1f} GiB ({batch_size} rows of "
        f"{_row_bytes(columns):,} bytes); the limit is {MAX_BATCH_BYTES // 1024**3} GiB",
        hint="lower --batch-size or train.batch_size" + (" or data.sequence_length" if has_null else ""),
        code="batch-too-large",
    )


@dataclass(frozen=True)
class Synthetic:
    """Seeded synthetic rows for a model: batch `i` is always drawn from the generator seeded with
    (seed, stream, i), whether the data is drawn up front or streamed."""

    model: Any
    inputs: list[Column]
    targets: list[Column] | None  # None: inputs only (predict)
    samples: int
    batch_size: int
    seed: int
    stream: int = 0  # 1 for the held-out validation rows

    def __len__(self) -> int:
        return max(1, math.ceil(self.samples / self.batch_size))

    def batch(self, index: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        rows = min(self.batch_size, self.samples - index * self.batch_size)
        rng = np.random.default_rng([self.seed, self.stream, index])
        x = {c.name: c.draw(rng, rows) for c in self.inputs}
        y = {c.name: c.draw(rng, rows) for c in self.targets} if self.targets is not None else None
        return x, y

    def structured(self, x: dict[str, np.ndarray], y: dict[str, np.ndarray] | None) -> tuple[Any, Any]:
        """Arrays by name, in the structure the model takes (a dict, a list or one array)."""
        inputs = structure(self.model, self.inputs, x, outputs=False)
        if y is None or self.targets is None:  # y is None exactly when targets is
            return inputs, None
        return inputs, structure(self.model, self.targets, y, outputs=True)


def make_synthetic(keras: Any, plan: Synthetic) -> dict[str, Any]:
    """fit/evaluate/predict arguments for synthetic data.

    Data that fits in `IN_MEMORY_BYTES` is drawn up front and handed to Keras as arrays (Keras's
    fastest path); larger data is a `keras.utils.PyDataset` drawing each batch on demand, so
    memory stays flat.
    """
    columns = plan.inputs + (plan.targets or [])
    if _row_bytes(columns) * plan.samples > IN_MEMORY_BYTES:
        return {"x": _streamed(keras, plan)}
    arrays = {c.name: np.empty((plan.samples, *c.shape), dtype=c.array_dtype) for c in columns}
    for i in range(len(plan)):
        x, y = plan.batch(i)
        for name, values in {**x, **(y or {})}.items():
            arrays[name][i * plan.batch_size : i * plan.batch_size + len(values)] = values
    x_all, y_all = plan.structured(arrays, arrays if plan.targets is not None else None)
    result = {"x": x_all, "batch_size": plan.batch_size}
    if y_all is not None:
        result["y"] = y_all
    return result


def _streamed(keras: Any, plan: Synthetic) -> Any:
    """A `keras.utils.PyDataset` drawing each batch on demand (nothing is held in memory)."""

    class SyntheticData(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()

        def __len__(self) -> int:
            return len(plan)

        def __getitem__(self, index: int) -> Any:
            x, y = plan.structured(*plan.batch(index))
            return (as_tensors(x),) if y is None else (as_tensors(x), y)

    return SyntheticData()


def data_file(spec: Spec) -> tuple[Path, Any] | None:
    if spec.data.file is None:
        return None
    return spec.path.parent / spec.data.file, spec.data.value_mark("file")


@dataclass
class FileRows:
    """How many rows of a data file were used, of how many."""

    used: int
    total: int


def load_file_arrays(
    spec: Spec, inputs: list[Column], targets: list[Column] | None, limit: int | None = None
) -> tuple[dict, dict | None, FileRows, dict | None]:
    """Arrays from `data.file` (.npz named after inputs/outputs, or .csv/.tsv columns),
    shape-checked; with `limit`, its first `limit` rows."""
    path, mark = data_file(spec)  # type: ignore[misc]
    shown = str(path)
    if not path.is_file():
        raise SpecError(mark, f"data file '{shown}' not found", code="data-file")
    wanted = inputs + (targets or [])
    weighted = _weight_columns(spec, targets) if targets is not None else {}
    weight_columns = [Column(name, (), "float32", {}) for name in dict.fromkeys(weighted.values())]
    if path.suffix == ".npz":
        shapes = _npz_shapes(path, mark, shown)
    else:
        arrays, total = _csv_arrays(path, mark, wanted + weight_columns, _delimiter(spec, path), limit)
        shapes = {name: (tuple(a.shape), a.dtype) for name, a in arrays.items()}
    for output, name in weighted.items():
        weight_shape = shapes.get(name, ((), None))[0]
        holder = spec.data["sample_weight"]
        where = holder.value_mark(output) if isinstance(holder, PMap) else spec.data.value_mark("sample_weight")
        if name not in shapes:
            raise SpecError(
                where,
                f"sample_weight '{name}' is no {'array' if path.suffix == '.npz' else 'column'} of '{shown}' "
                f"(it has: {', '.join(sorted(shapes)) or 'none'})",
                code="data-file",
            )
        if len(weight_shape) not in (1, 2) or math.prod(weight_shape[1:]) != 1 or shapes[name][1].kind in "OUS":
            raise SpecError(
                where,
                f"sample_weight '{name}' in '{shown}' has shape {weight_shape} ({shapes[name][1]}); "
                "it must be one number per row",
                code="data-shape",
            )
    wanted_weights = [c for c in weight_columns if c.name not in {w.name for w in wanted}]
    rows = None
    for column in wanted:
        if column.name not in shapes:
            raise SpecError(
                mark,
                f"'{shown}' has no array '{column.name}' (it has: {', '.join(sorted(shapes)) or 'none'})",
                hint=f"the model needs {', '.join(c.name for c in wanted)}",
                code="data-file",
            )
        shape = shapes[column.name][0]
        expected = column.shape
        got = tuple(shape[1:])
        if got != expected and not _fits_with_nulls(spec, column, got):
            raise SpecError(
                mark,
                f"array '{column.name}' in '{shown}' has shape {tuple(shape)}, but the model takes "
                f"(N, {', '.join(map(str, expected))})",
                code="data-shape",
            )
        if rows is not None and shape[0] != rows:
            raise SpecError(
                mark,
                f"arrays in '{shown}' have different numbers of rows ({rows} and {shape[0]} in '{column.name}')",
                code="data-shape",
            )
        _check_kind(column, shapes[column.name][1], mark, f"array '{column.name}' in '{shown}'")
        rows = shape[0]
    for column in wanted_weights:
        if rows is not None and shapes[column.name][0][0] != rows:
            raise SpecError(
                mark,
                f"arrays in '{shown}' have different numbers of rows ({rows} and "
                f"{shapes[column.name][0][0]} in sample_weight '{column.name}')",
                code="data-shape",
            )
    wanted = wanted + wanted_weights
    if path.suffix == ".npz":  # only the arrays the model takes, once their shapes are known to fit
        total = rows or 0
        used = total if limit is None else min(limit, total)
        size = sum(math.prod(shapes[c.name][0]) * shapes[c.name][1].itemsize for c in wanted)
        memory = _memory_bytes()
        if size > memory:
            raise SpecError(
                mark,
                f"the arrays of '{shown}' would take {size / 1024**3:,.1f} GiB, more than this machine's "
                f"{memory / 1024**3:,.1f} GiB of memory",
                code="data-file",
            )
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {c.name: archive[c.name][:used] for c in wanted}
        except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
            raise SpecError(mark, f"cannot read '{shown}' as .npz: {exc}", code="data-file") from None
    else:
        used = rows or 0
    _check_values(spec, inputs, arrays, shown)
    x = {c.name: arrays[c.name] for c in inputs}
    y = {c.name: arrays[c.name] for c in targets} if targets is not None else None
    weights = None
    if weighted and targets is not None:
        ones = np.ones(used, dtype="float32")
        weights = {
            c.name: arrays[weighted[c.name]].reshape(-1).astype("float32") if c.name in weighted else ones
            for c in targets
        }
    return x, y, FileRows(used, total), weights


def _weight_columns(spec: Spec, targets: list[Column]) -> dict[str, str]:
    """Output name -> the array/column weighing its loss, from `data.sample_weight` (one name
    weighs every output)."""
    written = spec.data.sample_weight
    if written is None:
        return {}
    if isinstance(written, PMap):
        return {str(k): str(v) for k, v in written.items()}
    return {c.name: str(written) for c in targets}


def _check_kind(column: Column, dtype: np.dtype, mark: Any, what: str) -> None:
    """Strings for a string input, numbers for the others."""
    text = dtype.kind in "OUS"
    if column.is_string and not text:
        raise SpecError(
            mark, f"{what} holds numbers ({dtype}), but input '{column.name}' takes strings", code="data-file"
        )
    if text and not column.is_string:
        raise SpecError(
            mark,
            f"{what} holds strings, but '{column.name}' takes numbers ({column.dtype})",
            hint="give the input `dtype: string` (and a StringLookup after it) to feed it strings",
            code="data-file",
        )


def _check_values(spec: Spec, inputs: list[Column], arrays: dict[str, np.ndarray], shown: str) -> None:
    """A file's values of an input whose `data.inputs` entry lists `values` (choice) are among them."""
    declared = spec.data.inputs or {}
    for column in inputs:
        entry = declared.get(column.name)
        if not isinstance(entry, PMap) or entry.get("distribution") != "choice" or "values" not in entry:
            continue
        allowed = [str(v) for v in entry["values"]] if column.is_string else list(entry["values"])
        values = arrays[column.name]
        if values.size == 0:
            continue
        present = np.unique(values.astype(str) if column.is_string else values)
        stray = [v for v in present.tolist() if v not in allowed]
        if stray:
            raise SpecError(
                entry.value_mark("values"),
                f"'{shown}' has {stray[0]!r} in '{column.name}', which is not one of its values "
                f"({', '.join(map(str, allowed))})",
                hint="add it to the values, or correct the file",
                code="data-value",
            )


def _delimiter(spec: Spec, path: Path) -> str:
    """`data.delimiter`, else a tab for .tsv and a comma for .csv."""
    if spec.data.delimiter is not None:
        return str(spec.data.delimiter)
    return "\t" if path.suffix == ".tsv" else ","


def _npz_shapes(path: Path, mark: Any, shown: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's shape and dtype in a .npz, read from the array headers without loading the
    data: a file is checked against the model before anything large is allocated."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise SpecError(
            mark,
            f"'{shown}' is not a .npz archive",
            hint="numpy.savez(path, name=array, ...) writes one",
            code="data-file",
        )
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version not in readers:
                        raise ValueError(
                            f"array '{member[:-4]}' has .npy format version {version}, which kerasspec does not read"
                        )
                    shape, _, dtype = readers[version](handle)
                shapes[member[:-4]] = (tuple(shape), np.dtype(dtype))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise SpecError(mark, f"cannot read '{shown}' as .npz: {exc}", code="data-file") from None
    return shapes


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: no limit
        return 2**63


def _fits_with_nulls(spec: Spec, column: Column, got: tuple) -> bool:
    """A dimension the spec leaves `null` may have any size in a file."""
    declared = spec.inputs.get(column.name) if spec.kind != "sequential" else spec.input
    if declared is None or len(declared.shape) != len(got):
        return False
    return all(d is None or d == g for d, g in zip(declared.shape, got))


def _csv_arrays(
    path: Path, mark: Any, columns: list[Column], delimiter: str, limit: int | None
) -> tuple[dict[str, np.ndarray], int]:
    """The columns the model takes, read row by row into compact float buffers (8 bytes a value;
    other columns are never converted; a string input's columns stay text), so memory stays near
    the size of the numbers. With `limit`, only the first `limit` rows are read. Returns the
    arrays and the file's number of rows (counted to its end)."""
    import csv
    from array import array

    wanted: dict[str, list[str]] = {}
    kinds = {c.name: c for c in columns}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, [])
            position = {name: i for i, name in enumerate(header)}
            for column in columns:
                width = math.prod(column.shape)
                names = (
                    [column.name]
                    if width == 1 and column.name in position
                    else [f"{column.name}_{i}" for i in range(width)]
                )
                if all(n in position for n in names):  # else reported as a missing array by the caller
                    wanted[column.name] = names
            if not wanted and len(header) == 1 and any(d in header[0] for d in ",\t;|" if d != delimiter):
                shown_delimiter = "tab" if delimiter == "\t" else repr(delimiter)
                raise SpecError(
                    mark,
                    f"'{path}' has one column '{header[0]}' when split at {shown_delimiter}",
                    hint="set data.delimiter to the character its fields are separated by",
                    code="data-file",
                )
            fields = [(name, n, position[n]) for name, names in wanted.items() for n in names]
            buffers: dict[str, Any] = {name: [] if kinds[name].is_string else array("d") for name in wanted}
            rows = 0
            total = 0
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                total += 1
                if limit is not None and rows >= limit:
                    continue  # counted, not read
                for name, field, index in fields:
                    try:
                        text = row[index]
                        buffers[name].append(text if kinds[name].is_string else float(text))
                    except IndexError:
                        raise SpecError(
                            mark,
                            f"'{path}' line {line} has {len(row)} fields, but column '{field}' is field {index + 1}",
                            code="data-file",
                        ) from None
                    except ValueError:
                        raise SpecError(
                            mark,
                            f"'{path}' line {line}, column '{field}': {row[index]!r} is not a number",
                            hint=f"'{name}' takes numbers ({kinds[name].dtype}); an input given `dtype: string` takes text",
                            code="data-file",
                        ) from None
                rows += 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(mark, f"cannot read '{path}' as CSV: {exc}", code="data-file") from None
    arrays = {}
    for name, buffer in buffers.items():
        column = kinds[name]
        if column.is_string:
            arrays[name] = np.array(buffer, dtype=object).reshape((rows, *column.shape))
        else:
            values = np.frombuffer(buffer, dtype=np.float64).reshape((rows, *column.shape))
            if np.dtype(column.dtype).kind in "iu":
                _refuse_fractions(path, mark, name, column, values)
            arrays[name] = values.astype(column.dtype)
    return arrays, total


def _refuse_fractions(path: Path, mark: Any, name: str, column: Column, values: np.ndarray) -> None:
    """An integer input's column must hold whole numbers: 1.7 would silently become 1."""
    fractional = np.flatnonzero(np.mod(values.reshape(len(values), -1), 1).any(axis=1))
    if fractional.size:
        row = int(fractional[0])
        value = values.reshape(len(values), -1)[row]
        shown = next(float(v) for v in value if v % 1)
        raise SpecError(
            mark,
            f"'{path}' data row {row + 1}, column '{name}': {shown} is not a whole number, but input '{name}' "
            f"takes {column.dtype}",
            hint=f"give input '{name}' a float dtype (float32), or round the column",
            code="data-file",
        )
