"""User code (`package.module:Name`) only under --allow-code, subclassed models, custom steps."""

from __future__ import annotations

import json
import textwrap
import uuid

import numpy as np
import pytest
from conftest import RUN_FILES, SPECS, assert_located_error, column_of

keras = pytest.importorskip("keras")

CODE = SPECS / "code"


# A small keras.Model subclass (its call's last line is added by each test).
SMALL_MODEL = """
import keras
class Model(keras.Model):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)
    def call(self, inputs):
"""


def spec_text(text: str, **names: str) -> str:
    return textwrap.dedent(text).lstrip("\n").format(**names)


# --- refused without --allow-code, before anything is imported --------------------------------


@pytest.mark.parametrize("command", ["validate", "summary", "train"])
def test_code_is_refused_without_allow_code_and_never_imported(cli, write_spec, module, tmp_path, command):
    witness = tmp_path / "imported.txt"
    name = module(f"""
        from pathlib import Path
        Path({str(witness)!r}).write_text("the module ran")
        import keras
        class Gate(keras.layers.Layer):
            pass
    """)
    text = spec_text(
        """
        name: m
        input: {{shape: [4]}}
        layers:
          - {{type: "{name}:Gate"}}
        compile: {{optimizer: sgd, loss: mse}}
    """,
        name=name,
    )
    spec = write_spec(text)
    result = cli(command, spec, *(["--out", tmp_path / "run"] if command == "train" else []))
    assert_located_error(
        result,
        spec,
        4,
        column_of(text, 4, '"'),
        f"layer type '{name}:Gate' imports Python code, so it is refused without --allow-code",
    )
    assert "nothing was imported" in result.stderr
    assert not witness.exists()
    assert not (tmp_path / "run").exists()


# --- import failures are located errors -----------------------------------------------------------


def test_import_failures_are_located(cli, write_spec, module):
    good = module("""
        import keras
        def not_a_layer():
            return 1
        class Gate(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = units
    """)
    broken = module("raise RuntimeError('no GPU here')\n")
    cases = [
        ('"nosuchmodule_xyz:Gate"', "layer type 'nosuchmodule_xyz:Gate': no module named 'nosuchmodule_xyz'"),
        (f'"{good}:Gat"', f"custom layer '{good}:Gat': '{good}' has no attribute 'Gat'; did you mean 'Gate'?"),
        (f'"{good}:not_a_layer"', f"custom layer '{good}:not_a_layer' is not a keras.layers.Layer (it is function)"),
        (f'"{broken}:Gate"', f"custom layer '{broken}:Gate': importing '{broken}' failed: RuntimeError: no GPU here"),
    ]
    for written, message in cases:
        text = f"name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: {written}, units: 2}}\n"
        spec = write_spec(text)
        result = cli("summary", spec, "--allow-code")
        expected = message.replace("layer type '", "custom layer '") if message.startswith("layer type") else message
        assert_located_error(result, spec, 4, column_of(text, 4, written), expected)


