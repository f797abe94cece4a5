"""The JSON Schema (draft-07) of the format for the installed Keras, read from the declarations.

Editors use it through yaml-language-server (`# yaml-language-server: $schema=...`) and CI
through check-jsonschema. Layer entries dispatch on `type` with one `if`/`then` per class,
so an editor completes a Dense's keywords and a misspelt one is refused by the schema itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..catalog import Catalog, ClassInfo
from ..kinds import KINDS
from .declaration import (
    BLOCK_NAME_PATTERN,
    DISTRIBUTION,
    DISTRIBUTIONS,
    ENTRY_KEYS,
    GIVEN,
    INPUT_DATA,
    OP_ENTRY_KEYS,
    OP_INPUTS,
    TOP_LEVEL,
    Key,
    Section,
    argument_type,
)
from .types import CODE_REFERENCE_PATTERN, Anything, KerasObject, ListOf, Nested, value_schema

DRAFT = "http://json-schema.org/draft-07/schema#"
NULL = {"type": "null"}


def _property(key: Key) -> dict[str, Any]:
    schema = dict(value_schema(key.type))
    if key.doc:
        schema["description"] = key.doc
    if key.has_default:
        schema["default"] = key.default
    return schema


def section_schema(section: Section, catalog: Catalog) -> dict[str, Any]:
    keys = section.all_keys(catalog)
    properties = {name: _property(key) for name, key in sorted(keys.items())}
    for name, key in keys.items():
        if not key.required and "$ref" not in properties[name]:
            properties[name] = {"anyOf": [properties[name], NULL], **_notes(properties[name])}
    schema: dict[str, Any] = {
        "type": "object",
        "description": section.doc,
        "properties": properties,
        "additionalProperties": False,
    }
    required = [key.name for key in section.keys if key.required]
    if required:
        schema["required"] = required
    return schema


def _notes(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("description", "default") if k in schema}


def _argument(info: ClassInfo, name: str) -> dict[str, Any]:
    details = info.details.get(name, {})
    schema = dict(value_schema(argument_type(name, details, info.name)))
    notes = {
        k: v for k, v in (("description", details.get("doc")), ("default", details.get("default"))) if v is not None
    }
    if name in info.required:
        return {**schema, **notes}
    return {"anyOf": [schema, NULL], **notes} if schema else notes


def class_schema(info: ClassInfo, extra: dict[str, Any]) -> dict[str, Any]:
    """One class's keywords (and the keys the entry itself has, `extra`)."""
    properties = dict(extra)
    properties.update({name: _argument(info, name) for name in sorted(info.params) if name not in extra})
    schema: dict[str, Any] = {"properties": properties}
    if not info.open:
        schema["additionalProperties"] = False
    required = [r for r in info.required if r != "name"]
    if required:
        schema["required"] = required
    return schema


def _dispatch(classes: Iterable[str], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"$ref": f"#/definitions/{prefix}.{name}"},
        }
        for name in sorted(classes)
    ]


def _type_property(classes: dict[str, ClassInfo], noun: str) -> dict[str, Any]:
    return {
        "description": f"the {noun}: a Keras class, or package.module:Name (--allow-code)",
        "anyOf": [{"enum": sorted(classes)}, {"type": "string", "pattern": CODE_REFERENCE_PATTERN}],
    }


def _kind_definitions(catalog: Catalog, definitions: dict[str, Any]) -> None:
    """For each kind of Keras object: a name, or `{type: Class, ...}` with that class's keywords."""
    for kind in catalog.kinds:
        if kind == "layers":
            continue
        classes = catalog.classes(kind)
        noun = KINDS[kind].noun
        for name, info in classes.items():
            definitions[f"{kind}.{name}"] = class_schema(info, {"type": {"const": name}})
        forms: list[dict[str, Any]] = [
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": _type_property(classes, noun)},
                "allOf": _dispatch(classes, kind),
            },
            {"type": "string", "pattern": CODE_REFERENCE_PATTERN},
        ]
        names = sorted(catalog.names(kind))
        if names:
            forms.insert(0, {"enum": names})
        if kind == "schedules":
            forms.insert(0, {"type": "number"})
        definitions[kind] = {"description": f"{noun}: a name or {{type: ..., ...}}", "anyOf": forms}
    definitions["activations"] = {
        "description": "an activation: a name, or a layer object",
        "anyOf": [
            {"enum": sorted(catalog.names("activations"))},
            {"type": "string", "pattern": CODE_REFERENCE_PATTERN},
            {"$ref": "#/definitions/layers"},
        ],
    }


