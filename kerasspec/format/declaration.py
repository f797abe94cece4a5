"""Every section of a spec and its keys, declared once.

A `Section` lists its `Key`s (type, default, meaning) and the `Rule`s that tie keys together.
The static checks walk these declarations (`kerasspec.check.sections`), the JSON Schema is
generated from them (`kerasspec.format.schema`), and so are the tables of the reference
document (`kerasspec.format.reference`). Keys of Keras's own functions (`model.compile`,
`model.fit`) and classes come from the catalog of the installed Keras, typed from its
signatures and docstrings (`kerasspec._catalog_gen.argument_details`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..kinds import parameter_kind
from .types import (
    Anything,
    Boolean,
    Choice,
    CodeReference,
    Integer,
    KerasObject,
    ListOf,
    MapOf,
    Nested,
    Null,
    Number,
    PerOutput,
    Suggested,
    Text,
    Union,
    ValueType,
)

if TYPE_CHECKING:
    from ..catalog import Catalog

SPEC_VERSION = 1
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed and NumPy's legacy seeding refuse more
MISSING: Any = object()
GIVEN: Any = type("Given", (), {"__repr__": lambda self: "given"})()  # a rule's value: the key is there at all


@dataclass(frozen=True)
class Key:
    name: str
    type: ValueType = field(default_factory=Anything)
    doc: str = ""
    default: Any = MISSING
    required: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class Rule:
    """When `key` has `value`, the keys in `forbids` may not be given (paths from the spec's top,
    `train.step`), or, with `allows`, only those keys of `key`'s section may."""

    key: str
    value: Any  # GIVEN: whatever the key holds (keys that exclude each other)
    message: str  # formatted with {key} (the offending key's path)
    hint: str
    forbids: tuple[str, ...] = ()
    allows: tuple[str, ...] | None = None

    def applies(self, value: Any) -> bool:
        return value is not None if self.value is GIVEN else value == self.value


@dataclass(frozen=True)
class Section:
    """A mapping of settings. `label` prefixes key paths in messages (`data.samples`); `noun`
    names its keys in "unknown ... key" messages; `catalog_keys` adds keys read from the
    installed Keras (the arguments of `model.compile` / `model.fit`)."""

    label: str
    doc: str
    keys: tuple[Key, ...]
    noun: str  # what an unknown key is called: "unknown data key 'x'"
    listing: str = ""  # what heads the list of known keys in the hint; "<noun>s" when empty
    catalog_keys: Callable[[Catalog], dict[str, Key]] | None = None
    rules: tuple[Rule, ...] = ()
    ref: str = ""  # its name among the schema's definitions; the label when empty
    set_elsewhere: dict[str, str] = field(default_factory=dict)  # key -> where the spec says it instead

    def __post_init__(self) -> None:
        object.__setattr__(self, "listing", self.listing or self.noun + "s")
        object.__setattr__(self, "ref", self.ref or self.label)

    def all_keys(self, catalog: Catalog | None) -> dict[str, Key]:
        found = dict(self.catalog_keys(catalog)) if self.catalog_keys and catalog is not None else {}
        found.update({key.name: key for key in self.keys})
        return found


_JSON_TYPES: dict[str, ValueType] = {
    "number": Number(),
    "boolean": Boolean(),
    "string": Text(),
    "array": ListOf(Anything()),
    "object": MapOf(Anything()),
    "null": Null(),
}


