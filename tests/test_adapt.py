"""`adapt:`: preprocessing layers learn from the training rows before training, as a Keras user
adapts them by hand; runs keep what they learnt, so a run rebuilt from its resolved spec and
weights predicts exactly what its model.keras predicts."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ROOT, SPECS, assert_located_error, column_of

keras = pytest.importorskip("keras")

HEART = SPECS / "structured_data.yaml"
NUMERIC = ["age", "trestbps", "chol", "thalach", "oldpeak", "slope"]
INTEGER = ["sex", "cp", "fbs", "restecg", "exang", "ca"]


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_run_predicts_as_its_model(cli, spec, run, tmp_path, output="out", *options):
    """predict --run (rebuilt from spec.resolved.yaml, learnt state and weights) gives exactly
    what the run's model.keras gives."""
    ok(cli("predict", spec, "--run", run, "--out", tmp_path / "by-run.npz", *options))
    ok(cli("predict", spec, "--model", run / "model.keras", "--out", tmp_path / "by-model.npz", *options))
    np.testing.assert_array_equal(np.load(tmp_path / "by-run.npz")[output], np.load(tmp_path / "by-model.npz")[output])


def heart_columns(rows: int | None = None) -> dict[str, np.ndarray]:
    with open(SPECS / "data" / "heart.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))[:rows]
    columns: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        columns[name] = np.array([[float(r[name])] for r in table], dtype="float32")
    for name in INTEGER:
        columns[name] = np.array([[int(r[name])] for r in table], dtype="int64")
    columns["thal"] = np.array([[r["thal"]] for r in table])
    return columns


def plain_keras_heart() -> Any:
    """The keras.io example written by hand: each layer adapted on the training rows (the first
    80% of the CSV, as validation_split leaves them) before it is called."""
    training = heart_columns(math.ceil(303 * 0.8))
    inputs = {name: keras.Input((1,), name=name) for name in NUMERIC}
    inputs.update({name: keras.Input((1,), name=name, dtype="int64") for name in INTEGER})
    inputs["thal"] = keras.Input((1,), name="thal", dtype="string")
    encoded = {}
    for name in NUMERIC:
        norm = keras.layers.Normalization(name=f"{name}_encoded.norm")
        norm.adapt(training[name])
        encoded[name] = norm(inputs[name])
    for name in [*INTEGER, "thal"]:
        if name == "cp":
            encoded[name] = keras.layers.CategoryEncoding(num_tokens=5, output_mode="one_hot", name="cp_encoded")(
                inputs[name]
            )
            continue
        lookup_class = keras.layers.StringLookup if name == "thal" else keras.layers.IntegerLookup
        lookup = lookup_class(output_mode="multi_hot", name=f"{name}_encoded.lookup")
        lookup.adapt(training[name])
        encoded[name] = lookup(inputs[name])
    order = [*INTEGER, "thal", *NUMERIC]
    features = keras.layers.Concatenate(name="all_features")([encoded[name] for name in order])
    x = keras.layers.Dense(32, activation="relu", name="hidden")(features)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    output = keras.layers.Dense(1, activation="sigmoid", name="target")(x)
    return keras.Model(list(inputs.values()), output, name="structured_data")


def test_keras_io_structured_data_model_matches_plain_keras_once_adapted():
    """Parameter counts (18 non-trainable: six Normalizations' mean, variance and count), output
    shapes and every layer's config, vocabularies included, against the hand-written example."""
    from kerasspec.commands import ModelOptions, build_model

    built = build_model(HEART, ModelOptions())
    ours = built.model
    keras.utils.clear_session()
    reference = plain_keras_heart()
    count = lambda weights: sum(int(np.prod(w.shape)) for w in weights)  # noqa: E731
    assert count(ours.trainable_weights) == count(reference.trainable_weights) == 1121
    assert count(ours.non_trainable_weights) == count(reference.non_trainable_weights) == 18
    assert ours.output.shape == reference.output.shape
    theirs = {layer.name: layer for layer in reference.layers}
    assert sorted(theirs) == sorted(layer.name for layer in ours.layers)
    for layer in ours.layers:
        other = theirs[layer.name]
        assert layer.get_config() == other.get_config(), layer.name
        assert tuple(layer.output.shape) == tuple(other.output.shape), layer.name
        if hasattr(layer, "get_vocabulary"):
            assert layer.get_vocabulary() == other.get_vocabulary(), layer.name
        for mine, reference_weight in zip(layer.non_trainable_weights, other.non_trainable_weights):
            np.testing.assert_allclose(np.asarray(mine), np.asarray(reference_weight), rtol=1e-6)


def test_adapted_run_is_recorded_and_reloads_exactly(cli, tmp_path):
    """train adapts on the CSV's training rows (both loops); the run keeps adapted.json and the
    vocabularies; evaluate/predict --run (rebuilt from spec.resolved.yaml + weights) give what
    the run's model.keras gives."""
    run = tmp_path / "run"
    result = ok(cli("train", HEART, "--epochs", "1", "--out", run, "--quiet"))
    assert "adapted before training:" in result.stderr and "on 243 rows" in result.stderr
    record = json.loads((run / "adapted.json").read_text())["layers"]
    assert len(record) == 12 and {item["rows"] for item in record} == {243}
    assert {item["class"] for item in record} == {"Normalization", "IntegerLookup", "StringLookup"}
    vocabulary = (run / "adapted" / "thal_encoded.lookup" / "vocabulary.txt").read_text().split("\n")
    assert sorted(vocabulary) == ["[UNK]", "fixed", "normal", "reversible"]

    by_weights = ok(cli("evaluate", HEART, "--run", run, "--json"))
    by_model = ok(cli("evaluate", HEART, "--model", run / "model.keras", "--json"))
    assert json.loads(by_weights.stdout) == json.loads(by_model.stdout)
    assert_run_predicts_as_its_model(cli, HEART, run, tmp_path, "target")

    custom = tmp_path / "custom"
    ok(cli("train", HEART, "--epochs", "1", "--loop", "custom", "--out", custom, "--quiet"))
    assert json.loads((custom / "adapted.json").read_text()) == json.loads((run / "adapted.json").read_text())


CHAINED = """
name: chained
input: {shape: [1]}
layers:
  - {type: Normalization, name: norm, adapt: true}
  - {type: Discretization, name: bins, num_bins: 4, adapt: true}
  - {type: Dense, name: out, units: 1}
compile: {optimizer: sgd, loss: mean_squared_error}
data: {file: values.csv}
train: {epochs: 1, batch_size: 8}
"""


def test_a_layer_adapted_after_another_learns_from_its_output(cli, write_spec, tmp_path):
    values = np.arange(40, dtype="float32") * 3 + 100  # raw values far from the normalized ones
    (tmp_path / "values.csv").write_text("input,out\n" + "".join(f"{v},{v / 10}\n" for v in values))
    spec = write_spec(CHAINED)
    ok(cli("train", spec, "--out", tmp_path / "run", "--quiet"))
    record = {item["layer"]: item for item in json.loads((tmp_path / "run" / "adapted.json").read_text())["layers"]}
    norm = keras.layers.Normalization()
    norm.adapt(values[:, None])
    bins = keras.layers.Discretization(num_bins=4)
    bins.adapt(np.asarray(norm(values[:, None])))
    np.testing.assert_allclose(record["bins"]["config"]["bin_boundaries"], bins.bin_boundaries, rtol=1e-5)
    assert max(abs(b) for b in record["bins"]["config"]["bin_boundaries"]) < 2  # normalized, not raw
    # the rebuilt run bins as the trained one did
    assert_run_predicts_as_its_model(cli, spec, tmp_path / "run", tmp_path)


SYNTHETIC_STRINGS = """
name: words
kind: functional
inputs:
  word: {shape: [1], dtype: string}
layers:
  - {type: StringLookup, name: lookup, output_mode: one_hot, adapt: {samples: 50}}
  - {type: Dense, name: out, units: 1}
outputs: out
compile: {optimizer: sgd, loss: mean_squared_error}
data:
  samples: 200
  inputs: {word: {distribution: choice, values: [red, green, blue]}}
train: {epochs: 1, validation_split: 0.25}
"""


def test_synthetic_data_adapts_on_its_first_rows_and_summary_refuses_without_data(cli, write_spec, tmp_path):
    spec = write_spec(SYNTHETIC_STRINGS)
    ok(cli("train", spec, "--out", tmp_path / "run", "--quiet"))
    record = json.loads((tmp_path / "run" / "adapted.json").read_text())["layers"]
    assert record == [
        {"layer": "lookup", "class": "StringLookup", "rows": 50, "config": {"vocabulary_size": 4}, "assets": True}
    ]
    # summary has no data to adapt on, and the lookup's output size is its vocabulary's
    text = SYNTHETIC_STRINGS.lstrip("\n")
    result = cli("summary", spec)
    assert_located_error(
        result,
        spec,
        6,
        column_of(text, 6, "adapt"),
        "the output size of layer 'lookup' (StringLookup) is the size of the vocabulary it learns, and the spec "
        "names no data to adapt it on",
    )
    assert "pad_to_max_tokens" in result.stderr
    padded = ok(
        cli("summary", spec, "--set", "layers.lookup.max_tokens=10", "--set", "layers.lookup.pad_to_max_tokens=true")
    )
    assert "(None, 10)" in padded.stdout


@pytest.mark.parametrize(
    ("entry", "needle", "message"),
    [
        ("{type: Dense, name: d, units: 2, adapt: true}", "adapt", "Dense has no adapt(): it learns nothing from data"),
        ("{type: Normalization, name: n, adapt: 3}", "3}", "`adapt` must be true or false or a mapping, got 3"),
        ("{type: Normalization, name: n, adapt: {rows: 3}}", "rows", "unknown adapt key 'rows'"),
        ("{type: Normalization, name: n, adapt: {samples: 0}}", "0}", "`adapt.samples` must be a whole number from 1"),
        ("{reuse: first, name: n, adapt: true}", "adapt", "`adapt` goes with a layer that learns from data; a `reuse`"),
        ("{op: add, inputs: [x, x], adapt: true}", "adapt", "'adapt' is not allowed here"),
        (
            "{type: Normalization, name: n, inputs: x, mean: 0, variance: 1, adapt: true}",
            "mean",
            "layer 'n' is given `mean` and adapts (`adapt`)",
        ),
        (
            "{type: Discretization, name: n, inputs: x, bin_boundaries: [0.5], adapt: true}",
            "bin_boundaries",
            "layer 'n' is given `bin_boundaries` and adapts",
        ),
        (
            "{type: Normalization, name: n, inputs: [x, x], adapt: true}",
            "adapt",
            "layer 'n' is called on several tensors; a layer adapts on the one tensor it is called on",
        ),
    ],
)
def test_adapt_written_wrong_is_one_located_line(cli, write_spec, entry, needle, message):
    text = f"""
name: wrong
kind: functional
inputs: {{x: [2]}}
layers:
  - {entry}
outputs: {"n" if "name: n" in entry else "d" if "name: d" in entry else "x"}
"""
    if "reuse" in entry:
        text = text.replace(f"  - {entry}", f"  - {{type: Dense, name: first, units: 2, inputs: x}}\n  - {entry}")
    spec = write_spec(text)
    result = cli("validate", spec)
    assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
    line = next(i for i, row in enumerate(text.lstrip("\n").splitlines(), 1) if entry in row)
    lines = [row for row in result.stderr.splitlines() if ": error: " in row]
    col = column_of(text, line, needle)
    assert any(row.startswith(f"{spec}:{line}:{col}: error: {message}") for row in lines), lines


def test_adapt_inside_a_nested_model_is_refused(cli, write_spec):
    text = """
    name: outer
    kind: functional
    inputs: {x: [2]}
    layers:
      - type: Sequential
        name: inner
        layers:
          - {type: Normalization, name: n, adapt: true}
    outputs: inner
    """
    spec = write_spec(text)
    result = cli("validate", spec)
    assert_located_error(
        result,
        spec,
        8,
        column_of(textwrap.dedent(text), 8, "adapt"),
        "`adapt` works on the spec's own layers; layer 'n' is inside the nested model 'inner'",
    )


@pytest.mark.slow
def test_heart_csv_is_what_its_script_writes():
    """The bundled CSV is generated, not downloaded: the script reproduces it byte for byte."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_heart_csv.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_resolved_spec_of_an_adapted_run_repeats_it(cli, tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    ok(cli("train", HEART, "--epochs", "2", "--samples", "120", "--out", first, "--quiet"))
    ok(cli("train", first / "spec.resolved.yaml", "--out", again, "--quiet"))
    assert json.loads((first / "history.json").read_text()) == json.loads((again / "history.json").read_text())
    assert (first / "adapted.json").read_text() == (again / "adapted.json").read_text()
    assert {item["rows"] for item in json.loads((first / "adapted.json").read_text())["layers"]} == {96}
    assert yaml.safe_load((first / "spec.resolved.yaml").read_text())["layers"]


TEXT_FOLDER = """
name: reviews
inputs:
  review: {shape: [], dtype: string}
layers:
  - {type: TextVectorization, name: words, inputs: review, max_tokens: 50, output_mode: int,
     output_sequence_length: 6, adapt: true}
  - {type: Embedding, name: embed, input_dim: 50, output_dim: 4}
  - {type: GlobalAveragePooling1D, name: pool}
  - {type: Dense, name: out, units: 1, activation: sigmoid}
outputs: out
compile: {optimizer: adam, loss: binary_crossentropy}
train: {epochs: 1, batch_size: 4, validation_split: 0.25}
data:
  text: {directory: reviews, labels: inferred}
"""


def test_text_vectorization_adapts_on_a_text_folder(cli, write_spec, tmp_path):
    """keras.io's text classification: TextVectorization adapted on the training texts of a
    folder (streamed; the validation files left out), its vocabulary kept by the run."""
    for label, word in (("neg", "awful"), ("pos", "great")):
        (tmp_path / "reviews" / label).mkdir(parents=True)
        for i in range(8):
            (tmp_path / "reviews" / label / f"{i}.txt").write_text(f"a {word} film number{label}{i}", encoding="utf-8")
    spec = write_spec(TEXT_FOLDER)
    run = tmp_path / "run"
    ok(cli("train", spec, "--out", run, "--quiet"))
    (record,) = json.loads((run / "adapted.json").read_text())["layers"]
    assert record["layer"] == "words" and record["rows"] == 12  # 16 files, a quarter held out
    vocabulary = (run / "adapted" / "words" / "vocabulary.txt").read_text().split("\n")
    assert {"a", "film", "awful", "great"} <= set(vocabulary)
    assert len([w for w in vocabulary if w.startswith("number")]) == 12  # only the training files' words
    assert_run_predicts_as_its_model(cli, spec, run, tmp_path)


SEQUENTIAL = """
name: seq
input: {shape: [3]}
layers:
  - {type: Dense, name: project, units: 4, kernel_initializer: {type: GlorotUniform, seed: 1}}
  - {type: Normalization, name: norm, adapt: true}
  - {type: Dense, name: out, units: 1}
compile: {optimizer: sgd, loss: mean_squared_error}
data: {samples: 64, seed: 5}
train: {epochs: 1, batch_size: 16, validation_split: 0.25}
"""


def test_sequential_spec_adapts_after_the_layers_above_it_on_synthetic_rows(cli, write_spec, tmp_path):
    """In a sequential spec the layers above an adapted one (a Dense, its weights allocated for
    it) transform the rows it learns from: its mean is the projected rows' mean."""
    spec = write_spec(SEQUENTIAL)
    run = tmp_path / "run"
    ok(cli("train", spec, "--out", run, "--quiet"))
    (record,) = json.loads((run / "adapted.json").read_text())["layers"]
    assert record["rows"] == 48 and record["class"] == "Normalization"
    model = keras.saving.load_model(run / "model.keras")
    norm = model.get_layer("norm")
    from kerasspec import load
    from kerasspec.data import Synthetic, plan_columns

    built = load(spec).build()
    inputs, _ = plan_columns(load(spec), built)
    rows = np.concatenate([Synthetic(built, inputs, None, 48, 16, 5).batch(i)[0]["input"] for i in range(3)])
    projected = np.asarray(built.get_layer("project")(rows))
    np.testing.assert_allclose(np.asarray(norm.mean).ravel(), projected.mean(axis=0), rtol=1e-4, atol=1e-5)


def test_a_lookup_that_neither_adapts_nor_has_a_vocabulary_is_refused_statically(cli, write_spec):
    text = """
    name: empty
    kind: functional
    inputs: {word: {shape: [1], dtype: string}}
    layers:
      - {type: StringLookup, name: lookup, inputs: word}
    outputs: lookup
    """
    spec = write_spec(text)
    result = cli("validate", spec)
    assert_located_error(
        result,
        spec,
        5,
        column_of(textwrap.dedent(text).lstrip("\n"), 5, "StringLookup"),
        "layer 'lookup' (StringLookup) has no vocabulary: it neither learns one (`adapt`) nor is given one "
        "(`vocabulary`)",
    )
    assert "add `adapt: true`" in result.stderr


TF_IDF = """
name: weighted
kind: functional
inputs:
  word: {shape: [1], dtype: string}
layers:
  - {type: StringLookup, name: lookup, output_mode: tf_idf, adapt: true}
  - {type: Dense, name: out, units: 1}
outputs: out
compile: {optimizer: sgd, loss: mean_squared_error}
data:
  samples: 60
  inputs: {word: {distribution: choice, values: [red, green, blue, red]}}
train: {epochs: 1}
"""


@pytest.mark.parametrize("padded", [False, True])
def test_a_tf_idf_lookup_adapts_and_its_idf_weights_come_back_with_the_run(cli, write_spec, tmp_path, padded):
    """Padded to max_tokens, Keras saves 10 idf weights for 4 words and cannot load its own
    model.keras (the run says so); the run rebuilt from its weights and what was learnt works."""
    text = TF_IDF.replace("output_mode: tf_idf,", "output_mode: tf_idf, max_tokens: 10, pad_to_max_tokens: true,")
    spec = write_spec(text if padded else TF_IDF)
    run = tmp_path / "run"
    trained = ok(cli("train", spec, "--out", run, "--quiet"))
    assert (run / "adapted" / "lookup" / "variables.npz").is_file()
    if padded:
        assert "no model.keras in this run" in trained.stderr and not (run / "model.keras").exists()
        ok(cli("predict", spec, "--run", run, "--out", tmp_path / "p.npz", "--samples", "20"))
        assert np.isfinite(np.load(tmp_path / "p.npz")["out"]).all()
        return
    assert_run_predicts_as_its_model(cli, spec, run, tmp_path, "out", "--samples", "20")


def test_a_folder_adapts_on_the_files_keras_trains_on_and_summary_sees_the_same(cli, write_spec, tmp_path):
    """Keras holds out int(split * files) (7 of 30 at 0.25); the adapted layer learns from the
    23 others, and summary (adapting on the same shuffled rows) shows the model train makes."""
    for label in ("neg", "pos"):
        (tmp_path / "reviews" / label).mkdir(parents=True)
        for i in range(15):
            (tmp_path / "reviews" / label / f"{i}.txt").write_text(f"a film word{label}{i}", encoding="utf-8")
    text = TEXT_FOLDER.replace(
        "output_mode: int,\n     output_sequence_length: 6, adapt: true", "output_mode: multi_hot, adapt: {samples: 12}"
    )
    text = text.replace(
        "  - {type: Embedding, name: embed, input_dim: 50, output_dim: 4}\n  - {type: GlobalAveragePooling1D, name: pool}\n",
        "",
    )
    spec = write_spec(text)
    run = tmp_path / "run"
    trained = ok(cli("train", spec, "--out", run, "--quiet"))
    assert "Using" not in trained.stdout  # Keras's own file counts stay quiet
    record = json.loads((run / "adapted.json").read_text())["layers"][0]
    assert record["rows"] == 12
    summary = json.loads(ok(cli("summary", spec, "--json")).stdout)
    model = keras.saving.load_model(run / "model.keras")
    assert summary["params"]["total"] == model.count_params()
    (tmp_path / "few" / "neg").mkdir(parents=True)
    (tmp_path / "few" / "pos").mkdir(parents=True)
    (tmp_path / "few" / "neg" / "a.txt").write_text("bad")
    (tmp_path / "few" / "pos" / "b.txt").write_text("good")
    few = ["--set", "data.text.directory=few", "--set", "train.validation_split=0.9", "--out", tmp_path / "few-run"]
    result = ok(cli("train", spec, *few))  # Keras holds out int(0.9 * 2) = 1 file: one is left to train on
    assert "words on 1 rows" in result.stderr


INTEGERS_INTO_CONV = """
name: conv
input: {shape: [8, 8, 3]}
layers:
  - {type: Discretization, name: bins, num_bins: 4, adapt: true}
  - {type: Conv2D, name: conv, filters: 2, kernel_size: 3}
  - {type: Flatten}
  - {type: Dense, name: out, units: 1}
compile: {optimizer: sgd, loss: mean_squared_error}
data: {samples: 16}
train: {epochs: 1}
"""


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_a_layer_failing_on_the_data_is_located_at_its_entry(cli, write_spec, tmp_path, loop):
    """The symbolic build does not check dtypes: a Conv2D given Discretization's integers fails
    only in the first step; that is a located error at the Conv2D, not an internal error."""
    spec = write_spec(INTEGERS_INTO_CONV)
    result = cli("train", spec, "--loop", loop, "--out", tmp_path / "run")
    assert result.exit_code == 2 and "internal error" not in result.stderr, result.stderr
    (line,) = [row for row in result.stderr.splitlines() if ": error: " in row]
    assert line.startswith(f"{spec}:5:5: error: layer 'conv' (Conv2D) failed on the data: "), line
    assert "numpy=" not in line and "int32" in line
    assert not (tmp_path / "run").exists()


def test_diff_says_when_a_layer_stops_adapting(cli, tmp_path):
    """What adapting learns is in no layer config, so a PR that drops `adapt` from a layer would
    read as 'the same model': the diff names it."""
    text = HEART.read_text()
    changed = tmp_path / "structured_data.yaml"
    changed.write_text(
        text.replace("{type: Normalization, name: norm, adapt: true}", "{type: Normalization, name: norm}")
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "heart.csv").write_bytes((SPECS / "data" / "heart.csv").read_bytes())
    result = cli("diff", HEART, changed)
    assert result.exit_code == 1, result.stderr
    assert "~ age_encoded.norm (Normalization): adapt: true → <absent>; params 3" in result.stdout
