from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerasspec.cli import app
from kerasspec.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
TEST_SPECS = Path(__file__).resolve().parent / "specs"
RUN_FILES = [
    "history.json",
    "history.png",
    "metrics.json",
    "model.keras",
    "model.weights.h5",
    "spec.resolved.yaml",
]  # a run directory


@pytest.fixture
def cli():
    """Run the real `kerasspec` command in-process; returns Click's Result (stdout/stderr apart)."""
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec (dedented) into a temporary directory and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def module(tmp_path):
    """Write a Python module next to the specs of a test, under a name no other test uses
    (modules stay imported for the whole in-process test run)."""

    def write(source: str) -> str:
        name = f"user_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return name

    return write


def column_of(text: str, line: int, where: int | str) -> int:
    """The 1-based column of `where` (a needle, or a column already) on 1-based `line` of `text`."""
    if isinstance(where, int):
        return where
    row = text.lstrip("\n").splitlines()[line - 1]
    assert where in row, f"{where!r} not on line {line}: {row!r}"
    return row.index(where) + 1


def position(error: SpecError) -> tuple[int, int]:
    """The line and column an error points at; it must point somewhere."""
    assert error.mark is not None, error.render()
    return error.mark.line, error.mark.col


def without_names(config):
    """A layer's config without the names in it (Keras names unnamed layers from a counter)."""
    if isinstance(config, dict):
        return {k: without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [without_names(v) for v in config]
    return config


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def assert_located_error(result, path, line: int, col: int, message: str) -> None:
    """Exit 2, no traceback, and the exact `PATH:LINE:COL: error: MESSAGE` line on stderr."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    expected = f"{path}:{line}:{col}: error: {message}"
    assert expected in error_lines(result), "\n".join(["expected: " + expected, "got:"] + error_lines(result))
