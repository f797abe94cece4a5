"""train / evaluate / predict with Keras's built-in loop, and the run directory they write.

A run directory holds model.weights.h5, history.json, metrics.json, spec.resolved.yaml (the
spec with the command-line options written in) and history.png, and model.keras when Keras can
both save and load the model. It must be new (or empty); every file is written atomically, so
an interrupted run leaves no half-written model.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import data as data_module
from . import distribute
from ._keras import keep_step_logs
from .builder import DEFAULT_MAX_PARAMS, Built, build, convert, keras_message, user_code_error
from .errors import Mark, SpecError, SpecErrors
from .files import write_new_file, write_new_text
from .folders import check_folder, data_folder
from .format.declaration import LOOPS, TRAIN_OWN_KEYS
from .graph import outputs_are_dict
from .kinds import KINDS
from .loader import PList, PMap
from .resolve import plain, resolved_text
from .spec import Spec
from .usercode import SavedUserCode, check_step_signature, import_object
from .walker import walk

if TYPE_CHECKING:
    from .adapt import Adapter, TrainingRows

# Callback arguments that name files: kept inside the run directory.
CALLBACK_PATH_ARGUMENTS = ("filename", "filepath", "log_dir", "backup_dir")


def quiet_structure_warning() -> None:
    """Data goes in by input name (as the seed's second form does); Keras then warns that the
    dict does not match its list of inputs, although it maps names correctly. Say nothing."""
    import warnings

    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match the expected structure")


def new_run_directory(spec: Spec, out: Path | None) -> Path:
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{spec.name}-{stamp}"
        suffix = 2
        while out.exists():
            out = Path("runs") / f"{spec.name}-{stamp}-{suffix}"
            suffix += 1
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError(
            None,
            "run directory exists and is not empty; a run never overwrites an earlier run's files",
            hint="choose another --out, or leave it out for a new runs/<name>-<time>/",
            source=str(out),
            code="run-exists",
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, a read-only place
        raise SpecError(
            None, f"cannot create the run directory: {exc.strerror or exc}", source=str(out), code="run-dir"
        ) from None
    return out


@contextmanager
def run_directory(spec: Spec, out: Path | None) -> Iterator[Path]:
    """A new run directory; if the run fails before writing anything into it (a callback that
    cannot be made, say), the directory made for it is removed again."""
    made = out is None or not out.exists()
    run_dir = new_run_directory(spec, out)
    try:
        yield run_dir
    except BaseException:
        if made and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise


def check_output_names(spec: Spec, names: list[str]) -> None:
    """Mappings by output name in `compile` and `data.targets` must name real outputs."""
    from .check.sections import unknown_name_keys
    from .format.declaration import PER_OUTPUT_COMPILE_KEYS

    sections = [(f"compile.{key}", spec.compile.get(key)) for key in PER_OUTPUT_COMPILE_KEYS]
    sections.append(("data.targets", spec.data.targets))
    errors = [
        error
        for label, mapping in sections
        if isinstance(mapping, PMap) and "type" not in mapping
        for error in unknown_name_keys(mapping, names, label)
    ]
    if errors:
        raise SpecErrors(errors)


def compile_model(built: Built, keras: Any) -> None:
    spec = built.spec
    if not spec.compile:
        raise SpecError(
            spec.tree.mark,
            "the spec has no `compile` section, so the model cannot be trained or evaluated",
            hint="add e.g. `compile: {optimizer: adam, loss: mean_squared_error}`",
            code="no-compile",
        )
    if spec.output_names is None:  # a subclassed model: its output names are known only now
        check_output_names(spec, [name for name, _ in data_module.named_outputs(built.model)])
    kwargs = {str(k): convert(keras, spec, v, str(k)) for k, v in spec.compile.items()}
    weights = kwargs.get("loss_weights")
    if isinstance(weights, dict) and not isinstance(kwargs.get("loss"), dict) and not outputs_are_dict(built.model):
        # Keras 3.15 pairs a loss_weights mapping with a list of losses in sorted-name order,
        # not by output (score gets label's weight); a list in output order is paired right.
        kwargs["loss_weights"] = [float(weights.get(name, 1.0)) for name, _ in data_module.named_outputs(built.model)]
    try:
        built.model.compile(**kwargs)
    except Exception as exc:  # noqa: BLE001 - Keras judges the compile arguments
        raise SpecError(spec.tree.key_mark("compile"), f"compile: {keras_message(exc)}", code="keras-error") from None


def build_callbacks(spec: Spec, keras: Any, run_dir: Path) -> list[Any]:
    callbacks = spec.train.callbacks
    if not isinstance(callbacks, PList):
        return []
    result = []
    for index, item in enumerate(callbacks):
        if isinstance(item, str):
            item_map = PMap(callbacks.value_mark(index))
            item_map.put("type", item, callbacks.value_mark(index), callbacks.value_mark(index))
            item = item_map
        _require_package(item)
        item = copy.deepcopy(item)
        for key in CALLBACK_PATH_ARGUMENTS:
            if key in item and isinstance(item[key], str):
                item[key] = str(_inside(run_dir, item[key], item.value_mark(key)))
        result.append(convert(keras, spec, item, "callbacks"))
    return result


# Callbacks that need a package TensorFlow does not install itself: class -> package.
CALLBACK_PACKAGES = {"TensorBoard": "tensorboard"}


def _require_package(item: PMap) -> None:
    """A callback whose package is missing would fail inside fit, after the first epoch began;
    say so at its `type` before anything runs."""
    import importlib.util

    package = CALLBACK_PACKAGES.get(item.get("type", ""))
    if package and importlib.util.find_spec(package) is None:
        raise SpecError(
            item.value_mark("type"),
            f"the {item['type']} callback needs the '{package}' package, which is not installed",
            hint=f"pip install {package} (kerasspec's own install includes it)",
            code="missing-package",
        )


def _inside(run_dir: Path, name: str, mark: Mark) -> Path:
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise SpecError(
            mark,
            f"callback file '{name}' must be a path inside the run directory",
            hint="write a relative name such as best.keras; it is placed in the run directory",
            code="bad-path",
        )
    return run_dir / relative


def _loop_choice(spec: Spec, override: str | None) -> str:
    """`--loop` wins over `train.loop` (whose default the declaration gives)."""
    loop = override or spec.train.loop
    if loop not in LOOPS:
        raise SpecError(None, f"unknown --loop '{loop}'; use fit or custom", source="--loop", code="bad-option")
    return str(loop)


def _refuse_broken_rules(spec: Spec, loop: str) -> None:
    """The declaration's train rules for the loop chosen on the command line (static validate
    already held `train.loop` to them)."""
    from .check.sections import rule_errors
    from .format.declaration import TRAIN

    errors = rule_errors(spec.tree, TRAIN, {"loop": loop})
    if errors:
        raise SpecErrors(errors)


def chosen_loop(spec: Spec, override: str | None) -> str:
    """The loop `train` runs, held to the declaration's rules for it."""
    loop = _loop_choice(spec, override)
    _refuse_broken_rules(spec, loop)
    return loop


