"""Peak RSS of `kerasspec train` from an image folder (`data.images`), 1 epoch, at 1,000 and at
20,000 generated 32x32 PNG images (2 classes), beside plain Keras doing the same
(`image_dataset_from_directory` + fit on the same model) in the same run.

The folder is streamed by Keras's own utility, so memory should not grow with the number of
images (20,000 decoded float32 images would be 234 MiB). Target: ratio 20,000 / 1,000 <= 1.2.

    .venv/bin/python benchmarks/data_folders.py [--small 1000] [--large 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
    """`count` random 32x32 RGB PNGs, half in cat/, half in dog/."""
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


def measure(root: Path) -> tuple[float, float, float, float]:
    """(kerasspec MiB, seconds; plain Keras MiB, seconds) on the folder under `root`."""
    kerasspec = [sys.executable, "-m", "kerasspec", "train", str(root / "spec.yaml"), "--out", str(root / "run")]
    start = time.perf_counter()
    ours = peak_rss_mib([*kerasspec, "--quiet"])
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    theirs = peak_rss_mib([sys.executable, "-c", PLAIN_KERAS, str(root / "images")])
    return ours, ours_time, theirs, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20_000)
    args = parser.parse_args()
    results = {}
    for count in (args.small, args.large):
        with tempfile.TemporaryDirectory() as tmp:
            write_folder(Path(tmp), count)
            results[count] = measure(Path(tmp))
    for count, (ours, ours_time, theirs, theirs_time) in results.items():
        print(
            f"{count:>7,} images: kerasspec peak RSS {ours:7.1f} MiB ({ours_time:5.1f} s), "
            f"plain Keras {theirs:7.1f} MiB ({theirs_time:5.1f} s)"
        )
    small, large = results[args.small], results[args.large]
    ratio = large[0] / small[0]
    print(
        f"kerasspec ratio {args.large:,} / {args.small:,}: {ratio:.3f}  (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})"
    )
    print(f"plain Keras ratio {args.large:,} / {args.small:,}: {large[2] / small[2]:.3f}")
    print(f"kerasspec / plain Keras at {args.large:,}: {large[0] / large[2]:.3f}")


if __name__ == "__main__":
    main()
