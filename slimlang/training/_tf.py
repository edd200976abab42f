"""TensorFlow access for the train stage: one place that imports it, quietly.

`slimlang.tfcompat` keeps TensorFlow's start-up and deprecation notices out
of the user's way (see its "Log noise" section; `SLIMLANG_VERBOSE=1` shows
them).
"""

from __future__ import annotations

from slimlang.tfcompat import slim, tf  # noqa: F401  (re-exported)

tf1 = tf.compat.v1

#: Errors TensorFlow raises at run time (reading files, asserts, restores).
OpError = tf.errors.OpError


def session_config():
    """Session options: all cores for ops, graph rewrites on (the measured fastest)."""
    return tf1.ConfigProto(allow_soft_placement=True)
