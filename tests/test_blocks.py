"""`blocks:` (the contract's additions): entries written once, used many times, each use expanded
in place into layers named `<use>.<entry>`. Before, a residual block used four times was written
out four times."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, assert_located_error, column_of, without_names

import kerasspec

SPEC = """\
name: blocky
inputs: {image: {shape: [16, 16, 3]}}
blocks:
  down:
    params: {filters: 8}
    layers:
      - {type: SeparableConv2D, name: conv, filters: "${filters}", kernel_size: 3, padding: same}
      - {type: MaxPooling2D, name: pool, pool_size: 3, strides: 2, padding: same}
      - {type: Conv2D, name: skip, inputs: in, filters: "${filters}", kernel_size: 1, strides: 2, padding: same}
      - {type: Add, name: out, inputs: [pool, skip]}
    output: out
layers:
  - {type: Conv2D, filters: 4, kernel_size: 3, padding: same}
  - {block: down, name: d1, filters: 6}
  - {block: down, name: d2}
  - {type: GlobalAveragePooling2D, inputs: d2}
  - {type: Dense, name: head, units: 1}
outputs: [head]
compile: {optimizer: adam, loss: mean_squared_error}
"""


def _names(spec):
    return [entry.name for entry in spec.layers]


def _refs(inputs):
    """What an entry is called on, as written: `x`, or a list of them."""
    return [str(ref) for ref in inputs] if isinstance(inputs, list) else str(inputs)


def test_a_use_expands_in_place_with_its_parameters(write_spec):
    spec = kerasspec.load(write_spec(SPEC))
    assert _names(spec)[:5] == [None, "d1.conv", "d1.pool", "d1.skip", "d1.out"]
    assert _names(spec)[5:] == ["d2.conv", "d2.pool", "d2.skip", "d2.out", None, "head"]
    layers = {entry.name: entry for entry in spec.layers}
    assert layers["d1.conv"].kwargs["filters"] == 6 and layers["d2.conv"].kwargs["filters"] == 8  # the default
    assert _refs(layers["d2.out"].inputs) == ["d2.pool", "d2.skip"] and _refs(layers["d2.skip"].inputs) == "d2.in"
    assert str(spec.layers[9].inputs) == "d2.out"  # the use's name stands for the block's output
    assert spec.block_outputs == {"d1": "d1.out", "d2": "d2.out"}
    # `in` is bound, when the model is built, to what the use is called on: the entry above
    assert [(e.name, e.block_inputs) for e in spec.layers if e.block_inputs] == [
        ("d1.conv", [("d1.in", None)]),
        ("d2.conv", [("d2.in", None)]),
    ]


def test_blocks_nest_and_take_inputs_and_vars(write_spec):
    """A block using a block (names nest), a use given `inputs`, unnamed entries (`<use>.<n>`),
    vars seen in blocks (a parameter hides the var of its name) and expressions over both."""
    text = """\
    name: nested
    vars: {width: 2, units: 1000}
    inputs: {a: {shape: [8]}, b: {shape: [8]}}
    blocks:
      dense:
        params: {units: ~}
        layers:
          - {type: Dense, name: d, units: "${units * width}"}
          - {type: Activation, activation: relu}
      res:
        params: {units: 8}
        layers:
          - {block: dense, name: a, units: "${units}"}
          - {block: dense, name: b, units: "${units // width}", inputs: a}
          - {type: Add, name: sum, inputs: [b, in]}
        output: sum
    layers:
      - {block: res, name: r1, inputs: a}
      - {block: res, name: r2, inputs: b, units: 4}
      - {type: Concatenate, name: cat, inputs: [r1, r2, r1.a.d]}
    outputs: [cat, r2]
    """
    spec = kerasspec.load(write_spec(text))
    assert _names(spec)[:6] == ["r1.a.d", "r1.a.2", "r1.b.d", "r1.b.2", "r1.sum", "r2.a.d"]
    layers = {entry.name: entry for entry in spec.layers}
    assert [layers[n].kwargs["units"] for n in ("r1.a.d", "r1.b.d", "r2.a.d", "r2.b.d")] == [16, 8, 8, 4]
    assert layers["r1.a.d"].block_inputs[0][0] == "r1.in" and str(layers["r1.a.d"].block_inputs[0][1]) == "a"
    assert [name for name, _ in layers["r1.a.d"].block_inputs] == ["r1.in", "r1.a.in"]  # outermost first
    assert _refs(layers["cat"].inputs) == ["r1.sum", "r2.sum", "r1.a.d"]
    assert [name for name, _ in spec.outputs] == ["cat", "r2.sum"]  # an output is named by its layer


def test_a_sequential_spec_uses_a_block_whose_entries_form_a_chain(write_spec):
    text = """\
    name: seq
    input: {shape: [8]}
    blocks:
      mlp:
        params: {units: 4}
        layers:
          - {type: Dense, units: "${units}"}
          - {type: Dropout, rate: 0.1}
    layers:
      - {block: mlp, name: m1}
      - {block: mlp, name: m2, units: 6}
      - type: Sequential
        name: inner
        layers:
          - {block: mlp, name: m3}
    """
    spec = kerasspec.load(write_spec(text))
    assert _names(spec) == ["m1.1", "m1.2", "m2.1", "m2.2", "inner"]
    assert _names(spec.layers[-1].spec) == ["m3.1", "m3.2"]  # a spec written in place uses the file's blocks


def _located(entries: str, blocks: str = "", *, head: str = "inputs: {x: {shape: [4]}}\n", tail: str = "") -> str:
    return f"name: m\n{head}blocks:\n{blocks}layers:\n{entries}{tail}"


DENSE = "  dense:\n    params: {units: ~}\n    layers:\n      - {type: Dense, name: d, units: '${units}'}\n"
OUT = "outputs: [o]\n"


@pytest.mark.parametrize(
    "text, where, message",
    [
        (
            _located("  - {block: b, name: o}\n", "  b:\n    layers: [{type: Dense, units: 1}]\n", tail=OUT).replace(
                "inputs: {x: {shape: [4]}}", "inputs: {x: [4], y: [4]}"
            ),
            "{block",
            "the first entry, block 'o', has no `inputs`, and the spec has 2 inputs (x, y)",
        ),
        (
            "name: m\nkind: subclass\nclass: models:Net\ninputs: {x: [4]}\nblocks: {b: {layers: [{type: Dense, units: 1}]}}\n",
            "blocks",
            "a subclass spec has no `blocks`: the class defines the model",
        ),
        (
            _located("  - {block: dense, name: o}\n", DENSE, tail=OUT),
            "{block",
            "block 'dense' needs parameter 'units' (it has no default)",
        ),
        (
            _located("  - {block: dense, name: o, unit: 3}\n", DENSE, tail=OUT),
            "unit:",
            "block 'dense' has no parameter 'unit'; did you mean 'units'?",
        ),
        (
            _located("  - {block: dens, name: o, units: 3}\n", DENSE, tail=OUT),
            "dens,",
            "unknown block 'dens'; did you mean 'dense'?",
        ),
        (
            _located("  - {block: dense, units: 3}\n  - {type: Dense, name: o, units: 1}\n", DENSE, tail=OUT),
            "{block",
            "a block entry needs a `name`",
        ),
        (
            _located(
                "  - {block: dense, name: a, units: 3}\n  - {type: Dense, name: o, units: 1, inputs: a.dd}\n",
                DENSE,
                tail=OUT,
            ),
            "a.dd",
            "block 'a' has no entry 'dd'; did you mean 'd'?",
        ),
        (
            _located("  - {type: Dense, name: o, units: 1, inputs: in}\n", DENSE, tail=OUT),
            "in}",
            "`in` is a block's input, and this entry is not in a block",
        ),
        (
            _located("  - {type: Dense, name: o.k, units: 1}\n", DENSE, tail="outputs: [o.k]\n"),
            "o.k,",
            "layer name 'o.k' may not contain '/', '[', ']', '.' or spaces",
        ),
        (
            _located("  - {block: dense, name: o.k, units: 1}\n", DENSE, tail="outputs: [o.k]\n"),
            "o.k,",
            "name 'o.k' may not contain '.'",
        ),
        (
            _located("  - {block: a, name: o}\n", "  a:\n    layers:\n      - {block: a, name: x}\n", tail=OUT),
            "a, name: x",
            "block 'a' uses itself (a -> a)",
        ),
        (
            _located(
                "  - {block: a, name: o}\n",
                "  a:\n    layers:\n      - {block: b, name: x}\n  b:\n    layers:\n      - {block: a, name: y}\n",
                tail=OUT,
            ),
            "a, name: y",
            "block 'a' uses itself (a -> b -> a)",
        ),
        (
            _located(
                "  - {block: b, name: o}\n", "  b:\n    layers:\n      - {type: Dense, units: 1, inputs: x}\n", tail=OUT
            ),
            "x}",
            "'x' is not an entry of block 'b' (in block 'b', used by 'o' at line 8)",
        ),
        (
            _located(
                "  - {block: b, name: o}\n",
                "  b:\n    ouput: d\n    layers:\n      - {type: Dense, name: d, units: 1}\n",
                tail=OUT,
            ),
            "ouput",
            "unknown block key 'ouput'; did you mean 'output'?",
        ),
        (
            _located(
                "  - {block: b, name: o}\n",
                "  b:\n    output: zz\n    layers:\n      - {type: Dense, name: d, units: 1}\n",
                tail=OUT,
            ),
            "zz",
            "block 'b' has no entry 'zz' for its `output`",
        ),
        (
            _located(
                "  - {block: b, name: o}\n",
                "  b:\n    params: {name: 3}\n    layers:\n      - {type: Dense, units: 1}\n",
                tail=OUT,
            ),
            "name: 3",
            "a block cannot have a parameter 'name': every use's `name` is the entry's own",
        ),
        (
            _located(
                "  - {block: b, name: o}\n",
                "  b:\n    layers:\n      - {type: Dense, units: 1, inputs: in}\n",
                head="input: {shape: [4]}\n",
            ),
            "inputs",
            "layer 'o.1' has `inputs`, but the spec is sequential (in block 'b', used by 'o' at line 8)",
        ),
        (
            _located(
                "  - spec: {name: n, inputs: {y: [4]}, blocks: {}, layers: [{type: Dense, units: 1}], outputs: y}\n    name: o\n",
                DENSE,
                tail=OUT,
            ),
            "blocks: {}",
            "an inline spec has no `blocks`: the spec that holds it has them",
        ),
    ],
    ids=[
        "ambiguous-input",
        "subclass",
        "missing-parameter",
        "unknown-parameter",
        "unknown-block",
        "use-without-name",
        "no-such-inner-entry",
        "in-outside-a-block",
        "dot-in-a-name",
        "dot-in-a-use-name",
        "direct-recursion",
        "indirect-recursion",
        "outer-name-in-a-block",
        "misspelt-block-key",
        "unknown-output",
        "reserved-parameter",
        "sequential-in",
        "inline-spec-blocks",
    ],
)
def test_block_mistakes_are_located(cli, write_spec, text, where, message):
    """Each at `where`: the first line holding it, at its column."""
    path = write_spec(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if where in row)
    assert_located_error(cli("validate", path), path, line, column_of(text, line, where), message)


def test_an_error_inside_a_block_names_the_use(cli, write_spec):
    """At the key in the block's definition, with the use (and its line) it was found for."""
    text = SPEC.replace("name: d2}", "name: d2, filters: many}")
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(
        result,
        path,
        7,
        column_of(text, 7, '"${filters}"'),
        "SeparableConv2D argument 'filters' must be a whole number or a list, got 'many' (in block 'down', used by 'd2' at line 15)",
    )
    assert len([line for line in result.stderr.splitlines() if ": error: " in line]) == 2  # conv and skip, at d2


