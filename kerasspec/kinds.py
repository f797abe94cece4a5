"""Every kind of object a spec names, declared once: where Keras keeps it, what messages call it,
which parameters take it, and what user code standing for it must be.

The catalog generator, the catalog, the static checks, the builder, user-code imports and the
custom objects of a saved model all read this table. It imports nothing, so the generator can
read it inside its own Keras process and `validate` without importing Keras at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str  # the catalog's key: "initializers"
    noun: str  # in messages: "unknown initializer 'x'"
    user_noun: str  # user code of this kind, in messages: "custom initializer 'pkg.mod:Name'"
    expected: str  # what such user code must be: "a keras.initializers.Initializer or a function"
    module: str | None = None  # under `keras.`: "optimizers.schedules"
    base: str | None = None  # the base class under `keras.`; None: functions only
    accepts_functions: bool = False  # a plain function is accepted where an instance goes
    parameters: tuple[str, ...] = ()  # keyword names that take this kind (`optimizer`)
    arguments: tuple[str, ...] = ()  # keywords of one Keras class only, as `Class.keyword` (`Lambda.function`)
    suffixes: tuple[str, ...] = ()  # keyword name endings that take it (`kernel_initializer`)
    code_running: frozenset[str] = frozenset()  # classes refused without --allow-code
    skip: tuple[str, ...] = ()  # public classes of the module that are not objects of this kind
    # Strings that name an object: "get" (what `keras.<module>.get` resolves), "argument-free
    # classes" (kerasspec builds a bare class name itself), or None (no names).
    names_from: str | None = None
    # `{type: X, ...}` built by `keras.saving.deserialize_keras_object`; else by calling the class.
    deserialize: bool = False
    objects_of: str | None = None  # `{type: ...}` objects here are of another kind (activation layers)
    saved: bool = True  # a saved model names user code of this kind (load_model needs it)
    code_only: bool = False  # only user code goes here, no other value (`Lambda.function`)

    @property
    def listed(self) -> bool:
        """Whether the catalog lists the module's classes (the subclasses of `base` in `module`)."""
        return self.module is not None and self.base is not None

    def keras_module(self, keras: Any) -> Any:
        return _attribute(keras, self.module or "")

    def keras_base(self, keras: Any) -> Any:
        return _attribute(keras, self.base or "")


