"""`kerasspec diff OLD NEW`: what a change does to the model, driven through the CLI on real
specs, real Keras builds and a real git repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SPECS

MNIST = (SPECS / "mnist_convnet.yaml").read_text()
TICKET = (SPECS / "ticket_classifier.yaml").read_text()


def _diff(cli, *args):
    result = cli("diff", *args, "--format", "json")
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["same"] else 1)
    return document


def _changes(document):
    return {item["name"]: item["change"] for item in document["layers"] if item["change"] != "unchanged"}


def test_an_unnamed_entry_inserted_in_the_middle_is_one_added_layer(cli, write_spec):
    old = write_spec(MNIST, "old.yaml")
    new = write_spec(
        MNIST.replace("  - {type: Flatten}\n", "  - {type: Flatten}\n  - {type: Dense, units: 32}\n"), "new.yaml"
    )
    document = _diff(cli, old, new)
    added = [item for item in document["layers"] if item["change"] == "added"]
    assert [(item["name"], item["new"]["type"]) for item in added] == [("+6", "Dense")]
    assert added[0]["new"]["params"] == {"total": 1600 * 32 + 32, "trainable": 1600 * 32 + 32, "non_trainable": 0}
    assert not [item for item in document["layers"] if item["change"] == "removed"]
    # the layers below it changed only because of it: said so, and no keyword is listed
    assert {item["name"]: item.get("cause") for item in document["layers"] if item["change"] == "changed"} == {
        "+7": "upstream",
        "class_probabilities": "upstream",
    }
    delta = 1600 * 32 + 32 + (32 * 10 + 10) - (1600 * 10 + 10)
    assert document["params"]["delta"] == {"total": delta, "trainable": delta, "non_trainable": 0}
    assert document["params"]["new"]["total"] - document["params"]["old"]["total"] == delta


def test_keyword_changes_are_listed_key_by_key_with_settings(cli, write_spec):
    old = write_spec(TICKET, "old.yaml")
    new = write_spec(
        TICKET.replace("units: 64, activation: relu", "units: 128, activation: relu").replace(
            "optimizer: rmsprop", "optimizer: adam"
        ),
        "new.yaml",
    )
    document = _diff(cli, old, new)
    hidden = next(item for item in document["layers"] if item["name"] == "hidden")
    assert hidden["change"] == "changed" and hidden["cause"] == "own"
    assert hidden["config"] == [{"key": "units", "old": 64, "new": 128}]
    assert hidden["old"]["output_shapes"] == [[None, 64]] and hidden["new"]["output_shapes"] == [[None, 128]]
    assert _changes(document) == {"hidden": "changed", "priority": "changed", "department": "changed"}
    assert document["settings"] == [{"key": "compile.optimizer", "old": "rmsprop", "new": "adam"}]
    assert document["params"]["delta"]["total"] == 20100 * 64 + 64 + 64 * 1 + 64 * 4


def test_the_same_model_written_differently_is_the_same(cli, write_spec):
    old = write_spec(TICKET, "old.yaml")
    rewritten = TICKET.replace("# The seed's functional model", "# reworded comment").replace(
        "vocabulary_size: 10000", "vocabulary_size: ${100 * 100}"
    )
    new = write_spec(rewritten, "new.yaml")
    result = cli("diff", old, new)
    assert result.exit_code == 0, result.stderr
    assert "the same model and settings" in result.stdout
    assert _diff(cli, old, new)["same"] is True


def test_set_applies_to_both_sides(cli, write_spec):
    old = write_spec(TICKET, "old.yaml")
    new = write_spec(TICKET.replace("units: 64, activation: relu", "units: 128, activation: relu"), "new.yaml")
    assert _diff(cli, old, new, "--set", "layers.hidden.units=16")["same"] is True


def test_markdown_is_a_pull_request_comment(cli, write_spec):
    old = write_spec(TICKET, "old.yaml")
    new = write_spec(TICKET.replace("units: 64, activation: relu", "units: 128, activation: relu"), "new.yaml")
    result = cli("diff", old, new, "--format", "markdown")
    assert result.exit_code == 1, result.stderr
    text = result.stdout
    assert text.startswith("### kerasspec diff: `ticket_classifier`")
    assert "**Parameters: 1,286,789 → 2,573,573 (+1,286,784)**" in text
    assert (
        "| ± | `hidden` | Dense | units: 64 → 128; output (None, 64) → (None, 128) | 1,286,464 → 2,572,928 (+1,286,464) |"
        in text
    )
    text_result = cli("diff", old, new)
    assert "~ hidden (Dense): units: 64 → 128" in text_result.stdout


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with specs/ticket.yaml including specs/parts/head.yaml, committed on main."""
    root = tmp_path / "repo"
    (root / "specs" / "parts").mkdir(parents=True)
    (root / "specs" / "parts" / "head.yaml").write_text(
        "name: head\ninput: {shape: [64]}\nlayers:\n  - {type: Dense, name: inner, units: 8}\n"
    )
    (root / "specs" / "ticket.yaml").write_text(
        "name: ticket\ninputs: {x: {shape: [16]}}\nlayers:\n"
        "  - {type: Dense, name: hidden, units: 64, inputs: x}\n"
        "  - {spec: parts/head.yaml, name: head}\n"
        "outputs: head\n"
    )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v1")
    monkeypatch.chdir(root)
    return root


