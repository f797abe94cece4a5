"""history.png: loss and metrics per epoch, drawn with matplotlib.

Importing matplotlib costs about 0.8 s and drawing five panels about 0.2 s, a tenth of a short
training run. `HistoryPlotter` starts a helper process (`python -m kerasspec.render.history`)
before TensorFlow is imported, so matplotlib loads on the other core while the main process
imports TensorFlow and trains; at the end the helper draws while the model is saved and the
metrics table printed. If the helper cannot run, the picture is drawn in-process instead: the
result is the same file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..files import write_new_file

DPI = 96


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> None:
    """Loss and metrics per epoch (validation dashed), one panel each. Uses matplotlib's
    object API with the Agg canvas: no pyplot, no global state, no display needed."""
    figure = _draw(history, title)
    write_new_file(path, lambda tmp: figure.savefig(tmp, format="png", dpi=DPI))


def _draw(history: dict[str, list[float]], title: str) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = sorted({k[4:] if k.startswith("val_") else k for k in history})
    figure = Figure(figsize=(7, 2.6 * len(names)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(names), 1, squeeze=False)
    for axis, name in zip(axes[:, 0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            if key in history:
                values = history[key]
                axis.plot(range(1, len(values) + 1), values, style, label=key)
        axis.set_ylabel(name)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend(loc="best")
        axis.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("epoch")
    figure.suptitle(title)
    # Fixed margins in inches rather than tight_layout(), which measures every label by drawing
    # the figure once more: a third of the drawing time, and these labels are of known size.
    height = figure.get_figheight()
    figure.subplots_adjust(left=1.1 / 7, right=1 - 0.2 / 7, top=1 - 0.55 / height, bottom=0.5 / height, hspace=0.45)
    return figure


class HistoryPlotter:
    """A helper process that has imported matplotlib and waits for one history to draw."""

    def __init__(self, start: bool = True) -> None:
        self.process: subprocess.Popen | None = None
        self.request: tuple[dict[str, list[float]], Path, str] | None = None
        if not start:  # draw in this process
            return
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kerasspec.render.history"],
                # Nothing reads its output: a pipe left unread would stall it once full.
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            self.process = None

    def submit(self, history: dict[str, list[float]], path: Path, title: str) -> None:
        """Hand the history over; the helper draws while the caller goes on (see `finish`)."""
        self.request = (history, Path(path), title)
        if self.process is not None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(
                    json.dumps({"history": history, "path": str(Path(path).resolve()), "title": title})
                )
                self.process.stdin.close()
            except OSError:
                self.close()

    def finish(self) -> None:
        """Wait for the picture; draw it here if the helper failed. Nothing to do if no history
        was submitted (a run of zero epochs)."""
        if self.request is None:
            self.close()
            return
        history, path, title = self.request
        process, self.process = self.process, None
        if process is not None:
            try:
                process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode == 0 and path.exists():
                return
        if not path.exists():
            plot_history(history, path, title)

    def close(self) -> None:
        """Stop the helper if the run ended before it was used (an error, an interrupt)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> HistoryPlotter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _serve() -> None:
    import io

    # While the caller imports TensorFlow and trains: import matplotlib and draw a throwaway
    # history, so that fonts, text layout and the PNG writer are loaded before the real one
    # arrives (a first drawing in a new process takes about three times as long as the next).
    _draw({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, "warm-up").savefig(io.BytesIO(), format="png", dpi=DPI)
    request = json.loads(sys.stdin.read() or "null")
    if request is None:  # the caller stopped before training ended
        return
    plot_history(request["history"], Path(request["path"]), request["title"])
    # The file is written and renamed into place; the caller waits for this process to end, and
    # freeing matplotlib's modules would add a fifth to that wait for nothing.
    os._exit(0)


if __name__ == "__main__":
    _serve()
