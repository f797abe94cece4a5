"""Writing outputs safely: through a temporary sibling, moved into place in one step, and
never over an existing file unless asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .errors import SpecError


def write_new_file(path: Path, write: Callable[[Path], object], *, force: bool = False) -> None:
    """Call `write(tmp)` to produce the content, then put it at `path` atomically.

    The temporary file keeps `path`'s suffix (tools such as Graphviz pick the format from
    it). Without `force` an existing `path` is an error, checked again at the final link so a
    file that appears meanwhile is not replaced either.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise SpecError(None, f"directory '{path.parent}' does not exist", source=str(path), code="no-directory")
    if path.is_dir():
        raise SpecError(None, "is a directory; name a file to write", source=str(path), code="is-a-directory")
    if path.exists() and not force:
        raise SpecError(None, "file exists; pass --force to overwrite it", source=str(path), code="file-exists")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        try:
            write(tmp)
        except OSError as exc:  # a full disk, a read-only directory: the environment, not a bug
            raise SpecError(
                None, f"cannot write the file: {exc.strerror or exc}", source=str(path), code="write-failed"
            ) from None
        if force:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise SpecError(
                None, "file exists; pass --force to overwrite it", source=str(path), code="file-exists"
            ) from None
        except OSError:  # no hard links on this filesystem: check, then rename
            if path.exists():
                raise SpecError(
                    None, "file exists; pass --force to overwrite it", source=str(path), code="file-exists"
                ) from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_new_text(path: Path, text: str, *, force: bool = False) -> None:
    write_new_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


def write_new_directory(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` to make a directory at `tmp`, then rename it to `path` in one step.

    `tmp` has `path`'s name, inside a hidden directory beside `path` (same filesystem, so the
    rename is atomic) that is removed whatever happens: a failed `write` leaves nothing behind.
    An existing `path` is never replaced.
    """
    import shutil
    import tempfile

    path = Path(path)
    if not path.parent.is_dir():
        raise SpecError(None, f"directory '{path.parent}' does not exist", source=str(path), code="no-directory")
    if path.exists():
        raise SpecError(None, "exists; choose another path or remove it", source=str(path), code="file-exists")
    try:
        holder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise SpecError(
            None, f"cannot write the directory: {exc.strerror or exc}", source=str(path), code="write-failed"
        ) from None
    try:
        tmp = holder / path.name
        try:
            write(tmp)
        except OSError as exc:
            raise SpecError(
                None, f"cannot write the directory: {exc.strerror or exc}", source=str(path), code="write-failed"
            ) from None
        if path.exists():  # appeared meanwhile: os.rename would replace an empty directory
            raise SpecError(None, "exists; choose another path or remove it", source=str(path), code="file-exists")
        os.rename(tmp, path)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
