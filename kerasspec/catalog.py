"""What the installed Keras accepts (layer classes, their keywords, initializers, losses, ...).

The facts come from the installed Keras itself: `kerasspec._catalog_gen` reads them in a
subprocess, and the result is cached per Keras/TensorFlow version (and generator version)
under the user's cache directory. Reading the catalog never imports TensorFlow.

Where Keras or TensorFlow is not installed (`pip install kerasspec` without the `keras` extra,
as a pre-commit hook installs it), the static checks read the snapshot shipped in the package:
the generator's output for the newest Keras of the supported range, written by
`scripts/catalog_snapshot.py` and checked against the live catalog by a test.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .kinds import KINDS


@dataclass(frozen=True)
class ClassInfo:
    kind: str
    name: str
    params: frozenset[str]
    required: tuple[str, ...]
    open: bool  # accepts keywords we could not enumerate (checked only when built)
    defaults: tuple[tuple[str, str], ...] = ()  # (param, type name of its default)
    # per param: default, JSON types, enum, description, as `_catalog_gen.argument_details` read them
    details: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)
    adapts: bool = False  # has `adapt()`: learns from data before training (`adapt: true`)

    def expects_number(self, param: str) -> bool:
        """True where true/false is surely a mistake: a required argument, or a numeric default."""
        if param in self.required:
            return True
        return dict(self.defaults).get(param) in ("int", "float")

    @property
    def runs_code(self) -> bool:
        kind = KINDS.get(self.kind)
        return kind is not None and self.name in kind.code_running


@dataclass(frozen=True)
class OpInfo:
    """A function of `keras.ops`: its keywords (as a `ClassInfo`) and which of them can be
    given by position, in order (`varargs`: more positions go to `*args`)."""

    info: ClassInfo
    positional: tuple[str, ...]
    varargs: bool

    @property
    def name(self) -> str:
        return self.info.name


def _class_info(kind: str, name: str, info: dict[str, Any]) -> ClassInfo:
    return ClassInfo(
        kind,
        name,
        frozenset(info["params"]),
        tuple(info["required"]),
        info["open"],
        tuple(sorted(info.get("defaults", {}).items())),
        info.get("details", {}),
        bool(info.get("adapts")),
    )


LIVE = "installed"
SNAPSHOT = "snapshot"
SNAPSHOT_PATH = Path(__file__).with_name("catalog_snapshot.json")
KERAS_PACKAGES = ("keras", "tensorflow")  # what the live catalog needs (the generator imports both)


class Catalog:
    def __init__(self, data: dict[str, Any], origin: str = LIVE):
        self.data = data
        self.origin = origin  # LIVE: read from the installed Keras; SNAPSHOT: shipped with kerasspec
        self.versions: dict[str, str] = data["versions"]
        self._classes: dict[str, dict[str, ClassInfo]] = {
            kind: {name: _class_info(kind, name, info) for name, info in entries.items()}
            for kind, entries in data["classes"].items()
        }
        self._names: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in data["names"].items()}
        self.functions = {
            name: ClassInfo(
                "functions", name, frozenset(i["params"]), tuple(i["required"]), i["open"], (), i.get("details", {})
            )
            for name, i in data["functions"].items()
        }
        self.dtypes: frozenset[str] = frozenset(data["dtypes"])
        self._ops: dict[str, Any] = data["ops"]

    def op(self, name: str) -> OpInfo | None:
        """The `keras.ops` function of that name (`mean`, `image.resize`)."""
        raw = self._ops.get(name)
        if raw is None:
            return None
        if "alias" in raw:  # `nn.sigmoid`, also at the top level as `sigmoid`
            name = raw["alias"]
            raw = self._ops[name]
        return OpInfo(_class_info("ops", name, raw), tuple(raw["positional"]), raw["varargs"])

    @property
    def op_names(self) -> list[str]:
        """Every name an `op:` entry may give (`nn.sigmoid` as well as `sigmoid`)."""
        return list(self._ops)

    @property
    def kinds(self) -> list[str]:
        return list(self._classes)

    def classes(self, kind: str) -> dict[str, ClassInfo]:
        return self._classes.get(kind, {})

    def get_class(self, kind: str, name: str) -> ClassInfo | None:
        return self._classes.get(kind, {}).get(name)

    def names(self, kind: str) -> frozenset[str]:
        """Strings accepted where an object of this kind is expected (`he_normal`, `adam`...)."""
        return self._names.get(kind, frozenset())

    def find_class(self, name: str) -> list[ClassInfo]:
        """Every kind that has a class of this name (for parameters whose kind is unknown)."""
        return [entries[name] for entries in self._classes.values() if name in entries]

    def all_class_names(self) -> set[str]:
        return {n for entries in self._classes.values() for n in entries}


def _cache_dir() -> Path:
    if os.environ.get("KERASSPEC_CACHE_DIR"):
        return Path(os.environ["KERASSPEC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kerasspec"


def _installed_version(package: str) -> str:
    """The installed version of a package, read from its `NAME-VERSION.dist-info` directory
    beside it: `importlib.metadata` costs 12-20 ms to import and scan, a tenth of `validate`."""
    # Searches sys.path without importing the package or asking sys.modules (where a stand-in
    # module without a spec may sit).
    found = importlib.machinery.PathFinder.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return "none"
    prefix = package + "-"
    for location in found.submodule_search_locations:
        with os.scandir(Path(location).parent) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".dist-info"):
                    return entry.name[len(prefix) : -len(".dist-info")]
    from importlib import metadata  # an unusual layout: ask the slow way

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def installed_versions() -> dict[str, str]:
    """The installed versions of Keras and TensorFlow ("none" for one that is not installed)."""
    return {package: _installed_version(package) for package in KERAS_PACKAGES}


def missing_packages() -> list[str]:
    """Keras and TensorFlow, those of them that are not installed (kerasspec without its extra)."""
    return [package for package, version in installed_versions().items() if version == "none"]


def cache_path(versions: dict[str, str] | None = None) -> Path:
    """Where the catalog of the installed Keras lives: one file per Keras/TF/generator version
    (the generator reads the kinds registry, so the registry is part of its version)."""
    generator = b"".join(Path(__file__).with_name(name).read_bytes() for name in ("_catalog_gen.py", "kinds.py"))
    digest = f"{zlib.crc32(generator):08x}"  # a cache key, not a security check (hashlib costs 2-6 ms)
    found = versions or installed_versions()
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return _cache_dir() / f"catalog-keras{found['keras']}-tf{found['tensorflow']}-py{py}-{digest}.json"


class CatalogUnavailable(RuntimeError):
    """The installed Keras could not be read (not installed, or broken)."""


def generate_catalog_data() -> dict[str, Any]:
    """Run the generator against the installed Keras in a subprocess (a few seconds)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    proc = subprocess.run(
        [sys.executable, "-m", "kerasspec._catalog_gen"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CatalogUnavailable(f"could not read the installed Keras: {last}")
    return json.loads(proc.stdout)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def snapshot_data() -> dict[str, Any]:
    """The catalog shipped with kerasspec (package data), for installs without Keras."""
    return json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def get_catalog(refresh: bool = False) -> Catalog:
    """The catalog of the installed Keras, generated once per version and cached on disk; without
    Keras or TensorFlow installed, the snapshot shipped with kerasspec (`refresh` needs Keras)."""
    versions = installed_versions()
    if "none" in versions.values() and not refresh:
        return Catalog(snapshot_data(), SNAPSHOT)
    path = cache_path(versions)
    if not refresh:
        try:
            return Catalog(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            pass
    data = generate_catalog_data()
    try:
        _write_atomically(path, json.dumps(data, sort_keys=True))
    except OSError:
        pass  # an unwritable cache costs speed, not correctness
    return Catalog(data)
