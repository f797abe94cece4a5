"""Data additions through the CLI: string inputs (synthetic, CSV/TSV, .npz), `delimiter`,
`--samples` with a file, per-input `sequence_length`; each bad input one located line."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from conftest import assert_located_error, column_of

keras = pytest.importorskip("keras")

STRING_SPEC = """
name: thal_model
inputs:
  thal: {shape: [1], dtype: string}
  age: {shape: [1]}
layers:
  - {type: StringLookup, name: lookup, inputs: thal, vocabulary: [fixed, normal, reversible]}
  - {type: Embedding, name: embed, input_dim: 4, output_dim: 3}
  - {type: Flatten, name: flat}
  - {type: Concatenate, name: both, inputs: [flat, age]}
  - {type: Dense, name: target, units: 1, activation: sigmoid}
outputs: target
compile: {optimizer: adam, loss: binary_crossentropy}
train: {epochs: 1, batch_size: 8, validation_split: 0.25}
"""
THAL = ["fixed", "normal", "reversible"]


def run_ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def write_csv(path, rows, delimiter=","):
    lines = [delimiter.join(["thal", "age", "target"])]
    lines += [delimiter.join([THAL[i % 3], str(i / rows), str(i % 2)]) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.lstrip("\n").splitlines(), 1) if needle in row)


def located(result, path, text: str, row: str, at: str, message: str) -> None:
    """The one located error, on the first line holding `row`, at the column of `at` in it."""
    line = line_of(text, row)
    assert_located_error(result, path, line, column_of(text, line, at), message)


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_string_input_trains_from_synthetic_data(cli, write_spec, tmp_path, loop):
    """Values come from the StringLookup's vocabulary; evaluate and predict read them too."""
    path = write_spec(STRING_SPEC)
    run = tmp_path / "run"
    run_ok(cli("train", path, "--samples", "40", "--out", run, "--quiet", "--loop", loop))
    assert np.isfinite(json.loads((run / "metrics.json").read_text())["val_loss"])
    evaluated = run_ok(cli("evaluate", path, "--run", run, "--samples", "16", "--json", "--loop", loop))
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])
    out = tmp_path / "p.npz"
    run_ok(cli("predict", path, "--run", run, "--samples", "5", "--out", out))
    with np.load(out) as archive:
        assert archive["target"].shape == (5, 1)


def test_string_values_from_choice_and_random_tokens(write_spec):
    """`choice` draws the given strings; a string input nothing describes draws random tokens."""
    from kerasspec.commands import build_model
    from kerasspec.data import RANDOM_TOKENS, Synthetic, plan_columns

    text = STRING_SPEC.replace("train:", "data:\n  inputs:\n    thal: {distribution: choice, values: [normal]}\ntrain:")
    path = write_spec(text)
    built = build_model(path, _options())
    inputs, targets = plan_columns(built.spec, built.model)
    x, _ = Synthetic(built.model, inputs, targets, 10, 10, 0).batch(0)
    assert set(x["thal"].ravel()) == {"normal"}
    hashed = "{type: Hashing, name: lookup, inputs: thal, num_bins: 4}"  # no vocabulary to draw from
    plain = write_spec(STRING_SPEC.replace(STRING_SPEC.splitlines()[6], f"  - {hashed}"), "p.yaml")
    built = build_model(plain, _options())
    inputs, targets = plan_columns(built.spec, built.model)
    x, _ = Synthetic(built.model, inputs, targets, 50, 50, 0).batch(0)
    assert set(x["thal"].ravel()) <= set(RANDOM_TOKENS) and len(set(x["thal"].ravel())) > 1


def _options():
    from kerasspec.commands import ModelOptions

    return ModelOptions()


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_string_columns_train_from_csv_and_tsv(cli, write_spec, tmp_path, suffix):
    write_csv(tmp_path / f"heart{suffix}", 40, "\t" if suffix == ".tsv" else ",")
    path = write_spec(STRING_SPEC + f"data: {{file: heart{suffix}}}\n")
    run = tmp_path / "run"
    result = run_ok(cli("train", path, "--out", run, "--quiet"))
    assert "first" not in result.stderr  # every row, nothing said
    evaluated = run_ok(cli("evaluate", path, "--run", run))
    assert "evaluation on 40 samples" in evaluated.stdout


def test_delimiter_key_and_a_wrong_delimiter(cli, write_spec, tmp_path):
    write_csv(tmp_path / "heart.csv", 24, ";")
    text = STRING_SPEC + "data: {file: heart.csv}\n"
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(
        result,
        path,
        text,
        "heart.csv",
        "heart.csv",
        f"'{tmp_path / 'heart.csv'}' has one column 'thal;age;target' when split at ','",
    )
    assert "data.delimiter" in result.stderr
    fixed = write_spec(text.replace("{file: heart.csv}", "{file: heart.csv, delimiter: ';'}"), "fixed.yaml")
    run_ok(cli("train", fixed, "--out", tmp_path / "run2", "--quiet"))


