"""The `kerasspec` command: parse options, call the library, print, choose the exit code.

Nothing here imports TensorFlow at import time; commands that build models import it
inside their own code paths.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, SpecError, SpecErrors

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


# Options every model-building command takes, declared once.
SetOpt = Annotated[list[str], typer.Option("--set", help=SET_HELP, metavar="KEY=VALUE")]
AllowCodeOpt = Annotated[bool, typer.Option("--allow-code", help=ALLOW_CODE_HELP)]
DebugOpt = Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)]


def _stderr(text: str) -> None:
    typer.echo(text, err=True)


def print_spec_errors(errors: list[SpecError]) -> None:
    for error in errors:
        _stderr(error.render())


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Turn every failure into a located message and an exit code; never a bare traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
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
        if debug:
            traceback.print_exc()
        _stderr(
            f"kerasspec: internal error: {type(exc).__name__}: {exc}. This is a bug in kerasspec; "
            "please report it with the spec and the output of the same command with --debug."
        )
        raise typer.Exit(EXIT_INTERNAL) from None


INPUT_SHAPE_HELP = "Input shape for a sequential spec without `input:`, e.g. 3 or 28,28,1 (null for any size)."
MAX_PARAMS_HELP = "Refuse models with more parameters than this, before allocating any weights."
InputShapeOpt = Annotated[str | None, typer.Option("--input-shape", help=INPUT_SHAPE_HELP)]
MaxParamsOpt = Annotated[str, typer.Option("--max-params", help=MAX_PARAMS_HELP)]


def parse_max_params(text: str) -> int:
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


def build_spec(path: Path, overrides: list[str], allow_code: bool, input_shape: str | None, max_params: str, spec=None):
    """Load and check one spec (unless given one already loaded), then build it; build warnings go
    to stderr, located like errors."""
    from .builder import build, parse_input_shape
    from .check import load

    shape = parse_input_shape(input_shape) if input_shape else None
    limit = parse_max_params(max_params)
    loaded = spec if spec is not None else load(path, overrides, allow_code=allow_code)
    built = build(loaded, input_shape=shape, max_params=limit)
    for warning in built.warnings:
        _stderr(warning.render())
    return built


def require_built(built) -> None:
    if not built.is_built:
        spec = built.spec
        raise SpecError(
            spec.tree.key_mark("layers") if "layers" in spec.tree else spec.tree.mark,
            "the model has no input shape, so it cannot be built",
            hint="add `input: {shape: [...]}` to the spec, or pass --input-shape (e.g. --input-shape 3)",
            code="not-built",
        )


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


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


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Spec files to check.", show_default=False),
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    output_format: str = typer.Option(
        "text", "--format", help="text, or json (one document listing every file and error)."
    ),
    build: bool = typer.Option(
        False,
        "--build",
        help="Also build each model symbolically (imports Keras): shapes, values, the parameter limit.",
    ),
    input_shape: InputShapeOpt = None,
    max_params: MaxParamsOpt = "2e9",
    debug: DebugOpt = False,
) -> None:
    """Check spec files (statically; never imports TensorFlow unless --build): `PATH: ok`, or every error as PATH:LINE:COL."""
    from .check import load

    with reported_errors(debug):
        if output_format not in ("text", "json"):
            raise SpecError(None, f"unknown --format '{output_format}'; use text or json", source="--format")
        parse_max_params(max_params)
        results = []
        for file in files:
            try:
                if build:
                    build_spec(file, overrides, allow_code, input_shape, max_params)
                else:
                    load(file, overrides, allow_code=allow_code)
                errors: list[SpecError] = []
            except SpecErrors as exc:
                errors = exc.errors
            except SpecError as exc:
                errors = [exc]
            results.append((str(file), errors))
            if output_format == "text":
                if errors:
                    print_spec_errors(errors)
                else:
                    typer.echo(f"{file}: ok")
        if output_format == "json":
            document = [
                {"path": path, "ok": not errors, "errors": [e.as_dict() for e in errors]} for path, errors in results
            ]
            typer.echo(json.dumps(document, indent=2))
        if any(errors for _, errors in results):
            raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def summary(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print a stable JSON document instead of the table."),
    expand_nested: bool = typer.Option(False, "--expand-nested", help="Show the layers of nested models too."),
    layer: str | None = typer.Option(
        None, "--layer", help="Show one layer's input and output tensors (nested: outer/inner)."
    ),
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    input_shape: InputShapeOpt = None,
    max_params: MaxParamsOpt = "2e9",
    debug: DebugOpt = False,
) -> None:
    """Build the model and show its layers, output shapes, parameters and connections."""
    with reported_errors(debug):
        built = build_spec(spec, overrides, allow_code, input_shape, max_params)
        require_built(built)
        from .render.summary import inspect_layer, render_layer, render_summary, summary_document

        if layer is not None:
            info = inspect_layer(built.model, layer, built.tensor_names)
            if as_json:
                typer.echo(json.dumps(info, indent=2))
            else:
                render_layer(info, stdout_console())
            return
        document = summary_document(built.model, built.spec.kind, expand_nested, built.tensor_names)
        if as_json:
            typer.echo(json.dumps(document, indent=2))
        else:
            render_summary(document, stdout_console())


@app.command()
def plot(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
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
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    input_shape: InputShapeOpt = None,
    max_params: MaxParamsOpt = "2e9",
    debug: DebugOpt = False,
) -> None:
    """Draw the model: PNG/SVG/PDF/DOT through Keras's plot_model, or a Mermaid flowchart for GitHub."""
    from .render.plot import EXTENSION, GRAPHVIZ_FORMATS, PlotOptions, choose_format, render_text, write_plot

    with reported_errors(debug):
        fmt = choose_format(output, output_format)
        if rankdir.upper() not in ("TB", "LR"):
            raise SpecError(None, f"bad --rankdir '{rankdir}': use TB or LR", source="--rankdir", code="bad-option")
        if dpi < 1:
            raise SpecError(None, f"bad --dpi {dpi}: give a positive number", source="--dpi", code="bad-option")
        if output == "-" and fmt in GRAPHVIZ_FORMATS:
            raise SpecError(
                None,
                f"{fmt.upper()} cannot go to standard output; give -o FILE, or use --format dot or mermaid",
                source="-o",
                code="bad-option",
            )
        built = build_spec(spec, overrides, allow_code, input_shape, max_params)
        require_built(built)
        from .render.graph import is_subclassed

        if is_subclassed(built.model) and fmt != "mermaid":
            _stderr(
                f"note: {built.model.name} is a subclassed model: its layers are called in Python code, so Keras has no "
                "layer graph to draw and shows the model as one box; `kerasspec summary` lists its layers"
            )
        options = PlotOptions(
            show_shapes,
            show_dtype,
            show_layer_names,
            show_layer_activations,
            show_trainable,
            expand_nested,
            rankdir.upper(),
            dpi,
        )
        if output == "-":
            typer.echo(render_text(built.model, fmt, options), nl=False)
            return
        target = Path(output) if output else Path(built.model.name + EXTENSION[fmt])
        write_plot(built.model, target, fmt, options, force=force)
        typer.echo(f"wrote {target} ({fmt}, {target.stat().st_size:,} bytes)")


