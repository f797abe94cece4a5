"""The catalog validate relies on is what the installed Keras really accepts."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pytest

from kerasspec import _catalog_gen
from kerasspec.catalog import Catalog, cache_path, get_catalog
from kerasspec.kinds import parameter_kind

keras = pytest.importorskip("keras")

KIND_BASES = {
    "layers": (keras.layers, keras.layers.Layer),
    "initializers": (keras.initializers, keras.initializers.Initializer),
    "regularizers": (keras.regularizers, keras.regularizers.Regularizer),
    "constraints": (keras.constraints, keras.constraints.Constraint),
    "optimizers": (keras.optimizers, keras.optimizers.Optimizer),
    "schedules": (keras.optimizers.schedules, keras.optimizers.schedules.LearningRateSchedule),
    "losses": (keras.losses, keras.losses.Loss),
    "metrics": (keras.metrics, keras.metrics.Metric),
    "callbacks": (keras.callbacks, keras.callbacks.Callback),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return get_catalog()


def test_the_catalog_validate_uses_is_the_file_on_disk_for_this_keras(catalog):
    assert catalog.data == json.loads(cache_path().read_text(encoding="utf-8"))
    assert cache_path().name.startswith(f"catalog-keras{keras.__version__}-")
    tensorflow = pytest.importorskip("tensorflow")
    assert catalog.versions == {"keras": keras.__version__, "tensorflow": tensorflow.__version__}


def own_signature(cls: type[Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("kind", sorted(KIND_BASES))
def test_cached_classes_agree_with_the_live_constructors(catalog, kind):
    """Read from the classes themselves, not through the generator: every keyword a class's own
    `__init__` names is in the cached catalog, the required ones are those without a default,
    and the recorded default types are the real defaults' types."""
    module, _ = KIND_BASES[kind]
    checked = 0
    for name, info in catalog.classes(kind).items():
        signature = own_signature(getattr(module, name))
        if signature is None:
            continue
        own = [p for p in list(signature.parameters.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert {p.name for p in own} <= info.params, name
        assert info.required == tuple(p.name for p in own if p.default is p.empty), name
        defaults = dict(info.defaults)
        for p in own:
            if p.default is not p.empty:
                assert defaults[p.name] == type(p.default).__name__, (name, p.name)
        checked += 1
    assert checked >= len(catalog.classes(kind)) - 2  # nearly every class has a readable signature


@pytest.mark.parametrize("kind", sorted(KIND_BASES))
def test_every_public_class_is_in_the_catalog_and_nothing_else(catalog, kind):
    module, base = KIND_BASES[kind]
    live = {
        n
        for n in dir(module)
        if not n.startswith("_") and inspect.isclass(getattr(module, n)) and issubclass(getattr(module, n), base)
    }
    live.discard("CallbackList")
    assert set(catalog.classes(kind)) == live


def test_layer_arguments_match_what_keras_accepts(catalog):
    dense = catalog.get_class("layers", "Dense")
    assert {"units", "activation", "kernel_initializer", "name", "dtype", "trainable", "input_shape"} <= dense.params
    assert dense.required == ("units",) and not dense.open
    # Every keyword the catalog lists is taken by the real constructor...
    keras.layers.Dense(units=2, name="d", dtype="float32", trainable=False, use_bias=False, activity_regularizer="l2")
    # ...and one it does not list is refused by Keras too.
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        keras.layers.Dense(units=2, unit=3)
    assert "unit" not in dense.params


@pytest.mark.parametrize(
    "name, required",
    [
        ("Conv2D", ("filters", "kernel_size")),
        ("LSTM", ("units",)),
        ("Embedding", ("input_dim", "output_dim")),
        ("MultiHeadAttention", ("num_heads", "key_dim")),
        ("Bidirectional", ("layer",)),
        ("TimeDistributed", ("layer",)),
        ("Dropout", ("rate",)),
        ("Concatenate", ()),
        ("BatchNormalization", ()),
    ],
)
def test_required_arguments_are_those_without_defaults(catalog, name, required):
    info = catalog.get_class("layers", name)
    assert info.required == required
    own = inspect.signature(getattr(keras.layers, name).__init__).parameters
    assert {p for p in own if p not in ("self", "args", "kwargs")} <= info.params


@pytest.mark.parametrize("kind", ["activations", "initializers", "regularizers", "constraints", "optimizers", "losses"])
def test_every_accepted_name_resolves_in_keras(catalog, kind):
    module = getattr(keras, kind)
    compile_only = set(_catalog_gen.COMPILE_LOSS_NAMES) if kind == "losses" else set()
    for name in catalog.names(kind) - compile_only:
        assert module.get(name) is not None, name


def test_bare_callback_names_construct_without_arguments(catalog):
    assert "TerminateOnNaN" in catalog.names("callbacks") and "CSVLogger" not in catalog.names("callbacks")
    for name in catalog.names("callbacks"):
        if name not in ("OrbaxCheckpoint", "RemoteMonitor", "LambdaCallback"):  # optional package / network / code
            getattr(keras.callbacks, name)()


@pytest.mark.parametrize("units, target", [(1, "binary"), (3, "onehot"), (3, "class ids")])
def test_compile_only_names_train_in_keras(catalog, units, target):
    """The loss and metric names only compile resolves (by shape) are in the catalog, and Keras
    really trains with them: compile alone resolves nothing, so one batch is fitted."""
    compile_metrics, compile_losses = set(_catalog_gen.COMPILE_METRIC_NAMES), set(_catalog_gen.COMPILE_LOSS_NAMES)
    assert compile_metrics <= catalog.names("metrics") and compile_losses <= catalog.names("losses")
    for name in catalog.names("metrics") - compile_metrics:
        assert keras.metrics.get(name) is not None, name
    rng = np.random.default_rng(0)
    y = {
        "binary": rng.integers(0, 2, (8, 1)),
        "onehot": np.eye(3)[rng.integers(0, 3, 8)],
        "class ids": rng.integers(0, 3, (8,)),
    }[target].astype("float32")
    for loss in sorted(compile_losses):
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(units, activation="sigmoid" if units == 1 else "softmax")]
        )
        model.compile(loss=loss, metrics=sorted(compile_metrics))
        logs = model.fit(rng.random((8, 3)).astype("float32"), y, epochs=1, verbose=0).history
        assert set(logs) == {"loss", *compile_metrics} and np.isfinite(logs["loss"][0])


def test_dtypes_and_call_signatures(catalog):
    from keras.src.backend.common import dtypes

    assert catalog.dtypes == frozenset(dtypes.ALLOWED_DTYPES)
    assert set(inspect.signature(keras.Model.compile).parameters) - {"self"} == catalog.functions["compile"].params


def test_parameter_kinds():
    kinds = {name: parameter_kind(name) for name in ("kernel_initializer", "recurrent_activation", "layer")}
    assert {name: kind and kind.name for name, kind in kinds.items()} == {
        "kernel_initializer": "initializers",
        "recurrent_activation": "activations",
        "layer": "layers",
    }
    assert parameter_kind("units") is None


@pytest.mark.slow
def test_catalog_is_generated_into_an_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASSPEC_CACHE_DIR", str(tmp_path))
    get_catalog.cache_clear()
    try:
        fresh = get_catalog()
        assert cache_path().parent == tmp_path and cache_path().is_file()
        cache_path().write_text("{corrupt")
        get_catalog.cache_clear()
        assert get_catalog().data == fresh.data  # a broken cache is regenerated, not trusted
    finally:
        get_catalog.cache_clear()
