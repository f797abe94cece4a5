"""The format's one declaration: the JSON Schema, the reference document and `resolve` come from
it, and a key or rule added to it changes validate, the schema and the doc together."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT, SPECS, TEST_SPECS, assert_located_error

from kerasspec.catalog import get_catalog
from kerasspec.format import declaration, reference
from kerasspec.format.declaration import DATA, TRAIN, Key, Rule
from kerasspec.format.schema import json_schema
from kerasspec.format.types import Integer
from kerasspec.loader import load_file
from kerasspec.resolve import plain

BUNDLED = sorted([*SPECS.glob("*.yaml"), *(SPECS / "code").glob("*.yaml"), *TEST_SPECS.glob("*.yaml")])


@pytest.fixture(scope="module")
def schema(request):
    from typer.testing import CliRunner

    from kerasspec.cli import app

    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(document)
    return document


def schema_errors(schema, text_or_path, tmp_path=None) -> list[str]:
    """What jsonschema itself says of a file read as YAML 1.2 reads it (`1e-4` is a float)."""
    if isinstance(text_or_path, str):
        path = tmp_path / "spec.yaml"
        path.write_text(text_or_path, encoding="utf-8")
    else:
        path = text_or_path
    instance = plain(load_file(path))
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(instance)]


def test_schema_types_keywords_from_keras(schema):
    dense = schema["definitions"]["layers.Dense"]["properties"]
    assert {"type": "integer", "minimum": 1, "maximum": 2**63 - 1} in dense["units"]["anyOf"][0]["anyOf"]
    assert dense["units"]["description"].startswith("Positive integer")
    padding = json.dumps(schema["definitions"]["layers.Conv2D"]["properties"]["padding"])
    assert '"enum": ["valid", "same"]' in padding and '"default": "valid"' in padding
    assert "Dense" in schema["definitions"]["layers"]["properties"]["type"]["anyOf"][0]["enum"]
    assert "he_normal" in schema["definitions"]["initializers"]["anyOf"][0]["enum"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_spec_validates_against_the_schema(schema, path):
    assert schema_errors(schema, path) == []


@pytest.mark.parametrize(
    "text",
    [
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, unit: 4}\n",  # misspelt keyword
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dens, units: 4}\n",  # unknown layer type
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: four}\n",  # text for an integer
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Rescaling, scale: 1.0 / 255}\n",
        "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 4, kernel_initializer: {type: HeNorml}}\n",
        "name: m\nlayer:\n  - {type: Dense, units: 4}\n",  # misspelt top-level key
        "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ntrain: {loop: custom, class_weight: {0: 1}}\n",
    ],
    ids=["keyword", "layer-type", "integer", "scale-text", "initializer", "top-level", "custom-loop-rule"],
)
def test_the_schema_itself_refuses(schema, tmp_path, text):
    assert schema_errors(schema, text, tmp_path)


def test_the_schema_accepts_vars_wherever_a_value_goes(schema, tmp_path):
    text = (
        "name: m\nvars: {n: 3, u: 4}\ninput: {shape: ['${n}', null]}\n"
        "layers:\n  - {type: Dense, units: '${u}', use_bias: '${b}'}\ntrain: {epochs: '${e}'}\n"
    )
    assert schema_errors(schema, text, tmp_path) == []


def test_schema_writes_a_file_without_replacing_one(cli, tmp_path):
    out = tmp_path / "kerasspec.schema.json"
    assert cli("schema", "-o", out).exit_code == 0
    assert json.loads(out.read_text())["$schema"].startswith("http://json-schema.org/draft-07/")
    again = cli("schema", "-o", out)
    assert again.exit_code == 2 and again.stderr == f"{out}: error: file exists; pass --force to overwrite it\n"


def test_the_reference_document_is_current():
    """docs/spec-format.md's generated blocks are what the declaration and the installed Keras
    give; refresh with `python -m kerasspec.format.reference docs/spec-format.md`."""
    path = ROOT / "docs" / "spec-format.md"
    text = path.read_text(encoding="utf-8")
    assert reference.render(text, get_catalog()) == text, "docs/spec-format.md is stale"


def test_readme_links_the_reference_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/spec-format.md" in readme and "../shared" not in readme


@pytest.fixture
def shards_key():
    """`data.shards` and a rule against `train.shuffle` with the custom loop, added to the
    declaration alone for one test."""
    saved = DATA.keys, TRAIN.rules
    object.__setattr__(DATA, "keys", (*DATA.keys, Key("shards", Integer(1), "files the data is split into", 1)))
    rule = Rule("loop", "custom", "`{key}` is not for the custom loop", "drop it", forbids=("train.shuffle",))
    object.__setattr__(TRAIN, "rules", (*TRAIN.rules, rule))
    yield
    object.__setattr__(DATA, "keys", saved[0])
    object.__setattr__(TRAIN, "rules", saved[1])


def test_a_key_added_to_the_declaration_reaches_validate_schema_and_doc(shards_key, cli, write_spec, tmp_path):
    ok = write_spec("name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ndata: {shards: 2}\n")
    assert cli("validate", ok).exit_code == 0
    text = "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ndata: {shards: 0}\n"
    bad = write_spec(text, "bad.yaml")
    assert_located_error(cli("validate", bad), bad, 4, 16, "`data.shards` must be a whole number of at least 1, got 0")
    rule = "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ntrain: {loop: custom, shuffle: false}\n"
    refused = write_spec(rule, "rule.yaml")
    assert_located_error(cli("validate", refused), refused, 4, 23, "`train.shuffle` is not for the custom loop")

    schema = json_schema(get_catalog())
    assert schema["definitions"]["data"]["properties"]["shards"]["default"] == 1
    assert schema_errors(schema, text, tmp_path)
    assert schema_errors(schema, rule, tmp_path)
    doc = reference.blocks(get_catalog())
    assert "| `shards` | a whole number of at least 1 | `1` | files the data is split into |" in doc["data"]
    assert "`train.shuffle` is not for the custom loop" in doc["rules"]


def test_without_the_addition_the_key_is_unknown(cli, write_spec):
    bad = write_spec("name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ndata: {shards: 2}\n")
    assert_located_error(cli("validate", bad), bad, 4, 8, "unknown data key 'shards'")


def test_custom_loop_conflicts_are_static(cli, write_spec):
    text = (
        "name: m\ninput: {shape: [3]}\nlayers: [{type: Dense, units: 1}]\ntrain: {loop: custom, class_weight: {0: 1}}\n"
    )
    path = write_spec(text)
    assert_located_error(
        cli("validate", path),
        path,
        4,
        23,
        "`train.class_weight` is a model.fit argument; the custom loop does not take it",
    )


def test_text_for_a_number_is_refused_statically(cli, write_spec):
    text = "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Rescaling, scale: 1.0 / 255}\n"
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(result, path, 4, 30, "Rescaling argument 'scale' must be a number or a list, got '1.0 / 255'")


def test_errors_carry_their_key_path(cli, write_spec):
    text = "name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\n  - {type: Dense, unit: 2}\n"
    path = write_spec(text)
    result = cli("validate", "--format", "json", path)
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)[0]["errors"][-1:]
    assert (error["line"], error["col"], error["key_path"]) == (5, 19, "layers[1].unit")
    text_result = cli("validate", path)
    assert "  at: layers[1].unit" in text_result.stderr.splitlines()


# --- resolve ------------------------------------------------------------------------------------


def keras_tree_shapes(output) -> object:
    return [keras_tree_shapes(o) for o in output] if isinstance(output, (list, tuple)) else tuple(output.shape)


def _layers(model) -> list[tuple]:
    """Each layer in order: class, parameters, output shape and config, without names (Keras
    names unnamed layers from a process-wide counter; nested models' configs hold such names)."""
    return [
        (
            type(layer).__name__,
            layer.count_params(),
            str(keras_tree_shapes(layer.output)),
            None if hasattr(layer, "layers") else {k: v for k, v in layer.get_config().items() if k != "name"},
        )
        for layer in model.layers
    ]


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_resolve_round_trips(cli, tmp_path, path):
    """The resolved spec is itself a valid spec that builds the same model, and resolving it
    again gives the same text (but for the header naming its source)."""
    import kerasspec

    out = tmp_path / "resolved.yaml"
    result = cli("resolve", path, "-o", out, "--set", "train.epochs=3")
    assert result.exit_code == 0, result.stderr
    resolved = kerasspec.load(out)
    assert resolved.train.epochs == 3 and "vars" not in resolved.tree
    assert resolved.train.batch_size == kerasspec.load(path).train.batch_size  # written, or the default
    again = tmp_path / "again.yaml"
    assert cli("resolve", out, "-o", again).exit_code == 0
    body = lambda p: [line for line in Path(p).read_text().splitlines() if not line.startswith("#")]  # noqa: E731
    assert body(again) == body(out)
    original = kerasspec.load(path).build()
    rebuilt = resolved.build()
    assert rebuilt.count_params() == original.count_params()
    assert [tuple(t.shape) for t in rebuilt.outputs] == [tuple(t.shape) for t in original.outputs]
    assert _layers(rebuilt) == _layers(original)


def test_resolve_prints_to_stdout(cli):
    result = cli("resolve", SPECS / "ticket_classifier.yaml")
    assert result.exit_code == 0
    assert "vocabulary_size" not in result.stdout and "- 10000" in result.stdout
    assert "  loop: fit\n" in result.stdout and "  samples: 1280\n" in result.stdout


def test_declaration_sections_are_all_reachable():
    names = {section.ref for section in declaration.SECTIONS}
    assert {"spec", "input", "compile", "data", "distribution", "input_data", "train", "block"} | {
        "image_folder",
        "text_folder",
        "adapt",
    } == names


@pytest.mark.slow
def test_check_jsonschema_uses_the_schema_as_readme_shows(tmp_path):
    """README's pre-commit snippet runs check-jsonschema with the schema file: it passes every
    bundled spec and refuses a misspelt keyword, without kerasspec."""
    import os
    import subprocess
    import sys

    from typer.testing import CliRunner

    from kerasspec.cli import app

    schema_file = tmp_path / "kerasspec.schema.json"
    assert CliRunner().invoke(app, ["schema", "-o", str(schema_file)]).exit_code == 0
    exe = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
    good = subprocess.run([exe, "--schemafile", schema_file, *BUNDLED], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: m\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, unit: 4}\n")
    refused = subprocess.run([exe, "--schemafile", schema_file, bad], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "('unit' was unexpected)" in refused.stdout


def test_build_errors_carry_their_key_path(cli, write_spec):
    text = "name: k\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 2}\n  - {type: Dropout, rate: 1.5}\n"
    path = write_spec(text)
    result = cli("validate", "--build", "--format", "json", path)
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)[0]["errors"]
    assert (error["line"], error["col"], error["key_path"]) == (5, 27, "layers[1].rate")


APPLICATIONS = {
    "MobileNetV2": {"input_shape": (32, 32, 3)},
    "ResNet50": {"input_shape": (32, 32, 3)},
    "EfficientNetB0": {"input_shape": (32, 32, 3)},
    "DenseNet121": {"input_shape": (32, 32, 3)},
    "ConvNeXtTiny": {"input_shape": (32, 32, 3)},
    "Xception": {"input_shape": (71, 71, 3)},
    "MobileNetV3Small": {"input_shape": (32, 32, 3)},
}


def test_keyword_types_accept_what_keras_applications_use():
    """Types read from Keras's docstrings must never refuse what Keras itself writes: every plain
    keyword value in the layer configs of seven keras.applications models passes the static type
    check (it found `Normalization.axis: [3]` refused, its docstring reading 'Integer, tuple of
    integers, or None')."""
    import keras

    from kerasspec.check.objects import wrong_argument_type

    catalog = get_catalog()
    refused, checked = [], 0
    for name, kwargs in APPLICATIONS.items():
        model = getattr(keras.applications, name)(weights=None, classes=10, **kwargs)
        for layer in model.layers:
            info = catalog.get_class("layers", type(layer).__name__)
            if info is None:
                continue
            for key, value in layer.get_config().items():
                if key in info.params and not isinstance(value, dict):
                    checked += 1
                    plain_value = list(value) if isinstance(value, tuple) else value
                    if expected := wrong_argument_type(info, key, plain_value):
                        refused.append((name, type(layer).__name__, key, value, expected))
    assert checked > 10_000 and refused == []
