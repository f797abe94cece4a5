"""Shared by the benchmarks: time one fresh process, failing loudly if it fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_ticket(epochs: int, samples: int, out: Path, *options: str) -> list[str]:
    """`kerasspec train` of the seed's ticket classifier (batch 32) as the benchmarks run it."""
    return [
        sys.executable,
        "-m",
        "kerasspec",
        "train",
        "specs/ticket_classifier.yaml",
        "--epochs",
        str(epochs),
        "--samples",
        str(samples),
        "--batch-size",
        "32",
        "--out",
        str(out),
        *options,
    ]


MEASURE = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if proc.returncode:
    sys.exit(proc.stderr)
print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def peak_rss_mib(cmd: list[str]) -> float:
    """Peak RSS of one fresh process running `cmd` (measured by a parent of its own, whose
    RUSAGE_CHILDREN then holds only that process), in MiB."""
    import json

    proc = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return json.loads(proc.stdout) / 1024  # ru_maxrss is in KiB on Linux


def timed(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> float:
    """Wall time of one fresh process. Python writes and reuses its bytecode, as an installed
    kerasspec and TensorFlow always have it: a shell with PYTHONDONTWRITEBYTECODE would make
    every run compile kerasspec's modules again (about 10 ms of a 0.14 s validate) and nothing of
    TensorFlow, whose install compiled it."""
    environment = dict(env if env is not None else os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=environment)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def report_ratio(ours_label: str, ours: list[float], theirs_label: str, theirs: list[float], target: float) -> float:
    """Print both medians with their runs, the ratio of medians, and the median of the per-pair
    ratios, which is the figure judged against the target: `ours[i]` and `theirs[i]` ran back to
    back, so a slow spell of the machine (single runs here vary by a third over a session)
    slows both sides of a pair and cancels out of its ratio, where it would not out of the
    medians of two separate lists."""
    import statistics

    width = max(len(ours_label), len(theirs_label))
    for label, runs in ((ours_label, ours), (theirs_label, theirs)):
        print(
            f"{label:<{width}}  median {statistics.median(runs):.3f} s  (runs: {', '.join(f'{t:.2f}' for t in runs)})"
        )
    pairs = [a / b for a, b in zip(ours, theirs)]
    ratio = statistics.median(pairs)
    print(f"ratio of medians: {statistics.median(ours) / statistics.median(theirs):.3f}")
    print(f"per-pair ratios: {', '.join(f'{r:.3f}' for r in pairs)}")
    print(
        f"ratio (median of per-pair ratios): {ratio:.3f}  (target <= {target}: {'met' if ratio <= target else 'NOT met'})"
    )
    return ratio
