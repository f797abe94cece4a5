"""The `kerasspec` command: parse options, call the library, print, choose the exit code.

Nothing here imports TensorFlow at import time; commands that build models import it
inside their own code paths.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import __version__
from .commands import (
    DataOptions,
    ModelOptions,
    SpecOptions,
    TrainedOptions,
    check_locked,
    check_spec,
    parse_max_params,
    summarize,
)
from .commands import diff as run_diff
from .commands import evaluate as run_evaluation
from .commands import export as write_export
from .commands import lock as write_lock
from .commands import plot as draw
from .commands import predict as run_prediction
from .commands import train as run_training
from .errors import (
    EXIT_BAD_INPUT,
    EXIT_DIFFERENCES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXPORT_EXTRA_MODULES,
    EXPORT_INSTALL,
    KERAS_EXTRA_MODULES,
    KerasMissing,
    SpecError,
    SpecErrors,
)

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="kerasspec",
    help="Turn version-controlled YAML model specs into real Keras 3 models, and run them.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SET_HELP = (
    "Override a spec value before vars are interpolated, e.g. --set train.epochs=3 (value read as YAML). Repeatable."
)
ALLOW_CODE_HELP = "Let specs name Python code (Lambda layers, package.module:Name). Only for specs you trust."
DEBUG_HELP = "Show the Python traceback of internal errors."
INPUT_SHAPE_HELP = "Input shape for a sequential spec without `input:`, e.g. 3 or 28,28,1 (null for any size)."
MAX_PARAMS_HELP = "Refuse models with more parameters than this, before allocating any weights."

SetOpt = Annotated[list[str], typer.Option("--set", help=SET_HELP, metavar="KEY=VALUE")]
AllowCodeOpt = Annotated[bool, typer.Option("--allow-code", help=ALLOW_CODE_HELP)]
DebugOpt = Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)]
InputShapeOpt = Annotated[str | None, typer.Option("--input-shape", help=INPUT_SHAPE_HELP)]
MaxParamsOpt = Annotated[str, typer.Option("--max-params", help=MAX_PARAMS_HELP)]
SamplesOpt = Annotated[
    int | None,
    typer.Option(
        "--samples",
        min=1,
        help="Rows of synthetic data (default: data.samples, else 1280); with data.file, its first N rows (default: all).",
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", min=0, max=2**32 - 1, help="Seed for data and weights (default: data.seed, else 0)."),
]
BatchOpt = Annotated[
    int | None, typer.Option("--batch-size", min=1, help="Batch size (default: train.batch_size, else 32).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LoopOpt = Annotated[
    str | None,
    typer.Option(
        "--loop",
        help="fit (Keras's built-in loop) or custom (a hand-written GradientTape loop). Default: train.loop, else fit.",
    ),
]
SpecArg = Annotated[Path, typer.Argument(help="The spec file.", show_default=False)]
ModelFileOpt = Annotated[Path | None, typer.Option("--model", help="A saved model (RUN/model.keras).")]
RunDirOpt = Annotated[Path | None, typer.Option("--run", help="A run directory written by `train`.")]


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


@dataclass(frozen=True)
class OptionGroup:
    """Options several commands share, declared once and handed to a command as one object."""

    make: Callable[..., Any]
    params: tuple[inspect.Parameter, ...]


SPEC_OPTIONS = OptionGroup(SpecOptions, (_option("overrides", SetOpt, []), _option("allow_code", AllowCodeOpt, False)))
MODEL_OPTIONS = OptionGroup(
    ModelOptions,
    SPEC_OPTIONS.params + (_option("input_shape", InputShapeOpt, None), _option("max_params", MaxParamsOpt, "2e9")),
)
DATA_OPTIONS = OptionGroup(
    DataOptions,
    (_option("batch_size", BatchOpt, None), _option("samples", SamplesOpt, None), _option("seed", SeedOpt, None)),
)
# The trained model alone (`export`), and with the data to run it on (`evaluate`, `predict`).
SOURCE_OPTIONS = OptionGroup(TrainedOptions, (_option("model", ModelFileOpt, None), _option("run", RunDirOpt, None)))
TRAINED_OPTIONS = OptionGroup(TrainedOptions, DATA_OPTIONS.params + SOURCE_OPTIONS.params)
_DEBUG = _option("debug", DebugOpt, False)


def command(name: str | None = None, **groups: OptionGroup) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command of `app` (named after the function unless `name` is given): each
    `name=GROUP` gives the function one `name` argument built from that group's options, and
    every command takes --debug and runs inside `reported_errors`."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        own = [p for name, p in inspect.signature(func, eval_str=True).parameters.items() if name not in groups]
        params = [*own, *(p for group in groups.values() for p in group.params), _DEBUG]

        @functools.wraps(func)
        def run(**kwargs: Any) -> None:
            debug = kwargs.pop(_DEBUG.name)
            for name, group in groups.items():
                kwargs[name] = group.make(**{p.name: kwargs.pop(p.name) for p in group.params})
            with reported_errors(debug, func.__name__):
                func(**kwargs)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return app.command(name)(run)

    return register


def _stderr(text: str) -> None:
    typer.echo(text, err=True)


# Whether the running command was given --debug (set by `reported_errors`).
_debugging: ContextVar[bool] = ContextVar("debugging", default=False)


def print_spec_errors(errors: list[SpecError]) -> None:
    for error in errors:
        if _debugging.get() and error.__cause__ is not None:  # an exception in the user's code: its whole traceback
            traceback.print_exception(error.__cause__)
        _stderr(error.render())


@contextmanager
def reported_errors(debug: bool, command: str = "") -> Iterator[None]:
    """Turn every failure into a located message and an exit code; never a bare traceback."""
    token = _debugging.set(debug)
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except KerasMissing as exc:
        _stderr(exc.render(command))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ModuleNotFoundError as exc:
        # A package of the `keras` (or `export`) extra that a path without `require_keras` imported.
        package = (exc.name or "").split(".")[0]
        if package in EXPORT_EXTRA_MODULES:
            _stderr(KerasMissing([package], install=EXPORT_INSTALL).render(command))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        if package not in KERAS_EXTRA_MODULES:
            raise _internal_error(exc, debug) from None
        _stderr(KerasMissing([package]).render(command))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except SpecErrors as exc:
        print_spec_errors(exc.errors)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except SpecError as exc:
        print_spec_errors([exc])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        _stderr("kerasspec: interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:  # `kerasspec validate ... | head -1`: the reader left; click exits quietly
        raise
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are turned into a message
        raise _internal_error(exc, debug) from None
    finally:
        _debugging.reset(token)


def _internal_error(exc: Exception, debug: bool) -> typer.Exit:
    if debug:
        traceback.print_exception(exc)
    _stderr(
        f"kerasspec: internal error: {type(exc).__name__}: {exc}. This is a bug in kerasspec; "
        "please report it with the spec and the output of the same command with --debug."
    )
    return typer.Exit(EXIT_INTERNAL)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2))


def print_metrics(title: str, values: dict[str, float]) -> None:
    from rich.table import Table

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in values.items():
        table.add_row(key, f"{value:.4f}")
    console = stdout_console()
    console.print(title, highlight=False)
    console.print(table)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kerasspec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Turn version-controlled YAML model specs into real Keras 3 models, and run them."""


