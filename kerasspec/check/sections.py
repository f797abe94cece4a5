"""Sections declared in `kerasspec.format.declaration`, checked by walking their declarations.

`check_section` is the one place that reports unknown keys, missing required keys, values of
the wrong type and broken rules, for every section (top level, inputs, compile, data,
distributions, train). What a declaration cannot say (output names, a distribution's own
parameters) is checked here too, beside it.
"""

from __future__ import annotations

from typing import Any

from ..errors import Mark, SpecError, closest, did_you_mean
from ..format.declaration import COMPILE, DATA, DISTRIBUTE, DISTRIBUTIONS, TRAIN, Rule, Section
from ..format.types import (
    Choice,
    CodeReference,
    KerasObject,
    ListOf,
    MapOf,
    Nested,
    PerOutput,
    Union,
    ValueType,
)
from ..loader import PList, PMap
from ..settings import Compile, Data, Train
from ..spec import Spec
from .context import Context
from .objects import check_keras_object, code_reference


def unknown_name_keys(mapping: Any, names: list[str], section: str, noun: str = "output") -> list[SpecError]:
    """Keys of a mapping by output (or input) name (`compile.loss`, `data.targets`,
    `data.inputs`) that name none; used statically, and after the build for models whose
    outputs only Keras knows."""
    return [
        SpecError(
            mapping.key_mark(key),
            f"'{key}' in `{section}` is not an {noun} of the model" + did_you_mean(str(key), names),
            hint=None if closest(str(key), names) else f"{noun}s: " + ", ".join(names),
            code=f"unknown-{noun}",
        )
        for key in mapping
        if key not in names
    ]


def report_unknown_keys(ctx: Context, mapping: PMap, known: list[str], section: Section, label: str) -> None:
    """Every key of `mapping` its section does not declare, with a close match or the list."""
    for key in mapping:
        if key in section.set_elsewhere:
            ctx.error(
                mapping.key_mark(key),
                f"`{_label(label, key)}` is not given here: {section.set_elsewhere[key]}",
                code="unknown-key",
                key_path=_label(label, key),
            )
        elif key not in known:
            where = _label(label, key)
            ctx.unknown_key(mapping, key, known, f"unknown {section.noun} '{key}'", section.listing, where)


def _label(parent: str, key: Any) -> str:
    return f"{parent}.{key}" if parent else str(key)


def check_section(
    ctx: Context, mapping: PMap, section: Section, label: str, spec: Spec | None = None, skip: tuple[str, ...] = ()
) -> None:
    keys = section.all_keys(ctx.catalog)
    report_unknown_keys(ctx, mapping, sorted(keys), section, label)
    for key in mapping:
        if key in keys and key not in skip and mapping[key] is not None:  # null is the key left out
            check_value(
                ctx, keys[key].type, mapping[key], mapping.value_mark(key), _label(label, key), spec, keys[key].doc
            )
    for key in section.keys:
        if key.required and mapping.get(key.name) is None:
            where = f"`{label}`" if label else "the spec"
            ctx.error(
                mapping.mark, f"{where} has no `{key.name}`", hint=key.doc or None, code="missing-key", key_path=label
            )


def rule_errors(tree: PMap, section: Section, chosen: dict[str, Any] | None = None) -> list[SpecError]:
    """The section's broken rules, each at the key it forbids; `chosen` replaces values of the
    section (`--loop custom` on the command line is held to the rules of `loop: custom`)."""
    mapping = tree.get(section.label) if section.label else tree
    if not isinstance(mapping, PMap):
        mapping = PMap(tree.mark)
    values = {**mapping, **(chosen or {})}
    found = []
    for rule in section.rules:
        if rule.applies(values.get(rule.key)):
            for key, where in _broken(tree, mapping, section, rule):
                path = key_path(section, where, key, tree)
                found.append(
                    SpecError(
                        where.key_mark(key),
                        rule.message.format(key=path),
                        hint=rule.hint or None,
                        code="conflicting-keys",
                        key_path=path,
                    )
                )
    return found


