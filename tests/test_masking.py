"""Operation nodes that are not layers, as masking adds them: `Embedding(mask_zero=True)` gives
the graph a `NotEqual` node (the mask), here at the top level and inside a nested model. Every
command that reads the graph handles it."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
from conftest import TEST_SPECS
from typer.testing import CliRunner

from kerasspec.cli import app

keras = pytest.importorskip("keras")

SPEC = TEST_SPECS / "masked_text.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run per loop, trained once for the tests below that read them."""
    directory = tmp_path_factory.mktemp("masked")
    runner = CliRunner()
    trained = {}
    for loop in ("fit", "custom"):
        run = directory / loop
        result = runner.invoke(app, ["train", str(SPEC), "--out", str(run), "--quiet", "--loop", loop])
        assert result.exit_code == 0, result.stderr
        trained[loop] = run
    return trained


def fresh(cli):
    """Each command in a process of its own, as from a shell: Keras names operation nodes it makes
    (`not_equal`, `not_equal_1`, ...) from a process-wide counter."""

    def invoke(*args):
        keras.utils.clear_session()
        return cli(*args)

    return invoke


def test_summary_shows_the_mask_as_a_row(cli):
    result = fresh(cli)("summary", SPEC, "--json", "--expand-nested")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["layers"]}
    mask = rows["not_equal"]
    assert (mask["type"], mask["params"], mask["inbound"], mask["output_shapes"]) == (
        "NotEqual",
        0,
        ["tokens"],
        [[None, None]],
    )
    assert rows["lstm"]["inbound"] == ["embed", "not_equal"]
    assert [(name, row["type"]) for name, row in rows.items() if name.startswith("bag/")] == [
        ("bag/embedding", "Embedding"),
        ("bag/global_average_pooling1d", "GlobalAveragePooling1D"),
    ]
    table = fresh(cli)("summary", SPEC)
    assert table.exit_code == 0, table.stderr
    assert "not_equal (NotEqual)" in table.stdout
    layer = fresh(cli)("summary", SPEC, "--layer", "not_equal")
    assert layer.exit_code == 0, layer.stderr
    assert layer.stdout.splitlines()[1:] == [
        "  input tokens: shape=(None, None) dtype=int32",
        "  output: shape=(None, None) dtype=bool",
    ]
    inner = fresh(cli)("summary", SPEC, "--layer", "bag/not_equal_1")  # a nested Sequential's mask
    assert inner.exit_code == 0, inner.stderr
    assert cli("validate", "--build", SPEC).exit_code == 0


def test_plot_draws_the_mask(cli, tmp_path):
    mermaid = cli("plot", SPEC, "-o", "-", "--format", "mermaid", "--show-dtype", "--expand-nested")
    assert mermaid.exit_code == 0, mermaid.stderr
    masks = [line for line in mermaid.stdout.splitlines() if "<br/>NotEqual<br/>" in line]
    assert len(masks) == 2 and all(line.endswith('(None, None)<br/>bool"]') for line in masks)
    target = tmp_path / "masked.png"
    png = cli("plot", SPEC, "-o", target, "--expand-nested", "--show-dtype", "--show-trainable")
    if png.exit_code != 0 and "Graphviz" in png.stderr:
        pytest.skip("Graphviz's dot is not installed here")
    assert png.exit_code == 0, png.stderr
    assert target.read_bytes().startswith(PNG_MAGIC)


def test_both_loops_train_on_masked_sequences(runs):
    """Synthetic tokens come from the Embedding's vocabulary, the nested model's too: drawn as
    0/1 they would mask whole rows, whose masked average is NaN."""
    for run in runs.values():
        history = json.loads((run / "history.json").read_text())["history"]
        assert history["loss"] and all(math.isfinite(v) for v in history["loss"])


def test_evaluate_and_predict_a_masked_model(cli, runs, tmp_path):
    results = {}
    for loop, run in runs.items():
        evaluated = cli("evaluate", SPEC, "--run", run, "--json", "--loop", loop)
        assert evaluated.exit_code == 0, evaluated.stderr
        results[loop] = json.loads(evaluated.stdout)
        assert sorted(results[loop]) == ["accuracy", "loss"] and math.isfinite(results[loop]["loss"])
    out = tmp_path / "p.npz"
    predicted = cli("predict", SPEC, "--run", runs["fit"], "--samples", "6", "--out", out)
    assert predicted.exit_code == 0, predicted.stderr
    with np.load(out) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"label": (6, 1)}
    with zipfile.ZipFile(runs["fit"] / "model.keras") as saved:  # the names the trained model has
        config = json.loads(saved.read("config.json"))
    mask_name = next(layer["name"] for layer in config["config"]["layers"] if layer["class_name"] == "NotEqual")
    features = tmp_path / "f.npz"
    # --model: the names the file holds (--run rebuilds, and Keras's auto names count on in one process)
    saved_model = runs["fit"] / "model.keras"
    extracted = cli(
        "predict", SPEC, "--model", saved_model, "--samples", "6", "--out", features, "--outputs", f"lstm,{mask_name}"
    )
    assert extracted.exit_code == 0, extracted.stderr
    with np.load(features) as archive:
        assert archive["lstm"].shape == (6, 5, 4)
        assert archive[mask_name].dtype == bool and archive[mask_name].shape == (6, 5)
