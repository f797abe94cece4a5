"""Runs that can be repeated and reloaded: spec.resolved.yaml holds the command-line options and
paths that work from the run directory; evaluate/predict --run rebuild the model from it and load
model.weights.h5. Through the CLI, on files each test writes."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
import uuid

import numpy as np
import pytest
import yaml
from conftest import RUN_FILES

keras = pytest.importorskip("keras")


def history_of(run):
    return json.loads((run / "history.json").read_text())


def assert_same_history(first, second):
    """The same epochs and metrics, each value to 1e-6 (in practice exactly)."""
    a, b = history_of(first), history_of(second)
    assert a["epochs"] == b["epochs"] and sorted(a["history"]) == sorted(b["history"])
    for key, values in a["history"].items():
        np.testing.assert_allclose(b["history"][key], values, rtol=0, atol=1e-6, err_msg=key)


def ok(result):
    assert result.exit_code == 0, result.stderr + str(result.exception)
    return result


SCALE = """
import keras
class Scale(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
    def call(self, x):
        return x * self.factor
    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
"""


def project(tmp_path):
    """project/spec.yaml with an include (parts/), a user layer from a module beside it and a
    CSV in data/; returns the spec's path and the module's name."""
    root = tmp_path / "project"
    (root / "parts").mkdir(parents=True)
    (root / "data").mkdir()
    module = f"user_{uuid.uuid4().hex[:10]}"  # modules stay imported for the test run: a name of its own
    (root / f"{module}.py").write_text(SCALE)
    (root / "parts" / "encoder.yaml").write_text(
        "name: enc\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, name: e1, units: 8, activation: relu}\n"
    )
    rng = np.random.default_rng(0)
    rows = ["x_0,x_1,x_2,x_3,y"] + [",".join(f"{v:.4f}" for v in rng.normal(size=5)) for _ in range(40)]
    (root / "data" / "table.csv").write_text("\n".join(rows) + "\n")
    spec = root / "spec.yaml"
    spec.write_text(
        textwrap.dedent(f"""
            name: repeat
            inputs: {{x: {{shape: [4]}}}}
            layers:
              - {{spec: parts/encoder.yaml, name: encoder, inputs: x}}
              - {{type: "{module}:Scale", name: scaled, factor: 2.0, inputs: encoder}}
              - {{type: Dropout, name: drop, rate: 0.5, inputs: scaled}}
              - {{type: Dense, name: y, units: 1, inputs: drop}}
            outputs: y
            compile: {{optimizer: adam, loss: mse}}
            train: {{epochs: 5, validation_split: 0.25}}
            data: {{file: data/table.csv}}
        """).lstrip()
    )
    return spec, module


def test_resolved_spec_repeats_a_run_with_data_file_user_code_and_includes(cli, tmp_path, monkeypatch):
    """Trained with overrides from one directory, trained again from its spec.resolved.yaml
    from another: the same history. The resolved spec says every option and finds the include,
    the CSV and the user module from the run directory."""
    spec, module = project(tmp_path)
    monkeypatch.chdir(tmp_path)
    options = ["--epochs", "2", "--samples", "64", "--seed", "3", "--batch-size", "8"]
    ok(
        cli(
            "train",
            "project/spec.yaml",
            "--allow-code",
            *options,
            "--set",
            "layers.drop.rate=0.25",
            "--out",
            "runs/first",
            "--quiet",
        )
    )
    first = tmp_path / "runs" / "first"
    assert sorted(p.name for p in first.iterdir()) == RUN_FILES
    resolved = first / "spec.resolved.yaml"
    tree = yaml.safe_load(resolved.read_text())
    assert tree["code_dir"] == "../../project"
    assert tree["layers"][0]["spec"] == "../../project/parts/encoder.yaml"
    assert tree["layers"][2]["rate"] == 0.25
    assert tree["data"] == {**tree["data"], "file": "../../project/data/table.csv", "samples": 64}
    assert {k: tree["train"][k] for k in ("epochs", "seed", "batch_size", "loop")} == {
        "epochs": 2,
        "seed": 3,
        "batch_size": 8,
        "loop": "fit",
    }
    assert "command-line options" in resolved.read_text().splitlines()[0]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delitem(sys.modules, module)  # imported again, found by code_dir alone
    ok(cli("train", "../runs/first/spec.resolved.yaml", "--allow-code", "--out", "again", "--quiet"))
    assert_same_history(first, elsewhere / "again")
    assert history_of(first)["epochs"] == 2

    monkeypatch.chdir(first)  # from the run directory itself, and its resolved spec's resolved spec
    ok(cli("train", "spec.resolved.yaml", "--allow-code", "--out", tmp_path / "third", "--quiet"))
    assert_same_history(first, tmp_path / "third")
    assert yaml.safe_load((tmp_path / "third" / "spec.resolved.yaml").read_text())["code_dir"] == "../project"

    evaluated = ok(cli("evaluate", tmp_path / "project" / "spec.yaml", "--allow-code", "--run", first, "--json"))
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])


SYNTHETIC = """
name: synth
input: {shape: [6]}
layers:
  - {type: Dense, name: hidden, units: 16, activation: relu}
  - {type: Dropout, name: drop, rate: 0.3}
  - {type: Dense, name: out, units: 3, activation: softmax}
compile: {optimizer: adam, loss: categorical_crossentropy, metrics: [accuracy]}
train: {epochs: 7}
data: {samples: 500, seed: 9}
"""


def test_synthetic_run_repeats_and_reloads_by_weights(cli, write_spec, tmp_path, monkeypatch):
    """--samples, --seed (over data.seed too), --batch-size, --loop and --set are written into
    the resolved spec; evaluate/predict --run (rebuilt + weights) give what model.keras gives,
    for the spec as written although --set changed the trained one's width; weights that do not
    fit the resolved spec are one line."""
    spec = write_spec(SYNTHETIC)
    first = tmp_path / "first"
    options = ["--epochs", "2", "--samples", "48", "--seed", "5", "--batch-size", "16", "--loop", "custom"]
    ok(
        cli(
            "train",
            spec,
            *options,
            "--set",
            "layers.hidden.units=5",
            "--set",
            "train.validation_split=0.25",
            "--out",
            first,
            "--quiet",
        )
    )
    tree = yaml.safe_load((first / "spec.resolved.yaml").read_text())
    assert tree["data"]["samples"] == 48 and tree["data"]["seed"] == 5 and "code_dir" not in tree
    assert (tree["train"]["loop"], tree["train"]["seed"], tree["train"]["validation_split"]) == ("custom", 5, 0.25)
    assert tree["layers"][0]["units"] == 5
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ok(cli("train", first / "spec.resolved.yaml", "--out", "again", "--quiet"))
    assert_same_history(first, elsewhere / "again")
    assert "val_loss" in history_of(first)["history"]

    by_run = ok(cli("evaluate", spec, "--run", first, "--samples", "32", "--json"))
    by_file = ok(cli("evaluate", spec, "--model", first / "model.keras", "--samples", "32", "--json"))
    assert json.loads(by_run.stdout) == pytest.approx(json.loads(by_file.stdout), abs=1e-6)
    arrays = {}
    for how, where in (("run", ["--run", first]), ("model", ["--model", first / "model.keras"])):
        arrays[how] = tmp_path / f"{how}.npz"
        ok(cli("predict", spec, *where, "--samples", "8", "--out", arrays[how]))
    with np.load(arrays["run"]) as run, np.load(arrays["model"]) as model:
        assert run.files == model.files, (run.files, model.files)
        np.testing.assert_allclose(run["out"], model["out"], rtol=0, atol=1e-6)

    broken = tmp_path / "broken"
    shutil.copytree(first, broken)
    resolved = broken / "spec.resolved.yaml"
    resolved.write_text(resolved.read_text().replace("units: 5", "units: 4"))
    result = cli("evaluate", spec, "--run", broken)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"{broken / 'model.weights.h5'}: error: the weights do not fit the model spec.resolved.yaml builds: "
    )
    assert len([line for line in result.stderr.splitlines() if ": error: " in line]) == 1


def test_a_loss_made_by_a_factory_is_evaluated_from_the_weights(cli, write_spec, tmp_path):
    """Keras saves the loss the factory returned by its function's name and cannot find it again:
    no model.keras (said before training), but evaluate --run rebuilds and compiles the spec's
    loss again."""
    module = f"user_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent("""
            import keras
            def scaled_mse(scale=1.0):
                def loss(y_true, y_pred):
                    return scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
                return loss
        """)
    )
    spec = write_spec(
        "name: factory\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, name: out, units: 2}\n"
        f'compile: {{optimizer: sgd, loss: {{type: "{module}:scaled_mse", scale: 2.0}}}}\n'
    )
    run = tmp_path / "run"
    trained = ok(cli("train", spec, "--allow-code", "--samples", "32", "--out", run, "--quiet"))
    notes = [line for line in trained.stderr.splitlines() if line.startswith("note: factory: no model.keras")]
    assert len(notes) == 1 and "Keras cannot load it again" in notes[0], trained.stderr
    assert sorted(p.name for p in run.iterdir()) == [f for f in RUN_FILES if f != "model.keras"]
    evaluated = ok(cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "16", "--json"))
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])


def test_input_shape_given_on_the_command_line_is_kept_by_the_run(cli, write_spec, tmp_path):
    """A sequential spec without `input:` trains with --input-shape; its run's resolved spec
    has the input, so evaluate/predict --run (which take no --input-shape) and a repeat work."""
    spec = write_spec(
        """
        name: lazy
        layers:
          - {type: Dense, name: hidden, units: 3}
          - {type: Dense, name: out, units: 1}
        compile: {optimizer: sgd, loss: mean_squared_error}
        data: {samples: 32}
        train: {epochs: 1}
        """
    )
    run = tmp_path / "run"
    ok(cli("train", spec, "--input-shape", "4", "--out", run, "--quiet"))
    assert yaml.safe_load((run / "spec.resolved.yaml").read_text())["input"] == {"shape": [4]}
    ok(cli("predict", spec, "--run", run, "--out", tmp_path / "p.npz", "--samples", "5"))
    ok(cli("train", run / "spec.resolved.yaml", "--out", tmp_path / "again", "--quiet"))
    assert_same_history(run, tmp_path / "again")
