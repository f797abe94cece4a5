"""A custom layer, metric and callback, used by gated_mlp.yaml (run it with --allow-code)."""

import json
from pathlib import Path

import keras
from keras import ops


class GatedDense(keras.layers.Layer):
    """Dense units multiplied by a learnt sigmoid gate: out = (x W + b) * sigmoid(x V + c)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        width = input_shape[-1]
        self.kernel = self.add_weight(shape=(width, self.units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.gate_kernel = self.add_weight(shape=(width, self.units), initializer="glorot_uniform", name="gate_kernel")
        self.gate_bias = self.add_weight(shape=(self.units,), initializer="zeros", name="gate_bias")

    def call(self, inputs):
        value = ops.matmul(inputs, self.kernel) + self.bias
        gate = ops.sigmoid(ops.matmul(inputs, self.gate_kernel) + self.gate_bias)
        return self.activation(value * gate)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": keras.activations.serialize(self.activation)}


def mean_prediction(y_true, y_pred):
    """A metric: the mean predicted probability of the true class."""
    return ops.sum(y_true * y_pred, axis=-1)


class EpochLog(keras.callbacks.Callback):
    """Writes one JSON line of logs per epoch to `filename` (placed in the run directory)."""

    def __init__(self, filename):
        super().__init__()
        self.filename = filename

    def on_epoch_end(self, epoch, logs=None):
        with Path(self.filename).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}) + "\n")