SamplesOpt = Annotated[
    int | None, typer.Option("--samples", min=1, help="Rows of synthetic data (default: data.samples, else 1280).")
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


def _saved_model_path(model: Path | None, run: Path | None) -> Path:
    if (model is None) == (run is None):
        raise SpecError(
            None,
            "give the trained model with --model RUN/model.keras or --run RUN",
            source="--model",
            code="bad-option",
        )
    return model if model is not None else run / "model.keras"  # type: ignore[operator]


@app.command()
def train(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs (default: train.epochs, else 1)."),
    batch_size: BatchOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    out: Path | None = typer.Option(None, "--out", help="Run directory (new or empty). Default: runs/<name>-<time>/."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    loop: LoopOpt = None,
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    input_shape: InputShapeOpt = None,
    max_params: MaxParamsOpt = "2e9",
    debug: DebugOpt = False,
) -> None:
    """Compile and fit the model on the spec's data; write a run directory."""
    with reported_errors(debug):
        from .render.history import HistoryPlotter
        from .runner import chosen_loop, data_settings
        from .runner import train as run_training

        spec_obj = _load_for_run(spec, overrides, allow_code)
        chosen_loop(spec_obj, loop)
        settings = data_settings(spec_obj, samples, batch_size, seed)
        with HistoryPlotter() as plotter:  # loads matplotlib on the other core while TensorFlow loads here
            keras = _seeded_keras(settings.seed)
            built = build_spec(spec, overrides, allow_code, input_shape, max_params, spec=spec_obj)
            require_built(built)
            run_dir, _history, final = run_training(
                built, keras, epochs=epochs, settings=settings, out=out, quiet=quiet, loop=loop, plotter=plotter
            )
            if not quiet:
                print_metrics(f"{built.spec.name}: final metrics", final)
            plotter.finish()  # history.png was drawn while the model was saved and the table printed
        typer.echo(f"run directory: {run_dir}")


def _load_for_run(spec: Path, overrides: list[str], allow_code: bool):
    from .check import load

    return load(spec, overrides, allow_code=allow_code)


def _seeded_keras(seed: int):
    from ._keras import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    return keras


def _trained(spec: Path, overrides: list[str], allow_code: bool, samples, batch_size, seed, model, run, spec_obj=None):
    """What evaluate and predict start from: the checked spec, data settings, seeded Keras, the
    saved model (loaded in safe mode and matched against the spec)."""
    from .runner import data_settings, load_saved_model

    spec_obj = spec_obj or _load_for_run(spec, overrides, allow_code)
    settings = data_settings(spec_obj, samples, batch_size, seed)
    keras = _seeded_keras(settings.seed)
    loaded = load_saved_model(spec_obj, keras, _saved_model_path(model, run))
    return spec_obj, settings, keras, loaded


@app.command()
def evaluate(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    model: Path | None = typer.Option(None, "--model", help="A saved model (RUN/model.keras)."),
    run: Path | None = typer.Option(None, "--run", help="A run directory written by `train`."),
    batch_size: BatchOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    as_json: JsonOpt = False,
    loop: LoopOpt = None,
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Evaluate a trained model (loaded in Keras's safe mode) on the spec's data."""
    with reported_errors(debug):
        from .builder import Built
        from .runner import datasets, evaluate_custom, evaluation_loop

        spec_obj = _load_for_run(spec, overrides, allow_code)
        which = evaluation_loop(spec_obj, loop)
        spec_obj, settings, keras, loaded = _trained(
            spec, overrides, allow_code, samples, batch_size, seed, model, run, spec_obj
        )
        settings.validation_split = 0.0
        built = Built(loaded, spec_obj)
        kwargs = datasets(built, keras, settings)
        if which == "custom":
            results = evaluate_custom(built, keras, kwargs, settings)
        else:
            results = loaded.evaluate(**kwargs, verbose=0, return_dict=True)
        values = {k: float(v) for k, v in results.items()}
        if as_json:
            typer.echo(json.dumps(values, indent=2))
        else:
            print_metrics(f"{spec_obj.name}: evaluation on {settings.samples} samples", values)


@app.command()
def predict(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    model: Path | None = typer.Option(None, "--model", help="A saved model (RUN/model.keras)."),
    run: Path | None = typer.Option(None, "--run", help="A run directory written by `train`."),
    out: Path = typer.Option(
        Path("predictions.npz"), "--out", help="Where to write the predictions (.npz, one array per output)."
    ),
    outputs: str | None = typer.Option(
        None, "--outputs", help="Comma-separated layer names: their outputs instead (feature extraction)."
    ),
    batch_size: BatchOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Predict on the spec's inputs; write one array per output (or per --outputs layer) to an .npz."""
    with reported_errors(debug):
        import numpy as np

        from .builder import Built
        from .data import named_outputs
        from .files import write_new_file
        from .runner import datasets, feature_model

        if out.suffix != ".npz":
            raise SpecError(
                None, "predictions are written as .npz; name the file *.npz", source=str(out), code="bad-option"
            )
        spec_obj, settings, keras, loaded = _trained(spec, overrides, allow_code, samples, batch_size, seed, model, run)
        kwargs = datasets(Built(loaded, spec_obj), keras, settings, with_targets=False)
        target = (
            feature_model(keras, loaded, [n.strip() for n in outputs.split(",") if n.strip()]) if outputs else loaded
        )
        predictions = target.predict(**kwargs, verbose=0)
        if isinstance(predictions, dict):
            arrays = dict(predictions)
        elif isinstance(predictions, (list, tuple)):
            arrays = {name: p for (name, _), p in zip(named_outputs(loaded), predictions)}
        else:
            arrays = {named_outputs(target)[0][0]: predictions}
        write_new_file(out, lambda tmp: np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()}), force=force)
        shapes = ", ".join(f"{k} {tuple(np.asarray(v).shape)}" for k, v in arrays.items())
        typer.echo(f"wrote {out}: {shapes}")


@app.command()
def catalog(
    refresh: bool = typer.Option(
        False, "--refresh", help="Read the installed Keras again, even if a cached catalog exists."
    ),
    debug: DebugOpt = False,
) -> None:
    """Show (and cache) what the installed Keras accepts: layer types, losses, metrics, ..."""
    from .catalog import cache_path, get_catalog

    with reported_errors(debug):
        found = get_catalog(refresh=refresh)
        typer.echo(f"keras {found.versions['keras']}, tensorflow {found.versions['tensorflow']}")
        for kind in found.kinds:
            typer.echo(f"  {kind}: {len(found.classes(kind))} classes")
        typer.echo(f"cached at {cache_path()}")


@app.command()
def schema(
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the schema to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    debug: DebugOpt = False,
) -> None:
    """Print the JSON Schema of the spec format for the installed Keras (for editors and CI)."""
    from .catalog import get_catalog
    from .format.schema import json_schema

    with reported_errors(debug):
        text = json.dumps(json_schema(get_catalog()), indent=1, sort_keys=False) + "\n"
        if out is None or str(out) == "-":
            typer.echo(text, nl=False)
            return
        from .files import write_new_text

        write_new_text(out, text, force=force)
        typer.echo(f"wrote {out}", err=True)


@app.command()
def resolve(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write it to this file (paths rewritten for its directory)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    overrides: SetOpt = [],
    allow_code: AllowCodeOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Print the spec as kerasspec runs it: vars substituted, --set applied, defaults explicit."""
    from .check import load
    from .resolve import resolved_text

    with reported_errors(debug):
        loaded = load(spec, overrides, allow_code=allow_code)
        if out is None or str(out) == "-":
            typer.echo(resolved_text(loaded, spec.parent, "resolved"), nl=False)
            return
        from .files import write_new_text

        write_new_text(out, resolved_text(loaded, out.parent, "resolved"), force=force)
        typer.echo(f"wrote {out}", err=True)


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
