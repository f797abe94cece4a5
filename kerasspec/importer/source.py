"""Where `kerasspec import` reads a model's configuration from, without running anything in it.

A `.keras` file is a zip archive: only its `config.json` member is read (the weights are never
opened), with its size checked before and while it is inflated, so a zip bomb is refused after
at most `MAX_CONFIG_BYTES`. A `.json` file is what `model.to_json()` writes. Both are parsed as
plain JSON; nothing in them is deserialized, imported or executed. `keras.applications:NAME` is
built by Keras (with `weights=None`) and its configuration taken from the model.

A problem with the file as a whole is `PATH: error: ...`; a problem with one layer is located at
the line and column where that layer's configuration starts (`Source.locate`).
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Mark, SpecError, did_you_mean

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # the largest keras.applications config is about 1 MiB
APPLICATIONS = "keras.applications:"


@dataclass
class Source:
    """A model's serialized configuration (`{module, class_name, config, ...}`) and where it came from."""

    shown: str  # how errors name it: the file, `model.keras/config.json`, or `keras.applications:X`
    document: Any
    text: str | None = None  # the JSON text, to locate errors in; None when nothing was read

    def error(self, where: tuple[Any, ...], message: str, hint: str | None = None) -> SpecError:
        """An error about the part of the document at key path `where`."""
        mark = self.locate(where)
        source = None if mark is not None else self.shown
        return SpecError(mark, message, hint=hint, source=source, code="cannot-import")

    def locate(self, where: tuple[Any, ...]) -> Mark | None:
        """Where the value at key path `where` starts in the JSON text (parsed again, slowly, with
        positions: only when an error is reported)."""
        if self.text is None:
            return None
        starts, document = _parse_with_positions(self.text)
        value = document
        try:
            for key in where:
                value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
        offset = starts.get(id(value))
        if offset is None:
            return None
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Mark(self.shown, line, col)


def read_source(source: str) -> Source:
    """The configuration `kerasspec import SOURCE` reads (see the module's docstring)."""
    if source.startswith(APPLICATIONS):
        return _application(source[len(APPLICATIONS) :], source)
    path = Path(source)
    if not path.exists():
        raise SpecError(
            None,
            "no such file",
            hint="give a .keras file, a JSON file from model.to_json(), or keras.applications:NAME",
            source=source,
            code="no-file",
        )
    if path.is_dir():
        raise SpecError(None, "is a directory; give a .keras or .json file", source=source, code="bad-model-file")
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise SpecError(
            None, f"cannot read the file: {exc.strerror or exc}", source=source, code="bad-model-file"
        ) from None
    if head.startswith(b"\x89HDF"):
        raise SpecError(
            None,
            "an HDF5 (.h5) file: Keras 2's legacy format, which kerasspec does not read",
            hint="load it in Keras 3 and save it as .keras (model.save('model.keras'))",
            source=source,
            code="bad-model-file",
        )
    if head == b"PK\x03\x04" or path.suffix == ".keras":
        shown = f"{source}/config.json"
        return _parsed(shown, _config_member(path, source))
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise SpecError(
            None,
            f"file is {size:,} bytes; a model configuration may be at most {MAX_CONFIG_BYTES:,}",
            source=source,
            code="too-large",
        )
    return _parsed(source, path.read_bytes())


def _config_member(path: Path, source: str) -> bytes:
    """The bytes of `config.json` in a .keras archive, inflated no further than the size limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise SpecError(
                    None,
                    "not a Keras model file: the archive has no config.json",
                    hint="a .keras file is written by model.save('model.keras')",
                    source=source,
                    code="bad-model-file",
                ) from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise _too_large(source, info.file_size)
            with archive.open(info) as member:
                data = member.read(MAX_CONFIG_BYTES + 1)  # the header may lie: read no further
            if len(data) > MAX_CONFIG_BYTES:
                raise _too_large(source, len(data))
            return data
    except SpecError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise SpecError(
            None,
            f"not a Keras model file: cannot read it as a zip archive ({exc})",
            hint="give a .keras file, a JSON file from model.to_json(), or keras.applications:NAME",
            source=source,
            code="bad-model-file",
        ) from None


def _too_large(source: str, size: int) -> SpecError:
    return SpecError(
        None,
        f"config.json inflates to {size:,} bytes or more; a model configuration may be at most {MAX_CONFIG_BYTES:,}",
        source=source,
        code="too-large",
    )


def _parsed(shown: str, data: bytes) -> Source:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            None, f"not a Keras model configuration: not UTF-8 text (byte {exc.start})", source=shown, code="bad-json"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            Mark(shown, exc.lineno, exc.colno),
            f"not a Keras model configuration: bad JSON: {exc.msg}",
            code="bad-json",
        ) from None
    except RecursionError:
        raise SpecError(
            None, "not a Keras model configuration: JSON nested too deeply", source=shown, code="bad-json"
        ) from None
    return Source(shown, document, text)


def _application(name: str, shown: str) -> Source:
    """A model of `keras.applications`, built with `weights=None` and no weights allocated."""
    import inspect

    from .._keras import import_keras

    keras = import_keras()
    functions = sorted(
        n for n in dir(keras.applications) if n[:1].isupper() and inspect.isfunction(getattr(keras.applications, n))
    )
    if name not in functions:
        raise SpecError(
            None,
            f"keras.applications has no model '{name}'" + did_you_mean(name, functions),
            hint=None if did_you_mean(name, functions) else "one of: " + ", ".join(functions),
            source=shown,
            code="unknown-application",
        )
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = getattr(keras.applications, name)(weights=None)
        document = json.loads(model.to_json())
    finally:
        keras.utils.clear_session()  # drop the pending variables
    return Source(shown, document)


# The pure-Python parts of the json module (typeshed does not list them).
_JSON_OBJECT: Any = getattr(json.decoder, "JSONObject")  # noqa: B009
_JSON_ARRAY: Any = getattr(json.decoder, "JSONArray")  # noqa: B009
_MAKE_SCANNER: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009


class _PositionDecoder(json.JSONDecoder):
    """The pure-Python JSON decoder, remembering where each object and array starts."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: dict[int, int] = {}
        starts = self.starts

        def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
            value, end = _JSON_OBJECT(s_and_end, *args)
            starts[id(value)] = s_and_end[1] - 1
            return value, end

        def parse_array(s_and_end: tuple[str, int], scan_once: Any) -> tuple[Any, int]:
            value, end = _JSON_ARRAY(s_and_end, scan_once)
            starts[id(value)] = s_and_end[1] - 1
            return value, end

        self.parse_object = parse_object
        self.parse_array = parse_array
        self.scan_once = _MAKE_SCANNER(self)


def _parse_with_positions(text: str) -> tuple[dict[int, int], Any]:
    decoder = _PositionDecoder()
    document = decoder.decode(text)
    return decoder.starts, document
