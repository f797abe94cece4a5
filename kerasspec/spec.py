"""A spec file, checked against the contract (`spec-format.md`) without importing TensorFlow.

`load()` reads the file (positions kept), applies `--set` overrides, interpolates `vars`,
then checks every rule that can be known statically: keys, names, kind, references and
their order, includes, layer types and keywords against the installed Keras's catalog,
and `compile`/`data`/`train` keys against the real output names. All errors found are
raised together as `SpecErrors`, in source order.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import KIND_NOUN, Catalog, ClassInfo, get_catalog, kind_of_parameter
from .errors import Mark, SpecError, SpecErrors, closest, did_you_mean
from .loader import PList, PMap, apply_override, load_file

SPEC_VERSION = 1
TOP_LEVEL_KEYS = (
    "version",
    "name",
    "description",
    "kind",
    "vars",
    "input",
    "inputs",
    "layers",
    "class",
    "args",
    "outputs",
    "compile",
    "data",
    "train",
)
KINDS = ("sequential", "functional", "subclass")
RESERVED_ENTRY_KEYS = ("type", "name", "inputs", "reuse", "spec", "call")
INPUT_KEYS = ("shape", "dtype", "sparse", "ragged", "batch_size", "optional", "name")
DATA_KEYS = ("samples", "seed", "sequence_length", "inputs", "targets", "file")
DISTRIBUTIONS = {
    "binary": (),
    "integers": ("low", "high"),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "onehot": (),
    "constant": ("value",),
}
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed and NumPy's legacy seeding refuse more
TRAIN_OWN_KEYS = ("loop", "step", "seed", "callbacks")
TRAIN_FIT_EXCLUDED = ("x", "y", "validation_data", "callbacks")  # data comes from `data:`
LOOPS = ("fit", "custom")
PER_OUTPUT_COMPILE_KEYS = ("loss", "metrics", "loss_weights", "weighted_metrics")

_MODEL_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_REFERENCE = re.compile(r"^(?P<name>[^\[\]\s]+)(?:\[(?P<index>\d+)\])?$")
_CODE_REF = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*$")
_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def unknown_output_keys(mapping: PMap, names: Sequence[str], section: str) -> list[SpecError]:
    """Keys of a mapping by output name (`compile.loss`, `data.targets`, ...) that name no
    output; used statically, and after the build for models whose outputs only Keras knows."""
    return [
        SpecError(
            mapping.key_mark(key),
            f"'{key}' in `{section}` is not an output of the model" + did_you_mean(str(key), names),
            hint=None if closest(str(key), names) else "outputs: " + ", ".join(names),
            code="unknown-output",
        )
        for key in mapping
        if key not in names
    ]


def is_code_reference(value: Any) -> bool:
    """`package.module:Name`, the form in which specs name user code."""
    return isinstance(value, str) and bool(_CODE_REF.match(value))


@dataclass(frozen=True)
class Ref:
    """A reference to an input or a named layer's output; `index` picks one of several outputs."""

    name: str
    index: int | None
    mark: Mark

    def __str__(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


@dataclass
class InputDef:
    name: str
    shape: tuple[int | None, ...]
    dtype: str | None
    options: dict[str, Any]  # sparse, ragged, batch_size, optional
    mark: Mark


@dataclass
class LayerEntry:
    index: int
    mark: Mark
    raw: PMap
    type: str | None = None
    name: str | None = None
    inputs: Ref | list[Ref] | dict[str, Ref | list[Ref]] | None = None
    reuse: Ref | None = None
    spec: Spec | None = None
    call: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"layer '{self.name}'" if self.name else f"layers[{self.index}]"


@dataclass
class Spec:
    path: Path
    shown: str
    tree: PMap
    name: str
    kind: str
    version: int = SPEC_VERSION
    description: str | None = None
    input: InputDef | None = None
    inputs: dict[str, InputDef] = field(default_factory=dict)
    layers: list[LayerEntry] = field(default_factory=list)
    outputs: list[tuple[str, Ref]] = field(default_factory=list)
    outputs_form: str = "none"  # one | list | dict | none
    class_ref: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    compile: PMap | None = None
    data: PMap | None = None
    train: PMap | None = None
    allow_code: bool = False

    @property
    def output_names(self) -> list[str] | None:
        """Output names as Keras will call them, when they can be known without building."""
        if self.kind == "functional":
            return [name for name, _ in self.outputs]
        if self.kind == "sequential" and self.layers and self.layers[-1].name:
            return [self.layers[-1].name]
        return None

    def build(self, *, input_shape: tuple[int | None, ...] | None = None, max_params: int | None = None) -> Any:
        """The Keras model (imports Keras): `kerasspec.load("spec.yaml").build()`."""
        from .builder import DEFAULT_MAX_PARAMS, build

        limit = DEFAULT_MAX_PARAMS if max_params is None else max_params
        return build(self, input_shape=input_shape, max_params=limit).model

    @property
    def input_names(self) -> list[str]:
        if self.kind == "sequential":
            return [self.input.name] if self.input else []
        return list(self.inputs)


def load(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    allow_code: bool = False,
    catalog: Catalog | None = None,
) -> Spec:
    """Read and check a spec file; raise `SpecErrors` listing every problem found."""
    path = Path(path)
    checker = _Checker(catalog or get_catalog(), allow_code)
    spec = checker.load_spec(path, str(path), overrides, include_stack=())
    if checker.errors:
        raise SpecErrors(sorted(checker.errors, key=_error_order))
    assert spec is not None
    return spec


class _LaterVars:
    """`name in later`: a var defined below the one being resolved (not itself), in O(1)."""

    def __init__(self, all_vars: PMap, resolved: dict[str, Any], current: str):
        self.all_vars, self.resolved, self.current = all_vars, resolved, current

    def __contains__(self, name: object) -> bool:
        return name in self.all_vars and name not in self.resolved and name != self.current


def _misspelt_keys(tree: PMap) -> set[str]:
    """Top-level keys that an unknown key in the file was probably meant to be."""
    return {closest(str(k), TOP_LEVEL_KEYS) for k in tree if k not in TOP_LEVEL_KEYS} - {None}


def _error_order(error: SpecError) -> tuple:
    mark = error.mark
    return (mark.source, mark.line, mark.col) if mark else (error.source or "", 0, 0)


class _Fatal(Exception):
    """Stops checking one file after an error that makes the rest meaningless."""


class _Checker:
    def __init__(self, catalog: Catalog, allow_code: bool):
        self.catalog = catalog
        self.allow_code = allow_code
        self.errors: list[SpecError] = []

    def error(self, mark: Mark | None, message: str, hint: str | None = None, code: str = "spec-error") -> None:
        self.errors.append(SpecError(mark, message, hint, code))

    # --- the file ---------------------------------------------------------------------------

    def load_spec(
        self, path: Path, shown: str, overrides: Sequence[str], include_stack: tuple[Path, ...]
    ) -> Spec | None:
        try:
            tree = load_file(path, shown)
            for item in overrides:
                apply_override(tree, item)
        except SpecError as exc:
            self.errors.append(exc)
            return None
        try:
            return self._check(tree, path, shown, include_stack)
        except _Fatal:
            return None

    def _check(self, tree: PMap, path: Path, shown: str, include_stack: tuple[Path, ...]) -> Spec:
        self._interpolate_vars(tree)
        for key in tree:
            if key not in TOP_LEVEL_KEYS:
                self.error(
                    tree.key_mark(key),
                    f"unknown top-level key '{key}'" + did_you_mean(str(key), TOP_LEVEL_KEYS),
                    hint=None if closest(str(key), TOP_LEVEL_KEYS) else "top-level keys: " + ", ".join(TOP_LEVEL_KEYS),
                    code="unknown-key",
                )
        version = self._check_version(tree)
        name = self._check_model_name(tree)
        description = tree.get("description")
        if description is not None and not isinstance(description, str):
            self.error(tree.value_mark("description"), "`description` must be text", code="bad-value")
        kind = self._infer_kind(tree)
        spec = Spec(
            path=path,
            shown=shown,
            tree=tree,
            name=name or "",
            kind=kind,
            version=version,
            description=description,
            allow_code=self.allow_code,
        )
        if kind == "sequential":
            self._check_sequential(spec, include_stack)
        elif kind == "functional":
            self._check_functional(spec, include_stack)
        else:
            self._check_subclass(spec)
        spec.compile = self._section(tree, "compile")
        spec.data = self._section(tree, "data")
        spec.train = self._section(tree, "train")
        if spec.compile is not None:
            self._check_compile(spec)
        if spec.data is not None:
            self._check_data(spec)
        if spec.train is not None:
            self._check_train(spec)
        return spec

    def _section(self, tree: PMap, key: str) -> PMap | None:
        value = tree.get(key)
        if value is None:
            return None
        if not isinstance(value, PMap):
            self.error(tree.value_mark(key), f"`{key}` must be a mapping of settings", code="bad-value")
            return None
        return value

    # --- vars -------------------------------------------------------------------------------

    def _interpolate_vars(self, tree: PMap) -> None:
        raw_vars = tree.get("vars")
        resolved: dict[str, Any] = {}
        if raw_vars is not None and not isinstance(raw_vars, PMap):
            self.error(tree.value_mark("vars"), "`vars` must be a mapping of names to values", code="bad-vars")
            raw_vars = None
        if raw_vars:
            for key in list(raw_vars):
                if not isinstance(key, str) or not _VAR_NAME.match(key):
                    self.error(
                        raw_vars.key_mark(key), f"bad var name '{key}': use letters, digits and '_'", code="bad-vars"
                    )
                    continue
                later = _LaterVars(raw_vars, resolved, key)
                raw_vars[key] = self._substitute(raw_vars, key, raw_vars[key], resolved, later)
                resolved[key] = raw_vars[key]
        for key in list(tree):
            if key != "vars":
                tree[key] = self._substitute(tree, key, tree[key], resolved, [])

    def _substitute(self, container: Any, key: Any, value: Any, known: dict[str, Any], later: Any) -> Any:
        if isinstance(value, PMap):
            for k in list(value):
                value[k] = self._substitute(value, k, value[k], known, later)
            return value
        if isinstance(value, PList):
            for i in range(len(value)):
                value[i] = self._substitute(value, i, value[i], known, later)
            return value
        if not isinstance(value, str) or "$" not in value:
            return value
        mark = container.value_mark(key)
        whole = re.fullmatch(r"\$\{([^}]*)\}", value)
        if whole:
            name = whole.group(1).strip()
            if self._var_known(name, known, later, mark):
                return copy.deepcopy(known[name])
            return value

        def replace(match: re.Match) -> str:
            text = match.group(0)
            if text == "$${":
                return "${"
            if match.group(1) is None:
                self.error(
                    mark,
                    f"unterminated '${{' in '{value}'",
                    hint="write ${name}, or $${ for a literal '${'",
                    code="bad-var-ref",
                )
                return text
            name = match.group(1).strip()
            if not self._var_known(name, known, later, mark):
                return text
            var = known[name]
            if isinstance(var, (PMap, PList)):
                self.error(
                    mark,
                    f"var '{name}' is a {'mapping' if isinstance(var, PMap) else 'list'} and cannot be put inside text",
                    hint=f"use it as the whole value: '${{{name}}}'",
                    code="bad-var-ref",
                )
                return text
            if isinstance(var, bool):
                return "true" if var else "false"
            return "null" if var is None else str(var)

        return _VAR.sub(replace, value)

    def _var_known(self, name: str, known: dict[str, Any], later: Any, mark: Mark) -> bool:
        if name in known:
            return True
        if name in later:
            self.error(
                mark,
                f"var '{name}' is defined later in `vars`; a var can only use the ones above it",
                code="unknown-var",
            )
        elif not _VAR_NAME.match(name):
            self.error(
                mark, f"bad var reference '${{{name}}}': a var name is letters, digits and '_'", code="bad-var-ref"
            )
        else:
            self.error(
                mark,
                f"unknown var '{name}'" + did_you_mean(name, known),
                hint=None
                if closest(name, known)
                else ("defined vars: " + ", ".join(known) if known else "define it under `vars:`"),
                code="unknown-var",
            )
        return False

    # --- header -----------------------------------------------------------------------------

    def _check_version(self, tree: PMap) -> int:
        if "version" not in tree:
            return SPEC_VERSION
        value = tree["version"]
        if isinstance(value, bool) or value != SPEC_VERSION or not isinstance(value, int):
            self.error(
                tree.value_mark("version"),
                f"unsupported spec version {value!r}; this kerasspec reads version {SPEC_VERSION}",
                hint="write `version: 1` or leave it out",
                code="bad-version",
            )
        return SPEC_VERSION

    def _check_model_name(self, tree: PMap) -> str | None:
        if "name" not in tree:
            self.error(
                tree.mark,
                "the spec has no `name`",
                hint="add `name: my_model` (letters, digits, '_', '-', '.')",
                code="missing-name",
            )
            return None
        name = tree["name"]
        mark = tree.value_mark("name")
        if not isinstance(name, str) or not name:
            self.error(mark, f"`name` must be text, got {name!r}", code="bad-name")
            return None
        if "/" in name or "\\" in name:
            self.error(
                mark,
                f"model name '{name}' contains a path separator",
                hint="the name becomes file and directory names; use letters, digits, '_', '-', '.'",
                code="bad-name",
            )
        elif ".." in name or name.startswith("."):
            self.error(
                mark,
                f"model name '{name}' contains '..' or starts with '.'",
                hint="the name becomes file and directory names; use letters, digits, '_', '-', '.'",
                code="bad-name",
            )
        elif not _MODEL_NAME.match(name):
            self.error(mark, f"model name '{name}' may contain only letters, digits, '_', '-' and '.'", code="bad-name")
        return name

    def _infer_kind(self, tree: PMap) -> str:
        if "kind" in tree:
            kind = tree["kind"]
            if kind not in KINDS:
                self.error(
                    tree.value_mark("kind"),
                    f"unknown kind {kind!r}" + (did_you_mean(kind, KINDS) if isinstance(kind, str) else ""),
                    hint="kind is sequential, functional or subclass (or left out to be inferred)",
                    code="bad-kind",
                )
                raise _Fatal
            return kind
        if "class" in tree:
            return "subclass"
        layers = tree.get("layers")
        layer_has_inputs = isinstance(layers, PList) and any(isinstance(e, PMap) and "inputs" in e for e in layers)
        if "inputs" in tree or "outputs" in tree:
            return "functional"
        if layer_has_inputs and "input" not in tree:
            return "functional"
        return "sequential"

    # --- inputs -----------------------------------------------------------------------------

    def _input_def(self, container: PMap, key: str, name: str, allow_name: bool) -> InputDef | None:
        value = container[key]
        mark = container.value_mark(key)
        if isinstance(value, (PList, int)) and not isinstance(value, bool):
            holder = PMap(mark)
            holder.put("shape", value, mark, mark)
            value = holder
        if not isinstance(value, PMap):
            self.error(mark, f"input '{name}' must be a mapping such as {{shape: [10]}}", code="bad-input")
            return None
        allowed = [k for k in INPUT_KEYS if allow_name or k != "name"]
        for k in value:
            if k not in allowed:
                self.error(
                    value.key_mark(k),
                    f"unknown input key '{k}'" + did_you_mean(str(k), allowed),
                    hint=None if closest(str(k), allowed) else "input keys: " + ", ".join(allowed),
                    code="unknown-key",
                )
        if "shape" not in value:
            self.error(
                value.mark,
                f"input '{name}' has no `shape`",
                hint="shapes leave out the batch dimension: shape: [10]",
                code="bad-input",
            )
            return None
        shape = self._shape(value, "shape")
        dtype = value.get("dtype")
        if dtype is not None and (not isinstance(dtype, str) or dtype not in self.catalog.dtypes):
            self.error(
                value.value_mark("dtype"),
                f"unknown dtype {dtype!r}"
                + (did_you_mean(dtype, self.catalog.dtypes) if isinstance(dtype, str) else ""),
                hint=None
                if isinstance(dtype, str) and closest(dtype, self.catalog.dtypes)
                else "dtypes: " + ", ".join(sorted(self.catalog.dtypes)),
                code="bad-dtype",
            )
        for flag in ("sparse", "ragged", "optional"):
            if flag in value and not isinstance(value[flag], bool):
                self.error(value.value_mark(flag), f"`{flag}` must be true or false", code="bad-value")
        if allow_name and isinstance(value.get("name"), str):
            name = value["name"]
        options = {k: value[k] for k in ("sparse", "ragged", "batch_size", "optional") if k in value}
        return InputDef(name, shape or (), dtype, options, mark)

    def _shape(self, container: PMap, key: str) -> tuple[int | None, ...] | None:
        value = container[key]
        mark = container.value_mark(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value_list: list = [value]
            marks = [mark]
        elif isinstance(value, PList):
            value_list, marks = list(value), value.item_marks
        else:
            self.error(mark, f"a shape is a list of sizes such as [28, 28, 1], got {value!r}", code="bad-shape")
            return None
        dims: list[int | None] = []
        for dim, dim_mark in zip(value_list, marks):
            if dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0):
                dims.append(dim)
            else:
                self.error(dim_mark, f"a dimension is a positive whole number or null, got {dim!r}", code="bad-shape")
                return None
        return tuple(dims)

    # --- kinds ------------------------------------------------------------------------------

    def _check_sequential(self, spec: Spec, include_stack: tuple[Path, ...]) -> None:
        tree = spec.tree
        for key in ("inputs", "outputs"):
            if key in tree:
                self.error(
                    tree.key_mark(key),
                    f"a sequential spec has no `{key}`",
                    hint="a sequential model has one `input:`; use `kind: functional` for named inputs and outputs",
                    code="sequential-rules",
                )
        if "input" in tree:
            spec.input = self._input_def(tree, "input", "input", allow_name=True)
        entries = self._layer_list(tree)
        names: dict[str, Mark] = {}
        for index, raw in entries:
            entry = self._entry(raw, index, tree["layers"].value_mark(index), spec, include_stack)
            if entry is None:
                continue
            if "inputs" in raw:
                self.error(
                    raw.key_mark("inputs"),
                    f"{entry.describe()} has `inputs`, but the spec is sequential",
                    hint="in a sequential spec each layer takes the one above it; for a graph, declare top-level `inputs:` and `outputs:`",
                    code="sequential-rules",
                )
            if "call" in raw:
                self.error(
                    raw.key_mark("call"),
                    f"{entry.describe()} has `call`, but a sequential model calls each layer plainly",
                    hint="use a functional spec (top-level `inputs:`/`outputs:`) to pass call arguments",
                    code="sequential-rules",
                )
            self._register_name(entry, names, {})
            if entry.reuse is not None:
                self._check_reuse(entry, names, spec, {})
            spec.layers.append(entry)

    def _check_functional(self, spec: Spec, include_stack: tuple[Path, ...]) -> None:
        tree = spec.tree
        if "input" in tree:
            self.error(
                tree.key_mark("input"),
                "`input` is for sequential specs; a functional spec declares `inputs:`",
                hint="inputs: {features: {shape: [10]}}",
                code="functional-rules",
            )
        raw_inputs = tree.get("inputs")
        if not isinstance(raw_inputs, PMap) or not raw_inputs:
            self.error(
                tree.value_mark("inputs") if "inputs" in tree else tree.mark,
                "a functional spec needs `inputs`: a mapping of input names to {shape: [...]}",
                hint="inputs: {features: {shape: [10]}}",
                code="functional-rules",
            )
            raw_inputs = PMap(tree.mark)
        for key in raw_inputs:
            if not isinstance(key, str) or not key or "/" in key or "[" in key:
                self.error(raw_inputs.key_mark(key), f"bad input name {key!r}", code="bad-name")
                continue
            definition = self._input_def(raw_inputs, key, key, allow_name=False)
            if definition:
                spec.inputs[key] = definition
        entries = self._layer_list(tree)
        later_names = {}
        for _, raw in entries:
            if isinstance(raw.get("name"), str):
                later_names.setdefault(raw["name"], raw.value_mark("name"))
        defined: dict[str, Mark] = {n: d.mark for n, d in spec.inputs.items()}
        layer_names: dict[str, Mark] = {}
        for index, raw in entries:
            entry = self._entry(raw, index, tree["layers"].value_mark(index), spec, include_stack)
            if entry is None:
                continue
            if "inputs" in raw:
                entry.inputs = self._call_inputs(raw, defined, later_names)
            elif index == 0 and len(spec.inputs) > 1:
                self.error(
                    entry.mark,
                    f"the first layer has no `inputs`, and the spec has {len(spec.inputs)} inputs ({', '.join(spec.inputs)})",
                    hint=f"say which it is called on: `inputs: {next(iter(spec.inputs))}` (a list for merge layers)",
                    code="ambiguous-input",
                )
            if entry.reuse is not None:
                self._check_reuse(entry, layer_names, spec, spec.inputs)
            if entry.spec is not None:
                self._check_included_call(entry)
            self._register_name(entry, layer_names, spec.inputs)
            if entry.name:
                defined[entry.name] = entry.mark
            spec.layers.append(entry)
        self._check_outputs(spec, defined, later_names)

    def _check_subclass(self, spec: Spec) -> None:
        tree = spec.tree
        class_ref = tree.get("class")
        if class_ref is None:
            self.error(tree.mark, "a subclass spec needs `class: package.module:ClassName`", code="subclass-rules")
        elif self._code_reference(class_ref, tree.value_mark("class"), "class"):
            spec.class_ref = class_ref
        for key in ("layers", "outputs"):
            if key in tree:
                self.error(
                    tree.key_mark(key),
                    f"a subclass spec has no `{key}`: the class defines the model",
                    code="subclass-rules",
                )
        args = tree.get("args")
        if args is not None:
            if not isinstance(args, PMap):
                self.error(
                    tree.value_mark("args"), "`args` must be a mapping of constructor keywords", code="bad-value"
                )
            else:
                for key in args:
                    self._check_value(str(key), args[key], args.value_mark(key))
                spec.args = dict(args)
        if "input" in tree:
            spec.input = self._input_def(tree, "input", "input", allow_name=True)
        elif isinstance(tree.get("inputs"), PMap):
            for key in tree["inputs"]:
                definition = self._input_def(tree["inputs"], key, str(key), allow_name=False)
                if definition:
                    spec.inputs[str(key)] = definition
        else:
            self.error(
                tree.mark,
                "a subclass spec needs `inputs:` (or `input:`) shapes to build the model with",
                code="subclass-rules",
            )

    # --- layer entries ----------------------------------------------------------------------

    def _layer_list(self, tree: PMap) -> list[tuple[int, PMap]]:
        layers = tree.get("layers")
        if "layers" not in tree:
            if "layers" in _misspelt_keys(tree):
                return []  # the unknown-key error already says `layer:` should be `layers:`
            self.error(
                tree.mark, "the spec has no `layers`", hint="layers: [{type: Dense, units: 10}]", code="missing-layers"
            )
            return []
        if not isinstance(layers, PList) or not layers:
            self.error(
                tree.value_mark("layers"), "`layers` must be a non-empty list of layer entries", code="bad-layers"
            )
            return []
        entries = []
        for index, raw in enumerate(layers):
            if not isinstance(raw, PMap):
                self.error(
                    layers.value_mark(index),
                    f"layers[{index}] must be a mapping such as {{type: Dense, units: 10}}, got {raw!r}",
                    code="bad-layer",
                )
                continue
            entries.append((index, raw))
        return entries

    def _entry(
        self, raw: PMap, index: int, mark: Mark, spec: Spec, include_stack: tuple[Path, ...]
    ) -> LayerEntry | None:
        entry = LayerEntry(index=index, mark=raw.mark, raw=raw)
        if "name" in raw:
            name = raw["name"]
            name_mark = raw.value_mark("name")
            if not isinstance(name, str) or not name:
                self.error(name_mark, f"a layer name is text, got {name!r}", code="bad-name")
            elif "/" in name or "[" in name or "]" in name or any(c.isspace() for c in name):
                self.error(
                    name_mark,
                    f"layer name '{name}' may not contain '/', '[', ']' or spaces",
                    hint="Keras refuses '/' in names, and name[i] picks one of a layer's outputs",
                    code="bad-name",
                )
            else:
                entry.name = name
        modes = [k for k in ("type", "reuse", "spec") if k in raw]
        if len(modes) > 1:
            self.error(
                raw.key_mark(modes[1]),
                f"an entry has one of `type`, `reuse` or `spec`, not {' and '.join('`' + m + '`' for m in modes)}",
                code="bad-layer",
            )
            return None
        if not modes:
            self.error(
                raw.mark,
                f"layers[{index}] has no `type`",
                hint="every entry names a Keras layer (`type: Dense`), reuses one (`reuse: name`) or includes a spec (`spec: file.yaml`)",
                code="missing-type",
            )
            return None
        if "call" in raw:
            call = raw["call"]
            if not isinstance(call, PMap):
                self.error(
                    raw.value_mark("call"),
                    "`call` must be a mapping of call keywords such as {training: false}",
                    code="bad-value",
                )
            else:
                entry.call = dict(call)
        extra = [k for k in raw if k not in RESERVED_ENTRY_KEYS]
        mode = modes[0]
        if mode == "type":
            entry.type = raw["type"]
            entry.kwargs = {k: raw[k] for k in extra}
            self._check_object("layers", raw, "type", extra)
        else:
            for key in extra:
                what = "reuses a layer as it is" if mode == "reuse" else "builds the included spec's model"
                self.error(
                    raw.key_mark(key),
                    f"'{key}' is not allowed here: a `{mode}` entry {what}, so it takes no constructor arguments",
                    hint="only name, inputs and call go with `" + mode + "`",
                    code="bad-layer",
                )
            if mode == "reuse":
                entry.reuse = self._reference(raw["reuse"], raw.value_mark("reuse"))
            else:
                entry.spec = self._include(raw, spec, include_stack)
        return entry

    def _register_name(self, entry: LayerEntry, names: dict[str, Mark], inputs: dict[str, InputDef]) -> None:
        if not entry.name:
            return
        mark = entry.raw.value_mark("name")
        if entry.name in inputs:
            self.error(
                mark,
                f"duplicate name '{entry.name}': an input is already called that (line {inputs[entry.name].mark.line})",
                code="duplicate-name",
            )
        elif entry.name in names:
            self.error(
                mark,
                f"duplicate name '{entry.name}' (first used at line {names[entry.name].line})",
                hint="every layer name must be unique in a spec",
                code="duplicate-name",
            )
        else:
            names[entry.name] = mark

    def _check_reuse(
        self, entry: LayerEntry, layer_names: dict[str, Mark], spec: Spec, inputs: dict[str, InputDef]
    ) -> None:
        ref = entry.reuse
        if ref is None:
            return
        if ref.index is not None:
            self.error(ref.mark, f"`reuse` names a layer, not one of its outputs: write '{ref.name}'", code="bad-reuse")
        elif ref.name in inputs:
            self.error(
                ref.mark, f"'{ref.name}' is an input, not a layer; `reuse` names a layer entry above", code="bad-reuse"
            )
        elif ref.name not in layer_names:
            later = any(isinstance(e, PMap) and e.get("name") == ref.name for e in spec.tree.get("layers", []))
            if later:
                self.error(
                    ref.mark,
                    f"'{ref.name}' is defined later; `reuse` can only name a layer above it",
                    code="forward-reference",
                )
            else:
                self.error(
                    ref.mark,
                    f"unknown layer '{ref.name}' in `reuse`" + did_you_mean(ref.name, layer_names),
                    code="unknown-reference",
                )

    def _check_included_call(self, entry: LayerEntry) -> None:
        included = entry.spec
        if included is None or entry.inputs is None:
            return
        wanted = max(1, len(included.input_names))
        given = len(entry.inputs) if isinstance(entry.inputs, list) else 1
        if given != wanted and not isinstance(entry.inputs, dict):
            self.error(
                entry.raw.value_mark("inputs"),
                f"the included spec '{included.name}' takes {wanted} input{'s' if wanted != 1 else ''}"
                + (f" ({', '.join(included.input_names)})" if wanted > 1 else "")
                + f", given {given}",
                code="include-arity",
            )

    # --- references -------------------------------------------------------------------------

    def _reference(self, value: Any, mark: Mark) -> Ref | None:
        if not isinstance(value, str):
            self.error(mark, f"a reference is the name of an input or layer, got {value!r}", code="bad-reference")
            return None
        match = _REFERENCE.match(value)
        if not match:
            self.error(
                mark,
                f"bad reference '{value}'",
                hint="write NAME, or NAME[INDEX] with INDEX a whole number from 0 for one of a layer's outputs",
                code="bad-reference",
            )
            return None
        index = match.group("index")
        return Ref(match.group("name"), int(index) if index is not None else None, mark)

    def _resolve(self, ref: Ref | None, defined: dict[str, Mark], later: dict[str, Mark]) -> bool:
        """True when `ref` names something defined above; else reports why not."""
        if ref is None:
            return False
        if ref.name in defined:
            return True
        if ref.name in later:
            self.error(
                ref.mark,
                f"'{ref.name}' is defined later (line {later[ref.name].line}); a layer can only use inputs and layers above it",
                hint="move this entry below the one it uses",
                code="forward-reference",
            )
        else:
            self.error(
                ref.mark,
                f"unknown reference '{ref.name}'" + did_you_mean(ref.name, defined),
                hint=None if closest(ref.name, defined) else "known names: " + ", ".join(defined),
                code="unknown-reference",
            )
        return False

    def _call_inputs(self, raw: PMap, defined: dict[str, Mark], later: dict[str, Mark]):
        value = raw["inputs"]
        mark = raw.value_mark("inputs")
        if isinstance(value, PMap):
            result: dict[str, Any] = {}
            for key in value:
                item = value[key]
                if isinstance(item, PList):
                    refs = [self._reference(v, item.value_mark(i)) for i, v in enumerate(item)]
                    for r in refs:
                        self._resolve(r, defined, later)
                    result[key] = [r for r in refs if r]
                elif isinstance(item, str):
                    ref = self._reference(item, value.value_mark(key))
                    self._resolve(ref, defined, later)
                    result[key] = ref
                else:
                    self.error(
                        value.value_mark(key),
                        f"`inputs.{key}` must name a layer or input, got {item!r}",
                        hint=f"put values that are not tensors under `call:` (call: {{{key}: {item!r}}})",
                        code="bad-reference",
                    )
            return result
        if isinstance(value, PList):
            if not value:
                self.error(mark, "`inputs` is an empty list", code="bad-reference")
                return None
            refs = [self._reference(v, value.value_mark(i)) for i, v in enumerate(value)]
            for r in refs:
                self._resolve(r, defined, later)
            return [r for r in refs if r]
        ref = self._reference(value, mark)
        self._resolve(ref, defined, later)
        return ref

    def _check_outputs(self, spec: Spec, defined: dict[str, Mark], later: dict[str, Mark]) -> None:
        tree = spec.tree
        if "outputs" not in tree:
            if "outputs" in _misspelt_keys(tree):
                return
            last = next((e.name for e in reversed(spec.layers) if e.name), None)
            self.error(
                tree.mark,
                "a functional spec needs `outputs`",
                hint=f"outputs: [{last}]" if last else "name the output layer and list it: outputs: [name]",
                code="missing-outputs",
            )
            return
        value = tree["outputs"]
        mark = tree.value_mark("outputs")
        if isinstance(value, PMap):
            spec.outputs_form = "dict"
            for key in value:
                ref = self._reference(value[key], value.value_mark(key))
                if self._resolve(ref, defined, later):
                    spec.outputs.append((str(key), ref))
        elif isinstance(value, PList):
            spec.outputs_form = "list"
            if not value:
                self.error(mark, "`outputs` is an empty list", code="bad-outputs")
            for i, item in enumerate(value):
                ref = self._reference(item, value.value_mark(i))
                if self._resolve(ref, defined, later):
                    spec.outputs.append((ref.name, ref))
        else:
            spec.outputs_form = "one"
            ref = self._reference(value, mark)
            if self._resolve(ref, defined, later):
                spec.outputs.append((ref.name, ref))

    # --- includes ---------------------------------------------------------------------------

    def _include(self, raw: PMap, spec: Spec, include_stack: tuple[Path, ...]) -> Spec | None:
        value = raw["spec"]
        mark = raw.value_mark("spec")
        if not isinstance(value, str) or not value:
            self.error(mark, f"`spec` is the path of a spec file, got {value!r}", code="bad-include")
            return None
        if Path(value).is_absolute():
            self.error(
                mark,
                f"`spec: {value}` is an absolute path",
                hint="write it relative to this spec's directory",
                code="bad-include",
            )
            return None
        if not value.endswith((".yaml", ".yml")):
            self.error(mark, f"`spec: {value}` does not name a .yaml or .yml file", code="bad-include")
            return None
        target = spec.path.parent / value
        shown = str(Path(spec.shown).parent / value)
        resolved = target.resolve()
        chain = include_stack + (spec.path.resolve(),)
        if resolved in chain:
            names = [p.name for p in chain[chain.index(resolved) :]] + [resolved.name]
            self.error(
                mark,
                "include loop: " + " -> ".join(names),
                hint="a spec cannot include itself, directly or through others",
                code="include-loop",
            )
            return None
        if not target.is_file():
            self.error(mark, f"included spec '{value}' not found (looked for {shown})", code="bad-include")
            return None
        return self.load_spec(target, shown, (), chain)

    # --- objects: {type: X, ...} and names --------------------------------------------------

    def _check_object(self, kind: str | None, raw: PMap, type_key: str, arg_keys: Iterable[str]) -> ClassInfo | None:
        """Check `{type: X, k: v...}` against the catalog: the class, its keywords, their values."""
        type_name = raw[type_key]
        mark = raw.value_mark(type_key)
        noun = KIND_NOUN.get(kind or "", "type")
        if not isinstance(type_name, str) or not type_name:
            self.error(mark, f"`{type_key}` must name a class, got {type_name!r}", code="bad-type")
            return None
        arg_keys = list(arg_keys)
        if ":" in type_name:
            if self._code_reference(type_name, mark, noun):
                for key in arg_keys:
                    self._check_value(key, raw[key], raw.value_mark(key))
            return None
        info = self._lookup_class(kind, type_name, mark)
        if info is None:
            return None
        if info.runs_code and not self.allow_code:
            self.error(
                mark,
                f"{type_name} runs Python code, so it is refused without --allow-code",
                hint="run with --allow-code only for specs you trust",
                code="code-not-allowed",
            )
            return info
        for key in arg_keys:
            if key not in info.params and not info.open:
                self.error(
                    raw.key_mark(key),
                    f"{type_name} has no argument '{key}'" + did_you_mean(str(key), info.params),
                    hint=None
                    if closest(str(key), info.params)
                    else f"{type_name} takes: " + ", ".join(sorted(info.params)),
                    code="unknown-argument",
                )
                continue
            if key == "dtype" and kind == "layers" and isinstance(raw[key], str) and not self._known_dtype(raw[key]):
                self.error(
                    raw.value_mark(key),
                    f"unknown dtype '{raw[key]}'" + did_you_mean(raw[key], self.catalog.dtypes),
                    hint="a dtype (float32, int64, ...) or a mixed-precision policy (mixed_float16, mixed_bfloat16)",
                    code="bad-dtype",
                )
                continue
            if isinstance(raw[key], bool) and info.expects_number(str(key)):
                self.error(
                    raw.value_mark(key),
                    f"{type_name} argument '{key}' is a number, not {str(raw[key]).lower()}",
                    hint="Keras would silently read true as 1 and false as 0",
                    code="bool-for-number",
                )
                continue
            self._check_value(str(key), raw[key], raw.value_mark(key))
        for required in info.required:
            if required not in arg_keys and required != "name":
                self.error(raw.mark, f"{type_name} needs argument '{required}'", code="missing-argument")
        return info

    def _known_dtype(self, value: str) -> bool:
        return value in self.catalog.dtypes or value.startswith("mixed_")

    def _lookup_class(self, kind: str | None, type_name: str, mark: Mark) -> ClassInfo | None:
        if kind is not None:
            info = self.catalog.get_class(kind, type_name)
            if info is not None:
                return info
            elsewhere = self.catalog.find_class(type_name)
            noun = KIND_NOUN.get(kind, kind)
            if elsewhere:
                self.error(
                    mark,
                    f"'{type_name}' is a{'n' if KIND_NOUN[elsewhere[0].kind][0] in 'aeiou' else ''} {KIND_NOUN[elsewhere[0].kind]}, not a{'n' if noun[0] in 'aeiou' else ''} {noun}",
                    code="wrong-kind",
                )
            else:
                self.error(
                    mark,
                    f"unknown {noun} '{type_name}'" + did_you_mean(type_name, self.catalog.classes(kind)),
                    hint=None if closest(type_name, self.catalog.classes(kind)) else f"see the classes in keras.{kind}",
                    code=f"unknown-{noun.replace(' ', '-')}",
                )
            return None
        found = self.catalog.find_class(type_name)
        if found:
            return found[0]
        self.error(
            mark,
            f"unknown type '{type_name}'" + did_you_mean(type_name, self.catalog.all_class_names()),
            code="unknown-type",
        )
        return None

    def _code_reference(self, value: Any, mark: Mark, what: str) -> bool:
        if not isinstance(value, str) or not _CODE_REF.match(value):
            self.error(
                mark, f"bad {what} {value!r}: user code is named as package.module:Name", code="bad-code-reference"
            )
            return False
        if not self.allow_code:
            self.error(
                mark,
                f"{what} '{value}' imports Python code, so it is refused without --allow-code",
                hint="run with --allow-code only for specs you trust; nothing was imported",
                code="code-not-allowed",
            )
            return False
        return True

    def _check_value(self, param: str, value: Any, mark: Mark) -> None:
        """A keyword's value: nested `{type: ...}` objects and names of Keras objects."""
        kind = kind_of_parameter(param)
        if isinstance(value, PMap):
            if "type" in value:
                object_kind = "layers" if kind == "activations" else kind
                self._check_object(object_kind, value, "type", [k for k in value if k != "type"])
            else:
                for key in value:
                    self._check_value(str(key), value[key], value.value_mark(key))
        elif isinstance(value, PList):
            for i, item in enumerate(value):
                self._check_value(param, item, value.value_mark(i))
        elif isinstance(value, str) and kind is not None:
            self._check_name(kind, value, mark)

    def _check_name(self, kind: str, value: str, mark: Mark) -> None:
        if ":" in value:
            self._code_reference(value, mark, KIND_NOUN.get(kind, kind))
            return
        if kind == "layers":
            self._lookup_class("layers", value, mark)
            return
        info = self.catalog.get_class(kind, value)
        if info and info.runs_code and not self.allow_code:
            self.error(
                mark, f"{value} runs Python code, so it is refused without --allow-code", code="code-not-allowed"
            )
            return
        names = self.catalog.names(kind)
        if not names or value in names or kind == "schedules":
            return  # (learning_rate is a number or a schedule object, never a bare name)
        noun = KIND_NOUN.get(kind, kind)
        if info is not None:
            needs = f" (it needs {', '.join(info.required)})" if info.required else ""
            self.error(
                mark,
                f"{noun} '{value}' cannot be made from its name alone{needs}",
                hint=f"write it as an object: {{type: {value}, ...}}",
                code="needs-arguments",
            )
            return
        self.error(
            mark, f"unknown {noun} '{value}'" + did_you_mean(value, names), code=f"unknown-{noun.replace(' ', '-')}"
        )

    # --- compile / data / train -------------------------------------------------------------

    def _check_output_keys(self, spec: Spec, mapping: PMap, section: str) -> None:
        if spec.output_names is not None:
            self.errors.extend(unknown_output_keys(mapping, spec.output_names, section))

    def _check_per_output(self, spec: Spec, section: PMap, key: str, kind: str | None) -> None:
        value = section[key]
        mark = section.value_mark(key)
        names = spec.output_names
        if isinstance(value, PMap) and "type" not in value:
            self._check_output_keys(spec, value, f"compile.{key}")
            for name in value:
                self._check_compile_value(key, kind, value[name], value.value_mark(name))
        elif isinstance(value, PList) and key in ("loss", "loss_weights") and names is not None and len(names) > 1:
            if len(value) != len(names):
                self.error(
                    mark,
                    f"`compile.{key}` lists {len(value)} values for {len(names)} outputs ({', '.join(names)})",
                    hint="give one per output in order, or a mapping by output name",
                    code="output-count",
                )
            for i, item in enumerate(value):
                self._check_compile_value(key, kind, item, value.value_mark(i))
        else:
            self._check_compile_value(key, kind, value, mark)

    def _check_compile_value(self, key: str, kind: str | None, value: Any, mark: Mark) -> None:
        if key == "loss_weights":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.error(mark, f"a loss weight is a number, got {value!r}", code="bad-value")
            return
        if value is None:
            return
        self._check_value(key, value, mark)

    def _check_compile(self, spec: Spec) -> None:
        section = spec.compile
        assert section is not None
        allowed = self.catalog.functions["compile"].params
        for key in section:
            if key not in allowed:
                self.error(
                    section.key_mark(key),
                    f"unknown compile argument '{key}'" + did_you_mean(str(key), allowed),
                    hint=None if closest(str(key), allowed) else "model.compile takes: " + ", ".join(sorted(allowed)),
                    code="unknown-key",
                )
            elif key in PER_OUTPUT_COMPILE_KEYS:
                self._check_per_output(spec, section, key, kind_of_parameter(key))
            elif key == "optimizer":
                self._check_value("optimizer", section[key], section.value_mark(key))

    def _check_data(self, spec: Spec) -> None:
        section = spec.data
        assert section is not None
        for key in section:
            if key not in DATA_KEYS:
                self.error(
                    section.key_mark(key),
                    f"unknown data key '{key}'" + did_you_mean(str(key), DATA_KEYS),
                    hint=None if closest(str(key), DATA_KEYS) else "data keys: " + ", ".join(DATA_KEYS),
                    code="unknown-key",
                )
        for key in ("samples", "sequence_length"):
            if key in section:
                self._positive_int(section, key, f"data.{key}")
        self._seed(section, "data.seed")
        if "file" in section:
            file = section["file"]
            if not isinstance(file, str) or not file.endswith((".npz", ".csv")):
                self.error(
                    section.value_mark("file"),
                    f"`data.file` must name a .npz or .csv file, got {file!r}",
                    code="bad-data-file",
                )
        if isinstance(section.get("inputs"), PMap):
            inputs = section["inputs"]
            names = spec.input_names
            for key in inputs:
                if names and key not in names:
                    self.error(
                        inputs.key_mark(key),
                        f"'{key}' in `data.inputs` is not an input of the model" + did_you_mean(str(key), names),
                        hint=None if closest(str(key), names) else "inputs: " + ", ".join(names),
                        code="unknown-input",
                    )
                self._check_distribution(inputs, key)
        if isinstance(section.get("targets"), PMap):
            targets = section["targets"]
            self._check_output_keys(spec, targets, "data.targets")
            for key in targets:
                self._check_distribution(targets, key)

    def _check_distribution(self, container: PMap, key: Any) -> None:
        value = container[key]
        if not isinstance(value, PMap):
            self.error(
                container.value_mark(key),
                "a data description is a mapping such as {distribution: uniform, low: 0, high: 1}",
                code="bad-distribution",
            )
            return
        if "distribution" not in value:
            self.error(
                value.mark,
                "the data description has no `distribution`",
                hint="distributions: " + ", ".join(DISTRIBUTIONS),
                code="bad-distribution",
            )
            return
        name = value["distribution"]
        if name not in DISTRIBUTIONS:
            self.error(
                value.value_mark("distribution"),
                f"unknown distribution {name!r}" + (did_you_mean(name, DISTRIBUTIONS) if isinstance(name, str) else ""),
                hint="distributions: " + ", ".join(DISTRIBUTIONS),
                code="bad-distribution",
            )
            return
        allowed = ("distribution", "dtype") + DISTRIBUTIONS[name]
        for k in value:
            if k not in allowed:
                self.error(
                    value.key_mark(k),
                    f"distribution '{name}' has no parameter '{k}'" + did_you_mean(str(k), allowed),
                    hint=f"'{name}' takes: " + (", ".join(DISTRIBUTIONS[name]) or "no parameters"),
                    code="bad-distribution",
                )
            elif k not in ("distribution", "dtype") and (
                not isinstance(value[k], (int, float)) or isinstance(value[k], bool)
            ):
                self.error(value.value_mark(k), f"`{k}` must be a number, got {value[k]!r}", code="bad-distribution")

    def _check_train(self, spec: Spec) -> None:
        section = spec.train
        assert section is not None
        fit = self.catalog.functions["fit"].params
        allowed = sorted((set(fit) - set(TRAIN_FIT_EXCLUDED)) | set(TRAIN_OWN_KEYS))
        for key in section:
            if key not in allowed:
                self.error(
                    section.key_mark(key),
                    f"unknown train key '{key}'" + did_you_mean(str(key), allowed),
                    hint=None if closest(str(key), allowed) else "train keys: " + ", ".join(allowed),
                    code="unknown-key",
                )
        for key in ("epochs", "batch_size"):
            if key in section:
                self._positive_int(section, key, f"train.{key}")
        self._seed(section, "train.seed")
        if "validation_split" in section:
            split = section["validation_split"]
            if not isinstance(split, (int, float)) or isinstance(split, bool) or not 0 <= split < 1:
                self.error(
                    section.value_mark("validation_split"),
                    f"`train.validation_split` is a fraction in [0, 1), got {split!r}",
                    code="bad-value",
                )
        if "loop" in section and section["loop"] not in LOOPS:
            loop = section["loop"]
            self.error(
                section.value_mark("loop"),
                f"unknown loop {loop!r}" + (did_you_mean(loop, LOOPS) if isinstance(loop, str) else ""),
                hint="loop is fit (model.fit) or custom (a GradientTape loop)",
                code="bad-value",
            )
        if "step" in section:
            self._code_reference(section["step"], section.value_mark("step"), "train step")
        if "callbacks" in section:
            callbacks = section["callbacks"]
            if not isinstance(callbacks, PList):
                self.error(
                    section.value_mark("callbacks"),
                    "`train.callbacks` must be a list such as [{type: EarlyStopping, patience: 2}]",
                    code="bad-value",
                )
            else:
                for i, item in enumerate(callbacks):
                    self._check_value("callbacks", item, callbacks.value_mark(i))

    def _seed(self, section: PMap, label: str) -> None:
        """A seed is what NumPy and TensorFlow both take: a whole number in [0, 2**32 - 1]."""
        if "seed" not in section:
            return
        value = section["seed"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
            self.error(
                section.value_mark("seed"),
                f"`{label}` must be a whole number from 0 to {MAX_SEED}, got {value!r}",
                code="bad-value",
            )

    def _positive_int(self, section: PMap, key: str, label: str) -> None:
        value = section[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.error(
                section.value_mark(key),
                f"`{label}` must be a whole number of at least 1, got {value!r}",
                code="bad-value",
            )
