"""What each `kerasspec` command does, callable from Python; `cli.py` only parses options and prints.

Nothing here imports TensorFlow at import time: each function imports what it needs, so that
`kerasspec --help` and `kerasspec validate` stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import KerasMissing, SpecError, SpecErrors

if TYPE_CHECKING:
    from .adapt import Adapter
    from .builder import Built
    from .export import Exported
    from .render.plot import PlotOptions
    from .runner import DataSettings
    from .spec import Spec

Warn = Callable[[str], None]
"""Where a command sends a warning or a note (the CLI: stderr)."""


def _ignore(_text: str) -> None:
    pass


@dataclass(frozen=True)
class SpecOptions:
    """How a spec is read: `--set` overrides and whether it may name Python code."""

    overrides: Sequence[str] = ()
    allow_code: bool = False


@dataclass(frozen=True)
class ModelOptions(SpecOptions):
    """How a spec is read and built: also the input shape of a lazy sequential spec and the
    parameter limit (a number, or text such as `2e9`)."""

    input_shape: str | None = None
    max_params: str | int = "2e9"


@dataclass(frozen=True)
class DataOptions:
    """Overrides of the spec's data settings; None keeps the spec's (or the default)."""

    samples: int | None = None
    batch_size: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class TrainedOptions(DataOptions):
    """Data overrides and the trained model to use: a saved model file, or a run directory."""

    model: Path | None = None
    run: Path | None = None


def parse_max_params(text: str | int) -> int:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 1 or value != value or value == float("inf"):
        raise SpecError(
            None,
            f"bad --max-params '{text}': give a positive number such as 2e9",
            source="--max-params",
            code="bad-option",
        )
    return int(value)


def spec_schema_text() -> str:
    """The JSON Schema of the format for the installed Keras, as `kerasspec schema` prints it."""
    from .catalog import get_catalog
    from .format.schema import json_schema

    return json.dumps(json_schema(get_catalog()), indent=1) + "\n"


def resolved_spec(path: Path, options: SpecOptions, *, target_dir: Path) -> str:
    """The spec as kerasspec runs it, for a file in `target_dir` (`kerasspec resolve`)."""
    from .resolve import resolved_text

    return resolved_text(load_spec(path, options), target_dir, "resolved")


def import_model(source: str) -> str:
    """`import`: the spec text of a .keras file, a `model.to_json()` file or `keras.applications:NAME`."""
    from .importer import import_spec

    return import_spec(source)


def load_spec(path: Path, options: SpecOptions, *, shown: str | None = None) -> Spec:
    from .check import load

    return load(path, list(options.overrides), allow_code=options.allow_code, shown=shown)


def require_keras(option: str | None = None) -> None:
    """Refuse, in one line with the install command, a command (or `option`) that builds or runs
    models where Keras or TensorFlow is not installed (kerasspec without its `keras` extra)."""
    from .catalog import missing_packages

    missing = missing_packages()
    if missing:
        raise KerasMissing(missing, option)


def build_model(
    path: Path,
    options: ModelOptions,
    *,
    spec: Spec | None = None,
    warn: Warn = _ignore,
    option: str | None = None,
    initialize: bool = True,
    adapt_on: DataSettings | None = None,
    adapter: Adapter | None = None,
) -> Built:
    """Load and check one spec (unless given one already loaded), then build it; build warnings,
    located like errors, go to `warn`. Without Keras, the spec's own errors come first, then
    `KerasMissing` (naming `option` where an option asked for the build).

    `adapt_on` and `adapter`: how `adapt:` layers learn (`runner.build_spec`)."""
    from .builder import parse_input_shape
    from .check import spec_trees, with_key_paths

    shape = parse_input_shape(options.input_shape) if options.input_shape else None
    limit = parse_max_params(options.max_params)
    spec = spec if spec is not None else load_spec(path, options)
    require_keras(option)
    from .runner import build_spec  # imports NumPy: only once Keras (and so NumPy) is known to be installed

    try:
        built = build_spec(
            spec, input_shape=shape, max_params=limit, initialize=initialize, adapt_on=adapt_on, adapter=adapter
        )
    except SpecError as exc:  # Keras's errors, at the entry or key that caused them
        with_key_paths([exc], spec_trees(spec))
        raise
    for warning in built.warnings:
        warn(warning.render())
    return built


def require_built(built: Built) -> None:
    if not built.is_built:
        spec = built.spec
        raise SpecError(
            spec.mark_of("layers"),
            "the model has no input shape, so it cannot be built",
            hint="add `input: {shape: [...]}` to the spec, or pass --input-shape (e.g. --input-shape 3)",
            code="not-built",
        )


def check_spec(path: Path, options: ModelOptions, *, build: bool = False, warn: Warn = _ignore) -> list[SpecError]:
    """`validate`: every error in one spec file (none: it is good), statically or also built."""
    try:
        if build:
            build_model(path, options, warn=warn, option="--build")
        else:
            load_spec(path, options)
    except SpecErrors as exc:
        return exc.errors
    except SpecError as exc:
        return [exc]
    return []


def summarize(
    path: Path, options: ModelOptions, *, expand_nested: bool = False, layer: str | None = None, warn: Warn = _ignore
) -> dict[str, Any]:
    """`summary`: the model's stable summary document, or with `layer` that layer's tensors."""
    from .render.summary import inspect_layer, summary_document

    built = build_model(path, options, warn=warn)
    require_built(built)
    if layer is not None:
        return inspect_layer(built.model, layer, built.tensor_names)
    return summary_document(built.model, built.spec.kind, expand_nested, built.tensor_names)


def diff(old: str, new: str, options: ModelOptions, *, warn: Warn = _ignore) -> dict[str, Any]:
    """`diff`: build the two specs (files or `REV:PATH`) and compare them; the stable document
    of `kerasspec.diff`. Errors in either side are reported together."""
    from .diff import diff_document
    from .revisions import spec_source

    with spec_source(old) as before, spec_source(new) as after:
        specs, errors = [], []
        for source in (before, after):
            try:
                specs.append(load_spec(source.path, options, shown=source.shown))
            except SpecErrors as exc:
                errors.extend(exc.errors)
        if errors:
            raise SpecErrors(errors)
        if specs[0].kind != specs[1].kind:
            raise SpecError(
                specs[1].mark_of("layers"),
                f"{before.shown} is a {specs[0].kind} spec and {after.shown} a {specs[1].kind} one",
                hint="diff compares two versions of one spec: both of one kind",
                code="diff-kinds",
            )
        facts = [_described(source.path, options, spec, warn) for source, spec in zip((before, after), specs)]
    return diff_document(facts[0], facts[1], specs[0], specs[1], (before.shown, after.shown))


def _described(path: Path, options: ModelOptions, spec: Spec | None, warn: Warn, option: str | None = None) -> Any:
    """The model's facts (`kerasspec.facts`), from a build that allocates no weights (half the
    cost of a 1,000-layer build), its pending variables dropped afterwards."""
    from ._keras import import_keras
    from .facts import model_facts

    built = build_model(path, options, spec=spec, warn=warn, option=option, initialize=False)
    try:
        require_built(built)
        return model_facts(built)
    finally:
        import_keras().utils.clear_session()


def _lock_of(facts: Any) -> dict[str, Any]:
    from importlib.metadata import version

    from ._keras import import_keras
    from .lock import lock_document

    return lock_document(facts, {"kerasspec": version("kerasspec"), "keras": str(import_keras().__version__)})


def lock(
    path: Path, options: ModelOptions, *, out: Path | None = None, force: bool = False, warn: Warn = _ignore
) -> str:
    """`lock`: write the spec's lock file (default: beside it, `ticket.lock.json`); returns
    "written", "unchanged" (the same bytes were there), "versions updated" (the same model, written
    by other versions) or "replaced" (a different lock, with `force`)."""
    from .files import write_new_text
    from .lock import lock_path, lock_text

    document = _lock_of(_described(path, options, None, warn))
    text = lock_text(document)
    target = out if out is not None else lock_path(path)
    existed = target.exists()
    if target.is_file():
        try:
            written = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            written = None
        if written == text:
            return "unchanged"
        try:
            same_model = {**json.loads(written or ""), "versions": None} == {**document, "versions": None}
        except (ValueError, TypeError, RecursionError):
            same_model = False
        if same_model:  # only the versions that wrote it differ: the lock still holds, newly dated
            write_new_text(target, text, force=True)
            return "versions updated"
        if not force:
            raise SpecError(
                None,
                "a different lock file is there; pass --force to replace it",
                hint=f"`kerasspec validate --locked {path}` lists what differs"
                if out is None
                else "compare it with `kerasspec lock` output written elsewhere",
                source=str(target),
                code="file-exists",
            )
    write_new_text(target, text, force=force)
    return "replaced" if existed else "written"


def check_locked(path: Path, options: ModelOptions, *, warn: Warn = _ignore) -> list[SpecError]:
    """`validate --locked`: the spec's own errors, else each difference from its lock file."""
    from .lock import check_lock, lock_path, read_lock

    target = lock_path(path)
    errors = check_spec(path, options)
    if errors:
        return errors
    if not target.is_file():
        return [
            SpecError(
                None,
                f"no lock file ({target.name} beside it)",
                hint=f"write one with `kerasspec lock {path}`",
                source=str(path),
                code="no-lock",
            )
        ]
    try:
        locked = read_lock(target)
        spec = load_spec(path, options)
        facts = _described(path, options, spec, warn, "--locked")
    except SpecErrors as exc:
        return exc.errors
    except SpecError as exc:
        return [exc]
    current = _lock_of(facts)
    keras_then, keras_now = locked["versions"].get("keras"), current["versions"]["keras"]
    if keras_then != keras_now:
        warn(f"{target}: warning: written with Keras {keras_then}, checked with Keras {keras_now}")
    return check_lock(facts, locked, current, target.name, spec.mark_of("layers"))


