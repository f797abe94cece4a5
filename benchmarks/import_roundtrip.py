"""The round trip of every model function in keras.applications (built with weights=None):
`kerasspec import keras.applications:NAME`, then the spec built through kerasspec's API, compared
with the original by `kerasspec.importer.compare.model_differences` (class and name, parameter
counts, input and output shapes, every layer's class and whole get_config(), nested models' layers
too, and the model's own config, which holds the wiring). Prints one line per model and a count of
those that match exactly; for any that does not, why.

    .venv/bin/python benchmarks/import_roundtrip.py [NAME ...]
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="Models to check (default: all of keras.applications).")
    args = parser.parse_args()
    from kerasspec._keras import import_keras

    keras = import_keras()
    import kerasspec
    from kerasspec.errors import SpecError, SpecErrors
    from kerasspec.importer import import_spec
    from kerasspec.importer.compare import model_differences

    every = sorted(
        n for n in dir(keras.applications) if n[:1].isupper() and inspect.isfunction(getattr(keras.applications, n))
    )
    names = args.names or every
    exact, failed = 0, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            start = time.perf_counter()
            keras.utils.clear_session()
            path = Path(tmp) / f"{name}.yaml"
            try:
                path.write_text(import_spec(f"keras.applications:{name}"))
                with keras.StatelessScope(initialize_variables=False):
                    theirs = getattr(keras.applications, name)(weights=None)
                ours = kerasspec.load(path).build()
                differences = model_differences(ours, theirs)
            except SpecErrors as exc:
                differences = [e.render() for e in exc.errors[:3]]
            except SpecError as exc:
                differences = [exc.render()]
            layers = (
                sum(1 for line in path.read_text().splitlines() if line.lstrip().startswith("- "))
                if path.exists()
                else 0
            )
            verdict = "exact" if not differences else "DIFFERS"
            print(f"{name:<20} {verdict:<8} {layers:>5} entries  {time.perf_counter() - start:5.1f} s", flush=True)
            if differences:
                failed[name] = differences
            else:
                exact += 1
            keras.utils.clear_session()
    print(
        f"\n{exact} of {len(names)} match exactly"
        + (f" ({len(every)} model functions in keras.applications)" if not args.names else "")
    )
    for name, differences in failed.items():
        print(f"{name}:")
        for line in differences[:5]:
            print(f"    {line}")
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
