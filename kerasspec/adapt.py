"""`adapt:`: preprocessing layers that learn from the training data, as a Keras user adapts them.

A hand-written Keras model adapts a `Normalization` or `StringLookup` before calling it on its
input, since what it learns can decide its output size (a lookup in `one_hot` mode). The
builder does the same: at an entry with `adapt:`, before the layer is called, it hands the
layer and a `Feed` (what the layer is called on, computed from the model's inputs through the
entries above it, adapted ones included) to an adapter:

- `DataAdapter` adapts the layer on the first rows of the training data (`train`, and the
  commands that only build when the spec names a data file);
- `LearnedState` gives the layer what a run's layer learnt, kept in its run directory (for
  `evaluate`/`predict --run`, which rebuild the model from the run's resolved spec): Keras's
  weights files hold a Normalization's statistics but not a lookup's vocabulary, so the run
  keeps each adapted layer's assets (Keras's own `save_assets`) and the configuration adapting
  changed (a Discretization's bin boundaries).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .check.entries import LEARNS_VOCABULARY
from .errors import SpecError
from .spec import LayerEntry

ADAPTED = "adapted.json"  # in a run directory: which layers were adapted, on how many rows
ADAPTED_ASSETS = "adapted"  # in a run directory: one folder of assets per adapted layer
VARIABLES = "variables.npz"  # in a layer's folder: what save_own_variables keeps beside its weights


@dataclass
class Feed:
    """What an adapted layer is called on, from a batch of the model's inputs by name: one
    input (`column`), or a model from the inputs to the layer's input (`model`), or the layers
    of a sequential spec above it (`chain`)."""

    column: str | None = None
    model: Any = None
    chain: list[Any] = field(default_factory=list)

    def __call__(self, batch: dict[str, Any]) -> Any:
        if self.model is not None:
            return self.model(batch, training=False)
        value = batch[self.column] if self.column is not None else next(iter(batch.values()))
        for layer in self.chain:
            value = layer(value, training=False)
        return value


@dataclass
class AdaptRecord:
    layer: str
    cls: str
    rows: int
    config: dict[str, Any] = field(default_factory=dict)  # what adapting changed in get_config()
    assets: bool = False  # its assets (a vocabulary) are in adapted/<layer>/

    def as_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "class": self.cls, "rows": self.rows, "config": self.config, "assets": self.assets}


class Adapter:
    """What the builder calls at an entry with `adapt:`; `allocates`: whether the build must
    make real variables (adapting assigns them) rather than the describe-only stateless ones."""

    allocates = False

    def __call__(self, entry: LayerEntry, layer: Any, feed: Feed) -> Any:
        raise NotImplementedError


class Provisional(Adapter):
    """For the first, describe-only build of a spec whose layers adapt: a lookup whose output
    size is its vocabulary gets one of `max_tokens` (what it can learn at most) or else of one
    token, so the graph builds and its parameters can be counted before anything is allocated."""

    def __call__(self, entry: LayerEntry, layer: Any, feed: Feed) -> Any:
        if not learned_size(entry):
            return layer
        if entry.kwargs.get("max_tokens"):
            return type(layer).from_config({**layer.get_config(), "pad_to_max_tokens": True})
        vocabulary = [1] if entry.type == "IntegerLookup" else ["kerasspec-provisional"]
        if entry.kwargs.get("output_mode") == "tf_idf":
            layer.set_vocabulary(vocabulary, idf_weights=[1.0])
        else:
            layer.set_vocabulary(vocabulary)
        return layer


@dataclass
class TrainingRows:
    """The training rows' inputs by input name, as batches: arrays (a file, synthetic data drawn
    up front), batches drawn on demand, or a tf.data dataset of batches (a folder, streamed)."""

    total: int
    batch_size: int
    arrays: dict[str, Any] | None = None
    batches: Callable[[], Iterator[dict[str, Any]]] | None = None
    stream: Any = None
    reading: Callable[[], AbstractContextManager[None]] = nullcontext  # says what a file being read did wrong

    def dataset(self, rows: int) -> Any:
        """A tf.data.Dataset of the first `rows` rows, batched."""
        import tensorflow as tf

        if self.arrays is not None:
            sliced = {name: values[:rows] for name, values in self.arrays.items()}
            return tf.data.Dataset.from_tensor_slices(sliced).batch(self.batch_size)
        if self.stream is not None:
            return self.stream.unbatch().take(rows).batch(self.batch_size)
        assert self.batches is not None
        make = self.batches
        first = next(make())
        signature = {
            name: tf.TensorSpec((None, *tf.convert_to_tensor(v).shape[1:]), tf.convert_to_tensor(v).dtype)
            for name, v in first.items()
        }
        whole = tf.data.Dataset.from_generator(make, output_signature=signature)
        return whole.unbatch().take(rows).batch(self.batch_size)


class DataAdapter(Adapter):
    """Adapts each layer on the first training rows (all, or the entry's `samples`)."""

    allocates = True

    def __init__(self, rows: TrainingRows):
        self.rows = rows
        self.records: list[AdaptRecord] = []

    def __call__(self, entry: LayerEntry, layer: Any, feed: Feed) -> Any:
        if not callable(getattr(layer, "adapt", None)):
            raise SpecError(
                entry.raw.key_mark("adapt"),
                f"{entry.type} has no adapt(): it learns nothing from data before training",
                hint="`adapt` goes on a layer class that defines adapt(data)",
                code="bad-adapt",
            )
        wanted = self.rows.total if entry.adapt is True else min(int(entry.adapt), self.rows.total)
        before = _config(layer)
        if feed.column is not None and not feed.chain and self.rows.arrays is not None:
            layer.adapt(self.rows.arrays[feed.column][:wanted])  # an input's own rows: as a user adapts by hand
        else:
            with self.rows.reading():
                layer.adapt(self.rows.dataset(wanted).map(feed))
        changed = {k: v for k, v in _config(layer).items() if before.get(k) != v}
        self.records.append(
            AdaptRecord(layer.name, type(layer).__name__, wanted, changed, hasattr(layer, "save_assets"))
        )
        return layer

    def save(self, run_dir: Path, layers: dict[str, Any]) -> None:
        """adapted.json and each layer's assets, into a run directory being written."""
        from .files import write_new_text

        if not self.records:
            return
        import numpy as np

        for record in self.records:
            if record.assets:
                folder = run_dir / ADAPTED_ASSETS / record.layer
                folder.mkdir(parents=True)
                layer = layers[record.layer]
                layer.save_assets(str(folder))
                store: dict[str, Any] = {}
                layer.save_own_variables(store)  # a tf_idf lookup's idf weights, which are no weights
                if store:
                    np.savez(folder / VARIABLES, **store)
        document = {"layers": [record.as_json() for record in self.records]}
        write_new_text(run_dir / ADAPTED, json.dumps(document, indent=2) + "\n")

    def note(self, run_dir: Path) -> str:
        """One line saying what was adapted, for the command's output."""
        counts: dict[int, list[str]] = {}
        for record in self.records:
            counts.setdefault(record.rows, []).append(record.layer)
        parts = [f"{', '.join(names)} on {rows} rows" for rows, names in counts.items()]
        return f"adapted before training: {'; '.join(parts)} (recorded in {run_dir / ADAPTED})"


class LearnedState(Adapter):
    """A run's adapted layers as they were trained: from its adapted.json and assets."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        path = run_dir / ADAPTED
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                self.records = {item["layer"]: item for item in document["layers"]}
            except (ValueError, KeyError, TypeError) as exc:
                raise SpecError(
                    None, f"unreadable record of adapted layers ({exc})", source=str(path), code="bad-run"
                ) from None

    def __call__(self, entry: LayerEntry, layer: Any, feed: Feed) -> Any:
        record = self.records.get(layer.name)
        if record is None:
            raise SpecError(
                None,
                f"the run did not adapt layer '{layer.name}', which its spec.resolved.yaml adapts",
                hint="the run directory's files belong together; train again to make a new run",
                source=str(self.run_dir / ADAPTED),
                code="model-mismatch",
            )
        if record.get("config"):
            layer = type(layer).from_config({**layer.get_config(), **record["config"]})
        if record.get("assets"):
            folder = self.run_dir / ADAPTED_ASSETS / record["layer"]
            if not folder.is_dir():
                raise SpecError(
                    None,
                    f"the run's adapted layer '{layer.name}' has no folder of what it learnt",
                    hint="the run directory's files belong together; train again to make a new run",
                    source=str(folder),
                    code="bad-run",
                )
            stored = _stored_variables(folder)
            if "idf_weights" in stored:
                _set_weighted_vocabulary(layer, folder, stored["idf_weights"])
            else:
                if stored:  # before the assets, as Keras loads them
                    layer.load_own_variables(stored)
                layer.load_assets(str(folder))
        return layer


def _stored_variables(folder: Path) -> dict[str, Any]:
    if not (folder / VARIABLES).is_file():
        return {}
    import numpy as np

    with np.load(folder / VARIABLES) as stored:
        return {k: stored[k] for k in stored.files}


def _set_weighted_vocabulary(layer: Any, folder: Path, idf_weights: Any) -> None:
    """A tf_idf lookup's vocabulary with its idf weights. Keras's own load_assets passes the
    weights as saved, which `pad_to_max_tokens` pads to max_tokens, and then refuses them for a
    shorter vocabulary (its model.keras of such a layer does not load either): one weight per
    word of the vocabulary, as adapting made them."""
    lines = (folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    dtype = str(getattr(layer, "vocabulary_dtype", "string"))
    vocabulary: list[Any] = lines if "str" in dtype else [int(line) for line in lines]
    layer.set_vocabulary(vocabulary, idf_weights=idf_weights[: len(vocabulary)])


def _config(layer: Any) -> dict[str, Any]:
    """get_config() as JSON would keep it (tuples as lists, NumPy numbers as numbers)."""
    return dict(json.loads(json.dumps(layer.get_config(), default=_plain)))


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def learned_size(entry: LayerEntry) -> bool:
    """Whether the layer's output size is what it learns (a lookup in `one_hot` mode with no
    vocabulary and not padded to `max_tokens`)."""
    kwargs = entry.kwargs
    return (
        entry.type in LEARNS_VOCABULARY
        and kwargs.get("output_mode", "int") != "int"
        and not kwargs.get("vocabulary")
        and not (kwargs.get("pad_to_max_tokens") and kwargs.get("max_tokens"))
    )


def first_rows(total: int, validation_split: float) -> int:
    """How many rows Keras trains on when `validation_split` holds the last ones out."""
    return int(math.ceil(total * (1 - validation_split))) if validation_split else total
