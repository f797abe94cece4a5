"""Wall time of `kerasspec validate` on the ticket spec, as a ratio to `import tensorflow`.

Both are measured in this run, interleaved, as fresh processes (what a pre-commit hook pays),
median of N each. Target: ratio <= 0.05. The catalog is warmed first; the one-off cost of
generating it (first run after installing a new Keras) is printed separately.

    .venv/bin/python benchmarks/validate_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "ticket_classifier.yaml"
TARGET = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    kerasspec = [sys.executable, "-m", "kerasspec", "validate", str(SPEC)]
    tensorflow = [sys.executable, "-c", "import tensorflow"]
    env = dict(os.environ)

    cold_cache = tempfile.mkdtemp(prefix="kerasspec-cache-")
    try:
        cold = timed(kerasspec, dict(env, KERASSPEC_CACHE_DIR=cold_cache))
    finally:
        shutil.rmtree(cold_cache, ignore_errors=True)
    timed(kerasspec, env)  # warm the real cache and the OS file cache
    timed(tensorflow, env)

    ours, theirs = [], []
    for _ in range(args.runs):
        ours.append(timed(kerasspec, env))
        theirs.append(timed(tensorflow, env))
    print(f"first validate with an empty catalog cache (generates it once per Keras version): {cold:.3f} s")
    report_ratio(
        f"kerasspec validate {SPEC.relative_to(ROOT)}:", ours, "python -c 'import tensorflow':", theirs, TARGET
    )


if __name__ == "__main__":
    main()
