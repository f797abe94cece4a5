"""Spec files at a git revision: `HEAD:specs/ticket.yaml`, `main:specs/ticket.yaml`.

`git archive` writes the revision's YAML and Python files (what a spec can include or import)
into a temporary directory, so the spec and its includes are read from the same revision; the
path is relative to the repository's top, as git reads `REV:PATH` (`REV:./x.yaml` is relative
to the current directory, as in git). Errors name the file as `REV:PATH`.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import SpecError

_ARCHIVED = (".yaml", ".yml", ".py")  # what a spec can include or import
_MAX_FILES_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class SpecSource:
    path: Path  # the file to read
    shown: str  # how errors name it


def is_revision_path(text: str) -> bool:
    """`REV:PATH` rather than a file: it has a colon and no such file exists."""
    return ":" in text and not Path(text).exists()


def _git(args: list[str], cwd: Path, source: str) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise SpecError(
            None, "REV:PATH needs git, which is not installed", source=source, code="bad-revision"
        ) from None
    if proc.returncode != 0:
        raise _GitFailed(proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout


class _GitFailed(Exception):
    pass


@contextmanager
def spec_source(text: str) -> Iterator[SpecSource]:
    """The spec a command line names: a file, or `REV:PATH` read from git into a temporary tree."""
    if not is_revision_path(text):
        yield SpecSource(Path(text), text)
        return
    revision, _, path = text.partition(":")
    cwd = Path.cwd()
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], cwd, text).decode().strip())
    except _GitFailed:
        raise SpecError(
            None,
            f"'{text}' is not a file, and REV:PATH needs a git repository: {cwd} is not inside one",
            source=text,
            code="bad-revision",
        ) from None
    if not revision:
        raise SpecError(None, "REV:PATH is missing the revision before ':'", source=text, code="bad-revision")
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd, text).decode().strip()
    except _GitFailed:
        raise SpecError(
            None,
            f"unknown git revision '{revision}'",
            hint="git log --oneline lists them",
            source=text,
            code="bad-revision",
        ) from None
    relative = PurePosixPath(path)
    if path.startswith(("./", "../")):
        prefix = _git(["rev-parse", "--show-prefix"], cwd, text).decode().strip()
        relative = PurePosixPath(_normalized(PurePosixPath(prefix) / path))
    try:
        _git(["cat-file", "-e", f"{commit}:{relative}"], top, text)
    except _GitFailed:
        raise SpecError(
            None, f"revision '{revision}' has no file '{relative}'", source=text, code="bad-revision"
        ) from None
    files = _spec_files(commit, top, text, str(relative))
    with tempfile.TemporaryDirectory(prefix="kerasspec-rev-") as tmp:
        for name, content in files:
            target = Path(tmp, *PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        yield SpecSource(Path(tmp) / relative, f"{revision}:{relative}")


_REGULAR = (b"100644", b"100755")
_SYMLINK = b"120000"


def _spec_files(commit: str, top: Path, source: str, requested: str) -> list[tuple[str, bytes]]:
    """The revision's YAML and Python files (regular blobs only), and the requested spec whatever
    its name (through a symbolic link to a file of the revision too), read in one `git cat-file`."""
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", commit], top, source).split(b"\0")
    wanted: list[tuple[str, str]] = []
    tree: dict[str, tuple[bytes, str]] = {}
    for line in listing:
        meta, _, name = line.partition(b"\t")
        fields = meta.split()
        path = name.decode("utf-8", "surrogateescape")
        if len(fields) != 3 or ".." in PurePosixPath(path).parts or path.startswith("/"):
            continue
        tree[path] = (fields[0], fields[2].decode())
        if fields[0] in _REGULAR and path.endswith(_ARCHIVED):
            wanted.append((path, fields[2].decode()))
    mode, sha = tree.get(requested, (b"", ""))
    if mode in _REGULAR and not requested.endswith(_ARCHIVED):
        wanted.append((requested, sha))
    elif mode == _SYMLINK:
        link = _git(["cat-file", "blob", sha], top, source).decode("utf-8", "surrogateescape")
        target = tree.get(_normalized(PurePosixPath(requested).parent / link), (b"", ""))
        if target[0] in _REGULAR:
            wanted.append((requested, target[1]))
    if not wanted:
        return []
    total = 0
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=top,
        input="\n".join(sha for _, sha in wanted).encode() + b"\n",
        capture_output=True,
        check=False,
    )
    out, files, at = proc.stdout, [], 0
    for path, _ in wanted:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        total += size
        if total > _MAX_FILES_BYTES:
            raise SpecError(None, "the revision's spec files are too large to read", source=source, code="bad-revision")
        files.append((path, out[header_end + 1 : header_end + 1 + size]))
        at = header_end + 1 + size + 1
    return files


def _normalized(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)