def plot(
    path: Path,
    options: ModelOptions,
    plot_options: PlotOptions,
    *,
    output: str | None = None,
    output_format: str | None = None,
    force: bool = False,
    warn: Warn = _ignore,
) -> tuple[str, Path | str]:
    """`plot`: (format, file written), or with output '-' (format, the text of a text format)."""
    from .graph import is_subclassed
    from .render.plot import EXTENSION, GRAPHVIZ_FORMATS, render_text, write_plot

    fmt = choose_plot_format(plot_options, output, output_format)
    plot_options = replace(plot_options, rankdir=plot_options.rankdir.upper())
    if output == "-" and fmt in GRAPHVIZ_FORMATS:
        raise SpecError(
            None,
            f"{fmt.upper()} cannot go to standard output; give -o FILE, or use --format dot or mermaid",
            source="-o",
            code="bad-option",
        )
    built = build_model(path, options, warn=warn)
    require_built(built)
    if is_subclassed(built.model) and fmt != "mermaid":
        warn(
            f"note: {built.model.name} is a subclassed model: its layers are called in Python code, so Keras has no "
            "layer graph to draw and shows the model as one box; `kerasspec summary` lists its layers"
        )
    if output == "-":
        return fmt, render_text(built.model, fmt, plot_options)
    target = Path(output) if output else Path(built.model.name + EXTENSION[fmt])
    write_plot(built.model, target, fmt, plot_options, force=force)
    return fmt, target