def evaluation_loop(spec: Spec, override: str | None) -> str:
    """`evaluate` runs the loop the spec trains with, unless `--loop` says otherwise (the train
    rules of the loop concern training only)."""
    return _loop_choice(spec, override)


@contextmanager
def nothing_to_minimize(spec: Spec) -> Iterator[None]:
    """Keras's "No loss to compute" (no `compile.loss`, no `train.step`, no layer adding a loss)
    as an error at `compile`, not an internal error."""
    try:
        yield
    except ValueError as exc:
        if "No loss to compute" not in str(exc):
            raise
        raise SpecError(
            spec.mark_of("compile"),
            "the spec has nothing to minimize: no `compile.loss`, no `train.step`, and no layer adds a loss",
            hint="add a loss to `compile`, e.g. `loss: mean_squared_error`",
            code="no-loss",
        ) from None


def check_evaluation_loss(spec: Spec, model: Any = None, what: str = "evaluate") -> None:
    """Evaluation computes the compiled loss, or runs the spec's `train.test_step`; a spec whose
    loss lives only in its `train.step` has none to compute (Keras: "No loss to compute"; the
    custom loop: a loss of 0). With the `model` to evaluate: a run trained from such a spec has
    none either, whatever `spec` says."""
    if spec.train.step is None or spec.train.test_step is not None:
        return
    hint = (
        "add the loss the step minimizes to `compile`, e.g. `loss: mean_squared_error` "
        "(the train step still does the training), or a `train.test_step: module:function` "
        "that evaluates the model and returns its logs"
    )
    if spec.compile.loss is None:
        raise SpecError(
            spec.tree.key_mark("compile"),
            f"{what} needs `compile.loss` or `train.test_step`: this spec's loss is computed only by its "
            f"train step '{spec.train.step}', which evaluation does not run",
            hint=hint,
            code="no-loss",
        )
    if model is not None and getattr(model, "loss", "") is None:
        raise SpecError(
            spec.tree.key_mark("compile"),
            "evaluate needs `compile.loss`: the model was trained from a spec without one, so it has no loss to "
            "compute",
            hint="train again from this spec, which has `compile.loss`, or add a `train.test_step`",
            code="no-loss",
        )


# The user's steps: `train.<key>` -> what messages call it; their kinds (KINDS) are named alike.
STEP_NOUNS = {"step": "train step", "test_step": "test step"}
STEP_KINDS = {"step": "step", "test_step": "test step"}


