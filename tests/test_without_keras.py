"""kerasspec installed without its `keras` extra (as the pre-commit hook installs it): static
checks read the catalog snapshot shipped in the package, and commands that need Keras say so in
one line. The real install without TensorFlow is tested in test_precommit_hook.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, TEST_SPECS, assert_located_error

import kerasspec.catalog
from kerasspec import errors
from kerasspec.catalog import SNAPSHOT, SNAPSHOT_PATH, get_catalog, snapshot_data

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
INSTALL_LINE = "install with: pip install 'kerasspec[keras]'"


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def test_shipped_snapshot_is_the_catalog_of_the_installed_keras():
    """The snapshot is the generator's output for the installed Keras (the newest of the range, as
    the set-up installs it): regenerate it after a Keras upgrade or a change of the generator."""
    pytest.importorskip("keras")
    live = get_catalog()
    assert live.origin == kerasspec.catalog.LIVE
    shipped = snapshot_data()
    regenerate = "run: .venv/bin/python scripts/catalog_snapshot.py"
    assert shipped["versions"] == live.versions, f"the snapshot describes {shipped['versions']}; {regenerate}"
    assert shipped == live.data, f"the snapshot differs from the installed Keras's catalog; {regenerate}"


def test_snapshot_is_package_data_and_keras_is_an_extra():
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["kerasspec"]
    assert SNAPSHOT_PATH.name in package_data and SNAPSHOT_PATH.parent.name == "kerasspec"
    base = {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert base == {"pyyaml", "typer", "rich"}  # what static checks import: no TensorFlow, no numpy
    extra = [requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["keras"]]
    assert extra == list(errors.KERAS_EXTRA_MODULES)  # each distribution is imported by its own name
    # `export`'s converters come first in its extra (the runtimes that load artifacts follow)
    converters = [requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["export"]]
    assert converters[: len(errors.EXPORT_EXTRA_MODULES)] == list(errors.EXPORT_EXTRA_MODULES)
    assert errors.EXPORT_INSTALL == "pip install 'kerasspec[export]'"


def hide_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as kerasspec sees an install without the `keras` extra: Keras and TensorFlow
    are not found (whatever the test process has imported already)."""
    found = kerasspec.catalog._installed_version
    monkeypatch.setattr(
        kerasspec.catalog,
        "_installed_version",
        lambda package: "none" if package in ("keras", "tensorflow") else found(package),
    )
    get_catalog.cache_clear()


@pytest.fixture
def without_keras(monkeypatch):
    hide_keras(monkeypatch)
    yield
    get_catalog.cache_clear()


def test_without_keras_static_checks_read_the_snapshot(cli, without_keras):
    assert get_catalog().origin == SNAPSHOT
    bundled = sorted(SPECS.glob("*.yaml"))
    result = cli("validate", *bundled)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [f"{p}: ok" for p in bundled]
    bad = TEST_SPECS / "bad_ticket.yaml"
    assert_located_error(
        cli("validate", bad),
        bad,
        19,
        5,
        "'priorty' in `compile.loss` is not an output of the model; did you mean 'priority'?",
    )
    typo = cli("validate", SPECS / "encoder.yaml", "--set", "layers.0.type=Dens")
    assert typo.exit_code == 2 and "did you mean 'Dense'?" in typo.stderr
    assert cli("schema").exit_code == 0
    assert cli("resolve", SPECS / "autoencoder.yaml").exit_code == 0


def test_catalog_command_says_which_keras_the_snapshot_describes(cli, without_keras):
    result = cli("catalog")
    assert result.exit_code == 0, result.stderr
    versions = snapshot_data()["versions"]
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"keras {versions['keras']}, tensorflow {versions['tensorflow']}: the snapshot shipped with kerasspec "
        "(keras and tensorflow not installed here)"
    )
    assert lines[-1] == f"snapshot at {SNAPSHOT_PATH}"


NEEDS_KERAS: dict[str, list[str | Path]] = {
    "summary": ["summary", SPECS / "ticket_classifier.yaml"],
    "plot": ["plot", SPECS / "ticket_classifier.yaml", "-o", "-", "--format", "mermaid"],
    "train": ["train", SPECS / "ticket_classifier.yaml"],
    "evaluate": ["evaluate", SPECS / "ticket_classifier.yaml", "--run", "runs/x"],
    "predict": ["predict", SPECS / "ticket_classifier.yaml", "--run", "runs/x"],
    "export": ["export", SPECS / "ticket_classifier.yaml", "--run", "runs/x", "-o", "model.onnx"],
    "validate --build": ["validate", "--build", SPECS / "ticket_classifier.yaml"],
    "lock": ["lock", SPECS / "ticket_classifier.yaml", "-o", "ticket.lock.json"],
    "diff": ["diff", SPECS / "ticket_classifier.yaml", SPECS / "ticket_classifier.yaml"],
    "catalog --refresh": ["catalog", "--refresh"],
}


@pytest.mark.parametrize("used", sorted(NEEDS_KERAS))
def test_commands_that_need_keras_say_so_in_one_line(cli, without_keras, tmp_path, monkeypatch, used):
    monkeypatch.chdir(tmp_path)  # nothing may be written
    result = cli(*NEEDS_KERAS[used])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr == (
        f"kerasspec {used} needs Keras and TensorFlow, which are not installed here; {INSTALL_LINE}\n"
    )
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_validate_locked_says_so_too(cli, monkeypatch, tmp_path):
    """The pre-commit hook kerasspec-locked installs Keras; run without it, the same one line."""
    spec = tmp_path / "ticket.yaml"
    spec.write_text((SPECS / "ticket_classifier.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert cli("lock", spec).exit_code == 0  # written with Keras, then checked without it
    hide_keras(monkeypatch)
    try:
        result = cli("validate", "--locked", spec)
    finally:
        get_catalog.cache_clear()
    assert result.exit_code == 2
    assert result.stderr == (
        f"kerasspec validate --locked needs Keras and TensorFlow, which are not installed here; {INSTALL_LINE}\n"
    )


def test_validate_build_reports_the_specs_own_errors_first(cli, without_keras):
    bad = TEST_SPECS / "bad_ticket.yaml"
    result = cli("validate", "--build", bad, SPECS / "encoder.yaml")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}:19:5: error: ")
    assert (
        lines[-1]
        == f"kerasspec validate --build needs Keras and TensorFlow, which are not installed here; {INSTALL_LINE}"
    )


@pytest.mark.parametrize(
    "module, exit_code, message",
    [
        ("pydot", 2, f"kerasspec summary needs pydot, which is not installed here; {INSTALL_LINE}"),
        ("tensorflow.python", 2, f"kerasspec summary needs TensorFlow, which is not installed here; {INSTALL_LINE}"),
        (
            "tf2onnx",
            2,
            "kerasspec summary needs tf2onnx, which is not installed here; install with: pip install 'kerasspec[export]'",
        ),
        ("somethingelse", 3, "kerasspec: internal error: ModuleNotFoundError: No module named 'somethingelse'."),
    ],
)
def test_a_missing_package_of_the_extra_is_named_in_one_line(cli, monkeypatch, module, exit_code, message):
    """Wherever an import of the extra's packages fails (a partial install), the same one line;
    any other missing module is a bug."""
    import kerasspec.commands

    def fail(*args, **kwargs):
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr(kerasspec.commands, "load_spec", fail)
    result = cli("summary", SPECS / "ticket_classifier.yaml")
    assert result.exit_code == exit_code
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr
