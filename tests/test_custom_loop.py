"""The hand-written GradientTape loop (`--loop custom`) against Keras's own fit/evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SPECS, assert_located_error, column_of

keras = pytest.importorskip("keras")

BUNDLED = sorted(p.name for p in SPECS.glob("*.yaml"))
TICKET = SPECS / "ticket_classifier.yaml"


def train(cli, spec, out, *extra):
    result = cli("train", spec, "--samples", "64", "--batch-size", "16", "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, result.stderr + str(result.exception)
    return json.loads((out / "history.json").read_text())["history"]


@pytest.mark.parametrize("name", BUNDLED)
def test_custom_loop_logs_what_fit_logs(cli, tmp_path, name):
    """Same keys in history.json (loss, per-output losses, metrics named as fit names them),
    the same run directory, and a model that evaluate and predict load again."""
    fit = train(cli, SPECS / name, tmp_path / "fit", "--epochs", "1")
    custom = train(cli, SPECS / name, tmp_path / "custom", "--epochs", "1", "--loop", "custom")
    assert sorted(custom) == sorted(fit)
    assert all(np.isfinite(v[0]) for v in custom.values())
    assert sorted(p.name for p in (tmp_path / "custom").iterdir()) == sorted(
        p.name for p in (tmp_path / "fit").iterdir()
    )
    evaluated = cli(
        "evaluate", SPECS / name, "--run", tmp_path / "custom", "--samples", "16", "--json", "--loop", "custom"
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    assert sorted(json.loads(evaluated.stdout)) == sorted(k for k in fit if not k.startswith("val_"))


def test_both_loops_lower_the_loss_and_agree_on_the_first_epoch(cli, tmp_path):
    """Same seed: same initial weights and data. With batches in the same order (shuffle off)
    the two loops do the same arithmetic, so their first-epoch losses agree to 0.1 %; with
    fit's shuffling on, both still lower the loss."""
    args = ("--epochs", "3", "--seed", "3", "--samples", "512", "--batch-size", "32")
    fit = train(cli, TICKET, tmp_path / "fit", *args, "--set", "train.shuffle=false")
    custom = train(cli, TICKET, tmp_path / "custom", *args, "--set", "train.shuffle=false", "--loop", "custom")
    for key in fit:
        assert custom[key][0] == pytest.approx(fit[key][0], rel=1e-3), key
    shuffled = train(cli, TICKET, tmp_path / "shuffled", *args, "--loop", "custom")
    for history in (fit, custom, shuffled):
        assert history["loss"][-1] < history["loss"][0]


def test_custom_evaluation_equals_keras_evaluate_with_regularization(cli, write_spec, tmp_path):
    """The hand-written evaluation computes exactly what model.evaluate does: weighted losses
    per output plus the model's own regularization losses (model.losses). It also shows the
    loss_weights mapping reaching the right outputs under fit (Keras 3.15 alone pairs a mapping
    with a list of losses in sorted-name order)."""
    spec = write_spec("""
        name: regularized
        inputs: {a: {shape: [12]}, b: {shape: [6]}}
        layers:
          - {type: Concatenate, name: both, inputs: [a, b]}
          - {type: Dense, name: hidden, units: 16, activation: relu, kernel_regularizer: {type: L2, l2: 0.05}}
          - {type: Dense, name: score, inputs: hidden, units: 1, activity_regularizer: {type: L1, l1: 0.01}}
          - {type: Dense, name: label, inputs: hidden, units: 3, activation: softmax}
        outputs: [score, label]
        compile:
          optimizer: adam
          loss: [mean_squared_error, sparse_categorical_crossentropy]
          loss_weights: {score: 0.5, label: 2.0}
          metrics: {label: [accuracy], score: [mean_absolute_error, {type: RootMeanSquaredError}]}
    """)
    run = tmp_path / "run"
    train(cli, spec, run, "--epochs", "1")
    results = {}
    for loop in ("fit", "custom"):
        done = cli("evaluate", spec, "--run", run, "--samples", "50", "--batch-size", "16", "--json", "--loop", loop)
        assert done.exit_code == 0, done.stderr
        results[loop] = json.loads(done.stdout)
    assert sorted(results["custom"]) == sorted(results["fit"])
    for key, value in results["fit"].items():
        assert results["custom"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_same_seed_same_custom_history(cli, tmp_path):
    first = train(cli, TICKET, tmp_path / "a", "--epochs", "2", "--loop", "custom", "--seed", "5")
    second = train(cli, TICKET, tmp_path / "b", "--epochs", "2", "--loop", "custom", "--seed", "5")
    assert first == second


def test_callbacks_and_validation_in_the_custom_loop(cli, write_spec, tmp_path):
    """EarlyStopping stops it, ModelCheckpoint writes inside the run directory, CSVLogger logs,
    and validation_split adds val_ figures, all through Keras's CallbackList."""
    spec = write_spec("""
        name: stopper
        input: {shape: [8]}
        layers:
          - {type: Dense, units: 8, activation: relu}
          - {type: Dense, name: out, units: 1}
        compile: {optimizer: sgd, loss: mse}
        train:
          loop: custom
          epochs: 20
          validation_split: 0.25
          callbacks:
            - {type: EarlyStopping, monitor: val_loss, min_delta: 100, patience: 1}
            - {type: ModelCheckpoint, filepath: best.keras, monitor: val_loss}
            - {type: CSVLogger, filename: log.csv}
    """)
    run = tmp_path / "run"
    history = train(cli, spec, run)
    assert len(history["loss"]) == 2  # patience 1: the second epoch does not improve by 100
    assert sorted(history) == ["loss", "val_loss"]
    assert (run / "best.keras").is_file()
    assert len((run / "log.csv").read_text().splitlines()) == 3


def test_custom_loop_with_xla(cli, write_spec, tmp_path):
    spec = write_spec("""
        name: xla
        input: {shape: [4]}
        layers: [{type: Dense, name: out, units: 2, activation: softmax}]
        compile: {optimizer: adam, loss: categorical_crossentropy, metrics: [accuracy], jit_compile: true}
        train: {loop: custom}
    """)
    history = train(cli, spec, tmp_path / "run", "--epochs", "2")
    assert sorted(history) == ["accuracy", "loss"] and len(history["loss"]) == 2


def test_progress_is_one_line_per_epoch_off_a_terminal(cli, tmp_path):
    result = cli("train", TICKET, "--epochs", "2", "--samples", "64", "--out", tmp_path / "run", "--loop", "custom")
    assert result.exit_code == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("2/2 - ")]
    assert len(epoch_lines) == 2 and "department_accuracy:" in epoch_lines[0]


