"""The seed's second way to train: a loop written by hand with `tf.GradientTape`.

`train.loop: custom` (or `--loop custom`) trains without `model.fit`: the forward pass runs
with `training=True`, the spec's loss for each output is weighted by `loss_weights` and the
model's own regularization losses (`model.losses`) are added, the gradients are applied by
the spec's optimizer, and metric objects are updated every batch and reset every epoch.
Sample weights (`data.sample_weight`) weigh each output's loss and the `weighted_metrics` as
Keras's compile does. The step is one `tf.function` (XLA when `compile.jit_compile` is true).
Callbacks are driven through Keras's `CallbackList`, so EarlyStopping, ModelCheckpoint, the
progress bar and the History the run directory is written from behave as under `fit`; logs use
fit's names (`loss`, `<output>_loss`, `<output>_<metric>`, `val_...`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .builder import Built, convert
from .data import compile_value_for_output, named_outputs
from .loader import PList


@dataclass
class Share:
    """One replica's part in a distributed step: its rows over the global batch's, the replicas."""

    rows_fraction: Any
    replicas: int


@dataclass
class OutputObjective:
    """What one output is trained and measured by."""

    name: str
    loss: Any | None  # a keras.losses.Loss reducing over the batch, or None (no loss)
    weight: float
    loss_tracker: Any | None  # Mean of the unweighted loss (only with several outputs)
    metrics: list[Any] = field(default_factory=list)
    weighted_metrics: list[Any] = field(default_factory=list)  # updated with the sample weights


def _function_loss(keras: Any, function: Any, name: str) -> Any:
    """A loss function (y_true, y_pred) -> per-sample values, averaged over the batch as
    Keras's compile does with it."""

    class FunctionLoss(keras.losses.Loss):
        def call(self, y_true: Any, y_pred: Any) -> Any:
            return function(y_true, y_pred)

    return FunctionLoss(name=name)


def _binary_or_sparse(y_true: Any, y_pred: Any) -> tuple[bool, bool]:
    """How compile reads "accuracy" and "crossentropy": binary for one predicted unit, sparse
    when the target has a lower rank or a single column against several."""
    binary = y_pred.shape[-1] == 1
    sparse = len(y_true.shape) < len(y_pred.shape) or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
    return binary, sparse


