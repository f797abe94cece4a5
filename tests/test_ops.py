"""`op:` entries (the contract's additions): a function of `keras.ops` as a node of a functional
graph. Before, `x + 3.0`, `ops.mean` or `tensordot` could not be written at all."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import RUN_FILES, SPECS, assert_located_error, column_of

import kerasspec

SPEC = """\
name: opdemo
inputs:
  x: {shape: [4]}
layers:
  - {type: Dense, name: hidden, units: 3}
  - {op: add, name: shifted, inputs: [hidden, 3.0]}
  - {op: multiply, inputs: [shifted, "${1 / 6}"]}
  - {op: mean, name: pooled, axis: 1, keepdims: true}
  - {op: concatenate, name: both, inputs: {xs: [pooled, hidden]}, axis: -1}
  - {op: einsum, name: outer, subscripts: "bi,bj->bij", inputs: [both, both]}
  - {type: Flatten, name: flat}
  - {type: Dense, name: out, units: 2}
outputs: [out]
compile: {loss: mse, optimizer: adam}
data: {samples: 32}
train: {epochs: 1, batch_size: 16}
"""


def _hand_written():
    import keras
    from keras import layers, ops

    x = keras.Input((4,), name="x")
    hidden = layers.Dense(3, name="hidden")(x)
    shifted = ops.add(hidden, 3.0)
    scaled = ops.multiply(shifted, 1 / 6)
    pooled = ops.mean(scaled, axis=1, keepdims=True)
    both = ops.concatenate([pooled, hidden], axis=-1)
    outer = ops.einsum("bi,bj->bij", both, both)
    flat = layers.Flatten(name="flat")(outer)
    out = layers.Dense(2, name="out")(flat)
    return keras.Model(x, [out], name="opdemo")


def _node_configs(model):
    """Each operation's class and config, in order, without the names Keras counts itself."""
    return [(type(op).__name__, {k: v for k, v in op.get_config().items() if k != "name"}) for op in model.operations]


def test_op_entries_build_what_keras_ops_build(write_spec):
    built = kerasspec.load(write_spec(SPEC)).build()
    reference = _hand_written()
    assert built.count_params() == reference.count_params() == 15 + 2 * (16 + 1)
    assert [tuple(t.shape) for t in built.outputs] == [tuple(t.shape) for t in reference.outputs]
    assert _node_configs(built) == _node_configs(reference)
    names = [op.name for op in built.operations]
    # named entries keep their names; an unnamed one is named from the spec, not Keras's counter
    assert names == ["x", "hidden", "shifted", "opdemo.3", "pooled", "both", "outer", "flat", "out"]
    again = kerasspec.load(write_spec(SPEC, "again.yaml")).build()
    assert [op.name for op in again.operations] == names
    data = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    reference.set_weights(built.get_weights())
    np.testing.assert_allclose(built.predict(data, verbose=0), reference.predict(data, verbose=0), rtol=1e-6)


