"""Nested models written in place (the contract's additions): an entry `type: Sequential` with
`layers:`, and `spec:` given a mapping instead of a file. Before, `type: Sequential` was
"unknown layer type 'Sequential'" and every nested model needed its own file."""

from __future__ import annotations

import json

import pytest
from conftest import assert_located_error, without_names

import kerasspec

SPEC = """\
name: augmented
inputs: {image: {shape: [32, 32, 3]}}
layers:
  - type: Sequential
    name: augmentation
    inputs: image
    layers:
      - {type: RandomFlip, mode: horizontal}
      - {type: RandomRotation, factor: 0.1}
  - {type: Rescaling, name: rescale, scale: "${1 / 255}"}
  - spec:
      name: head
      input: {shape: [32, 32, 3]}
      layers:
        - {type: Conv2D, filters: 4, kernel_size: 3}
        - {type: GlobalAveragePooling2D}
        - {type: Dense, units: 10, activation: softmax}
    name: classifier
outputs: classifier
compile: {loss: categorical_crossentropy, optimizer: adam}
"""


def test_inline_models_build_what_keras_builds(write_spec):
    import keras
    from keras import layers

    model = kerasspec.load(write_spec(SPEC)).build()
    image = keras.Input((32, 32, 3), name="image")
    augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)], name="augmentation")
    head = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(4, 3),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ],
        name="classifier",
    )
    reference = keras.Model(image, head(layers.Rescaling(1 / 255)(augmentation(image))))
    assert model.count_params() == reference.count_params() == 4 * 27 + 4 + 4 * 10 + 10
    assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in reference.layers]
    assert [layer.name for layer in model.layers] == ["image", "augmentation", "rescale", "classifier"]
    for ours, theirs in zip(model.layers[1:], reference.layers[1:], strict=True):
        inner = zip(getattr(ours, "layers", [ours]), getattr(theirs, "layers", [theirs]), strict=True)
        for a, b in inner:
            assert without_names(a.get_config()) == without_names(b.get_config())
    assert tuple(model.output.shape) == (None, 10)


def test_inline_models_validate_summarise_resolve_and_train(cli, write_spec, tmp_path):
    path = write_spec(SPEC)
    assert cli("validate", path).exit_code == 0
    nested = cli("summary", "--expand-nested", "--json", path)
    assert nested.exit_code == 0, nested.stderr
    names = [row["name"] for row in json.loads(nested.stdout)["layers"]]
    owners = [n.split("/")[0] for n in names if "/" in n]
    assert owners == ["augmentation"] * 2 + ["classifier"] * 3  # each inline model's own layers
    assert [n for n in names if "/" not in n] == ["image", "augmentation", "rescale", "classifier"]
    resolved = tmp_path / "resolved.yaml"
    assert cli("resolve", path, "-o", resolved).exit_code == 0
    assert kerasspec.load(resolved).build().count_params() == kerasspec.load(path).build().count_params()
    trained = cli("train", path, "--samples", "16", "--out", tmp_path / "run", "--quiet")
    assert trained.exit_code == 0, trained.stderr


@pytest.mark.parametrize(
    "entry, line, where, message",
    [
        ("  - {type: Sequential}\n", 4, "{type", "an inline `type: Sequential` needs `layers`"),
        (
            "  - {type: Sequential, units: 3, layers: [{type: Dense, units: 1}]}\n",
            4,
            "units",
            "'units' is not allowed here: an inline `type: Sequential` takes name, inputs, call, layers",
        ),
        (
            "  - {type: Sequential, layers: [{type: Dense, units: 1, inputs: x}]}\n",
            4,
            "inputs",
            "layers[0] has `inputs`, but the spec is sequential",
        ),
        (
            "  - {type: Dense, units: 1, layers: [{type: Dense, units: 1}]}\n",
            4,
            "layers",
            "`layers` goes with an inline `type: Sequential` only",
        ),
        (
            "  - {spec: {name: n, input: {shape: [3]}, layers: [{type: Dense, units: 1}], train: {epochs: 2}}}\n",
            4,
            "train",
            "an inline spec has no `train`: the spec that holds it has them",
        ),
    ],
    ids=["no-layers", "constructor-key", "inner-inputs", "layers-on-a-layer", "inline-train"],
)
def test_inline_model_mistakes_are_located(cli, write_spec, entry, line, where, message):
    text = "name: m\ninput: {shape: [3]}\nlayers:\n" + entry
    path = write_spec(text)
    assert_located_error(cli("validate", path), path, line, text.splitlines()[line - 1].index(where) + 1, message)
