"""TensorFlow access for the train stage: one place that imports it, quietly."""

from __future__ import annotations

import logging
import warnings

from slimlang.tfcompat import slim, tf  # noqa: F401  (re-exported)

tf1 = tf.compat.v1

# TF1 graph building through tf_slim emits deprecation chatter (layer.apply,
# colocate_with, ...) that says nothing to a slimlang user.
warnings.filterwarnings("ignore", category=UserWarning, module=r"(tensorflow|tf_keras|keras|tf_slim)(\.|$)")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|tf_keras|keras|tf_slim)(\.|$)")
tf.get_logger().setLevel(logging.ERROR)
try:  # absl logging of the deprecation decorators
    from tensorflow.python.util import deprecation

    deprecation._PRINT_DEPRECATION_WARNINGS = False
except Exception:  # pragma: no cover - private API moved
    pass

#: Errors TensorFlow raises at run time (reading files, asserts, restores).
OpError = tf.errors.OpError


def session_config():
    """Session options: all cores for ops, graph rewrites on (the measured fastest)."""
    return tf1.ConfigProto(allow_soft_placement=True)
