"""Serving, the graph every export format and `predict` share: raw images in, the data
line's deterministic preprocessing, the model (`is_training=false`), and the outputs of
each loss head (`serving_outputs`; see saved_model.py's docstring for their names)."""

from __future__ import annotations

from ._tf import session_config, tf, tf1
from .evaluation import restore_any
from .losses import resolve_end_point
from .model import call_model
from .restore import CheckpointSaver
from .spec import TrainSpec


def serving_session(spec, model_fn, cands, name, data, raw_weights: bool = False):
    """(session, `images` placeholder, {output name: tensor}, checkpoint used): the served graph
    (raw images in, the data line's deterministic preprocessing, the model, `serving_outputs`)
    with the checkpoint restored.  The caller closes the session."""
    graph = tf.Graph()
    with graph.as_default():
        raw = [None] + list(data.serving_shape())
        images = tf1.placeholder(tf.float32, raw, name="images")
        x = data.preprocess(images, training=False)
        net, end_points = call_model(model_fn, x, spec.model.params, is_training=False, data=data, model_name=name)
        outputs = serving_outputs(spec, net, end_points)
        saver = CheckpointSaver(tf1.global_variables(), spec.init_from)
        sess = tf1.Session(config=session_config())
        try:
            used = restore_any(sess, saver, cands, spec.span, model_name=name, raw_weights=raw_weights)
        except BaseException:
            sess.close()
            raise
    return sess, images, outputs, used


def serving_outputs(spec: TrainSpec, net, end_points) -> dict:
    """{name: tensor} a served model answers with, per loss head (see the module docstring)."""
    outputs = {}
    several = len(spec.losses) > 1
    for loss in spec.losses:
        pre = f"{loss.name}_" if several else ""
        t = resolve_end_point(loss, net, end_points)
        shape = t.shape.as_list() if t.shape.rank is not None else []
        if len(shape) == 4 and shape[1] == 1 and shape[2] == 1:
            t = tf.squeeze(t, [1, 2])
        if loss.kind == "softmax_cross_entropy":
            outputs[pre + "logits"] = t
            outputs[pre + "probabilities"] = tf.nn.softmax(t)
            outputs[pre + "classes"] = tf.argmax(t, -1)
        elif loss.kind in ("sigmoid_cross_entropy", "hinge") or (
                loss.kind == "log_loss" and loss.options.get("from_logits")):
            outputs[pre + "logits"] = t
            outputs[pre + "probabilities"] = tf.sigmoid(t)
        else:
            outputs[pre + "predictions"] = t
    if not outputs:
        outputs["output"] = net
    return outputs