def test_a_mistake_the_same_at_every_use_is_reported_once(cli, write_spec):
    text = SPEC.replace('filters}", kernel_size: 3', 'filters}", kernel_sise: 3')
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(
        result,
        path,
        7,
        column_of(text, 7, "kernel_sise"),
        "SeparableConv2D has no argument 'kernel_sise'; did you mean 'kernel_size'? (in block 'down', used by 'd1' at line 14)",
    )
    assert sum("kernel_sise" in line for line in result.stderr.splitlines() if ": error: " in line) == 1


def test_set_reaches_a_use_and_a_definition(cli, write_spec):
    path = write_spec(SPEC)
    spec = kerasspec.load(path, ["layers.d1.filters=5", "blocks.down.params.filters=7"])
    layers = {entry.name: entry for entry in spec.layers}
    assert layers["d1.conv"].kwargs["filters"] == 5 and layers["d2.conv"].kwargs["filters"] == 7
    layers = {entry.name: entry for entry in kerasspec.load(path, ["layers.d1.filters=null"]).layers}
    assert layers["d1.conv"].kwargs["filters"] == 8  # null is the key left out: the default
    bad = cli("validate", path, "--set", "layers.d1.filtrs=3")
    assert_located_error(
        bad, "--set layers.d1.filtrs=3", 1, 11, "block 'down' has no parameter 'filtrs'; did you mean 'filters'?"
    )


