"""Building real Keras models: errors Keras raises, located; the parameter limit; summary."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SPECS, assert_located_error, column_of

import kerasspec

keras = pytest.importorskip("keras")

BUILD_ERRORS: dict[str, tuple[str, int, int | str, str]] = {
    "shape-mismatch": (
        "name: k\ninputs:\n  x: {shape: [10]}\nlayers:\n  - {type: Dense, name: a, units: 64}\n"
        "  - {type: Dense, name: b, inputs: x, units: 32}\n  - {type: Add, name: s, inputs: [a, b]}\noutputs: s\n",
        7,
        5,
        "layer 's' (Add): Inputs have incompatible shapes. Received shapes (64,) and (32,)",
    ),
    "rate-out-of-range": (  # the docstring types `rate` as a float; its range only Keras knows
        "name: k\ninput: {shape: [3]}\nlayers:\n  - {type: Dropout, rate: 1.5}\n",
        4,
        "1.5",
        "Dropout: Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=1.5",
    ),
    "index-out-of-range": (
        "name: k\ninputs:\n  x: {shape: [null, 8]}\nlayers:\n  - {type: LSTM, name: enc, units: 4, return_state: true}\n"
        "  - {type: Dense, name: o, inputs: 'enc[5]', units: 1}\noutputs: o\n",
        6,
        "'enc[5]'",
        "'enc' has 3 outputs (enc[0] to enc[2]); enc[5] is out of range",
    ),
    "index-on-single-output": (
        "name: k\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {type: Dense, name: d, units: 4}\n"
        "  - {type: Dense, name: o, inputs: 'd[1]', units: 1}\noutputs: o\n",
        6,
        "'d[1]'",
        "'d' has one output; write 'd' without [1]",
    ),
    "multi-output-without-index": (
        "name: k\ninputs:\n  x: {shape: [null, 8]}\nlayers:\n  - {type: LSTM, name: enc, units: 4, return_state: true}\n"
        "  - {type: Dense, name: o, units: 1}\noutputs: o\n",
        6,
        5,
        "layer 'o' (Dense): Layer \"o\" expects 1 input(s), but it received 3 input tensors. Inputs received: [(None, 4), (None, 4), (None, 4)]",
    ),
    "bad-layer-dtype": (
        "name: k\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 4, dtype: flaot32}\n",
        4,
        "flaot32",
        "unknown dtype 'flaot32'; did you mean 'float32'?",
    ),
    "bad-nested-object-value": (
        "name: k\ninput: {shape: [3]}\nlayers:\n  - type: Dense\n    units: 4\n    kernel_regularizer: {type: L2, l2: -1}\n",
        6,
        "-1",
        "L2: Invalid value for argument l2: expected a non-negative float.Received: l2=-1",
    ),
}


@pytest.mark.parametrize("case", sorted(BUILD_ERRORS))
def test_keras_errors_are_located(case, cli, write_spec):
    text, line, where, message = BUILD_ERRORS[case]
    path = write_spec(text)
    result = cli("validate", "--build", path)
    assert_located_error(result, path, line, column_of(text, line, where), message)


def test_static_errors_come_before_any_build(cli, write_spec):
    text = "name: k\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, unit: 4}\n"
    result = cli("summary", write_spec(text))
    assert_located_error(
        result, write_spec(text), 4, column_of(text, 4, "unit"), "Dense has no argument 'unit'; did you mean 'units'?"
    )


def test_hint_for_a_multi_output_layer(cli, write_spec):
    text = BUILD_ERRORS["multi-output-without-index"][0]
    result = cli("validate", "--build", write_spec(text))
    assert "  hint: 'enc' has several outputs; pick one with enc[0], enc[1], ..." in result.stderr.splitlines()


def test_parameter_limit_is_checked_before_allocating(cli, write_spec):
    text = "name: huge\ninput: {shape: [100000]}\nlayers:\n  - {type: Dense, name: wide, units: 10000000000}\n"
    path = write_spec(text)
    result = cli("validate", "--build", path)
    assert_located_error(
        result,
        path,
        4,
        5,
        "the model would have 1,000,010,000,000,000 parameters, more than --max-params 2,000,000,000; "
        "layer 'wide' (Dense) alone has 1,000,010,000,000,000",
    )
    # After a refused model the session is clean: the next build works.
    assert cli("summary", "--json", SPECS / "my_example_model.yaml").exit_code == 0


def test_max_params_option(cli):
    result = cli("summary", "--max-params", "1000", SPECS / "ticket_classifier.yaml")
    assert result.exit_code == 2
    assert (
        "the model would have 1,286,789 parameters, more than --max-params 1,000; layer 'hidden' (Dense) alone has 1,286,464"
        in result.stderr
    )
    assert cli("summary", "--max-params", "lots", SPECS / "encoder.yaml").stderr.startswith(
        "--max-params: error: bad --max-params 'lots'"
    )


def test_lazy_sequential_needs_an_input_shape(cli, write_spec):
    path = write_spec("name: lazy\nlayers:\n  - {type: Dense, units: 4}\n  - {type: Dense, units: 2}\n")
    assert cli("validate", "--build", path).exit_code == 0  # layers are constructed; nothing needs shapes
    result = cli("summary", path)
    assert_located_error(result, path, 2, 1, "the model has no input shape, so it cannot be built")
    assert "--input-shape" in result.stderr
    document = json.loads(cli("summary", "--json", "--input-shape", "3", path).stdout)
    assert document["params"]["total"] == (3 * 4 + 4) + (4 * 2 + 2)
    assert document["inputs"][0]["shape"] == [3]
    assert cli("summary", "--input-shape", "3,x", path).stderr.startswith(
        "--input-shape: error: bad --input-shape '3,x'"
    )


def test_summary_json_document(cli):
    document = json.loads(cli("summary", "--json", SPECS / "ticket_classifier.yaml").stdout)
    assert document["name"] == "ticket_classifier" and document["kind"] == "functional"
    assert document["params"] == {"total": 1286789, "trainable": 1286789, "non_trainable": 0}
    assert document["inputs"] == [
        {"name": "title", "shape": [10000], "dtype": "float32"},
        {"name": "text_body", "shape": [10000], "dtype": "float32"},
        {"name": "tags", "shape": [100], "dtype": "float32"},
    ]
    assert document["outputs"] == [{"name": "priority", "shape": [1]}, {"name": "department", "shape": [4]}]
    hidden = next(row for row in document["layers"] if row["name"] == "hidden")
    assert hidden == {
        "name": "hidden",
        "type": "Dense",
        "output_shapes": [[None, 64]],
        "params": 1286464,
        "trainable_params": 1286464,
        "calls": 1,
        "inbound": ["features"],
    }


def test_summary_table_like_model_summary(cli):
    result = cli("summary", SPECS / "ticket_classifier.yaml")
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert 'Model: "ticket_classifier"' in out
    assert "features (Concatenate)" in out and "title, text_body, tags" in out
    assert "hidden (Dense)" in out and "(None, 64)" in out and "1,286,464" in out
    assert " Total params: 1,286,789 (4.91 MB)" in out
    assert " Non-trainable params: 0 (0.00 B)" in out


def test_expand_nested(cli):
    plain = json.loads(cli("summary", "--json", SPECS / "autoencoder.yaml").stdout)
    expanded = json.loads(cli("summary", "--json", "--expand-nested", SPECS / "autoencoder.yaml").stdout)
    assert [r["name"] for r in plain["layers"]] == ["image", "encoder", "decoder"]
    assert [r["name"] for r in expanded["layers"]] == [
        "image",
        "encoder",
        "encoder/enc_hidden",
        "encoder/code",
        "decoder",
        "decoder/dec_hidden",
        "decoder/reconstruction",
    ]


def test_layer_inspection_like_layer_input_and_output(cli):
    result = cli("summary", "--layer", "decoder_lstm", "--json", SPECS / "seq2seq.yaml")
    info = json.loads(result.stdout)
    (call,) = info["calls"]
    assert [(t["from"], t["shape"]) for t in call["inputs"]] == [
        ("enc[1]", [None, 256]),
        ("enc[2]", [None, 256]),
        ("decoder_inputs", [None, None, 93]),
    ]
    assert [t["shape"] for t in call["outputs"]] == [[None, None, 256], [None, 256], [None, 256]]
    text = cli("summary", "--layer", "embed", SPECS / "siamese_similarity.yaml").stdout
    assert "call 1: input right: shape=(None, 20) dtype=int32" in text
    assert "call 1: output embed_right: shape=(None, 20, 64) dtype=float32" in text
    missing = cli("summary", "--layer", "embedd", SPECS / "siamese_similarity.yaml")
    assert (
        missing.exit_code == 2
        and "--layer: error: the model has no layer 'embedd'; did you mean 'embed'?" in missing.stderr
    )


def test_python_api_builds_the_model():
    model = kerasspec.load(SPECS / "ticket_classifier.yaml").build()
    assert isinstance(model, keras.Model) and model.name == "ticket_classifier"
    assert model.count_params() == 1286789
    import numpy as np

    predictions = model.predict(
        {"title": np.zeros((2, 10000)), "text_body": np.zeros((2, 10000)), "tags": np.zeros((2, 100))}, verbose=0
    )
    assert [p.shape for p in predictions] == [(2, 1), (2, 4)]


def test_objects_inside_parameters_are_real_keras_objects(write_spec):
    path = write_spec(
        "name: o\ninput: {shape: [4, 3]}\nlayers:\n"
        "  - type: Bidirectional\n    layer:\n      type: LSTM\n      units: 5\n      return_sequences: true\n"
        "      kernel_initializer: {type: HeNormal, seed: 1}\n      kernel_regularizer: {type: L1L2, l1: 0.01, l2: 0.02}\n"
        "      kernel_constraint: {type: MaxNorm, max_value: 3}\n"
        "  - type: TimeDistributed\n    layer: {type: Dense, units: 2, activation: {type: LeakyReLU, negative_slope: 0.2}}\n"
    )
    model = kerasspec.load(path).build()
    lstm = model.layers[0].forward_layer
    assert (
        isinstance(lstm.cell.kernel_initializer, keras.initializers.HeNormal) and lstm.cell.kernel_initializer.seed == 1
    )
    assert isinstance(lstm.cell.kernel_regularizer, keras.regularizers.L1L2)
    assert isinstance(lstm.cell.kernel_constraint, keras.constraints.MaxNorm)
    dense = model.layers[1].layer
    assert isinstance(dense.activation, keras.layers.LeakyReLU) and dense.activation.negative_slope == pytest.approx(
        0.2
    )
    assert model.output_shape == (None, 4, 2)


def test_lists_become_tuples_where_keras_wants_them(write_spec):
    model = kerasspec.load(
        write_spec(
            "name: t\ninput: {shape: [8, 8, 3]}\nlayers:\n  - {type: ZeroPadding2D, padding: [[1, 2], [3, 4]]}\n"
            "  - {type: Conv2D, filters: 2, kernel_size: [3, 3], strides: [1, 1]}\n  - {type: Reshape, target_shape: [-1]}\n"
        )
    ).build()
    assert model.layers[0].padding == ((1, 2), (3, 4))
    assert model.layers[1].kernel_size == (3, 3)
    # 8x8 padded by (1, 2) rows and (3, 4) columns is 11x15; a valid 3x3 convolution leaves 9x13x2.
    assert model.layers[0].output.shape == (None, 11, 15, 3)
    assert model.output_shape == (None, 9 * 13 * 2)


def test_call_keywords_and_keyword_inputs(cli, write_spec):
    path = write_spec(
        "name: c\ninputs:\n  q: {shape: [4, 8]}\n  v: {shape: [6, 8]}\nlayers:\n"
        "  - type: MultiHeadAttention\n    name: att\n    inputs: {query: q, value: v}\n    num_heads: 2\n    key_dim: 4\n"
        "    call: {return_attention_scores: true}\n"
        "  - {type: Dropout, name: drop, inputs: 'att[0]', rate: 0.5, call: {training: false}}\n"
        "outputs: {out: drop, scores: 'att[1]'}\n"
    )
    q, v = keras.Input((4, 8), name="q"), keras.Input((6, 8), name="v")
    out, scores = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(
        query=q, value=v, return_attention_scores=True
    )
    hand = keras.Model([q, v], {"out": keras.layers.Dropout(0.5)(out, training=False), "scores": scores})
    document = json.loads(cli("summary", "--json", path).stdout)
    assert {o["name"]: o["shape"] for o in document["outputs"]} == {
        "out": list(hand.output["out"].shape[1:]),
        "scores": list(hand.output["scores"].shape[1:]),
    }
    assert document["params"]["total"] == hand.count_params()


def test_keras_warnings_are_reported_at_the_entry(cli, write_spec):
    path = write_spec("name: w\nlayers:\n  - {type: Dense, units: 2, input_shape: [3]}\n")
    result = cli("summary", path)
    assert result.exit_code == 0
    assert f"{path}:3:5: warning: Dense: Do not pass an `input_shape`/`input_dim` argument to a layer." in result.stderr


def test_nested_spec_is_renamed_by_its_entry(write_spec):
    write_spec("name: block\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, units: 4}\n", "block.yaml")
    outer = write_spec(
        "name: twice\ninputs: {x: {shape: [4]}}\nlayers:\n"
        "  - {spec: block.yaml, name: first, inputs: x}\n  - {spec: block.yaml, name: second}\noutputs: second\n",
        "outer.yaml",
    )
    model = kerasspec.load(outer).build()
    assert [layer.name for layer in model.layers[1:]] == ["first", "second"]
    assert model.get_layer("first") is not model.get_layer("second")  # two models, two sets of weights
    assert model.count_params() == 2 * (4 * 4 + 4)


def test_sparse_and_typed_inputs(write_spec):
    model = kerasspec.load(
        write_spec(
            "name: s\ninputs:\n  ids: {shape: [null], dtype: int32}\n  bag: {shape: [50], sparse: true}\nlayers:\n"
            "  - {type: Embedding, name: e, inputs: ids, input_dim: 50, output_dim: 3}\n  - {type: GlobalAveragePooling1D, name: pooled}\n"
            "  - {type: Dense, name: dense_bag, inputs: bag, units: 3}\n  - {type: Add, name: o, inputs: [pooled, dense_bag]}\noutputs: o\n"
        )
    ).build()
    ids, bag = model.inputs
    assert ids.dtype == "int32" and tuple(ids.shape) == (None, None)
    assert bag.sparse and tuple(bag.shape) == (None, 50)


@pytest.mark.parametrize("form", ["input: [6]", "input: {shape: [6]}", "input: {shape: [6], name: features}"])
def test_every_input_form_of_a_sequential_spec_builds(cli, write_spec, form):
    """`input: [6]`, which validate accepts as short for `input: {shape: [6]}`, crashed the build."""
    spec = write_spec(f"name: s\n{form}\nlayers:\n  - {{type: Dense, units: 2}}\n")
    result = cli("summary", spec, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["params"]["total"] == 6 * 2 + 2
    assert [i["shape"] for i in document["inputs"]] == [[6]]
    [name] = [i["name"] for i in document["inputs"]]
    if "name" in form:
        assert name == "features"
    else:  # unnamed, like `keras.Input((6,))` by hand: Keras's own auto name, from a process-wide counter
        assert re.fullmatch(r"keras_tensor(_\d+)?", name), name


def test_operation_nodes_that_are_not_layers_are_summarised(cli, write_spec, tmp_path):
    """Embedding(mask_zero=True) adds a NotEqual operation for its mask: it has no `built` and no
    weights, and summary crashed on it (an internal error); Keras lists it with 0 parameters."""
    text = (
        "name: m\ninputs: {tokens: {shape: [null], dtype: int32}}\nlayers:\n"
        "  - {type: Embedding, name: emb, inputs: tokens, input_dim: 100, output_dim: 8, mask_zero: true}\n"
        "  - {type: LSTM, name: lstm, units: 4}\n  - {type: Dense, name: out, units: 1}\noutputs: out\n"
        "compile: {loss: mse}\n"
    )
    path = write_spec(text)
    result = cli("summary", "--json", path)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    rows = {row["name"]: (row["type"], row["params"], row["inbound"]) for row in document["layers"]}
    assert rows["not_equal"] == ("NotEqual", 0, ["tokens"])
    assert rows["lstm"] == ("LSTM", 208, ["emb", "not_equal"])
    assert document["params"]["total"] == 800 + 208 + 5
    trained = cli("train", path, "--samples", "16", "--epochs", "1", "--out", tmp_path / "run", "--quiet")
    assert trained.exit_code == 0, trained.stderr
