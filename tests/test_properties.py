"""Property-based tests: generated and mutated specs through static validation.

For any file at all, `kerasspec.check.load` returns a spec or raises the located error type
(SpecErrors / SpecError), never anything else; every position it reports is inside the file
it names; `kerasspec validate` exits 0 or 2 without a traceback.

The default run draws a few hundred examples, derandomized so CI sees the same ones every
time; `-m slow` draws over 10,000 (with fresh random ones each run). Examples are written
under pytest's temporary directory; the Hypothesis example database is off, so nothing is
written into the repository.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import position
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.control import currently_in_test_context
from spec_strategies import ROOT, SPEC_DIRS, broken_texts, grammar_specs, mutated_specs, overrides
from typer.testing import CliRunner

from kerasspec.check import load
from kerasspec.cli import app
from kerasspec.errors import Mark, SpecError, SpecErrors

# Hypothesis keeps caches (Unicode tables, constants of the code under test) in a directory,
# `.hypothesis/` in the working directory by default; keep it out of the repository.
set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "kerasspec-hypothesis"))

COMMON: dict[str, Any] = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
DEFAULT = settings(derandomize=True, **COMMON)
SLOW = settings(derandomize=False, print_blob=True, **COMMON)

# Examples per strategy: (default run, slow run). Sums: 350 and 10,300.
EXAMPLES = {"mutated": (150, 4000), "grammar": (100, 3500), "broken": (80, 2500), "cli": (20, 300)}

# YAML's line breaks (PyYAML's reader and libyaml agree): the positions it reports count these.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_TRACEBACK = ("Traceback (most recent call last)", 'File "', "internal error")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A copy of every bundled spec directory, so that mutants' includes and code files resolve."""
    root = tmp_path_factory.mktemp("props")
    for folder in SPEC_DIRS:
        shutil.copytree(ROOT / folder, root / folder, dirs_exist_ok=True)
    return root


def file_lines(path: Path) -> list[str]:
    """The file's lines as positions count them; the last one is empty after a final line break."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
    return _LINE_BREAK.split(text)


def assert_inside(error: SpecError, path: Path, items: list[str]) -> None:
    """The error's position, when it has one, is a real position in the file (or --set item) it names."""
    mark = error.mark
    if mark is None:
        assert error.source, error
        return
    assert mark.line >= 1 and mark.col >= 1, error.render()
    if mark.source.startswith("--set "):
        item = mark.source[len("--set ") :]
        assert item in items, (mark.source, items)
        lines = [item]
    else:
        source = Path(mark.source)
        assert source == path or source.resolve().is_relative_to(path.parent.parent.resolve()), mark.source
        lines = file_lines(source)
    assert mark.line <= len(lines), f"{error.render()}\n(line past the end: the file has {len(lines)} lines)"
    row = lines[mark.line - 1]
    assert mark.col <= len(row) + 1, f"{error.render()}\n(column past the end of line {row!r})"


def note_outcome(outcome: str) -> None:
    """Count outcomes for `--hypothesis-show-statistics` (valid, or the first error's code)."""
    if currently_in_test_context():
        event(outcome)


def check(path: Path, set_items: Sequence[str] = (), allow_code: bool = False) -> list[SpecError]:
    """Static validation of one file: the property every input must satisfy."""
    try:
        load(path, set_items, allow_code=allow_code)
        note_outcome("valid")
        return []
    except SpecErrors as exc:
        errors = exc.errors
    except SpecError as exc:
        errors = [exc]
    assert errors, "SpecErrors without any error"
    note_outcome(f"first error: {errors[0].code}")
    for error in errors:
        assert isinstance(error, SpecError), error
        assert error.message.strip(), error
        text = error.render()
        assert not any(t in text for t in _TRACEBACK), text
        assert_inside(error, path, list(set_items))
    return errors


def write(workspace: Path, folder: str, content: str | bytes) -> Path:
    path = workspace / folder / "spec.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --- the properties, each run with a default and a slow settings ------------------------------


def _mutated(workspace, case, set_items, allow_code):
    rel, text = case
    check(write(workspace, str(Path(rel).parent), text), set_items, allow_code)


def _grammar(workspace, text, set_items, allow_code):
    check(write(workspace, "specs", text), set_items, allow_code)


def _broken(workspace, raw):
    check(write(workspace, "specs", raw))


def _cli(workspace, content, as_json):
    path = write(workspace, "specs", content)
    args = ["validate", str(path)] + (["--format", "json"] if as_json else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 2), (result.exit_code, result.stdout, result.stderr, result.exception)
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, stream
    if result.exit_code == 0:
        assert (f"{path}: ok" in result.stdout) or as_json
    else:
        assert result.stderr or as_json