def argument_type(name: str, details: dict[str, Any], owner: str | None = None) -> ValueType:
    """The value type of one Keras argument (of the class `owner`): a Keras object where the
    parameter takes one (`kernel_initializer`), a reference to user code where it takes only
    code (`Lambda.function`), else what the catalog read from the signature and docstring (or
    code besides, `Lambda.output_shape`)."""
    kind = parameter_kind(name, owner)
    if kind is not None and kind.code_only:
        return CodeReference(kind.noun)
    if kind is not None and kind.module is not None:
        return KerasObject(kind.name)
    options: list[ValueType] = []
    doc = details.get("doc", "")
    for json_type in details.get("types", ()):
        if json_type == "integer":  # Keras stores them as int64: anything larger is never meant
            options.append(Integer(details.get("minimum", -(2**63)), 2**63 - 1))
        elif json_type == "string" and details.get("enum"):
            # "either X or Y" is the whole choice; "one of X, Y, Z" lists are often incomplete
            # (UpSampling2D takes `area`, which its docstring leaves out): suggestions only.
            values = tuple(details["enum"])
            options.append(Choice(values, "case-insensitive" in doc) if "either" in doc else Suggested(values))
        else:
            options.append(_JSON_TYPES[json_type])
    if any(isinstance(o, (Integer, Number)) for o in options) and "array" not in details.get("types", ()):
        # A number in Keras's words is often a per-axis or per-channel list too (`Rescaling.scale`,
        # `MaxNorm.axis`); a list is left for Keras to judge when the model is built.
        options.append(_JSON_TYPES["array"])
    if kind is not None:  # a value of its own, or user code
        options = [CodeReference(kind.noun), *(options or [Anything()])]
    if not options:
        return Anything()
    return options[0] if len(options) == 1 else Union(tuple(options))


def keras_argument(catalog_info: Any, name: str) -> Key:
    """A key for one argument of a Keras function or class, typed from the catalog."""
    details = catalog_info.details.get(name, {}) if catalog_info is not None else {}
    return Key(name, argument_type(name, details), details.get("doc", ""), details.get("default", MISSING))


Seed = Integer(0, MAX_SEED)
Positive = Integer(1, 2**31 - 1)  # counts Keras and NumPy take as int32 (rows, epochs, batch sizes)

# --- inputs -------------------------------------------------------------------------------------

DIMENSION = Union((Integer(1), Null()))
INPUT = Section(
    label="input",
    doc="One input of the model: its shape (without the batch dimension) and dtype.",
    noun="input key",
    keys=(
        Key(
            "shape",
            Union((ListOf(DIMENSION), Integer(1))),
            "the sizes of the dimensions after the batch one (null: any size), such as [28, 28, 1]",
            required=True,
        ),
        Key("dtype", Text(), "the input's dtype (float32, int64, string, ...)", "float32"),
        Key("sparse", Boolean(), "a sparse tensor", False),
        Key("ragged", Boolean(), "a ragged tensor", False),
        Key("batch_size", Positive, "a fixed batch size"),
        Key("optional", Boolean(), "the input may be None", False),
        Key("name", Text(), "the input's name (sequential specs; functional inputs are named by their key)"),
    ),
)
SHAPE_SHORTHAND = Union((ListOf(DIMENSION), Integer(1)))

# --- compile --------------------------------------------------------------------------------------


# A metric, a list of them for every output, or (in output order) one list per output.
METRICS = Union((KerasObject("metrics"), ListOf(Union((KerasObject("metrics"), ListOf(KerasObject("metrics")))))))


def _compile_keys(catalog: Catalog) -> dict[str, Key]:
    info = catalog.functions["compile"]
    return {name: keras_argument(info, name) for name in info.params}


COMPILE = Section(
    label="compile",
    doc="Arguments of `model.compile`; any argument the installed Keras takes is accepted.",
    noun="compile argument",
    listing="model.compile takes",
    catalog_keys=_compile_keys,
    keys=(
        Key("optimizer", KerasObject("optimizers"), "the optimizer", "rmsprop"),
        Key("loss", PerOutput(KerasObject("losses")), "the loss of each output"),
        Key("metrics", PerOutput(METRICS), "metrics per output"),
        Key("loss_weights", PerOutput(Number()), "a weight per output's loss"),
        Key(
            "weighted_metrics",
            PerOutput(METRICS),
            "metrics weighted by sample_weight or class_weight",
        ),
    ),
)
PER_OUTPUT_COMPILE_KEYS = ("loss", "metrics", "loss_weights", "weighted_metrics")