def choose_plot_format(plot_options: PlotOptions, output: str | None, output_format: str | None) -> str:
    """The format to draw in, once the drawing options are known to be good."""
    from .render.plot import choose_format

    fmt = choose_format(output, output_format)
    if plot_options.rankdir.upper() not in ("TB", "LR"):
        raise SpecError(
            None, f"bad --rankdir '{plot_options.rankdir}': use TB or LR", source="--rankdir", code="bad-option"
        )
    if plot_options.dpi < 1:
        raise SpecError(
            None, f"bad --dpi {plot_options.dpi}: give a positive number", source="--dpi", code="bad-option"
        )
    return fmt


def seeded_keras(seed: int) -> Any:
    from ._keras import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    return keras


def train(
    path: Path,
    options: ModelOptions,
    data: DataOptions,
    *,
    epochs: int | None = None,
    out: Path | None = None,
    quiet: bool = False,
    loop: str | None = None,
    warn: Warn = _ignore,
    show_metrics: Callable[[str, dict[str, float]], None] | None = None,
) -> Path | None:
    """`train`: compile and fit the model on the spec's data; returns the run directory (None
    on a multi-worker run's worker that is not the chief, which writes it).
    `show_metrics(title, final metrics)` is called while the history plot is drawn."""
    require_keras()  # before the runner's imports (numpy)
    from . import distribute
    from .render.history import HistoryPlotter
    from .runner import chosen_loop, data_settings
    from .runner import train as run_training

    spec = load_spec(path, options)
    plan = distribute.plan(spec)  # TF_CONFIG and the devices' count, before TensorFlow starts
    trained_loop = distribute.loop_for(plan, spec, loop, warn)
    chosen_loop(spec, trained_loop)
    settings = data_settings(spec, data.samples, data.batch_size, data.seed)
    with HistoryPlotter() as plotter:  # loads matplotlib on the other core while TensorFlow loads here
        distribute.start(plan)  # the strategy comes before TensorFlow's first op
        keras = seeded_keras(settings.seed)
        with distribute.scope(plan):  # built, compiled and trained in the strategy's scope
            built = build_model(path, options, spec=spec, warn=warn, adapt_on=settings)
            require_built(built)
            run_dir, _history, final = run_training(
                built,
                keras,
                epochs=epochs,
                settings=settings,
                out=out,
                quiet=quiet,
                loop=trained_loop,
                plotter=plotter,
                options=recorded_options(spec, data, epochs, loop, options.input_shape),
                warn=warn,
            )
        if settings.note is not None:
            warn(settings.note)
        if not plan.chief:  # what it wrote is gone with its temporary directory
            warn(
                f"note: {spec.name}: trained as {plan.task} of {plan.workers} workers; the chief writes the run directory"
            )
            return None
        if built.adapter is not None:
            warn(built.adapter.note(run_dir))
        if show_metrics is not None:
            show_metrics(f"{built.spec.name}: final metrics", final)
        plotter.finish()  # history.png was drawn while the model was saved and the table printed
    return run_dir


