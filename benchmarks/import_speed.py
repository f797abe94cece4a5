"""`kerasspec import` of the 1,040-layer NASNetLarge against `kerasspec summary` of the spec it
writes, as fresh processes, interleaved, N runs each; the ratio is printed. Target: <= 1.5.

Two sources: `keras.applications:NASNetLarge` (Keras builds the model, shapes only) and the same
model's `model.to_json()` file, written once before the timing.

    .venv/bin/python benchmarks/import_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402

TARGET = 1.5
MODEL = "NASNetLarge"

WRITE_JSON = f"""
import sys, keras
with keras.StatelessScope(initialize_variables=False):
    model = keras.applications.{MODEL}(weights=None)
open(sys.argv[1], "w").write(model.to_json())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / f"{MODEL}.json"
        subprocess.run([sys.executable, "-c", WRITE_JSON, str(config)], check=True, capture_output=True)
        spec = Path(tmp) / "nasnet.yaml"
        kerasspec = [sys.executable, "-m", "kerasspec"]
        summary_cmd = [*kerasspec, "summary", str(spec)]
        for source in (f"keras.applications:{MODEL}", str(config)):
            import_cmd = [*kerasspec, "import", source, "-o", str(spec), "--force"]
            timed(import_cmd), timed(summary_cmd)  # warm caches (and write the spec summary reads)
            imports, summaries = [], []
            for _ in range(args.runs):
                imports.append(timed(import_cmd))
                summaries.append(timed(summary_cmd))
            print(f"source: {source if source.startswith('keras.') else 'model.to_json() file'}")
            report_ratio(f"kerasspec import {MODEL}:", imports, "kerasspec summary of its spec:", summaries, TARGET)
            print()


if __name__ == "__main__":
    main()