def test_a_layer_without_kwargs_cannot_take_a_name(cli, write_spec, module):
    """A layer copied without **kwargs works unnamed; given a `name:` it is refused at that key,
    with the way to fix the class."""
    name = module("""
        import keras
        class Scale(keras.layers.Layer):
            def __init__(self, factor):
                super().__init__()
                self.factor = factor
            def call(self, x):
                return x * self.factor
    """)
    unnamed = write_spec(f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Scale", factor: 2}}\n')
    assert cli("summary", unnamed, "--allow-code").exit_code == 0
    text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Scale", name: s, factor: 2}}\n'
    spec = write_spec(text)
    result = cli("summary", spec, "--allow-code")
    assert_located_error(
        result,
        spec,
        4,
        column_of(text, 4, "name: s"),
        f"custom layer '{name}:Scale' cannot take the entry's name: Scale.__init__ has no **kwargs",
    )
    assert "hint: accept **kwargs and pass them on" in result.stderr
    assert "super().__init__(**kwargs)" in result.stderr


BROKEN_LAYER = """
import keras
class Broken(keras.layers.Layer):
    def __init__(self, where, **kwargs):
        super().__init__(**kwargs)
        self.where = where
        if where == "init":
            raise ValueError("cannot start: " + "x" * 500)
    def build(self, shape):
        if self.where == "build":
            raise ValueError("cannot build")
    def call(self, x):
        if self.where == "call":
            raise ValueError("cannot call")
        return x
def step(model, batch):
    raise ValueError("step broke")
"""


def test_exceptions_in_user_code_name_the_users_line(cli, write_spec, module, tmp_path):
    """An exception a user's layer raises is reported at its entry with the innermost frame of
    the user's file and the exception, uncut; --debug adds the whole traceback."""
    name = module(BROKEN_LAYER)
    file = (tmp_path / name).resolve()
    cases = [
        ("init", f"{name}:Broken: ValueError: cannot start: {'x' * 500} ({file}.py:8, in __init__)"),
        ("build", f"layer 'b' ({name}:Broken): ValueError: cannot build ({file}.py:11, in build)"),
        ("call", f"layer 'b' ({name}:Broken): Broken.call() failed: ValueError: cannot call ({file}.py:14, in call)"),
    ]
    for where, message in cases:
        text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Broken", name: b, where: {where}}}\n'
        spec = write_spec(text)
        result = cli("summary", spec, "--allow-code")
        assert_located_error(result, spec, 4, 5, message)
        assert "hint: --debug shows the full traceback" in result.stderr
    debugged = cli("summary", spec, "--allow-code", "--debug")
    assert debugged.exit_code == 2
    assert "Traceback (most recent call last)" in debugged.stderr
    assert f'{file}.py", line 14, in call' in debugged.stderr
    assert debugged.stderr.rstrip().endswith("at: layers[0]")  # the located error still comes last


def test_an_exception_in_a_train_step_names_the_users_line(cli, write_spec, module, tmp_path):
    name = module(BROKEN_LAYER)
    text = f"name: m\ninput: {{shape: [3]}}\nlayers: [{{type: Dense, units: 1}}]\ncompile: {{optimizer: sgd}}\ntrain:\n  step: {name}:step\n"
    spec = write_spec(text)
    args = ("train", spec, "--allow-code", "--samples", "16", "--quiet", "--out")
    result = cli(*args, tmp_path / "a")
    file = (tmp_path / name).resolve()
    message = f"train step '{name}:step' failed: ValueError: step broke ({file}.py:17, in step)"
    assert_located_error(result, spec, 6, 9, message)
    assert not (tmp_path / "a").exists()
    debugged = cli(*args, tmp_path / "b", "--debug")
    assert debugged.exit_code == 2
    assert f'{file}.py", line 17, in step' in debugged.stderr


def test_custom_layer_keywords_are_checked_at_their_key(cli, write_spec, module):
    name = module("""
        import keras
        class Gate(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = units
    """)
    text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Gate", unit: 2}}\n'
    spec = write_spec(text)
    result = cli("summary", spec, "--allow-code")
    assert_located_error(
        result,
        spec,
        4,
        column_of(text, 4, "unit:"),
        f"custom layer '{name}:Gate' takes no argument 'unit'; did you mean 'units'?",
    )
    text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Gate", trainable: false}}\n'
    spec = write_spec(text)
    result = cli("summary", spec, "--allow-code")
    assert_located_error(result, spec, 4, 5, f"custom layer '{name}:Gate' needs argument 'units'")


def test_same_module_name_in_two_directories(cli, tmp_path):
    """Two specs whose directories each hold their own `blocks_*.py` get their own code in one
    process (`validate --build a b`, or library use), not the copy imported first."""
    name = f"blocks_{uuid.uuid4().hex[:10]}"
    specs = []
    for folder, units in (("a", 3), ("b", 5)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{name}.py").write_text(
            f"import keras\nclass Block(keras.layers.Dense):\n    def __init__(self, units={units}, **kwargs):\n"
            "        super().__init__(units, **kwargs)\n",
            encoding="utf-8",
        )
        specs.append(tmp_path / folder / "spec.yaml")
        specs[-1].write_text(
            f'name: {folder}\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Block"}}\n', encoding="utf-8"
        )
    counts = []
    for spec in specs + specs[:1]:  # and back to the first
        result = cli("summary", spec, "--json", "--allow-code")
        assert result.exit_code == 0, result.stderr
        counts.append(json.loads(result.stdout)["params"]["total"])
    assert counts == [4 * 3 + 3, 4 * 5 + 5, 4 * 3 + 3]
    assert cli("validate", "--build", "--allow-code", *specs).exit_code == 0


def test_imports_only_where_a_parameter_takes_code(cli, write_spec, module, tmp_path):
    """A string that merely looks like module:Name in a plain parameter is left as text."""
    witness = tmp_path / "imported.txt"
    name = module(f"from pathlib import Path\nPath({str(witness)!r}).write_text('ran')\nValue = 1\n")
    text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: Dense, units: 2, name: "{name}:Value"}}\n'
    spec = write_spec(text)
    result = cli("summary", "--allow-code", "--json", spec)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["layers"][0]["name"] == f"{name}:Value"
    assert not witness.exists()


