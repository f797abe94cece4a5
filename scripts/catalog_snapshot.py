"""Write kerasspec/catalog_snapshot.json: the catalog of the installed Keras, shipped with the
package for installs without Keras (`pip install kerasspec`, as the pre-commit hook has it), whose
static checks read it instead of the live catalog.

Run it with the newest Keras of pyproject.toml's range installed (`scripts/dev.sh` installs that)
whenever the Keras range or the catalog generator (kerasspec/_catalog_gen.py, kerasspec/kinds.py)
changes; tests/test_catalog_snapshot.py fails until then.

    .venv/bin/python scripts/catalog_snapshot.py          # write the snapshot
    .venv/bin/python scripts/catalog_snapshot.py --check  # exit 1 if the shipped one differs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The generator runs in a subprocess: it must import this tree's kerasspec too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from kerasspec.catalog import SNAPSHOT_PATH, generate_catalog_data  # noqa: E402


def snapshot_text(data: dict) -> str:
    """Sorted and indented, so that a Keras upgrade shows in review as the lines it changes."""
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped snapshot; write nothing")
    args = parser.parse_args()
    text = snapshot_text(generate_catalog_data())
    versions = json.loads(text)["versions"]
    described = f"keras {versions['keras']}, tensorflow {versions['tensorflow']}"
    if args.check:
        same = SNAPSHOT_PATH.is_file() and SNAPSHOT_PATH.read_text(encoding="utf-8") == text
        print(f"{SNAPSHOT_PATH.relative_to(ROOT)}: {'up to date' if same else 'stale'} ({described} installed)")
        return 0 if same else 1
    tmp = SNAPSHOT_PATH.with_name(SNAPSHOT_PATH.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, SNAPSHOT_PATH)
    print(f"wrote {SNAPSHOT_PATH.relative_to(ROOT)} ({described}, {len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