def test_loop_errors(cli, write_spec, tmp_path):
    bad_option = cli("train", TICKET, "--loop", "tape", "--out", tmp_path / "a")
    assert bad_option.exit_code == 2 and "--loop: error: unknown --loop 'tape'; use fit or custom" in bad_option.stderr
    text = (
        "name: m\ninput: {shape: [4]}\nlayers: [{type: Dense, units: 1}]\ncompile: {optimizer: sgd, loss: mse}\n"
        "train:\n  loop: custom\n  class_weight: {0: 1.0}\n"
    )
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "b")
    assert_located_error(
        result,
        spec,
        7,
        column_of(text, 7, "class_weight"),
        "`train.class_weight` is a model.fit argument; the custom loop does not take it",
    )
    assert not (tmp_path / "b").exists()


def test_streamed_data_gives_the_custom_loop_the_same_batches(cli, tmp_path, monkeypatch):
    """Past the in-memory limit data comes batch by batch from a PyDataset; with shuffling off
    the custom loop then sees exactly the batches it sees in memory, validation included."""
    import kerasspec.data

    args = ("--epochs", "2", "--loop", "custom", "--set", "train.shuffle=false", "--set", "train.validation_split=0.25")
    in_memory = train(cli, TICKET, tmp_path / "memory", *args)
    monkeypatch.setattr(kerasspec.data, "IN_MEMORY_BYTES", 0)
    streamed = train(cli, TICKET, tmp_path / "streamed", *args)
    assert "val_loss" in streamed
    for key, values in in_memory.items():
        assert streamed[key] == pytest.approx(values, rel=1e-5), key


def test_evaluate_follows_the_chosen_loop(cli, write_spec, tmp_path):
    """evaluate runs the loop `--loop` names; weighted metrics (without sample weights: as the
    plain ones) give what fit's evaluate gives."""
    text = (
        "name: m\ninput: {shape: [4]}\nlayers: [{type: Dense, name: out, units: 1}]\n"
        "compile: {optimizer: sgd, loss: mse, weighted_metrics: [mae]}\ntrain: {loop: custom}\n"
    )
    spec = write_spec(text)
    assert cli("validate", spec).exit_code == 0
    trained = cli("train", spec, "--out", tmp_path / "run", "--samples", "32", "--quiet")
    assert trained.exit_code == 0, trained.stderr
    results = {}
    for loop in ("custom", "fit"):
        done = cli("evaluate", spec, "--run", tmp_path / "run", "--loop", loop, "--samples", "32", "--json")
        assert done.exit_code == 0, done.stderr
        results[loop] = json.loads(done.stdout)
    assert sorted(results["custom"]) == sorted(results["fit"]) == ["loss", "mae"]
    assert results["custom"] == pytest.approx(results["fit"], rel=1e-5)
    bad = cli("evaluate", spec, "--run", tmp_path / "run", "--loop", "tape")
    assert bad.exit_code == 2 and "--loop: error: unknown --loop 'tape'; use fit or custom" in bad.stderr


def test_a_single_output_may_list_its_loss(cli, write_spec, tmp_path):
    """`loss: [x]` for one output means x, for the custom loop as for fit and for the data."""
    spec = write_spec("""
        name: one
        input: {shape: [4]}
        layers: [{type: Dense, name: out, units: 2, activation: softmax}]
        compile: {optimizer: sgd, loss: [categorical_crossentropy], metrics: [accuracy]}
    """)
    fit = train(cli, spec, tmp_path / "fit", "--epochs", "1", "--set", "train.shuffle=false")
    custom = train(cli, spec, tmp_path / "custom", "--epochs", "1", "--set", "train.shuffle=false", "--loop", "custom")
    assert sorted(custom) == sorted(fit) == ["accuracy", "loss"]
    assert custom["loss"][0] == pytest.approx(fit["loss"][0], rel=1e-4)