# --- a custom layer, metric and callback: the bundled example --------------------------------------


def gated_reference_params(width: int, units: list[int], classes: int) -> int:
    """GatedDense has a value and a gate kernel with biases: 2 * (in * units + units)."""
    total, previous = 0, width
    for u in units:
        total += 2 * (previous * u + u)
        previous = u
    return total + previous * classes + classes


def test_bundled_custom_layer_example(cli, tmp_path):
    spec = CODE / "gated_mlp.yaml"
    summary = cli("summary", spec, "--allow-code", "--json")
    assert summary.exit_code == 0, summary.stderr
    document = json.loads(summary.stdout)
    assert document["params"]["total"] == gated_reference_params(32, [64, 32], 5)
    assert [layer["type"] for layer in document["layers"]][1:] == ["GatedDense", "Dropout", "GatedDense", "Dense"]

    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--epochs", "1", "--samples", "64", "--out", run, "--quiet")
    assert trained.exit_code == 0, trained.stderr
    history = json.loads((run / "history.json").read_text())["history"]
    assert sorted(history) == ["accuracy", "loss", "mean_prediction"]
    logged = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["loss"] == pytest.approx(history["loss"][0])
    evaluated = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "32", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert sorted(json.loads(evaluated.stdout)) == ["accuracy", "loss", "mean_prediction"]
    refused = cli("evaluate", spec, "--run", run)
    assert refused.exit_code == 2 and "refused without --allow-code" in refused.stderr


# --- subclassed models -----------------------------------------------------------------------------


def test_subclassed_ticket_classifier_matches_the_functional_one(cli):
    """The seed's CustomerTicketModel and its functional twin have the same parameters."""
    subclassed = cli("summary", CODE / "ticket_subclass.yaml", "--allow-code", "--json")
    functional = cli("summary", SPECS / "ticket_classifier.yaml", "--json")
    assert subclassed.exit_code == 0, subclassed.stderr
    sub, fun = json.loads(subclassed.stdout), json.loads(functional.stdout)
    assert sub["kind"] == "subclass"
    assert sub["params"] == fun["params"] == {"total": 1_286_789, "trainable": 1_286_789, "non_trainable": 0}
    assert sorted((o["name"], o["shape"]) for o in sub["outputs"]) == sorted(
        (o["name"], o["shape"]) for o in fun["outputs"]
    )
    assert [i["name"] for i in sub["inputs"]] == ["title", "text_body", "tags"]
    assert [layer["output_shapes"] for layer in sub["layers"]] == [
        [[None, 20100]],
        [[None, 64]],
        [[None, 1]],
        [[None, 4]],
    ]


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_subclassed_model_trains_evaluates_and_predicts(cli, tmp_path, loop):
    spec = CODE / "ticket_subclass.yaml"
    run = tmp_path / "run"
    trained = cli(
        "train", spec, "--allow-code", "--epochs", "1", "--samples", "64", "--out", run, "--quiet", "--loop", loop
    )
    assert trained.exit_code == 0, trained.stderr
    history = json.loads((run / "history.json").read_text())["history"]
    assert sorted(history) == [
        "department_accuracy",
        "department_loss",
        "loss",
        "priority_loss",
        "priority_mean_absolute_error",
    ]
    results = {}
    for evaluation_loop in ("fit", "custom"):
        evaluated = cli(
            "evaluate", spec, "--allow-code", "--run", run, "--samples", "40", "--json", "--loop", evaluation_loop
        )
        assert evaluated.exit_code == 0, evaluated.stderr
        results[evaluation_loop] = json.loads(evaluated.stdout)
    for key, value in results["fit"].items():
        assert results["custom"][key] == pytest.approx(value, rel=1e-5), key
    out = tmp_path / "p.npz"
    predicted = cli("predict", spec, "--allow-code", "--run", run, "--samples", "6", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(out) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"priority": (6, 1), "department": (6, 4)}
    features = cli("predict", spec, "--allow-code", "--run", run, "--out", tmp_path / "f.npz", "--outputs", "dense")
    assert features.exit_code == 2 and "--outputs needs a functional or sequential model" in features.stderr


