"""The one walk over spec values that hold Keras objects: `{type: X, ...}` objects, names of
Keras objects (`he_normal`) and references to user code (`pkg.module:Name`).

A value's kind comes from the keyword it is given under (`kinds.parameter_kind`); `walk` calls
the visitor at each object, name and code reference with its kind and where it was written, and
returns what the visitor returns in its place. The static check, the build and the collection of
a saved model's user code are visitors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import Mark
from .kinds import Kind, object_kind, parameter_kind
from .loader import PList, PMap


class Visitor:
    """What `walk` calls. The defaults keep values as they are and go inside every mapping."""

    def visit_object(self, kind: Kind | None, raw: PMap) -> Any:
        """`{type: X, ...}`; `walk_arguments` goes inside. `kind` is None where nothing says it."""
        walk_arguments(self, raw, [key for key in raw if key != "type"])
        return raw

    def visit_name(self, kind: Kind, value: str, mark: Mark | None) -> Any:
        return value

    def visit_code(self, kind: Kind, value: str, mark: Mark | None) -> Any:
        """`pkg.module:Name` where an object of `kind` goes."""
        return value

    def visit_model(self, raw: PMap, mark: Mark | None) -> Any:
        """A nested model written where no kind is implied (`{spec: file.yaml}`, an inline
        `{spec: {...}}` or `{type: Sequential, layers: [...]}`): only the checks and the build
        of a subclass's `args` make it a model; by default it is a mapping like any other."""
        if "type" in raw:
            return self.visit_object(None, raw)
        return walk_arguments(self, raw, raw)

    def visit_untyped(self, kind: Kind, raw: PMap, mark: Mark | None) -> Any:
        """A mapping without `type` where `kind` is expected: by default, one of them per key (a
        loss by output name); a key that names a kind of its own has that kind."""
        return {
            str(key): walk(self, value, parameter_kind(str(key)) or kind, raw.value_mark(key))
            for key, value in raw.items()
        }


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, tuple))


def is_nested_model(value: PMap) -> bool:
    """`{spec: ...}` (a file or a spec in place) or `{type: Sequential, layers: [...]}`."""
    return ("spec" in value and "type" not in value) or (value.get("type") == "Sequential" and "layers" in value)


def walk(visitor: Visitor, value: Any, kind: Kind | None, mark: Mark | None) -> Any:
    """`value` with every object, name and code reference in it replaced by what `visitor`
    returns for it; lists of plain values become tuples, as Keras's configs hold them."""
    if isinstance(value, PMap):
        if kind is None and is_nested_model(value):
            return visitor.visit_model(value, mark)
        if "type" in value:
            return visitor.visit_object(object_kind(kind), value)
        if kind is not None:
            return visitor.visit_untyped(kind, value, mark)
        return walk_arguments(visitor, value, value)
    if isinstance(value, PList):
        items = [walk(visitor, item, kind, value.value_mark(i)) for i, item in enumerate(value)]
        return tuple(items) if all(_plain(item) for item in items) else items
    if isinstance(value, str) and kind is not None:
        if ":" in value or kind.module is None:  # a kind outside Keras: text can only be code
            return visitor.visit_code(kind, value, mark)
        return visitor.visit_name(kind, value, mark)
    return value


def walk_arguments(visitor: Visitor, raw: PMap, keys: Iterable[Any]) -> dict[str, Any]:
    """The given keys of a mapping, each walked with the kind its name (and the mapping's
    `type`, for keywords of one class such as `Lambda.function`) implies."""
    owner = raw.get("type")
    owner = owner if isinstance(owner, str) else None
    return {str(key): walk(visitor, raw[key], parameter_kind(str(key), owner), raw.value_mark(key)) for key in keys}


def walk_parameter(visitor: Visitor, param: str, value: Any, mark: Mark | None, owner: str | None = None) -> Any:
    """A keyword's value, walked with the kind its name (and its class `owner`) implies."""
    return walk(visitor, value, parameter_kind(param, owner), mark)