def test_op_entries_train_evaluate_and_predict_through_the_cli(cli, write_spec, tmp_path):
    spec = write_spec(SPEC)
    summary = cli("summary", spec)
    assert summary.exit_code == 0, summary.stderr
    assert "shifted (Add)" in summary.stdout and "opdemo.3 (Multiply)" in summary.stdout
    for loop in ("fit", "custom"):
        run = tmp_path / f"run-{loop}"
        result = cli("train", spec, "--out", run, "--loop", loop, "-q")
        assert result.exit_code == 0, result.stderr
        assert sorted(p.name for p in run.iterdir()) == RUN_FILES
        assert len(json.loads((run / "history.json").read_text())["history"]["loss"]) == 1
    run = tmp_path / "run-fit"
    evaluated = cli("evaluate", spec, "--run", run)
    assert evaluated.exit_code == 0, evaluated.stderr
    out = tmp_path / "features.npz"
    predicted = cli("predict", spec, "--run", run, "--outputs", "pooled,opdemo.3,out", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    arrays = np.load(out)
    assert {k: arrays[k].shape for k in arrays.files} == {"pooled": (32, 1), "opdemo.3": (32, 3), "out": (32, 2)}
    # the unnamed op's features are exactly (hidden + 3) / 6
    hidden = np.load(_predict(cli, spec, run, tmp_path / "hidden.npz", "hidden"))["hidden"]
    np.testing.assert_allclose(arrays["opdemo.3"], (hidden + 3.0) / 6, rtol=1e-5)


def _predict(cli, spec, run, out, outputs):
    result = cli("predict", spec, "--run", run, "--outputs", outputs, "--out", out)
    assert result.exit_code == 0, result.stderr
    return out


def test_op_entries_plot_as_nodes(cli, write_spec):
    result = cli("plot", write_spec(SPEC), "--format", "mermaid", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert '["shifted<br/>Add<br/>(None, 3)"]' in result.stdout
    assert '["pooled<br/>Mean<br/>(None, 1)"]' in result.stdout


def test_op_spec_passes_the_json_schema_and_a_misspelt_op_does_not(cli, tmp_path):
    import jsonschema
    import yaml

    schema_file = tmp_path / "schema.json"
    assert cli("schema", "--out", schema_file).exit_code == 0
    validator = jsonschema.Draft7Validator(json.loads(schema_file.read_text()))
    spec = yaml.safe_load(SPEC)
    assert list(validator.iter_errors(spec)) == []
    spec["layers"][3]["op"] = "meen"
    assert list(validator.iter_errors(spec))
    spec["layers"][3] = {"op": "mean", "axes": 1}
    assert list(validator.iter_errors(spec))


BAD = """\
name: bad
inputs:
  x: {shape: [4]}
  y: {shape: [4]}
layers:
  - {type: Dense, name: hidden, units: 3, inputs: x}
  - {op: PLACE}
outputs: [hidden]
"""


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ("{op: meen, name: a}", "meen", "unknown op 'meen': keras.ops has no such function; did you mean 'mean'?"),
        ("{op: mean, axes: 1}", "axes", "keras.ops.mean has no argument 'axes'; did you mean 'axis'?"),
        (
            "{op: add, inputs: [3.0, 4.0]}",
            "[3.0",
            "keras.ops.add is given no tensor: `inputs` holds only constants",
        ),
        ("{op: add, inputs: hidden}", "hidden}", "keras.ops.add needs 'x2'"),
        (
            "{op: add, inputs: [hidden, x, y]}",
            "y]",
            "keras.ops.add takes 2 arguments by position here (x1, x2), given 3",
        ),
        (
            "{op: mean, inputs: {x: hidden}, x: 3}",
            "x: hidden",
            "keras.ops.mean argument 'x' is given twice: in `inputs` and as a key",
        ),
        (
            "{op: mean, call: {training: false}}",
            "call",
            "'call' is not allowed here: an `op` entry takes name, inputs and the keywords of keras.ops.mean",
        ),
        ("{op: add, inputs: [hidden, nothere]}", "nothere", "unknown reference 'nothere'"),
        (
            "{op: add, inputs: [hidden, {a: 1}]}",
            "{a: 1}",
            "an op argument is a reference, a number, true/false, null or a list of them, got {'a': 1}",
        ),
        ("{op: [add]}", "[add]", "`op` names a function of keras.ops, got ['add']"),
        ("{op: mean, keepdims: 3}", "3}", "keras.ops.mean argument 'keepdims' must be true or false, got 3"),
        ("{op: add, type: Dense}", "op", "an entry has one of `type`, `reuse`, `spec` or `op`, not `type` and `op`"),
    ],
    ids=[
        "unknown-op",
        "bad-keyword",
        "no-tensor",
        "missing-argument",
        "too-many",
        "twice",
        "call",
        "unknown-ref",
        "mapping-argument",
        "op-not-text",
        "flag-not-bool",
        "type-and-op",
    ],
)
def test_bad_op_entries_are_located(cli, write_spec, entry, where, message):
    text = BAD.replace("{op: PLACE}", entry)
    spec = write_spec(text)
    assert_located_error(cli("validate", spec), spec, 7, column_of(text, 7, where), message)


def test_an_op_in_a_sequential_spec_is_refused(cli, write_spec):
    text = "name: s\ninput: [4]\nlayers:\n  - {type: Dense, units: 3}\n  - {op: mean, axis: 1}\n"
    spec = write_spec(text)
    assert_located_error(
        cli("validate", spec),
        spec,
        5,
        column_of(text, 5, "op"),
        "layers[1] calls keras.ops.mean, but the spec is sequential",
    )