def user_step(spec: Spec, key: str) -> Callable[[Any, Any], dict[str, Any]] | None:
    """`train.step` / `train.test_step` imported (under --allow-code) and checked: called as
    step(model, batch), it must return a dict of logs. None when the spec has none."""
    value = spec.train.get(key)
    if value is None:
        return None
    noun, reference, mark = STEP_NOUNS[key], str(value), spec.train.value_mark(key)
    step = import_object(reference, mark, spec.code_directory, KINDS[STEP_KINDS[key]])
    check_step_signature(step, reference, mark, noun)

    def run(model: Any, data: Any) -> dict[str, Any]:
        try:
            logs = step(model, data)
        except Exception as exc:  # noqa: BLE001 - told apart by user_step_errors
            exc.kerasspec_step = key  # type: ignore[attr-defined]
            raise
        if not isinstance(logs, dict):
            raise SpecError(
                mark,
                f"{noun} '{reference}' returned {type(logs).__name__}; it must return a dict of logs such as "
                "{'loss': loss}",
                code="code-signature",
            )
        return logs

    return run


def install_train_step(spec: Spec, model: Any) -> None:
    """`train.step: package.module:function` becomes the model's train step inside fit, so a
    user's own update keeps Keras's callbacks and progress; `train.test_step`, its test step
    (fit's validation, evaluate). What they return is what fit and evaluate report."""
    train_step = user_step(spec, "step")
    if train_step is not None:
        model.train_step = lambda data: train_step(model, data)
    install_test_step(spec, model)
    if train_step is not None:
        keep_step_logs(model)


def install_test_step(spec: Spec, model: Any) -> None:
    """`train.test_step` as the model's test step (evaluate, and fit's validation)."""
    test_step = user_step(spec, "test_step")
    if test_step is not None:
        model.test_step = lambda data: test_step(model, data)
        keep_step_logs(model)


@dataclass
class DataSettings:
    samples: int
    batch_size: int
    seed: int
    validation_split: float
    file_rows: int | None = None  # --samples, else data.samples as written: a data file's (folder's) first rows
    note: str | None = None  # what the data turned out to be, said by the command (rows of a file)


def data_settings(spec: Spec, samples: int | None, batch_size: int | None, seed: int | None) -> DataSettings:
    """Options from the command line, else the spec's settings (defaults from the declaration);
    the data's seed is `data.seed`, else `train.seed`. A folder the data comes from is checked
    here, before TensorFlow loads."""
    check_folder(spec)
    data, train = spec.data, spec.train
    return DataSettings(
        samples=samples or int(data.samples),
        batch_size=batch_size or int(train.batch_size),
        seed=seed if seed is not None else int(data.seed if data.seed is not None else train.seed),
        validation_split=float(train.validation_split),
        file_rows=samples or data.get("samples"),
    )


def datasets(built: Built, keras: Any, settings: DataSettings, *, with_targets: bool = True) -> dict[str, Any]:
    """fit/evaluate/predict arguments for the spec's data: streamed synthetic, or the file's arrays."""
    spec, model = built.spec, built.model
    inputs, targets = data_module.plan_columns(spec, model)
    wanted_targets = targets if with_targets else None
    if data_folder(spec) is not None:
        from .folder_data import folder_datasets

        return folder_datasets(built, keras, settings, with_targets=with_targets)
    if data_module.data_file(spec) is not None:
        x, y, rows, weights = data_module.load_file_arrays(spec, inputs, wanted_targets, settings.file_rows)
        settings.samples = rows.used
        if rows.used < rows.total:
            settings.note = f"data: the first {rows.used} of {rows.total} rows of {spec.data.file}"
        xs = data_module.structure(model, inputs, x, outputs=False)
        result: dict[str, Any] = {"x": xs, "batch_size": settings.batch_size}
        if y is not None:
            result["y"] = data_module.structure(model, targets, y, outputs=True)
            if weights is not None:
                result["sample_weight"] = data_module.structure(model, targets, weights, outputs=True)
                result["y"], result["sample_weight"] = (
                    in_output_order(model, result[k]) for k in ("y", "sample_weight")
                )
            if settings.validation_split:
                result["validation_split"] = settings.validation_split
        return data_module.keras_ready(result)
    data_module.check_batch_size(spec, model, inputs, wanted_targets, settings.batch_size)
    validation = held_out_rows(settings) if with_targets else 0
    train_rows = settings.samples - validation
    plan = data_module.Synthetic(model, inputs, wanted_targets, train_rows, settings.batch_size, settings.seed)
    result = data_module.make_synthetic(keras, plan)
    if validation:
        held_out = data_module.make_synthetic(keras, replace(plan, samples=validation, stream=1))
        result["validation_data"] = held_out["x"] if "y" not in held_out else (held_out["x"], held_out["y"])
        if "batch_size" in held_out:
            result["validation_batch_size"] = settings.batch_size
    return data_module.keras_ready(result)