# --- data -----------------------------------------------------------------------------------------

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "binary": (),
    "integers": ("low", "high"),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "onehot": (),
    "constant": ("value",),
    "choice": ("values",),
}
DISTRIBUTION_DOCS = {
    "binary": "0 or 1",
    "integers": "whole numbers in [low, high)",
    "uniform": "floats in [low, high)",
    "normal": "floats from a normal distribution",
    "onehot": "one class per row along the last axis",
    "constant": "every value the same",
    "choice": "one of `values` (text or numbers; a string input's values are text)",
}
CHOICE_VALUES = ListOf(Union((Text(), Number())), min_items=1)
DISTRIBUTION = Section(
    label="distribution",
    doc="How synthetic values of one input or target are drawn.",
    noun="distribution key",
    keys=(
        Key("distribution", Choice(tuple(DISTRIBUTIONS)), "the distribution's name", required=True),
        Key("dtype", Text(), "the dtype of the drawn values"),
        *(
            Key(
                p,
                CHOICE_VALUES if p == "values" else Number(),
                f"parameter of {', '.join(d for d in DISTRIBUTIONS if p in DISTRIBUTIONS[d])}",
            )
            for p in dict.fromkeys(p for params in DISTRIBUTIONS.values() for p in params)
        ),
    ),
)
# Per input, also what its null dimensions become; the distribution is inferred when not named.
INPUT_DATA = Section(
    label="input data",
    ref="input_data",
    doc="How synthetic values of one input are drawn, and what its null dimensions become.",
    noun="input data key",
    keys=(
        Key("distribution", Choice(tuple(DISTRIBUTIONS)), "the distribution's name (inferred when absent)"),
        *DISTRIBUTION.keys[1:],
        Key(
            "sequence_length", Positive, "what this input's null dimensions become (`data.sequence_length` when absent)"
        ),
    ),
)
# Arguments of Keras's directory utilities that kerasspec sets itself: from `train` / `data`
# (batch_size, seed, shuffle, validation_split), from the loss (label_mode), or always (a
# tf.data dataset, quietly).
FOLDER_SET_BY_KERASSPEC = {
    "batch_size": "rows are batched by `train.batch_size`",
    "seed": "files are shuffled and split with `data.seed` (else `train.seed`)",
    "shuffle": "training shuffles the files as `train.shuffle` says",
    "validation_split": "`train.validation_split` holds files out",
    "subset": "`train.validation_split` holds files out",
    "label_mode": "the labels follow the loss (binary crossentropy: binary, sparse categorical: int, else categorical)",
    "format": "kerasspec reads the folder as a tf.data dataset",
    "verbose": "kerasspec reads the folder quietly",
}


def _folder_section(label: str, utility: str, what: str, *keys: Key) -> Section:
    """`data.images` / `data.text`: the declared keys, and the rest of the utility's arguments
    (but those kerasspec sets) from the catalog."""

    def passed_on(catalog: Catalog) -> dict[str, Key]:
        info = catalog.functions.get(utility)
        if info is None:  # a catalog from before the utilities were listed: the declared keys only
            return {}
        return {name: keras_argument(info, name) for name in info.params if name not in FOLDER_SET_BY_KERASSPEC}

    return Section(
        label=label,
        ref=f"{what.split()[0]}_folder",
        doc=f"{what} read by `keras.utils.{utility}`; its other arguments pass through.",
        noun=f"{label} key",
        listing=f"{utility} arguments kerasspec passes on",
        catalog_keys=passed_on,
        set_elsewhere=FOLDER_SET_BY_KERASSPEC,
        keys=(
            Key(
                "directory",
                Text(),
                "the folder, relative to this file: one subfolder per class (its name is the class)",
                required=True,
            ),
            Key(
                "labels",
                Union((Choice(("inferred",)), Null(), ListOf(Integer(0)))),
                "inferred (from the subfolders), null (no labels: predict only), or one label per file",
                "inferred",
            ),
            Key("class_names", ListOf(Text(), min_items=1), "the subfolders to read, in label order (all when absent)"),
            Key("follow_links", Boolean(), "visit subfolders that are symbolic links", False),
            *keys,
        ),
    )