def test_an_op_that_gives_no_tensor_is_refused_at_build(cli, write_spec):
    text = BAD.replace("{op: PLACE}", "{op: shape, name: s, inputs: hidden}")
    spec = write_spec(text)
    result = cli("validate", "--build", spec)
    assert_located_error(
        result, spec, 7, column_of(text, 7, "shape"), "op 's': keras.ops.shape gives (None, 3), not a tensor"
    )


def test_a_keras_error_in_an_op_is_located_at_the_entry(cli, write_spec):
    text = BAD.replace("{op: PLACE}", "{op: add, name: m, inputs: [hidden, y]}")
    spec = write_spec(text)
    result = cli("validate", "--build", spec)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"{spec}:7:5: error: op 'm' (keras.ops.add): Cannot broadcast shape" in result.stderr


def test_bundled_collaborative_filtering_matches_plain_keras():
    """keras.io's collaborative filtering (RecommenderNet), written with `op:` entries."""
    import keras
    from keras import layers, ops

    built = kerasspec.load(SPECS / "collaborative_filtering.yaml").build()
    pair = keras.Input((2,), dtype="int32", name="pair")
    user = ops.take(pair, 0, axis=1)
    movie = ops.take(pair, 1, axis=1)
    l2 = keras.regularizers.L2(1e-6)
    user_vector = layers.Embedding(
        610, 50, embeddings_initializer="he_normal", embeddings_regularizer=l2, name="user_embedding"
    )(user)
    user_bias = layers.Embedding(610, 1, name="user_bias")(user)
    movie_vector = layers.Embedding(
        9724, 50, embeddings_initializer="he_normal", embeddings_regularizer=l2, name="movie_embedding"
    )(movie)
    movie_bias = layers.Embedding(9724, 1, name="movie_bias")(movie)
    dot = ops.tensordot(user_vector, movie_vector, 2)
    x = dot + user_bias + movie_bias
    rating = ops.nn.sigmoid(x)
    reference = keras.Model(pair, rating)
    assert built.count_params() == reference.count_params() == 610 * 51 + 9724 * 51
    assert tuple(built.outputs[0].shape) == tuple(reference.output.shape)
    assert _node_configs(built) == _node_configs(reference)


def test_op_entries_work_inside_an_inline_functional_spec(write_spec):
    text = """\
name: outer
inputs: {x: {shape: [4]}}
layers:
  - name: inner
    spec:
      name: inner
      inputs: {v: {shape: [4]}}
      layers:
        - {op: square}
        - {op: sum, name: total, axis: -1, keepdims: true}
      outputs: total
  - {type: Dense, name: out, units: 1}
outputs: out
"""
    model = kerasspec.load(write_spec(text)).build()
    inner = model.get_layer("inner")
    assert [op.name for op in inner.operations] == ["v", "inner.1", "total"]
    assert tuple(model.outputs[0].shape) == (None, 1)


def test_op_entries_inside_a_block_use_its_input_and_names(cli, write_spec, tmp_path):
    text = """\
name: blocked
inputs: {x: {shape: [4]}}
blocks:
  scaled:
    params: {factor: 2.0}
    layers:
      - {type: Dense, name: dense, units: 4}
      - {op: concatenate, name: both, inputs: {xs: [in, dense]}, axis: -1}
      - {op: multiply, inputs: [both, "${factor}"]}      # unnamed: s1.3, the block's output
layers:
  - {block: scaled, name: s1}
  - {block: scaled, name: s2, factor: 0.5}
outputs: s2
"""
    spec = write_spec(text)
    assert cli("validate", spec).exit_code == 0
    model = kerasspec.load(spec).build()
    names = [op.name for op in model.operations]
    assert names == ["x", "s1.dense", "s1.both", "s1.3", "s2.dense", "s2.both", "s2.3"]
    multiply = model.get_layer("s2.dense")
    assert multiply is not None and tuple(model.outputs[0].shape) == (None, 12)
    out = tmp_path / "p.npz"
    run = tmp_path / "run"
    spec.write_text(text + "compile: {loss: mse}\ndata: {samples: 8}\ntrain: {epochs: 1}\n")
    assert cli("train", spec, "--out", run, "-q").exit_code == 0
    result = cli("predict", spec, "--run", run, "--outputs", "s1.3,s2", "--out", out)
    assert result.exit_code == 0, result.stderr
    arrays = np.load(out)
    assert arrays["s1.3"].shape == (8, 8) and arrays["s2"].shape == (8, 12)


