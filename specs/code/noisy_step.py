"""A user's own train step, used inside fit by noisy_step.yaml (train.step, with --allow-code).

It trains on inputs with Gaussian noise added (a denoising update that Keras's default step
does not do) and keeps Keras's callbacks and progress: it is called as step(model, batch)
and returns the logs fit shows.
"""

import tensorflow as tf


def noisy_train_step(model, batch):
    x, y = batch[0], batch[1]
    noisy = {name: value + tf.random.normal(tf.shape(value), stddev=0.1) for name, value in x.items()}
    with tf.GradientTape() as tape:
        y_pred = model(noisy, training=True)
        loss = model.compute_loss(x=noisy, y=y, y_pred=y_pred)
    gradients = tape.gradient(loss, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return {m.name: m.result() for m in model.metrics}
