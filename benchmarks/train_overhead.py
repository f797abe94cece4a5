"""`kerasspec train` of the ticket classifier against the same work written by hand.

Both: 3 epochs, 1,280 samples, batch 32, model saved as .keras. The hand-written script
builds the seed's model, compiles it as the spec does, fits on in-memory NumPy arrays and
saves. kerasspec also streams its data batch by batch, writes history/metrics/plot files
and checks the spec. Runs are fresh processes, interleaved in rounds whose order alternates;
the figure judged is the median of the per-pair ratios (see _timing.report_ratio). Target <= 1.10.
A third process, the hand-written script ending in os._exit as kerasspec does, shows how much
of the result comes from skipping the interpreter's teardown and how much is kerasspec's own work.

    .venv/bin/python benchmarks/train_overhead.py [--runs 9]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed, train_ticket  # noqa: E402

TARGET = 1.10

PLAIN = """
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
"""

QUICK_EXIT = """
import os
sys.stdout.flush()
os._exit(0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    ours, plain, plain_quick_exit = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        script, quick = Path(tmp) / "plain_ticket_train.py", Path(tmp) / "plain_quick_exit.py"
        script.write_text(PLAIN)
        quick.write_text(PLAIN + QUICK_EXIT)
        for i in range(args.runs + 1):  # the first round warms caches and is not counted
            commands = {
                "ours": train_ticket(3, 1280, Path(tmp) / f"run{i}"),
                "plain": [sys.executable, str(script), str(Path(tmp) / f"plain{i}.keras")],
                "quick": [sys.executable, str(quick), str(Path(tmp) / f"quick{i}.keras")],
            }
            order = list(commands) if i % 2 else list(reversed(commands))  # neither side always goes first
            elapsed = {name: timed(commands[name]) for name in order}
            if i:
                ours.append(elapsed["ours"])
                plain.append(elapsed["plain"])
                plain_quick_exit.append(elapsed["quick"])
    report_ratio(
        "kerasspec train (3 epochs, 1,280 samples, run dir):",
        ours,
        "hand-written keras (same work, NumPy in memory):",
        plain,
        TARGET,
    )
    print()
    print("Where the difference goes: kerasspec leaves without the interpreter's teardown (see cli.py,")
    print("exit_without_teardown). Against a hand-written script that does the same, what remains is")
    print("kerasspec's own work (start-up, spec checks, streamed data, history files and plot):")
    report_ratio("kerasspec train:", ours, "hand-written keras ending in os._exit:", plain_quick_exit, TARGET)


if __name__ == "__main__":
    main()