def _layer_definitions(catalog: Catalog, definitions: dict[str, Any]) -> None:
    classes = catalog.classes("layers")
    reserved = {key.name: _property(key) for key in ENTRY_KEYS if key.name not in ("layers", "block")}
    reserved["type"] = _type_property(classes, "layer type")
    reserved["type"]["anyOf"][0]["enum"].append("Sequential")
    for name, info in classes.items():
        definitions[f"layers.{name}"] = class_schema(info, reserved)
    inline = {k: reserved[k] for k in ("type", "name", "inputs", "call")}
    inline["layers"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/layers"}}
    definitions["layers.Sequential"] = {
        "description": "a sequential model written in place",
        "properties": inline,
        "required": ["layers"],
        "additionalProperties": False,
    }
    definitions["layers.block"] = {
        "description": "a block's use: its other keys are the block's parameters",
        "properties": {
            "block": _property(next(key for key in ENTRY_KEYS if key.name == "block")),
            **{k: reserved[k] for k in ("name", "inputs")},
        },
        "required": ["block", "name"],
        "propertyNames": {"pattern": BLOCK_NAME_PATTERN},
        "not": {"anyOf": [{"required": [key]} for key in ("type", "reuse", "spec", "op")]},
    }
    _op_definitions(catalog, reserved, definitions)
    definitions["layers"] = {
        "description": "a layer entry: {type: Class, keywords...}, {reuse: name}, {spec: file.yaml}, {op: function}"
        " or {block: name}",
        "type": "object",
        "properties": {**reserved, "inputs": {"anyOf": [reserved["inputs"], _property(OP_INPUTS)]}},
        "allOf": [
            *_dispatch([*classes, "Sequential"], "layers"),
            {"if": {"required": ["op"]}, "then": {"$ref": "#/definitions/layers.op"}},
            {"if": {"required": ["block"]}, "then": {"$ref": "#/definitions/layers.block"}},
            {
                "if": {"not": {"anyOf": [{"required": ["type"]}, {"required": ["op"]}, {"required": ["block"]}]}},
                "then": {"propertyNames": {"enum": sorted(reserved)}},
            },
        ],
    }


def _op_definitions(catalog: Catalog, reserved: dict[str, Any], definitions: dict[str, Any]) -> None:
    """`{op: mean, inputs: ..., axis: 1}`: a keras.ops function, its keywords per function."""
    entry = {"op": {"description": reserved["op"].get("description"), "enum": catalog.op_names}}
    entry.update({key: reserved[key] for key in OP_ENTRY_KEYS if key not in ("op", "inputs")})
    entry["inputs"] = _property(OP_INPUTS)
    dispatch = []
    for name in catalog.op_names:
        op = catalog.op(name)
        assert op is not None
        if op.name == name:  # required arguments may come in `inputs`: none is a required key
            definitions[f"ops.{name}"] = {k: v for k, v in class_schema(op.info, entry).items() if k != "required"}
        dispatch.append(
            {"if": {"properties": {"op": {"const": name}}}, "then": {"$ref": f"#/definitions/ops.{op.name}"}}
        )
    definitions["layers.op"] = {"required": ["op"], "properties": entry, "allOf": dispatch}


def _block_schemas(top: dict[str, Any], definitions: dict[str, Any]) -> None:
    """`blocks:` as written: names and parameter names as vars', a block's entries as entries."""
    names = {"propertyNames": {"pattern": BLOCK_NAME_PATTERN}}
    block = definitions["block"]["properties"]
    block["layers"] = {
        **_notes(block["layers"]),
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/definitions/layers"},
    }
    block["params"] = {**_notes(block["params"]), "anyOf": [{"type": "object", **names}, NULL]}
    blocks = top["properties"]["blocks"]
    blocks["anyOf"] = [{"type": "object", **names, "additionalProperties": {"$ref": "#/definitions/block"}}, NULL]


def _distribution_definition(catalog: Catalog, section: Section, *others: str) -> dict[str, Any]:
    """A distribution's section (`others`: its keys that are no distribution's parameter), with
    the parameters each named distribution takes."""
    schema = section_schema(section, catalog)
    schema["allOf"] = [
        {
            "if": {"properties": {"distribution": {"const": name}}, "required": ["distribution"]},
            "then": {"propertyNames": {"enum": ["distribution", "dtype", *params, *others]}},
        }
        for name, params in DISTRIBUTIONS.items()
    ]
    return schema


def rule_schemas(section: Section) -> list[dict[str, Any]]:
    """A section's rules as `if`/`then` at the top level (rules may reach other sections)."""
    found = []
    for rule in section.rules:
        condition: dict[str, Any] = {"required": [rule.key]}
        if rule.value is not GIVEN:
            condition["properties"] = {rule.key: {"const": rule.value}}
        if section.label:
            condition = {"properties": {section.label: condition}, "required": [section.label]}
        then: list[dict[str, Any]] = []
        for path in rule.forbids:
            parent, _, key = path.rpartition(".")
            forbidden = {"not": {"required": [key]}}
            then.append({"properties": {parent: forbidden}} if parent else forbidden)
        if rule.allows is not None:
            then.append({"properties": {section.label: {"propertyNames": {"enum": sorted(rule.allows)}}}})
        found.append({"if": condition, "then": {"allOf": then}})
    return found


def json_schema(catalog: Catalog) -> dict[str, Any]:
    """The whole schema: the top level, with a definition per section, kind and class."""
    definitions: dict[str, Any] = {}
    _kind_definitions(catalog, definitions)
    _layer_definitions(catalog, definitions)
    for section in _nested_sections(TOP_LEVEL):
        definitions[section.ref] = section_schema(section, catalog)
    definitions["distribution"] = _distribution_definition(catalog, DISTRIBUTION)
    definitions[INPUT_DATA.ref] = _distribution_definition(catalog, INPUT_DATA, "sequence_length")
    top = section_schema(TOP_LEVEL, catalog)
    top["properties"]["layers"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/definitions/layers"},
        "description": "the layer entries, in order",
    }
    _block_schemas(top, definitions)
    sections = [TOP_LEVEL, *_nested_sections(TOP_LEVEL)]
    top["allOf"] = [rule for section in sections for rule in rule_schemas(section)]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(catalog.versions.items()))
    return {
        "$schema": DRAFT,
        "$id": "https://kerasspec.invalid/spec-format-v1.json",
        "title": "kerasspec spec (format version 1)",
        **top,
        "description": f"A kerasspec model spec, for the installed {versions}.",
        "definitions": definitions,
    }


def _nested_sections(section: Section) -> list[Section]:
    """Every section reachable from one through its keys' types."""
    found: list[Section] = []

    def visit(value_type: Any) -> None:
        if isinstance(value_type, Nested) and value_type.section not in found:
            found.append(value_type.section)
            for key in value_type.section.keys:
                visit(key.type)
        for inner in ("item", "value"):
            if hasattr(value_type, inner):
                visit(getattr(value_type, inner))
        for option in getattr(value_type, "options", ()):
            visit(option)

    for key in section.keys:
        visit(key.type)
    return found


__all__ = ["json_schema", "section_schema", "Anything", "KerasObject", "ListOf"]
