"""`kerasspec export`: a trained model as an artifact that serving stacks load, through Keras's
own `model.export` (TensorFlow SavedModel, ONNX through tf2onnx, LiteRT's .tflite).

Keras names what it exports after its own tensors (`output_0`, ONNX's `Identity:0`). So the
model is exported through a functional model of the same layers and weights whose inputs are
`keras.Input`s named as the spec names them and whose outputs are a dict keyed by the spec's
output names: the serving signature, the ONNX graph and the LiteRT signature all take those
names. That model calls the trained one with training=False, so the exported graph is the
inference graph: Keras's own export calls the model without it, and layers whose call defaults
to training=True (RandomFlip, RandomRotation, ...) would go on augmenting every request. Every
input keeps a free batch dimension; weights and arithmetic stay float32.

Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EXPORT_EXTRA_MODULES, EXPORT_INSTALL, KerasMissing, SpecError, did_you_mean

if TYPE_CHECKING:
    from .spec import Spec

Warn = Callable[[str], None]


def _ignore(_text: str) -> None:
    pass


# The formats, by the name the command takes, with the name `model.export` takes.
FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
# What each file format's file is called (a SavedModel is a directory).
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite"}
# The modules a format needs beyond the `keras` extra (LiteRT's converter is TensorFlow's own).
CONVERTERS = {"onnx": EXPORT_EXTRA_MODULES}


def choose_format(fmt: str | None, out: Path) -> str:
    """The format asked for; without --format, the one -o's extension names, else saved_model.
    An -o whose extension names another format is refused."""
    by_suffix = {suffix: name for name, suffix in SUFFIXES.items()}
    if fmt is None:
        return by_suffix.get(out.suffix.lower(), "saved_model")
    if fmt not in FORMATS:
        raise SpecError(
            None,
            f"unknown --format '{fmt}'; choose saved_model, onnx or litert{did_you_mean(fmt, FORMATS)}",
            source="--format",
            code="bad-option",
        )
    wanted = SUFFIXES.get(fmt)
    named = by_suffix.get(out.suffix.lower())
    if wanted is not None and out.suffix.lower() != wanted:
        raise SpecError(
            None,
            f"{fmt} is written as a {wanted} file; name it *{wanted}",
            source=str(out),
            code="bad-option",
        )
    if wanted is None and named is not None:
        raise SpecError(
            None,
            f"saved_model is written as a directory; {out.suffix} is the extension of {named} files",
            hint=f"pass --format {named}, or name the directory without {out.suffix}",
            source=str(out),
            code="bad-option",
        )
    return fmt


def check_target(out: Path) -> None:
    """Before any work: -o must be new, in a directory that exists."""
    if not out.parent.is_dir():
        raise SpecError(None, f"directory '{out.parent}' does not exist", source=str(out), code="no-directory")
    if out.exists() or out.is_symlink():
        raise SpecError(
            None,
            "exists; export never replaces a file or directory: remove it or choose another -o",
            source=str(out),
            code="file-exists",
        )


def require_converters(fmt: str) -> None:
    """Refuse, in one line with the install command, a format whose converter is not installed."""
    missing = [name for name in CONVERTERS.get(fmt, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise KerasMissing(missing, f"--format {fmt}", install=EXPORT_INSTALL)


def output_names(keras: Any, model: Any) -> list[str]:
    """The names a model's outputs go by in `predict`'s .npz and in exported artifacts: a dict
    output's keys, else Keras's output names; a rebuilt Sequential's one output, its last layer."""
    from .data import named_outputs

    names = [name for name, _ in named_outputs(model)]
    if len(names) == 1 and isinstance(model, keras.Sequential) and not getattr(model, "output_names", None):
        names = [model.layers[-1].name]
    return names


def input_names(spec: Spec, model: Any) -> list[str]:
    """The model's inputs by the spec's names (a sequential spec's one input: `input`, or its
    `name:`; whatever Keras named the tensor), as data and predict read them."""
    from .graph import model_inputs

    tensors = model_inputs(model)
    if spec.kind == "sequential" and len(tensors) == 1 and spec.input_names:
        return list(spec.input_names)
    return [tensor.name for tensor in tensors]


def serving_model(keras: Any, model: Any, spec: Spec) -> Any:
    """A functional model over `model` (the same layers and weights, called in inference mode)
    that takes its inputs as a dict by the spec's input names and returns a dict by its output
    names."""
    from .graph import inputs_by_name, model_inputs

    tensors = model_inputs(model)
    names = input_names(spec, model)
    inputs = {name: keras.Input(shape=tuple(t.shape)[1:], dtype=t.dtype, name=name) for name, t in zip(names, tensors)}
    if not isinstance(model, keras.Sequential) and inputs_by_name(model):
        outputs = model(inputs, training=False)
    else:
        given = list(inputs.values())
        outputs = model(given[0] if len(given) == 1 else given, training=False)
    if isinstance(outputs, dict):
        named = dict(outputs)
    else:
        values = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        named = dict(zip(output_names(keras, model), values))
    return keras.Model(inputs=inputs, outputs=named, name=model.name)


