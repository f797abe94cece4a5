"""Write specs/data/heart.csv: 303 rows shaped like the Cleveland heart-disease CSV that the keras.io
example "Structured data classification from scratch" reads (the same 14 columns, value ranges
and kinds: integers, floats and the string column `thal`), drawn from a seeded generator so the
bundled example needs no download. The rows are synthetic; the target depends on the features
(older age, chest pain type 4, exercise angina, more vessels, `reversible` thal), so a model
can learn something from them.

    python scripts/make_heart_csv.py            # (re)write specs/data/heart.csv
    python scripts/make_heart_csv.py --check    # exit 1 if the file differs from what it writes
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import sys
from pathlib import Path

ROWS = 303
SEED = 2020
OUT = Path(__file__).resolve().parent.parent / "specs" / "data" / "heart.csv"
COLUMNS = [
    "age",
    "sex",
    "cp",
    "trestbps",
    "chol",
    "fbs",
    "restecg",
    "thalach",
    "exang",
    "oldpeak",
    "slope",
    "ca",
    "thal",
    "target",
]


def rows(count: int = ROWS, seed: int = SEED) -> list[list[object]]:
    """Python's own seeded generator: the same rows on every platform and Python 3.11+."""
    rng = random.Random(seed)
    table = []
    for _ in range(count):
        age = min(77, max(29, round(rng.gauss(54, 9))))
        sex = 1 if rng.random() < 0.68 else 0
        cp = rng.choices([1, 2, 3, 4], weights=[8, 17, 28, 47])[0]
        trestbps = min(200, max(94, round(rng.gauss(131, 17))))
        chol = min(564, max(126, round(rng.gauss(246, 51))))
        fbs = 1 if rng.random() < 0.15 else 0
        restecg = rng.choices([0, 1, 2], weights=[50, 1, 49])[0]
        thalach = min(202, max(71, round(rng.gauss(150 - 0.4 * (age - 54), 22))))
        exang = 1 if rng.random() < 0.2 + 0.25 * (cp == 4) else 0
        oldpeak = round(min(6.2, max(0.0, rng.gauss(1.0 + 0.8 * exang, 1.1))), 1)
        slope = rng.choices([1, 2, 3], weights=[47, 46, 7])[0]
        ca = rng.choices([0, 1, 2, 3], weights=[59, 21, 13, 7])[0]
        thal = rng.choices(["normal", "fixed", "reversible"], weights=[55, 6, 39])[0]
        score = (
            0.05 * (age - 54)
            + 0.8 * sex
            + 1.2 * (cp == 4)
            + 0.9 * exang
            + 0.6 * oldpeak
            + 0.7 * ca
            + 1.1 * (thal == "reversible")
            - 0.02 * (thalach - 150)
            - 3.4
        )
        target = 1 if rng.random() < 1 / (1 + math.exp(-score)) else 0
        table.append([age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak, slope, ca, thal, target])
    return table


def text() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows())
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args()
    wanted = text()
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == wanted
        print(f"{OUT}: {'up to date' if same else 'differs; run scripts/make_heart_csv.py'}")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(wanted, encoding="utf-8")
    print(f"wrote {OUT} ({ROWS} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