def test_plot_of_a_subclassed_model_says_what_keras_draws(cli, tmp_path):
    out = tmp_path / "m.dot"
    result = cli("plot", CODE / "ticket_subclass.yaml", "--allow-code", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "is a subclassed model" in result.stderr and "shows the model as one box" in result.stderr
    assert "CustomerTicketModel" in out.read_text()


def test_subclass_errors_are_located(cli, write_spec, module, tmp_path):
    name = module(SMALL_MODEL + '        return self.dense(inputs["a"])\nclass NotAModel:\n    pass\n')
    base = "name: m\nkind: subclass\nclass: {cls}\nargs: {args}\ninputs:\n  {inputs}\n"
    cases = [
        (
            f"{name}:Model",
            "{unit: 3}",
            "a: {shape: [4]}",
            4,
            "unit:",
            f"model class '{name}:Model' takes no argument 'unit'; did you mean 'units'?",
        ),
        (f"{name}:Model", "{}", "a: {shape: [4]}", 4, "{}", f"model class '{name}:Model' needs argument 'units'"),
        (
            f"{name}:NotAModel",
            "{}",
            "a: {shape: [4]}",
            3,
            name,
            f"model class '{name}:NotAModel' is not a keras.Model subclass (it is class NotAModel)",
        ),
        (
            f"{name}:Model",
            "{units: 3}",
            "b: {shape: [4]}\n  c: {shape: [2]}",
            3,
            name,
            f"calling model class '{name}:Model' on the spec's inputs: Model.call() failed: KeyError: 'a' "
            f"({(tmp_path / name).resolve()}.py:8, in call)",
        ),
    ]
    for cls, args, inputs, line, needle, message in cases:
        text = base.format(cls=cls, args=args, inputs=inputs)
        spec = write_spec(text)
        result = cli("summary", spec, "--allow-code")
        assert_located_error(result, spec, line, column_of(text, line, needle), message)


def test_subclass_without_get_config_trains_and_reloads_by_weights(cli, write_spec, module, tmp_path):
    """Keras cannot save the class as .keras: the run says so in one line before training, writes
    no model.keras, and evaluate/predict --run rebuild it from spec.resolved.yaml with its weights."""
    name = module(SMALL_MODEL + "        return self.dense(inputs)\n")
    text = f"name: m\nkind: subclass\nclass: {name}:Model\nargs: {{units: 2}}\ninput: {{shape: [3]}}\ncompile: {{optimizer: sgd, loss: mse}}\n"
    spec = write_spec(text)
    run = tmp_path / "run"
    result = cli("train", spec, "--allow-code", "--samples", "16", "--epochs", "2", "--out", run, "--quiet")
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "model.keras" in line]
    assert len(notes) == 1 and notes[0].startswith("note: m: no model.keras in this run (Keras cannot save it: "), notes
    assert sorted(p.name for p in run.iterdir()) == [f for f in RUN_FILES if f != "model.keras"]
    evaluated = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "8", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])
    outputs = []
    for index in range(2):
        outputs.append(tmp_path / f"p{index}.npz")
        predicted = cli("predict", spec, "--allow-code", "--run", run, "--samples", "4", "--out", outputs[-1])
        assert predicted.exit_code == 0, predicted.stderr
    with np.load(outputs[0]) as first, np.load(outputs[1]) as second:
        assert first.files == ["output_0"] and first["output_0"].shape == (4, 2)
        np.testing.assert_array_equal(first["output_0"], second["output_0"])  # the same weights each time
    again = cli("train", run / "spec.resolved.yaml", "--allow-code", "--out", tmp_path / "again", "--quiet")
    assert again.exit_code == 0, again.stderr
    assert json.loads((run / "history.json").read_text()) == json.loads(
        (tmp_path / "again" / "history.json").read_text()
    )


