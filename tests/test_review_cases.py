"""Cases a review of the declared format found: values Keras accepts that validate must accept,
crashes turned into located errors, nulls that mean "left out", key paths, the data name of a
sequential spec's input. Each ran wrong before its fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_located_error

SEQ = "name: m\ninput: {shape: [8, 8, 3]}\nlayers:\n"


@pytest.mark.parametrize(
    "entry",
    [
        "{type: RandomRotation, factor: [-0.2, 0.3]}",  # "a float ..., or a tuple of size 2"
        "{type: RandomZoom, height_factor: [-0.2, 0.3]}",
        "{type: RandomSaturation, factor: 0.5}",  # "A tuple of two floats or a single float"
        "{type: Rescaling, scale: [0.1, 0.2, 0.3]}",  # a per-channel list where the docstring says Float
        "{type: UpSampling2D, interpolation: area}",  # a value the docstring's list leaves out
        "{type: Conv2D, filters: 2, kernel_size: 3, kernel_constraint: {type: MaxNorm, axis: [0, 1, 2]}}",
        "{type: Normalization, axis: [-1]}",  # "Integer, tuple of integers, or None"
    ],
)
def test_values_keras_takes_are_accepted(cli, write_spec, entry):
    result = cli("validate", write_spec(SEQ + f"  - {entry}\n"))
    assert result.exit_code == 0, result.stderr


def test_metrics_per_output_lists_and_shuffle_batch_are_accepted(cli, write_spec):
    text = (
        "name: m\ninputs: {x: {shape: [3]}}\nlayers:\n  - {type: Dense, name: a, inputs: x, units: 1}\n"
        "  - {type: Dense, name: b, inputs: x, units: 1}\noutputs: [a, b]\n"
        "compile: {loss: mse, metrics: [[mae], [mse]]}\ntrain: {shuffle: batch}\n"
    )
    result = cli("validate", write_spec(text))
    assert result.exit_code == 0, result.stderr


def test_a_key_written_null_is_the_key_left_out(cli, write_spec):
    text = (
        "name: m\nkind: null\nversion: null\noutputs: null\ninput: {shape: [3]}\n"
        "layers:\n  - {type: Dense, units: 2, name: null, inputs: null, call: null}\ndata: {file: null}\n"
    )
    result = cli("validate", write_spec(text))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "text, line, where, message",
    [
        (
            SEQ + "  - {type: Flatten}\n  - {type: Dense, units: 1}\ntrain:\n  callbacks: [null]\n",
            7,
            "null",
            "`train.callbacks[0]` must be a callback name or {type: ..., ...} object, got null",
        ),
        (
            SEQ + "  - {type: Dense, units: 1, kernel_initializer: {type: HeNormal, seed: 99999999999999999999999}}\n",
            4,
            "99999999999999999999999",
            "HeNormal argument 'seed' must be a whole number or null or a list, got 99999999999999999999999",
        ),
        (
            SEQ + "  - {type: Flatten}\ndata: {samples: 99999999999999999999}\n",
            5,
            "99999999999999999999",
            "`data.samples` must be a whole number from 1 to 2147483647, got 99999999999999999999",
        ),
        (
            'name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: "$${u}"}\n',
            4,
            '"$${u}"',
            "Dense argument 'units' must be a whole number of at least 1 or a list, got '${u}'",
        ),
    ],
    ids=["null-callback", "huge-seed", "huge-samples", "escaped-var-as-units"],
)
def test_was_accepted_then_crashed_or_misbuilt(cli, write_spec, text, line, where, message):
    path = write_spec(text)
    row = text.splitlines()[line - 1]
    assert_located_error(cli("validate", path), path, line, row.index(where) + 1, message)


def test_resolve_keeps_escaped_dollars(cli, write_spec, tmp_path):
    path = write_spec('name: m\ndescription: "costs $${usd}"\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 2}]\n')
    out = tmp_path / "resolved.yaml"
    assert cli("resolve", path, "-o", out).exit_code == 0
    assert "costs $${usd}" in out.read_text()
    assert cli("validate", out).exit_code == 0


def test_writing_over_a_directory_is_refused(cli, tmp_path):
    result = cli("schema", "-o", tmp_path, "--force")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}: error: is a directory; name a file to write\n"


def test_key_paths_of_first_keys_and_whole_file_errors(cli, write_spec):
    text = "nmae: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ncompile:\n  lose: mse\n"
    path = write_spec(text)
    result = cli("validate", "--format", "json", path)
    errors = {e["message"]: e["key_path"] for e in json.loads(result.stdout)[0]["errors"]}
    assert errors == {
        "unknown top-level key 'nmae'; did you mean 'name'?": "nmae",
        "the spec has no `name`": None,
        "unknown compile argument 'lose'; did you mean 'loss'?": "compile.lose",
    }


def test_train_verbose_in_the_spec(cli, write_spec, tmp_path):
    path = write_spec(
        SEQ.replace("[8, 8, 3]", "[3]") + "  - {type: Dense, units: 1}\ncompile: {loss: mse}\ntrain: {verbose: 2}\n"
    )
    result = cli("train", path, "--samples", "16", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.stderr


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_a_sequential_input_takes_its_data_by_the_spec_name(cli, write_spec, tmp_path):
    """validate reads `data.inputs.input`; the run used to look for Keras's tensor name and drew
    uniform noise instead of the constant."""
    text = (
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, name: out, units: 1, kernel_initializer: ones,"
        " use_bias: false, trainable: false}\ncompile: {loss: mse}\ndata:\n  inputs:\n    input: {distribution: constant, value: 7}\n"
    )
    path = write_spec(text)
    assert cli("train", path, "--samples", "8", "--out", tmp_path / "run", "--quiet").exit_code == 0
    out = tmp_path / "p.npz"
    result = cli("predict", path, "--run", tmp_path / "run", "--samples", "2", "--out", out)
    assert result.exit_code == 0, result.stderr
    (values,) = np.load(out).values()
    assert values.ravel().tolist() == [21.0, 21.0]


def test_one_error_per_problem(cli, write_spec):
    """A misspelt `shape` is one unknown key and one missing key, with no cascade into the layer
    that uses the input; a misspelt `type` gets its did-you-mean."""
    text = "name: m\ninputs: {x: {shap: [4]}}\nlayers:\n  - {typ: Dense, inputs: x, name: o, units: 2}\noutputs: o\n"
    path = write_spec(text)
    result = cli("validate", path)
    assert [line.split(": error: ")[1] for line in result.stderr.splitlines() if ": error: " in line] == [
        "`inputs.x` has no `shape`",
        "unknown input key 'shap'; did you mean 'shape'?",
        "layers[0] has no `type`; did you mean 'type' for 'typ'?",
    ]


def test_a_batch_too_large_is_located_at_the_spec_batch_size(cli, write_spec, tmp_path):
    text = "name: m\ninput: {shape: [1000, 1000]}\nlayers:\n  - {type: Flatten}\ncompile: {loss: mse}\ntrain: {batch_size: 100000}\n"
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run")
    assert_located_error(
        result,
        path,
        6,
        text.splitlines()[5].index("100000") + 1,
        "one batch of synthetic data would take 745.1 GiB (100000 rows of 8,000,000 bytes); the limit is 4 GiB",
    )
