"""`kerasspec lock SPEC` and `validate --locked`: architectures held against drift."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, assert_located_error

TICKET = (SPECS / "ticket_classifier.yaml").read_text()


def _lock(cli, spec, *args):
    result = cli("lock", spec, *args)
    assert result.exit_code == 0, result.stderr
    return result


def test_lock_is_deterministic_and_complete(cli, write_spec, tmp_path):
    spec = write_spec(TICKET, "ticket.yaml")
    assert _lock(cli, spec).stdout.strip() == f"{tmp_path / 'ticket.lock.json'}: written"
    first = (tmp_path / "ticket.lock.json").read_bytes()
    assert _lock(cli, spec).stdout.strip().endswith("up to date")
    _lock(cli, spec, "-o", tmp_path / "again.json")  # a second build in the same process: new auto names
    assert (tmp_path / "again.json").read_bytes() == first
    document = json.loads(first)
    assert document["format"] == 1 and set(document["versions"]) == {"kerasspec", "keras"}
    assert document["params"] == {"total": 1286789, "trainable": 1286789, "non_trainable": 0}
    assert document["layers"]["hidden"] == {
        "type": "Dense",
        "output_shapes": [[None, 64]],
        "dtype": "float32",
        "trainable": 1286464,
        "non_trainable": 0,
    }
    assert [i["name"] for i in document["inputs"]] == ["title", "text_body", "tags"]
    assert [o["name"] for o in document["outputs"]] == ["priority", "department"]
    assert b'"shape": [null, 10000]' in first  # shapes on one line


def test_validate_locked_reports_each_difference_at_its_entry(cli, write_spec):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    ok = cli("validate", "--locked", spec)
    assert ok.exit_code == 0 and ok.stdout.strip() == f"{spec}: ok"
    changed = TICKET.replace("units: 64, activation: relu", "units: 128, activation: relu")
    spec.write_text(changed)
    result = cli("validate", "--locked", spec)
    line = changed.splitlines().index("  - {type: Dense, name: hidden, units: 128, activation: relu}") + 1
    assert_located_error(
        result, spec, line, 5, "layer 'hidden' has 2,572,928 parameters; ticket.lock.json says 1,286,464"
    )
    assert_located_error(result, spec, line, 5, "layer 'hidden' outputs (None, 128); ticket.lock.json says (None, 64)")
    assert f"{spec}:{line + 1}:5: error: layer 'priority' has 129 parameters; ticket.lock.json says 65" in result.stderr


def test_a_formatting_only_change_keeps_the_lock_valid(cli, write_spec):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    spec.write_text(
        "# moved things around\n"
        + TICKET.replace("num_tags: 100", "tag_count: 100").replace("${num_tags}", "${tag_count}")
    )
    assert cli("validate", "--locked", spec).exit_code == 0


def test_lock_refuses_to_replace_a_different_lock_without_force(cli, write_spec, tmp_path):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    lock = tmp_path / "ticket.lock.json"
    before = lock.read_bytes()
    spec.write_text(TICKET.replace("units: 64, activation: relu", "units: 32, activation: relu"))
    result = cli("lock", spec)
    assert result.exit_code == 2
    assert f"{lock}: error: a different lock file is there; pass --force to replace it" in result.stderr
    assert lock.read_bytes() == before
    assert _lock(cli, spec, "--force").stdout.strip().endswith("replaced")
    assert json.loads(lock.read_text())["layers"]["hidden"]["output_shapes"] == [[None, 32]]


def test_a_keras_version_change_alone_is_a_warning(cli, write_spec, tmp_path):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    lock = tmp_path / "ticket.lock.json"
    document = json.loads(lock.read_text())
    document["versions"]["keras"] = "3.0.0"
    lock.write_text(json.dumps(document))
    result = cli("validate", "--locked", spec)
    assert result.exit_code == 0, result.stderr
    assert "ticket.lock.json: warning: written with Keras 3.0.0, checked with Keras" in result.stderr


GOOD_PARTS = '"format": 1, "versions": {}, "name": "t", "params": {"total": 0, "trainable": 0, "non_trainable": 0}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": 1', "ticket.lock.json:1:13: error: not a lock file: Expecting ',' delimiter"),
        ("[1, 2]", "ticket.lock.json: error: not a lock file: no `format`"),
        ('{"format": 2}', "ticket.lock.json: error: lock format 2 is newer than this kerasspec reads (format 1)"),
        ('{"format": true}', "ticket.lock.json: error: lock format True is not one kerasspec writes (format 1)"),
        ("[" * 100_000 + "]" * 100_000, "ticket.lock.json: error: not a lock file: nested too deeply"),
        (
            '{"format": 1, "versions": {}}',
            "ticket.lock.json: error: corrupted lock file: `name` is missing or not text",
        ),
        (
            '{"format": 1, "versions": {}, "name": "t", "params": {"total": "many"}}',
            "ticket.lock.json: error: corrupted lock file: `params` is not {total, trainable, non_trainable} counts",
        ),
        (
            "{" + GOOD_PARTS + ', "inputs": [1, 2], "outputs": [], "layers": {}}',
            "ticket.lock.json: error: corrupted lock file: `inputs` is not a list of {name, shape, dtype}",
        ),
        (
            "{" + GOOD_PARTS + ', "inputs": [], "outputs": [], "layers": {"a": {}}}',
            "ticket.lock.json: error: corrupted lock file: layer 'a' is incomplete or has values of the wrong kind",
        ),
        (
            "{" + GOOD_PARTS + ', "inputs": [], "outputs": [], "layers": {"a": {"type": "Dense", '
            '"output_shapes": 5, "dtype": "float32", "trainable": 1, "non_trainable": 0}}}',
            "ticket.lock.json: error: corrupted lock file: layer 'a' is incomplete or has values of the wrong kind",
        ),
        (
            "{" + GOOD_PARTS + ', "inputs": [], "outputs": [], "layers": {"a": {"type": "Dense", '
            '"output_shapes": [], "dtype": "float32", "trainable": 1e400, "non_trainable": 0}}}',
            "ticket.lock.json: error: corrupted lock file: layer 'a' is incomplete or has values of the wrong kind",
        ),
    ],
    ids=[
        "truncated",
        "not-a-mapping",
        "newer-format",
        "bool-format",
        "deep",
        "missing-key",
        "bad-params",
        "bad-inputs",
        "incomplete-layer",
        "bad-shapes",
        "huge-count",
    ],
)
def test_a_broken_lock_file_is_one_line(cli, write_spec, tmp_path, content, message):
    spec = write_spec(TICKET, "ticket.yaml")
    (tmp_path / "ticket.lock.json").write_text(content)
    result = cli("validate", "--locked", spec)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert any(line.endswith(message) for line in result.stderr.splitlines()), result.stderr


def test_a_spec_without_a_lock_is_an_error_under_locked(cli, write_spec):
    spec = write_spec(TICKET, "ticket.yaml")
    result = cli("validate", "--locked", spec)
    assert result.exit_code == 2
    assert f"{spec}: error: no lock file (ticket.lock.json beside it)" in result.stderr
    assert f"hint: write one with `kerasspec lock {spec}`" in result.stderr


def test_layers_added_or_removed_against_the_lock(cli, write_spec):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    text = TICKET.replace(
        "  - {type: Dense, name: priority, inputs: hidden,",
        "  - {type: Dense, name: extra, units: 8}\n  - {type: Dense, name: priority, inputs: extra,",
    )
    spec.write_text(text)
    result = cli("validate", "--locked", spec)
    line = text.splitlines().index("  - {type: Dense, name: extra, units: 8}") + 1
    assert_located_error(result, spec, line, 5, "layer 'extra' (Dense) is not in ticket.lock.json")
    small = "name: s\ninputs: {x: {shape: [4]}}\nlayers:\n  - {type: Dense, name: a, units: 3}\n  - {type: Dense, name: b, units: 2}\noutputs: b\n"
    spec = write_spec(small, "small.yaml")
    _lock(cli, spec)
    spec.write_text(small.replace("  - {type: Dense, name: a, units: 3}\n", ""))
    result = cli("validate", "--locked", spec)
    assert_located_error(result, spec, 3, 1, "layer 'a' (Dense) is in small.lock.json but not in the model")
    assert_located_error(result, spec, 4, 5, "layer 'b' has 10 parameters; small.lock.json says 8")


def test_validate_locked_pairs_an_inserted_unnamed_layer_as_one(cli, write_spec):
    mnist = (SPECS / "mnist_convnet.yaml").read_text()
    spec = write_spec(mnist, "mnist.yaml")
    _lock(cli, spec)
    text = mnist.replace("  - {type: Flatten}\n", "  - {type: Flatten}\n  - {type: Dropout, rate: 0.2}\n")
    spec.write_text(text)
    result = cli("validate", "--locked", spec)
    errors = [x for x in result.stderr.splitlines() if ": error: " in x]
    # one error (a lock holds no keywords: of the two Dropouts now there, one is new)
    assert result.exit_code == 2 and len(errors) == 1, result.stderr
    assert errors[0].endswith("(Dropout) is not in mnist.lock.json")


def test_locks_of_several_specs_in_one_process_hold(cli, write_spec, tmp_path):
    """Keras's auto names (a nested Sequential's input layer) never reach a lock: checking two
    specs in one process, as the pre-commit hook does, holds both."""
    text = (SPECS / "image_classification.yaml").read_text()
    first, second = write_spec(text, "a.yaml"), write_spec(text, "b.yaml")
    _lock(cli, first)
    _lock(cli, second)
    result = cli("validate", "--locked", first, second)
    assert result.exit_code == 0, result.stderr


def test_lock_only_dated_by_other_versions_is_updated_without_force(cli, write_spec, tmp_path):
    spec = write_spec(TICKET, "ticket.yaml")
    _lock(cli, spec)
    lock = tmp_path / "ticket.lock.json"
    document = json.loads(lock.read_text())
    document["versions"]["kerasspec"] = "0.0.1"
    lock.write_text(json.dumps(document))
    assert _lock(cli, spec).stdout.strip().endswith("versions updated")
    assert json.loads(lock.read_text())["versions"]["kerasspec"] != "0.0.1"
    renamed = write_spec(TICKET.replace("name: ticket_classifier", "name: ticket_v2"), "ticket.yaml")
    result = cli("validate", "--locked", renamed)
    assert "error: the model is named 'ticket_v2'; ticket.lock.json says 'ticket_classifier'" in result.stderr
