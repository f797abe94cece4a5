"""The one error type users see: a message at a position in a file, with an optional hint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Exit codes of every command, kept in one place (pip's status_codes.py does the same):
EXIT_OK = 0  # done, nothing found
EXIT_DIFFERENCES = 1  # a check that compares (`diff` and the like) found differences
EXIT_BAD_INPUT = 2  # the spec, its data or an option is wrong: every error printed, located
EXIT_INTERNAL = 3  # a bug in kerasspec (pre-commit uses 3 too), so CI tells a crash from a finding
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
# A reader that leaves early (`kerasspec validate ... | head -1`) ends the command quietly with
# 1, as click and Python do on a broken pipe; it is neither a finding nor a crash worth a report.


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a source: a file path, or a pseudo-source such as `--set a=b`."""

    source: str
    line: int = 1
    col: int = 1
    # Where a copy came from, said after a message at this position: an entry of a block is
    # checked once per use, and its errors name the use (`kerasspec.check.blocks`).
    within: str = ""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.col}"


@dataclass
class SpecError(Exception):
    """A problem with user input, reported as `PATH:LINE:COL: error: MESSAGE` (+ `hint:`)."""

    mark: Mark | None
    message: str
    hint: str | None = None
    code: str = "spec-error"
    source: str | None = None  # used when there is no position (a missing file)
    key_path: str | None = None  # where in the spec: `layers[2].units`, `compile.loss.priority`

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    @property
    def full_message(self) -> str:
        """The message, and where the copy it is about came from (a block's use)."""
        return self.message + (self.mark.within if self.mark is not None else "")

    def location(self) -> str:
        if self.mark is not None:
            return str(self.mark)
        return self.source or "<input>"

    def render(self) -> str:
        text = f"{self.location()}: error: {self.full_message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        if self.key_path:
            text += f"\n  at: {self.key_path}"
        return text

    def as_dict(self) -> dict:
        return {
            "path": self.mark.source if self.mark else self.source,
            "line": self.mark.line if self.mark else None,
            "col": self.mark.col if self.mark else None,
            "key_path": self.key_path,
            "code": self.code,
            "message": self.full_message,
            "hint": self.hint,
        }


class SpecErrors(Exception):
    """Several spec errors found in one pass, in source order."""

    def __init__(self, errors: list[SpecError]):
        super().__init__("\n".join(e.render() for e in errors))
        self.errors = errors


KERAS_INSTALL = "pip install 'kerasspec[keras]'"
# The import names of what that extra installs (pyproject.toml's `keras` extra; a test keeps the
# two in step): a command that needs one of them says so in one line, without a traceback.
KERAS_EXTRA_MODULES = ("keras", "tensorflow", "numpy", "pydot", "matplotlib", "tensorboard")
_DISPLAY_NAMES = {"keras": "Keras", "tensorflow": "TensorFlow"}
EXPORT_INSTALL = "pip install 'kerasspec[export]'"
# What `export --format onnx` imports beyond the `keras` extra (pyproject.toml's `export` extra;
# the same test keeps them in step): its converter, tf2onnx, and the onnx package it writes with.
EXPORT_EXTRA_MODULES = ("tf2onnx", "onnx")


class KerasMissing(Exception):
    """A command (or option) that builds or runs models, where kerasspec was installed without
    its `keras` extra: bad input of the environment, exit 2, one line with the install command."""

    def __init__(self, missing: Iterable[str], option: str | None = None, install: str = KERAS_INSTALL):
        self.missing = [_DISPLAY_NAMES.get(name, name) for name in missing]
        self.option = option  # `--build`, `--refresh`: the option that needs them, if not the command
        self.install = install  # the extra that brings them (`export`'s converters have their own)
        super().__init__(" and ".join(self.missing) + " not installed")

    def render(self, command: str) -> str:
        names = " and ".join(self.missing)
        verb = "is" if len(self.missing) == 1 else "are"
        used = f"kerasspec {command}" + (f" {self.option}" if self.option else "")
        return f"{used} needs {names}, which {verb} not installed here; install with: {self.install}"


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to `word`, or None when nothing is close.

    Matching ignores case; among candidates equal but for case (`adam`, `Adam`) the one
    written most like `word` wins, so the answer is the same on every run.
    """
    import difflib  # only when something is misspelt: 1-2 ms off every start-up

    groups: dict[str, list[str]] = {}
    for c in sorted(c for c in candidates if isinstance(c, str)):
        groups.setdefault(c.lower(), []).append(c)
    lowered = word.lower()
    if lowered in groups:
        match_group = groups[lowered]
    else:
        found = difflib.get_close_matches(lowered, list(groups), n=1, cutoff=cutoff)
        if not found:
            return None
        match_group = groups[found[0]]
    best = max(match_group, key=lambda c: (difflib.SequenceMatcher(None, word, c).ratio(), c == word))
    return None if best == word else best


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'x'?` when something is close, else an empty string."""
    match = closest(word, candidates)
    return f"; did you mean '{match}'?" if match else ""