def in_output_order(model: Any, value: Any) -> Any:
    """Targets or sample weights by output name as a list in output order where the model's
    outputs are a list: with sample weights, Keras 3.15 looks a dict of them up by output index
    (KeyError 0) and wants the targets in the same structure."""
    if isinstance(value, dict) and not outputs_are_dict(model):
        return [value[name] for name, _ in data_module.named_outputs(model)]
    return value


def build_spec(
    spec: Spec,
    *,
    input_shape: tuple[int | None, ...] | None = None,
    max_params: int = DEFAULT_MAX_PARAMS,
    initialize: bool = True,
    adapt_on: DataSettings | None = None,
    adapter: Adapter | None = None,
) -> Built:
    """The spec's model, its `adapt:` layers adapted. Such a spec is built twice: once as any
    spec, with vocabulary-sized lookups given a provisional vocabulary (which checks
    `max_params` before anything is allocated), then again adapting each layer on the training
    rows before it is called. `adapt_on`: the training data's settings (`train`, which adapts on
    synthetic data too); without it, a spec naming a data file adapts on the file, and one naming
    none is built unadapted, unless a layer's output size is what it learns. `adapter`: given
    instead, it is all that adapts (a run's learnt state, `kerasspec.adapt.LearnedState`)."""
    from .adapt import Provisional

    adapts = adapter is None and any(entry.adapt for entry in spec.layers)
    if adapts and adapt_on is None and not _adapts_on_file(spec):
        adapts = False  # built unadapted: nothing to learn from, and no output size depends on it
    first = build(
        spec,
        input_shape=input_shape,
        max_params=max_params,
        initialize=initialize and not adapts,  # a first build only describes: its weights are never used
        adapter=Provisional() if adapts else adapter,
    )
    if not adapts:
        return first
    return _adapted(first, input_shape, max_params, adapt_on)


def _adapts_on_file(spec: Spec) -> bool:
    """Whether a command that only builds adapts the spec's layers: when it names a data file.
    Without one, a layer whose output size is what it learns is an error."""
    from .adapt import learned_size

    if data_module.data_file(spec) is not None or data_folder(spec) is not None:
        return True
    for entry in spec.layers:
        if entry.adapt and learned_size(entry):
            raise SpecError(
                entry.raw.key_mark("adapt"),
                f"the output size of {entry.describe()} ({entry.type}) is the size of the vocabulary it "
                "learns, and the spec names no data to adapt it on",
                hint="name the data (`data.file`, `data.images`, `data.text`), or give `vocabulary:`, or `max_tokens` with "
                "`pad_to_max_tokens: true`; `train` adapts on synthetic data too",
                code="adapt-needs-data",
            )
    return False


def _adapted(built: Built, shape: tuple | None, limit: int, adapt_on: DataSettings | None) -> Built:
    """The spec built again, its `adapt:` layers adapted on the training rows (`adapt_on`, else
    the spec's data settings)."""
    from ._keras import import_keras
    from .adapt import DataAdapter

    spec = built.spec
    keras = import_keras()
    if not built.is_built:
        return built  # no input shape: nothing to adapt on (the command says so)
    settings = adapt_on or data_settings(spec, None, None, None)
    keras.utils.set_random_seed(settings.seed)  # the rows a shuffled folder yields: alike in train and summary
    rows = training_rows(built, keras, settings)
    distribute.clear_session(keras)  # the same layer names again (in a strategy's scope still)
    adapter = DataAdapter(rows)
    adapted = build(spec, input_shape=shape, max_params=limit, adapter=adapter)
    adapted.adapter = adapter
    return adapted


def held_out_rows(settings: DataSettings) -> int:
    """How many synthetic rows `validation_split` draws apart for validation."""
    return int(round(settings.samples * settings.validation_split))


def training_rows(built: Built, keras: Any, settings: DataSettings) -> TrainingRows:
    """The inputs of the rows `train` trains on (validation rows left out), by input name, for
    adapting layers: the data `datasets` gives fit, whatever its source."""
    from .adapt import TrainingRows, first_rows
    from .folder_data import folder_errors, training_count
    from .graph import model_inputs

    if data_folder(built.spec) is not None:  # the rows fit trains on, streamed from the folder
        used = replace(settings)
        fit_kwargs = datasets(built, keras, used)
        name = data_module.plan_columns(built.spec, built.model)[0][0].name
        kept = training_count(used.samples, settings.validation_split)
        stream = fit_kwargs["x"].map(lambda x, y: x if isinstance(x, dict) else {name: x})
        return TrainingRows(kept, settings.batch_size, stream=stream, reading=lambda: folder_errors(built.spec))
    # planned from the inputs alone: the model's lookups have not learnt their vocabularies yet
    inputs = model_inputs(built.model)
    only_inputs = Built(keras.Model(inputs, inputs, name=f"{built.spec.name}.inputs"), built.spec)
    names = [column.name for column in data_module.plan_columns(built.spec, only_inputs.model)[0]]
    training = replace(settings)
    if data_module.data_file(built.spec) is None:  # synthetic: the rows fit trains on, without the held-out ones
        training.samples = settings.samples - held_out_rows(settings)
    kwargs = datasets(only_inputs, keras, training, with_targets=False)

    def by_name(x: Any) -> dict[str, Any]:
        return dict(x) if isinstance(x, dict) else {names[0]: x}

    x = kwargs["x"]
    if isinstance(x, keras.utils.PyDataset):  # synthetic data drawn batch by batch
        stream = x

        def batches() -> Iterator[dict[str, Any]]:
            for index in range(len(stream)):
                yield by_name(stream[index][0])

        return TrainingRows(training.samples, settings.batch_size, batches=batches)
    arrays = by_name(x)
    rows = len(next(iter(arrays.values())))
    if data_module.data_file(built.spec) is not None:
        rows = first_rows(rows, settings.validation_split)
    return TrainingRows(rows, settings.batch_size, arrays)


