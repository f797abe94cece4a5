"""The Python API: `kerasspec.load("spec.yaml").build()` returns the `keras.Model`.

Everything a command does is callable from here, so notebooks and tests take the CLI's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import check
from .builder import DEFAULT_MAX_PARAMS
from .spec import Spec


class ModelSpec(Spec):
    """A checked spec that can build its model."""

    def build(self, *, input_shape: tuple[int | None, ...] | None = None, max_params: int | None = None) -> Any:
        """The Keras model (imports Keras)."""
        from .runner import build_spec  # adapts `adapt:` layers on the spec's data file

        limit = DEFAULT_MAX_PARAMS if max_params is None else max_params
        return build_spec(self, input_shape=input_shape, max_params=limit).model


def load(path: str | Path, overrides: Sequence[str] = (), *, allow_code: bool = False) -> ModelSpec:
    """Read and check a spec file; raises `kerasspec.errors.SpecErrors` listing every problem."""
    spec = check.load(path, overrides, allow_code=allow_code, spec_type=ModelSpec)
    assert isinstance(spec, ModelSpec)
    return spec
