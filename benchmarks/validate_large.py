"""Static `validate` of a generated 1,000-layer functional spec (Dense layers with initializer
and regularizer objects, a residual Add every tenth layer, compile and train sections), as fresh
processes, next to `import tensorflow` measured in the same run. Target: under 0.5 s.

    .venv/bin/python benchmarks/validate_large.py [--runs 5] [--layers 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import report_ratio, timed  # noqa: E402

TARGET_SECONDS = 0.5


def spec_text(layers: int) -> str:
    lines = ["name: big_functional", "inputs:", "  x: {shape: [32]}", "layers:"]
    previous = "x"
    for i in range(layers):
        if i % 10 == 9:
            lines.append(f"  - {{type: Add, name: l{i}, inputs: [l{i - 1}, l{i - 5}]}}")
        else:
            lines.append(
                f"  - {{type: Dense, name: l{i}, inputs: {previous}, units: 32, activation: relu, "
                f"kernel_initializer: {{type: HeNormal, seed: {i}}}, kernel_regularizer: {{type: L2, l2: 0.0001}}}}"
            )
        previous = f"l{i}"
    lines += [f"outputs: [{previous}]", "compile:", "  optimizer: {type: Adam, learning_rate: 0.001}"]
    lines += ["  loss: mean_squared_error", "train: {epochs: 1, batch_size: 32}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(spec_text(args.layers), encoding="utf-8")
        kerasspec = [sys.executable, "-m", "kerasspec", "validate", str(path)]
        tensorflow = [sys.executable, "-c", "import tensorflow"]
        timed(kerasspec, None)  # warm the catalog cache and the OS file cache
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(timed(kerasspec, None))
            theirs.append(timed(tensorflow, None))
        print(f"spec: {args.layers} layers, {path.stat().st_size:,} bytes")
        report_ratio(f"kerasspec validate ({args.layers} layers):", ours, "python -c 'import tensorflow':", theirs, 0.2)
        median = statistics.median(ours)
        print(f"validate wall time: median {median:.3f} s (target: under {TARGET_SECONDS} s): ", end="")
        print("met" if median < TARGET_SECONDS else "NOT met")


if __name__ == "__main__":
    main()
