"""`kerasspec diff` of two 1,000-layer specs against one `kerasspec summary` of one of them, as
fresh processes in the same run (the generated spec of validate_large.py; the new version changes
one layer's width, so the shapes and parameters of its consumers change too). Target: the diff
costs at most 1.5x the summary.

    .venv/bin/python benchmarks/diff_speed.py [--runs 3] [--layers 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402
from validate_large import spec_text  # noqa: E402

TARGET_RATIO = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old.yaml", Path(tmp) / "new.yaml"
        text = spec_text(args.layers)
        old.write_text(text, encoding="utf-8")
        changed = f"name: l{args.layers // 2 + 1}, inputs: l{args.layers // 2}, units: 32,"
        assert changed in text
        new.write_text(text.replace(changed, changed.replace("units: 32", "units: 48")), encoding="utf-8")
        diff = [sys.executable, "-m", "kerasspec", "diff", str(old), str(new), "--format", "json"]
        summary = [sys.executable, "-m", "kerasspec", "summary", str(old), "--json"]
        timed(summary)  # warm the catalog cache and the OS file cache
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(timed(diff, ok=(1,)))
            theirs.append(timed(summary))
        report_ratio(
            f"kerasspec diff (two {args.layers}-layer specs):", ours, "kerasspec summary (one):", theirs, TARGET_RATIO
        )


if __name__ == "__main__":
    main()