def test_an_op_argument_naming_no_entry_of_its_block_is_located(cli, write_spec):
    text = """\
name: blocked
inputs: {x: {shape: [4]}}
blocks:
  b:
    layers:
      - {op: add, inputs: [in, nothere]}
layers:
  - {block: b, name: b1}
outputs: b1
"""
    spec = write_spec(text)
    result = cli("validate", spec)
    assert result.exit_code == 2
    assert "'nothere' is not an entry of block 'b'" in result.stderr


MULTI = """\
name: mo
inputs: {a: {shape: [8]}}
layers:
  - {type: Dense, name: h, units: 8}
  - {op: split, name: parts, indices_or_sections: [3], axis: -1}
  - {op: top_k, name: tk, inputs: h, k: 2}
  - {op: nn.sigmoid, name: out, inputs: "parts[1]"}
outputs: {out: out, idx: "tk[1]"}
compile: {optimizer: adam, loss: {out: mse}}
data: {samples: 16}
train: {epochs: 1}
"""


def test_predict_outputs_of_a_node_with_several_are_one_array_each(cli, write_spec, tmp_path):
    spec = write_spec(MULTI)
    run = tmp_path / "run"
    assert cli("train", spec, "--out", run, "-q").exit_code == 0
    out = tmp_path / "p.npz"
    result = cli("predict", spec, "--run", run, "--outputs", "parts,tk[1]", "--out", out)
    assert result.exit_code == 0, result.stderr
    arrays = np.load(out)
    shapes = {k: (arrays[k].shape, str(arrays[k].dtype)) for k in arrays.files}
    assert shapes == {
        "parts[0]": ((16, 3), "float32"),
        "parts[1]": ((16, 5), "float32"),
        "tk[1]": ((16, 2), "int32"),  # top_k's indices stay integers
    }
    result = cli("predict", spec, "--run", run, "--outputs", "h[1]", "--out", tmp_path / "q.npz")
    assert result.exit_code == 2 and "--outputs: error: 'h' has one output; write 'h' without [1]" in result.stderr


def test_an_output_naming_a_node_with_several_outputs_is_refused(cli, write_spec):
    text = MULTI.replace('outputs: {out: out, idx: "tk[1]"}', "outputs: tk").replace(
        "compile: {optimizer: adam, loss: {out: mse}}\n", ""
    )
    spec = write_spec(text)
    result = cli("validate", "--build", spec)
    assert_located_error(result, spec, 8, 10, "'tk' has 2 outputs; an output of the model is one of them")


def test_a_tensor_named_in_an_op_keyword_is_refused_statically(cli, write_spec):
    text = BAD.replace("{op: PLACE}", "{op: add, name: s, inputs: hidden, x2: hidden}")
    spec = write_spec(text)
    result = cli("validate", spec)
    assert_located_error(
        result,
        spec,
        7,
        column_of(text, 7, "hidden}"),
        "'hidden' names a tensor: keras.ops.add's 'x2' would get the text, not the tensor",
    )


def test_an_unnamed_op_whose_derived_name_a_block_use_takes_is_located(cli, write_spec):
    text = """\
name: m
inputs: {a: {shape: [8]}}
blocks: {b: {layers: [{type: Dense, units: 4}, {type: Dense, units: 4}, {op: nn.relu}]}}
layers:
  - {type: Dense, name: x, units: 4}
  - {block: b, name: m}
  - {op: nn.relu, inputs: x}
  - {type: Dense, name: y, units: 4}
  - {op: add, name: s, inputs: [m, y]}
outputs: [s]
"""
    spec = write_spec(text)
    assert_located_error(
        cli("validate", spec), spec, 7, 6, "this op entry would be named 'm.3', the name of an entry of block use 'm'"
    )