def test_samples_takes_the_first_rows_of_a_file_and_says_so(cli, write_spec, tmp_path):
    write_csv(tmp_path / "heart.csv", 40)
    path = write_spec(STRING_SPEC + "data: {file: heart.csv}\n")
    result = run_ok(cli("train", path, "--samples", "16", "--out", tmp_path / "run", "--quiet"))
    assert "data: the first 16 of 40 rows of heart.csv" in result.stderr
    evaluated = run_ok(cli("evaluate", path, "--run", tmp_path / "run", "--samples", "12"))
    assert "evaluation on 12 samples" in evaluated.stdout
    from_spec = write_spec(STRING_SPEC + "data: {file: heart.csv, samples: 20}\n", "s.yaml")
    result = run_ok(cli("train", from_spec, "--out", tmp_path / "run2", "--quiet"))
    assert "data: the first 20 of 40 rows of heart.csv" in result.stderr
    history = json.loads((tmp_path / "run2" / "history.json").read_text())
    assert history["epochs"] == 1


def test_string_arrays_in_npz(cli, write_spec, tmp_path):
    rows = 24
    np.savez(
        tmp_path / "heart.npz",
        thal=np.array([[THAL[i % 3]] for i in range(rows)]),
        age=np.linspace(0, 1, rows).reshape(rows, 1),
        target=(np.arange(rows) % 2).reshape(rows, 1).astype("float32"),
    )
    path = write_spec(STRING_SPEC + "data: {file: heart.npz}\n")
    run_ok(cli("train", path, "--out", tmp_path / "run", "--quiet", "--samples", "16"))
    run_ok(cli("evaluate", path, "--run", tmp_path / "run", "--loop", "custom"))


def test_bad_string_data_is_one_located_line(cli, write_spec, tmp_path):
    """A column of words for a numeric input, numbers for a string input, a value outside
    `values`: one located line each, exit 2."""
    csv = tmp_path / "heart.csv"
    csv.write_text("thal,age,target\nfixed,old,1\n", encoding="utf-8")
    text = STRING_SPEC + "data: {file: heart.csv}\n"
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(result, path, text, "heart.csv", "heart.csv", f"'{csv}' line 2, column 'age': 'old' is not a number")

    np.savez(tmp_path / "heart.npz", thal=np.ones((4, 1)), age=np.ones((4, 1)), target=np.ones((4, 1)))
    text = STRING_SPEC + "data: {file: heart.npz}\n"
    path = write_spec(text, "npz.yaml")
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(
        result,
        path,
        text,
        "heart.npz",
        "heart.npz",
        f"array 'thal' in '{tmp_path / 'heart.npz'}' holds numbers (float64), but input 'thal' takes strings",
    )

    csv.write_text("thal,age,target\nfixed,1,1\nnormall,2,0\n", encoding="utf-8")
    text = (
        STRING_SPEC + "data:\n  file: heart.csv\n  inputs:\n    thal: {distribution: choice, values: [fixed, normal]}\n"
    )
    path = write_spec(text, "choice.yaml")
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(
        result,
        path,
        text,
        "values:",
        "[fixed",
        f"'{csv}' has 'normall' in 'thal', which is not one of its values (fixed, normal)",
    )
    assert not (tmp_path / "run").exists()


def test_per_input_sequence_length(cli, write_spec, tmp_path):
    text = """
    name: seqs
    inputs:
      title: {shape: [null], dtype: int32}
      body: {shape: [null], dtype: int32}
    layers:
      - {type: Embedding, name: te, inputs: title, input_dim: 10, output_dim: 2}
      - {type: GlobalAveragePooling1D, name: tp}
      - {type: Embedding, name: be, inputs: body, input_dim: 10, output_dim: 2}
      - {type: GlobalAveragePooling1D, name: bp}
      - {type: Concatenate, name: both, inputs: [tp, bp]}
      - {type: Dense, name: out, units: 1}
    outputs: out
    compile: {optimizer: sgd, loss: mse}
    data:
      sequence_length: 7
      inputs:
        title: {sequence_length: 3}
    """
    path = write_spec(text)
    from kerasspec.commands import build_model
    from kerasspec.data import plan_columns

    built = build_model(path, _options())
    inputs, _ = plan_columns(built.spec, built.model)
    assert {c.name: c.shape for c in inputs} == {"title": (3,), "body": (7,)}
    run_ok(cli("train", path, "--samples", "16", "--out", tmp_path / "run", "--quiet"))
    assert run_ok(cli("validate", path)).exit_code == 0


