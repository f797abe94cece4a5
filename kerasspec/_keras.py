"""Import Keras (TensorFlow backend) once, without TensorFlow's start-up noise on stderr.

`import tensorflow` writes absl/oneDNN/CUDA-stub lines straight to file descriptor 2, and
`TF_CPP_MIN_LOG_LEVEL` silences only some of them, so the import (and the first op, which
initialises the devices) runs with fd 2 pointed at /dev/null. Python-level errors still
surface as exceptions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

_keras: ModuleType | None = None
CPU_DEVICES = "KERASSPEC_CPU_DEVICES"  # split the CPU into this many logical devices at start


def import_keras(before_first_op: Callable[[Any], None] | None = None) -> ModuleType:
    """Keras, imported once. `before_first_op(tf)` runs after the CPU split and before
    TensorFlow's first op (what a tf.distribute strategy must be created before)."""
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
        split_cpu(tf)
        if before_first_op is not None:
            before_first_op(tf)
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


def keras_started() -> bool:
    """Whether `import_keras` ran (TensorFlow's devices are initialised then)."""
    return _keras is not None


def cpu_device_count() -> int | None:
    """`KERASSPEC_CPU_DEVICES` as a count; None when unset. The caller checks it (the
    distribute module, before TensorFlow loads); here a bad value splits nothing."""
    text = os.environ.get(CPU_DEVICES, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        return None
    return count if count >= 1 else None


def split_cpu(tf: Any) -> None:
    """`KERASSPEC_CPU_DEVICES=N`: N logical CPU devices (the usual way to try tf.distribute
    strategies without accelerators); only before TensorFlow's first op."""
    count = cpu_device_count()
    if count is None or count == 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)


OPS_PACKAGE = "keras.src.ops"  # where the classes of keras.ops's operation nodes are defined

# Every private Keras API kerasspec relies on, named once; tests/test_private_keras.py checks
# that each still exists in the installed Keras, so an upgrade that drops one fails a test
# instead of silently changing what summary, data or the builder see.
PRIVATE_MODULES: dict[str, tuple[str, ...]] = {
    "keras.src.utils.summary_utils": ("weight_memory_size", "readable_memory_size"),
    "keras.src.backend.common.variables": ("initialize_all_variables",),
    # Read by kerasspec._catalog_gen (in its own process): each registry's names, and the dtypes.
    "keras.src.activations": ("ALL_OBJECTS_DICT",),
    "keras.src.constraints": ("ALL_OBJECTS_DICT",),
    "keras.src.initializers": ("ALL_OBJECTS_DICT",),
    "keras.src.losses": ("ALL_OBJECTS_DICT",),
    "keras.src.metrics": ("ALL_OBJECTS_DICT",),
    "keras.src.optimizers": ("ALL_OBJECTS_DICT",),
    "keras.src.regularizers": ("ALL_OBJECTS_DICT",),
    "keras.src.backend.common.dtypes": ("ALLOWED_DTYPES",),
    # Read by kerasspec.importer: a graph's operation nodes are serialized with their class's module
    # (keras.src.ops.numpy, ...), which lies in this package.
    OPS_PACKAGE: ("Operation",),
}
PRIVATE_ATTRIBUTES: dict[str, str] = {
    "_functional": "a built keras.Sequential: the functional graph behind it",
    "_operations": "a functional model: its layers in order, input layers included",
    "_nodes_by_depth": "a functional model: the call nodes that belong to it",
    "_outputs_struct": "a functional model: its outputs as given (a dict keeps the names)",
    "_inbound_nodes": "a layer: the calls made on it",
    "_build_shapes_dict": "a built layer: the shapes it was built with",
    "_keras_history": "a symbolic tensor: the layer call that produced it",
    "_get_metrics_result_or_logs": "a model: what fit/evaluate report at the end of an epoch",
    "_symbolic_build": "a compiled model: builds its metrics, loss and optimizer state from a batch's shapes",
    "_maybe_symbolic_build": "a compiled model under a tf.distribute strategy: fit's draw of a batch to build from",
}


def functional_graph(model: Any) -> Any:
    """The functional graph behind a model (a built Sequential keeps one in `_functional`)."""
    inner = getattr(model, "_functional", None)
    return inner if inner is not None else model


def own_operations(model: Any) -> list[Any] | None:
    """A functional model's layers in order, input layers included; None for any other model."""
    ops = getattr(model, "_operations", None)
    return list(ops) if ops is not None else None


def graph_operations(model: Any) -> list[Any] | None:
    """`own_operations` of the graph behind a model, a built Sequential's included."""
    return own_operations(functional_graph(model))


def graph_node_ids(model: Any) -> set[int] | None:
    """Ids of the call nodes that belong to this model's graph; None without a graph."""
    by_depth = getattr(functional_graph(model), "_nodes_by_depth", None)
    if not by_depth:
        return None
    return {id(node) for nodes in by_depth.values() for node in nodes}


def outputs_structure(model: Any) -> Any:
    """The outputs a functional model was made with, in their structure (None if it has none)."""
    return getattr(model, "_outputs_struct", None)


def keep_step_logs(model: Any) -> None:
    """Make fit and evaluate report the logs a user's train/test step returns. At the end of an
    epoch Keras replaces the last step's logs by its own metrics' results whenever their names
    match (`Trainer._get_metrics_result_or_logs`), so a step returning `{"loss": ...}` in a
    model compiled with a loss showed Keras's loss tracker, which only Keras's own step
    updates (0.0). Set on this model only; Keras itself is left as it is."""
    model._get_metrics_result_or_logs = lambda logs: logs


def inbound_nodes(layer: Any) -> list[Any]:
    """Every call made on a layer, in any model."""
    return list(getattr(layer, "_inbound_nodes", None) or [])


def build_shapes(layer: Any) -> dict[str, Any] | None:
    """The keyword shapes a layer was built with (what `compute_output_shape` takes)."""
    return getattr(layer, "_build_shapes_dict", None)


def tensor_history(tensor: Any) -> Any | None:
    """(operation, node_index, tensor_index) of the call that produced a symbolic tensor."""
    return getattr(tensor, "_keras_history", None)


@contextmanager
def built_for_distributed_fit(model: Any, data_batch: Any) -> Iterator[None]:
    """Keras's fit and evaluate under a tf.distribute strategy first build the model's state
    from a batch they draw from the data, averaged over the replicas (`_maybe_symbolic_build`):
    the draw starts a pass of its own (a dataset that reshuffles on every pass then trains on
    another order than on one device) and the average fails for string inputs. Built here from
    `data_batch` (arrays, or a dataset's element specs: only shapes and dtypes are read), and
    not again while the block runs. Call it inside the strategy's scope."""
    model._symbolic_build(data_batch=data_batch)
    object.__setattr__(model, "_maybe_symbolic_build", lambda iterator=None, data_batch=None: None)
    try:
        yield
    finally:
        model.__dict__.pop("_maybe_symbolic_build", None)


def weight_memory_size(weights: list[Any]) -> float:
    from keras.src.utils.summary_utils import weight_memory_size as size

    return float(size(weights))


def readable_memory_size(size: float) -> str:
    from keras.src.utils.summary_utils import readable_memory_size as readable

    return readable(size)


def initialize_all_variables() -> None:
    """Create the variables a `StatelessScope(initialize_variables=False)` build left pending."""
    from keras.src.backend.common.variables import initialize_all_variables as initialize

    initialize()