def test_git_revisions_read_the_spec_and_its_includes_from_that_revision(cli, repo):
    head = repo / "specs" / "parts" / "head.yaml"
    head.write_text(head.read_text().replace("units: 8", "units: 16"))  # only the included file changes
    document = _diff(cli, "HEAD:specs/ticket.yaml", "specs/ticket.yaml")
    assert document["old"]["source"] == "HEAD:specs/ticket.yaml"
    inner = next(item for item in document["layers"] if item["name"] == "head/inner")
    assert inner["config"] == [{"key": "units", "old": 8, "new": 16}]
    head = next(item for item in document["layers"] if item["name"] == "head")
    assert head["cause"] == "inside"  # the nested model changed by its own layer, not from above
    assert _diff(cli, "main:specs/ticket.yaml", "HEAD:specs/ticket.yaml")["same"] is True
    # git's own `REV:./path` is relative to the current directory
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(repo / "specs")
        assert _diff(cli, "HEAD:./ticket.yaml", "HEAD:specs/ticket.yaml")["same"] is True


def test_the_readme_workflow_diff_line_works_on_a_pull_request_checkout(repo, tmp_path):
    """README's GitHub Actions workflow, its `diff` step run as Actions would: in a clone (so
    `origin/main` exists) on a pull-request branch, through bash, with the installed command."""
    import os
    import sys

    readme = (ROOT / "README.md").read_text()
    line = next(x.strip() for x in readme.splitlines() if x.strip().startswith('kerasspec diff "origin/'))
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True)
    _git(checkout, "checkout", "-q", "-b", "feature")
    spec = checkout / "specs" / "ticket_classifier.yaml"
    spec.write_text((SPECS / "ticket_classifier.yaml").read_text().replace("units: 64", "units: 32"))
    _git(repo, "checkout", "-q", "main")
    (repo / "specs" / "ticket_classifier.yaml").write_text((SPECS / "ticket_classifier.yaml").read_text())
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "add the ticket spec")
    _git(checkout, "fetch", "-q", "origin")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = line.replace("${{ github.base_ref }}", "main")
    result = subprocess.run(["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr  # `|| test $? -eq 1`: a changed model is not a failure
    comment = (checkout / "model-diff.md").read_text()
    assert comment.startswith("### kerasspec diff: `ticket_classifier`")
    assert "**Parameters: 1,286,789 → 643,397 (-643,392)**" in comment
    # a broken spec still fails the step
    spec.write_text("name: broken\n")
    broken = subprocess.run(["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0  # the step fails (bash gives `test`'s status)
    assert "specs/ticket_classifier.yaml:1:1: error: the spec has no `layers`" in broken.stderr


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nope:specs/ticket.yaml", "specs/ticket.yaml", "nope:specs/ticket.yaml: error: unknown git revision 'nope'"),
        (
            "HEAD:specs/missing.yaml",
            "specs/ticket.yaml",
            "HEAD:specs/missing.yaml: error: revision 'HEAD' has no file 'specs/missing.yaml'",
        ),
        (
            "HEAD~1:specs/ticket.yaml",
            "specs/ticket.yaml",
            "HEAD~1:specs/ticket.yaml: error: revision 'HEAD~1' has no file 'specs/ticket.yaml'",
        ),
    ],
    ids=["unknown-revision", "missing-path", "path-not-yet-there"],
)
def test_bad_revisions_are_one_line_each(cli, repo, old, new, message):
    result = cli("diff", old, new)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()


def test_revision_outside_a_git_repository(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("diff", "HEAD:x.yaml", "y.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"HEAD:x.yaml: error: 'HEAD:x.yaml' is not a file, and REV:PATH needs a git repository: {tmp_path}"
    )


def test_errors_on_either_side_are_located_and_named_by_revision(cli, repo):
    spec = repo / "specs" / "ticket.yaml"
    spec.write_text(spec.read_text().replace("units: 64", "unitz: 64"))
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "typo")
    result = cli("diff", "HEAD~1:specs/ticket.yaml", "HEAD:specs/ticket.yaml")
    assert result.exit_code == 2
    assert "HEAD:specs/ticket.yaml:4:33: error: Dense has no argument 'unitz'; did you mean 'units'?" in result.stderr


def test_specs_of_different_kinds_are_refused(cli, write_spec):
    old = write_spec(TICKET, "old.yaml")
    new = write_spec(MNIST, "new.yaml")
    result = cli("diff", old, new)
    assert result.exit_code == 2
    assert f"{new}:7:1: error: {old} is a functional spec and {new} a sequential one" in result.stderr


def test_an_unknown_format_is_refused(cli, write_spec):
    spec = write_spec(TICKET)
    result = cli("diff", spec, spec, "--format", "html")
    assert result.exit_code == 2
    assert "--format: error: unknown --format 'html'; choose text, markdown or json" in result.stderr


def test_long_lists_fold_into_details_in_markdown(cli, write_spec):
    layers = "".join(f"  - {{type: Dense, name: d{i}, units: 4}}\n" for i in range(12))
    old = write_spec(f"name: deep\ninputs: {{x: {{shape: [3]}}}}\nlayers:\n{layers}outputs: d11\n", "old.yaml")
    new = write_spec(
        f"name: deep\ninputs: {{x: {{shape: [3]}}}}\nlayers:\n{layers.replace('d0, units: 4', 'd0, units: 5')}outputs: d11\n",
        "new.yaml",
    )
    result = cli("diff", old, new, "--format", "markdown")
    assert result.exit_code == 1, result.stderr
    assert "<details><summary>Layers (2 changed)</summary>" not in result.stdout  # d0 and d1 only
    wide = write_spec(f"name: deep\ninputs: {{x: {{shape: [5]}}}}\nlayers:\n{layers}outputs: d11\n", "wide.yaml")
    document = _diff(cli, old, wide)
    assert [i["name"] for i in document["inputs"]["new"]] == ["x"] and document["inputs"]["new"][0]["shape"] == [
        None,
        5,
    ]
    assert _changes(document) == {"x": "changed", "d0": "changed"}
    many = "".join(f"  - {{type: Dense, name: d{i}, units: {5 if i < 11 else 4}}}\n" for i in range(12))
    changed = write_spec(f"name: deep\ninputs: {{x: {{shape: [3]}}}}\nlayers:\n{many}outputs: d11\n", "many.yaml")
    markdown = cli("diff", old, changed, "--format", "markdown").stdout
    assert "<details><summary>Layers (12 changed)</summary>" in markdown
    assert "| ± | `d11` | Dense | own keywords unchanged: changed by what is above it | 20 → 24 (+4) |" in markdown


def test_a_spec_against_itself_is_the_same_whatever_keras_named(cli):
    """Keras's auto names (a nested Sequential's input layer, a subclassed model's layers) come
    from a process-wide counter: they never reach the keys that are compared."""
    image = SPECS / "image_classification.yaml"
    assert _diff(cli, image, image)["same"] is True
    subclass = SPECS / "code" / "ticket_subclass.yaml"
    if subclass.exists():
        assert _diff(cli, subclass, subclass, "--allow-code")["same"] is True


def test_op_arguments_and_the_model_name_are_compared(cli, write_spec):
    text = (SPECS / "collaborative_filtering.yaml").read_text()
    old = write_spec(text, "old.yaml")
    new = write_spec(
        text.replace("name: movie, inputs: pair, indices: 1", "name: movie, inputs: pair, indices: 0"), "new.yaml"
    )
    document = _diff(cli, old, new)
    movie = next(item for item in document["layers"] if item["name"] == "movie")
    assert movie["change"] == "changed" and movie["config"] == [{"key": "arguments.indices", "old": 1, "new": 0}]
    renamed = write_spec(text.replace("name: collaborative_filtering", "name: recommender"), "renamed.yaml")
    document = _diff(cli, old, renamed)
    assert document["same"] is False and document["model_name"] == {
        "old": "collaborative_filtering",
        "new": "recommender",
    }


def test_a_named_entry_inserted_among_unnamed_ones_is_one_added_layer(cli, write_spec):
    old = write_spec(MNIST, "old.yaml")
    text = MNIST.replace(
        "  - {type: MaxPooling2D, pool_size: [2, 2]}\n",
        "  - {type: MaxPooling2D, pool_size: [2, 2]}\n  - {type: BatchNormalization, name: bn}\n",
        1,
    )
    document = _diff(cli, old, write_spec(text, "new.yaml"))
    assert [(i["name"], i["change"]) for i in document["layers"] if i["change"] != "unchanged"] == [
        ("bn", "added"),
        ("bn+1", "changed"),  # the Conv2D below it is now called on it
    ]
    blocks = (SPECS / "image_classification.yaml").read_text()
    dropout = blocks.replace(
        "    layers:\n      - {type: Activation, activation: relu}\n",
        "    layers:\n      - {type: Dropout, rate: 0.1}\n      - {type: Activation, activation: relu}\n",
        1,
    )
    document = _diff(cli, write_spec(blocks, "b1.yaml"), write_spec(dropout, "b2.yaml"))
    assert [i["name"] for i in document["layers"] if i["change"] == "added"] == [
        "block_256.1",
        "block_512.1",
        "block_728.1",
    ]
    assert len([i for i in document["layers"] if i["change"] == "changed"]) == 3


def test_revisions_read_a_spec_behind_a_symbolic_link_or_with_another_suffix(cli, repo):
    import os

    os.symlink("ticket.yaml", repo / "specs" / "current.yaml")
    (repo / "specs" / "model.kspec").write_text((repo / "specs" / "ticket.yaml").read_text())
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "link")
    assert _diff(cli, "HEAD:specs/current.yaml", "specs/ticket.yaml")["same"] is True
    assert _diff(cli, "HEAD:specs/model.kspec", "specs/ticket.yaml")["same"] is True