IMAGE_FOLDER = _folder_section(
    "images",
    "image_dataset_from_directory",
    "image folder",
    Key(
        "image_size",
        Union((ListOf(Integer(1), min_items=2), Integer(1))),
        "[height, width] every image is resized to; the input's shape must be [height, width, channels]",
        [256, 256],
    ),
    Key("color_mode", Choice(("grayscale", "rgb", "rgba")), "1, 3 or 4 channels", "rgb"),
)
TEXT_FOLDER = _folder_section(
    "text",
    "text_dataset_from_directory",
    "text folder (.txt files)",
    Key("max_length", Positive, "keep at most this many characters of each text"),
)
FOLDER_SECTIONS = {"images": IMAGE_FOLDER, "text": TEXT_FOLDER}
DATA = Section(
    label="data",
    doc="Where `train`, `evaluate` and `predict` get their data: synthetic unless a file or folder is named.",
    noun="data key",
    keys=(
        Key(
            "samples",
            Positive,
            "rows of synthetic data; with a file or folder, its first N rows (all when absent)",
            1280,
        ),
        Key("seed", Seed, "same seed, same data; `train.seed` when absent"),
        Key("sequence_length", Positive, "what each null dimension becomes in synthetic data", 16),
        Key(
            "inputs",
            MapOf(Nested(INPUT_DATA)),
            "per input: how its values are drawn (inferred when absent), its own `sequence_length`",
        ),
        Key("targets", MapOf(Nested(DISTRIBUTION)), "per output: how its targets are drawn (inferred when absent)"),
        Key(
            "file",
            Text("a .npz, .csv or .tsv file name", r"\.(npz|csv|tsv)$"),
            "real data: a .npz (arrays by name) or .csv/.tsv (columns by name, strings allowed) file",
        ),
        Key("delimiter", Text("one character", r"^.$"), "the field delimiter of a .csv/.tsv file (`,` and tab)"),
        Key(
            "sample_weight",
            Union((Text(), MapOf(Text()))),
            "the array or column of `file` weighing each row's loss; per output: {output: column}",
        ),
        Key(
            "images",
            Nested(IMAGE_FOLDER),
            "real data: an image folder (one subfolder per class) for the one input; labels follow the loss",
        ),
        Key(
            "text",
            Nested(TEXT_FOLDER),
            "real data: a folder of .txt files (one subfolder per class) for the one string input",
        ),
    ),
    rules=(
        Rule(
            "images",
            GIVEN,
            "`{key}` and `data.images` both say where the data is; give one",
            "an image folder, a text folder and a file exclude each other",
            forbids=("data.text", "data.file"),
        ),
        Rule(
            "text",
            GIVEN,
            "`{key}` and `data.text` both say where the data is; give one",
            "an image folder, a text folder and a file exclude each other",
            forbids=("data.file",),
        ),
    ),
)

# --- train ----------------------------------------------------------------------------------------

LOOPS = ("fit", "custom")
FIT_EXCLUDED = ("x", "y", "validation_data", "callbacks")  # data comes from `data:`
TRAIN_OWN_KEYS = ("loop", "step", "test_step", "seed", "callbacks", "distribute")  # kerasspec's own; the rest: fit
CUSTOM_LOOP_KEYS = (
    "epochs",
    "batch_size",
    "validation_split",
    "shuffle",
    "loop",
    "seed",
    "callbacks",
    "test_step",
    "distribute",
)
STRATEGIES = ("none", "mirrored", "multi_worker")  # tf.distribute: one device, MirroredStrategy, MultiWorkerMirrored
DISTRIBUTE = Section(
    label="distribute",
    doc="Training on several devices or machines through tf.distribute; `batch_size` is the global batch.",
    noun="distribute key",
    keys=(
        Key(
            "strategy",
            Choice(STRATEGIES),
            "none (one device), mirrored (this machine's devices), multi_worker (the cluster in TF_CONFIG)",
            "none",
        ),
        Key(
            "devices",
            ListOf(Text(), min_items=1),
            "mirrored: the devices to train on (`GPU:0`, `CPU:1`); all local GPUs, else all CPUs, when absent",
        ),
    ),
    rules=tuple(  # `strategy` as written, or its default
        Rule(
            "strategy",
            strategy,
            f"`train.distribute.devices` lists this machine's devices for the mirrored strategy, not for {strategy}",
            "remove `devices`, or use `strategy: mirrored`",
            forbids=("distribute.devices",),
        )
        for strategy in STRATEGIES
        if strategy != "mirrored"
    ),
)


def _fit_keys(catalog: Catalog) -> dict[str, Key]:
    info = catalog.functions["fit"]
    return {name: keras_argument(info, name) for name in info.params if name not in FIT_EXCLUDED}


