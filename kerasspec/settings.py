"""Typed, resolved settings: `compile`, `data` and `train` as the checker leaves them.

A `Settings` object is a read-only mapping of the keys the spec wrote (each keeping where it was
written, for later errors), and answers every key its section declares as an attribute, with
the declaration's default where the spec wrote none: `spec.train.epochs`, `spec.data.samples`.
Defaults live in one table, `kerasspec.format.declaration`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

from .errors import Mark
from .format.declaration import COMPILE, DATA, TRAIN, Section
from .loader import PMap


class Settings(Mapping[str, Any]):
    section: ClassVar[Section]

    def __init__(self, written: PMap | None):
        self._written = written if written is not None else PMap(Mark("<defaults>"))
        self._declared = {key.name: key for key in self.section.keys}

    @classmethod
    def empty(cls) -> Self:
        return cls(None)

    # the keys the spec wrote
    def __getitem__(self, key: str) -> Any:
        return self._written[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._written)

    def __len__(self) -> int:
        return len(self._written)

    def key_mark(self, key: str) -> Mark:
        return self._written.key_mark(key)

    def value_mark(self, key: str) -> Mark:
        return self._written.value_mark(key)

    @property
    def mark(self) -> Mark:
        return self._written.mark

    # every declared key, defaults applied
    def __getattr__(self, name: str) -> Any:
        declared = self.__dict__.get("_declared", {})
        if name not in declared:
            raise AttributeError(f"{type(self).__name__} has no setting {name!r}")
        if name in self._written and self._written[name] is not None:
            return self._written[name]
        key = declared[name]
        return key.default if key.has_default else None

    def resolved(self) -> dict[str, Any]:
        """Every key written, plus every declared key with a default: what kerasspec runs with."""
        values = {k.name: k.default for k in self.section.keys if k.has_default}
        values.update((k, v) for k, v in self._written.items() if v is not None)
        return values


class Compile(Settings):
    section = COMPILE


class Data(Settings):
    section = DATA


class Train(Settings):
    section = TRAIN
