"""`data.images` / `data.text` through the CLI, on folders the tests write: train (both loops),
evaluate, predict, `--samples`, validation split, repeat from spec.resolved.yaml; each bad
folder one located line, exit 2, no run directory."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import assert_located_error, column_of

keras = pytest.importorskip("keras")

IMAGE_SPEC = """
name: pets
input: {{shape: [8, 8, 3]}}
layers:
  - {{type: Rescaling, scale: 0.00392}}
  - {{type: Flatten}}
  - {{type: Dense, name: out, units: {units}, activation: {activation}}}
compile: {{optimizer: adam, loss: {loss}, metrics: [accuracy]}}
train: {{epochs: 1, batch_size: 4}}
data:
  images: {{directory: pets, image_size: [8, 8]}}
"""
BINARY = {"units": 1, "activation": "sigmoid", "loss": "binary_crossentropy"}
SPARSE = {"units": 3, "activation": "softmax", "loss": "sparse_categorical_crossentropy"}
CATEGORICAL = {"units": 3, "activation": "softmax", "loss": "categorical_crossentropy"}

TEXT_SPEC = """
name: reviews
inputs:
  review: {shape: [1], dtype: string}
layers:
  - {type: TextVectorization, name: words, inputs: review, vocabulary: [good, bad, film], output_mode: multi_hot}
  - {type: Dense, name: out, units: 1, activation: sigmoid}
outputs: out
compile: {optimizer: adam, loss: binary_crossentropy}
train: {epochs: 1, batch_size: 4}
data:
  text: {directory: reviews, labels: inferred, max_length: 40}
