"""Build time of generated Sequential specs with 100, 1,000 and 3,000 Dense layers.

For each depth: the static checks (`kerasspec.load`), the build (`Spec.build`), and the
same model written in plain Keras (`keras.Sequential([...])`), in one process after Keras
is imported. Per-layer figures must not grow with depth.

    .venv/bin/python benchmarks/build_depth.py [--depths 100,1000,3000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kerasspec  # noqa: E402
from kerasspec._keras import import_keras  # noqa: E402


def spec_text(depth: int) -> str:
    lines = [f"name: deep_{depth}", "input: {shape: [16]}", "layers:"]
    lines += [f"  - {{type: Dense, name: d{i}, units: 16, activation: relu}}" for i in range(depth)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="100,1000,3000")
    args = parser.parse_args()
    keras = import_keras()
    kerasspec.load(Path(__file__).resolve().parent.parent / "specs" / "my_example_model.yaml").build()  # warm up
    keras.utils.clear_session()
    print(
        f"{'layers':>7} {'static ms/layer':>16} {'build ms/layer':>15} {'plain keras ms/layer':>21} {'build/plain':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for depth in (int(d) for d in args.depths.split(",")):
            path = Path(tmp) / f"deep_{depth}.yaml"
            path.write_text(spec_text(depth))
            start = time.perf_counter()
            spec = kerasspec.load(path)
            static = time.perf_counter() - start
            start = time.perf_counter()
            model = spec.build()
            built = time.perf_counter() - start
            assert len(model.layers) == depth
            keras.utils.clear_session()
            # Plain Keras needs the same raised recursion limit (it is already raised by the build).
            start = time.perf_counter()
            plain = keras.Sequential(
                [keras.Input((16,))] + [keras.layers.Dense(16, activation="relu", name=f"d{i}") for i in range(depth)]
            )
            hand = time.perf_counter() - start
            assert plain.count_params() == model.count_params()
            keras.utils.clear_session()
            print(
                f"{depth:>7} {1000 * static / depth:>16.3f} {1000 * built / depth:>15.3f} {1000 * hand / depth:>21.3f} {built / hand:>12.2f}"
            )


if __name__ == "__main__":
    main()
