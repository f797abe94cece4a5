"""`kerasspec export` through the CLI: each format is loaded by its own runtime (TensorFlow's
SavedModel serving signature, onnxruntime, the LiteRT interpreter) and its outputs compared with
`predict`'s on the same batch: a multi-input multi-output spec and two convnets in every format;
a recurrent model with integer inputs and a string-input model where a format cannot take them.

Tolerances (absolute, on float32 outputs of magnitude at most 1 here): the SavedModel runs
TensorFlow's own kernels on the same graph, 1e-6; ONNX Runtime and LiteRT (XNNPACK) run other
kernels, whose sums are ordered differently, 1e-5. Measured on this machine: 0 for the SavedModel,
at most 3.6e-7 for ONNX and 6.0e-7 for LiteRT.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SPECS
from typer.testing import CliRunner

from kerasspec.cli import app

keras = pytest.importorskip("keras")

TOLERANCE = {"saved_model": 1e-6, "onnx": 1e-5, "litert": 1e-5}
BATCH = 5  # not 1: the artifacts take any batch size
# spec, its inputs by name, its outputs by name (as predict writes them)
# image_classification: random augmentation layers, which Keras's own `model.export` serves in
# training mode (their call's default) unless training=False is part of the exported graph.
MODELS = {
    "ticket_classifier": (["title", "text_body", "tags"], ["priority", "department"]),
    "mnist_convnet": (["input"], ["class_probabilities"]),
    "image_classification": (["image"], ["logits"]),
}


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """One run of each spec (1 epoch, 64 samples), shared by this module's tests."""
    runs = {}
    for name in MODELS:
        run = tmp_path_factory.mktemp("runs") / name
        result = invoke(
            "train",
            SPECS / f"{name}.yaml",
            "--epochs",
            "1",
            "--samples",
            "64",
            "--batch-size",
            "16",
            "-q",
            "--out",
            run,
        )
        assert result.exit_code == 0, result.stderr
        runs[name] = run
    return runs


def as_declared(values: object) -> np.ndarray:
    """An input array as the artifacts declare it: float32, int32 or strings (the specs' dtypes)."""
    array = np.asarray(values)
    if array.dtype.kind in "OSU":
        return array.astype(object)
    return array.astype(np.int32 if np.issubdtype(array.dtype, np.integer) else np.float32)


