"""Eval stage, metrics in TensorFlow: per-batch sums over the examples of one head.

The table of metrics, and which heads each scores, is
`slimlang.training.kinds.metrics`.
"""

from __future__ import annotations

from ._tf import tf


def _classes(head):
    return head.labels if head.sparse else tf.argmax(head.labels, -1)


def accuracy(head):
    if head.task == "classification":
        hit = tf.equal(tf.argmax(head.predictions, -1), _classes(head))
        return tf.reduce_sum(tf.cast(hit, tf.float32))
    # multilabel: the share of right 0/1 decisions per example
    if head.spec.kind == "log_loss" and not head.spec.options.get("from_logits"):
        hit = tf.equal(head.predictions > 0.5, head.labels > 0.5)
    else:
        hit = tf.equal(head.predictions > 0.0, head.labels > 0.5)
    per = tf.reshape(tf.cast(hit, tf.float32), [tf.shape(head.predictions)[0], -1])
    return tf.reduce_sum(tf.reduce_mean(per, 1))


def top_5_accuracy(head):
    if not head.num_classes or head.num_classes <= 5:
        return None
    hit = tf.nn.in_top_k(predictions=head.predictions, targets=tf.cast(_classes(head), tf.int32), k=5)
    return tf.reduce_sum(tf.cast(hit, tf.float32))


def _difference(head):
    return tf.reshape(head.predictions - head.labels, [tf.shape(head.predictions)[0], -1])


def mean_squared_error(head):
    return tf.reduce_sum(tf.reduce_mean(tf.square(_difference(head)), 1))


def mean_absolute_error(head):
    return tf.reduce_sum(tf.reduce_mean(tf.abs(_difference(head)), 1))


def custom(metric, head):
    """A registered metric's per-batch sum: fn's per-example values summed (a scalar is a batch mean)."""
    from ..diagnostics import SlimError

    try:
        value = tf.convert_to_tensor(metric.fn(head.predictions, head.labels))
    except SlimError:
        raise
    except Exception as e:  # noqa: BLE001 (a user's function: any error is theirs to see, located at the loss)
        raise SlimError.single("E346", f"metric `{metric.name}` failed: {type(e).__name__}: {e}", head.spec.span,
                               ["note: it is called as fn(predictions, labels) for this loss's head"]) from None
    value = tf.cast(value, tf.float32)
    n = tf.cast(tf.shape(head.predictions)[0], tf.float32)
    if value.shape.rank == 0:
        return value * n
    return tf.reduce_sum(tf.reduce_mean(tf.reshape(value, [tf.shape(head.predictions)[0], -1]), 1))
