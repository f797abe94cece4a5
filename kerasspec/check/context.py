"""What every check shares: the catalog, --allow-code, and the one error collector."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog
from ..errors import Mark, SpecError, closest, did_you_mean
from ..format.declaration import TOP_LEVEL_KEYS
from ..loader import PMap
from ..spec import Spec


def misspelt_keys(tree: PMap) -> set[str]:
    """Top-level keys that an unknown key in the file was probably meant to be."""
    guesses = (closest(str(k), TOP_LEVEL_KEYS) for k in tree if k not in TOP_LEVEL_KEYS)
    return {guess for guess in guesses if guess is not None}


class Fatal(Exception):
    """Stops checking one file after an error that makes the rest meaningless."""


@dataclass
class Context:
    catalog: Catalog
    allow_code: bool
    errors: list[SpecError] = field(default_factory=list)
    trees: list[PMap] = field(default_factory=list)  # every file read, for the errors' key paths
    # reads an included spec: (path, shown path, include chain) -> Spec | None; set by `check.load`
    include: Any = None
    # checks an inline spec (a mapping of this file): (tree, spec holding it, include chain) -> Spec | None
    inline: Any = None
    unresolved: set[Mark] = field(default_factory=set)  # values reported already: a failed ${...}, a bad reference
    # id(tree) -> the blocks (`check.blocks.Scope`) the layers of that spec can use: a file's own,
    # and for a spec written inside it, the file's
    scopes: dict[int, Any] = field(default_factory=dict)
    spec_type: type[Spec] = Spec  # what the checker makes (`kerasspec.api.ModelSpec` can build itself)

    def error(
        self,
        mark: Mark | None,
        message: str,
        hint: str | None = None,
        code: str = "spec-error",
        key_path: str | None = None,
    ) -> None:
        self.errors.append(SpecError(mark, message, hint, code, key_path=key_path))

    def unknown_key(
        self, container: PMap, key: Any, known: Iterable[str], message: str, listing: str, key_path: str | None = None
    ) -> None:
        """The one "unknown key" report: `message` (`unknown data key 'x'`), a close match as
        "did you mean", else the keys there are."""
        known = list(known)
        close = closest(str(key), known)
        self.error(
            container.key_mark(key),
            message + did_you_mean(str(key), known),
            hint=None if close else f"{listing}: " + ", ".join(known),
            code="unknown-key",
            key_path=key_path,
        )


def article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