def test_resolve_shows_blocks_as_written_with_vars_put_in(cli, write_spec):
    text = SPEC.replace("name: blocky\n", "name: blocky\nvars: {wide: 3}\n").replace(
        'filters: "${filters}", kernel_size: 3', 'filters: "${filters * wide}", kernel_size: 3'
    )
    result = cli("resolve", write_spec(text), "--set", "layers.d1.filters=5")
    assert result.exit_code == 0, result.stderr
    assert "vars:" not in result.stdout and "filters: ${filters * 3}" in result.stdout
    assert "  name: d1\n  filters: 5\n" in result.stdout


def test_the_schema_takes_blocks(cli):
    import jsonschema
    import yaml

    schema = json.loads(cli("schema").stdout)
    validator = jsonschema.Draft7Validator(schema)
    document = yaml.safe_load(SPEC)
    assert list(validator.iter_errors(document)) == []
    for broken in (
        SPEC.replace("{block: down, name: d2}", "{block: down}"),  # a use needs a name
        SPEC.replace("output: out", "ouput: out"),
        SPEC.replace("name: d1,", "name: d.1,"),
        SPEC.replace("{block: down, name: d2}", "{block: down, name: d2, type: Dense}"),
        SPEC.replace("params: {filters: 8}", "params: {filters-x: 8}"),
    ):
        assert list(validator.iter_errors(yaml.safe_load(broken))), broken