def recorded_options(
    spec: Spec, data: DataOptions, epochs: int | None, loop: str | None, input_shape: str | None = None
) -> dict[str, Any]:
    """The command-line options that shape a run, by the spec key they override, for its
    spec.resolved.yaml (`--set`s are in the tree already). `--seed` seeds data and weights, so
    it replaces `data.seed` too where the spec gives one; `--input-shape` becomes the `input`
    of a sequential spec that has none, so evaluate/predict --run can build it."""
    options: dict[str, Any] = {
        "train.epochs": epochs,
        "data.samples": data.samples,
        "train.batch_size": data.batch_size,
        "train.seed": data.seed,
        "train.loop": loop,
    }
    if data.seed is not None and spec.data.seed is not None:
        options["data.seed"] = data.seed
    if input_shape and spec.kind == "sequential" and spec.input is None:
        from .builder import parse_input_shape

        options["input.shape"] = list(parse_input_shape(input_shape))
    return options


def saved_model_path(model: Path | None, run: Path | None) -> Path:
    if run is not None and model is None:
        return run / "model.keras"
    if model is None or run is not None:
        raise SpecError(
            None,
            "give the trained model with --model RUN/model.keras or --run RUN",
            source="--model",
            code="bad-option",
        )
    return model


@dataclass
class Trained:
    """What evaluate and predict start from: the checked spec, data settings, seeded Keras and
    the saved model (loaded in safe mode and matched against the spec)."""

    spec: Spec
    settings: DataSettings
    keras: Any
    model: Any

    def datasets(self, *, with_targets: bool) -> dict[str, Any]:
        from .builder import Built
        from .runner import datasets

        return datasets(Built(self.model, self.spec), self.keras, self.settings, with_targets=with_targets)


def load_trained(spec: Spec, trained: TrainedOptions, *, validation_split: float = 0.0) -> Trained:
    """`--run RUN`: the model rebuilt from RUN/spec.resolved.yaml with RUN/model.weights.h5
    loaded into it (a run from before runs held weights: its model.keras); `--model FILE`: the
    saved model, loaded in safe mode."""
    from .runner import data_settings, load_saved_model

    settings = data_settings(spec, trained.samples, trained.batch_size, trained.seed)
    settings.validation_split = validation_split
    keras = seeded_keras(settings.seed)
    model_path = saved_model_path(trained.model, trained.run)
    if trained.run is not None and (trained.run / WEIGHTS).is_file():
        return Trained(spec, settings, keras, rebuilt_model(spec, keras, trained.run))
    return Trained(spec, settings, keras, load_saved_model(spec, keras, model_path))


WEIGHTS = "model.weights.h5"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def rebuilt_model(spec: Spec, keras: Any, run: Path) -> Any:
    """The run's model: built (and compiled) from its spec.resolved.yaml, its trained weights
    loaded, and checked against `spec` as a loaded model is. User code is imported under
    `spec`'s `--allow-code`."""
    from .builder import keras_message
    from .runner import check_model_fits, compile_model, quiet_structure_warning, weights_misfit

    quiet_structure_warning()
    resolved = run / "spec.resolved.yaml"
    if not resolved.is_file():
        raise SpecError(
            None, "no spec.resolved.yaml: the run's model cannot be rebuilt", source=str(resolved), code="no-model"
        )
    from .adapt import LearnedState

    built = build_model(resolved, ModelOptions(allow_code=spec.allow_code), adapter=LearnedState(run))
    require_built(built)
    check_model_fits(spec, keras, built.model, str(resolved))
    weights = run / WEIGHTS
    mismatch = {"hint": "the run directory's files belong together; train again to make a new run"}
    try:
        unfit = weights_misfit(built.model, weights)
    except OSError as exc:  # not an HDF5 file, or a truncated one
        raise SpecError(
            None, f"cannot read the weights: {_one_line(str(exc))}", source=str(weights), code="bad-model", **mismatch
        ) from None
    if unfit is not None:
        raise SpecError(
            None,
            f"the weights do not fit the model spec.resolved.yaml builds: {unfit}",
            source=str(weights),
            code="model-mismatch",
            **mismatch,
        )
    try:
        built.model.load_weights(weights)  # before compiling: the optimizer's state is not needed
    except Exception as exc:  # noqa: BLE001 - weights that do not fit the rebuilt model are bad input
        raise SpecError(
            None,
            f"the weights do not fit the model spec.resolved.yaml builds: {_one_line(keras_message(exc))[:300]}",
            source=str(weights),
            code="model-mismatch",
            **mismatch,
        ) from None
    compile_model(built, keras)
    return built.model