def batch_and_predictions(
    name: str | Path, run: Path, tmp_path: Path, inputs: list[str], *code: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The spec's (a bundled spec's name, or a file) first BATCH rows of data by input name, and
    what `kerasspec predict` writes for them (`code`: --allow-code)."""
    from kerasspec.commands import SpecOptions, TrainedOptions, load_spec, load_trained

    path = name if isinstance(name, Path) else SPECS / f"{name}.yaml"
    out = tmp_path / "predictions.npz"
    result = invoke("predict", path, "--run", run, "--samples", BATCH, "--out", out, *code)
    assert result.exit_code == 0, result.stderr
    with np.load(out, allow_pickle=False) as archive:
        predicted = {k: archive[k] for k in archive.files}
    spec = load_spec(path, SpecOptions(allow_code=bool(code)))  # the draws predict made: same spec, seed and rows
    x = load_trained(spec, TrainedOptions(run=run, samples=BATCH)).datasets(with_targets=False)["x"]
    batch = {k: as_declared(v) for k, v in (x.items() if isinstance(x, dict) else [(inputs[0], x)])}
    assert sorted(batch) == sorted(inputs)
    return batch, predicted


def run_saved_model(path: Path, batch: dict[str, np.ndarray]) -> tuple[list[str], dict[str, np.ndarray]]:
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    _, specs = serve.structured_input_signature
    assert all(spec.shape[0] is None for spec in specs.values())
    outputs = serve(**{k: tf.constant(v) for k, v in batch.items()})
    return sorted(specs), {k: v.numpy() for k, v in outputs.items()}


def run_onnx(path: Path, batch: dict[str, np.ndarray]) -> tuple[list[str], dict[str, np.ndarray]]:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert all(not isinstance(i.shape[0], int) for i in session.get_inputs())  # a free batch dimension
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, batch)
    return sorted(i.name for i in session.get_inputs()), dict(zip(names, values))


def run_litert(path: Path, batch: dict[str, np.ndarray]) -> tuple[list[str], dict[str, np.ndarray]]:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow's own copy of the interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    signature = interpreter.get_signature_list()["serving_default"]
    assert all(d["shape_signature"][0] == -1 for d in interpreter.get_input_details())
    outputs = interpreter.get_signature_runner("serving_default")(**batch)
    return sorted(signature["inputs"]), {k: np.asarray(v) for k, v in outputs.items()}


RUNTIMES = {"saved_model": run_saved_model, "onnx": run_onnx, "litert": run_litert}
# How each format is asked for: saved_model by default, onnx by -o's extension, litert by name.
ASKED = {"saved_model": ("model", []), "onnx": ("model.onnx", []), "litert": ("model.tflite", ["--format", "litert"])}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(RUNTIMES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_format_runs_in_its_runtime_as_predict_does(trained, tmp_path, name, fmt):
    out_name, flags = ASKED[fmt]
    out = tmp_path / out_name
    result = invoke("export", SPECS / f"{name}.yaml", "--run", trained[name], "-o", out, *flags)
    assert result.exit_code == 0, result.stderr
    inputs, outputs = MODELS[name]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {out} ({fmt}, ") and lines[0].endswith(" bytes)")
    assert lines[1].startswith("  inputs:  ") and re.findall(r"(\w+) \(None, ", lines[1]) == inputs
    assert lines[2].startswith("  outputs: ") and re.findall(r"(\w+) \(None, ", lines[2]) == outputs
    assert sorted(p.name for p in tmp_path.iterdir()) == [out_name]  # no temporary left beside it

    batch, predicted = batch_and_predictions(name, trained[name], tmp_path, inputs)
    names, got = RUNTIMES[fmt](out, batch)
    assert names == sorted(inputs)
    assert sorted(got) == sorted(outputs) == sorted(predicted)
    for key in outputs:
        assert got[key].shape == predicted[key].shape == (BATCH, *predicted[key].shape[1:])
        difference = float(np.max(np.abs(got[key] - predicted[key])))
        assert difference <= TOLERANCE[fmt], (key, difference)


def test_bad_input_is_one_located_line_and_writes_nothing(trained, tmp_path):
    ticket, run = SPECS / "ticket_classifier.yaml", trained["ticket_classifier"]
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken.onnx").write_text("mine")
    cases = [
        (
            ["--run", run, "-o", tmp_path / "m", "--format", "onxx"],
            "--format: error: unknown --format 'onxx'; choose saved_model, onnx or litert; did you mean 'onnx'?",
        ),
        (["--run", run, "-o", tmp_path / "taken"], f"{tmp_path / 'taken'}: error: exists; export never replaces"),
        (["--run", run, "-o", tmp_path / "taken.onnx"], f"{tmp_path / 'taken.onnx'}: error: exists; "),
        (
            ["--run", run, "-o", tmp_path / "no" / "m"],
            f"{tmp_path / 'no' / 'm'}: error: directory '{tmp_path / 'no'}' does not exist",
        ),
        (
            ["--run", run, "-o", tmp_path / "m.tflite", "--format", "onnx"],
            f"{tmp_path / 'm.tflite'}: error: onnx is written as a .onnx file; name it *.onnx",
        ),
        (
            ["--run", run, "-o", tmp_path / "m.onnx", "--format", "saved_model"],
            f"{tmp_path / 'm.onnx'}: error: saved_model is written as a directory",
        ),
        (
            ["--run", tmp_path / "nowhere", "-o", tmp_path / "m"],
            f"{tmp_path / 'nowhere' / 'model.keras'}: error: no such model file",
        ),
        (["-o", tmp_path / "m"], "--model: error: give the trained model with --model RUN/model.keras or --run RUN"),
    ]
    for args, expected in cases:
        result = invoke("export", ticket, *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.stderr and result.stdout == ""
        errors = [line for line in result.stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1 and expected in errors[0], (expected, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "taken.onnx"]
    assert (tmp_path / "taken.onnx").read_text() == "mine" and list((tmp_path / "taken").iterdir()) == []


def test_a_run_of_another_spec_is_refused(trained, tmp_path):
    run = trained["ticket_classifier"]
    result = invoke("export", SPECS / "mnist_convnet.yaml", "--run", run, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"{run / 'spec.resolved.yaml'}: error: the model is a Functional model, but the spec is sequential"
    )
    other = invoke("export", SPECS / "autoencoder.yaml", "--run", run, "-o", tmp_path / "m.onnx")
    assert other.exit_code == 2
    assert other.stderr.startswith(
        f"{run / 'spec.resolved.yaml'}: error: the model's inputs (title, text_body, tags) do not match the spec's (image)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt, out_name", [("saved_model", "m"), ("onnx", "m.onnx"), ("litert", "m.tflite")])
def test_a_failed_export_leaves_nothing_behind(trained, tmp_path, monkeypatch, fmt, out_name):
    """The converter dies half-way through writing: no OUT, no temporary beside it."""

    def half_written(self, filepath, format, **kwargs):
        path = Path(filepath)
        if format == "tf_saved_model":
            (path / "variables").mkdir(parents=True)
            (path / "saved_model.pb").write_bytes(b"half")
        else:
            path.write_bytes(b"half")
        raise ValueError(f"cannot convert op 'Foo' to {format}")

    monkeypatch.setattr(keras.Model, "export", half_written)
    out = tmp_path / out_name
    result = invoke(
        "export", SPECS / "mnist_convnet.yaml", "--run", trained["mnist_convnet"], "-o", out, "--format", fmt
    )
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert (
        result.stderr.splitlines()[0]
        == f"{out}: error: {fmt} export failed: cannot convert op 'Foo' to {fmt if fmt != 'saved_model' else 'tf_saved_model'}"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_missing_converter_names_the_extra(trained, tmp_path, monkeypatch):
    import importlib.util

    import kerasspec.export

    found = importlib.util.find_spec
    monkeypatch.setattr(
        kerasspec.export.importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else found(name, *a)
    )
    result = invoke(
        "export", SPECS / "mnist_convnet.yaml", "--run", trained["mnist_convnet"], "-o", tmp_path / "m.onnx"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "kerasspec export --format onnx needs tf2onnx, which is not installed here; "
        "install with: pip install 'kerasspec[export]'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_saved_model_file_exports_as_a_run_does(trained, tmp_path):
    """--model RUN/model.keras (loaded in safe mode): a loaded Sequential, named as the spec names it."""
    out = tmp_path / "m.tflite"
    result = invoke(
        "export", SPECS / "mnist_convnet.yaml", "--model", trained["mnist_convnet"] / "model.keras", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "  inputs:  input (None, 28, 28, 1) float32",
        "  outputs: class_probabilities (None, 10) float32",
    ]
    batch, predicted = batch_and_predictions("mnist_convnet", trained["mnist_convnet"], tmp_path, ["input"])
    _, got = run_litert(out, batch)
    assert float(np.max(np.abs(got["class_probabilities"] - predicted["class_probabilities"]))) <= TOLERANCE["litert"]


def test_a_recurrent_model_with_integer_inputs(tmp_path):
    """siamese_similarity: int32 token inputs, an Embedding and an LSTM shared by both. ONNX runs
    it as predict does. Its LSTM loops over a free batch dimension, which LiteRT's built-in ops
    cannot express (TensorListReserve needs a static element shape): the .tflite calls
    TensorFlow's ops through the Flex delegate, export says so, and the plain interpreter
    indeed refuses it."""
    name, run = "siamese_similarity", tmp_path / "run"
    trained = invoke("train", SPECS / f"{name}.yaml", "--epochs", "1", "--samples", "32", "-q", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    batch, predicted = batch_and_predictions(name, run, tmp_path, ["left", "right"])
    assert {k: v.dtype for k, v in batch.items()} == {"left": np.int32, "right": np.int32}
    result = invoke("export", SPECS / f"{name}.yaml", "--run", run, "-o", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.stderr
    _, got = run_onnx(tmp_path / "m.onnx", batch)
    assert float(np.max(np.abs(got["similar"] - predicted["similar"]))) <= TOLERANCE["onnx"]

    out = tmp_path / "m.tflite"
    result = invoke("export", SPECS / f"{name}.yaml", "--run", run, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(
        f"{out}: note: it calls TensorFlow ops that LiteRT's built-in set lacks (FlexTensorListReserve, "
    )
    with pytest.raises(RuntimeError, match="Flex delegate"):
        run_litert(out, batch)


def test_a_string_input_model(tmp_path):
    """A StringLookup over a string input: the SavedModel and LiteRT (its hash tables are
    built-in ops) take strings and match predict; tf2onnx cannot convert the lookup table, and
    writes the TensorFlow op as it was (onnxruntime refuses the file): export refuses it, naming
    the op, and leaves nothing."""
    from test_data_sources import STRING_SPEC

    spec, run = tmp_path / "thal.yaml", tmp_path / "run"
    spec.write_text(STRING_SPEC.lstrip(), encoding="utf-8")
    trained = invoke("train", spec, "--samples", "40", "-q", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    batch, predicted = batch_and_predictions(spec, run, tmp_path, ["thal", "age"])
    assert batch["thal"].dtype == object
    for fmt, out in [("saved_model", tmp_path / "m"), ("litert", tmp_path / "m.tflite")]:
        result = invoke("export", spec, "--run", run, "-o", out)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines()[1] == "  inputs:  thal (None, 1) string, age (None, 1) float32"
        _, got = RUNTIMES[fmt](out, batch)
        assert float(np.max(np.abs(got["target"] - predicted["target"]))) <= TOLERANCE[fmt]

    out = tmp_path / "m.onnx"
    result = invoke("export", spec, "--run", run, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{out}: error: onnx export failed: tf2onnx left TensorFlow ops that ONNX has no operator for: "
        "LookupTableFindV2\n  hint: the other formats may take this model\n"
    )
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_subclassed_model(tmp_path):
    """specs/code/ticket_subclass.yaml (--allow-code): a keras.Model subclass called on a dict of
    its inputs and returning a dict; its ONNX export runs as predict does, by the same names."""
    spec, run, out = SPECS / "code" / "ticket_subclass.yaml", tmp_path / "run", tmp_path / "m.onnx"
    trained = invoke("train", spec, "--allow-code", "--epochs", "1", "--samples", "32", "-q", "--out", run)
    assert trained.exit_code == 0, trained.stderr
    result = invoke("export", spec, "--allow-code", "--run", run, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2] == "  outputs: priority (None, 1) float32, department (None, 4) float32"
    batch, predicted = batch_and_predictions(spec, run, tmp_path, ["title", "text_body", "tags"], "--allow-code")
    names, got = run_onnx(out, batch)
    assert names == ["tags", "text_body", "title"] and sorted(got) == sorted(predicted)
    for key in predicted:
        assert float(np.max(np.abs(got[key] - predicted[key]))) <= TOLERANCE["onnx"]