# --- a user's train step inside fit ---------------------------------------------------------------


def test_bundled_custom_step_example(cli, tmp_path):
    spec = CODE / "noisy_step.yaml"
    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--epochs", "2", "--samples", "256", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    history = json.loads((run / "history.json").read_text())["history"]
    assert sorted(history) == ["loss", "mean_absolute_error"]
    assert history["loss"][1] < history["loss"][0]
    assert len([line for line in trained.stdout.splitlines() if line.startswith("8/8 - ")]) == 2  # fit's progress
    evaluated = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "32", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr


def test_step_errors_are_located(cli, write_spec, module, tmp_path):
    name = module("""
        def one_argument(batch):
            return {}
        def returns_a_number(model, batch):
            return 1.0
    """)
    base = "name: m\ninput: {{shape: [3]}}\nlayers: [{{type: Dense, units: 1}}]\ncompile: {{optimizer: sgd, loss: mse}}\ntrain:\n  step: {step}\n"
    text = base.format(step=f"{name}:one_argument")
    spec = write_spec(text)
    result = cli("train", spec, "--allow-code", "--out", tmp_path / "a")
    assert_located_error(
        result, spec, 6, 9, f"train step '{name}:one_argument' must take (model, batch); it takes (batch)"
    )
    text = base.format(step=f"{name}:returns_a_number")
    spec = write_spec(text)
    result = cli("train", spec, "--allow-code", "--out", tmp_path / "b", "--samples", "16", "--quiet")
    assert_located_error(
        result,
        spec,
        6,
        9,
        f"train step '{name}:returns_a_number' returned float; it must return a dict of logs such as {{'loss': loss}}",
    )
    text = base.format(step=f"{name}:one_argument") + "  loop: custom\n"
    spec = write_spec(text)
    result = cli("train", spec, "--allow-code", "--out", tmp_path / "c")
    assert_located_error(
        result,
        spec,
        6,
        3,
        "`train.step` replaces the train step inside fit; it cannot be combined with the custom loop",
    )


