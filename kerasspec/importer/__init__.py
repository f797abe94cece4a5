"""`kerasspec import`: a Keras model's configuration (a .keras file, a `model.to_json()` file or
`keras.applications:NAME`) written as a spec. See `source` (reading, never running anything),
`convert` (configuration -> spec document) and `text` (document -> YAML)."""

from __future__ import annotations

from ..errors import SpecError
from .convert import Converter, Unsupported
from .source import read_source
from .text import spec_text

__all__ = ["import_spec"]


def import_spec(source: str) -> str:
    """The spec text of the model `source` names; a `SpecError` for anything it cannot say."""
    read = read_source(source)
    from .._keras import import_keras

    keras = import_keras()
    try:
        document = Converter(keras).spec(read.document)
    except Unsupported as problem:
        raise read.error(problem.where, problem.message, problem.hint) from None
    except RecursionError:
        raise SpecError(None, "the model's configuration is nested too deeply", source=read.shown) from None
    header = f"Imported by `kerasspec import {source}` (keras {keras.__version__})."
    return spec_text(document, header)