@command(options=MODEL_OPTIONS)
def validate(
    options: ModelOptions,
    files: list[Path] = typer.Argument(..., help="Spec files to check.", show_default=False),
    output_format: str = typer.Option(
        "text", "--format", help="text, or json (one document listing every file and error)."
    ),
    build: bool = typer.Option(
        False,
        "--build",
        help="Also build each model symbolically (imports Keras): shapes, values, the parameter limit.",
    ),
    locked: bool = typer.Option(
        False,
        "--locked",
        help="Build each spec and compare it with its lock file (ticket.yaml -> ticket.lock.json; see `lock`).",
    ),
) -> None:
    """Check spec files (statically; never imports TensorFlow unless --build): `PATH: ok`, or every error as PATH:LINE:COL."""
    if output_format not in ("text", "json"):
        raise SpecError(None, f"unknown --format '{output_format}'; use text or json", source="--format")
    parse_max_params(options.max_params)
    results = []
    for file in files:
        errors = (
            check_locked(file, options, warn=_stderr)
            if locked
            else check_spec(file, options, build=build, warn=_stderr)
        )
        results.append((str(file), errors))
        if output_format == "text":
            if errors:
                print_spec_errors(errors)
            else:
                typer.echo(f"{file}: ok")
    if output_format == "json":
        print_json(
            [{"path": path, "ok": not errors, "errors": [e.as_dict() for e in errors]} for path, errors in results]
        )
    if any(errors for _, errors in results):
        raise typer.Exit(EXIT_BAD_INPUT)


