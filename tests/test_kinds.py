"""One registry of kinds (`kerasspec.kinds`) and one walk over spec values (`kerasspec.walker`)
serve the catalog, the static check, the build and the user code of a saved model."""

from __future__ import annotations

import inspect

import pytest
from conftest import assert_located_error, column_of, position

import kerasspec
from kerasspec.builder import convert
from kerasspec.catalog import get_catalog
from kerasspec.errors import SpecError
from kerasspec.kinds import KINDS, parameter_kind
from kerasspec.loader import load_text
from kerasspec.walker import Visitor, walk

keras = pytest.importorskip("keras")


def test_the_catalog_has_exactly_the_kinds_of_the_registry():
    catalog = get_catalog()
    assert set(catalog.kinds) == {kind.name for kind in KINDS.values() if kind.listed}
    assert set(catalog.data["names"]) == {kind.name for kind in KINDS.values() if kind.names_from}


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_every_kind_is_where_the_registry_says_in_the_installed_keras(kind):
    if kind.module is not None:
        assert inspect.ismodule(kind.keras_module(keras))
    if kind.base is not None:
        base = kind.keras_base(keras)
        assert inspect.isclass(base)
        for name in get_catalog().classes(kind.name) if kind.listed else ():
            assert issubclass(getattr(kind.keras_module(keras), name), base), name
    if kind.names_from == "get":
        assert callable(kind.keras_module(keras).get)
    if kind.deserialize:  # built by keras.saving.deserialize_keras_object, which calls from_config
        assert all(
            hasattr(getattr(kind.keras_module(keras), n), "from_config") for n in get_catalog().classes(kind.name)
        )
    for name in kind.code_running:
        assert get_catalog().get_class(kind.name, name) is not None, name
    for parameter in kind.parameters:
        assert parameter_kind(parameter) is kind


class Found(Visitor):
    """Every object, name and code reference a walk meets: (kind, what, line, col)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str, int, int]] = []

    def visit_object(self, kind, raw):
        self.seen.append((kind and kind.name, f"{{type: {raw['type']}}}", raw.mark.line, raw.mark.col))
        return super().visit_object(kind, raw)

    def visit_name(self, kind, value, mark):
        self.seen.append((kind.name, value, mark.line, mark.col))
        return value

    visit_code = visit_name


def test_one_walk_finds_every_object_with_its_kind_and_position():
    text = (
        "layers:\n"
        "  - {type: Dense, units: 2, kernel_initializer: he_normal, activation: {type: LeakyReLU}}\n"
        "compile:\n"
        "  optimizer: {type: Adam, learning_rate: {type: ExponentialDecay, initial_learning_rate: 0.1}}\n"
        "  loss: {score: mse, label: 'losses:focal'}\n"
        "  metrics: [accuracy]\n"
    )
    found = Found()
    walk(found, load_text(text, "spec.yaml"), None, None)
    assert found.seen == [
        (None, "{type: Dense}", 2, 5),
        ("initializers", "he_normal", 2, 49),
        ("layers", "{type: LeakyReLU}", 2, 72),
        ("optimizers", "{type: Adam}", 4, 14),
        ("schedules", "{type: ExponentialDecay}", 4, 42),
        ("losses", "mse", 5, 17),  # a mapping by output name: each value a loss
        ("losses", "losses:focal", 5, 29),
        ("metrics", "accuracy", 6, 13),
    ]


def test_objects_are_made_by_keras_deserialization_and_its_errors_stay_located(write_spec):
    path = write_spec(
        """
        name: d
        input: {shape: [4]}
        layers:
          - {type: Dense, units: 1}
        compile:
          optimizer: {type: Adam, learning_rate: {type: ExponentialDecay, initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.5}}
          loss: {type: CategoricalCrossentropy, label_smoothing: 0.1}
        """
    )
    spec = kerasspec.load(path)
    optimizer = convert(keras, spec, spec.compile["optimizer"], "optimizer")
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    loss = convert(keras, spec, spec.compile["loss"], "loss")
    assert isinstance(loss, keras.losses.CategoricalCrossentropy) and loss.get_config()["label_smoothing"] == 0.1

    text = "name: e\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, units: 3, kernel_initializer: {type: VarianceScaling, mode: fan_sideways}}\n"
    bad = write_spec(text, "bad.yaml")
    with pytest.raises(SpecError) as info:
        kerasspec.load(bad).build()
    error = info.value
    assert position(error) == (4, column_of(text, 4, "fan_sideways"))
    assert error.message.startswith("VarianceScaling: Invalid `mode` argument: fan_sideways.")


def test_a_typeless_object_under_a_keyword_is_refused_statically_as_in_compile(cli, write_spec):
    """The one walk gives layer arguments the check compile and train had: an object needs a `type`."""
    text = "name: t\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, units: 3, kernel_initializer: {seed: 1}}\n"
    path = write_spec(text)
    assert_located_error(
        cli("validate", path), path, 4, column_of(text, 4, "{seed"), "an initializer object needs a `type`"
    )
