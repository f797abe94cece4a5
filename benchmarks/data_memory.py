"""Peak RSS of `kerasspec train` on the ticket classifier, 1 epoch, at 1,280 and 128,000 samples.

Synthetic data is streamed batch by batch, so memory should not grow with --samples
(an in-memory float32 copy of 128,000 rows would be about 10 GB). Target: ratio <= 1.2.

    .venv/bin/python benchmarks/data_memory.py [--large 128000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, train_ticket  # noqa: E402

TARGET = 1.2

MEASURE = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if proc.returncode:
    sys.exit(proc.stderr)
print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def peak_rss_mib(samples: int, out: Path) -> float:
    cmd = [sys.executable, "-c", MEASURE, *train_ticket(1, samples, out, "--quiet")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout) / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1280)
    parser.add_argument("--large", type=int, default=128_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = peak_rss_mib(args.small, Path(tmp) / "small")
        large = peak_rss_mib(args.large, Path(tmp) / "large")
    print(f"peak RSS at {args.small:>7,} samples: {small:8.1f} MiB")
    print(f"peak RSS at {args.large:>7,} samples: {large:8.1f} MiB")
    print(f"ratio: {large / small:.3f}  (target <= {TARGET}: {'met' if large / small <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
