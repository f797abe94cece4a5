"""Peak RSS of `kerasspec train` on the ticket classifier, 1 epoch, at 1,280 and 128,000 samples.

Synthetic data is streamed batch by batch, so memory should not grow with --samples
(an in-memory float32 copy of 128,000 rows would be about 10 GB). Target: ratio <= 1.2.

    .venv/bin/python benchmarks/data_memory.py [--large 128000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import peak_rss_mib, train_ticket  # noqa: E402

TARGET = 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1280)
    parser.add_argument("--large", type=int, default=128_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = peak_rss_mib(train_ticket(1, args.small, Path(tmp) / "small", "--quiet"))
        large = peak_rss_mib(train_ticket(1, args.large, Path(tmp) / "large", "--quiet"))
    print(f"peak RSS at {args.small:>7,} samples: {small:8.1f} MiB")
    print(f"peak RSS at {args.large:>7,} samples: {large:8.1f} MiB")
    print(f"ratio: {large / small:.3f}  (target <= {TARGET}: {'met' if large / small <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