@command(options=MODEL_OPTIONS)
def summary(
    options: ModelOptions,
    spec: SpecArg,
    as_json: bool = typer.Option(False, "--json", help="Print a stable JSON document instead of the table."),
    expand_nested: bool = typer.Option(False, "--expand-nested", help="Show the layers of nested models too."),
    layer: str | None = typer.Option(
        None, "--layer", help="Show one layer's input and output tensors (nested: outer/inner)."
    ),
) -> None:
    """Build the model and show its layers, output shapes, parameters and connections."""
    document = summarize(spec, options, expand_nested=expand_nested, layer=layer, warn=_stderr)
    if as_json:
        print_json(document)
        return
    from .render.summary import render_layer, render_summary

    (render_summary if layer is None else render_layer)(document, stdout_console())


@command(options=MODEL_OPTIONS)
def lock(
    options: ModelOptions,
    spec: SpecArg,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write (default: beside the spec, SPEC.lock.json)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a lock file that differs."),
) -> None:
    """Build the spec and write its lock file: layers, shapes, dtypes, parameters (checked by
    `validate --locked`)."""
    from .lock import lock_path

    status = write_lock(spec, options, out=out, force=force, warn=_stderr)
    target = out if out is not None else lock_path(spec)
    typer.echo(f"{target}: {'up to date' if status == 'unchanged' else status}")


DIFF_FORMATS = ("text", "markdown", "json")


@command(options=MODEL_OPTIONS)
def diff(
    options: ModelOptions,
    old: Annotated[
        str, typer.Argument(help="The old spec: a file, or REV:PATH (HEAD:specs/x.yaml).", show_default=False)
    ],
    new: Annotated[str, typer.Argument(help="The new spec: a file, or REV:PATH.", show_default=False)],
    fmt: str = typer.Option("text", "--format", help="text (coloured), markdown (a PR comment) or json."),
) -> None:
    """Build two versions of a spec and show what changed: layers, parameters, shapes, settings.
    Exit status 0 when they are the same, 1 when they differ."""
    if fmt not in DIFF_FORMATS:
        raise SpecError(
            None, f"unknown --format '{fmt}'; choose text, markdown or json", source="--format", code="bad-option"
        )
    document = run_diff(old, new, options, warn=_stderr)
    if fmt == "json":
        print_json(document)
    elif fmt == "markdown":
        from .render.diff import render_markdown

        typer.echo(render_markdown(document), nl=False)
    else:
        from .render.diff import render_text

        render_text(document, stdout_console())
    if not document["same"]:
        raise typer.Exit(EXIT_DIFFERENCES)


