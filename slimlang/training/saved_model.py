"""Export stage: a checkpoint -> a SavedModel with a `serving_default` signature.

The signature takes `images`: float32 [batch, H, W, C] as the data stores
them (arrays) or as decoded pixels 0..255 (image files), and applies the data
line's deterministic preprocessing inside (resize, centre crop, scale), so a
caller feeds raw images.  Outputs, for each loss head (prefixed `NAME_` when
there are several):

    logits, probabilities, classes     classification (softmax) heads
    logits, probabilities              sigmoid/log-loss heads
    predictions                        regression heads

Load it with `tf.saved_model.load(DIR).signatures["serving_default"]`.
"""

from __future__ import annotations

import pathlib
import shutil

from ..diagnostics import SlimError
from ..trainspec import TrainSpec
from . import checkpoints
from ._tf import session_config, tf, tf1
from .data import Data, open_data
from .evaluation import find_checkpoint, restore_any
from .loop import _need_data
from .losses import resolve_end_point
from .model import call_model


def export(spec: TrainSpec, model_fn, *, out: str, logdir: str | None = None, checkpoint: str | None = None,
           model_name: str | None = None, data: Data | None = None, overwrite: bool = False) -> str:
    """Write the SavedModel to `out`; returns the checkpoint exported."""
    name = model_name or spec.model.name
    ld = logdir if logdir is not None else (spec.logdir if checkpoint is None else None)
    cands = find_checkpoint(ld, checkpoint, spec.span)
    if data is None:
        data = open_data(_need_data(spec))
    out_path = pathlib.Path(out)
    if out_path.exists():
        if not overwrite and any(out_path.iterdir()):
            raise SlimError.single("E344", f"{out} exists and is not empty", None,
                                   ["help: pass --overwrite or choose another --out"])
        shutil.rmtree(out_path)
    graph = tf.Graph()
    with graph.as_default():
        raw = [None] + list(data.raw_shape)
        images = tf1.placeholder(tf.float32, raw, name="images")
        x = data.preprocess(images, training=False)
        net, end_points = call_model(model_fn, x, spec.model.params, is_training=False, data=data, model_name=name)
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
        saver = tf1.train.Saver(var_list=tf1.global_variables())
        with tf1.Session(config=session_config()) as sess:
            used = restore_any(sess, saver, cands, spec.span)
            builder = tf1.saved_model.Builder(str(out_path))
            sig = tf1.saved_model.signature_def_utils.predict_signature_def(
                inputs={"images": images}, outputs=outputs)
            builder.add_meta_graph_and_variables(
                sess, [tf1.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": sig}, strip_default_attrs=True)
            builder.save()
    if data.class_names:
        (out_path / "assets.extra").mkdir(exist_ok=True)
        (out_path / "assets.extra" / "labels.txt").write_text(
            "".join(f"{i}:{c}\n" for i, c in enumerate(data.class_names)))
    return used


def step_of(path: str) -> int | None:
    return checkpoints.checkpoint_step(path)
