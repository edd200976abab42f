"""Train stage, graph building shared by train, eval, export and the restore plan:
the data's input pipeline, the model on it, and data errors met while running.
"""

from __future__ import annotations

from ..diagnostics import SlimError
from ._tf import OpError, tf, tf1
from .data import LABEL_ASSERT, Data, open_data
from .model import call_model
from .spec import TrainSpec


def build_inputs(data: Data, split: str, batch_size: int, *, training: bool, repeat: bool,
                 drop_remainder: bool = True, shuffle_offset: int = 0, shard: tuple | None = None):
    """(iterator, images, labels, feed) in the current graph; data ops pinned to the CPU.

    `shard=(n, i)`: this replica's batches of n replicas (every n-th batch from
    the i-th), so that n workers with the same shuffle seed read one epoch
    between them."""
    with tf.device("/cpu:0"), tf1.name_scope("data"):
        ds, feed = data.dataset(split, batch_size, training=training, repeat=repeat, drop_remainder=drop_remainder,
                                shuffle_offset=shuffle_offset)
        if shard is not None and shard[0] > 1:
            ds = ds.shard(*shard)
        it = tf1.data.make_initializable_iterator(ds)
        images, labels = it.get_next()
    return it, images, labels, feed


def build_model_only(spec: TrainSpec, model_fn, *, data: Data | None = None, model_name=None):
    """Build the model on the data (no loss, no optimizer); returns its variables."""
    data = data or open_data(need_data(spec))
    with tf.Graph().as_default():
        _, images, _, _ = build_inputs(data, "train", spec.batch_size, training=False, repeat=False)
        call_model(model_fn, images, spec.model.params, is_training=True, data=data,
                   model_name=model_name or spec.model.name)
        return list(tf1.global_variables())


def need_data(spec: TrainSpec):
    if spec.data is None:
        raise SlimError.single("E309", "the train section has no `data` setting", spec.span)
    return spec.data


def runtime_error(e: OpError, data: Data, spec: TrainSpec, step: int) -> SlimError:
    msg = e.message.strip()
    if LABEL_ASSERT in msg:
        return SlimError.single("E323", f"a label out of range reached step {step + 1}", data.spec.span,
                                ["note: " + msg.split("\n")[0][:300],
                                 "help: fix the labels, or set the model's number of classes to match"])
    named = data.failure(e, step)  # names the damaged file or record where it can
    if named is not None:
        return named
    first = msg.splitlines()[0][:400]
    return SlimError.single("E322", f"reading or using the data failed at step {step + 1}: {first}",
                            data.spec.span, ["note: damaged image files, records of mixed shapes, or image files "
                             "changed since the data was opened cause this"])