def _property_tests(profile: settings, which: int, mark=None):
    """The four property tests under one settings profile (which: 0 default, 1 slow)."""

    def configure(kind):
        return settings(profile, max_examples=EXAMPLES[kind][which])

    @configure("mutated")
    @given(case=mutated_specs(), set_items=overrides, allow_code=st.booleans())
    def mutated(workspace, case, set_items, allow_code):
        _mutated(workspace, case, set_items, allow_code)

    @configure("grammar")
    @given(text=grammar_specs(), set_items=overrides, allow_code=st.booleans())
    def grammar(workspace, text, set_items, allow_code):
        _grammar(workspace, text, set_items, allow_code)

    @configure("broken")
    @given(raw=broken_texts())
    def broken(workspace, raw):
        _broken(workspace, raw)

    @configure("cli")
    @given(
        content=st.one_of(mutated_specs().map(lambda c: c[1]), grammar_specs(), broken_texts()), as_json=st.booleans()
    )
    def cli(workspace, content, as_json):
        _cli(workspace, content, as_json)

    tests = (mutated, grammar, broken, cli)
    return tuple(mark(t) if mark else t for t in tests)


test_mutated_specs, test_grammar_specs, test_broken_yaml, test_cli_exit_status = _property_tests(DEFAULT, 0)
(
    test_mutated_specs_slow,
    test_grammar_specs_slow,
    test_broken_yaml_slow,
    test_cli_exit_status_slow,
) = _property_tests(SLOW, 1, pytest.mark.slow)


# --- the end of the file: positions never past it ---------------------------------------------

SEVEN_LINES = "name: x\ninputs:\n  a: {shape: [3]}\nlayers:\n  - {type: Dense, units: 3}\noutputs: [x]\nfoo: [1, 2"


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\r", "  ", "\n\n"])
def test_syntax_error_at_end_of_file_is_inside_the_file(tmp_path, ending):
    """A 7-line file whose last line is cut off: the error is on line 7, not `FILE:8:1`."""
    path = tmp_path / "cut.yaml"
    path.write_bytes((SEVEN_LINES + ending).encode("utf-8"))
    (error,) = check(path)
    assert "YAML syntax error" in error.message
    lines = file_lines(path)
    if ending in ("", "  "):  # no final line break: the end of the file is the end of line 7
        assert position(error) == (7, len(lines[6]) + 1)
    else:
        assert position(error)[0] <= len(lines)


# --- positions the loader works out itself (not from a YAML mark) -----------------------------

SPEC = ROOT / "specs" / "mnist_convnet.yaml"


@pytest.mark.parametrize(
    ("content", "line", "col"),
    [
        (b"name: x\r\x00layers: []\r", 2, 1),  # a lone CR ends a line for YAML (and editors)
        ("name: x\x85description: a\x01\n".encode(), 2, 15),  # so does NEL
        ("name: é\ndescription: éé\x01\n".encode(), 2, 16),  # columns in characters, not UTF-8 bytes
        ("name: x\ndescription: \U0001f600\x07\n".encode(), 2, 15),
    ],
)
def test_disallowed_character_position(tmp_path, content, line, col):
    path = tmp_path / "chars.yaml"
    path.write_bytes(content)
    (error,) = check(path)
    assert "is not allowed in a YAML file" in error.message
    assert position(error) == (line, col)


def test_disallowed_character_in_set_value_is_located_in_the_item():
    (error,) = check(SPEC, ["name=a\x01"])
    assert error.mark == Mark("--set name=a\x01", 1, 7)


@pytest.mark.parametrize(
    ("content", "line", "col"),
    [
        (b"name: x\ndescription: \xc3\xa9\xc3\xa9\xc3\xa9\xff\n", 2, 17),  # after three 2-byte characters
        (b"name: x\rdescription: \xff\n", 2, 14),
        (b"\xef\xbb\xbfname: \xff\n", 1, 7),  # the BOM is not a column
    ],
)
def test_non_utf8_byte_position_in_characters(tmp_path, content, line, col):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(content)
    (error,) = check(path)
    assert error.message == f"file is not UTF-8 text: byte 0x{content.rstrip()[-1]:02x} cannot be decoded"
    assert position(error) == (line, col)


def test_set_value_that_was_not_utf8_is_a_located_error():
    """`--set name=$'\\xff'`: Python hands the byte over as a lone surrogate; libyaml crashed on it."""
    (error,) = check(SPEC, ["name=\udcff"])
    assert error.mark == Mark("--set name=\udcff", 1, 6)
    assert "U+DCFF" in error.message


# --- checker findings (notes/props-findings.md); strict: fixing the checker turns them into failures


@pytest.mark.parametrize("value", ["[]", "{}"])
def test_checker_finding_f1_distribution_not_text(tmp_path, value):
    path = tmp_path / "dist.yaml"
    path.write_text(
        "name: m\ninputs:\n  a: {shape: [3]}\nlayers:\n  - {type: Dense, name: out, inputs: a, units: 1}\n"
        f"outputs: [out]\ndata:\n  inputs:\n    a: {{distribution: {value}}}\n"
    )
    (error,) = check(path)
    assert position(error) == (9, 23)


def test_checker_finding_f2_number_key_in_user_code_entry(workspace):
    path = workspace / "specs" / "code" / "f2.yaml"
    path.write_text(
        "name: m\ninputs:\n  a: {shape: [3]}\nlayers:\n"
        '  - {type: "gated_layers:GatedDense", name: out, inputs: a, units: 1, 1: relu}\noutputs: [out]\n'
    )
    errors = check(path, allow_code=True)
    assert [position(e) for e in errors] == [(5, 71)]
