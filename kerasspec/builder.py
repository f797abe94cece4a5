"""Spec -> keras.Model: the model a Keras expert would write by hand, and nothing else.

Every `{type: X, ...}` mapping, wherever it appears, goes through one mechanism: the builder is
the visitor of `kerasspec.walker.walk`, which gives each object the kind its parameter implies
(`kerasspec.kinds`). Its keyword values are built first, the same way, then the object itself:
through Keras's own `deserialize_keras_object` for the kinds that deserialize, by calling the
class for layers and callbacks. So each object is made on its own, and a Keras exception is
turned into a `SpecError` at the entry (or the exact key) that caused it.

Variables are created inside `keras.StatelessScope(initialize_variables=False)`, so the
parameter count is known before any weight memory is allocated; only a model under
`max_params` gets its variables initialised.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._keras import import_keras, initialize_all_variables
from .catalog import Catalog, get_catalog
from .errors import Mark, SpecError
from .format.declaration import RESERVED_ENTRY_KEYS
from .graph import model_inputs, record_symbolic_call, source_layer
from .kinds import KINDS, Kind
from .loader import PMap
from .spec import ENTRY_ABOVE, LayerEntry, Ref, Spec
from .usercode import check_arguments, check_takes_name, constructor_keywords, import_object, user_frame
from .walker import Visitor, walk_arguments, walk_parameter

if TYPE_CHECKING:
    from .adapt import Adapter

DEFAULT_MAX_PARAMS = 2_000_000_000


@dataclass
class BuildWarning:
    mark: Mark
    message: str

    def render(self) -> str:
        return f"{self.mark}: warning: {self.message}"


@dataclass
class Built:
    """A built model and what the build learnt about it."""

    model: Any
    spec: Spec
    warnings: list[BuildWarning] = field(default_factory=list)
    tensor_names: dict[int, str] = field(default_factory=dict)  # id(KerasTensor) -> spec reference
    # id(layer or operation node) -> the entry that made it (nested models' entries included)
    entries: dict[int, LayerEntry] = field(default_factory=dict)
    adapter: Any = None  # the `kerasspec.adapt.DataAdapter` that adapted its layers, if any

    @property
    def is_built(self) -> bool:
        return bool(getattr(self.model, "built", False)) and bool(model_inputs(self.model))


def parse_input_shape(text: str) -> tuple[int | None, ...]:
    """`28,28,1` -> (28, 28, 1); `null,8` -> (None, 8). A SpecError names the option otherwise."""
    dims: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("null", "none", "?"):
            dims.append(None)
        elif part.isdigit() and int(part) > 0:
            dims.append(int(part))
        else:
            raise SpecError(
                None,
                f"bad --input-shape '{text}': give sizes separated by commas, such as 28,28,1 (null for any size)",
                source="--input-shape",
                code="bad-option",
            )
    return tuple(dims)


def build(
    spec: Spec,
    *,
    input_shape: tuple[int | None, ...] | None = None,
    max_params: int = DEFAULT_MAX_PARAMS,
    catalog: Catalog | None = None,
    initialize: bool = True,
    adapter: Adapter | None = None,
) -> Built:
    """Build the spec's Keras model symbolically; raise SpecError at the entry that fails.
    `initialize=False` leaves the weights unallocated (shapes, counts and configs are known): for
    what only describes the model (`diff`, `lock`), whose caller then clears the Keras session.
    `adapter` is given each `adapt:` layer before it is called (`kerasspec.adapt`); one that
    adapts on data needs real variables, so that build allocates as it goes (the caller built
    the spec once without it, which checked `max_params` before anything was allocated)."""
    keras = import_keras()
    _allow_deep_graphs(spec)
    builder = _Builder(keras, spec, catalog or get_catalog(), input_shape, adapter=adapter)
    allocating = adapter is not None and adapter.allocates
    scope = contextlib.nullcontext() if allocating else keras.StatelessScope(initialize_variables=False)
    try:
        with scope:
            model = builder.model()
            if getattr(model, "built", False) and model_inputs(model):
                builder.check_param_limit(model, max_params)
    except BaseException:
        keras.utils.clear_session()  # drop pending variables: a later build must start clean
        raise
    if not initialize:
        return Built(model, spec, builder.warnings, builder.tensor_names(), builder.entry_of_layer)
    try:
        initialize_all_variables()  # initializers run here, after the symbolic build
    except Exception as exc:  # noqa: BLE001 - an initializer Keras accepted but cannot run
        keras.utils.clear_session()
        raise SpecError(
            spec.tree.mark,
            f"initializing the model's weights failed: {keras_message(exc)}",
            hint="check the initializers' arguments (a seed, a mean, a scale)",
            code="keras-error",
        ) from None
    return Built(model, spec, builder.warnings, builder.tensor_names(), builder.entry_of_layer)


def _count_layers(spec: Spec) -> int:
    return len(spec.layers) + sum(_count_layers(included) for included in spec.included())


def _allow_deep_graphs(spec: Spec) -> None:
    """Keras walks model graphs recursively (ops/function.py `_build_map_helper`), so a
    hand-written 1,000-layer Sequential fails with RecursionError. Raise Python's limit in
    proportion to the model (never lower it); 100,000 was measured safe on an 8 MiB stack
    with a 10,000-layer model."""
    wanted = min(100_000, 1_000 + 10 * _count_layers(spec))
    if wanted > sys.getrecursionlimit():
        sys.setrecursionlimit(wanted)


def keras_message(exc: BaseException, limit: int | None = 400) -> str:
    """Keras's own explanation, on one line, without the call-context boilerplate; cut at
    `limit` characters."""
    raw = (
        exc.args[0] if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str) else str(exc)
    )  # str() quotes it
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw).strip() or type(exc).__name__
    text = re.sub(r", numpy=[^>]*>", ">", text)  # a variable's values, which say nothing to the reader
    if "could not be deserialized properly" in text:  # deserialize_keras_object wraps the constructor's TypeError
        text = text.rsplit("Exception encountered: ", 1)[-1]
    if text.startswith("Exception encountered when calling"):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(paragraphs) > 1:
            text = paragraphs[1]
            if text.endswith("Error encountered:") and len(paragraphs) > 2:  # a subclassed model's call failed
                text = (
                    re.sub(
                        r"^Could not automatically infer the output shape.*?\(of type (\w+)\)\..*Error encountered:$",
                        r"\1.call() failed:",
                        text,
                        flags=re.S,
                    )
                    + " "
                    + paragraphs[2]
                )
    text = text.split("\n\nArguments received by", 1)[0]
    text = " ".join(text.split())
    text = re.sub(r"<KerasTensor shape=(\([^)]*\))[^>]*>", r"\1", text)
    if isinstance(exc, IndexError) and "index out of range" in text:
        text = f"{text} (IndexError)"
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def user_code_error(exc: BaseException) -> tuple[str, str | None] | None:
    """An exception raised in the user's own code: `TypeName: message (FILE:LINE, in FUNCTION)`
    with the innermost frame of the user's module, uncut, and the hint for the whole traceback;
    None when no frame of the traceback is user code."""
    where = user_frame(exc)
    if where is None:
        return None
    text = keras_message(exc, limit=None)
    failed = re.match(r"\w+\.call\(\) failed: ", text)  # a subclass's call, as keras_message says it
    prefix = failed.group(0) if failed else ""
    return f"{prefix}{type(exc).__name__}: {text[len(prefix) :]} ({where})", USER_TRACEBACK_HINT


USER_TRACEBACK_HINT = "--debug shows the full traceback"


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, tuple))


class _Builder(Visitor):
    def __init__(
        self,
        keras: Any,
        spec: Spec,
        catalog: Catalog,
        input_shape: tuple | None,
        name: str | None = None,
        adapter: Adapter | None = None,
    ):
        self.keras = keras
        self.adapter = adapter
        self.inputs: dict[str, Any] = {}  # the spec's inputs by name, for what adapted layers are called on
        self.spec = spec
        self.catalog = catalog
        self.input_shape = input_shape
        self.name = name or spec.name
        self.warnings: list[BuildWarning] = []
        self.entry_of_layer: dict[int, LayerEntry] = {}
        self.layer_of_name: dict[str, Any] = {}
        self.tensors: dict[str, Any] = {}
        self.bound: set[str] = set()  # names of block inputs among the tensors

    # --- objects: what `walk` calls at each object, name and code reference ------------------

    def convert(self, value: Any, param: str, mark: Mark | None = None) -> Any:
        """A spec value as Keras takes it: objects built, lists of plain values as tuples, and
        (with --allow-code) `package.module:Name` imported where the parameter takes code."""
        return walk_parameter(self, param, value, mark)

    def visit_code(self, kind: Kind, value: str, mark: Mark | None) -> Any:
        # without --allow-code the static checks refused every code reference
        return import_object(value, mark, self.spec.code_directory, kind) if self.spec.allow_code else value

    def visit_object(self, kind: Kind | None, raw: PMap) -> Any:
        return self.instantiate(kind, raw)

    def resolve_class(self, kind: Kind | None, type_name: str, mark: Mark) -> tuple[Kind | None, Any]:
        """The class a `type` names and its kind (where the parameter does not say, the first
        kind of the catalog that has such a class)."""
        if ":" in type_name:
            return kind, import_object(type_name, mark, self.spec.code_directory, kind)
        kinds = [kind] if kind else [KINDS[info.kind] for info in self.catalog.find_class(type_name)]
        for candidate in kinds:
            cls = getattr(candidate.keras_module(self.keras), type_name, None)
            if cls is not None:
                return candidate, cls
        raise SpecError(mark, f"unknown type '{type_name}'", code="unknown-type")  # validate catches this first

    def instantiate(self, kind: Kind | None, raw: PMap, name: str | None = None, skip: tuple = ("type",)) -> Any:
        type_name = raw["type"]
        kind, cls = self.resolve_class(kind, type_name, raw.value_mark("type"))
        if ":" in type_name:
            check_arguments(cls, type_name, raw, skip, kind)
            if name is not None:
                check_takes_name(cls, type_name, raw, kind)
        kwargs = walk_arguments(self, raw, [key for key in raw if key not in skip])
        if name is not None:
            kwargs["name"] = name
        with self.keras_errors(raw, f"{type_name}"):
            if kind is not None and kind.deserialize and inspect.isclass(cls):
                return self.deserialize(kind, type_name, cls, kwargs)
            return cls(**kwargs)

    def deserialize(self, kind: Kind, type_name: str, cls: Any, config: dict[str, Any]) -> Any:
        """Keras's own deserialization of `{class_name, config}`: Keras finds its classes by
        module; a user's class is handed over as a custom object."""
        custom = ":" in type_name
        return self.keras.saving.deserialize_keras_object(
            {
                "class_name": type_name,
                "config": config,
                "module": None if custom else f"keras.{kind.module}",
                "registered_name": type_name if custom else None,
            },
            custom_objects={type_name: cls} if custom else None,
        )

    # --- errors -----------------------------------------------------------------------------

    class _KerasErrors:
        def __init__(self, builder: _Builder, raw: PMap, what: str, hint: str | None):
            self.builder, self.raw, self.what, self.hint = builder, raw, what, hint
            self.catcher = warnings.catch_warnings(record=True)

        def __enter__(self) -> None:
            self.caught = self.catcher.__enter__()
            warnings.simplefilter("always")

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
            self.catcher.__exit__(None, None, None)
            for warning in self.caught:
                if issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
                    continue
                self.builder.warnings.append(
                    BuildWarning(self.raw.mark, f"{self.what}: {' '.join(str(warning.message).split())}")
                )
            if exc is None or isinstance(exc, SpecError) or not isinstance(exc, Exception):
                return False
            message, hint, code = keras_message(exc), self.hint, "keras-error"
            in_user_code = user_code_error(exc)
            if in_user_code is not None:
                (message, debug_hint), code = in_user_code, "code-error"
                hint = f"{hint}; {debug_hint}" if hint else debug_hint
            error = SpecError(self.builder.mark_for(self.raw, message), f"{self.what}: {message}", hint=hint, code=code)
            if in_user_code is not None:
                raise error from exc  # --debug shows its traceback
            raise error from None

    def keras_errors(self, raw: PMap, what: str, hint: str | None = None) -> _Builder._KerasErrors:
        return self._KerasErrors(self, raw, what, hint)

    def mark_for(self, raw: PMap, message: str) -> Mark:
        """The key Keras's message names (`Received: units=-5`), else the entry itself."""
        for key in raw:
            if key in RESERVED_ENTRY_KEYS:
                continue
            if re.search(rf"(?<![\w.]){re.escape(str(key))}=|`{re.escape(str(key))}`", message):
                return raw.value_mark(key)
        for key, value in raw.items():  # else a value Keras quotes back ('flaot32')
            if key not in RESERVED_ENTRY_KEYS and isinstance(value, str) and f"'{value}'" in message:
                return raw.value_mark(key)
        return raw.mark

    # --- layers -----------------------------------------------------------------------------

    def layer_for(self, entry: LayerEntry) -> Any:
        if entry.reuse is not None:
            return self.layer_of_name[entry.reuse.name]
        if entry.spec is not None:
            return self.nested_model(entry.spec, entry.name or entry.spec.name)
        return self.instantiate(KINDS["layers"], entry.raw, name=entry.name, skip=RESERVED_ENTRY_KEYS)

    def nested_model(self, spec: Spec, name: str) -> Any:
        """The model of an included or inline spec, built as a spec of its own."""
        nested = _Builder(self.keras, spec, self.catalog, None, name=name)
        nested.entry_of_layer = self.entry_of_layer  # one map for the whole model
        model = nested.model()
        self.warnings.extend(nested.warnings)
        return model

    def visit_model(self, raw: PMap, mark: Mark | None) -> Any:
        found = self.spec.arg_models.get(raw.mark)  # a nested model in a subclass's `args`
        return self.nested_model(found[1], found[0]) if found is not None else super().visit_model(raw, mark)

    def remember(self, entry: LayerEntry, layer: Any) -> None:
        self.entry_of_layer.setdefault(id(layer), entry)
        if entry.name:
            self.layer_of_name[entry.name] = layer

    def model(self) -> Any:
        if self.spec.kind == "sequential":
            return self.sequential()
        if self.spec.kind == "functional":
            return self.functional()
        return self.subclassed()

    def make_input(
        self, definition: Any, raw: PMap, what: str, *, shape: tuple | None = None, name: str | None = None
    ) -> Any:
        """`keras.Input` for a spec input; Keras errors are reported at `raw`."""
        kwargs = dict(definition.options)
        if definition.dtype:
            kwargs["dtype"] = definition.dtype
        with self.keras_errors(raw, what):
            return self.keras.Input(shape=shape if shape is not None else definition.shape, name=name, **kwargs)

    def sequential(self) -> Any:
        keras = self.keras
        layers: list[Any] = []
        if self.input_shape is not None or self.spec.input is not None:
            definition = self.spec.input
            if definition is None:
                from .spec import InputDef

                assert self.input_shape is not None  # the spec has no input, so one was given
                definition = InputDef("input_layer", self.input_shape, None, {}, self.spec.tree.mark)
            raw_input = self.spec.tree.get("input")  # `{shape: [...], name: ...}`, or the shorthand `[...]`
            name = definition.name if isinstance(raw_input, PMap) and raw_input.get("name") else None
            layers.append(self.make_input(definition, self.spec.tree, "input", shape=self.input_shape, name=name))
        for entry in self.spec.layers:
            layer = self.layer_for(entry)
            if entry.adapt and self.adapter is not None:
                from .adapt import Feed

                above = [item for item in layers if not isinstance(item, keras.KerasTensor)]
                layer = self.adapted(entry, layer, Feed(chain=above))
            self.remember(entry, layer)
            layers.append(layer)
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                return keras.Sequential(layers, name=self.name)
        except SpecError:
            raise
        except Exception as exc:  # find the entry whose call fails, by calling them in order
            self.locate_sequential_failure(layers)
            raise SpecError(
                self.spec.tree.mark, f"building the sequential model failed: {keras_message(exc)}", code="keras-error"
            ) from None

    def locate_sequential_failure(self, layers: list[Any]) -> None:
        keras = self.keras
        if not layers or not isinstance(layers[0], keras.KerasTensor):
            return
        x = keras.Input(shape=layers[0].shape[1:], dtype=layers[0].dtype)
        for entry, layer in zip(self.spec.layers, layers[1:]):
            with self.keras_errors(entry.raw, f"{entry.describe()} ({_type_of(entry)})"):
                x = layer(x)

    def functional(self) -> Any:
        keras = self.keras
        holder = self.spec.tree.get("inputs")
        raw = holder if isinstance(holder, PMap) else self.spec.tree
        inputs = {
            name: self.make_input(definition, raw, f"input '{name}'", name=name)
            for name, definition in self.spec.inputs.items()
        }
        self.tensors.update(inputs)
        self.inputs = inputs
        previous: Any = next(iter(inputs.values())) if len(inputs) == 1 else None
        previous_name: str | None = None
        for entry in self.spec.layers:
            for name, called_on in entry.block_inputs:  # `d1.in`: what the block used as d1 is called on
                self.tensors[name] = previous if called_on is None else self.called_on(called_on)
                self.bound.add(name)
            if entry.op is not None:
                output = self.call_op(entry, previous)
                if entry.name:
                    self.tensors[entry.name] = output
                previous = output
                continue
            layer = self.layer_for(entry)
            args, kwargs, multi = self.call_arguments(entry, previous, previous_name)
            if entry.adapt and self.adapter is not None:
                layer = self.adapted(entry, layer, self.feed(entry, args, kwargs))
            self.remember(entry, layer)
            hint = None
            if multi:
                hint = f"'{multi}' has several outputs; pick one with {multi}[0], {multi}[1], ..."
            with self.keras_errors(entry.raw, f"{entry.describe()} ({_type_of(entry)})", hint):
                output = layer(*args, **kwargs, **{str(k): self.convert(v, str(k)) for k, v in entry.call.items()})
            if entry.name:
                self.tensors[entry.name] = output
            previous, previous_name = output, entry.name
        outputs = self.outputs()
        input_tensors = list(inputs.values())
        raw_outputs = self.spec.tree
        with self.keras_errors(raw_outputs, "the model"):
            return keras.Model(
                inputs=input_tensors[0] if len(input_tensors) == 1 else input_tensors,
                outputs=outputs,
                name=self.name,
            )

    def feed(self, entry: LayerEntry, args: list, kwargs: dict) -> Any:
        """What an adapted layer of a functional spec is called on, from the model's inputs."""
        from .adapt import Feed

        source = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(source, self.keras.KerasTensor):
            raise SpecError(
                entry.raw.key_mark("adapt"),
                f"{entry.describe()} is called on {'several tensors' if source is not None or kwargs else 'nothing'}; "
                "a layer adapts on the one tensor it is called on",
                code="bad-adapt",
            )
        for name, tensor in self.inputs.items():
            if tensor is source:
                return Feed(column=name)
        return Feed(model=self.keras.Model(self.inputs, source, name=f"{self.name}.adapt_feed"))

    def adapted(self, entry: LayerEntry, layer: Any, feed: Any) -> Any:
        """The layer as the adapter leaves it (adapted, or given what a run's layer learnt);
        what fails is reported at the entry's `adapt`."""
        assert self.adapter is not None
        try:
            return self.adapter(entry, layer, feed)
        except SpecError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras (or the user's layer) refused the data
            in_user_code = user_code_error(exc)
            message, hint = in_user_code if in_user_code is not None else (keras_message(exc), None)
            raise SpecError(
                entry.raw.key_mark("adapt"),
                f"adapting {entry.describe()} ({_type_of(entry)}) failed: {message}",
                hint=hint,
                code="adapt-failed",
            ) from (exc if in_user_code is not None else None)

    def call_op(self, entry: LayerEntry, previous: Any) -> Any:
        """`{op: mean, inputs: tokens, axis: 1}`: keras.ops.mean(tokens, axis=1), its operation
        node named as the entry (or, unnamed, `<model>.<position>`: never Keras's counter)."""
        fn: Any = self.keras.ops
        for part in str(entry.op).split("."):
            fn = getattr(fn, part)
        used: list[Any] = []

        def value(argument: Any) -> Any:
            if argument is ENTRY_ABOVE:
                used.append(previous)
                return previous
            if isinstance(argument, Ref):
                used.append(self.tensor(argument))
                return used[-1]
            if isinstance(argument, list):
                return [value(item) for item in argument]
            return argument

        arguments = {name: value(argument) for name, argument in entry.op_arguments.items()}
        args = [value(argument) for argument in entry.op_varargs]
        if args:  # *args follow every positional parameter: give those by position too
            parameters = inspect.signature(fn).parameters
            op = self.catalog.op(str(entry.op))
            named = [arguments.pop(n) if n in arguments else parameters[n].default for n in op.positional] if op else []
            args = named + args
        with self.keras_errors(entry.raw, f"{entry.describe()} (keras.ops.{entry.op})"):
            output = fn(*args, **arguments)
        tensors = output if isinstance(output, (list, tuple)) else [output]
        if not tensors or not all(isinstance(t, self.keras.KerasTensor) for t in tensors):
            raise SpecError(
                entry.raw.value_mark("op"),
                f"{entry.describe()}: keras.ops.{entry.op} gives {_shown(output)}, not a tensor",
                hint="an op entry is a node of the model's graph: its function must return tensors",
                code="op-not-tensor",
            )
        inputs = {id(source_layer(t)) for t in _flatten(used) if isinstance(t, self.keras.KerasTensor)}
        for tensor in tensors:
            operation = source_layer(tensor)
            if operation is not None and id(operation) not in inputs:  # a new node (cast to the same dtype makes none)
                operation.name = entry.name or f"{self.name}.{entry.index + 1}"
                self.entry_of_layer.setdefault(id(operation), entry)
        return output

    def subclassed(self) -> Any:
        """`class: module:Name` built with `args`, then called once on symbolic inputs of the
        spec's shapes (a dict by input name; one input: its tensor), which builds it."""
        tree, spec = self.spec.tree, self.spec
        class_mark = tree.value_mark("class")
        cls = import_object(str(spec.class_ref), class_mark, spec.code_directory, KINDS["models"])
        raw_args = tree.get("args")
        args = raw_args if isinstance(raw_args, PMap) else PMap(tree.mark)
        check_arguments(
            cls,
            str(spec.class_ref),
            args,
            (),
            KINDS["models"],
            missing_mark=tree.value_mark("args") if "args" in tree else class_mark,
        )
        kwargs = walk_arguments(self, args, args)
        accepted, open_ended, _ = constructor_keywords(cls)
        if "name" not in kwargs and (open_ended or "name" in accepted):
            kwargs["name"] = self.name
        what = f"model class '{spec.class_ref}'"
        with self.keras_errors(args if args else tree, what):
            model = cls(**kwargs)
        self.call_on_inputs(model)
        return model

    def call_on_inputs(self, model: Any) -> None:
        """Call a subclassed model on symbolic inputs of the spec's shapes and record them."""
        spec, tree = self.spec, self.spec.tree
        definitions = {spec.input.name: spec.input} if spec.input is not None else spec.inputs
        holder = tree["inputs"] if isinstance(tree.get("inputs"), PMap) else tree
        inputs = {name: self.make_input(d, holder, f"input '{name}'", name=name) for name, d in definitions.items()}
        argument = next(iter(inputs.values())) if spec.input is not None or len(inputs) == 1 else inputs
        mark = spec.mark_of("class", value=True)
        with self.keras_errors(
            PMap(mark),
            f"calling model class '{spec.class_ref}' on the spec's inputs",
            hint="the model is called on a dict by input name (one input: its tensor)",
        ):
            outputs = model(argument)
        record_symbolic_call(model, inputs, outputs, by_name=isinstance(argument, dict))

    # --- tensors ----------------------------------------------------------------------------

    def tensor_names(self) -> dict[int, str]:
        names: dict[int, str] = {}
        for name, value in self.tensors.items():
            if name in self.bound:
                continue  # a block's input is the tensor of the entry or input it was bound to
            if isinstance(value, (list, tuple)):
                names.update({id(t): f"{name}[{i}]" for i, t in enumerate(value)})
            else:
                names[id(value)] = name
        return names

    def tensor(self, ref: Ref) -> Any:
        value = self.tensors[ref.name]
        several = isinstance(value, (list, tuple))
        if ref.index is None:
            return value
        if not several:
            raise SpecError(
                ref.mark, f"'{ref.name}' has one output; write '{ref.name}' without [{ref.index}]", code="bad-index"
            )
        if ref.index >= len(value):
            raise SpecError(
                ref.mark,
                f"'{ref.name}' has {len(value)} outputs ({ref.name}[0] to {ref.name}[{len(value) - 1}]); {ref} is out of range",
                code="bad-index",
            )
        return value[ref.index]

    def called_on(self, inputs: Any) -> Any:
        """The tensors of `inputs` references, in their structure (a reference, a list, a mapping)."""
        if isinstance(inputs, Ref):
            return self.tensor(inputs)
        if isinstance(inputs, list):
            return [self.tensor(ref) for ref in inputs]
        return {key: self.called_on(value) for key, value in inputs.items()}

    def call_arguments(
        self, entry: LayerEntry, previous: Any, previous_name: str | None
    ) -> tuple[list, dict, str | None]:
        multi = None

        def note(ref: Ref) -> Any:
            nonlocal multi
            value = self.tensor(ref)
            if ref.index is None and isinstance(value, (list, tuple)):
                multi = ref.name
            return value

        if entry.inputs is None:
            if isinstance(previous, (list, tuple)):
                multi = previous_name
            return [previous], {}, multi
        if isinstance(entry.inputs, Ref):
            return [note(entry.inputs)], {}, multi
        if isinstance(entry.inputs, list):
            return [[note(r) for r in entry.inputs]], {}, multi
        kwargs = {
            key: [note(r) for r in value] if isinstance(value, list) else note(value)
            for key, value in entry.inputs.items()
        }
        return [], kwargs, multi

    def outputs(self) -> Any:
        resolved = [(name, self.tensor(ref)) for name, ref in self.spec.outputs]
        for (_, ref), (_, value) in zip(self.spec.outputs, resolved):
            if isinstance(value, (list, tuple)):
                picks = ", ".join(f"{ref.name}[{i}]" for i in range(len(value)))
                raise SpecError(
                    ref.mark,
                    f"'{ref.name}' has {len(value)} outputs; an output of the model is one of them",
                    hint=f"list the ones you want: {picks}",
                    code="several-outputs",
                )
        if self.spec.outputs_form == "dict":
            return dict(resolved)
        if self.spec.outputs_form == "one":
            return resolved[0][1]
        return [t for _, t in resolved]

    # --- the parameter limit ----------------------------------------------------------------

    def check_param_limit(self, model: Any, max_params: int) -> None:
        total = model.count_params()
        if total <= max_params:
            return
        biggest: Any = max(model.layers, key=lambda layer: layer.count_params(), default=None)
        entry = self.entry_of_layer.get(id(biggest)) if biggest is not None else None
        mark = entry.mark if entry else self.spec.tree.mark
        culprit = f"; {entry.describe()} ({_type_of(entry)}) alone has {biggest.count_params():,}" if entry else ""
        raise SpecError(
            mark,
            f"the model would have {total:,} parameters, more than --max-params {max_params:,}{culprit}",
            hint="nothing was allocated; shrink the layer, or raise --max-params if you mean it",
            code="too-many-params",
        )


def record_subclass_call(keras: Any, spec: Spec, model: Any) -> None:
    """For a subclassed model loaded from a file: call it on the spec's inputs, so its inputs
    and named outputs are known like a freshly built one's."""
    _Builder(keras, spec, get_catalog(), None).call_on_inputs(model)


def convert(keras: Any, spec: Spec, value: Any, param: str) -> Any:
    """A spec value as Keras takes it, through the same mechanism as layer arguments
    (used for compile arguments and callbacks)."""
    return _Builder(keras, spec, get_catalog(), None).convert(value, param)


def _type_of(entry: LayerEntry | None) -> str:
    if entry is None:
        return "?"
    if entry.reuse is not None:
        return f"reuse of {entry.reuse.name}"
    if entry.spec is not None:
        return f"spec {entry.spec.shown}"
    if entry.op is not None:
        return f"keras.ops.{entry.op}"
    return str(entry.type)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, (list, tuple)):
        return [item for value in values for item in _flatten(value)]
    return [values]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
