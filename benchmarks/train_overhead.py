"""`kerasspec train` of the ticket classifier against the same work written by hand.

Both: 3 epochs, 1,280 samples, batch 32, model saved as .keras. The hand-written script
builds the seed's model, compiles it as the spec does, fits on in-memory NumPy arrays and
saves. kerasspec also streams its data batch by batch, writes history/metrics/plot files
and checks the spec. Runs are fresh processes, interleaved; ratio of medians. Target <= 1.10.

    .venv/bin/python benchmarks/train_overhead.py [--runs 9]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402

TARGET = 1.10

PLAIN = '''
import sys
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
vocabulary_size, num_tags, num_departments, samples = 10000, 100, 4, 1280
title = keras.Input(shape=(vocabulary_size,), name="title")
text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
tags = keras.Input(shape=(num_tags,), name="tags")
features = layers.Concatenate()([title, text_body, tags])
features = layers.Dense(64, activation="relu")(features)
priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
department = layers.Dense(num_departments, activation="softmax", name="department")(features)
model = keras.Model(inputs=[title, text_body, tags], outputs=[priority, department])
model.compile(optimizer="rmsprop",
              loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"},
              metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]})
rng = np.random.default_rng(0)
title_data = rng.integers(0, 2, size=(samples, vocabulary_size)).astype("float32")
text_body_data = rng.integers(0, 2, size=(samples, vocabulary_size)).astype("float32")
tags_data = rng.integers(0, 2, size=(samples, num_tags)).astype("float32")
priority_data = rng.random(size=(samples, 1)).astype("float32")
department_data = np.eye(num_departments)[rng.integers(0, num_departments, size=samples)].astype("float32")
model.fit({"title": title_data, "text_body": text_body_data, "tags": tags_data},
          {"priority": priority_data, "department": department_data}, epochs=3, batch_size=32, verbose=2)
model.save(sys.argv[1])
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)  # run-to-run noise here is about ±0.6 s
    args = parser.parse_args()
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "plain_ticket_train.py"
        script.write_text(PLAIN)
        for i in range(args.runs + 1):  # the first pair warms caches and is not counted
            a = timed([sys.executable, "-m", "kerasspec", "train", "specs/ticket_classifier.yaml", "--epochs", "3",
                       "--samples", "1280", "--batch-size", "32", "--out", str(Path(tmp) / f"run{i}")])
            b = timed([sys.executable, str(script), str(Path(tmp) / f"plain{i}.keras")])
            if i:
                ours.append(a)
                plain.append(b)
    report_ratio("kerasspec train (3 epochs, 1,280 samples, run dir):", ours,
                 "hand-written keras (same work, NumPy in memory):", plain, TARGET)


if __name__ == "__main__":
    main()
