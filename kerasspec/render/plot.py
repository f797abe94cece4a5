"""`kerasspec plot`: pictures of a built model.

PNG, SVG and PDF come from Keras's own `keras.utils.plot_model` (pydot + Graphviz), DOT from
`keras.utils.model_to_dot` (no Graphviz program needed), Mermaid from `render.mermaid`.
Files are written through `files.write_new_file`: atomically, never over an existing file
unless forced.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..files import write_new_file, write_new_text

GRAPHVIZ_FORMATS = ("png", "svg", "pdf")
TEXT_FORMATS = ("dot", "mermaid")
FORMATS = GRAPHVIZ_FORMATS + TEXT_FORMATS
EXTENSION = {"png": ".png", "svg": ".svg", "pdf": ".pdf", "dot": ".dot", "mermaid": ".mmd"}


@dataclass
class PlotOptions:
    show_shapes: bool = True
    show_dtype: bool = False
    show_layer_names: bool = True
    show_layer_activations: bool = False
    show_trainable: bool = False
    expand_nested: bool = False
    rankdir: str = "TB"
    dpi: int = 200

    def keras_kwargs(self) -> dict[str, Any]:
        return {
            "show_shapes": self.show_shapes,
            "show_dtype": self.show_dtype,
            "show_layer_names": self.show_layer_names,
            "show_layer_activations": self.show_layer_activations,
            "show_trainable": self.show_trainable,
            "expand_nested": self.expand_nested,
            "rankdir": self.rankdir,
            "dpi": self.dpi,
        }


def choose_format(output: str | None, requested: str | None) -> str:
    """The format: `--format` if given, else the output file's extension, else PNG."""
    if requested:
        fmt = requested.lower()
        if fmt not in FORMATS:
            raise SpecError(
                None,
                f"unknown format '{requested}'; use one of {', '.join(FORMATS)}",
                source="--format",
                code="bad-option",
            )
        return fmt
    if output in (None, "-"):
        return "png" if output is None else "mermaid"
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix in ("mmd", "mermaid"):
        return "mermaid"
    if suffix in FORMATS:
        return suffix
    raise SpecError(
        None,
        f"cannot tell the format from '{output}'",
        hint="name the file .png, .svg, .pdf, .dot or .mmd, or pass --format",
        source=output,
        code="bad-option",
    )


def graphviz_missing_error(target: str, fmt: str) -> SpecError:
    return SpecError(
        None,
        f"{fmt.upper()} output needs Graphviz's `dot` program, which is not installed",
        hint="install it (Debian/Ubuntu: apt-get install graphviz; `bash scripts/dev.sh demo` does it as root); "
        "`--format dot` and `--format mermaid` work without it",
        source=target,
        code="no-graphviz",
    )


def render_text(model: Any, fmt: str, options: PlotOptions) -> str:
    if fmt == "mermaid":
        from .mermaid import render_mermaid

        return render_mermaid(
            model,
            direction=options.rankdir,
            expand_nested=options.expand_nested,
            show_shapes=options.show_shapes,
            show_dtype=options.show_dtype,
        )
    import keras

    kwargs = options.keras_kwargs()
    dot = keras.utils.model_to_dot(model, **kwargs)
    return dot.to_string()


def write_plot(model: Any, target: Path, fmt: str, options: PlotOptions, *, force: bool) -> None:
    if fmt in TEXT_FORMATS:
        write_new_text(target, render_text(model, fmt, options), force=force)
        return
    if shutil.which("dot") is None:
        raise graphviz_missing_error(str(target), fmt)
    import keras

    def draw(tmp: Path) -> None:
        # plot_model picks the format from the extension: give the temporary file the format's.
        drawn = tmp.with_suffix(EXTENSION[fmt])
        try:
            keras.utils.plot_model(model, to_file=str(drawn), **options.keras_kwargs())
        except ImportError:
            raise graphviz_missing_error(str(target), fmt) from None
        if drawn != tmp:
            drawn.replace(tmp)

    write_new_file(target, draw, force=force)