def _broken(tree: PMap, mapping: PMap, section: Section, rule: Rule) -> list[tuple[str, PMap]]:
    found = []
    if rule.allows is not None:
        found += [(str(key), mapping) for key in mapping if key not in rule.allows]
    for path in rule.forbids:
        parent, _, key = path.rpartition(".")
        holder = tree.get(parent) if parent else tree
        if isinstance(holder, PMap) and holder.get(key) is not None:
            found.append((key, holder))
    return found


def key_path(section: Section, holder: PMap, key: str, tree: PMap) -> str:
    for name, value in tree.items():
        if value is holder:
            return f"{name}.{key}"
    return _label(section.label, key)


def _shape_of(option: ValueType, value: Any) -> bool:
    """Whether a value has the shape an option of a union takes (a list for lists, ...)."""
    if isinstance(option, ListOf):
        return isinstance(value, list)
    if isinstance(option, (MapOf, Nested)):
        return isinstance(value, dict)
    if isinstance(option, (KerasObject, CodeReference)):
        return isinstance(value, (str, dict))
    return option.accepts(value)


def check_value(
    ctx: Context, value_type: ValueType, value: Any, mark: Mark, label: str, spec: Spec | None, doc: str = ""
) -> None:
    """A value against its declared type; errors at `mark`, naming the key path `label`."""
    if value is None or mark in ctx.unresolved:
        return  # null is the key left out; an unresolved ${...} was reported already
    if isinstance(value_type, Union):
        fitting = [o for o in value_type.options if _shape_of(o, value)]
        if fitting:
            check_value(ctx, fitting[0], value, mark, label, spec)
            return
    elif isinstance(value_type, Nested):
        if isinstance(value, PMap):
            check_section(ctx, value, value_type.section, label, spec)
            return
    elif isinstance(value_type, KerasObject):
        check_keras_object(ctx, value_type.kind, value, mark)
        return
    elif isinstance(value_type, CodeReference):
        code_reference(ctx, value, mark, value_type.noun)
        return
    elif isinstance(value_type, PerOutput):
        _check_per_output(ctx, value_type, value, mark, label, spec)
        return
    elif isinstance(value_type, ListOf) and isinstance(value, PList):
        for i, item in enumerate(value):
            if item is None:  # a null key is a key left out; a null item is a missing value
                ctx.error(
                    value.value_mark(i),
                    f"`{label}[{i}]` must be {value_type.item.expected}, got null",
                    code="bad-value",
                    key_path=f"{label}[{i}]",
                )
            else:
                check_value(ctx, value_type.item, item, value.value_mark(i), f"{label}[{i}]", spec)
        if len(value) >= value_type.min_items:
            return
    elif isinstance(value_type, MapOf) and isinstance(value, PMap):
        for key in value:
            check_value(ctx, value_type.value, value[key], value.value_mark(key), _label(label, key), spec)
        return
    elif value_type.accepts(value):
        return
    close = (
        did_you_mean(value, [str(v) for v in value_type.values])
        if isinstance(value_type, Choice) and isinstance(value, str)
        else ""
    )
    hint = f"{label.rsplit('.', 1)[-1]}: {doc}" if isinstance(value_type, Choice) and doc else None
    ctx.error(
        mark,
        f"`{label}` must be {value_type.expected}, got {_shown(value)}{close}",
        hint=hint,
        code="bad-value",
        key_path=label,
    )


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, PMap):
        return "a mapping"
    if isinstance(value, PList):
        return "a list"
    return repr(value)


def _check_per_output(
    ctx: Context, value_type: PerOutput, value: Any, mark: Mark, label: str, spec: Spec | None
) -> None:
    names = spec.output_names if spec is not None else None
    if isinstance(value, PMap) and "type" not in value:
        if names is not None:
            ctx.errors.extend(unknown_name_keys(value, names, label))
        for name in value:
            check_value(ctx, value_type.item, value[name], value.value_mark(name), f"{label}.{name}", spec)
        return
    takes_lists = any(isinstance(o, ListOf) for o in getattr(value_type.item, "options", ()))
    if isinstance(value, PList) and not takes_lists:
        if names is not None and len(names) > 1 and len(value) != len(names):
            ctx.error(
                mark,
                f"`{label}` lists {len(value)} values for {len(names)} outputs ({', '.join(names)})",
                hint="give one per output in order, or a mapping by output name",
                code="output-count",
            )
        for i, item in enumerate(value):
            check_value(ctx, value_type.item, item, value.value_mark(i), f"{label}[{i}]", spec)
        return
    check_value(ctx, value_type.item, value, mark, label, spec)