@dataclass
class Exported:
    """What `export` wrote: the format, the path, its size and the artifact's named tensors
    (name, shape with None for the free batch, dtype)."""

    fmt: str
    path: Path
    size: int
    inputs: list[tuple[str, tuple[int | None, ...], str]]
    outputs: list[tuple[str, tuple[int | None, ...], str]]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def unconverted_ops(path: Path) -> list[str]:
    """The ops of an .onnx file (subgraphs included) that no ONNX operator set defines: the
    TensorFlow ops tf2onnx could not convert (it writes them as they were, and onnxruntime
    refuses the file)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    found: set[str] = set()
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            if node.domain in ("", "ai.onnx", "ai.onnx.ml") and not onnx.defs.has(node.op_type, node.domain):
                found.add(node.op_type)
            for attribute in node.attribute:
                graphs.extend([attribute.g] if attribute.HasField("g") else [])
                graphs.extend(attribute.graphs)
    return sorted(found)


def flex_ops(path: Path) -> list[str]:
    """The TensorFlow ops a .tflite file calls through LiteRT's Flex delegate (Select TF ops),
    read from its operator table: what LiteRT's built-in ops could not express."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    codes = [model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())]
    return sorted({code.decode() for code in codes if code and code.startswith(b"Flex")})


def export_model(keras: Any, model: Any, spec: Spec, fmt: str, out: Path, *, warn: Warn = _ignore) -> Exported:
    """Write `model` as `fmt` at `out`, atomically: into a temporary sibling first, moved into
    place once complete. A converter's failure is a located error at `out` (its exception the
    cause, shown with --debug). A .tflite that needs TensorFlow ops is noted through `warn`."""
    from .builder import keras_message
    from .files import write_new_directory, write_new_file

    served = serving_model(keras, model, spec)
    # Given, not left to Keras: its ONNX path wants a model that has been called on data.
    signature = [
        {
            name: keras.InputSpec(shape=(None, *tuple(t.shape)[1:]), dtype=t.dtype, name=name)
            for name, t in served.input.items()
        }
    ]

    def failed(message: str) -> SpecError:
        hint = "the other formats may take this model" if fmt != "saved_model" else None
        return SpecError(None, f"{fmt} export failed: {message}", hint=hint, source=str(out), code="export-failed")

    def write(tmp: Path) -> None:
        tf2onnx_log = logging.getLogger("tf2onnx")
        level = tf2onnx_log.level
        try:
            with warnings.catch_warnings():
                # tf2onnx's numpy-2 patch in Keras touches `np.object` (a FutureWarning).
                warnings.simplefilter("ignore", FutureWarning)
                # It logs each op it cannot convert, with a traceback, and carries on: the
                # error below names them in one line instead.
                tf2onnx_log.setLevel(logging.CRITICAL)
                served.export(str(tmp), format=FORMATS[fmt], verbose=False, input_signature=signature)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - a layer the converter cannot express: bad input for this format
            raise failed(keras_message(exc)) from exc
        finally:
            tf2onnx_log.setLevel(level)
        left = unconverted_ops(tmp) if fmt == "onnx" else []
        if left:
            raise failed(f"tf2onnx left TensorFlow ops that ONNX has no operator for: {', '.join(left)}")

    if fmt == "saved_model":
        write_new_directory(out, write)
    else:
        write_new_file(out, write)

    needed = flex_ops(out) if fmt == "litert" else []
    if needed:
        # Keras converts with TFLITE_BUILTINS and SELECT_TF_OPS: the built-ins wherever they can,
        # TensorFlow's kernels elsewhere (a recurrent layer's loop over a free batch dimension).
        warn(
            f"{out}: note: it calls TensorFlow ops that LiteRT's built-in set lacks ({', '.join(needed)}), so it "
            "runs only where the Flex delegate is linked in (Android's tensorflow-lite-select-tf-ops, a LiteRT "
            "build with Select TF ops); the ai-edge-litert interpreter alone cannot run it"
        )

    def described(tensors: dict[str, Any]) -> list[tuple[str, tuple[int | None, ...], str]]:
        return [(name, tuple(t.shape), str(t.dtype)) for name, t in tensors.items()]

    return Exported(fmt, out, _size(out), described(served.input), described(served.output))
