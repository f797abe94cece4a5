"""Safe YAML -> plain values that remember where they were written.

Mappings load as `PMap` (a dict) and sequences as `PList` (a list); both keep the 1-based
position of every key and item, so any later stage can point at the exact text it is
unhappy with. Scalars stay plain Python values.

The document is built from PyYAML's event stream by an iterative composer rather than
`yaml.compose`: nesting depth and alias expansion are counted as events arrive, so a
"billion laughs" file or a 10,000-deep list is refused at once, without recursion, and no
tag that constructs an object is ever honoured.
"""

from __future__ import annotations

import codecs
import copy
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import Mark, SpecError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100
MAX_VALUES = 250_000  # values in the document once every alias is expanded

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, reading `1e-4` as a float as YAML 1.2 does (YAML 1.1 wants `1.0e-4`)."""


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in _BaseLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

# What YAML counts as a line break, so as the line numbers of its marks do.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = _TAG + "timestamp"
_MERGE = _TAG + "merge"
_MAP_TAGS = {None, "!", _TAG + "map"}
_SEQ_TAGS = {None, "!", _TAG + "seq"}


class PMap(dict):
    """A mapping that knows where it, each of its keys, and each of its values were written."""

    __slots__ = ("mark", "key_marks", "value_marks")

    def __init__(self, mark: Mark):
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}

    def put(self, key: Any, value: Any, key_mark: Mark, value_mark: Mark) -> None:
        self[key] = value
        self.key_marks[key] = key_mark
        self.value_marks[key] = value_mark

    def key_mark(self, key: Any) -> Mark:
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: Any) -> Mark:
        return self.value_marks.get(key, self.mark)

    def __deepcopy__(self, memo: dict) -> PMap:
        new = PMap(self.mark)
        for k, v in self.items():
            new.put(k, copy.deepcopy(v, memo), self.key_marks.get(k, self.mark), self.value_marks.get(k, self.mark))
        return new


class PList(list):
    """A list that knows where it and each of its items were written."""

    __slots__ = ("mark", "item_marks")

    def __init__(self, mark: Mark):
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []

    def add(self, value: Any, mark: Mark) -> None:
        self.append(value)
        self.item_marks.append(mark)

    def value_mark(self, index: int) -> Mark:
        return self.item_marks[index] if 0 <= index < len(self.item_marks) else self.mark

    def __deepcopy__(self, memo: dict) -> PList:
        new = PList(self.mark)
        for v, m in zip(self, self.item_marks):
            new.add(copy.deepcopy(v, memo), m)
        return new


def value_mark(container: Any, key: Any) -> Mark | None:
    """Where `container[key]` was written, if the container knows."""
    if isinstance(container, (PMap, PList)):
        return container.value_mark(key)
    return None


def key_paths(tree: Any) -> dict[tuple[str, int, int], str]:
    """Where each key and value of a tree was written -> its key path (`layers[2].units`). A key
    wins over the mapping it starts (`compile:` then `lose:` below it: `compile.lose`), and
    otherwise the shallowest path wins where a value starts where its container does."""
    found: dict[tuple[str, int, int], str] = {}
    values: dict[tuple[str, int, int], str] = {}
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, PMap):
            children = [
                (k, f"{path}.{k}" if path else str(k), node.key_marks.get(k), node.value_marks.get(k)) for k in node
            ]
        elif isinstance(node, PList):
            children = [(i, f"{path}[{i}]", None, node.item_marks[i]) for i in range(len(node))]
        else:
            continue
        for _, child_path, key_mark, value_mark in children:
            if key_mark is not None:
                found.setdefault((key_mark.source, key_mark.line, key_mark.col), child_path)
            if value_mark is not None:
                values.setdefault((value_mark.source, value_mark.line, value_mark.col), child_path)
        stack.extend((node[key], child_path) for key, child_path, _, _ in reversed(children))
    return {**values, **found}


def _mark(source: str, yaml_mark: Any, line_offset: int = 0, col_offset: int = 0) -> Mark:
    line = yaml_mark.line + 1 + line_offset
    col = yaml_mark.column + 1 + (col_offset if yaml_mark.line == 0 else 0)
    return Mark(source, line, col)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Frame:
    __slots__ = ("value", "anchor", "size", "key", "key_mark", "has_key", "merges", "explicit_keys")

    def __init__(self, value: PMap | PList, anchor: str | None):
        self.value = value
        self.anchor = anchor
        self.size = 1
        self.key: Any = None
        self.key_mark: Mark | None = None
        self.has_key = False
        self.merges: list[tuple[PMap, Mark]] = []
        self.explicit_keys: set = set()


def load_text(text: str, source: str, *, col_offset: int = 0) -> Any:
    """Parse one YAML document into positioned values. Raises SpecError on any problem."""
    surrogate = _SURROGATE.search(text)
    if surrogate:  # a byte that was not UTF-8 on the command line (`--set`); the YAML reader would crash
        raise SpecError(
            _position_of(text, surrogate.start(), source, col_offset),
            f"character {_show_char(surrogate.group())} is not text: a byte that is not UTF-8",
            code="yaml-syntax",
        )
    loader = _Loader(text)
    try:
        return _compose(loader, source, col_offset)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        raise SpecError(
            _within(text, _mark(source, mark, col_offset=col_offset), col_offset) if mark else Mark(source),
            f"YAML syntax error: {message}",
            code="yaml-syntax",
        ) from None
    except yaml.reader.ReaderError as exc:
        raise SpecError(
            _position_of(text, _reader_index(text, exc.position), source, col_offset),
            f"YAML syntax error: character {_show_char(exc.character)} is not allowed in a YAML file",
            code="yaml-syntax",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(Mark(source), f"YAML error: {exc}", code="yaml-syntax") from None
    finally:
        loader.dispose()


def _within(text: str, mark: Mark, col_offset: int = 0) -> Mark:
    """The mark, or the end of the text when the mark is past it.

    libyaml ends an unfinished last line itself, so an error at the end of a file without a
    final line break came one line past the end (`FILE:8:1` for a 7-line file). The end of
    such a file is the end of its last line.
    """
    lines = _LINE_BREAK.split(text)
    if mark.line <= len(lines):
        return mark
    return Mark(mark.source, len(lines), len(lines[-1]) + 1 + (col_offset if len(lines) == 1 else 0))


def _show_char(character: Any) -> str:
    code = character if isinstance(character, int) else ord(str(character)[:1] or "\0")
    return f"U+{code:04X}"


def _reader_index(text: str, position: int) -> int:
    """The index in `text` of a reader error's position: libyaml gives it in UTF-8 bytes."""
    if _BaseLoader is yaml.SafeLoader:
        return position
    return len(text.encode("utf-8", errors="surrogatepass")[:position].decode("utf-8", errors="ignore"))