"""


def image_spec(kind: dict, extra: str = "") -> str:
    return IMAGE_SPEC.format(**kind) + extra


def write_images(root, classes, per_class=6, size=(8, 8), mode="RGB"):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, len(mode)), dtype=np.uint8)
            Image.fromarray(pixels.squeeze(-1) if mode == "L" else pixels, mode).save(root / name / f"{i}.png")
    return root


def write_texts(root, per_class=6):
    for name, word in (("neg", "bad"), ("pos", "good")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / name / f"{i}.txt").write_text(f"a {word} film number {i}", encoding="utf-8")
    return root


def run_ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def located(result, path, text: str, row: str, at: str, message: str) -> None:
    line = next(i for i, r in enumerate(text.lstrip("\n").splitlines(), 1) if row in r)
    assert_located_error(result, path, line, column_of(text, line, at), message)


@pytest.mark.parametrize("loop", ["fit", "custom"])
@pytest.mark.parametrize("kind", [BINARY, SPARSE], ids=["binary", "sparse"])
def test_train_evaluate_predict_from_an_image_folder(cli, write_spec, tmp_path, loop, kind):
    classes = ["cat", "dog"] if kind is BINARY else ["cat", "dog", "fox"]
    write_images(tmp_path / "pets", classes)
    path = write_spec(image_spec(kind))
    run = tmp_path / "run"
    result = run_ok(cli("train", path, "--out", run, "--quiet", "--loop", loop))
    assert "first" not in result.stderr  # every file, nothing said
    history = json.loads((run / "history.json").read_text())["history"]
    assert np.isfinite(history["loss"][0]) and "accuracy" in history
    evaluated = run_ok(cli("evaluate", path, "--run", run, "--json", "--loop", loop))
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])
    rows = 6 * len(classes)
    assert f"evaluation on {rows} samples" in run_ok(cli("evaluate", path, "--run", run)).stdout
    out = tmp_path / "p.npz"
    run_ok(cli("predict", path, "--run", run, "--out", out))
    with np.load(out) as archive:
        assert archive["out"].shape == (rows, kind["units"])


def test_categorical_labels_and_validation_split(cli, write_spec, tmp_path):
    write_images(tmp_path / "pets", ["cat", "dog", "fox"], per_class=4)
    text = image_spec(CATEGORICAL).replace("batch_size: 4}", "batch_size: 4, validation_split: 0.25}")
    path = write_spec(text)
    run = tmp_path / "run"
    run_ok(cli("train", path, "--out", run, "--quiet"))
    history = json.loads((run / "history.json").read_text())["history"]
    assert np.isfinite(history["val_loss"][0])
    custom = tmp_path / "custom"
    run_ok(cli("train", path, "--out", custom, "--quiet", "--loop", "custom"))
    assert np.isfinite(json.loads((custom / "history.json").read_text())["history"]["val_loss"][0])


def test_samples_takes_the_first_files_and_says_so(cli, write_spec, tmp_path):
    write_images(tmp_path / "pets", ["cat", "dog"])
    path = write_spec(image_spec(BINARY))
    result = run_ok(cli("train", path, "--samples", "5", "--out", tmp_path / "run", "--quiet"))
    assert "data: the first 5 of 12 files of pets" in result.stderr
    evaluated = run_ok(cli("evaluate", path, "--run", tmp_path / "run", "--samples", "7"))
    assert "evaluation on 7 samples" in evaluated.stdout
    from_spec = write_spec(image_spec(BINARY, extra="  samples: 8\n"), "s.yaml")
    result = run_ok(cli("train", from_spec, "--out", tmp_path / "run2", "--quiet", "--loop", "custom"))
    assert "data: the first 8 of 12 files of pets" in result.stderr


def test_a_run_repeats_from_its_resolved_spec_elsewhere(cli, write_spec, tmp_path, monkeypatch):
    """The directory is rewritten relative to the run, so the resolved spec trains the same."""
    write_images(tmp_path / "pets", ["cat", "dog"])
    path = write_spec(image_spec(BINARY))
    run = tmp_path / "runs" / "first"
    run_ok(cli("train", path, "--out", run, "--quiet", "--samples", "8"))
    resolved = (run / "spec.resolved.yaml").read_text()
    assert "directory: ../../pets" in resolved and "samples: 8" in resolved
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    again = tmp_path / "again"
    run_ok(cli("train", run / "spec.resolved.yaml", "--out", again, "--quiet"))
    first = json.loads((run / "history.json").read_text())["history"]
    assert json.loads((again / "history.json").read_text())["history"] == first
    unsampled = write_spec(image_spec(BINARY), "all.yaml")
    run_ok(cli("train", unsampled, "--out", tmp_path / "all", "--quiet"))
    assert "samples" not in (tmp_path / "all" / "spec.resolved.yaml").read_text().split("data:")[1]


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_text_folder_trains_evaluates_predicts(cli, write_spec, tmp_path, loop):
    write_texts(tmp_path / "reviews")
    path = write_spec(TEXT_SPEC)
    run = tmp_path / "run"
    run_ok(cli("train", path, "--out", run, "--quiet", "--loop", loop))
    evaluated = run_ok(cli("evaluate", path, "--run", run, "--json", "--loop", loop))
    assert np.isfinite(json.loads(evaluated.stdout)["loss"])
    out = tmp_path / "p.npz"
    run_ok(cli("predict", path, "--run", run, "--out", out, "--samples", "3"))
    with np.load(out) as archive:
        assert archive["out"].shape == (3, 1)


def test_predict_from_images_without_labels(cli, write_spec, tmp_path):
    write_images(tmp_path / "pets", ["cat", "dog"])
    path = write_spec(image_spec(BINARY))
    run = tmp_path / "run"
    run_ok(cli("train", path, "--out", run, "--quiet"))
    flat = tmp_path / "unlabelled"
    flat.mkdir()
    for i, image in enumerate(sorted((tmp_path / "pets").rglob("*.png"))[:5]):
        shutil.copy(image, flat / f"{i}.png")
    unlabelled = write_spec(
        image_spec(BINARY).replace("directory: pets", "directory: unlabelled, labels: null"), "u.yaml"
    )
    out = tmp_path / "p.npz"
    run_ok(cli("predict", unlabelled, "--run", run, "--out", out))
    with np.load(out) as archive:
        assert archive["out"].shape == (5, 1)
    result = cli("train", unlabelled, "--out", tmp_path / "nolabels", "--quiet")
    located(
        result,
        unlabelled,
        image_spec(BINARY).replace("directory: pets", "directory: unlabelled, labels: null"),
        "images:",
        "null,",
        "`data.images.labels` is null: the folder has no labels to train or evaluate on",
    )


def test_grayscale_and_passed_through_arguments(cli, write_spec, tmp_path):
    write_images(tmp_path / "pets", ["cat", "dog"], size=(10, 12), mode="L")
    text = image_spec(BINARY).replace("[8, 8, 3]", "[8, 8, 1]")
    text = text.replace("image_size: [8, 8]}", "image_size: [8, 8], color_mode: grayscale, crop_to_aspect_ratio: true}")
    run_ok(cli("train", write_spec(text), "--out", tmp_path / "run", "--quiet"))


def test_bad_folders_are_one_located_line(cli, write_spec, tmp_path):
    """Missing, not a directory, no class subfolders, no files, one class: at `directory`, for
    train and evaluate alike (before TensorFlow loads), and no run directory left. The static
    checks leave the folder alone (a spec's summary needs no data), as they do `data.file`."""
    text = image_spec(BINARY)
    path = write_spec(text)
    run = tmp_path / "run"
    pets = tmp_path / "pets"
    assert cli("validate", path).exit_code == 0
    commands = [("evaluate", path, "--run", tmp_path / "no-run"), ("train", path, "--out", run, "--quiet")]
    for command in commands:
        located(cli(*command), path, text, "images:", "pets,", f"image folder 'pets' not found (looked for {pets})")
    pets.write_text("not a folder", encoding="utf-8")
    located(cli(*commands[0]), path, text, "images:", "pets,", f"'pets' is not a directory ({pets})")
    pets.unlink()
    for setup, message in [
        (pets.mkdir, "'pets' has no class subfolders"),
        ((pets / "cat").mkdir, "the subfolders of 'pets' (cat) hold no .bmp, .gif, .jpeg, .jpg, .png files"),
    ]:
        setup()
        for command in commands:
            located(cli(*command), path, text, "images:", "pets,", message)
    write_images(pets, ["cat"])
    spec = text.replace("[8, 8]}", "[8, 8, 3]}")
    located(
        cli("train", write_spec(spec, "size.yaml"), "--out", run),
        tmp_path / "size.yaml",
        spec,
        "images:",
        "[8, 8, 3]",
        "`data.images.image_size` must be [height, width], got 3 numbers",
    )
    message = "'pets' has 1 class (cat); the binary labels the loss takes need at least two"
    located(cli(*commands[1]), path, text, "images:", "pets,", message)
    assert not run.exists()


TWO_INPUTS = """
name: two
inputs:
  a: {shape: [8, 8, 3]}
  b: {shape: [8, 8, 3]}
layers:
  - {type: Add, name: sum, inputs: [a, b]}
  - {type: Flatten, name: flat}
  - {type: Dense, name: out, units: 1, activation: sigmoid}
outputs: out
compile: {optimizer: adam, loss: binary_crossentropy}
data:
  images: {directory: pets, image_size: [8, 8]}
"""
TEXT_FOR_IMAGES = image_spec(BINARY).replace(
    "images: {directory: pets, image_size: [8, 8]}", "text: {directory: reviews}"
)


@pytest.mark.parametrize(
    ("text", "row", "at", "message"),
    [
        (
            image_spec(BINARY).replace("image_size: [8, 8]", "image_size: [6, 6]"),
            "images:",
            "[6, 6]",
            "the image folder yields images of shape (6, 6, 3) (image_size [6, 6], color_mode rgb), "
            "but input 'input' takes (8, 8, 3)",
        ),
        (
            image_spec(BINARY),
            "images:",
            "images:",
            "'pets' has 3 classes (cat, dog, fox) and output 'out' 1 unit; binary labels need 2 classes and 1 unit",
        ),
        (
            image_spec({**SPARSE, "units": 2}),
            "images:",
            "images:",
            "'pets' has 3 classes (cat, dog, fox), but output 'out' has 2 units (loss sparse_categorical_crossentropy)",
        ),
        (
            TWO_INPUTS,
            "images:",
            "images:",
            "a folder feeds one input and one output; the model has 2 inputs and 1 output",
        ),
        (
            TEXT_FOR_IMAGES,
            "text:",
            "text:",
            "a text folder yields one string per file, but input 'input' takes float32 (8, 8, 3)",
        ),
    ],
    ids=["image-size", "binary-with-3-classes", "units-not-classes", "two-inputs", "text-for-numbers"],
)
def test_folder_that_does_not_fit_the_model(cli, write_spec, tmp_path, text, row, at, message):
    write_images(tmp_path / "pets", ["cat", "dog", "fox"], per_class=2)
    write_texts(tmp_path / "reviews", per_class=2)
    path = write_spec(text)
    run = tmp_path / "run"
    located(cli("train", path, "--out", run), path, text, row, at, message)
    assert not run.exists()


def test_folder_keys_are_checked_statically(cli, write_spec, tmp_path):
    """Keys of the utility pass through; an unknown one (or one kerasspec sets) is an unknown
    key with did-you-mean; images, text and file exclude each other."""
    write_images(tmp_path / "pets", ["cat", "dog"])
    text = image_spec(BINARY).replace("image_size: [8, 8]}", "image_size: [8, 8], interpolaton: nearest}")
    path = write_spec(text)
    located(
        cli("validate", path),
        path,
        text,
        "images:",
        "interpolaton",
        "unknown images key 'interpolaton'; did you mean 'interpolation'?",
    )
    text = image_spec(BINARY) + "  file: data.npz\n"
    path = write_spec(text, "both.yaml")
    located(
        cli("validate", path),
        path,
        text,
        "file: data.npz",
        "file",
        "`data.file` and `data.images` both say where the data is; give one",
    )
    result = cli("validate", write_spec(image_spec(BINARY, "  text: {directory: pets}\n"), "t.yaml"))
    assert result.exit_code == 2 and "`data.text` and `data.images` both say where the data is" in result.stderr
    result = cli("validate", write_spec(image_spec(BINARY).replace("[8, 8]}", "[8, 8], batch_size: 2}"), "b.yaml"))
    assert (
        result.exit_code == 2
        and "`data.images.batch_size` is not given here: rows are batched by `train.batch_size`" in result.stderr
    )


@pytest.mark.parametrize("adapt", [False, True])
def test_a_file_that_is_no_image_is_named_in_one_located_line(cli, write_spec, tmp_path, adapt):
    """keras.io's PetImages holds such files: TensorFlow's decoder fails deep inside fit (or
    while a layer adapts); the error names the file, at the folder's `directory`."""
    write_images(tmp_path / "pets", ["cat", "dog"], per_class=3)
    (tmp_path / "pets" / "dog" / "broken.jpg").write_text("not an image")
    text = image_spec(BINARY)
    if adapt:
        text = text.replace("  - {type: Flatten}", "  - {type: Normalization, adapt: true}\n  - {type: Flatten}")
    path = write_spec(text)
    result = cli("train", path, "--out", tmp_path / "run")
    line = next(i for i, row in enumerate(text.lstrip("\n").splitlines(), 1) if "directory: pets" in row)
    assert_located_error(
        result,
        path,
        line,
        column_of(text.lstrip("\n"), line, "pets,"),
        "'dog/broken.jpg' in 'pets' cannot be read as an image: Unknown image file format",
    )
    assert not (tmp_path / "run").exists()