@dataclass
class Evaluation:
    title: str
    metrics: dict[str, float]


def evaluate(
    path: Path, options: SpecOptions, trained_options: TrainedOptions, *, loop: str | None = None
) -> Evaluation:
    """`evaluate`: a trained model's metrics on the spec's data (the loop the spec trains with)."""
    require_keras()
    from .builder import Built
    from .folder_data import folder_errors
    from .runner import check_evaluation_loss, evaluate_custom, evaluation_loop, install_test_step, user_step_errors

    spec = load_spec(path, options)
    which = evaluation_loop(spec, loop)
    check_evaluation_loss(spec)
    trained = load_trained(spec, trained_options)
    check_evaluation_loss(spec, trained.model)
    kwargs = trained.datasets(with_targets=True)
    if which == "custom":
        with folder_errors(spec):
            results = evaluate_custom(Built(trained.model, spec), trained.keras, kwargs, trained.settings)
    else:
        install_test_step(spec, trained.model)
        with user_step_errors(spec, ("test_step",)), folder_errors(spec):
            results = trained.model.evaluate(**kwargs, verbose=0, return_dict=True)
    metrics = {k: float(v) for k, v in results.items()}
    return Evaluation(f"{spec.name}: evaluation on {trained.settings.samples} samples", metrics)


def predict(
    path: Path,
    options: SpecOptions,
    trained_options: TrainedOptions,
    *,
    out: Path = Path("predictions.npz"),
    outputs: Sequence[str] = (),
    force: bool = False,
) -> dict[str, tuple[int, ...]]:
    """`predict`: write one array per model output (or per named layer in `outputs`) to an .npz;
    returns each array's shape by name."""
    require_keras()
    import numpy as np

    from .data import named_outputs
    from .export import output_names
    from .files import write_new_file
    from .folder_data import folder_errors
    from .runner import feature_model

    if out.suffix != ".npz":
        raise SpecError(
            None, "predictions are written as .npz; name the file *.npz", source=str(out), code="bad-option"
        )
    spec = load_spec(path, options)
    trained = load_trained(spec, trained_options)
    kwargs = trained.datasets(with_targets=False)
    loaded = trained.model
    target = feature_model(trained.keras, loaded, list(outputs), spec.block_outputs) if outputs else loaded
    with folder_errors(spec):
        predictions = target.predict(**kwargs, verbose=0)
    arrays: dict[str, Any]
    if isinstance(predictions, dict):
        arrays = {k: np.asarray(v) for k, v in predictions.items()}
    elif isinstance(predictions, (list, tuple)):
        arrays = {name: np.asarray(p) for (name, _), p in zip(named_outputs(loaded), predictions)}
    else:
        arrays = {output_names(trained.keras, target)[0]: np.asarray(predictions)}
    write_new_file(out, lambda tmp: np.savez(tmp, **arrays), force=force)
    return {k: tuple(v.shape) for k, v in arrays.items()}


def export(
    path: Path,
    options: SpecOptions,
    trained_options: TrainedOptions,
    *,
    out: Path,
    fmt: str | None = None,
    warn: Warn = _ignore,
) -> Exported:
    """`export`: write the trained model (`--run` or `--model`, as evaluate and predict take it)
    as a SavedModel directory, an .onnx or a .tflite file at `out`, named as the spec names its
    inputs and outputs. The format and `out` are checked before anything is loaded."""
    from .export import check_target, choose_format, export_model, require_converters

    fmt = choose_format(fmt, out)
    check_target(out)
    spec = load_spec(path, options)
    require_keras()
    require_converters(fmt)
    trained = load_trained(spec, trained_options)
    return export_model(trained.keras, trained.model, spec, fmt, out, warn=warn)
