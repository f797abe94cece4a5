"""`kerasspec import`: a Keras model's configuration in, a readable spec out, and the spec builds
the very same model (parameter counts, shapes, every layer's class and whole config, the wiring).

The model files read here are plain configurations: nothing in them is run. Bad input is one
located line, exit 2, no traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
import zipfile

import pytest
import yaml
from conftest import assert_located_error, error_lines

import kerasspec
from kerasspec.importer.compare import model_differences

keras = pytest.importorskip("keras")
layers = keras.layers

# The 40 model functions of keras.applications; the small ones run with every test run, the rest
# in the slow set (`benchmarks/import_roundtrip.py` reports all 40 in one go).
APPLICATIONS = sorted(
    name for name in dir(keras.applications) if name[:1].isupper() and callable(getattr(keras.applications, name))
)
QUICK = {"ResNet50", "MobileNetV3Small", "ConvNeXtTiny"}  # plain, op nodes, nested models + LayerScale


def test_there_are_forty_applications():
    assert len(APPLICATIONS) == 40


def imported(cli, source, path):
    result = cli("import", source, "-o", path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {path}\n"
    return path


def application(name):
    with keras.StatelessScope(initialize_variables=False):  # only shapes: nothing is allocated
        return getattr(keras.applications, name)(weights=None)


@pytest.mark.parametrize("name", [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in APPLICATIONS])
def test_application_round_trip(cli, tmp_path, name):
    """import, validate, then build: the same model as keras.applications builds, to the last key
    of every layer's config and of the model's own (the wiring)."""
    keras.utils.clear_session()
    path = imported(cli, f"keras.applications:{name}", tmp_path / "model.yaml")
    theirs = application(name)  # Keras numbers unnamed layers afresh after the import's clear_session
    assert cli("validate", path).exit_code == 0
    ours = kerasspec.load(path).build()
    assert model_differences(ours, theirs) == []
    keras.utils.clear_session()


def _entries(document):
    for entry in document["layers"]:
        yield entry
        inner = entry.get("spec", entry)
        if isinstance(inner, dict) and "layers" in inner and inner is not document:
            yield from _entries(inner)


def test_resnet50_writes_no_keyword_it_could_leave_out(cli, tmp_path):
    """Every keyword written changes the layer: made without it, Keras gives another value for
    it (its default, or one that follows from the other keywords, as MaxPooling2D's strides
    follow pool_size). Required keywords are written always."""
    path = imported(cli, "keras.applications:ResNet50", tmp_path / "resnet50.yaml")
    document = yaml.safe_load(path.read_text())
    reserved = {"type", "name", "inputs", "call"}
    checked = 0
    for entry in _entries(document):
        cls = getattr(layers, entry["type"])
        keywords = {k: v for k, v in entry.items() if k not in reserved}
        written = keras.saving.serialize_keras_object(cls(**keywords))["config"]
        for key in keywords:
            without = {k: v for k, v in keywords.items() if k != key}
            try:
                left_out = keras.saving.serialize_keras_object(cls(**without))["config"]
            except TypeError:  # a required argument
                continue
            assert json.dumps(left_out.get(key)) != json.dumps(written[key]), (entry["name"], key)
            checked += 1
    assert checked > 100
    text = path.read_text()
    assert "DTypePolicy" not in text and "trainable" not in text and "GlorotUniform" not in text
    # the entry above is left implicit: one `inputs:` per branch, not per layer
    assert text.count("inputs: ") < len(document["layers"]) / 4


PLAIN_MODEL_CODE = """
import keras
from keras import layers