class Objectives:
    """Losses, loss weights and metrics per output, built from the spec's `compile` section
    with the same resolution Keras's compile uses ("accuracy" by target and prediction shape)."""

    def __init__(self, keras: Any, built: Built, y_example: list[Any], pred_example: list[Any]):
        self.keras = keras
        spec, model = built.spec, built.model
        self.names = [name for name, _ in named_outputs(model)]
        several = len(self.names) > 1
        self.outputs: list[OutputObjective] = []
        for i, name in enumerate(self.names):
            raw_loss = compile_value_for_output(spec, "loss", self.names, i)
            raw_weight = compile_value_for_output(spec, "loss_weights", self.names, i)
            raw_metrics = compile_value_for_output(spec, "metrics", self.names, i)
            raw_weighted = compile_value_for_output(spec, "weighted_metrics", self.names, i)
            objective = OutputObjective(
                name=name,
                loss=self._loss(convert(keras, spec, raw_loss, "loss"), y_example[i], pred_example[i])
                if raw_loss is not None
                else None,
                weight=float(raw_weight) if raw_weight is not None else 1.0,
                loss_tracker=keras.metrics.Mean(name=f"{name}_loss") if several else None,
            )
            taken: set[str] = set()  # as Keras names them: a weighted metric named as another is weighted_<name>
            for raw, found, weighted in (
                (raw_metrics, objective.metrics, ""),
                (raw_weighted, objective.weighted_metrics, "weighted_"),
            ):
                items = raw if isinstance(raw, PList) else ([] if raw is None else [raw])
                for item in items:
                    metric = self._metric(convert(keras, spec, item, "metrics"), y_example[i], pred_example[i])
                    if metric.name in taken:
                        metric.name = f"{weighted}{metric.name}"
                    taken.add(metric.name)
                    if several:
                        metric.name = f"{name}_{metric.name}"
                    found.append(metric)
            self.outputs.append(objective)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def _loss(self, identifier: Any, y_true: Any, y_pred: Any) -> Any:
        keras = self.keras
        if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
            binary, sparse = _binary_or_sparse(y_true, y_pred)
            kind = "binary" if binary else "sparse_categorical" if sparse else "categorical"
            return _function_loss(keras, keras.losses.get(f"{kind}_crossentropy"), identifier)
        loss = keras.losses.get(identifier) if isinstance(identifier, str) else identifier
        if isinstance(loss, type):
            loss = loss()
        if not isinstance(loss, keras.losses.Loss):
            name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", "loss")
            loss = _function_loss(keras, loss, name)
        return loss

    def _metric(self, identifier: Any, y_true: Any, y_pred: Any) -> Any:
        keras = self.keras
        if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
            binary, sparse = _binary_or_sparse(y_true, y_pred)
            cls = (
                keras.metrics.BinaryAccuracy
                if binary
                else keras.metrics.SparseCategoricalAccuracy
                if sparse
                else keras.metrics.CategoricalAccuracy
            )
            return cls(name=identifier)
        metric = keras.metrics.get(identifier) if isinstance(identifier, str) else identifier
        if isinstance(metric, type):
            metric = metric()
        if not isinstance(metric, keras.metrics.Metric):
            metric = keras.metrics.MeanMetricWrapper(
                metric, name=identifier if isinstance(identifier, str) else metric.__name__
            )
        elif isinstance(identifier, str):
            metric.name = identifier
        return metric

    @property
    def metric_objects(self) -> list[Any]:
        found = [self.loss_tracker]
        for objective in self.outputs:
            found.extend(
                m for m in [objective.loss_tracker, *objective.metrics, *objective.weighted_metrics] if m is not None
            )
        return found

    def reset(self) -> None:
        for metric in self.metric_objects:
            metric.reset_state()

    def results(self) -> dict[str, float]:
        return dict(sorted((m.name, float(np.asarray(m.result()))) for m in self.metric_objects))

    def total_loss(
        self,
        ops: Any,
        model: Any,
        y: list[Any],
        y_pred: list[Any],
        weights: list[Any],
        batch_rows: Any,
        share: Share | None = None,
    ) -> Any:
        """Weighted output losses (each row's loss by its sample weight, as the loss's own
        reduction does under compile) plus the model's regularization losses; trackers updated.
        `share`: on one replica of a tf.distribute strategy, what this replica's loss is of the
        global batch's; the trackers get the replica's own loss (summed over replicas when read)."""
        total = 0.0
        for objective, y_true, prediction, weight in zip(self.outputs, y, y_pred, weights):
            if objective.loss is None:
                continue
            value = objective.loss(y_true, prediction, sample_weight=weight)
            if share is not None:  # under a strategy Keras's losses divide by the replicas; undone
                value = value * share.replicas
            if objective.loss_tracker is not None:  # as Keras's CompileLoss does: one weight per batch
                objective.loss_tracker.update_state(value)
            total = total + objective.weight * value
        regularization = (
            ops.sum(ops.stack([ops.cast(loss, "float32") for loss in model.losses])) if model.losses else None
        )
        tracked = total if regularization is None else total + regularization
        self.loss_tracker.update_state(tracked, sample_weight=batch_rows)
        if share is None or not hasattr(tracked, "dtype"):
            return tracked
        # the replica's part of the global batch's mean loss, and of the regularization, which every replica adds
        scaled = total * share.rows_fraction
        return scaled if regularization is None else scaled + regularization / share.replicas

    def update_metrics(self, y: list[Any], y_pred: list[Any], weights: list[Any]) -> None:
        for objective, y_true, prediction, weight in zip(self.outputs, y, y_pred, weights):
            for metric in objective.metrics:
                metric.update_state(y_true, prediction)
            for metric in objective.weighted_metrics:
                metric.update_state(y_true, prediction, sample_weight=weight)


