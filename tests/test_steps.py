"""A user's own steps (`train.step`, `train.test_step`): what they return is what is shown, and
evaluation runs the test step in both loops."""

from __future__ import annotations

import json

import pytest
from conftest import assert_located_error

keras = pytest.importorskip("keras")


STEPS = """
    import tensorflow as tf
    from keras import ops

    batches = tf.Variable(0.0)

    def mse(model, x, y, training):
        return ops.mean(ops.square(model(x, training=training) - y))

    def step(model, batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = mse(model, x, y, True)
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(gradients, model.trainable_variables)
        batches.assign_add(1.0)
        return {"loss": batches * 1.5}  # a pattern no loss tracker could show

    def test_step(model, batch):
        x, y = batch
        return {"loss": mse(model, x, y, False), "seven": 7.0}

    def one_argument(batch):
        return {}

    def returns_a_list(model, batch):
        return [1.0]

    def raises(model, batch):
        raise ValueError("test step broke")
"""

MODEL = "name: m\ninput: {{shape: [3]}}\nlayers: [{{type: Dense, units: 1}}]\ncompile: {compile}\ntrain:\n{train}"


def spec_text(compile: str, *train: str) -> str:
    return MODEL.format(compile=compile, train="".join(f"  {line}\n" for line in train))


def test_the_loss_a_train_step_returns_is_the_loss_shown(cli, write_spec, module, tmp_path):
    """With `compile.loss` too, Keras's own loss tracker (never updated by a user's step) used to
    replace the step's `loss` at the end of each epoch (0.0). Now the step's last logs are what
    the progress line, history.json and metrics.json show: 4 batches an epoch, 1.5 a batch."""
    name = module(STEPS)
    spec = write_spec(spec_text("{optimizer: sgd, loss: mse}", f"step: {name}:step"))
    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--samples", "64", "--batch-size", "16", "--epochs", "2", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    assert json.loads((run / "history.json").read_text())["history"] == {"loss": [6.0, 12.0]}
    assert json.loads((run / "metrics.json").read_text()) == {"loss": 12.0}
    progress = [line for line in trained.stdout.splitlines() if line.startswith("4/4 - ")]
    assert len(progress) == 2 and progress[0].endswith("loss: 6.0000") and progress[1].endswith("loss: 12.0000")


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_evaluate_runs_the_test_step(cli, write_spec, module, tmp_path, loop):
    """A spec whose loss lives only in `train.step` evaluates with its `train.test_step`, in either
    loop; on one batch the test step's loss is what the compiled mean squared error gives."""
    name = module(STEPS)
    one_batch = ("--samples", "32", "--batch-size", "32", "--json", "--loop", loop)
    spec = write_spec(spec_text("{optimizer: sgd}", f"step: {name}:step", f"test_step: {name}:test_step"))
    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--samples", "32", "--quiet", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    result = cli("evaluate", spec, "--allow-code", "--run", run, *one_batch)
    assert result.exit_code == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"loss", "seven"}
    assert json.loads(result.stdout)["seven"] == 7.0
    compiled = write_spec(spec_text("{optimizer: sgd, loss: mse}", f"step: {name}:step"), "compiled.yaml")
    tested = write_spec(
        spec_text("{optimizer: sgd, loss: mse}", f"step: {name}:step", f"test_step: {name}:test_step"), "tested.yaml"
    )
    run = tmp_path / "compiled"
    trained = cli("train", compiled, "--allow-code", "--samples", "32", "--quiet", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    by_step, by_compile = (cli("evaluate", s, "--allow-code", "--run", run, *one_batch) for s in (tested, compiled))
    assert by_step.exit_code == 0 and by_compile.exit_code == 0, by_step.stderr + by_compile.stderr
    assert json.loads(by_step.stdout)["loss"] == pytest.approx(json.loads(by_compile.stdout)["loss"], rel=1e-5)


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_validation_runs_the_test_step(cli, write_spec, module, tmp_path, loop):
    """fit's validation and the custom loop's both run `train.test_step` (the custom loop trains
    with the compiled loss: a `train.step` it refuses)."""
    name = module(STEPS)
    lines = [f"test_step: {name}:test_step", "validation_split: 0.25", f"loop: {loop}"]
    if loop == "fit":
        lines.append(f"step: {name}:step")
    spec = write_spec(spec_text("{optimizer: sgd, loss: mse}", *lines))
    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--samples", "64", "--batch-size", "16", "--quiet", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    history = json.loads((run / "history.json").read_text())["history"]
    assert sorted(history) == ["loss", "val_loss", "val_seven"]
    assert history["val_seven"] == [7.0]


def test_without_a_test_step_or_compiled_loss_evaluation_says_what_to_add(cli, write_spec, module, tmp_path):
    """Neither `compile.loss` nor `train.test_step`: one located line before anything runs, for
    evaluate and for fit's validation; nothing is written."""
    name = module(STEPS)
    spec = write_spec(spec_text("{optimizer: sgd}", f"step: {name}:step", "validation_split: 0.25"))
    result = cli("train", spec, "--allow-code", "--samples", "32", "--quiet", "--out", tmp_path / "run")
    message = (
        "validation (`train.validation_split`) needs `compile.loss` or `train.test_step`: this spec's loss is "
        f"computed only by its train step '{name}:step', which evaluation does not run"
    )
    assert_located_error(result, spec, 4, 1, message)
    assert "or a `train.test_step: module:function`" in result.stderr
    assert not (tmp_path / "run").exists()


def test_test_step_errors_are_located(cli, write_spec, module, tmp_path):
    name = module(STEPS)
    run = tmp_path / "run"
    spec = write_spec(spec_text("{optimizer: sgd, loss: mse}"))
    assert cli("train", spec, "--samples", "16", "--quiet", "--out", run).exit_code == 0
    cases = {
        "one_argument": f"test step '{name}:one_argument' must take (model, batch); it takes (batch)",
        "returns_a_list": f"test step '{name}:returns_a_list' returned list; it must return a dict of logs such as "
        "{'loss': loss}",
        "raises": f"test step '{name}:raises' failed: ValueError: test step broke",
    }
    for function, message in cases.items():
        spec = write_spec(spec_text("{optimizer: sgd, loss: mse}", f"test_step: {name}:{function}"))
        for loop in ("fit", "custom"):
            result = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "16", "--loop", loop)
            assert result.exit_code == 2, result.stderr
            located = [line for line in result.stderr.splitlines() if ": error: " in line]
            assert located and located[0].startswith(f"{spec}:6:14: error: {message}"), located
            assert "Traceback" not in result.stderr
    refused = cli("evaluate", spec, "--run", run, "--samples", "16")
    assert_located_error(
        refused, spec, 6, 14, f"test step '{name}:raises' imports Python code, so it is refused without --allow-code"
    )
