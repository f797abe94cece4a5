"""The generated parts of `docs/spec-format.md`, made from the declarations and the catalog.

The document is hand-written prose with blocks between `<!-- generated: NAME -->` and
`<!-- end: NAME -->`; `render()` refills every block, and a test fails when the checked-in
document differs from what it gives. Update it with:

    .venv/bin/python -m kerasspec.format.reference docs/spec-format.md
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ..catalog import Catalog, get_catalog
from ..kinds import KINDS
from .declaration import (
    ADAPT,
    BLOCK,
    COMPILE,
    DATA,
    DISTRIBUTION_DOCS,
    DISTRIBUTIONS,
    ENTRY_KEYS,
    FOLDER_SET_BY_KERASSPEC,
    GIVEN,
    IMAGE_FOLDER,
    INPUT,
    TEXT_FOLDER,
    TOP_LEVEL,
    TRAIN,
    Rule,
    Section,
)
from .types import ValueType

_BLOCK = re.compile(r"(<!-- generated: (\w[\w-]*) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(key_default: object) -> str:
    return "" if key_default is None else f"`{json.dumps(key_default)}`"


def key_table(section: Section, catalog: Catalog | None = None, *, own_only: bool = True) -> str:
    keys = {k.name: k for k in section.keys} if own_only else section.all_keys(catalog)
    rows = ["| key | takes | default | meaning |", "| --- | --- | --- | --- |"]
    for name, key in keys.items():
        default = _default(key.default) if key.has_default else ("required" if key.required else "")
        rows.append(f"| `{name}` | {_cell(_describe(key.type))} | {default} | {_cell(key.doc)} |")
    return "\n".join(rows) + "\n"


def _describe(value_type: ValueType) -> str:
    return value_type.describe()


def _rule_line(section: Section, rule: Rule) -> str:
    where = f"{section.label}." if section.label else ""
    forbidden = ", ".join(f"`{key}`" for key in rule.forbids) or f"{where}<any key but {', '.join(rule.allows or ())}>"
    given = f"`{where}{rule.key}`" if rule.value is GIVEN else f"`{where}{rule.key}: {rule.value}`"
    line = f"- with {given}: " + rule.message.format(key=forbidden).replace("``", "`")
    return line + (f" (hint: {rule.hint})" if rule.hint else "") + "\n"


def _distributions() -> str:
    rows = ["| distribution | parameters | values |", "| --- | --- | --- |"]
    for name, params in DISTRIBUTIONS.items():
        rows.append(f"| `{name}` | {', '.join(f'`{p}`' for p in params) or '-'} | {DISTRIBUTION_DOCS[name]} |")
    return "\n".join(rows) + "\n"


def _catalog_lists(catalog: Catalog) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in sorted(catalog.versions.items()))
    lines = [f"What the installed Keras accepts ({versions}):", ""]
    for kind in catalog.kinds:
        names = sorted(catalog.classes(kind))
        lines.append(f"- **{KINDS[kind].noun}** classes ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    for kind in ("activations", "losses", "metrics", "optimizers", "initializers"):
        names = sorted(catalog.names(kind))
        lines.append(f"- **{KINDS[kind].noun}** names ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    return "\n".join(lines) + "\n"


def blocks(catalog: Catalog) -> dict[str, str]:
    return {
        "top-level": key_table(TOP_LEVEL),
        "inputs": key_table(INPUT),
        "entry-keys": "| key | takes | meaning |\n| --- | --- | --- |\n"
        + "".join(f"| `{k.name}` | {_cell(_describe(k.type))} | {_cell(k.doc)} |\n" for k in ENTRY_KEYS),
        "block": key_table(BLOCK),
        "adapt": key_table(ADAPT),
        "compile": key_table(COMPILE),
        "data": key_table(DATA),
        "images": key_table(IMAGE_FOLDER),
        "text": key_table(TEXT_FOLDER),
        "distributions": _distributions(),
        "folder-set": ", ".join(f"`{name}`" for name in FOLDER_SET_BY_KERASSPEC) + "\n",
        "train": key_table(TRAIN),
        "rules": "".join(_rule_line(section, rule) for section in (TOP_LEVEL, DATA, TRAIN) for rule in section.rules),
        "catalog": _catalog_lists(catalog),
    }


def render(text: str, catalog: Catalog) -> str:
    """`text` with every generated block refilled."""
    filled = blocks(catalog)

    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in filled:
            raise KeyError(f"unknown generated block {name!r}")
        return match.group(1) + filled[name] + match.group(4)

    return _BLOCK.sub(fill, text)


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/spec-format.md")
    text = path.read_text(encoding="utf-8")
    new = render(text, get_catalog())
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