def test_choice_needs_values_that_fit_the_input(cli, write_spec, tmp_path):
    text = STRING_SPEC + "data:\n  inputs:\n    age: {distribution: choice, values: [1, old]}\n"
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(
        result,
        path,
        text,
        "age: {distribution",
        "[1, old]",
        "input 'age' takes numbers (float32), but its values include 'old'",
    )
    text = STRING_SPEC + "data:\n  targets:\n    target: {distribution: choice, values: [high, 1]}\n"
    path = write_spec(text, "target.yaml")
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(result, path, text, "target: {", "[high", "target 'target' takes numbers, but its values include 'high'")
    text = STRING_SPEC + "data:\n  inputs:\n    age: {distribution: choice}\n"
    path = write_spec(text, "novalues.yaml")
    result = cli("validate", path)
    located(result, path, text, "age: {distribution", "choice}", "distribution 'choice' needs its values")
    numbers = write_spec(
        STRING_SPEC + "data:\n  inputs:\n    age: {distribution: choice, values: [1, 2.5]}\n", "n.yaml"
    )
    run_ok(cli("train", numbers, "--samples", "16", "--out", tmp_path / "run", "--quiet"))


def test_sample_weight_from_a_file(cli, write_spec, tmp_path):
    """Zero weights make the loss zero: the column reaches fit and evaluate, as one name or by output."""
    rows = 16
    csv = tmp_path / "heart.csv"
    csv.write_text(
        "thal,age,target,w\n" + "".join(f"{THAL[i % 3]},{i / rows},{i % 2},0\n" for i in range(rows)), encoding="utf-8"
    )
    for name, weights in [("one.yaml", "w"), ("by_output.yaml", "{target: w}")]:
        path = write_spec(STRING_SPEC + f"data: {{file: heart.csv, sample_weight: {weights}}}\n", name)
        run = tmp_path / f"run-{name}"
        run_ok(cli("train", path, "--out", run, "--quiet"))
        assert json.loads((run / "history.json").read_text())["history"]["loss"] == [0.0]
        evaluated = run_ok(cli("evaluate", path, "--run", run, "--json"))
        assert json.loads(evaluated.stdout)["loss"] == 0.0
        run_ok(cli("predict", path, "--run", run, "--out", tmp_path / f"{name}.npz"))


def test_bad_sample_weight_is_one_located_line(cli, write_spec, tmp_path):
    np.savez(
        tmp_path / "heart.npz",
        thal=np.array([["fixed"]] * 8),
        age=np.ones((8, 1)),
        target=np.ones((8, 1)),
        w=np.ones((8, 2)),
    )
    text = STRING_SPEC + "data:\n  file: heart.npz\n  sample_weight: {target: weights}\n"
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    located(
        result,
        path,
        text,
        "sample_weight",
        "weights}",
        f"sample_weight 'weights' is no array of '{tmp_path / 'heart.npz'}' (it has: age, target, thal, w)",
    )
    result = cli("train", write_spec(text.replace("weights}", "w}"), "shape.yaml"), "--out", tmp_path / "run")
    assert "sample_weight 'w' in" in result.stderr and "it must be one number per row" in result.stderr
    assert result.exit_code == 2 and "Traceback" not in result.stderr

    text = STRING_SPEC + "data:\n  sample_weight: {targt: w}\n"
    path = write_spec(text, "nofile.yaml")
    result = cli("validate", path)
    located(
        result,
        path,
        text,
        "sample_weight",
        "sample_weight",
        "`data.sample_weight` names an array or column of `data.file`, but the spec has no data.file",
    )
    assert "'targt' in `data.sample_weight` is not an output of the model" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_fraction_in_an_integer_inputs_column_is_one_located_line(cli, write_spec, tmp_path):
    """1.7 for a `dtype: int64` input would be truncated to 1 without a word."""
    (tmp_path / "rows.csv").write_text("count,out\n1,0\n2,1\n1.7,0\n")
    text = """
    name: counts
    kind: functional
    inputs: {count: {shape: [1], dtype: int64}}
    layers:
      - {type: Dense, name: out, units: 1, inputs: count}
    outputs: out
    compile: {optimizer: sgd, loss: mean_squared_error}
    data: {file: rows.csv}
    """
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "run")
    assert_located_error(
        result,
        spec,
        8,
        column_of(textwrap.dedent(text).lstrip("\n"), 8, "rows.csv"),
        f"'{tmp_path / 'rows.csv'}' data row 3, column 'count': 1.7 is not a whole number, but input 'count' takes int64",
    )
    assert not (tmp_path / "run").exists()
