"""fit/evaluate/predict data from an image or text folder, through Keras's own
`keras.utils.image_dataset_from_directory` / `text_dataset_from_directory`.

The utilities stream: they list the files and decode each batch as it is needed, so memory does
not grow with the folder. kerasspec asks them for rows (`batch_size=None`), takes the first
`data.samples` rows when given, and batches with `train.batch_size`. The spec's one input takes
the images (or strings) and its one output the labels, whose encoding follows the loss:
`binary` for binary crossentropy, `int` for the sparse categorical kind, `categorical` otherwise
(a regression loss on one unit gets 0/1). `train.validation_split` is the utility's own
`validation_split` with `subset="both"` and the seed, so the held-out files are the same in
every run with that seed. Training shuffles (the utility's seeded file order and its shuffle
buffer); evaluate reads the same seeded order; predict reads the files in sorted order.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .builder import Built, keras_message
from .data import named_outputs, plan_columns, structure
from .errors import SpecError
from .folders import FORMATS, Folder, FolderIndex, data_folder, folder_files, index_folder
from .graph import model_inputs
from .loader import PMap
from .resolve import plain

if TYPE_CHECKING:
    from .runner import DataSettings
    from .spec import Spec

# What a target's inferred distribution (`data.target_distribution`) makes of the labels.
LABEL_MODES = {"binary": "binary", "integers": "int", "onehot": "categorical"}
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fits(wanted: tuple, given: tuple) -> bool:
    return len(wanted) == len(given) and all(w is None or w == g for w, g in zip(wanted, given))


def _image_shape(folder: Folder) -> tuple[tuple[int, ...], str]:
    """The shape of one image the folder yields, and how the spec's settings make it."""
    settings = folder.settings
    size = settings.get("image_size", [256, 256])
    height, width = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    color = str(settings.get("color_mode", "rgb"))
    channels = CHANNELS.get(color, 3)
    first = str(settings.get("data_format") or "channels_last") == "channels_first"
    shape = (channels, height, width) if first else (height, width, channels)
    return shape, f"image_size [{height}, {width}], color_mode {color}"


def check_input(folder: Folder, data: PMap, tensor: Any, name: str) -> None:
    """The one input takes what the folder yields: images of the folder's size and channels, or
    one string per text file."""
    wanted = tuple(tensor.shape)[1:]
    dtype = str(tensor.dtype)
    where = data.key_mark(folder.kind)
    if folder.kind == "text":
        if dtype != "string":
            raise SpecError(
                where,
                f"a text folder yields one string per file, but input '{name}' takes {dtype} {_shape(wanted)}",
                hint="give the input `dtype: string` and shape [1] (a TextVectorization or StringLookup after it)",
                code="data-shape",
            )
        if wanted not in ((), (1,), (None,)):
            raise SpecError(
                where,
                f"a text folder yields one string per file, but input '{name}' takes {_shape(wanted)}",
                hint="give the input shape [1]",
                code="data-shape",
            )
        return
    given, how = _image_shape(folder)
    if dtype == "string" or not _fits(wanted, given):
        settings = folder.settings
        takes = f"{dtype} {_shape(wanted)}" if dtype == "string" else _shape(wanted)
        hint, key = None, "image_size"
        if len(wanted) == 3 and dtype != "string" and None not in wanted:
            hint, key = _image_settings_for(settings, wanted)
        mark = settings.value_mark(key) if key in settings else where
        raise SpecError(
            mark,
            f"the image folder yields images of shape {_shape(given)} ({how}), but input '{name}' takes {takes}",
            hint=hint,
            code="data-shape",
        )


def _image_settings_for(settings: PMap, wanted: tuple) -> tuple[str | None, str]:
    """The folder settings that would yield images of the `wanted` shape, as a hint, and the
    first key of them to point at."""
    first = str(settings.get("data_format") or "channels_last") == "channels_first"
    colors = {v: k for k, v in CHANNELS.items()}
    for layout_first in (first, not first):  # the input's layout, if its channels say so
        channels, height, width = wanted if layout_first else (wanted[2], wanted[0], wanted[1])
        if int(channels) in colors:
            break
    else:
        return None, "image_size"
    size = settings.get("image_size", [256, 256])
    current = [int(size), int(size)] if isinstance(size, int) else [int(v) for v in size]
    changes = []
    if current != [height, width]:
        changes.append(("image_size", f"image_size: [{height}, {width}]"))
    if colors[int(channels)] != str(settings.get("color_mode", "rgb")):
        changes.append(("color_mode", f"color_mode: {colors[int(channels)]}"))
    if layout_first != first:
        changes.append(("data_format", f"data_format: {'channels_first' if layout_first else 'channels_last'}"))
    if not changes:
        return None, "image_size"
    return "set " + " and ".join(text for _, text in changes), changes[0][0]