def test_crossentropy_by_shape_in_both_loops(cli, write_spec, tmp_path):
    """`loss: crossentropy` (or `ce`) is compile's own shorthand, binary for one unit and
    categorical for several: accepted, fed matching targets, and the same in both loops."""
    spec = write_spec("""
        name: both_kinds
        inputs: {x: {shape: [4]}}
        layers:
          - {type: Dense, name: flag, inputs: x, units: 1, activation: sigmoid}
          - {type: Dense, name: kind, inputs: x, units: 3, activation: softmax}
        outputs: [flag, kind]
        compile: {optimizer: sgd, loss: {flag: ce, kind: crossentropy}, metrics: {flag: [acc], kind: [accuracy]}}
    """)
    assert cli("validate", spec).exit_code == 0
    fit = train(cli, spec, tmp_path / "fit", "--epochs", "1", "--set", "train.shuffle=false")
    custom = train(cli, spec, tmp_path / "custom", "--epochs", "1", "--set", "train.shuffle=false", "--loop", "custom")
    assert sorted(custom) == sorted(fit) == ["flag_acc", "flag_loss", "kind_accuracy", "kind_loss", "loss"]
    for key in fit:
        assert custom[key][0] == pytest.approx(fit[key][0], rel=1e-4), key


WEIGHTED = """
name: weighted
inputs: {x: {shape: [4]}}
layers:
  - {type: Dense, name: hidden, inputs: x, units: 8, activation: relu}
  - {type: Dense, name: y, inputs: hidden, units: 1}
"""
WEIGHTED_ONE = (
    WEIGHTED
    + """outputs: y
compile: {optimizer: sgd, loss: mse, metrics: [mae], weighted_metrics: [mae]}
data: {file: rows.npz, sample_weight: w}
"""
)
WEIGHTED_TWO = (
    WEIGHTED
    + """  - {type: Dense, name: label, inputs: hidden, units: 3, activation: softmax}
outputs: [y, label]
compile:
  optimizer: sgd
  loss: {y: mse, label: sparse_categorical_crossentropy}
  loss_weights: {y: 0.5, label: 2.0}
  weighted_metrics: {y: [mae], label: [accuracy]}
data: {file: rows.npz, sample_weight: {y: w, label: v}}
"""
)


@pytest.mark.parametrize("text", [WEIGHTED_ONE, WEIGHTED_TWO], ids=["one-output", "two-outputs"])
def test_both_loops_weigh_rows_alike(cli, write_spec, tmp_path, text):
    """`data.sample_weight` in the custom loop: each row's loss, and the weighted metrics, as
    model.fit weighs them. Same seed, same data, batches in the same order (shuffle off): the
    first epoch's loss and metrics of the two loops agree to 1e-4 (relative; the arithmetic is
    the same, the order of float sums is not quite), validation included, and evaluate agrees
    to 1e-5. Weights of 0 and 3 keep it from passing by chance with weights ignored."""
    rng = np.random.default_rng(0)
    rows = 96
    np.savez(
        tmp_path / "rows.npz",
        x=rng.normal(size=(rows, 4)).astype("float32"),
        y=rng.normal(size=(rows, 1)).astype("float32"),
        label=rng.integers(0, 3, size=rows),
        w=np.tile([0.0, 1.0, 3.0], rows // 3).astype("float32"),
        v=np.tile([2.0, 0.0, 1.0, 0.5], rows // 4).astype("float32"),
    )
    spec = write_spec(text)
    args = ("--epochs", "2", "--seed", "4", "--set", "train.shuffle=false", "--set", "train.validation_split=0.25")
    fit = train(cli, spec, tmp_path / "fit", *args)
    custom = train(cli, spec, tmp_path / "custom", *args, "--loop", "custom")
    assert sorted(custom) == sorted(fit)
    assert any("weighted_" in key for key in fit) or text is WEIGHTED_TWO
    for key in fit:
        assert custom[key][0] == pytest.approx(fit[key][0], rel=1e-4), key
    ignored = train(
        cli,
        write_spec(
            text.replace(", sample_weight: w", "").replace(", sample_weight: {y: w, label: v}", ""), "plain.yaml"
        ),
        tmp_path / "plain",
        *args,
        "--loop",
        "custom",
    )
    assert ignored["loss"][0] != pytest.approx(custom["loss"][0], rel=1e-3)
    results = {}
    for loop in ("fit", "custom"):
        done = cli("evaluate", spec, "--run", tmp_path / "fit", "--loop", loop, "--batch-size", "16", "--json")
        assert done.exit_code == 0, done.stderr
        results[loop] = json.loads(done.stdout)
    assert results["custom"] == pytest.approx(results["fit"], rel=1e-5)
