"""`kerasspec summary` on the ticket spec against a plain Keras script doing the same work.

The plain script imports keras, builds the seed's ticket classifier by hand and calls
`model.summary()`. Both run as fresh processes, interleaved, N times each; the ratio of
medians is printed. Target: <= 1.3.

    .venv/bin/python benchmarks/summary_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3

PLAIN = """
import keras
from keras import layers

vocabulary_size, num_tags, num_departments = 10000, 100, 4
title = keras.Input(shape=(vocabulary_size,), name="title")
text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
tags = keras.Input(shape=(num_tags,), name="tags")
features = layers.Concatenate(name="features")([title, text_body, tags])
features = layers.Dense(64, activation="relu", name="hidden")(features)
priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
department = layers.Dense(num_departments, activation="softmax", name="department")(features)
model = keras.Model(inputs=[title, text_body, tags], outputs=[priority, department], name="ticket_classifier")
model.summary()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain_script = Path(tmp) / "plain_ticket_summary.py"
        plain_script.write_text(PLAIN)
        ours_cmd = [sys.executable, "-m", "kerasspec", "summary", "specs/ticket_classifier.yaml"]
        plain_cmd = [sys.executable, str(plain_script)]
        timed(ours_cmd), timed(plain_cmd)  # warm caches
        ours, plain = [], []
        for _ in range(args.runs):
            ours.append(timed(ours_cmd))
            plain.append(timed(plain_cmd))
    report_ratio("kerasspec summary ticket_classifier:", ours, "plain keras + model.summary():", plain, TARGET)


if __name__ == "__main__":
    main()