def build():
    image = keras.Input((16, 16, 3), name="image")
    meta = keras.Input((4,), name="meta", dtype="float32")
    augment = keras.Sequential(
        [keras.Input((16, 16, 3)), layers.RandomFlip("horizontal"), layers.Rescaling(1 / 255)], name="augment"
    )
    x = augment(image)
    x = layers.Conv2D(8, 3, padding="same", kernel_initializer=keras.initializers.HeNormal(seed=3), name="conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name="bn")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    shared = layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4), name="shared")
    a, b = shared(x), shared(layers.Dense(8, name="meta_in")(meta))
    inner_in = keras.Input((8,), name="inner_in")
    inner = keras.Model(inner_in, [layers.Dense(2, name="p")(inner_in), layers.Dense(3, name="q")(inner_in)], name="heads")
    p, q = inner(layers.Add(name="sum")([a, b]))
    q = layers.Dropout(0.5, name="drop")(q, training=True)
    seq = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bi")(layers.Reshape((2, 4), name="r")(b))
    return keras.Model([image, meta], {"p": p, "q": q, "seq": seq}, name="two_heads")
"""


@pytest.fixture
def plain_model(tmp_path):
    """A model with what the format writes beyond a plain chain: two inputs, a nested Sequential
    and a nested functional model with two outputs, a shared layer, a call keyword, a wrapper
    layer, objects with arguments, a dependent default (strides) and dict outputs."""
    (tmp_path / "plain_model_code.py").write_text(PLAIN_MODEL_CODE)
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("plain_model_code")
        keras.utils.clear_session()
        yield module.build()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("plain_model_code", None)


@pytest.mark.parametrize("form", ["keras", "json"])
def test_model_file_round_trip(cli, tmp_path, plain_model, form):
    source = tmp_path / f"model.{form}"
    if form == "keras":
        plain_model.save(source)
    else:
        source.write_text(plain_model.to_json())
    path = imported(cli, source, tmp_path / "model.yaml")
    text = path.read_text()
    assert "- {reuse: shared, name: shared_call1, inputs: meta_in}" in text
    assert "call: {training: true}" in text
    assert (
        "layer: {type: LSTM, name: forward_lstm, return_sequences: true, zero_output_for_mask: true, units: 4}" in text
    )
    assert cli("validate", path).exit_code == 0
    assert model_differences(kerasspec.load(path).build(), plain_model) == []


def test_operation_nodes_become_op_entries(cli, tmp_path):
    """keras.ops calls and tensor arithmetic in the graph: a keyword (axis), a constant before the
    tensor (1.0 - y), a list of tensors (passed by its parameter's name), a keras.ops.image op."""
    ops = keras.ops
    keras.utils.clear_session()  # op nodes are named from Keras's counter: start it afresh
    x = keras.Input((4, 3), name="x")
    y = layers.Dense(2, name="d")(ops.mean(x, axis=1))
    joined = ops.concatenate([y, 1.0 - y], axis=-1)
    resized = ops.image.resize(ops.expand_dims(ops.expand_dims(joined, 1), -1), (4, 8))
    model = keras.Model(x, [joined, resized], name="ops_model")
    source = tmp_path / "ops.json"
    source.write_text(model.to_json())
    path = imported(cli, source, tmp_path / "ops.yaml")
    assert path.read_text().splitlines()[5:] == [
        "  - {op: mean, name: mean, axis: 1}",
        "  - {type: Dense, name: d, units: 2}",
        "  - {op: subtract, name: subtract, inputs: [1.0, d]}",
        "  - {op: concatenate, name: concatenate, inputs: {xs: [d, subtract]}, axis: -1}",
        "  - {op: expand_dims, name: expand_dims, axis: 1}",
        "  - {op: expand_dims, name: expand_dims_1, axis: -1}",
        "  - {op: image.resize, name: resize, size: [4, 8]}",
        "outputs: [concatenate, resize]",
    ]
    assert model_differences(kerasspec.load(path).build(), model) == []


CUSTOM_CODE = """
import keras

@keras.saving.register_keras_serializable(package="custom_scale_code")
class Scale(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
"""


def test_custom_layer_becomes_user_code(cli, tmp_path):
    (tmp_path / "custom_scale_code.py").write_text(CUSTOM_CODE)
    sys.path.insert(0, str(tmp_path))
    try:
        scale = importlib.import_module("custom_scale_code").Scale
        x = keras.Input((3,), name="x")
        model = keras.Model(x, scale(2.5, name="scaled")(layers.Dense(2, name="d")(x)), name="custom")
        (tmp_path / "custom.json").write_text(model.to_json())
    finally:
        sys.path.remove(str(tmp_path))
    path = imported(cli, tmp_path / "custom.json", tmp_path / "custom.yaml")
    assert '- {type: "custom_scale_code:Scale", name: scaled, factor: 2.5}' in path.read_text()
    refused = cli("validate", path)
    assert refused.exit_code == 2 and "refused without --allow-code" in refused.stderr
    assert cli("validate", "--allow-code", path).exit_code == 0
    try:
        assert model_differences(kerasspec.load(path, allow_code=True).build(), model) == []
    finally:
        sys.modules.pop("custom_scale_code", None)


# --- Keras's own layers outside keras.layers: no --allow-code, and only those -----------------

KERAS_OWN = """\
name: scaled
inputs: {a: {shape: [4]}, b: {shape: [4]}}
layers:
  - {type: "keras.src.applications.inception_resnet_v2:CustomScaleLayer", name: s, inputs: [a, b], scale: 0.5}
  - {type: "keras.src.applications.convnext:LayerScale", init_values: 0.1, projection_dim: 4}
outputs: s
"""


def test_keras_own_layers_need_no_allow_code(cli, write_spec):
    path = write_spec(KERAS_OWN)
    assert cli("validate", "--build", path).exit_code == 0
    model = kerasspec.load(path).build()
    assert type(model.get_layer("s")).__module__ == "keras.src.applications.inception_resnet_v2"


@pytest.mark.parametrize(
    "type_name, message",
    [
        (
            "keras.src.applications.inception_resnet_v2:inception_resnet_block",
            "layer type 'keras.src.applications.inception_resnet_v2:inception_resnet_block' is not a layer Keras defines (it is function)",
        ),
        (
            "keras.src.nowhere:Thing",
            "layer type 'keras.src.nowhere:Thing': the installed Keras has no module 'keras.src.nowhere'",
        ),
        (
            "keras.src.applications.convnext:LayerScal",
            "layer type 'keras.src.applications.convnext:LayerScal': 'keras.src.applications.convnext' has no attribute 'LayerScal'; did you mean 'LayerScale'?",
        ),
    ],
    ids=["a-function", "no-module", "misspelt"],
)
def test_keras_own_layer_mistakes_are_located(cli, write_spec, type_name, message):
    text = f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{type_name}"}}\n'
    path = write_spec(text)
    assert_located_error(cli("validate", "--build", path), path, 4, 12, message)


@pytest.mark.parametrize(
    "type_name",
    ["keras.src.layers.core.lambda_layer:Lambda", "keras_lookalike.layers:Dense"],
    ids=["lambda", "not-keras"],
)
def test_code_outside_keras_or_running_code_still_needs_allow_code(cli, write_spec, type_name):
    path = write_spec(f'name: m\ninput: {{shape: [4]}}\nlayers:\n  - {{type: "{type_name}"}}\n')
    assert_located_error(
        cli("validate", path),
        path,
        4,
        12,
        f"layer type '{type_name}' imports Python code, so it is refused without --allow-code",
    )


# --- bad input -----------------------------------------------------------------------------


def _lambda_model_json():
    x = keras.Input((3,), name="x")
    y = layers.Dense(2, name="d")(x)
    z = layers.Lambda(lambda t: t * 2, name="double")(y)
    return keras.Model(x, z, name="with_lambda").to_json(indent=1)


def _get_item_model_json():
    x = keras.Input((3, 2), name="x")
    return keras.Model(x, layers.Dense(2, name="d")(x)[..., 0], name="indexed").to_json(indent=1)


def _subclassed_json():
    return json.dumps({"module": "mymodels", "class_name": "MyModel", "config": {}, "registered_name": "MyModel"})


def _line_col(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_a_layer_the_format_cannot_say_is_located_in_the_file(cli, tmp_path):
    text = _lambda_model_json()
    source = tmp_path / "lambda.json"
    source.write_text(text)
    start = text.index('"class_name": "Lambda"')
    line, col = _line_col(text, text[text.rindex("{", 0, start) :])
    assert_located_error(
        cli("import", source),
        source,
        line,
        col,
        "layer 'double' (Lambda): a Lambda layer holds Python code (a function or a saved model), which a spec does not carry",
    )


def test_indexing_a_tensor_is_refused_by_name(cli, tmp_path):
    source = tmp_path / "indexed.json"
    source.write_text(_get_item_model_json())
    result = cli("import", source)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert line.startswith(f"{source}:") and line.endswith(
        "error: operation 'get_item' (GetItem) is called with a slice or `...` (indexing as in x[..., 0]), which a spec cannot say"
    )


def test_sequential_model_round_trip(cli, tmp_path):
    model = keras.Sequential(
        [
            keras.Input((8,), name="features"),
            layers.Dense(4, activation="relu", name="hidden"),
            layers.Dense(1, name="out"),
        ],
        name="small",
    )
    source = tmp_path / "small.json"
    source.write_text(model.to_json())
    path = imported(cli, source, tmp_path / "small.yaml")
    assert path.read_text().splitlines()[1:] == [
        "name: small",
        "input: {shape: [8], name: features}",
        "layers:",
        "  - {type: Dense, name: hidden, units: 4, activation: relu}",
        "  - {type: Dense, name: out, units: 1}",
    ]
    assert model_differences(kerasspec.load(path).build(), model) == []


def test_a_class_defined_in_a_script_is_refused(cli, tmp_path):
    x = keras.Input((3,), name="x")
    document = json.loads(keras.Model(x, layers.Dense(2, name="gate")(x), name="scripted").to_json())
    document["config"]["layers"][1].update(module="__main__", class_name="Gate", registered_name="Gate")
    source = tmp_path / "scripted.json"
    source.write_text(json.dumps(document))
    result = cli("import", source)
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert line.endswith(
        "error: layer 'gate' (Gate): its class was defined in the script that saved the model (__main__), "
        "which a spec cannot import"
    )
    assert "hint: move the class into a module of its own, save the model again, then import it" in result.stderr


def _bomb(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * (64 * 1024 * 1024 + 10))


@pytest.mark.parametrize(
    "name, content, expected",
    [
        (
            "model.keras",
            b"not a zip at all",
            "not a Keras model file: cannot read it as a zip archive (File is not a zip file)",
        ),
        ("model.json", b'{"layers": ', "1:12: error: not a Keras model configuration: bad JSON: Expecting value"),
        ("model.json", b"\xff\xfe", "error: not a Keras model configuration: not UTF-8 text (byte 0)"),
        ("model.json", b'{"a": 1}', "error: not a Keras model configuration: no class_name and config at the top"),
        ("model.json", _subclassed_json().encode(), "a subclassed model"),
        (
            "model.json",
            b"[" * 100_000 + b"]" * 100_000,
            "error: not a Keras model configuration: JSON nested too deeply",
        ),
        (
            "model.h5",
            b"\x89HDF\r\n\x1a\n",
            "an HDF5 (.h5) file: Keras 2's legacy format, which kerasspec does not read",
        ),
    ],
    ids=["not-a-zip", "bad-json", "not-utf8", "not-a-model", "subclassed", "deep-json", "hdf5"],
)
def test_files_that_are_not_keras_models(cli, tmp_path, name, content, expected):
    source = tmp_path / name
    source.write_bytes(content)
    result = cli("import", source)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert line.startswith(str(source)) and expected in line, line


def test_keras_archive_problems(cli, tmp_path):
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("metadata.json", "{}")
    result = cli("import", empty)
    assert error_lines(result) == [f"{empty}: error: not a Keras model file: the archive has no config.json"]
    bomb = tmp_path / "bomb.keras"
    _bomb(bomb)
    result = cli("import", bomb)
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"{bomb}: error: config.json inflates to 67,108,874 bytes or more; a model configuration may be at most 67,108,864"
    ]


def test_missing_files_and_unknown_applications(cli, tmp_path):
    result = cli("import", tmp_path / "nothing.keras")
    assert error_lines(result) == [f"{tmp_path / 'nothing.keras'}: error: no such file"]
    result = cli("import", "keras.applications:ResNet5")
    assert result.exit_code == 2
    assert error_lines(result) == [
        "keras.applications:ResNet5: error: keras.applications has no model 'ResNet5'; did you mean 'ResNet50'?"
    ]


def test_output_is_never_overwritten_without_force(cli, tmp_path):
    target = tmp_path / "vgg.yaml"
    target.write_text("keep me\n")
    result = cli("import", "keras.applications:VGG16", "-o", target)
    assert error_lines(result) == [f"{target}: error: file exists; pass --force to overwrite it"]
    assert target.read_text() == "keep me\n"
    assert cli("import", "keras.applications:VGG16", "-o", target, "--force").exit_code == 0
    assert target.read_text().startswith("# Imported by `kerasspec import keras.applications:VGG16`")


def test_to_stdout(cli):
    result = cli("import", "keras.applications:VGG16")
    assert result.exit_code == 0
    document = yaml.safe_load(result.stdout)
    assert document["name"] == "vgg16" and document["outputs"] == "predictions"


def test_an_unnamed_op_entry_comes_back_unnamed_and_dotted_names_are_refused(cli, write_spec, tmp_path):
    """kerasspec names an unnamed op `<model>.<n>`: written without a name, the spec derives it
    again. Other dotted names (a block's `d1.conv`) are not names a spec may write."""
    import kerasspec

    text = """\
name: opdemo
inputs: {x: {shape: [4]}}
layers:
  - {type: Dense, name: hidden, units: 3}
  - {op: multiply, inputs: [hidden, 2.0]}
  - {type: Dense, name: out, units: 2}
outputs: out
"""
    model = kerasspec.load(write_spec(text)).build()
    saved = tmp_path / "m.keras"
    model.save(saved)
    out = tmp_path / "imported.yaml"
    assert cli("import", saved, "-o", out).exit_code == 0
    assert "  - {op: multiply, inputs: [hidden, 2.0]}" in out.read_text()
    assert cli("diff", write_spec(text, "again.yaml"), out).exit_code in (0, 1)
    assert [op.name for op in kerasspec.load(out).build().operations] == ["x", "hidden", "opdemo.2", "out"]
    blocked = text.replace(
        "layers:\n",
        "blocks:\n  b: {layers: [{type: Dense, name: conv, units: 3}]}\nlayers:\n  - {block: b, name: d1}\n",
        1,
    )
    model = kerasspec.load(write_spec(blocked, "blocked.yaml")).build()
    model.save(tmp_path / "b.keras")
    result = cli("import", tmp_path / "b.keras")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "layer 'd1.conv': its name has '.', which spec names may not" in result.stderr


def test_a_model_name_a_spec_cannot_have_and_an_output_naming_no_layer_are_refused(cli, tmp_path):
    import keras

    x = keras.Input((3,), name="x")
    model = keras.Model(x, keras.layers.Dense(2, name="d")(x), name="my model v2")
    config = json.loads(model.to_json())
    bad_name = tmp_path / "named.json"
    bad_name.write_text(json.dumps(config))
    result = cli("import", bad_name)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "error: the model's name 'my model v2' is not a spec's model name" in result.stderr
    config["config"]["name"] = "fine"
    config["config"]["output_layers"] = [["ghost", 0, 0]]
    ghost = tmp_path / "ghost.json"
    ghost.write_text(json.dumps(config))
    result = cli("import", ghost)
    assert result.exit_code == 2 and "internal error" not in result.stderr
    assert "the model's output names layer 'ghost' (call 0), which is not in the model" in result.stderr
