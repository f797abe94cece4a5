"""Reloading a run for `evaluate --run`: the model rebuilt from spec.resolved.yaml with
model.weights.h5 loaded (and checked against the file's layout), against Keras loading the
run's model.keras.

The reload itself is timed in one process, so that start-up does not drown it: kerasspec's
`rebuilt_model` (build, compile, weights checked and loaded) against `keras.saving.load_model`
(which compiles too) on the same run, interleaved, each after `clear_session`, the first pair
not counted; the figure is the median of the per-pair ratios. Target <= 1.1. With `--cli`, the
whole `evaluate --run RUN` against `evaluate --model RUN/model.keras` in fresh processes too.

    .venv/bin/python benchmarks/reload_speed.py [--spec specs/ticket_classifier.yaml] [--runs 15] [--cli 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, report_ratio, timed  # noqa: E402

TARGET = 1.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="specs/ticket_classifier.yaml")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cli", type=int, default=0, help="also time the whole CLI this many times")
    args = parser.parse_args()
    spec_path = ROOT / args.spec
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        trained = subprocess.run(
            [sys.executable, "-m", "kerasspec", "train", str(spec_path), "--epochs", "1", "--samples", "64"]
            + ["--quiet", "--out", str(run)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if trained.returncode != 0 or not (run / "model.keras").is_file():
            sys.exit(f"training the run failed (or wrote no model.keras):\n{trained.stderr}")
        in_process(spec_path, run, args.runs)
        if args.cli:
            whole_cli(spec_path, run, args.cli)


def in_process(spec_path: Path, run: Path, runs: int) -> None:
    import warnings

    from kerasspec._keras import import_keras
    from kerasspec.commands import SpecOptions, load_spec, rebuilt_model

    keras = import_keras()
    spec = load_spec(spec_path, SpecOptions())
    warnings.filterwarnings("ignore")  # Keras's notes on the optimizer's state, the same each time
    timings: dict[str, list[float]] = {"rebuild": [], "load_model": []}
    for i in range(runs + 1):  # the first pair warms caches and is not counted
        for side in ("rebuild", "load_model"):
            keras.utils.clear_session()
            start = time.perf_counter()
            if side == "rebuild":
                rebuilt_model(spec, keras, run)
            else:
                keras.saving.load_model(run / "model.keras")
            if i:
                timings[side].append(time.perf_counter() - start)
    print(f"{spec.name}: reloading a trained run, in one process")
    report_ratio(
        "rebuild from spec.resolved.yaml + weights:",
        timings["rebuild"],
        "keras.saving.load_model(model.keras):",
        timings["load_model"],
        TARGET,
    )


def whole_cli(spec_path: Path, run: Path, runs: int) -> None:
    base = [sys.executable, "-m", "kerasspec", "evaluate", str(spec_path), "--samples", "64", "--json"]
    timings: dict[str, list[float]] = {"run": [], "model": []}
    for i in range(runs + 1):
        for side, extra in (("run", ["--run", str(run)]), ("model", ["--model", str(run / "model.keras")])):
            elapsed = timed(base + extra)
            if i:
                timings[side].append(elapsed)
    print("the whole `kerasspec evaluate`, fresh processes")
    report_ratio("evaluate --run RUN:", timings["run"], "evaluate --model RUN/model.keras:", timings["model"], TARGET)


if __name__ == "__main__":
    main()
