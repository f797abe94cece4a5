"""The `diff` document (`kerasspec.diff`) for people: a coloured text report, or markdown for a
pull-request comment (a summary line, a table of changed layers, long lists folded)."""

from __future__ import annotations

import json
from typing import Any

from .summary import format_shape

MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}
STYLE = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
FOLD_AFTER = 10  # markdown: longer lists go into a collapsible <details>


def signed(number: int) -> str:
    """+1,286,913 / -640 / 0: a delta with thousands separators and its sign."""
    return f"{number:+,}" if number else "0"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _shapes(shapes: list[list[int | None]]) -> str:
    return ", ".join(format_shape(s) for s in shapes) or "?"


def _params_change(item: dict[str, Any]) -> str:
    if item["change"] == "added":
        return f"{item['new']['params']['total']:,}"
    if item["change"] == "removed":
        return f"{item['old']['params']['total']:,}"
    old, new = item["old"]["params"]["total"], item["new"]["params"]["total"]
    return f"{old:,} → {new:,} ({signed(new - old)})" if old != new else f"{new:,}"


def _type(item: dict[str, Any]) -> str:
    old, new = item.get("old", {}).get("type"), item.get("new", {}).get("type")
    return f"{old} → {new}" if old and new and old != new else (new or old or "?")


def describe_change(item: dict[str, Any]) -> str:
    """What changed about one layer, in words."""
    if item["change"] == "added":
        return f"added, output {_shapes(item['new']['output_shapes'])}"
    if item["change"] == "removed":
        return "removed"
    parts = [f"{c['key']}: {_value(c['old'])} → {_value(c['new'])}" for c in item.get("config", [])]
    old, new = item["old"], item["new"]
    if old["type"] != new["type"]:
        parts.insert(0, f"type {old['type']} → {new['type']}")
    if old["output_shapes"] != new["output_shapes"]:
        parts.append(f"output {_shapes(old['output_shapes'])} → {_shapes(new['output_shapes'])}")
    if old["inbound"] != new["inbound"]:
        parts.append(f"called on {', '.join(old['inbound']) or '-'} → {', '.join(new['inbound']) or '-'}")
    if item.get("cause") == "upstream":
        parts.append("own keywords unchanged: changed by what is above it")
    elif item.get("cause") == "inside":
        parts.append("changed inside (its layers are listed below it)")
    return "; ".join(parts) or item["change"]


def _counts(document: dict[str, Any]) -> dict[str, int]:
    counts = {"added": 0, "removed": 0, "changed": 0}
    for item in document["layers"]:
        if item["change"] in counts:
            counts[item["change"]] += 1
    return counts


def summary_line(document: dict[str, Any]) -> str:
    params = document["params"]
    old, new = params["old"]["total"], params["new"]["total"]
    counts = _counts(document)
    layers = ", ".join(f"{n} {what}" for what, n in counts.items())
    return f"parameters {old:,} → {new:,} ({signed(new - old)}); layers: {layers}; settings: {len(document['settings'])} changed"


def _io_changes(document: dict[str, Any]) -> list[str]:
    lines = []
    names = document["model_name"]
    if names["old"] != names["new"]:
        lines.append(f"model name: {names['old']} → {names['new']}")
    for role in ("inputs", "outputs"):
        old, new = document[role]["old"], document[role]["new"]
        if old != new:
            shown = [
                ", ".join(f"{t['name']} {_shapes([t['shape']])} {t['dtype']}" for t in side) for side in (old, new)
            ]
            lines.append(f"{role}: {shown[0]} → {shown[1]}")
    return lines


def render_text(document: dict[str, Any], console: Any) -> None:
    from rich.markup import escape

    old, new = document["old"], document["new"]
    console.print(f"[bold]{escape(old['source'])}[/bold] → [bold]{escape(new['source'])}[/bold]")
    if document["same"]:
        console.print("the same model and settings")
        return
    console.print(escape(summary_line(document)), highlight=False, soft_wrap=True)
    params = document["params"]
    for part in ("trainable", "non_trainable"):
        a, b = params["old"][part], params["new"][part]
        if a != b:
            console.print(f"  {part.replace('_', '-')}: {a:,} → {b:,} ({signed(b - a)})", highlight=False)
    for line in _io_changes(document):
        console.print(f"[yellow]~ {escape(line)}[/yellow]", highlight=False)
    for item in document["layers"]:
        if item["change"] == "unchanged":
            continue
        style = STYLE[item["change"]]
        text = f"{MARK[item['change']]} {item['name']} ({_type(item)}): {describe_change(item)}; params {_params_change(item)}"
        console.print(f"[{style}]{escape(text)}[/{style}]", highlight=False, soft_wrap=True)
    for change in document["settings"]:
        text = f"~ {change['key']}: {_value(change['old'])} → {_value(change['new'])}"
        console.print(f"[yellow]{escape(text)}[/yellow]", highlight=False, soft_wrap=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(document: dict[str, Any]) -> str:
    """A GitHub-ready pull-request comment."""
    old, new = document["old"], document["new"]
    lines = [f"### kerasspec diff: `{new['name']}`", "", f"`{old['source']}` → `{new['source']}`", ""]
    if document["same"]:
        return "\n".join(lines + ["The model and its settings are the same.", ""])
    params = document["params"]
    a, b = params["old"]["total"], params["new"]["total"]
    counts = _counts(document)
    lines.append(
        f"**Parameters: {a:,} → {b:,} ({signed(b - a)})** · "
        + " · ".join(f"{n} {what}" for what, n in counts.items())
        + f" · {len(document['settings'])} settings changed"
    )
    lines.append("")
    io = _io_changes(document)
    if io:
        lines += [f"- {_cell(line)}" for line in io] + [""]
    changed = [item for item in document["layers"] if item["change"] != "unchanged"]
    if changed:
        table = ["| | layer | type | change | params |", "| --- | --- | --- | --- | --- |"]
        table += [
            f"| {MARK[i['change']].replace('~', '±') if i['change'] == 'changed' else MARK[i['change']]} "
            f"| `{_cell(i['name'])}` | {_cell(_type(i))} | {_cell(describe_change(i))} | {_params_change(i)} |"
            for i in changed
        ]
        counted = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        lines += _folded(f"Layers ({counted})", table, len(changed))
    if document["settings"]:
        table = ["| setting | old | new |", "| --- | --- | --- |"]
        table += [
            f"| `{c['key']}` | `{_cell(_value(c['old']))}` | `{_cell(_value(c['new']))}` |"
            for c in document["settings"]
        ]
        lines += _folded(f"Settings ({len(document['settings'])} changed)", table, len(document["settings"]))
    return "\n".join(lines) + "\n"


def _folded(title: str, table: list[str], count: int) -> list[str]:
    if count <= FOLD_AFTER:
        return [f"**{title}**", "", *table, ""]
    return [f"<details><summary>{title}</summary>", "", *table, "", "</details>", ""]
