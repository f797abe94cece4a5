"""kerasspec: YAML model specs turned into real Keras 3 models."""
__version__ = "0.1.0"

from .spec import Spec, load  # noqa: E402 - re-exported: kerasspec.load("x.yaml")

__all__ = ["Spec", "load", "__version__"]
