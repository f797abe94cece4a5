"""A checked spec: the data model every stage after the checker reads.

`kerasspec.check.load()` makes a `Spec` from a file; nothing here reads YAML or imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Mark
from .format.declaration import SPEC_VERSION
from .loader import PMap
from .settings import Compile, Data, Train


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


CallInputs = Ref | list[Ref] | dict[str, Ref | list[Ref]]


class _EntryAbove:
    """What an `op:` entry without `inputs` is called on: the output of the entry above."""

    def __repr__(self) -> str:
        return "ENTRY_ABOVE"


ENTRY_ABOVE = _EntryAbove()
# An argument of an `op:` entry: a reference, a constant (a number, true/false, null), or a list of them.
OpArgument = Any


@dataclass
class LayerEntry:
    index: int
    mark: Mark
    raw: PMap
    type: str | None = None
    name: str | None = None
    inputs: CallInputs | None = None
    reuse: Ref | None = None
    spec: Spec | None = None
    call: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    # an `op:` entry: the keras.ops function, and its arguments bound to its parameters
    # (name -> OpArgument; `varargs`: what goes to its *args)
    op: str | None = None
    op_arguments: dict[str, OpArgument] = field(default_factory=dict)
    op_varargs: list[OpArgument] = field(default_factory=list)
    # block inputs bound before this entry is called (`d1.in`, see `check.blocks`): to the
    # references of the block use's `inputs`, or (None) to what the entry above gave
    block_inputs: list[tuple[str, CallInputs | None]] = field(default_factory=list)
    # `adapt:` learns from the training data before the layer is called: True (all rows) or a row count
    adapt: bool | int = False

    def describe(self) -> str:
        noun = "op" if self.op is not None else "layer"
        return f"{noun} '{self.name}'" if self.name else f"layers[{self.index}]"


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
    block_outputs: dict[str, str] = field(default_factory=dict)  # a block use -> its output entry (`d1` -> `d1.out`)
    class_ref: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    # a nested model in `args`: where it is written -> (its model's name, its spec)
    arg_models: dict[Mark, tuple[str, Spec]] = field(default_factory=dict)
    compile: Compile = field(default_factory=Compile.empty)
    data: Data = field(default_factory=Data.empty)
    train: Train = field(default_factory=Train.empty)
    allow_code: bool = False
    code_dir: Path | None = None  # `code_dir:` made a path; None: beside the spec's file

    @property
    def code_directory(self) -> Path:
        """The directory the spec's user modules are imported from."""
        return self.code_dir if self.code_dir is not None else self.path.parent

    @property
    def output_names(self) -> list[str] | None:
        """Output names as Keras will call them, when they can be known without building."""
        if self.kind == "functional":
            return [name for name, _ in self.outputs]
        if self.kind == "sequential" and self.layers and self.layers[-1].name:
            return [self.layers[-1].name]
        return None

    @property
    def input_names(self) -> list[str]:
        if self.kind == "sequential":
            return [self.input.name] if self.input else []
        return list(self.inputs)

    def included(self) -> list[Spec]:
        """The specs whose models this one's model holds: layer entries' and `args`' nested models."""
        return [entry.spec for entry in self.layers if entry.spec is not None] + [
            nested for _, nested in self.arg_models.values()
        ]

    def mark_of(self, key: str, *, value: bool = False) -> Mark:
        """Where a top-level key (or its value) was written; the file's start when it was not."""
        if key not in self.tree:
            return self.tree.mark
        return self.tree.value_mark(key) if value else self.tree.key_mark(key)
