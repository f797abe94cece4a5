"""A spec document as YAML a person reads: one line per layer entry (a flow mapping), block style
only where a nested model's layers are listed. Strings are quoted where YAML would read them as
something else, and `${` is escaped as `$${`, so the spec's vars never touch imported text."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Plain words YAML (1.1 or 1.2) reads as something other than text.
_SPECIAL = frozenset(
    w
    for word in ("true", "false", "yes", "no", "on", "off", "null", "y", "n", "nan", "inf")
    for w in (word, word.capitalize(), word.upper())
)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value).replace("${", "$${")
    if _PLAIN.match(text) and text not in _SPECIAL:
        return text
    return json.dumps(text)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _is_flat(value: Any) -> bool:
    """Whether a value reads well on one line: it holds no list of mappings (a model's layers)."""
    if isinstance(value, dict):
        return all(_is_flat(v) for v in value.values())
    if isinstance(value, list):
        return not any(isinstance(v, dict) and not _is_flat(v) for v in value) and not (
            value and all(isinstance(v, dict) for v in value) and any("type" in v or "op" in v for v in value)
        )
    return True


def block(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_flat(item) or not isinstance(item, (dict, list)):
                lines.append(f"{pad}{scalar(key)}: {flow(item)}")
            else:
                lines.append(f"{pad}{scalar(key)}:")
                lines.extend(block(item, indent + 2))
        return lines
    for item in value:
        if _is_flat(item):
            lines.append(f"{pad}- {flow(item)}")
        else:
            inner = block(item, indent + 2)
            lines.append(f"{pad}- {inner[0][indent + 2 :]}")
            lines.extend(inner[1:])
    return lines


def spec_text(document: dict[str, Any], header: str) -> str:
    """The spec file: a comment saying where it came from, then the document."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    top: list[str] = []
    for key, item in document.items():
        if key in ("inputs", "layers") and isinstance(item, (dict, list)):
            top.append(f"{key}:")
            top.extend(block(item, 2))
        else:
            top.extend(block({key: item}))
    return comment + "\n".join(top) + "\n"