TRAIN = Section(
    label="train",
    doc="The training run: `model.fit`'s arguments (but its data), the loop, the seed, callbacks.",
    noun="train key",
    catalog_keys=_fit_keys,
    keys=(
        Key("epochs", Positive, "passes over the data", 1),
        Key("batch_size", Positive, "rows per step", 32),
        Key("validation_split", Number(0, 1), "the fraction of rows held out for validation", 0.0),
        Key(
            "shuffle",
            Union((Boolean(), Choice(("batch",)))),
            "shuffle the rows before each epoch (batch: in batch-sized chunks)",
            True,
        ),
        Key("loop", Choice(LOOPS), "fit (model.fit) or custom (a GradientTape loop)", "fit"),
        Key("step", CodeReference("train step"), "a user's train step used inside fit (--allow-code)"),
        Key(
            "test_step",
            CodeReference("test step"),
            "a user's test step (model, batch) -> logs, used by evaluate and validation, in both loops (--allow-code)",
        ),
        Key("seed", Seed, "seeds data, weights and shuffling", 0),
        Key("callbacks", ListOf(KerasObject("callbacks")), "keras.callbacks objects"),
        Key("distribute", Nested(DISTRIBUTE), "train on several devices or machines (tf.distribute)"),
    ),
    rules=(
        Rule(
            "loop",
            "custom",
            "`{key}` replaces the train step inside fit; it cannot be combined with the custom loop",
            "remove `step:`, or train with `loop: fit`",
            forbids=("train.step",),
        ),
        Rule(
            "loop",
            "custom",
            "`{key}` is a model.fit argument; the custom loop does not take it",
            "the custom loop takes epochs, batch_size, validation_split, shuffle, seed, callbacks and test_step; "
            "use `loop: fit` for the rest",
            allows=(*CUSTOM_LOOP_KEYS, "step"),  # `step` has its own rule above
        ),
    ),
)

# --- blocks ---------------------------------------------------------------------------------------

# A name written in a spec (an entry's, a block's use): `.` joins the names of a block's expanded
# entries (`d1.conv`), `/` Keras refuses, `[i]` picks one of several outputs.
ENTRY_NAME_PATTERN = r"^[^/\[\]\s.]+$"
BLOCK_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"  # a block's name, and its parameters' (as vars')
BLOCK = Section(
    label="block",
    doc="Entries written once and used by name: a use expands them in place, named `<use>.<entry>`.",
    noun="block key",
    keys=(
        Key(
            "params",
            MapOf(Anything()),
            "parameter name -> default (null: each use gives it); ${name} in the block's entries",
        ),
        Key(
            "layers",
            ListOf(Anything(), min_items=1),
            "the block's entries, as in `layers:`; `in` is the block's input",
            required=True,
        ),
        Key("output", Text(pattern=ENTRY_NAME_PATTERN), "the entry whose output is the block's; the last when absent"),
    ),
)

# --- the top level --------------------------------------------------------------------------------

KINDS = ("sequential", "functional", "subclass")
MODEL_NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
TOP_LEVEL = Section(
    label="",
    ref="spec",
    doc="A spec file.",
    noun="top-level key",
    keys=(
        Key("version", Choice((SPEC_VERSION,)), "the format version", SPEC_VERSION),
        Key("name", Text(pattern=MODEL_NAME_PATTERN), "the model's name, given to Keras", required=True),
        Key("description", Text(), "free text"),
        Key("kind", Choice(KINDS), "inferred when absent: functional with inputs/outputs, else sequential"),
        Key("vars", MapOf(Anything()), "named values; ${name} in any value below is replaced by it"),
        Key("input", Union((Nested(INPUT), SHAPE_SHORTHAND)), "sequential only: the one input"),
        Key("inputs", MapOf(Union((Nested(INPUT), SHAPE_SHORTHAND))), "functional: input name -> input"),
        Key("layers", ListOf(Anything(), min_items=1), "the layer entries, in order"),
        Key("blocks", MapOf(Nested(BLOCK)), "block name -> entries written once, used in `layers` by `block: name`"),
        Key("class", CodeReference("class"), "subclass only: a keras.Model subclass (--allow-code)"),
        Key(
            "code_dir",
            Text(),
            "where user modules (--allow-code) are imported from, relative to this file; its own directory when absent",
        ),
        Key("args", MapOf(Anything()), "subclass only: the class's constructor keywords"),
        Key("outputs", Anything(), "functional: a reference, a list of them, or output name -> reference"),
        Key("compile", Nested(COMPILE), "arguments of model.compile"),
        Key("data", Nested(DATA), "where train, evaluate and predict get data"),
        Key("train", Nested(TRAIN), "the training run"),
    ),
    rules=(  # `kind` as written, or as inferred
        Rule(
            "kind",
            "sequential",
            "a sequential spec has no `{key}`",
            "a sequential model has one `input:`; use `kind: functional` for named inputs and outputs",
            forbids=("inputs", "outputs"),
        ),
        Rule(
            "kind",
            "functional",
            "`{key}` is for sequential specs; a functional spec declares `inputs:`",
            "inputs: {features: {shape: [10]}}",
            forbids=("input",),
        ),
        Rule(
            "kind",
            "subclass",
            "a subclass spec has no `{key}`: the class defines the model",
            "",
            ("layers", "outputs", "blocks"),
        ),
    ),
)
TOP_LEVEL_KEYS = tuple(key.name for key in TOP_LEVEL.keys)