# --- compile, data, train -------------------------------------------------------------------------


def _mapping(ctx: Context, tree: PMap, key: str) -> PMap | None:
    value = tree.get(key)
    if value is None:
        return None
    if not isinstance(value, PMap):
        ctx.error(tree.value_mark(key), f"`{key}` must be a mapping of settings", code="bad-value")
        return None
    return value


def check_settings(ctx: Context, spec: Spec) -> None:
    """`compile`, `data` and `train`, checked and turned into typed settings on the spec."""
    tree = spec.tree
    compile_section = _mapping(ctx, tree, "compile")
    if compile_section is not None:
        check_section(ctx, compile_section, COMPILE, "compile", spec)
        spec.compile = Compile(compile_section)
    data = _mapping(ctx, tree, "data")
    if data is not None:
        check_section(ctx, data, DATA, "data", spec)
        ctx.errors.extend(rule_errors(tree, DATA))
        _check_data_names(ctx, spec, data)
        spec.data = Data(data)
    train = _mapping(ctx, tree, "train")
    if train is not None:
        check_section(ctx, train, TRAIN, "train", spec)
        ctx.errors.extend(rule_errors(tree, TRAIN))
        distribute = train.get("distribute")
        if isinstance(distribute, PMap):
            for error in rule_errors(train, DISTRIBUTE, {"strategy": distribute.get("strategy") or "none"}):
                error.key_path = f"train.{error.key_path}"  # the rule's paths start at `train`
                ctx.errors.append(error)
        spec.train = Train(train)


def _check_data_names(ctx: Context, spec: Spec, data: PMap) -> None:
    inputs = data.get("inputs")
    if isinstance(inputs, PMap):
        if spec.input_names:
            ctx.errors.extend(unknown_name_keys(inputs, spec.input_names, "data.inputs", noun="input"))
        for key in inputs:
            _check_distribution_params(ctx, inputs, key)
    weights = data.get("sample_weight")
    if weights is not None and data.get("file") is None:
        ctx.error(
            data.key_mark("sample_weight"),
            "`data.sample_weight` names an array or column of `data.file`, but the spec has no data.file",
            hint="add data.file, or remove sample_weight",
            code="data-file",
        )
    if isinstance(weights, PMap) and spec.output_names is not None:
        ctx.errors.extend(unknown_name_keys(weights, spec.output_names, "data.sample_weight"))
    targets = data.get("targets")
    if isinstance(targets, PMap):
        if spec.output_names is not None:
            ctx.errors.extend(unknown_name_keys(targets, spec.output_names, "data.targets"))
        for key in targets:
            _check_distribution_params(ctx, targets, key)


_DISTRIBUTION_PARAMETERS = frozenset(p for params in DISTRIBUTIONS.values() for p in params)


def _check_distribution_params(ctx: Context, container: PMap, key: Any) -> None:
    """The parameters the named distribution takes (the declaration lists all of them)."""
    value = container[key]
    if not isinstance(value, PMap) or not isinstance(value.get("distribution"), str):
        return
    if value["distribution"] not in DISTRIBUTIONS:
        return
    name = value["distribution"]
    own = DISTRIBUTIONS[name]
    if name == "choice" and "values" not in value:
        ctx.error(
            value.value_mark("distribution"),
            "distribution 'choice' needs its values",
            hint="{distribution: choice, values: [fixed, normal, reversible]}",
            code="bad-distribution",
        )
    for k in value:
        if k not in ("distribution", "dtype", *own) and k in _DISTRIBUTION_PARAMETERS:
            ctx.error(
                value.key_mark(k),
                f"distribution '{name}' has no parameter '{k}'" + did_you_mean(str(k), own),
                hint=f"'{name}' takes: " + (", ".join(own) or "no parameters"),
                code="bad-distribution",
            )