def label_mode(built: Built, folder: Folder, data: PMap, index: FolderIndex, target: Any) -> str:
    """`binary`, `int` or `categorical`, from the loss; the folder's classes must fit the output."""
    spec = built.spec
    outputs = named_outputs(built.model)
    output_name, output = outputs[0]
    if type(built.model).__name__ == "Sequential" and built.model.layers:  # names no outputs: its last layer's
        output_name = built.model.layers[-1].name
    units = int(tuple(output.shape)[-1] or 0) if tuple(output.shape)[1:] else 1
    mode = LABEL_MODES.get(target.distribution["distribution"], "binary" if units == 1 else "categorical")
    classes = index.classes or []
    where = data.key_mark(folder.kind)
    if len(classes) < 2:
        raise SpecError(
            folder.mark,
            f"'{folder.written}' has {len(classes)} class{'' if len(classes) == 1 else 'es'}"
            + (f" ({classes[0]})" if classes else "")
            + f"; the {mode} labels the loss takes need at least two",
            hint="add a subfolder for each other class",
            code="data-folder",
        )
    loss = spec.compile.get("loss")
    shown_loss = loss.get("type") if isinstance(loss, PMap) else loss
    if mode == "binary" and (len(classes) != 2 or units != 1):
        raise SpecError(
            where,
            f"'{folder.written}' has {len(classes)} classes ({', '.join(classes)}) and output '{output_name}' "
            f"{units} unit{'s' if units != 1 else ''}; binary labels need 2 classes and 1 unit",
            hint="for more classes use sparse_categorical_crossentropy with one unit per class",
            code="data-shape",
        )
    if mode != "binary" and units != len(classes):
        raise SpecError(
            where,
            f"'{folder.written}' has {len(classes)} classes ({', '.join(classes)}), but output '{output_name}' "
            f"has {units} unit{'s' if units != 1 else ''} (loss {shown_loss})",
            hint=f"give the output {len(classes)} units, one per class",
            code="data-shape",
        )
    return mode


