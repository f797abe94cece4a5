"""`kerasspec train --loop custom` (the hand-written GradientTape loop) against `--loop fit`.

Both train the ticket classifier for 3 epochs on 1,280 synthetic samples, batch 32, and write
the same run directory; runs are fresh processes, interleaved; ratio of medians. Target <= 1.2.

    .venv/bin/python benchmarks/custom_loop.py [--runs 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed, train_ticket  # noqa: E402

TARGET = 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"custom": [], "fit": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs + 1):  # the first pair warms caches and is not counted
            for loop in ("custom", "fit"):
                elapsed = timed(train_ticket(3, 1280, Path(tmp) / f"{loop}{i}", "--loop", loop, "--quiet"))
                if i:
                    runs[loop].append(elapsed)
    report_ratio("kerasspec train --loop custom:", runs["custom"], "kerasspec train --loop fit:", runs["fit"], TARGET)


if __name__ == "__main__":
    main()
