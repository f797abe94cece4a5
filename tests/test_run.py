"""train / evaluate / predict through the CLI, on real Keras and real files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import RUN_FILES, SPECS, assert_located_error, column_of

keras = pytest.importorskip("keras")

BUNDLED = sorted(p.name for p in SPECS.glob("*.yaml"))


def train(cli, spec, out, *extra):
    result = cli("train", spec, "--epochs", "1", "--samples", "64", "--batch-size", "16", "--out", out, *extra)
    assert result.exit_code == 0, result.stderr + str(result.exception)
    return result


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_spec_trains_evaluates_and_predicts(cli, tmp_path, name):
    run = tmp_path / "run"
    result = train(cli, SPECS / name, run)
    assert f"run directory: {run}" in result.stdout
    adapted = ["adapted", "adapted.json"] if "adapt:" in (SPECS / name).read_text() else []
    assert sorted(p.name for p in run.iterdir()) == sorted(RUN_FILES + adapted)
    history = json.loads((run / "history.json").read_text())
    assert history["epochs"] == 1 and "loss" in history["history"]
    assert json.loads((run / "metrics.json").read_text())["loss"] == history["history"]["loss"][-1]
    assert (run / "history.png").read_bytes().startswith(b"\x89PNG")

    evaluated = cli("evaluate", SPECS / name, "--run", run, "--samples", "32", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])

    predictions = tmp_path / "predictions.npz"
    predicted = cli("predict", SPECS / name, "--run", run, "--samples", "8", "--out", predictions)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(predictions) as archive:
        assert archive.files and all(archive[k].shape[0] == 8 for k in archive.files)


def test_ticket_classifier_data_and_outputs_by_name(cli, tmp_path):
    run = tmp_path / "run"
    train(cli, SPECS / "ticket_classifier.yaml", run)
    history = json.loads((run / "history.json").read_text())["history"]
    assert {"loss", "priority_loss", "department_loss", "priority_mean_absolute_error", "department_accuracy"} <= set(
        history
    )
    out = tmp_path / "p.npz"
    predicted = cli("predict", SPECS / "ticket_classifier.yaml", "--run", run, "--samples", "5", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    assert predicted.stdout == f"wrote {out}: priority (5, 1), department (5, 4)\n"
    with np.load(out) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"priority": (5, 1), "department": (5, 4)}
        assert np.allclose(archive["department"].sum(axis=1), 1, atol=1e-5)  # softmax rows


def test_feature_extraction_from_intermediate_layers(cli, tmp_path):
    run = tmp_path / "run"
    train(cli, SPECS / "ticket_classifier.yaml", run)
    out = tmp_path / "features.npz"
    result = cli(
        "predict",
        SPECS / "ticket_classifier.yaml",
        "--run",
        run,
        "--samples",
        "4",
        "--out",
        out,
        "--outputs",
        "hidden,features",
    )
    assert result.exit_code == 0, result.stderr
    with np.load(out) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"hidden": (4, 64), "features": (4, 20100)}
    bad = cli(
        "predict", SPECS / "ticket_classifier.yaml", "--run", run, "--out", tmp_path / "x.npz", "--outputs", "hiden"
    )
    assert (
        bad.exit_code == 2
        and "--outputs: error: the model has no layer or op 'hiden'; did you mean 'hidden'?" in bad.stderr
    )


def test_same_seed_same_history(cli, tmp_path):
    histories = []
    for index, seed in enumerate(["7", "7", "8"]):
        run = tmp_path / f"run{index}"
        train(cli, SPECS / "ticket_classifier.yaml", run, "--seed", seed, "--quiet")
        histories.append(json.loads((run / "history.json").read_text()))
    assert histories[0] == histories[1]
    assert histories[0] != histories[2]


def test_synthetic_data_fits_the_model():
    from kerasspec import load
    from kerasspec.data import plan_columns, target_distribution

    spec = load(SPECS / "siamese_similarity.yaml")
    inputs, targets = plan_columns(spec, spec.build())
    assert {c.name: c.distribution for c in inputs} == {
        "left": {"distribution": "integers", "low": 0, "high": 5000},
        "right": {"distribution": "integers", "low": 0, "high": 5000},  # feeds the shared Embedding too
    }
    assert targets[0].distribution == {"distribution": "binary"}
    seq = load(SPECS / "seq2seq.yaml")
    seq_inputs, seq_targets = plan_columns(seq, seq.build())
    assert [c.shape for c in seq_inputs] == [(16, 71), (16, 93)]  # null -> data.sequence_length
    assert seq_targets[0].distribution == {"distribution": "onehot"}
    drawn = seq_targets[0].draw(np.random.default_rng(0), 3)
    assert drawn.shape == (3, 16, 93) and np.all(drawn.sum(axis=-1) == 1)
    assert target_distribution("sparse_categorical_crossentropy", (10,)) == (
        {"distribution": "integers", "low": 0, "high": 10},
        (),
        "int32",
    )
    assert target_distribution({"type": "CategoricalCrossentropy", "from_logits": True}, (4,))[0] == {
        "distribution": "onehot"
    }
    assert target_distribution("mse", (1,))[0]["distribution"] == "uniform"
    assert target_distribution("crossentropy", (4,))[0] == {"distribution": "onehot"}  # compile's shape rule
    assert target_distribution("ce", (1,))[0] == {"distribution": "binary"}


def test_a_run_never_overwrites_an_earlier_one(cli, tmp_path):
    run = tmp_path / "run"
    train(cli, SPECS / "my_example_model.yaml", run)
    before = (run / "model.keras").read_bytes()
    result = cli("train", SPECS / "my_example_model.yaml", "--out", run, "--samples", "16")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{run}: error: run directory exists and is not empty")
    assert (run / "model.keras").read_bytes() == before


def test_spec_without_compile_cannot_train(cli, write_spec, tmp_path):
    path = write_spec("name: bare\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\n")
    result = cli("train", path, "--out", tmp_path / "run")
    assert_located_error(
        result, path, 1, 1, "the spec has no `compile` section, so the model cannot be trained or evaluated"
    )
    assert not (tmp_path / "run").exists()


def test_callback_files_stay_inside_the_run(cli, write_spec, tmp_path):
    text = (
        "name: cb\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\ncompile: {optimizer: sgd, loss: mse}\n"
        "train:\n  callbacks:\n    - {type: CSVLogger, filename: log.csv}\n    - {type: ModelCheckpoint, filepath: best.keras}\n"
        "    - {type: TensorBoard, log_dir: logs}\n"
    )
    run = tmp_path / "run"
    train(cli, write_spec(text), run)
    assert (run / "log.csv").read_text().startswith("epoch,loss")
    assert (run / "best.keras").is_file()
    events = list((run / "logs" / "train").glob("events.out.tfevents.*"))
    import tensorflow as tf

    assert len(events) == 1 and sum(1 for _ in tf.data.TFRecordDataset(str(events[0]))) > 1  # epoch_loss was logged
    escaping = write_spec(text.replace("log.csv", "../outside.csv"), "escape.yaml")
    result = cli("train", escaping, "--out", tmp_path / "run2", "--samples", "8")
    assert_located_error(
        result,
        escaping,
        8,
        column_of(text.replace("log.csv", "../outside.csv"), 8, "../outside.csv"),
        "callback file '../outside.csv' must be a path inside the run directory",
    )
    assert not (tmp_path / "outside.csv").exists()


def npz_spec(write_spec, file_name="data.npz"):
    return write_spec(
        "name: filed\ninputs:\n  a: {shape: [3]}\n  b: {shape: [null, 2]}\nlayers:\n"
        "  - {type: Dense, name: h, inputs: a, units: 2}\n  - {type: GlobalAveragePooling1D, name: g, inputs: b}\n"
        "  - {type: Add, name: out, inputs: [h, g]}\noutputs: out\ncompile: {optimizer: sgd, loss: mse}\n"
        f"data:\n  file: {file_name}\n"
    )


def test_npz_file_data(cli, write_spec, tmp_path):
    np.savez(tmp_path / "data.npz", a=np.ones((20, 3)), b=np.ones((20, 5, 2)), out=np.zeros((20, 2)))
    path = npz_spec(write_spec)
    result = cli("train", path, "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.stderr
    evaluated = cli("evaluate", path, "--run", tmp_path / "run", "--json")
    assert evaluated.exit_code == 0 and "loss" in json.loads(evaluated.stdout)


def test_npz_missing_array_and_bad_shape(cli, write_spec, tmp_path):
    path = npz_spec(write_spec)
    text = path.read_text()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "data.npz" in row)
    where = column_of(text, line, "data.npz")
    np.savez(tmp_path / "data.npz", a=np.ones((20, 3)), out=np.zeros((20, 2)))
    result = cli("train", path, "--out", tmp_path / "r1")
    assert_located_error(result, path, line, where, f"'{tmp_path / 'data.npz'}' has no array 'b' (it has: a, out)")
    np.savez(tmp_path / "data.npz", a=np.ones((20, 4)), b=np.ones((20, 5, 2)), out=np.zeros((20, 2)))
    result = cli("train", path, "--out", tmp_path / "r2")
    assert_located_error(
        result,
        path,
        line,
        where,
        f"array 'a' in '{tmp_path / 'data.npz'}' has shape (20, 4), but the model takes (N, 3)",
    )


def test_npz_files_are_checked_before_their_arrays_are_loaded(cli, write_spec, tmp_path):
    """Shapes come from the array headers: a file whose header claims more rows than the machine
    has memory is refused without allocating, and a file that is no .npz says so."""
    import io
    import zipfile

    path = npz_spec(write_spec)
    text = path.read_text()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "data.npz" in row)
    where = column_of(text, line, "data.npz")
    with zipfile.ZipFile(tmp_path / "data.npz", "w") as archive:
        for name, shape in (("a", (10**11, 3)), ("b", (10**11, 5, 2)), ("out", (10**11, 2))):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
            archive.writestr(f"{name}.npy", header.getvalue() + b"\0" * 64)  # a few bytes of data, a huge claim
    result = cli("train", path, "--out", tmp_path / "r1")
    assert result.exit_code == 2
    assert (
        f"{path}:{line}:{where}: error: the arrays of '{tmp_path / 'data.npz'}' would take 5,587.9 GiB, more than this machine's"
        in result.stderr
    )

    np.save(tmp_path / "data.npy", np.ones((20, 3)))
    (tmp_path / "data.npy").rename(tmp_path / "data.npz")
    result = cli("train", path, "--out", tmp_path / "r2")
    assert_located_error(result, path, line, where, f"'{tmp_path / 'data.npz'}' is not a .npz archive")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_csv_file_data(cli, write_spec, tmp_path):
    rows = ["x_0,x_1,y"] + [f"{i},{i + 1},{i % 2}" for i in range(12)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    path = write_spec(
        "name: csvmodel\ninputs:\n  x: {shape: [2]}\nlayers:\n  - {type: Dense, name: y, units: 1, activation: sigmoid}\n"
        "outputs: y\ncompile: {optimizer: sgd, loss: binary_crossentropy}\ndata: {file: table.csv}\n"
    )
    assert cli("train", path, "--out", tmp_path / "run", "--quiet").exit_code == 0
    (tmp_path / "table.csv").write_text("x_0,y\n1,0\n")
    result = cli("train", path, "--out", tmp_path / "run2")
    assert result.exit_code == 2 and "has no array 'x'" in result.stderr


def test_csv_values_are_checked_where_they_are(cli, write_spec, tmp_path):
    """A bad value is named by line and column; columns the model does not take are not read,
    so they may hold text."""
    path = write_spec(
        "name: csvmodel\ninputs:\n  x: {shape: [2]}\nlayers:\n  - {type: Dense, name: y, units: 1}\n"
        "outputs: y\ncompile: {optimizer: sgd, loss: mse}\ndata: {file: table.csv}\n"
    )
    table = tmp_path / "table.csv"
    table.write_text("id,x_0,x_1,y\n" + "".join(f"row-{i},{i},{i + 1},{i / 10}\n" for i in range(8)))
    assert cli("train", path, "--out", tmp_path / "run", "--quiet").exit_code == 0
    predicted = cli("predict", path, "--run", tmp_path / "run", "--out", tmp_path / "p.npz")
    assert predicted.exit_code == 0 and np.load(tmp_path / "p.npz")["y"].shape == (8, 1)

    table.write_text("id,x_0,x_1,y\nA,1,2,0.5\nB,3,three,0.5\n")
    result = cli("train", path, "--out", tmp_path / "run2")
    assert result.exit_code == 2 and f"'{table}' line 3, column 'x_1': 'three' is not a number" in result.stderr
    table.write_text("id,x_0,x_1,y\nA,1,2,0.5\nB,3\n")
    result = cli("train", path, "--out", tmp_path / "run3")
    assert result.exit_code == 2 and f"'{table}' line 3 has 2 fields, but column 'x_1' is field 3" in result.stderr


def test_evaluate_refuses_a_model_of_another_spec(cli, tmp_path):
    run = tmp_path / "run"
    train(cli, SPECS / "ticket_classifier.yaml", run)
    result = cli("evaluate", SPECS / "my_example_model.yaml", "--run", run)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{run / 'spec.resolved.yaml'}: error: the model is a Functional model, but the spec is sequential"
    )
    other = cli("evaluate", SPECS / "autoencoder.yaml", "--run", run)
    assert other.exit_code == 2
    assert other.stderr.startswith(
        f"{run / 'spec.resolved.yaml'}: error: the model's inputs (title, text_body, tags) do not match the spec's (image)"
    )


def test_resolved_spec_repeats_the_run(cli, tmp_path):
    run = tmp_path / "run"
    train(cli, SPECS / "ticket_classifier.yaml", run, "--set", "layers.hidden.units=32")
    resolved = run / "spec.resolved.yaml"
    text = resolved.read_text()
    assert "${" not in text and "units: 32" in text
    assert cli("validate", resolved).exit_code == 0


def test_resolved_spec_finds_included_specs_and_data_files(cli, write_spec, tmp_path):
    """Includes and data files are written relative to the run directory: the resolved spec
    builds the same model and reads the same data from there."""
    run = tmp_path / "runs" / "autoencoder"
    train(cli, SPECS / "autoencoder.yaml", run)
    resolved = run / "spec.resolved.yaml"
    assert cli("validate", resolved).exit_code == 0
    original, again = (
        json.loads(cli("summary", s, "--json").stdout)["params"] for s in (SPECS / "autoencoder.yaml", resolved)
    )
    assert original == again and original["total"] > 0

    np.savez(tmp_path / "data.npz", a=np.ones((20, 3)), b=np.ones((20, 5, 2)), out=np.zeros((20, 2)))
    path = npz_spec(write_spec)
    train(cli, path, tmp_path / "runs" / "npz")
    data_run = tmp_path / "runs" / "npz" / "spec.resolved.yaml"
    assert "file: ../../data.npz" in data_run.read_text()
    retrained = cli("train", data_run, "--epochs", "1", "--out", tmp_path / "again", "--quiet")
    assert retrained.exit_code == 0, retrained.stderr


def test_streamed_and_in_memory_data_are_the_same_draws(monkeypatch):
    import kerasspec.data as data
    from kerasspec import load
    from kerasspec._keras import import_keras

    spec = load(SPECS / "ticket_classifier.yaml")
    model = spec.build()
    inputs, targets = data.plan_columns(spec, model)
    plan = data.Synthetic(model, inputs, targets, samples=50, batch_size=16, seed=3)
    in_memory = data.make_synthetic(import_keras(), plan)
    monkeypatch.setattr(data, "IN_MEMORY_BYTES", 0)
    streamed = data.make_synthetic(import_keras(), plan)["x"]
    assert isinstance(streamed, keras.utils.PyDataset) and len(streamed) == 4
    batches = [streamed[i] for i in range(len(streamed))]
    for name in ("title", "text_body", "tags"):
        assert np.array_equal(np.concatenate([b[0][name] for b in batches]), in_memory["x"][name])
    for name in ("priority", "department"):
        assert np.array_equal(np.concatenate([b[1][name] for b in batches]), in_memory["y"][name])


def test_training_on_streamed_data(cli, tmp_path, monkeypatch):
    import kerasspec.data as data

    monkeypatch.setattr(data, "IN_MEMORY_BYTES", 0)
    run = tmp_path / "run"
    train(cli, SPECS / "mnist_convnet.yaml", run)  # validation_split 0.1: a second, held-out stream
    history = json.loads((run / "history.json").read_text())["history"]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history)


def test_history_plot_is_drawn_by_the_helper_process(tmp_path, monkeypatch):
    """The helper started before TensorFlow draws history.png; if it is gone, the same file is
    drawn in-process."""
    from kerasspec.render import history

    history_values = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "accuracy": [0.4, 0.6]}
    plotter = history.HistoryPlotter()
    drawn_here = []
    monkeypatch.setattr(history, "plot_history", lambda *args: drawn_here.append(args))
    plotter.submit(history_values, tmp_path / "a.png", "helper")
    plotter.finish()
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG") and not drawn_here

    monkeypatch.undo()
    gone = history.HistoryPlotter()
    assert gone.process is not None
    gone.process.kill()
    gone.submit(history_values, tmp_path / "b.png", "fallback")
    gone.finish()
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")

    unused = history.HistoryPlotter()  # zero epochs: nothing to draw, and the helper is stopped
    helper = unused.process
    assert helper is not None
    unused.finish()
    assert unused.process is None and helper.poll() is not None


def test_seed_out_of_range_is_refused_before_anything_runs(cli, tmp_path):
    result = cli("train", SPECS / "ticket_classifier.yaml", "--seed", "-1", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "'--seed': -1 is not in the range 0<=x<=4294967295" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_batch_too_large_to_draw_is_refused_at_its_cause(cli, write_spec, tmp_path):
    """Synthetic batches are drawn whole: a null dimension made enormous, or an enormous input,
    is refused before anything is allocated, at the key that makes it so."""
    text = (
        "name: seq\ninput: {shape: [null, 8]}\nlayers:\n  - {type: GlobalAveragePooling1D}\n"
        "compile: {optimizer: sgd, loss: mse}\ndata:\n  sequence_length: 100000000\n"
    )
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "run")
    assert_located_error(
        result,
        spec,
        7,
        column_of(text, 7, "100000000"),
        "one batch of synthetic data would take 95.4 GiB (32 rows of 3,200,000,032 bytes); the limit is 4 GiB",
    )
    assert "hint: lower --batch-size or train.batch_size or data.sequence_length" in result.stderr
    assert not (tmp_path / "run").exists()

    wide = (
        "name: wide\ninput: {shape: [100000, 100000]}\nlayers:\n  - {type: GlobalAveragePooling1D}\n"
        "compile: {optimizer: sgd, loss: mse}\n"
    )
    spec = write_spec(wide)
    assert cli("summary", spec).exit_code == 0  # building it symbolically allocates nothing
    result = cli("train", spec, "--batch-size", "2", "--out", tmp_path / "run")
    assert_located_error(
        result,
        spec,
        2,
        column_of(wide, 2, "[100000"),
        "one batch of synthetic data would take 74.5 GiB (2 rows of 40,000,400,000 bytes); the limit is 4 GiB",
    )
    assert not (tmp_path / "run").exists()
    short = wide.replace("{shape: [100000, 100000]}", "[100000, 100000]")  # the shorthand input form
    spec = write_spec(short, "short.yaml")
    result = cli("train", spec, "--batch-size", "2", "--out", tmp_path / "run")
    assert_located_error(
        result,
        spec,
        2,
        column_of(short, 2, "[100000"),
        "one batch of synthetic data would take 74.5 GiB (2 rows of 40,000,400,000 bytes); the limit is 4 GiB",
    )


def test_a_callback_whose_package_is_missing_is_refused_at_its_type(cli, write_spec, tmp_path, monkeypatch):
    from kerasspec import runner

    monkeypatch.setitem(runner.CALLBACK_PACKAGES, "TensorBoard", "tensorboard_not_installed_here")
    text = (
        "name: cb\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\ncompile: {optimizer: sgd, loss: mse}\n"
        "train:\n  callbacks:\n    - {type: TensorBoard, log_dir: logs}\n"
    )
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "run", "--samples", "8")
    assert_located_error(
        result,
        spec,
        8,
        column_of(text, 8, "TensorBoard"),
        "the TensorBoard callback needs the 'tensorboard_not_installed_here' package, which is not installed",
    )
    assert not (tmp_path / "run").exists()


def test_a_callback_keras_refuses_leaves_no_run_directory(cli, write_spec, tmp_path):
    text = (
        "name: cb\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\ncompile: {optimizer: sgd, loss: mse}\n"
        "train:\n  validation_split: 0.25\n  callbacks:\n    - {type: ReduceLROnPlateau, factor: 2.0}\n"
    )
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "run", "--samples", "8")
    assert_located_error(
        result,
        spec,
        9,
        column_of(text, 9, "factor: 2.0") + len("factor: "),
        "ReduceLROnPlateau: ReduceLROnPlateau does not support a factor >= 1.0. Received factor=2.0",
    )
    assert not (tmp_path / "run").exists()
    (tmp_path / "mine").mkdir()  # a directory the user made stays, empty as it was
    assert cli("train", spec, "--out", tmp_path / "mine", "--samples", "8").exit_code == 2
    assert (tmp_path / "mine").is_dir()


def test_the_places_a_run_writes_to_can_fail_without_a_traceback(cli, tmp_path):
    """A run directory that cannot be made, or a file that cannot be written (a full disk), is
    an error naming the path, exit 2; the temporary file is gone and nothing is left half-made."""
    import errno

    from kerasspec.errors import SpecError
    from kerasspec.files import write_new_file

    (tmp_path / "a_file").write_text("")
    result = cli("train", SPECS / "encoder.yaml", "--samples", "16", "--out", tmp_path / "a_file" / "run")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'a_file' / 'run'}: error: cannot create the run directory: Not a directory\n"

    def full_disk(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SpecError, match="cannot write the file: No space left on device") as raised:
        write_new_file(tmp_path / "out.npz", full_disk)
    assert raised.value.render() == f"{tmp_path / 'out.npz'}: error: cannot write the file: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_a_spec_with_nothing_to_minimize_is_located_and_writes_no_run(cli, write_spec, tmp_path, loop):
    text = "name: noloss\ninputs: {x: {shape: [4]}}\nlayers:\n  - {type: Dense, name: out, units: 2}\noutputs: out\ndata: {samples: 8}\ncompile: {optimizer: adam}\n"
    spec = write_spec(text)
    run = tmp_path / "run"
    result = cli("train", spec, "--out", run, "--loop", loop, "-q")
    assert_located_error(
        result,
        spec,
        7,
        1,
        "the spec has nothing to minimize: no `compile.loss`, no `train.step`, and no layer adds a loss",
    )
    assert not run.exists()
