"""`kerasspec train` of the adapted structured-data example against the same work written by hand.

Both: the 303-row heart CSV of specs/data/heart.csv, 6 Normalization and 6 lookup layers adapted
on the 243 training rows, 5 epochs at batch 32 with a 0.2 validation split, model saved as .keras.
kerasspec builds the spec twice (once describe-only, so the parameter limit is checked before
anything is allocated; once adapting each layer before it is called), keeps what was adapted
and writes its run directory. Runs are fresh processes, interleaved in rounds whose order
alternates; the figure judged is the median of the per-pair ratios. Target <= 1.10.

    .venv/bin/python benchmarks/adapt_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, report_ratio, timed  # noqa: E402

TARGET = 1.10

PLAIN = """
import csv, math, os, sys
import numpy as np
import keras
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(1337)
NUMERIC = ["age", "trestbps", "chol", "thalach", "oldpeak", "slope"]
INTEGER = ["sex", "cp", "fbs", "restecg", "exang", "ca"]
with open(sys.argv[1], newline="") as handle:
    table = list(csv.DictReader(handle))
data = {n: np.array([[float(r[n])] for r in table], "float32") for n in NUMERIC}
data.update({n: np.array([[int(r[n])] for r in table], "int64") for n in INTEGER})
data["thal"] = np.array([[r["thal"]] for r in table])
target = np.array([[float(r["target"])] for r in table], "float32")
train_rows = math.ceil(len(table) * 0.8)
inputs = {n: keras.Input((1,), name=n) for n in NUMERIC}
inputs.update({n: keras.Input((1,), name=n, dtype="int64") for n in INTEGER})
inputs["thal"] = keras.Input((1,), name="thal", dtype="string")
encoded = []
for n in INTEGER + ["thal"]:
    if n == "cp":
        encoded.append(layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(inputs[n]))
        continue
    lookup = (layers.StringLookup if n == "thal" else layers.IntegerLookup)(output_mode="multi_hot")
    lookup.adapt(data[n][:train_rows])
    encoded.append(lookup(inputs[n]))
for n in NUMERIC:
    norm = layers.Normalization()
    norm.adapt(data[n][:train_rows])
    encoded.append(norm(inputs[n]))
x = layers.Concatenate()(encoded)
x = layers.Dense(32, activation="relu")(x)
x = layers.Dropout(0.5)(x)
output = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, output)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
x = {n: (tf.constant(v) if n == "thal" else v) for n, v in data.items()}
model.fit(x, target, epochs=5, batch_size=32, validation_split=0.2, verbose=2)
model.save(sys.argv[2])
sys.stdout.flush()
os._exit(0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "plain_heart.py"
        script.write_text(PLAIN)
        for i in range(args.runs + 1):  # the first round warms caches and is not counted
            commands = {
                "ours": [
                    sys.executable,
                    "-m",
                    "kerasspec",
                    "train",
                    "specs/structured_data.yaml",
                    "--epochs",
                    "5",
                    "--out",
                    str(Path(tmp) / f"run{i}"),
                    "--quiet",
                ],
                "plain": [
                    sys.executable,
                    str(script),
                    str(ROOT / "specs" / "data" / "heart.csv"),
                    str(Path(tmp) / f"plain{i}.keras"),
                ],
            }
            order = list(commands) if i % 2 else list(reversed(commands))
            elapsed = {name: timed(commands[name]) for name in order}
            if i:
                ours.append(elapsed["ours"])
                plain.append(elapsed["plain"])
    report_ratio(
        "kerasspec train (adapt 12 layers, 5 epochs, run dir):",
        ours,
        "hand-written keras (same adapt and fit, os._exit):",
        plain,
        TARGET,
    )


if __name__ == "__main__":
    main()