def _as_list(names: list[str], value: Any) -> list[Any]:
    """Targets, predictions or sample weights in output order, whatever structure they came in
    (no sample weights: None for each output)."""
    if value is None:
        return [None] * len(names)
    if isinstance(value, dict):
        return [value[name] for name in names]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class Batches:
    """The batches of one pass over the data `runner.datasets` prepared, for either loop:
    arrays (sliced, shuffled per epoch like fit), a streamed `PyDataset` (batch order shuffled)
    or a folder's tf.data dataset (which shuffles itself)."""

    def __init__(
        self, keras: Any, x: Any, y: Any, batch_size: int, *, shuffle: bool, seed: int, sample_weight: Any = None
    ):
        self.x, self.y, self.batch_size, self.shuffle, self.seed = x, y, batch_size, shuffle, seed
        self.sample_weight = sample_weight
        self.streamed = isinstance(x, keras.utils.PyDataset)
        self.dataset = hasattr(x, "element_spec")  # a folder's tf.data batches (shuffled as it was made)
        self.rows: int | None = None  # a stream knows its batches, not its rows
        if self.dataset:
            self.count = max(1, int(x.cardinality()))
        elif self.streamed:
            self.count = len(x)
        else:
            self.rows = len(_first_array(x))
            self.count = max(1, math.ceil(self.rows / batch_size))

    def __len__(self) -> int:
        return self.count

    def epoch(self, epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        """(x, y, sample weights) batches; y and the weights None where there are none."""
        rng = np.random.default_rng([self.seed, 7, epoch])
        if self.dataset:
            for item in self.x:
                yield (item[0], item[1], None) if isinstance(item, tuple) else (item, None, None)
            return
        if self.streamed:
            order = rng.permutation(self.count) if self.shuffle else range(self.count)
            for index in order:
                item = self.x[int(index)]
                yield item[0], (item[1] if len(item) > 1 else None), (item[2] if len(item) > 2 else None)
            return
        assert self.rows is not None  # arrays know their rows
        shuffled = rng.permutation(self.rows) if self.shuffle else None
        for start in range(0, self.rows, self.batch_size):
            rows = (
                shuffled[start : start + self.batch_size]
                if shuffled is not None
                else slice(start, start + self.batch_size)
            )
            yield (
                _take(self.x, rows),
                _take(self.y, rows) if self.y is not None else None,
                _take(self.sample_weight, rows) if self.sample_weight is not None else None,
            )


def _first_array(x: Any) -> Any:
    """The array whose first dimension counts the rows (inputs by name, or the one input)."""
    return next(iter(x.values())) if isinstance(x, dict) else x


def _take(value: Any, rows: Any) -> Any:
    if isinstance(value, dict):
        return {k: _take(v, rows) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # targets and sample weights in output order
        return [_take(v, rows) for v in value]
    if isinstance(value, np.ndarray) or isinstance(rows, slice):
        return value[rows]
    import tensorflow as tf  # a string tensor (`data.as_tensors`): rows picked by index

    return tf.gather(value, rows)


def split_validation(
    x: Any, y: Any, weights: Any, fraction: float
) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """fit's `validation_split`: the last fraction of the rows, not shuffled; (x, y, sample
    weights) of the rows trained on, and of those held out."""
    rows = len(_first_array(x))
    cut = int(rows * (1 - fraction))
    head, tail = slice(0, cut), slice(cut, rows)
    parts = [(_take(v, head), _take(v, tail)) if v is not None else (None, None) for v in (x, y, weights)]
    return (parts[0][0], parts[1][0], parts[2][0]), (parts[0][1], parts[1][1], parts[2][1])


class CustomLoop:
    """Training and evaluation steps for one compiled model, each one `tf.function`."""

    def __init__(self, keras: Any, built: Built, batches: Batches, test_step: Callable[[Any, Any], Any] | None = None):
        """`batches` gives one example batch, from which "accuracy" and friends are resolved.
        `test_step`: the user's `train.test_step` (model, batch) -> logs, which evaluation runs
        instead of the compiled loss and metrics; its last batch's logs are the result, as
        under fit."""
        import tensorflow as tf

        self.tf, self.keras, self.model = tf, keras, built.model
        self.names = [name for name, _ in named_outputs(self.model)]
        x, y, _ = next(iter(batches.epoch(0)))
        jit_compile = built.spec.compile.get("jit_compile") is True
        y_example = _as_list(self.names, y)
        # Keras's eager call takes no mix of tensors (string inputs are) and arrays: all tensors
        pred_example = _as_list(self.names, self.model(tf.nest.map_structure(tf.convert_to_tensor, x), training=False))
        self.objectives = Objectives(keras, built, y_example, pred_example)
        self.optimizer = self.model.optimizer
        self.train_step = tf.function(self._train_step, jit_compile=jit_compile, reduce_retracing=True)
        self.test_step = tf.function(self._test_step, jit_compile=jit_compile, reduce_retracing=True)
        # not converted by autograph, as Keras runs a test step inside evaluate (its errors stay as raised)
        self.user_test_step = (
            None
            if test_step is None
            else tf.function(
                lambda x, y, weights: test_step(self.model, (x, y) if weights is None else (x, y, weights)),
                jit_compile=jit_compile,
                reduce_retracing=True,
                autograph=False,
            )
        )
        # inside a tf.distribute strategy's scope (`train.distribute`): each step runs on every replica
        self.strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
        if self.strategy is not None:  # as Keras's trainer does: XLA for the replica's step only
            replica_train = tf.function(self._replica_train_step, jit_compile=jit_compile, reduce_retracing=True)
            replica_test = tf.function(self._replica_test_step, jit_compile=jit_compile, reduce_retracing=True)
            self.train_step = tf.function(self._distributed(replica_train), reduce_retracing=True)
            self.test_step = tf.function(self._distributed(replica_test), reduce_retracing=True)

    def _rows(self, x: Any) -> Any:
        return self.tf.cast(self.tf.shape(_first_array(x))[0], "float32")

    def _train_step(self, x: Any, y: Any, sample_weight: Any) -> dict[str, Any]:
        model, ops = self.model, self.keras.ops
        y, weights = _as_list(self.names, y), _as_list(self.names, sample_weight)
        with self.tf.GradientTape() as tape:
            y_pred = _as_list(self.names, model(x, training=True))
            loss = self.objectives.total_loss(ops, model, y, y_pred, weights, self._rows(x))
        if not self.tf.is_tensor(loss):  # no loss of any output, none a layer adds: as fit says it
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        variables = model.trainable_variables
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.objectives.update_metrics(y, y_pred, weights)
        return {m.name: m.result() for m in self.objectives.metric_objects}

    def _test_step(self, x: Any, y: Any, sample_weight: Any) -> None:
        model, ops = self.model, self.keras.ops
        y, weights = _as_list(self.names, y), _as_list(self.names, sample_weight)
        y_pred = _as_list(self.names, model(x, training=False))
        self.objectives.total_loss(ops, model, y, y_pred, weights, self._rows(x))
        self.objectives.update_metrics(y, y_pred, weights)

    def _share(self, x: Any) -> Share:
        """This replica's part of the global batch: its rows over all replicas' rows."""
        rows = self._rows(x)
        context = self.tf.distribute.get_replica_context()
        everyone = context.all_reduce(self.tf.distribute.ReduceOp.SUM, rows)
        return Share(self.tf.math.divide_no_nan(rows, everyone), int(context.num_replicas_in_sync))

    def _replica_train_step(self, x: Any, y: Any, sample_weight: Any) -> None:
        """One replica's step: its loss scaled to its part of the global batch's, so the gradients
        Keras's optimizer sums over the replicas are the global batch's."""
        model, ops = self.model, self.keras.ops
        share = self._share(x)
        y, weights = _as_list(self.names, y), _as_list(self.names, sample_weight)
        with self.tf.GradientTape() as tape:
            y_pred = _as_list(self.names, model(x, training=True))
            loss = self.objectives.total_loss(ops, model, y, y_pred, weights, self._rows(x), share)
        if not self.tf.is_tensor(loss):
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        variables = model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.objectives.update_metrics(y, y_pred, weights)

    def _replica_test_step(self, x: Any, y: Any, sample_weight: Any) -> None:
        model, ops = self.model, self.keras.ops
        y, weights = _as_list(self.names, y), _as_list(self.names, sample_weight)
        y_pred = _as_list(self.names, model(x, training=False))
        self.objectives.total_loss(ops, model, y, y_pred, weights, self._rows(x), self._share(x))
        self.objectives.update_metrics(y, y_pred, weights)

    def _distributed(self, replica_step: Any) -> Any:
        strategy: Any = self.strategy

        def step(x: Any, y: Any, sample_weight: Any) -> dict[str, Any]:
            strategy.run(replica_step, args=(x, y, sample_weight))
            return {m.name: m.result() for m in self.objectives.metric_objects}  # summed over replicas

        return step

    def _feed(self, *batch: Any) -> tuple[Any, ...]:
        """A global batch (inputs, targets, sample weights) as the strategy's per-replica values:
        replica i of n takes rows [i*rows/n, (i+1)*rows/n), on whichever worker it runs (each
        worker keeps its replicas' rows)."""
        if self.strategy is None:
            return batch
        tf = self.tf

        def part(value: Any, context: Any) -> Any:
            if value is None:
                return None
            replicas, index = context.num_replicas_in_sync, context.replica_id_in_sync_group

            def rows(array: Any) -> Any:
                count = int(array.shape[0])
                return tf.convert_to_tensor(array[index * count // replicas : (index + 1) * count // replicas])

            return tf.nest.map_structure(rows, value)

        def shaped(value: Any) -> Any:
            return tuple(value) if isinstance(value, list) else value

        strategy: Any = self.strategy

        def fed(value: Any) -> Any:
            if value is None:
                return None
            return strategy.experimental_distribute_values_from_function(lambda c: part(shaped(value), c))

        return tuple(fed(value) for value in batch)

    def evaluate(self, batches: Batches) -> dict[str, float]:
        if self.user_test_step is not None:
            logs: dict[str, Any] = {}
            for x, y, weights in batches.epoch(0):
                logs = self.user_test_step(x, y, weights)
            return {str(k): float(np.asarray(v)) for k, v in sorted(logs.items())}
        self.objectives.reset()
        for x, y, weights in batches.epoch(0):
            self.test_step(*self._feed(x, y, weights))
        return self.objectives.results()

    def fit(
        self, batches: Batches, validation: Batches | None, epochs: int, callbacks: list[Any], verbose: int
    ) -> dict[str, list[float]]:
        keras, model = self.keras, self.model
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=len(batches),
            model=model,
        )
        if not self.optimizer.built:
            self.optimizer.build(model.trainable_variables)
        model.stop_training = False
        callback_list.on_train_begin()
        epoch_logs: dict[str, float] = {}
        for epoch in range(epochs):
            self.objectives.reset()
            callback_list.on_epoch_begin(epoch)
            for step, (x, y, weights) in enumerate(batches.epoch(epoch)):
                callback_list.on_train_batch_begin(step)
                logs = self.train_step(*self._feed(x, y, weights))
                callback_list.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            epoch_logs = self.objectives.results()
            if validation is not None:
                val_logs = self.evaluate(validation)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return {k: [float(v) for v in values] for k, values in model.history.history.items()}