def _keras_io_image_classifier(keras, shape):
    """keras.io's "Image classification from scratch" `make_model` (2 classes), with the
    augmentation in the model; named where the spec names its entries."""
    from keras import layers

    inputs = keras.Input(shape, name="image")
    augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)], name="augmentation")
    x = layers.Rescaling(1.0 / 255)(augmentation(inputs))
    x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for size in [256, 512, 728]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block_{size}.pool")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", name=f"block_{size}.projection")(
            previous_block_activation
        )
        x = layers.add([x, residual], name=f"block_{size}.add")
        previous_block_activation = x
    x = layers.SeparableConv2D(1024, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    return keras.Model(inputs, layers.Dense(1, activation=None, name="logits")(x))


def test_the_bundled_image_classifier_is_keras_ios(write_spec):
    """specs/image_classification.yaml, its residual block used three times, builds the model
    keras.io writes with a for loop: same parameters, output shapes, and layer by layer the same
    class and config (names compared where the spec names the layer)."""
    import keras

    spec = kerasspec.load(SPECS / "image_classification.yaml")
    model = spec.build()
    reference = _keras_io_image_classifier(keras, spec.inputs["image"].shape)
    assert model.count_params() == reference.count_params()
    assert [tuple(t.shape) for t in model.outputs] == [tuple(t.shape) for t in reference.outputs]
    named = {"image", "augmentation", "logits"} | {
        f"block_{size}.{inner}" for size in (256, 512, 728) for inner in ("pool", "projection", "add")
    }
    assert len(model.layers) == len(reference.layers) == 39
    for ours, theirs in zip(model.layers, reference.layers, strict=True):
        assert type(ours) is type(theirs)
        if theirs.name in named:
            assert ours.name == theirs.name
        assert without_names(ours.get_config()) == without_names(theirs.get_config()), theirs.name


def test_every_command_takes_a_spec_with_blocks(cli, write_spec, tmp_path):
    """validate --build, summary, plot, train, evaluate, predict (`--outputs` a use and an inner
    entry) and resolve (its output builds the same model)."""
    import numpy as np

    path = write_spec(SPEC)
    assert cli("validate", "--build", path).exit_code == 0
    summary = cli("summary", "--json", path)
    assert summary.exit_code == 0, summary.stderr
    rows = {row["name"]: row for row in json.loads(summary.stdout)["layers"]}
    assert rows["d2.skip"]["inbound"] == ["d1.out"] and rows["d2.out"]["inbound"] == ["d2.pool", "d2.skip"]
    mermaid = cli("plot", path, "--format", "mermaid", "-o", "-")
    assert mermaid.exit_code == 0 and "d1.conv<br/>SeparableConv2D" in mermaid.stdout
    run = tmp_path / "run"
    trained = cli("train", path, "--samples", "16", "--batch-size", "8", "--out", run, "--quiet")
    assert trained.exit_code == 0, trained.stderr
    evaluated = cli("evaluate", path, "--run", run, "--samples", "8", "--json")
    assert evaluated.exit_code == 0 and np.isfinite(json.loads(evaluated.stdout)["loss"])
    out = tmp_path / "features.npz"
    predicted = cli("predict", path, "--run", run, "--samples", "4", "--outputs", "d1,d2.conv", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(out) as arrays:
        assert {k: arrays[k].shape for k in arrays.files} == {"d1": (4, 8, 8, 6), "d2.conv": (4, 8, 8, 8)}
    resolved = tmp_path / "resolved.yaml"
    assert cli("resolve", path, "-o", resolved).exit_code == 0
    original, again = kerasspec.load(path).build(), kerasspec.load(resolved).build()
    shown = lambda model: [  # noqa: E731 - the names the spec gives, and what each layer is
        (layer.name if "." in layer.name else type(layer).__name__, layer.count_params()) for layer in model.layers
    ]
    assert shown(again) == shown(original) and len(original.layers) == 12


def test_a_build_error_inside_a_block_names_the_use(cli, write_spec):
    text = SPEC.replace("kernel_size: 1, strides: 2", "kernel_size: 1, strides: 3")
    path = write_spec(text)
    assert_located_error(
        cli("validate", "--build", path),
        path,
        10,
        column_of(text, 10, "{type: Add"),
        "layer 'd1.out' (Add): Inputs have incompatible shapes. Received shapes (8, 8, 6) and (6, 6, 6) "
        "(in block 'down', used by 'd1' at line 14)",
    )
