"""Import Keras (TensorFlow backend) once, without TensorFlow's start-up noise on stderr.

`import tensorflow` writes absl/oneDNN/CUDA-stub lines straight to file descriptor 2, and
`TF_CPP_MIN_LOG_LEVEL` silences only some of them, so the import (and the first op, which
initialises the devices) runs with fd 2 pointed at /dev/null. Python-level errors still
surface as exceptions.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

_keras: ModuleType | None = None


def import_keras() -> ModuleType:
    global _keras
    if _keras is not None:
        return _keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to protect
        saved = None
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        if saved is not None:
            os.dup2(devnull, 2)
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.constant(0)  # device initialisation logs once, here
        try:
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        except ImportError:  # pragma: no cover - absl ships with tensorflow
            pass
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
        os.close(devnull)
    _keras = keras
    return keras
