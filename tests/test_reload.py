"""`evaluate`/`predict --run RUN` rebuild the model from RUN/spec.resolved.yaml and load
RUN/model.weights.h5: weights that do not fit it are one located line, exit 2, nothing written."""

from __future__ import annotations

import json
import shutil

import pytest

keras = pytest.importorskip("keras")

TWO = "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 4}, {type: Dense, units: 1}]\n"
THREE = "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 4}, {type: Dense, units: 1}, {type: Dense, units: 1}]\n"
COMPILE = "compile: {optimizer: sgd, loss: mse}\n"


@pytest.fixture
def runs(cli, write_spec, tmp_path):
    """A trained run of a two-layer model and one of a three-layer model."""
    made = {}
    for name, text in (("two", TWO), ("three", THREE)):
        spec = write_spec(text + COMPILE, f"{name}.yaml")
        made[name] = tmp_path / name
        trained = cli("train", spec, "--samples", "16", "--quiet", "--out", made[name])
        assert trained.exit_code == 0, trained.stderr
    return made


def broken_run(runs, tmp_path, name, weights_bytes):
    broken = tmp_path / name
    shutil.copytree(runs["two"], broken)
    (broken / "model.weights.h5").write_bytes(weights_bytes)
    return broken


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_weights_that_do_not_fit_are_one_located_line(cli, runs, tmp_path, command):
    whole = (runs["two"] / "model.weights.h5").read_bytes()
    cases = {
        # Keras's load_weights alone would load the first two layers and say nothing of the third
        "more layers": (
            (runs["three"] / "model.weights.h5").read_bytes(),
            "the weights do not fit the model spec.resolved.yaml builds: the file holds 2 array(s) the model has no "
            "place for (layers/dense_2/vars/0, layers/dense_2/vars/1)",
        ),
        "truncated": (
            whole[: len(whole) // 3],
            "cannot read the weights: Unable to synchronously open file (truncated file",
        ),
        "garbage": (b"not an HDF5 file\n", "cannot read the weights: Unable to synchronously open file"),
        "empty": (b"", "cannot read the weights: Unable to synchronously open file"),
    }
    for name, (content, message) in cases.items():
        broken = broken_run(runs, tmp_path, name.replace(" ", "_"), content)
        out = tmp_path / f"{name.replace(' ', '_')}.npz"
        extra = ("--out", out) if command == "predict" else ()
        result = cli(command, runs["two"].parent / "two.yaml", "--run", broken, "--samples", "8", *extra)
        assert result.exit_code == 2, (name, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if ": error: " in line]
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith(f"{broken / 'model.weights.h5'}: error: {message}"), (name, lines)
        assert "hint: the run directory's files belong together" in result.stderr
        assert not out.exists()


def test_a_layer_saving_more_than_its_weights_still_reloads(cli, write_spec, tmp_path):
    """A tf_idf StringLookup writes its idf weights, which are none of `model.weights`: the file
    then differs from the model's weights, and the check compares it with the file Keras writes
    for the rebuilt model, which holds them too; the run evaluates as its model.keras does."""
    spec = write_spec("""
        name: tfidf
        inputs: {words: {shape: [3], dtype: string}}
        layers:
          - {type: StringLookup, name: lookup, inputs: words, vocabulary: [a, b, c], idf_weights: [0.5, 1.0, 1.5],
             output_mode: tf_idf}
          - {type: Dense, name: out, inputs: lookup, units: 1}
        outputs: out
        compile: {optimizer: sgd, loss: mse}
        data:
          inputs: {words: {distribution: choice, values: [a, b, c, d]}}
    """)
    run = tmp_path / "run"
    assert cli("train", spec, "--samples", "32", "--quiet", "--out", run).exit_code == 0
    results = []
    for where in (("--run", run), ("--model", run / "model.keras")):
        result = cli("evaluate", spec, *where, "--samples", "16", "--json")
        assert result.exit_code == 0, result.stderr
        results.append(json.loads(result.stdout))
    assert results[0] == pytest.approx(results[1], rel=1e-6)