def _position_of(text: str, index: int, source: str, col_offset: int = 0) -> Mark:
    """The 1-based line and column of `text[index]`, lines counted as YAML counts them."""
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    line_start = breaks[-1].end() if breaks else -col_offset
    return Mark(source, len(breaks) + 1, index - line_start + 1)


def _compose(loader: Any, source: str, col_offset: int) -> Any:
    return _Composer(loader, source, col_offset).run()


class _Composer:
    """Builds the positioned document from the event stream, counting values (aliases expanded)
    and depth as it goes, so that hostile files are refused before they cost anything."""

    def __init__(self, loader: Any, source: str, col_offset: int):
        self.loader, self.source, self.col_offset = loader, source, col_offset
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.total = 0
        self.document: Any = None
        self.documents = 0

    def run(self) -> Any:
        loader = self.loader
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise SpecError(
                        self.mark_of(event),
                        "a spec is one YAML document; a second one starts here",
                        code="yaml-documents",
                    )
            elif isinstance(event, yaml.AliasEvent):
                self.on_alias(event)
            elif isinstance(event, yaml.ScalarEvent):
                self.on_scalar(event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self.on_start(event)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = self.stack.pop()
                if isinstance(frame.value, PMap):
                    _apply_merges(frame)
                self.attach(frame.value, frame.size, frame.value.mark, frame.anchor)
        return self.document if self.documents else None

    def mark_of(self, event: Any) -> Mark:
        return _mark(self.source, event.start_mark, col_offset=self.col_offset)

    def count(self, size: int, mark: Mark, message: str, hint: str | None = None) -> None:
        self.total += size
        if self.total > MAX_VALUES:
            raise SpecError(mark, message, hint=hint, code="yaml-too-large")

    def on_alias(self, event: Any) -> None:
        mark = self.mark_of(event)
        if event.anchor not in self.anchors:
            raise SpecError(mark, f"unknown alias '*{event.anchor}'", code="yaml-alias")
        value, size = self.anchors[event.anchor]
        self.count(
            size,
            mark,
            f"the document expands past {MAX_VALUES:,} values through aliases",
            "anchors and aliases are allowed, but not to multiply a document (a 'billion laughs' file)",
        )
        self.attach(copy.deepcopy(value) if isinstance(value, (PMap, PList)) else value, size, mark, None)

    def on_scalar(self, event: Any) -> None:
        mark = self.mark_of(event)
        self.count(1, mark, f"the document has more than {MAX_VALUES:,} values")
        tag = event.tag
        if tag in (None, "!"):
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        stack = self.stack
        if tag == _MERGE and stack and isinstance(stack[-1].value, PMap) and not stack[-1].has_key:
            stack[-1].key, stack[-1].key_mark, stack[-1].has_key = _MergeKey, mark, True
            return
        if tag == _TIMESTAMP:
            tag = _TAG + "str"  # a date in a spec is text; no datetime objects
        if tag not in _SCALAR_TAGS:
            raise _tag_error(mark, tag)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        self.attach(self.loader.yaml_constructors[tag](self.loader, node), 1, mark, event.anchor)

    def on_start(self, event: Any) -> None:
        mark = self.mark_of(event)
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            raise _tag_error(mark, event.tag)
        self.total += 1
        if len(self.stack) >= MAX_DEPTH:
            raise SpecError(
                mark,
                f"nesting deeper than {MAX_DEPTH} levels",
                hint="a spec never needs this depth; the file is probably generated wrong or hostile",
                code="yaml-too-deep",
            )
        self.stack.append(_Frame(PMap(mark) if is_map else PList(mark), event.anchor))

    def attach(self, value: Any, size: int, mark: Mark, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.document = value
            return
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.value, PList):
            frame.value.add(value, mark)
        elif not frame.has_key:
            if isinstance(value, (PMap, PList)):
                raise SpecError(mark, "a mapping key must be a plain value, not a list or mapping", code="yaml-key")
            frame.key, frame.key_mark, frame.has_key = value, mark, True
        else:
            frame.has_key = False
            self.put(frame, value, mark)

    def put(self, frame: _Frame, value: Any, mark: Mark) -> None:
        key, key_mark, parent = frame.key, frame.key_mark, frame.value
        assert isinstance(parent, PMap) and key_mark is not None  # attach() put the key in a mapping
        if key is _MergeKey:
            for item in value if isinstance(value, PList) else [value]:
                if not isinstance(item, PMap):
                    raise SpecError(mark, "'<<' merges mappings only", code="yaml-merge")
                frame.merges.append((item, mark))
            return
        if key in frame.explicit_keys:
            first = parent.key_mark(key)
            raise SpecError(
                key_mark,
                f"duplicate key '{key}' (first written at line {first.line})",
                hint="YAML would silently keep only the last one; remove one of them",
                code="duplicate-key",
            )
        frame.explicit_keys.add(key)
        parent.put(key, value, key_mark, mark)


class _MergeKeyType:
    def __repr__(self) -> str:
        return "<<"


_MergeKey = _MergeKeyType()


def _apply_merges(frame: _Frame) -> None:
    """`<<: *base` fills in keys the mapping does not set itself (YAML merge-key semantics)."""
    target = frame.value
    assert isinstance(target, PMap)
    for source, _ in frame.merges:
        for key, value in source.items():
            if key not in target:
                target.put(key, copy.deepcopy(value), source.key_mark(key), source.value_mark(key))


def _tag_error(mark: Mark, tag: str) -> SpecError:
    return SpecError(
        mark,
        f"YAML tag '{_show_tag(tag)}' is not allowed",
        hint="specs are data: no tag may construct an object; write the value plainly",
        code="yaml-tag",
    )


def read_spec_text(path: Path, shown: str) -> str:
    """The file's text, refusing what is not a readable, reasonably sized UTF-8 file."""
    try:
        if path.is_dir():
            raise SpecError(None, "is a directory, not a spec file", source=shown, code="not-a-file")
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError(None, "no such file", source=shown, code="no-such-file") from None
    except OSError as exc:
        raise SpecError(None, f"cannot read: {exc.strerror}", source=shown, code="unreadable") from None
    if size > MAX_FILE_BYTES:
        raise SpecError(
            Mark(shown),
            f"file is {size:,} bytes; a spec may be at most {MAX_FILE_BYTES:,}",
            code="file-too-large",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(None, f"cannot read: {exc.strerror}", source=shown, code="unreadable") from None
    data = data.removeprefix(codecs.BOM_UTF8)  # (utf-8-sig would count the error's offset after it)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")  # the text up to the bad byte decodes
        raise SpecError(
            _position_of(before, len(before), shown),
            f"file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
            hint="save the spec as UTF-8",
            code="not-utf8",
        ) from None


def load_file(path: Path, shown: str | None = None) -> PMap:
    """Load a spec file into a positioned mapping (the top level of a spec must be one)."""
    shown = shown if shown is not None else str(path)
    text = read_spec_text(path, shown)
    value = load_text(text, shown)
    if value is None:
        raise SpecError(
            Mark(shown),
            "the spec is empty",
            hint="a spec needs at least `name:` and `layers:`",
            code="empty-spec",
        )
    if not isinstance(value, PMap):
        where = value.mark if isinstance(value, PList) else Mark(shown)
        found = "a list" if isinstance(value, PList) else f"a {type(value).__name__} value"
        raise SpecError(
            where,
            f"the top level of a spec must be a mapping (name:, layers:, ...), found {found}",
            code="top-level-not-mapping",
        )
    return value


# --- --set overrides -------------------------------------------------------------------------

_INDEX_SUFFIX = re.compile(r"\[(-?\d+)\]")


def apply_override(tree: PMap, item: str) -> None:
    """Apply one `--set a.b.c=value` to the tree; the value is read as YAML.

    A list is indexed by number (`layers.0.units`) or by an entry's `name`
    (`layers.hidden.units`); missing mapping keys are created.
    """
    source = f"--set {item}"
    if "=" not in item:
        raise SpecError(Mark(source), f"--set expects KEY=VALUE, got '{item}'", code="bad-set")
    dotted, _, raw = item.partition("=")
    if not dotted.strip():
        raise SpecError(Mark(source), "--set is missing the key before '='", code="bad-set")
    value_col = len(dotted) + 1  # 0-based offset of the value inside `item`
    try:
        value = load_text(raw, source, col_offset=value_col) if raw.strip() else ""
    except SpecError as exc:
        if exc.mark is not None and exc.mark.line != 1:  # "unexpected end": point past the value
            exc.mark = Mark(source, 1, len(item) + 1)
        raise
    value_mark = Mark(source, 1, value_col + 1)
    segments = _INDEX_SUFFIX.sub(r".\1", dotted).split(".")
    node: Any = tree
    walked: list[str] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        key_mark = Mark(source, 1, 1 + len(".".join(walked)) + (1 if walked else 0))
        where = ".".join(walked) or "the spec"
        if isinstance(node, PMap):
            if last:
                node.put(segment, value, key_mark, value_mark)
                return
            if segment not in node:
                node.put(segment, PMap(key_mark), key_mark, key_mark)
            node = node[segment]
        elif isinstance(node, PList):
            index = _list_index(node, segment)
            if index is None:
                names = [e["name"] for e in node if isinstance(e, dict) and isinstance(e.get("name"), str)]
                raise SpecError(
                    key_mark,
                    f"{where} has no item '{segment}' (it has {len(node)} item{'s' if len(node) != 1 else ''})",
                    hint=("items can be picked by index or by name: " + ", ".join(names)) if names else None,
                    code="bad-set",
                )
            if last:
                node[index] = value
                node.item_marks[index] = value_mark
                return
            node = node[index]
        else:
            raise SpecError(
                key_mark,
                f"cannot set '{segment}' inside {where}: it is a single value, not a mapping or list",
                code="bad-set",
            )
        walked.append(segment)


def _list_index(items: PList, segment: str) -> int | None:
    if re.fullmatch(r"-?\d+", segment):
        index = int(segment)
        if -len(items) <= index < len(items):
            return index % len(items)
        return None
    for i, entry in enumerate(items):
        if isinstance(entry, dict) and entry.get("name") == segment:
            return i
    return None