def verbosity(quiet: bool, spec: Spec | None = None) -> Any:
    """--quiet, else the spec's `train.verbose`, else a progress bar on a terminal and one line
    per epoch elsewhere."""
    if quiet:
        return 0
    if spec is not None and spec.train.get("verbose") is not None:
        return spec.train["verbose"]
    return 1 if sys.stdout.isatty() else 2


def save_weights(model: Any, path: Path) -> None:
    """The trained weights, which `evaluate`/`predict --run` load into the model rebuilt from
    the run's resolved spec: whatever the model holds, no object needs deserializing."""
    import os

    def write(tmp: Path) -> None:
        named = tmp.with_name(tmp.name + ".weights.h5")  # Keras insists on the suffix
        try:
            model.save_weights(named)
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)

    write_new_file(path, write)


def weights_layout(path: Path) -> dict[str, tuple[int, ...]]:
    """The model's arrays in a Keras .weights.h5 file, by path, with their shapes (the
    optimizer's state left out). OSError when the file is no HDF5 file, or a truncated one."""
    import h5py

    found: dict[str, tuple[int, ...]] = {}
    with h5py.File(path, "r") as file:

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset) and not name.startswith("optimizer/"):
                found[name] = tuple(item.shape)

        file.visititems(visit)
    return found


def weights_misfit(model: Any, path: Path) -> str | None:
    """Why the weights in `path` do not fit `model` (rebuilt from a run's spec), or None.
    Keras's load_weights refuses arrays of the wrong shape, but not a file holding more layers
    than the model (it loads those it finds a place for and says nothing), so the file's
    layout is compared with the one Keras writes for this model."""
    import tempfile
    from collections import Counter

    written = weights_layout(path)
    if Counter(written.values()) == Counter(tuple(w.shape) for w in model.weights):
        return None  # as many arrays of each shape as the model has: load_weights places them or says why
    # Else write the model's own file (a few layers store other arrays than their weights) and compare.
    with tempfile.TemporaryDirectory(prefix="kerasspec-", dir=_fast_temp()) as directory:
        fresh = Path(directory) / "fresh.weights.h5"
        model.save_weights(fresh)
        wanted = weights_layout(fresh)
    if written == wanted:
        return None
    extra = sorted(set(written) - set(wanted))
    missing = sorted(set(wanted) - set(written))
    reshaped = sorted(k for k in set(written) & set(wanted) if written[k] != wanted[k])
    parts = []
    if extra:
        parts.append(f"holds {len(extra)} array(s) the model has no place for ({', '.join(extra[:3])})")
    if missing:
        parts.append(f"lacks {len(missing)} of the model's arrays ({', '.join(missing[:3])})")
    if reshaped:
        first = reshaped[0]
        parts.append(
            f"has {len(reshaped)} array(s) of another shape ({first}: {written[first]}, the model's {wanted[first]})"
        )
    return "the file " + "; ".join(parts)