# --- layer entries --------------------------------------------------------------------------------

# A reference: a name, or name[i] for one of a layer's several outputs (the schema drops the group names).
REFERENCE = r"^(?P<name>[^\[\]\s]+)(?:\[(?P<index>\d+)\])?$"
REFERENCE_PATTERN = re.sub(r"\?P<\w+>", "", REFERENCE)
REFERENCES = Union((Text(pattern=REFERENCE_PATTERN), ListOf(Text(pattern=REFERENCE_PATTERN))))
ADAPT = Section(
    label="adapt",
    doc="How a preprocessing layer learns from the training data before training (`adapt: true`).",
    noun="adapt key",
    keys=(Key("samples", Positive, "adapt on the first N training rows; all of them when absent"),),
)
ENTRY_KEYS = (
    Key("type", Text(), "a class in keras.layers, or package.module:Class (--allow-code)"),
    Key("name", Text(pattern=ENTRY_NAME_PATTERN), "the layer's name; needed where another entry refers to it"),
    Key(
        "inputs",
        Union((REFERENCES, MapOf(REFERENCES))),
        "functional: what the layer is called on (a reference, a list, or call keyword -> reference)",
    ),
    Key("reuse", Text(pattern=r"^[^\[\]\s]+$"), "call the very same layer as the entry of that name"),
    Key(
        "spec",
        Union((Text(pattern=r"\.ya?ml$"), MapOf(Anything()))),
        "a spec whose model is used as a layer: a file relative to this one, or a spec written in place",
    ),
    Key("call", MapOf(Anything()), "call keywords that are not references ({training: false})"),
    Key("op", Text(), "a function of keras.ops (add, mean, tensordot, image.resize) called in the graph"),
    Key(
        "layers", ListOf(Anything(), min_items=1), "with `type: Sequential`: the layers of a sequential model in place"
    ),
    Key(
        "block",
        Text(pattern=BLOCK_NAME_PATTERN),
        "a block of `blocks:`, expanded here (needs `name`; its other keys are the block's parameters)",
    ),
    Key(
        "adapt",
        Union((Boolean(), Nested(ADAPT))),
        "a layer with adapt() (Normalization, StringLookup, TextVectorization, ...) learns from the training "
        "data on what it is called on, before training",
    ),
)
RESERVED_ENTRY_KEYS = tuple(key.name for key in ENTRY_KEYS)
OP_ENTRY_KEYS = ("op", "name", "inputs")  # an `op:` entry's own keys; the rest are the function's keywords
# What an `op:` entry's `inputs` holds: references and constants, by position (a list) or by name.
_OP_VALUE = Union((Text(pattern=REFERENCE_PATTERN), Number(), Boolean(), Null()))
_OP_ARGUMENT = Union((_OP_VALUE, ListOf(_OP_VALUE)))
OP_INPUTS = Key(
    "inputs",
    Union((_OP_ARGUMENT, ListOf(_OP_ARGUMENT, min_items=1), MapOf(_OP_ARGUMENT))),
    "the function's arguments: a list by position, a mapping by name (references or constants)",
)

SECTIONS = (
    TOP_LEVEL,
    INPUT,
    COMPILE,
    DATA,
    DISTRIBUTION,
    INPUT_DATA,
    IMAGE_FOLDER,
    TEXT_FOLDER,
    DISTRIBUTE,
    TRAIN,
    BLOCK,
    ADAPT,
)
