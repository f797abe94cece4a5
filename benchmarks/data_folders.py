"""Peak RSS of `kerasspec train` from an image folder (`data.images`), 1 epoch, at 1,000 and at
20,000 generated 32x32 PNG images (2 classes), beside plain Keras doing the same
(`image_dataset_from_directory` + fit on the same model) in the same run.

The folder is streamed by Keras's own utility, so memory should not grow with the number of
images (20,000 decoded float32 images would be 234 MiB). Target: ratio 20,000 / 1,000 <= 1.2.

    .venv/bin/python benchmarks/data_folders.py [--small 1000] [--large 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import peak_rss_mib  # noqa: E402

TARGET = 1.2
SIZE = 32
BATCH = 32

SPEC = f"""
name: folder_benchmark
input: {{shape: [{SIZE}, {SIZE}, 3]}}
layers:
  - {{type: Rescaling, scale: 0.00392}}
  - {{type: Conv2D, filters: 8, kernel_size: 3, activation: relu}}
  - {{type: GlobalAveragePooling2D}}
  - {{type: Dense, units: 1, activation: sigmoid}}
compile: {{optimizer: adam, loss: binary_crossentropy, metrics: [accuracy]}}
train: {{epochs: 1, batch_size: {BATCH}}}
data:
  images: {{directory: images, image_size: [{SIZE}, {SIZE}]}}
"""

PLAIN_KERAS = f"""
import os, sys
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import keras
keras.utils.set_random_seed(0)
data = keras.utils.image_dataset_from_directory(
    sys.argv[1], label_mode="binary", image_size=({SIZE}, {SIZE}), batch_size={BATCH}, seed=0, verbose=False
)
model = keras.Sequential([
    keras.Input(({SIZE}, {SIZE}, 3)),
    keras.layers.Rescaling(0.00392),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(data, epochs=1, verbose=0)
"""


def write_folder(root: Path, count: int) -> Path:
    """`count` random 32x32 RGB PNGs, half in cat/, half in dog/, and the spec beside them."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = root / "images"
    for name in ("cat", "dog"):
        (folder / name).mkdir(parents=True)
    for i in range(count):
        pixels = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(folder / ("cat" if i % 2 else "dog") / f"{i}.png")
    (root / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return folder


def measure(root: Path) -> tuple[float, float]:
    """(kerasspec MiB, plain Keras MiB) on the folder under `root`, one fresh process each."""
    shutil.rmtree(root / "run", ignore_errors=True)
    ours = peak_rss_mib(
        [sys.executable, "-m", "kerasspec", "train", str(root / "spec.yaml"), "--out", str(root / "run"), "--quiet"]
    )
    theirs = peak_rss_mib([sys.executable, "-c", PLAIN_KERAS, str(root / "images")])
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each, interleaved; medians are compared")
    args = parser.parse_args()
    counts = (args.small, args.large)
    runs: dict[int, list[tuple[float, float]]] = {count: [] for count in counts}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {count: Path(tmp) / str(count) for count in counts}
        for count, root in roots.items():
            write_folder(root, count)
        for _ in range(args.runs):  # interleaved: a slow spell of the machine touches both sizes
            for count, root in roots.items():
                runs[count].append(measure(root))
    medians = {}
    for count, pairs in runs.items():
        ours, theirs = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        medians[count] = ours, theirs
        shown = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in pairs)
        print(
            f"{count:>7,} images: peak RSS kerasspec {ours:7.1f} MiB, plain Keras {theirs:7.1f} MiB "
            f"(medians; runs kerasspec/Keras: {shown})"
        )
    (small, small_keras), (large, large_keras) = medians[args.small], medians[args.large]
    ratio = large / small
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"kerasspec ratio {args.large:,} / {args.small:,}: {ratio:.3f}  (target <= {TARGET}: {verdict})")
    print(f"plain Keras ratio {args.large:,} / {args.small:,}: {large_keras / small_keras:.3f}")
    print(f"kerasspec / plain Keras at {args.large:,}: {large / large_keras:.3f}")


if __name__ == "__main__":
    main()