def _fast_temp() -> str | None:
    """A directory in memory (Linux's /dev/shm) for scratch files, else the system's default."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def why_not_saveable(model: Any, spec: Spec, keras: Any) -> str | None:
    """None when Keras can both save the (untrained) model as .keras and load it again in safe
    mode with the spec's user code; else why not, in a few words. Random states are kept, so
    trying changes nothing the run draws afterwards."""
    import random
    import tempfile
    import warnings

    import numpy as np

    states = random.getstate(), np.random.get_state()
    try:
        with tempfile.TemporaryDirectory(prefix="kerasspec-") as directory:
            path = Path(directory) / "model.keras"
            try:
                model.save(path)
            except Exception as exc:  # noqa: BLE001 - whatever Keras cannot save
                return f"Keras cannot save it: {keras_message(exc)}"
            try:
                with warnings.catch_warnings():  # an untrained optimizer has no variables to load
                    warnings.simplefilter("ignore")
                    keras.saving.load_model(path, safe_mode=True, custom_objects=custom_objects(spec) or None)
            except Exception as exc:  # noqa: BLE001 - whatever Keras cannot load
                return f"Keras cannot load it again: {keras_message(exc)}"
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
    return None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def loop_batches(keras: Any, fit_kwargs: dict[str, Any], settings: DataSettings, shuffle: bool) -> tuple[Any, Any]:
    """The data `datasets` prepared for fit, as batches for the custom loop (same rows, same
    validation split)."""
    from .loops import Batches, split_validation

    x, y, weights = fit_kwargs["x"], fit_kwargs.get("y"), fit_kwargs.get("sample_weight")
    batch_size, seed = settings.batch_size, settings.seed
    validation = None
    if "validation_split" in fit_kwargs:
        (x, y, weights), (val_x, val_y, val_weights) = split_validation(x, y, weights, fit_kwargs["validation_split"])
        validation = Batches(keras, val_x, val_y, batch_size, shuffle=False, seed=seed, sample_weight=val_weights)
    elif "validation_data" in fit_kwargs:
        held_out = fit_kwargs["validation_data"]
        val_x, val_y = held_out if isinstance(held_out, tuple) else (held_out, None)  # a dataset: x only
        validation = Batches(keras, val_x, val_y, batch_size, shuffle=False, seed=seed)
    return Batches(keras, x, y, batch_size, shuffle=shuffle, seed=seed, sample_weight=weights), validation


def train(
    built: Built,
    keras: Any,
    *,
    epochs: int | None,
    settings: DataSettings,
    out: Path | None,
    quiet: bool,
    loop: str | None = None,
    plotter: Any = None,
    options: Mapping[str, Any] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, list[float]], dict[str, float]]:
    """Compile, fit with the chosen loop, write the run directory. `plotter`: a
    `render.history.HistoryPlotter` started early by the caller, who then calls its `finish()`
    (history.png is drawn while the caller goes on); without one the plot is drawn here.
    `options`: the command-line options that shaped the run, by key path (`train.epochs`), for
    its spec.resolved.yaml. `warn` gets the note when model.keras cannot be written."""
    spec = built.spec
    which = chosen_loop(spec, loop)
    compile_model(built, keras)
    if settings.validation_split:
        check_evaluation_loss(spec, what="validation (`train.validation_split`)")
    from .folder_data import folder_errors

    if which == "fit":
        install_train_step(spec, built.model)
    quiet_structure_warning()
    fit_kwargs = datasets(built, keras, settings)  # data errors (a missing array, a batch too large) come first
    with run_directory(spec, out) if distribute.is_chief() else distribute.worker_directory() as run_dir:
        train_section = spec.train
        epoch_count = epochs or int(train_section.epochs)
        callbacks = build_callbacks(spec, keras, run_dir)
        unsaveable = why_not_saveable(built.model, spec, keras)
        if unsaveable is not None and warn is not None:
            warn(
                f"note: {spec.name}: no model.keras in this run ({_one_line(unsaveable)}); model.weights.h5 "
                "and spec.resolved.yaml are written, which evaluate/predict --run use"
            )
        if which == "custom":
            from .loops import CustomLoop

            batches, validation = loop_batches(keras, fit_kwargs, settings, bool(train_section.shuffle))
            with user_step_errors(spec, ("test_step",)), nothing_to_minimize(spec), folder_errors(spec):
                with layer_call_errors(built):
                    logs = CustomLoop(keras, built, batches, user_step(spec, "test_step")).fit(
                        batches, validation, epoch_count, callbacks, verbosity(quiet)
                    )
        else:
            passthrough = {
                k: plain(v)
                for k, v in train_section.items()
                if k not in ("epochs", "batch_size", "validation_split", "verbose") + TRAIN_OWN_KEYS and v is not None
            }
            with (
                user_step_errors(spec),
                nothing_to_minimize(spec),
                folder_errors(spec),
                layer_call_errors(built),
                distributed_fit(keras, built.model, fit_kwargs),
            ):
                history = built.model.fit(
                    **fit_kwargs, epochs=epoch_count, callbacks=callbacks, verbose=verbosity(quiet, spec), **passthrough
                )
            logs = {k: [float(v) for v in values] for k, values in history.history.items()}
        final = {k: values[-1] for k, values in logs.items() if values}
        from .render.history import HistoryPlotter

        drawing = plotter or HistoryPlotter(start=False)
        if logs and distribute.is_chief():
            drawing.submit(logs, run_dir / "history.png", f"{spec.name}: training history")
        save_weights(built.model, run_dir / "model.weights.h5")
        if built.adapter is not None:  # what adapted layers learnt, which the weights file does not hold
            built.adapter.save(run_dir, {layer.name: layer for layer in built.model.layers})
        if unsaveable is None:
            write_new_file(run_dir / "model.keras", lambda tmp: built.model.save(tmp))
        distribute.barrier()  # a multi-worker run is complete only when every worker is
        recorded: dict[str, Any] = {"epochs": len(next(iter(logs.values()), [])), "history": logs}
        if distribute.record() is not None:
            recorded["distribute"] = distribute.record()
        write_new_text(run_dir / "history.json", json.dumps(recorded, indent=2) + "\n")
        write_new_text(run_dir / "metrics.json", json.dumps(final, indent=2) + "\n")
        write_new_text(run_dir / "spec.resolved.yaml", resolved_text(spec, run_dir, "as trained", options))
    if plotter is None:
        drawing.finish()
    return run_dir, logs, final


@contextmanager
def distributed_fit(keras: Any, model: Any, fit_kwargs: dict[str, Any]) -> Iterator[None]:
    """fit under `train.distribute`: the model's state built from the data's first rows (or a
    dataset's element specs) instead of a batch fit draws itself (`_keras.built_for_distributed_fit`)."""
    if distribute.record() is None:
        yield
        return
    from ._keras import built_for_distributed_fit

    x = fit_kwargs["x"]
    if hasattr(x, "element_spec"):  # a folder's tf.data dataset
        example = x.element_spec
    elif isinstance(x, keras.utils.PyDataset):
        example = x[0]  # a PyDataset (synthetic data): its first batch
    else:
        example = tuple(_first_rows(fit_kwargs.get(key)) for key in ("x", "y", "sample_weight"))
    with built_for_distributed_fit(model, example):
        yield


def _first_rows(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _first_rows(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_first_rows(v) for v in value)
    return value[:1]


@contextmanager
def layer_call_errors(built: Built) -> Iterator[None]:
    """A layer that fails on the data while training (a Conv2D given the integers a
    Discretization makes, which the symbolic build does not check) is reported at its entry:
    Keras names the class whose call failed, and the spec's entries of that class are found."""
    import re

    try:
        yield
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - Keras's failure inside a layer's call
        failed = re.search(r"Exception encountered when calling (\w+)\.call\(\)", str(exc))
        if failed is None:
            raise
        from .graph import operations

        entries = [
            entry
            for layer in operations(built.model)
            if type(layer).__name__ == failed.group(1) and (entry := built.entries.get(id(layer))) is not None
        ]
        if not entries or user_code_error(exc) is not None:
            raise
        which = entries[0].describe() if len(entries) == 1 else f"one of the {failed.group(1)} layers"
        raise SpecError(
            entries[0].mark,
            f"{which} ({failed.group(1)}) failed on the data: {keras_message(exc)}",
            hint="the layer above it may give another dtype than it computes in (an integer lookup or "
            "Discretization output into a Conv2D, say)"
            if "type" in str(exc)
            else None,
            code="keras-error",
        ) from None


@contextmanager
def user_step_errors(spec: Spec, keys: tuple[str, ...] = ("step", "test_step")) -> Iterator[None]:
    """A failure inside a user's train or test step (of those `keys` that run here) is reported
    at `train.step` / `train.test_step`, not as a kerasspec bug."""
    present = [key for key in keys if spec.train.get(key) is not None]
    if not present:
        yield
        return
    try:
        yield
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's step raised
        key = getattr(exc, "kerasspec_step", present[0])
        key = key if key in present else present[0]
        mark, what = spec.train.value_mark(key), f"{STEP_NOUNS[key]} '{spec.train[key]}' failed"
        in_user_code = user_code_error(exc)
        if in_user_code is None:
            raise SpecError(mark, f"{what}: {keras_message(exc)}", code="code-error") from None
        message, hint = in_user_code
        raise SpecError(mark, f"{what}: {message}", hint=hint, code="code-error") from exc  # --debug shows it


def evaluate_custom(built: Built, keras: Any, kwargs: dict[str, Any], settings: DataSettings) -> dict[str, float]:
    """`evaluate --loop custom`: the hand-written evaluation loop over the same data."""
    from .loops import CustomLoop

    batches, _ = loop_batches(keras, kwargs, settings, shuffle=False)
    with user_step_errors(built.spec, ("test_step",)):
        return CustomLoop(keras, built, batches, user_step(built.spec, "test_step")).evaluate(batches)


def custom_objects(spec: Spec) -> dict[str, Any]:
    """The user code a saved model of this spec may name (its class, custom layers, losses,
    metrics), for `load_model`; safe mode stays on for everything else."""
    if not spec.allow_code:
        return {}
    import keras

    collector = SavedUserCode(spec.code_directory)
    if spec.class_ref is not None:
        collector.visit_code(KINDS["models"], str(spec.class_ref), spec.tree.value_mark("class"))
    walk(collector, spec.tree, None, spec.tree.mark)
    found: dict[str, Any] = {}
    for reference, obj in collector.found:
        found[getattr(obj, "__name__", reference.split(":")[1])] = obj
        found[keras.saving.get_registered_name(obj)] = obj
    for included in spec.included():
        found.update(custom_objects(included))
    return found


def load_saved_model(spec: Spec, keras: Any, path: Path) -> Any:
    quiet_structure_warning()
    if not path.is_file():
        raise SpecError(None, "no such model file", source=str(path), code="no-model")
    objects = custom_objects(spec)
    try:
        model = keras.saving.load_model(path, safe_mode=True, custom_objects=objects or None)
    except Exception as exc:  # noqa: BLE001 - a model Keras cannot load is bad input
        hint = (
            "the model names user code; run with --allow-code if you trust the spec"
            if "custom" in str(exc).lower() and not spec.allow_code
            else None
        )
        raise SpecError(
            None, f"cannot load the model: {keras_message(exc)}", hint=hint, source=str(path), code="bad-model"
        ) from None
    check_model_fits(spec, keras, model, str(path), objects)
    if spec.kind == "subclass":
        from .builder import record_subclass_call

        record_subclass_call(keras, spec, model)
    return model


def check_model_fits(spec: Spec, keras: Any, model: Any, source: str, objects: dict[str, Any] | None = None) -> None:
    """A trained model (loaded from `source`, or rebuilt from it) must be of `spec`'s kind, with
    its inputs and outputs; a subclass model, of its class."""
    mismatch = {"hint": "give a model trained from this spec", "source": source, "code": "model-mismatch"}
    if spec.kind == "subclass":
        objects = custom_objects(spec) if objects is None else objects
        cls = objects.get(str(spec.class_ref).split(":")[1].split(".")[-1])
        if cls is not None and not isinstance(model, cls):
            raise SpecError(
                None, f"the model is a {type(model).__name__}, but the spec's class is {spec.class_ref}", **mismatch
            )
        return
    if (spec.kind == "sequential") != isinstance(model, keras.Sequential):
        raise SpecError(None, f"the model is a {type(model).__name__} model, but the spec is {spec.kind}", **mismatch)
    spec_inputs = spec.input_names
    model_inputs = [t.name for t in model.inputs]
    if spec.kind != "sequential" and sorted(spec_inputs) != sorted(model_inputs):
        raise SpecError(
            None,
            f"the model's inputs ({', '.join(model_inputs)}) do not match the spec's ({', '.join(spec_inputs)})",
            **mismatch,
        )
    names = spec.output_names
    if spec.kind == "sequential":  # a loaded Sequential names no outputs; its last layer tells
        model_outputs = [model.layers[-1].name] if model.layers else []
    else:
        model_outputs = [n for n, _ in data_module.named_outputs(model)]
    if names is not None and sorted(names) != sorted(model_outputs):
        raise SpecError(
            None,
            f"the model's outputs ({', '.join(model_outputs)}) do not match the spec's ({', '.join(names)})",
            **mismatch,
        )


def feature_model(keras: Any, model: Any, names: list[str], block_outputs: dict[str, str] | None = None) -> Any:
    """A model whose outputs are the named layers' outputs (feature extraction, as the seed does);
    a block's use (`Spec.block_outputs`) names its output layer's."""
    from .graph import is_subclassed

    if is_subclassed(model):
        raise SpecError(
            None,
            "--outputs needs a functional or sequential model: a subclassed model's layers are called in "
            "Python code, so their outputs cannot be taken out as a new model",
            source="--outputs",
            code="bad-option",
        )
    from .graph import operations

    # by the names the spec gave: `model.get_layer` does not find operation nodes (`op:` entries)
    found = {operation.name: operation for operation in operations(model)}
    import re

    outputs = {}
    for written in names:
        picked = re.fullmatch(r"(.+)\[(\d+)\]", written)  # `parts[1]`: one of a node's outputs
        name = picked.group(1) if picked else written
        layer = found.get((block_outputs or {}).get(name, name))
        if layer is None:
            from .errors import did_you_mean

            raise SpecError(
                None,
                f"the model has no layer or op '{name}'" + did_you_mean(name, list(found)),
                source="--outputs",
                code="unknown-layer",
            )
        try:
            output = layer.output
        except (AttributeError, ValueError) as exc:
            raise SpecError(
                None, f"layer '{name}' has no single output to extract ({exc})", source="--outputs", code="bad-output"
            ) from None
        several = list(output) if isinstance(output, (list, tuple)) else None
        if picked and several is None:
            raise SpecError(
                None,
                f"'{name}' has one output; write '{name}' without [{picked.group(2)}]",
                source="--outputs",
                code="bad-output",
            )
        if picked:
            index = int(picked.group(2))
            if index >= len(several or []):
                raise SpecError(
                    None,
                    f"'{name}' has {len(several or [])} outputs; {written} is out of range",
                    source="--outputs",
                    code="bad-output",
                )
            outputs[written] = (several or [])[index]
        elif several is not None:  # each output its own array, with its own dtype
            outputs.update({f"{name}[{i}]": tensor for i, tensor in enumerate(several)})
        else:
            outputs[name] = output
    return keras.Model(model.inputs, outputs)
