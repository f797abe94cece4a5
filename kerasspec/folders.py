"""Image and text folders (`data.images`, `data.text`), indexed as Keras's directory utilities
index them: with `labels: inferred` each subfolder (sorted, hidden ones left out) is a class and
every file with an image extension (or .txt) below it is one row; with `labels: null` or a list,
every such file below the folder.

This half reads no TensorFlow, so a bad folder is refused before TensorFlow loads: where the
folder is, its classes and how many files each has. `folder_data` makes the datasets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpecError
from .format.declaration import FOLDER_SECTIONS
from .loader import PList, PMap

if TYPE_CHECKING:
    from .spec import Spec

# The image utility's allow-list of formats (Keras's image_dataset_utils), and the text utility's one format
FORMATS = {"images": (".bmp", ".gif", ".jpeg", ".jpg", ".png"), "text": (".txt",)}
WHAT = {"images": "image", "text": "text"}


@dataclass
class Folder:
    """`data.images` or `data.text` as written, with the directory resolved against the spec's file."""

    kind: str  # images | text
    settings: PMap
    path: Path

    @property
    def written(self) -> str:
        return str(self.settings["directory"])

    @property
    def mark(self) -> Any:
        """Where errors about the folder itself point: its `directory` value."""
        return self.settings.value_mark("directory")

    @property
    def key_path(self) -> str:
        return f"data.{self.kind}"

    @property
    def labels(self) -> Any:
        return self.settings.get("labels", "inferred")


@dataclass
class FolderIndex:
    """A folder's classes (None without labels) and its number of files per class."""

    classes: list[str] | None
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def data_folder(spec: Spec) -> Folder | None:
    """The spec's folder, if its data comes from one (the declaration lets at most one be given)."""
    data = spec.tree.get("data")
    if not isinstance(data, PMap):
        return None
    for kind in FOLDER_SECTIONS:
        settings = data.get(kind)
        if isinstance(settings, PMap) and isinstance(settings.get("directory"), str):
            return Folder(kind, settings, spec.path.parent / settings["directory"])
    return None


def _files(directory: Path, formats: tuple[str, ...], follow_links: bool) -> int:
    """How many files with one of `formats` lie below `directory` (as Keras's `iter_valid_files`)."""
    return sum(1 for _ in folder_files(directory, formats, follow_links))


def folder_files(directory: Path, formats: tuple[str, ...], follow_links: bool = False) -> Iterator[Path]:
    """The files with one of `formats` below `directory`, in sorted order."""
    for root, folders, names in os.walk(directory, followlinks=follow_links):
        folders.sort()
        for name in sorted(names):
            if name.lower().endswith(formats):
                yield Path(root) / name


def index_folder(folder: Folder) -> FolderIndex:
    """The folder's classes and files, or a located error when it is missing, not a directory,
    or holds no files the utility reads."""
    path, mark, shown = folder.path, folder.mark, folder.written
    if not path.exists():
        raise SpecError(mark, f"{WHAT[folder.kind]} folder '{shown}' not found (looked for {path})", code="data-folder")
    if not path.is_dir():
        raise SpecError(mark, f"'{shown}' is not a directory ({path})", code="data-folder")
    formats = FORMATS[folder.kind]
    follow = bool(folder.settings.get("follow_links", False))
    extensions = ", ".join(formats)
    labels = folder.labels
    if labels != "inferred":
        count = _files(path, formats, follow)
        if not count:
            raise SpecError(mark, f"'{shown}' holds no {extensions} files", code="data-folder")
        if isinstance(labels, PList):
            classes = sorted({int(v) for v in labels})
            return FolderIndex([str(c) for c in classes], [sum(1 for v in labels if v == c) for c in classes])
        return FolderIndex(None, [count])
    subfolders = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    wanted = folder.settings.get("class_names")
    if isinstance(wanted, PList):
        stray = [str(name) for name in wanted if name not in subfolders]
        if stray:
            raise SpecError(
                folder.settings.value_mark("class_names"),
                f"'{shown}' has no subfolder '{stray[0]}' (it has: {', '.join(subfolders) or 'none'})",
                code="data-folder",
            )
        subfolders = [str(name) for name in wanted]
    if not subfolders:
        raise SpecError(
            mark,
            f"'{shown}' has no class subfolders",
            hint=f"put each class's files in a subfolder named after it ({shown}/cats/, {shown}/dogs/, ...), "
            "or set `labels: null` to read files without labels",
            code="data-folder",
        )
    counts = [_files(path / name, formats, follow) for name in subfolders]
    if not sum(counts):
        raise SpecError(
            mark,
            f"the subfolders of '{shown}' ({', '.join(subfolders)}) hold no {extensions} files",
            code="data-folder",
        )
    return FolderIndex(subfolders, counts)


def check_folder(spec: Spec) -> FolderIndex | None:
    """The spec's folder indexed, or its first problem as a located error; None without one.
    Run when data is about to be read (before TensorFlow loads), not by the static checks:
    `summary` or `plot` of a spec whose folder is on another machine must still work."""
    folder = data_folder(spec)
    if folder is None:
        return None
    size = folder.settings.get("image_size") if folder.kind == "images" else None
    if isinstance(size, PList) and len(size) != 2:
        raise SpecError(
            folder.settings.value_mark("image_size"),
            f"`data.images.image_size` must be [height, width], got {len(size)} numbers",
            code="bad-value",
        )
    return index_folder(folder)