@command(options=MODEL_OPTIONS)
def plot(
    options: ModelOptions,
    spec: SpecArg,
    output: str | None = typer.Option(
        None,
        "-o",
        "--output",
        help="File to write (.png .svg .pdf .dot .mmd); '-' prints text formats. Default: <model name>.png here.",
    ),
    output_format: str | None = typer.Option(
        None, "--format", help="png, svg, pdf, dot or mermaid; overrides the extension."
    ),
    show_shapes: bool = typer.Option(True, "--show-shapes/--hide-shapes", help="Show output shapes."),
    show_dtype: bool = typer.Option(False, "--show-dtype", help="Show dtypes."),
    show_layer_names: bool = typer.Option(True, "--show-layer-names/--hide-layer-names", help="Show layer names."),
    show_layer_activations: bool = typer.Option(
        False, "--show-layer-activations", help="Show activations of layers that have one."
    ),
    show_trainable: bool = typer.Option(False, "--show-trainable", help="Show whether each layer is trainable."),
    expand_nested: bool = typer.Option(
        False, "--expand-nested", help="Draw nested models' layers (clusters / subgraphs)."
    ),
    rankdir: str = typer.Option("TB", "--rankdir", help="TB (top to bottom) or LR (left to right)."),
    dpi: int = typer.Option(200, "--dpi", help="Resolution of PNG output."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file if it exists."),
) -> None:
    """Draw the model: PNG/SVG/PDF/DOT through Keras's plot_model, or a Mermaid flowchart for GitHub."""
    from .render.plot import PlotOptions

    drawing = PlotOptions(
        show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable, expand_nested, rankdir, dpi
    )
    fmt, result = draw(spec, options, drawing, output=output, output_format=output_format, force=force, warn=_stderr)
    if isinstance(result, str):
        typer.echo(result, nl=False)
    else:
        typer.echo(f"wrote {result} ({fmt}, {result.stat().st_size:,} bytes)")


@command(options=MODEL_OPTIONS, data=DATA_OPTIONS)
def train(
    options: ModelOptions,
    data: DataOptions,
    spec: SpecArg,
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs (default: train.epochs, else 1)."),
    out: Path | None = typer.Option(None, "--out", help="Run directory (new or empty). Default: runs/<name>-<time>/."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    loop: LoopOpt = None,
) -> None:
    """Compile and fit the model on the spec's data; write a run directory."""
    run_dir = run_training(
        spec,
        options,
        data,
        epochs=epochs,
        out=out,
        quiet=quiet,
        loop=loop,
        warn=_stderr,
        show_metrics=None if quiet else print_metrics,
    )
    if run_dir is not None:  # None: a multi-worker run's other worker (the chief writes it)
        typer.echo(f"run directory: {run_dir}")


@command(options=SPEC_OPTIONS, trained=TRAINED_OPTIONS)
def evaluate(
    options: SpecOptions, trained: TrainedOptions, spec: SpecArg, as_json: JsonOpt = False, loop: LoopOpt = None
) -> None:
    """Evaluate a trained model (loaded in Keras's safe mode) on the spec's data."""
    result = run_evaluation(spec, options, trained, loop=loop)
    if as_json:
        print_json(result.metrics)
    else:
        print_metrics(result.title, result.metrics)


@command(options=SPEC_OPTIONS, trained=TRAINED_OPTIONS)
def predict(
    options: SpecOptions,
    trained: TrainedOptions,
    spec: SpecArg,
    out: Path = typer.Option(
        Path("predictions.npz"), "--out", help="Where to write the predictions (.npz, one array per output)."
    ),
    outputs: str | None = typer.Option(
        None, "--outputs", help="Comma-separated layer names: their outputs instead (feature extraction)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
) -> None:
    """Predict on the spec's inputs; write one array per output (or per --outputs layer) to an .npz."""
    names = [n.strip() for n in outputs.split(",") if n.strip()] if outputs is not None else []
    if outputs is not None and not names:
        raise SpecError(
            None, "--outputs names no layer", hint="--outputs hidden,features", source="--outputs", code="bad-option"
        )
    shapes = run_prediction(spec, options, trained, out=out, outputs=names, force=force)
    typer.echo(f"wrote {out}: " + ", ".join(f"{k} {shape}" for k, shape in shapes.items()))


@command(options=SPEC_OPTIONS, trained=SOURCE_OPTIONS)
def export(
    options: SpecOptions,
    trained: TrainedOptions,
    spec: SpecArg,
    out: Path = typer.Option(
        ...,
        "-o",
        "--out",
        help="What to write (new): a directory for saved_model, a .onnx or .tflite file.",
        show_default=False,
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="saved_model (TensorFlow Serving), onnx or litert. Default: from -o's extension, else saved_model.",
    ),
) -> None:
    """Write a trained model for serving (float32, any batch size, the spec's input and output names)."""
    from .render.summary import format_shape

    exported = write_export(spec, options, trained, out=out, fmt=fmt, warn=_stderr)

    def tensors(described: list[tuple[str, tuple[int | None, ...], str]]) -> str:
        return ", ".join(f"{name} {format_shape(list(shape))} {dtype}" for name, shape, dtype in described)

    typer.echo(f"wrote {exported.path} ({exported.fmt}, {exported.size:,} bytes)")
    typer.echo(f"  inputs:  {tensors(exported.inputs)}")
    typer.echo(f"  outputs: {tensors(exported.outputs)}")


@command()
def catalog(
    refresh: bool = typer.Option(
        False, "--refresh", help="Read the installed Keras again, even if a cached catalog exists."
    ),
) -> None:
    """Show (and cache) what the installed Keras accepts: layer types, losses, metrics, ...
    Without Keras installed, the snapshot shipped with kerasspec, and which Keras it describes."""
    from .catalog import SNAPSHOT, SNAPSHOT_PATH, cache_path, get_catalog, missing_packages

    missing = missing_packages()
    if refresh and missing:
        raise KerasMissing(missing, "--refresh")
    found = get_catalog(refresh=refresh)
    described = f"keras {found.versions['keras']}, tensorflow {found.versions['tensorflow']}"
    if found.origin == SNAPSHOT:
        typer.echo(f"{described}: the snapshot shipped with kerasspec ({' and '.join(missing)} not installed here)")
    else:
        typer.echo(f"{described}: read from the installed Keras")
    for kind in found.kinds:
        typer.echo(f"  {kind}: {len(found.classes(kind))} classes")
    typer.echo(f"snapshot at {SNAPSHOT_PATH}" if found.origin == SNAPSHOT else f"cached at {cache_path()}")


OutTextOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")]


def _print_or_write(text: str, out: Path | None, force: bool) -> None:
    if out is None or str(out) == "-":
        typer.echo(text, nl=False)
        return
    from .files import write_new_text

    write_new_text(out, text, force=force)
    typer.echo(f"wrote {out}", err=True)


@command()
def schema(out: OutTextOpt = None, force: ForceOpt = False) -> None:
    """Print the JSON Schema of the spec format for the installed Keras (for editors and CI)."""
    from .commands import spec_schema_text

    _print_or_write(spec_schema_text(), out, force)


@command(options=SPEC_OPTIONS)
def resolve(options: SpecOptions, spec: SpecArg, out: OutTextOpt = None, force: ForceOpt = False) -> None:
    """Print the spec as kerasspec runs it: vars substituted, --set applied, defaults explicit
    (with --out, paths to other files are rewritten for the file's directory)."""
    from .commands import resolved_spec

    _print_or_write(resolved_spec(spec, options, target_dir=(out or spec).parent), out, force)


@command(name="import")
def import_(
    source: str = typer.Argument(
        ...,
        help="A .keras file, a JSON file from model.to_json(), or keras.applications:NAME (built with weights=None).",
        show_default=False,
        metavar="SOURCE",
    ),
    out: OutTextOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write a Keras model's architecture as a spec (its configuration is read, never run; weights are not)."""
    from .commands import import_model

    _print_or_write(import_model(source), out, force)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("kerasspec: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as done:
        if "tensorflow" in sys.modules:
            exit_without_teardown(done.code)
        raise


def exit_without_teardown(code: object) -> None:
    """Leave a finished command that loaded TensorFlow without the interpreter's teardown.

    Freeing every module and running TensorFlow's C++ static destructors takes 1.2-1.4 s on
    these machines (a tenth of a short training run) and does nothing for us: every file the
    command wrote is closed and renamed into place by then. The atexit handlers still run
    (coverage, logging), output is flushed, and the exit status is kept. Under a profiler or
    tracer, or with KERASSPEC_FULL_EXIT=1, Python exits the usual way.
    """
    import os

    if sys.getprofile() is not None or sys.gettrace() is not None or os.environ.get("KERASSPEC_FULL_EXIT"):
        return
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits with 1
        sys.stderr.write(f"{code}\n")
        status = 1
    import atexit

    atexit._run_exitfuncs()  # what Python itself runs first on the way out
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written
            pass
    os._exit(status)