def _attribute(root: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        root = getattr(root, part)
    return root


_GET = "get"

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "layers",
            "layer type",
            "custom layer",
            "a keras.layers.Layer",
            module="layers",
            base="layers.Layer",
            parameters=("layer", "backward_layer", "cell", "cells"),
            code_running=frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}),
            # Layers are called, not deserialized: Layer.from_config re-raises every constructor
            # error as a TypeError wrapping the config, and the wrappers (Bidirectional,
            # TimeDistributed, RNN) take only configs, not layers, for their inner layers, so an
            # inner layer's error could no longer be placed at its own line.
        ),
        # The three kinds a layer's weights take by suffix (`kernel_initializer`), all alike.
        *(
            Kind(
                f"{noun}s",
                noun,
                f"custom {noun}",
                f"a keras.{noun}s.{noun.capitalize()} or a function",
                module=f"{noun}s",
                base=f"{noun}s.{noun.capitalize()}",
                accepts_functions=True,
                suffixes=(f"_{noun}",),
                names_from=_GET,
                deserialize=True,
            )
            for noun in ("initializer", "regularizer", "constraint")
        ),
        Kind(
            "optimizers",
            "optimizer",
            "custom optimizer",
            "a keras.optimizers.Optimizer",
            module="optimizers",
            base="optimizers.Optimizer",
            parameters=("optimizer", "inner_optimizer"),
            names_from=_GET,
            deserialize=True,
        ),
        Kind(
            "schedules",
            "learning-rate schedule",
            "custom schedule",
            "a keras.optimizers.schedules.LearningRateSchedule",
            module="optimizers.schedules",
            base="optimizers.schedules.LearningRateSchedule",
            parameters=("learning_rate",),
            deserialize=True,
        ),
        Kind(
            "losses",
            "loss",
            "custom loss",
            "a keras.losses.Loss or a function (y_true, y_pred)",
            module="losses",
            base="losses.Loss",
            accepts_functions=True,
            parameters=("loss",),
            names_from=_GET,
            deserialize=True,
        ),
        Kind(
            "metrics",
            "metric",
            "custom metric",
            "a keras.metrics.Metric or a function (y_true, y_pred)",
            module="metrics",
            base="metrics.Metric",
            accepts_functions=True,
            parameters=("metrics", "weighted_metrics"),
            names_from=_GET,
            deserialize=True,
        ),
        Kind(
            "callbacks",
            "callback",
            "custom callback",
            "a keras.callbacks.Callback",
            module="callbacks",
            base="callbacks.Callback",
            parameters=("callbacks",),
            code_running=frozenset({"LambdaCallback", "RemoteMonitor"}),
            skip=("CallbackList",),
            names_from="argument-free classes",  # callbacks have no keras.callbacks.get
            saved=False,  # nor from_config: they are called, and a saved model does not keep them
        ),
        Kind(
            "activations",
            "activation",
            "custom activation",
            "a function",
            module="activations",
            accepts_functions=True,
            parameters=("activation",),
            suffixes=("_activation",),
            names_from=_GET,
            objects_of="layers",  # `activation: {type: LeakyReLU, ...}` is a layer
        ),
        # A Lambda layer's function (and mask function), and its output shape: a shape or a function.
        Kind(
            "lambda functions",
            "Lambda function",
            "Lambda function",
            "a function",
            accepts_functions=True,
            arguments=("Lambda.function", "Lambda.mask"),
            code_only=True,
        ),
        Kind(
            "lambda output shapes",
            "Lambda output_shape",
            "Lambda output_shape",
            "a function (input_shape) -> output shape",
            accepts_functions=True,
            arguments=("Lambda.output_shape",),
        ),
        Kind("models", "model class", "model class", "a keras.Model subclass", base="Model"),
        Kind(
            "step",
            "train step",
            "train step",
            "a function (model, batch) -> logs",
            accepts_functions=True,
            saved=False,
        ),
        Kind(
            "test step",
            "test step",
            "test step",
            "a function (model, batch) -> logs",
            accepts_functions=True,
            saved=False,
        ),
    )
}

_BY_PARAMETER = {parameter: kind for kind in KINDS.values() for parameter in kind.parameters}
_BY_SUFFIX = {suffix: kind for kind in KINDS.values() for suffix in kind.suffixes}
_BY_ARGUMENT = {argument: kind for kind in KINDS.values() for argument in kind.arguments}


@lru_cache(maxsize=1024)
def parameter_kind(name: str, owner: str | None = None) -> Kind | None:
    """The kind a keyword's objects are (`kernel_initializer` -> initializers), from its name and,
    for keywords of one class only (`Lambda.function`), the class's name `owner`."""
    if owner is not None and f"{owner}.{name}" in _BY_ARGUMENT:
        return _BY_ARGUMENT[f"{owner}.{name}"]
    if name in _BY_PARAMETER:
        return _BY_PARAMETER[name]
    for suffix, kind in _BY_SUFFIX.items():
        if name.endswith(suffix):
            return kind
    return None


def object_kind(kind: Kind | None) -> Kind | None:
    """The kind of a `{type: ...}` object where `kind` is expected."""
    return KINDS[kind.objects_of] if kind is not None and kind.objects_of else kind


def is_keras_layer_path(kind: Kind | None, reference: str) -> bool:
    """`keras.…:Name` where a layer goes: a layer Keras defines outside `keras.layers` (ConvNeXt's
    LayerScale, in its applications package). It is Keras's code, not the user's, so it needs
    no --allow-code; the build checks that it is a `keras.Layer` subclass inside the installed Keras.
    The layers that run code (Lambda, ...) are never taken this way."""
    module, _, name = reference.partition(":")
    return (
        kind is not None
        and kind.name == "layers"
        and (module == "keras" or module.startswith("keras."))
        and name.rsplit(".", 1)[-1] not in kind.code_running
    )
