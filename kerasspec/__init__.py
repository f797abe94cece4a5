"""kerasspec: YAML model specs turned into real Keras 3 models.

`kerasspec.load("spec.yaml")` reads and checks a spec (see `kerasspec.check`); `.build()` makes the
`keras.Model` (see `kerasspec.api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Spec", "load", "__version__"]

if TYPE_CHECKING:
    from .api import load
    from .spec import Spec


def __getattr__(name: str) -> Any:
    # Imported on first use so that `kerasspec --help` pays only for what it shows.
    if name == "load":
        from .api import load

        return load
    if name == "Spec":
        from .spec import Spec

        return Spec
    raise AttributeError(f"module 'kerasspec' has no attribute {name!r}")
