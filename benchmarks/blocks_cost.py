"""A spec using `blocks:` against the same spec written out, entry by entry: the static checks
(`kerasspec.load`) and the build (`Spec.build`), in one process after Keras is imported, runs
interleaved. A use of a block must cost what its entries cost written out: the ratios of CPU time
(per layer, the same layers) are printed, target <= 1.1, with the wall-time ratios beside them.

The block is a residual unit of four entries (Dense with an initializer object, Dense, Add with
the block's input, LayerNormalization), with a parameter and an expression; it is used `--uses`
times in a chain.

    .venv/bin/python benchmarks/blocks_cost.py [--runs 7] [--uses 150]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _timing import report_ratio  # noqa: E402

import kerasspec  # noqa: E402
from kerasspec._keras import import_keras  # noqa: E402

TARGET = 1.1
ENTRIES = 4  # layers a use of the block expands to
HEAD = ["vars: {width: 32}", "inputs:", "  x: {shape: [32]}"]
TAIL = ["compile: {optimizer: adam, loss: mean_squared_error}"]


def with_blocks(uses: int) -> str:
    lines = ["name: with_blocks", *HEAD, "blocks:", "  unit:", "    params: {units: 32}", "    layers:"]
    lines += [
        "      - {type: Dense, name: a, units: '${units * 2}', activation: relu,"
        " kernel_initializer: {type: HeNormal, seed: 1}}",
        "      - {type: Dense, name: b, units: '${width}'}",
        "      - {type: Add, name: sum, inputs: [b, in]}",
        "      - {type: LayerNormalization, name: norm}",
        "layers:",
    ]
    lines += [f"  - {{block: unit, name: u{i}, units: {16 + i % 4}}}" for i in range(uses)]
    return "\n".join([*lines, f"outputs: [u{uses - 1}]", *TAIL]) + "\n"


def written_out(uses: int) -> str:
    """The same model, each use's entries written in its place (named with `_`, as `.` is the
    blocks' own)."""
    lines = ["name: written_out", *HEAD, "layers:"]
    previous = "x"
    for i in range(uses):
        lines += [
            f"  - {{type: Dense, name: u{i}_a, inputs: {previous}, units: '${{{16 + i % 4} * 2}}',"
            " activation: relu, kernel_initializer: {type: HeNormal, seed: 1}}",
            f"  - {{type: Dense, name: u{i}_b, units: '${{width}}'}}",
            f"  - {{type: Add, name: u{i}_sum, inputs: [u{i}_b, {previous}]}}",
            f"  - {{type: LayerNormalization, name: u{i}_norm}}",
        ]
        previous = f"u{i}_norm"
    return "\n".join([*lines, f"outputs: [{previous}]", *TAIL]) + "\n"


class Clock:
    """Wall time and this process's CPU time of what runs inside it. The CPU time is the figure
    judged: on a machine shared with other work, the wall time of a build here varied by 3x from
    run to run (the same build's CPU time by 1.2x), waiting for the CPU rather than working."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--uses", type=int, default=150)
    args = parser.parse_args()
    keras = import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        blocks, plain = Path(tmp) / "with_blocks.yaml", Path(tmp) / "written_out.yaml"
        blocks.write_text(with_blocks(args.uses), encoding="utf-8")
        plain.write_text(written_out(args.uses), encoding="utf-8")
        layers = args.uses * ENTRIES
        for path in (blocks, plain):  # warm up: the catalog, Keras's first build
            kerasspec.load(path).build()
            keras.utils.clear_session()
        times: dict[tuple[str, Path], list[Clock]] = {}
        for run in range(args.runs):
            for path in (blocks, plain) if run % 2 == 0 else (plain, blocks):  # neither always goes first
                gc.collect()
                with Clock() as static:
                    spec = kerasspec.load(path)
                with Clock() as build:
                    model = spec.build()
                assert len(model.layers) == layers + 1  # the same layers, and the input
                keras.utils.clear_session()
                times.setdefault(("static checks (kerasspec.load)", path), []).append(static)
                times.setdefault(("build (Spec.build)", path), []).append(build)
    print(f"{args.uses} uses of a {ENTRIES}-entry block: {layers} layers; the same model written out")
    ratios = {}
    for title in ("static checks (kerasspec.load)", "build (Spec.build)"):
        ours, theirs = times[title, blocks], times[title, plain]
        print(f"{title}, CPU time:")
        ratios[title] = report_ratio(
            "  with blocks:", [c.cpu for c in ours], "  written out:", [c.cpu for c in theirs], TARGET
        )
        for label, clocks in (("with blocks", ours), ("written out", theirs)):
            cpu, wall = (statistics.median(getattr(c, kind) for c in clocks) for kind in ("cpu", "wall"))
            print(f"  {label}: {1000 * cpu / layers:.3f} ms CPU per layer ({1000 * wall / layers:.3f} ms wall)")
        wall_pairs = [a.wall / b.wall for a, b in zip(ours, theirs)]
        print(f"  wall-time ratio (median of per-pair ratios): {statistics.median(wall_pairs):.3f}")
    print("per-layer cost, blocks / written out: " + ", ".join(f"{t.split()[0]} {r:.3f}" for t, r in ratios.items()))


if __name__ == "__main__":
    main()
