"""The kinds of values a spec key takes, each able to say what it accepts and its JSON Schema.

Checking a value against a type is `accepts()` for plain values; the types that need more than
the value (a Keras object's catalog, the model's output names, user code) are checked by
`kerasspec.check.values`, which dispatches on the type's class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# `${...}` where a value goes: vars and expressions are resolved before the checks run, but an
# editor sees the file as written, so the schema accepts them wherever a value is expected.
EXPRESSION_PATTERN = r"^\$\{[^}]*\}$"
EXPRESSION = {"type": "string", "pattern": EXPRESSION_PATTERN}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounded(json_type: str, **bounds: float | None) -> dict[str, Any]:
    return {"type": json_type, **{name: bound for name, bound in bounds.items() if bound is not None}}


class ValueType:
    """Base of every value type: `expected` reads after "must be" in an error message.

    A type says it with a field (`expected: str = "text"`) or, when it depends on the type's
    parameters, a property."""

    @property
    def expected(self) -> str:
        return "a value"

    def accepts(self, value: Any) -> bool:
        return True

    def json(self) -> dict[str, Any]:
        return {}

    def describe(self) -> str:
        return self.expected


@dataclass(frozen=True)
class Anything(ValueType):
    expected: str = "any value"


@dataclass(frozen=True)
class Integer(ValueType):
    minimum: int | None = None
    maximum: int | None = None

    @property
    def expected(self) -> str:
        low = self.minimum if self.minimum is not None and self.minimum > -(2**62) else None
        high = self.maximum if self.maximum is not None and self.maximum < 2**62 else None  # int64's: unsaid
        if low is not None and high is not None:
            return f"a whole number from {low} to {high}"
        if low is not None:
            return f"a whole number of at least {low}"
        if high is not None:
            return f"a whole number of at most {high}"
        return "a whole number"

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    def json(self) -> dict[str, Any]:
        return _bounded("integer", minimum=self.minimum, maximum=self.maximum)


@dataclass(frozen=True)
class Number(ValueType):
    minimum: float | None = None
    below: float | None = None  # exclusive upper bound

    @property
    def expected(self) -> str:
        if self.minimum is not None and self.below is not None:
            return f"a fraction in [{self.minimum:g}, {self.below:g})"
        return "a number"

    def accepts(self, value: Any) -> bool:
        if not is_number(value):
            return False
        return (self.minimum is None or value >= self.minimum) and (self.below is None or value < self.below)

    def json(self) -> dict[str, Any]:
        return _bounded("number", minimum=self.minimum, exclusiveMaximum=self.below)


@dataclass(frozen=True)
class Boolean(ValueType):
    expected: str = "true or false"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def json(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Text(ValueType):
    expected: str = "text"
    pattern: str | None = None  # a JSON Schema (ECMA 262) pattern, also valid for Python's re

    def accepts(self, value: Any) -> bool:
        import re

        return isinstance(value, str) and (self.pattern is None or re.search(self.pattern, value) is not None)

    def json(self) -> dict[str, Any]:
        return {"type": "string", **({"pattern": self.pattern} if self.pattern else {})}


@dataclass(frozen=True)
class Choice(ValueType):
    """One of a fixed set of values; `ignore_case` where Keras lower-cases what it is given."""

    values: tuple[Any, ...]
    ignore_case: bool = False

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)

    def accepts(self, value: Any) -> bool:
        if self.ignore_case and isinstance(value, str):
            return value.lower() in {str(v).lower() for v in self.values}
        return any(value == v and type(value) is type(v) for v in self.values)

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"enum": list(self.values)}
        if self.ignore_case:
            letters = "|".join(
                "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in str(v)) for v in self.values
            )
            schema = {"anyOf": [schema, {"type": "string", "pattern": f"^(?:{letters})$"}]}
        return schema


@dataclass(frozen=True)
class Suggested(ValueType):
    """Text, with the values Keras documents offered (to editors) but not enforced."""

    values: tuple[str, ...]

    @property
    def expected(self) -> str:
        return "text (such as " + ", ".join(self.values) + ")"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [{"enum": list(self.values)}, {"type": "string"}]}


@dataclass(frozen=True)
class ListOf(ValueType):
    item: ValueType
    min_items: int = 0

    @property
    def expected(self) -> str:
        listed = "a non-empty list" if self.min_items else "a list"
        return listed if isinstance(self.item, Anything) else f"{listed} of {self.item.expected}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and len(value) >= self.min_items and all(self.item.accepts(v) for v in value)

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": value_schema(self.item)}
        if self.min_items:
            schema["minItems"] = self.min_items
        return schema


@dataclass(frozen=True)
class MapOf(ValueType):
    value: ValueType
    expected: str = "a mapping"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and all(self.value.accepts(v) for v in value.values())

    def json(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": value_schema(self.value)}


@dataclass(frozen=True)
class Union(ValueType):
    options: tuple[ValueType, ...]

    @property
    def expected(self) -> str:
        return " or ".join(o.expected for o in self.options)

    def accepts(self, value: Any) -> bool:
        return any(o.accepts(value) for o in self.options)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [o.json() for o in self.options]}


@dataclass(frozen=True)
class Null(ValueType):
    expected: str = "null"

    def accepts(self, value: Any) -> bool:
        return value is None

    def json(self) -> dict[str, Any]:
        return {"type": "null"}


# --- types whose check needs more than the value (see kerasspec.check.values) -----------------


@dataclass(frozen=True)
class KerasObject(ValueType):
    """A Keras object of one catalog kind: a name (`adam`, `he_normal`) or `{type: Class, ...}`."""

    kind: str

    @property
    def expected(self) -> str:
        from ..kinds import KINDS

        noun = KINDS[self.kind].noun
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} name or {{type: ..., ...}} object"

    def json(self) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{self.kind}"}


@dataclass(frozen=True)
class PerOutput(ValueType):
    """One value for every output, a list in output order, or a mapping by output name."""

    item: ValueType

    @property
    def expected(self) -> str:
        return f"{self.item.expected}, a list of them in output order, or a mapping by output name"

    def json(self) -> dict[str, Any]:
        item = value_schema(self.item)
        return {"anyOf": [item, {"type": "array", "items": item}, {"type": "object", "additionalProperties": item}]}


CODE_REFERENCE_PATTERN = r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$"


@dataclass(frozen=True)
class CodeReference(ValueType):
    """`package.module:Name`: user code, imported only with --allow-code."""

    noun: str

    @property
    def expected(self) -> str:
        return "a package.module:Name reference to Python code"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)  # its form and the --allow-code rule are checked apart

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": CODE_REFERENCE_PATTERN}


@dataclass(frozen=True)
class Nested(ValueType):
    """A mapping declared as its own section (`kerasspec.format.declaration.Section`)."""

    section: Any = field(compare=False)

    @property
    def expected(self) -> str:
        return "a mapping"

    def json(self) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{self.section.ref}"}


def value_schema(value_type: ValueType) -> dict[str, Any]:
    """The JSON Schema of a value, with `${...}` accepted in place of any non-text value."""
    schema = value_type.json()
    if not schema or isinstance(value_type, (Text, Anything, Suggested)):
        return schema
    return {"anyOf": [schema, EXPRESSION]}