def test_evaluate_without_a_compiled_loss_says_what_to_add(cli, write_spec, module, tmp_path):
    """A spec whose loss is computed only in its train step trains; evaluate (either loop) has
    no loss to compute and says to add `compile.loss`, never an internal error."""
    name = module("""
        import tensorflow as tf
        from keras import ops
        def step(model, batch):
            x, y = batch
            with tf.GradientTape() as tape:
                loss = ops.mean(ops.square(model(x, training=True) - y))
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply(gradients, model.trainable_variables)
            return {"loss": loss}
    """)
    text = f"name: m\ninput: {{shape: [3]}}\nlayers: [{{type: Dense, units: 1}}]\ncompile: {{optimizer: sgd}}\ntrain:\n  step: {name}:step\n"
    spec = write_spec(text)
    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--samples", "16", "--epochs", "1", "--quiet", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    for loop in ("fit", "custom"):
        result = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "16", "--loop", loop)
        assert_located_error(
            result,
            spec,
            4,
            1,
            f"evaluate needs `compile.loss` or `train.test_step`: this spec's loss is computed only by its train "
            f"step '{name}:step', which evaluation does not run",
        )
        assert "hint: add the loss the step minimizes to `compile`" in result.stderr
        assert "or a `train.test_step: module:function`" in result.stderr
        assert "internal error" not in result.stderr
    fixed = write_spec(text.replace("{optimizer: sgd}", "{optimizer: sgd, loss: mse}"), "fixed.yaml")
    result = cli("evaluate", fixed, "--allow-code", "--run", run, "--samples", "16")
    message = (
        "evaluate needs `compile.loss`: the model was trained from a spec without one, so it has no loss to compute"
    )
    assert_located_error(result, fixed, 4, 1, message)
    assert "hint: train again from this spec" in result.stderr
    run = tmp_path / "again"
    trained = cli("train", fixed, "--allow-code", "--samples", "16", "--epochs", "1", "--quiet", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    evaluated = cli("evaluate", fixed, "--allow-code", "--run", run, "--samples", "16", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert set(json.loads(evaluated.stdout)) == {"loss"}


def test_custom_loss_trains_and_the_saved_model_loads_again(cli, write_spec, module, tmp_path):
    """A user's loss function in compile: fit and the custom loop use it; evaluate loads the
    saved model in safe mode with the spec's custom objects."""
    name = module("""
        from keras import ops
        def quartic_error(y_true, y_pred):
            return ops.mean(ops.square(ops.square(y_true - y_pred)), axis=-1)
    """)
    spec = write_spec(
        f"name: m\ninput: {{shape: [5]}}\nlayers: [{{type: Dense, name: out, units: 2}}]\n"
        f'compile: {{optimizer: adam, loss: "{name}:quartic_error"}}\n'
    )
    results = {}
    for loop in ("fit", "custom"):
        run = tmp_path / loop
        trained = cli(
            "train", spec, "--allow-code", "--samples", "64", "--out", run, "--quiet", "--loop", loop, "--seed", "1"
        )
        assert trained.exit_code == 0, trained.stderr
        evaluated = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "32", "--json")
        assert evaluated.exit_code == 0, evaluated.stderr
        results[loop] = json.loads(evaluated.stdout)["loss"]
    assert results["custom"] == pytest.approx(results["fit"], rel=0.05)


def test_subclass_output_names_and_object_args(cli, write_spec, module, tmp_path):
    """`args` objects are built like everywhere else; mappings by output name are checked
    against the outputs the class really returns, at their key."""
    name = module("""
        import keras
        class Twin(keras.Model):
            def __init__(self, units, initializer, **kwargs):
                super().__init__(**kwargs)
                self.score = keras.layers.Dense(1, kernel_initializer=initializer)
                self.label = keras.layers.Dense(units, activation="softmax")
            def call(self, x):
                return {"score": self.score(x), "label": self.label(x)}
    """)
    text = (
        f"name: twin\nkind: subclass\nclass: {name}:Twin\nargs: {{units: 3, initializer: {{type: Constant, value: 0.5}}}}\n"
        "input: {shape: [4]}\ncompile:\n  optimizer: sgd\n  loss: {score: mse, labl: categorical_crossentropy}\n"
    )
    spec = write_spec(text)
    summary = cli("summary", spec, "--allow-code", "--json")
    assert summary.exit_code == 0, summary.stderr
    assert json.loads(summary.stdout)["params"]["total"] == (4 + 1) + (4 * 3 + 3)
    result = cli("train", spec, "--allow-code", "--out", tmp_path / "run")
    assert_located_error(
        result,
        spec,
        8,
        column_of(text, 8, "labl"),
        "'labl' in `compile.loss` is not an output of the model; did you mean 'label'?",
    )


# --- Lambda layers: a named function of the user's, under --allow-code -----------------------------


def test_lambda_layer_trains_saves_and_loads_again(cli, write_spec, module, tmp_path):
    """`function` and `output_shape` are imported like other user code; the saved model loads in
    safe mode for evaluate and predict, with the very function (its output is twice its input)."""
    name = module("""
        def double(x):
            return x * 2
        def same_shape(shape):
            return shape
    """)
    spec = write_spec(f"""
        name: doubling
        inputs: {{x: {{shape: [4]}}}}
        layers:
          - {{type: Dense, name: hidden, units: 3}}
          - {{type: Lambda, name: doubled, function: "{name}:double", output_shape: "{name}:same_shape"}}
          - {{type: Dense, name: out, units: 1}}
        outputs: out
        compile: {{optimizer: sgd, loss: mse}}
    """)
    summary = cli("summary", spec, "--allow-code", "--json")
    assert summary.exit_code == 0, summary.stderr
    layers = json.loads(summary.stdout)["layers"]
    assert [(layer["type"], layer["output_shapes"]) for layer in layers[2:]] == [
        ("Lambda", [[None, 3]]),
        ("Dense", [[None, 1]]),
    ]
    for loop in ("fit", "custom"):
        run = tmp_path / loop
        trained = cli("train", spec, "--allow-code", "--samples", "64", "--out", run, "--quiet", "--loop", loop)
        assert trained.exit_code == 0, trained.stderr
        evaluated = cli("evaluate", spec, "--allow-code", "--run", run, "--samples", "32", "--json")
        assert evaluated.exit_code == 0, evaluated.stderr
        assert sorted(json.loads(evaluated.stdout)) == ["loss"]
    out = tmp_path / "features.npz"
    run, names = tmp_path / "fit", "hidden,doubled"
    predicted = cli("predict", spec, "--allow-code", "--run", run, "--samples", "8", "--out", out, "--outputs", names)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(out) as archive:
        np.testing.assert_allclose(archive["doubled"], 2 * archive["hidden"], rtol=1e-6)


def test_lambda_errors_are_located(cli, write_spec, module):
    name = module("""
        LIMIT = 3
        def double(x):
            return x * 2
    """)
    cases = [  # (the Lambda's keywords, command, where on the line, message)
        (f'function: "{name}:double"', (), "Lambda", "Lambda runs Python code, so it is refused without --allow-code"),
        ("function: double", ("--allow-code",), "double", "bad Lambda function 'double': user code is named as package.module:Name"),
        ("function: 3", ("--allow-code",), "3", "Lambda argument 'function' must be a package.module:Name reference to Python code, got 3"),
        (f'function: "{name}:doubel"', ("--allow-code",), '"', f"Lambda function '{name}:doubel': '{name}' has no attribute 'doubel'; did you mean 'double'?"),
        (f'function: "{name}x:double"', ("--allow-code",), '"', f"Lambda function '{name}x:double': no module named '{name}x'; did you mean '{name}'?"),
        (f'function: "{name}:LIMIT"', ("--allow-code",), '"', f"Lambda function '{name}:LIMIT' is not a function (it is int)"),
        (f'function: "{name}:double", output_shape: shape', ("--allow-code",), "shape}", "bad Lambda output_shape 'shape': user code is named as package.module:Name"),
        ("name: lam", ("--allow-code",), "{", "Lambda needs argument 'function'"),
    ]  # fmt: skip
    for keywords, options, where, message in cases:
        text = f"name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: Lambda, {keywords}}}\n"
        spec = write_spec(text)
        result = cli("validate", "--build", spec, *options)
        assert_located_error(result, spec, 4, column_of(text, 4, where), message)


# --- subclass args holding nested models ------------------------------------------------------------

# A model class taking models: one encoder, then blocks; saved and loaded with the models it holds.
STACK_MODEL = """
import keras
from keras.saving import deserialize_keras_object, serialize_keras_object
class Stack(keras.Model):
    def __init__(self, encoder, blocks=(), units=2, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.blocks, self.units = encoder, list(blocks), units
        self.head = keras.layers.Dense(units)
    def call(self, x):
        x = self.encoder(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)
    def get_config(self):
        models = {"encoder": serialize_keras_object(self.encoder), "blocks": [serialize_keras_object(b) for b in self.blocks]}
        return {**super().get_config(), "units": self.units, **models}
    @classmethod
    def from_config(cls, config):
        config["encoder"] = deserialize_keras_object(config["encoder"])
        config["blocks"] = [deserialize_keras_object(b) for b in config["blocks"]]
        return cls(**config)
"""

STACK_SPEC = """
name: stack
kind: subclass
class: {name}:Stack
args:
  encoder: {{spec: encoder.yaml}}
  blocks:
    - type: Sequential
      layers: [{{type: Dense, units: 6, activation: relu}}]
    - spec:
        name: widen
        inputs: {{h: {{shape: [6]}}}}
        layers: [{{type: Dense, name: wide, units: 5}}]
        outputs: wide
  units: 3
input: {{shape: [4]}}
compile: {{optimizer: sgd, loss: mse}}
"""


def test_subclass_args_receive_built_nested_models(cli, write_spec, module, tmp_path):
    """`{spec: file}`, an inline `type: Sequential` and an inline spec in `args` arrive as built
    keras.Models: the same parameters as the class given hand-written Keras models; the model
    trains, saves, and loads again for predict."""
    import importlib

    name = module(STACK_MODEL)
    write_spec(
        "name: enc\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, units: 8, activation: relu}\n", "encoder.yaml"
    )
    spec = write_spec(spec_text(STACK_SPEC, name=name))
    assert cli("validate", spec, "--allow-code").exit_code == 0
    summary = cli("summary", spec, "--allow-code", "--json")
    assert summary.exit_code == 0, summary.stderr
    document = json.loads(summary.stdout)
    assert [(layer["name"], layer["type"]) for layer in document["layers"][:3]] == [
        ("enc", "Sequential"),
        ("blocks_0", "Sequential"),
        ("widen", "Functional"),
    ]
    from keras import layers

    h = keras.Input((6,), name="h")
    by_hand = importlib.import_module(name).Stack(
        keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu")]),
        [keras.Sequential([layers.Dense(6, activation="relu")]), keras.Model(h, layers.Dense(5)(h))],
        units=3,
    )
    by_hand(keras.Input((4,)))
    assert (
        document["params"]["total"] == by_hand.count_params() == (4 * 8 + 8) + (8 * 6 + 6) + (6 * 5 + 5) + (5 * 3 + 3)
    )

    run = tmp_path / "run"
    trained = cli("train", spec, "--allow-code", "--epochs", "1", "--samples", "32", "--out", run, "--quiet")
    assert trained.exit_code == 0, trained.stderr
    resolved = cli("validate", "--allow-code", run / "spec.resolved.yaml")  # its include found from the run
    assert resolved.exit_code == 0, resolved.stderr
    out = tmp_path / "p.npz"
    predicted = cli("predict", spec, "--allow-code", "--run", run, "--samples", "5", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(out) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"output_0": (5, 3)}


def test_nested_models_in_subclass_args_are_checked_where_written(cli, write_spec, module):
    name = module(STACK_MODEL)
    encoder = "name: enc\ninput: {shape: [4]}\nlayers:\n  - {type: Dense, unit: 8}\n"
    write_spec(encoder, "bad_encoder.yaml")
    text = spec_text(STACK_SPEC, name=name).replace("encoder.yaml", "bad_encoder.yaml")
    text = text.replace("units: 6,", "untis: 6,").replace("outputs: wide", "outputs: wid")
    spec = write_spec(text)
    result = cli("validate", spec, "--allow-code")
    bad_encoder, unit = spec.parent / "bad_encoder.yaml", column_of(encoder, 4, "unit")
    assert_located_error(result, bad_encoder, 4, unit, "Dense has no argument 'unit'; did you mean 'units'?")
    assert_located_error(
        result, spec, 8, column_of(text, 8, "untis"), "Dense has no argument 'untis'; did you mean 'units'?"
    )
    assert_located_error(result, spec, 13, column_of(text, 13, "wid"), "unknown reference 'wid'; did you mean 'wide'?")
    text = spec_text(STACK_SPEC, name=name).replace("{spec: encoder.yaml}", "{spec: encoder.yaml, trainable: false}")
    spec = write_spec(text)
    assert_located_error(
        cli("validate", spec, "--allow-code"),
        spec,
        5,
        column_of(text, 5, "trainable"),
        "'trainable' is not allowed here: a nested model in `args` takes spec and name",
    )


def test_code_dir_says_where_user_modules_are(cli, write_spec, tmp_path):
    """`code_dir:` (relative to the spec's file) is where user modules are imported from; one
    that is no directory is refused at its value."""
    name = f"user_{uuid.uuid4().hex[:10]}"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / f"{name}.py").write_text(
        "import keras\nclass Gate(keras.layers.Layer):\n    def call(self, x):\n        return x\n"
    )
    text = f'name: m\ncode_dir: lib\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{name}:Gate"}}\n'
    spec = write_spec(text)
    result = cli("validate", "--build", spec, "--allow-code")
    assert result.exit_code == 0, result.stderr
    missing = write_spec(text.replace("code_dir: lib", "code_dir: nowhere"), "missing.yaml")
    result = cli("validate", missing, "--allow-code")
    assert_located_error(
        result, missing, 2, 11, "`code_dir` 'nowhere' is no directory (it is read relative to the spec's file)"
    )