def folder_datasets(built: Built, keras: Any, settings: DataSettings, *, with_targets: bool) -> dict[str, Any]:
    """fit/evaluate/predict arguments for the spec's folder: `x` (and `validation_data`) as
    tf.data datasets of batches. `settings` learns how many rows are used, and a note when they
    are the first of more."""
    import tensorflow as tf

    spec, model = built.spec, built.model
    folder = data_folder(spec)
    assert folder is not None  # the caller asks only for a spec with a folder
    data = spec.tree["data"]
    where = data.key_mark(folder.kind)
    index = index_folder(folder)
    tensors = model_inputs(model)
    outputs = named_outputs(model)
    if len(tensors) != 1 or (with_targets and len(outputs) != 1):
        raise SpecError(
            where,
            f"a folder feeds one input and one output; the model has {len(tensors)} input"
            f"{'s' if len(tensors) != 1 else ''} and {len(outputs)} output{'s' if len(outputs) != 1 else ''}",
            hint="use data.file (arrays or columns by name) for several inputs or outputs",
            code="data-shape",
        )
    inputs, targets = plan_columns(spec, model)
    check_input(folder, data, tensors[0], inputs[0].name)
    labels = plain(folder.labels)
    mode = None
    if with_targets:
        if labels is None:
            raise SpecError(
                folder.settings.value_mark("labels"),
                f"`{folder.key_path}.labels` is null: the folder has no labels to train or evaluate on",
                hint="labels: inferred (one subfolder per class); null is for predict",
                code="data-folder",
            )
        mode = label_mode(built, folder, data, index, targets[0])
    shuffle = with_targets and spec.train.shuffle is not False
    validation = settings.validation_split if with_targets else 0.0
    arguments = {str(k): plain(v) for k, v in folder.settings.items() if k != "directory" and v is not None}
    if isinstance(arguments.get("image_size"), int):
        arguments["image_size"] = [arguments["image_size"]] * 2
    arguments.update(
        directory=str(folder.path),
        labels=labels if with_targets else None,
        label_mode=mode,
        batch_size=None,  # rows: kerasspec takes the first N and batches them
        shuffle=shuffle,
        seed=settings.seed,
        verbose=False,
    )
    if arguments["labels"] is None:  # Keras takes class names only with labels
        arguments.pop("class_names", None)
    if validation:
        arguments.update(validation_split=validation, subset="both")
    utility = (
        keras.utils.image_dataset_from_directory if folder.kind == "images" else keras.utils.text_dataset_from_directory
    )
    try:
        logging = keras.config.is_interactive_logging_enabled()
        keras.config.disable_interactive_logging()  # its "Using N files for training." lines (printed whatever verbose says)
        try:
            made = utility(**arguments)
        finally:
            if logging:
                keras.config.enable_interactive_logging()
    except (ValueError, TypeError) as exc:  # Keras judges the arguments it was passed on
        raise SpecError(where, f"{utility.__name__}: {keras_message(exc)}", code="data-folder") from None
    train_rows, held_out = (made, None) if not validation else made
    total = int(train_rows.cardinality()) + (int(held_out.cardinality()) if held_out is not None else 0)
    limit = settings.file_rows
    used = total if limit is None else min(int(limit), total)
    if used < total:
        settings.note = f"data: the first {used} of {total} files of {folder.written}"
    kept = training_count(used, validation if held_out is not None else 0.0)
    if kept == 0:
        raise SpecError(
            where,
            f"`train.validation_split` {validation} holds out all {used} files: none is left to train on",
            hint="lower train.validation_split, or give more files (--samples)",
            code="data-folder",
        )
    single_string = folder.kind == "text" and tuple(tensors[0].shape)[1:] != ()

    def as_model_takes(x: Any, y: Any = None) -> Any:
        if single_string:
            x = tf.expand_dims(x, -1)
        x = structure(model, inputs, {inputs[0].name: x}, outputs=False)
        if y is None:
            return x
        return x, structure(model, targets, {targets[0].name: y}, outputs=True)

    def batches(rows: Any, count: int) -> Any:
        return rows.take(count).batch(settings.batch_size).map(as_model_takes).prefetch(tf.data.AUTOTUNE)

    settings.samples = used
    # fit's shuffle=True is for arrays; the folder's dataset shuffles itself (when training)
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored")
    result = {"x": batches(train_rows, kept)}
    if held_out is not None and used > kept:
        result["validation_data"] = batches(held_out, used - kept)
    return result


def training_count(rows: int, validation_split: float) -> int:
    """How many of `rows` files the utilities train on: they hold out int(split * rows)."""
    return rows - int(validation_split * rows)


# TensorFlow's words for a file its image decoder cannot read (an image utility's folder may hold
# files whose extension says image but whose bytes do not, as keras.io's PetImages does).
_UNDECODABLE = re.compile(r"(Unknown image file format[^.\n]*\.|Input is empty\.|Invalid (?:JPEG|PNG|GIF|BMP)[^\n\]]*)")


@contextmanager
def folder_errors(spec: Spec) -> Iterator[None]:
    """A file of the spec's image folder that cannot be decoded, found while reading it (in fit,
    evaluate, predict or adapting), as one located line naming the file."""
    folder = data_folder(spec)
    try:
        yield
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - TensorFlow's error while decoding a file
        found = _UNDECODABLE.search(str(exc)) if folder is not None and folder.kind == "images" else None
        if found is None or folder is None:
            raise
        bad = first_undecodable(folder)
        where = f"'{bad}'" if bad is not None else "a file"
        raise SpecError(
            folder.mark,
            f"{where} in '{folder.written}' cannot be read as an image: {found.group(1).rstrip('.')}",
            hint="remove or convert the files that are not images (the folder is read by their extension: "
            + ", ".join(FORMATS["images"])
            + ")",
            code="data-folder",
        ) from None


def first_undecodable(folder: Folder) -> str | None:
    """The first file (in sorted order, relative to the folder) TensorFlow's decoder refuses."""
    import tensorflow as tf

    for path in folder_files(folder.path, FORMATS["images"], bool(folder.settings.get("follow_links", False))):
        try:
            tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError):
            return str(path.relative_to(folder.path))
    return None
