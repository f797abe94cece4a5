"""Training throughput under `train.distribute`: 1 vs 2 logical CPU devices, 1 vs 2 local workers.

The ticket classifier, 2,560 synthetic samples, global batch 64, 4 epochs. Throughput is samples
per second of training alone: the global batch over the time per step Keras's progress line
reports (`verbose: 2`, `13ms/step`) for each epoch after the first (which traces the step), so
TensorFlow's start, the build and the run directory are left out. Devices: `KERASSPEC_CPU_DEVICES=2` with
`strategy: mirrored` against one device (`none`), under `fit`. Workers: two processes on
127.0.0.1 with `TF_CONFIG` (`multi_worker`, which trains with the custom loop) against one
process with the custom loop. Runs interleaved; medians; ratios printed.

    .venv/bin/python benchmarks/distribute.py [--runs 5]

On a 2-core machine neither ratio can exceed what two cores give one: the logical devices are
carved from the same CPU (TensorFlow's intra-op pool already spreads one device's matmuls over
both cores), and two workers are two processes sharing those cores, adding a gRPC all-reduce of
every gradient per step. So expect ratios at or below 1 here; the gains come with real devices:
TensorFlow's published benchmarks (tensorflow.org/performance/benchmarks, TF 1.x era, one DGX-1
with P100 GPUs linked by NVLink, synthetic data) scaled close to linearly, 142, 284, 569 and 1131
images/s on 1, 2, 4 and 8 GPUs (as quoted by the e-bug/distributed-tensorflow-benchmarks study),
for models whose step is long against the all-reduce; a model as small as this one would not.
Measured here (2 shared cores, 5 runs): 2 devices 0.44x of one device, 2 workers 0.26x of one
process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, train_ticket  # noqa: E402

SAMPLES, BATCH, EPOCHS = 2560, 64, 4
TIMEOUT = 600
STEP_TIME = re.compile(r" - (\d+)(us|ms|s)/step")
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def command(out: Path, *options: str) -> list[str]:
    cmd = train_ticket(EPOCHS, SAMPLES, out, *options)
    cmd[cmd.index("--batch-size") + 1] = str(BATCH)
    return cmd


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "KERASSPEC_CPU_DEVICES")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed kerasspec runs (see _timing.timed)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_together(commands: list[tuple[list[str], dict[str, str]]]) -> float:
    """Training throughput of one run (one process, or a cluster's workers, the first the chief):
    samples per second, from the median time per step of the epochs after the first."""
    outputs = []
    processes = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for cmd, env in commands
    ]
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            if process.returncode:
                sys.exit(f"failed: {' '.join(process.args)}\n{stderr}")  # type: ignore[arg-type]
            outputs.append(stdout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    steps = [int(n) * UNIT[unit] for n, unit in STEP_TIME.findall(outputs[0])]
    if len(steps) != EPOCHS:
        sys.exit(f"expected {EPOCHS} progress lines, got:\n{outputs[0]}")
    return BATCH / statistics.median(steps[1:])


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def configuration(name: str, out: Path) -> list[tuple[list[str], dict[str, str]]]:
    if name == "1 device":
        return [(command(out, "--loop", "fit"), environment())]
    if name == "2 devices":
        mirrored = ("--loop", "fit", "--set", "train.distribute.strategy=mirrored")
        return [(command(out, *mirrored), environment(KERASSPEC_CPU_DEVICES="2"))]
    if name == "1 worker":
        return [(command(out, "--loop", "custom"), environment())]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    return [
        (
            command(out, "--set", "train.distribute.strategy=multi_worker"),
            environment(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})),
        )
        for index in range(2)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    names = ["1 device", "2 devices", "1 worker", "2 workers"]
    throughput: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs + 1):  # the first round warms caches and is not counted
            for name in names:
                measured = run_together(configuration(name, Path(tmp) / f"{name.replace(' ', '-')}-{i}"))
                if i:
                    throughput[name].append(measured)
    print(f"ticket classifier, {SAMPLES} samples, global batch {BATCH}; training throughput (samples/s):")
    for name in names:
        runs = throughput[name]
        print(f"  {name:<10} median {statistics.median(runs):8.0f}  (runs: {', '.join(f'{r:.0f}' for r in runs)})")
    for ours, theirs in (("2 devices", "1 device"), ("2 workers", "1 worker")):
        ratio = statistics.median(throughput[ours]) / statistics.median(throughput[theirs])
        print(f"{ours} / {theirs}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
