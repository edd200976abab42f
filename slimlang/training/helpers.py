"""Train stage, the computations both trainers share: written once, run twice.

`slimlang train` calls these functions, and `slimlang build --emit py
--train` copies their source into the program it writes (`helper_source`
reads this file with `ast`, so emitting imports no TensorFlow).  What a
learning-rate warm-up, a loss's targets, a held-out split or a data
source's reading is, is therefore defined here and nowhere else; the
engine adds its checks and located errors around them.

Rules for a function here, since its text lands in user programs: it uses
only `tf`, `np`, the builtins, other functions of this module and standard
modules it imports itself; it reads as code a person would write; its
docstring has no double quote or backslash.
"""

from __future__ import annotations

import numpy as np

from ._tf import tf

# ------------------------------------------------------------ schedules ---


def warm_up(rate_at, global_step, warmup_steps):
    """The rate rate_at(step) gives, ramped linearly from 0 over the first warmup_steps steps.

    The ramp ends at the rate the schedule gives at the end of the warm-up.
    """
    step = tf.cast(global_step, tf.int64)
    rate = tf.cast(rate_at(step), tf.float32)
    if warmup_steps > 0:
        ramp = rate_at(tf.constant(warmup_steps, tf.int64)) * tf.cast(step + 1, tf.float32) / float(warmup_steps)
        rate = tf.where(step < warmup_steps, ramp, rate)
    return rate


def epochs_to_steps(epochs, steps_per_epoch):
    """The steps of that many passes over the training split (at least one)."""
    return max(1, int(epochs * steps_per_epoch))


def after_warm_up(step, warmup_steps):
    """Steps since the warm-up ended (0 during it): the step a decay counts."""
    return tf.maximum(step - warmup_steps, 0)


def clip_by_global_norm(optimizer, norm):
    """The optimizer, its gradients clipped to one global norm before they are applied.

    slim.learning.create_train_op calls only compute_gradients and
    apply_gradients, so replacing the first is enough.
    """
    compute = optimizer.compute_gradients

    def compute_gradients(*args, **kwargs):
        pairs = list(compute(*args, **kwargs))
        live = [i for i, (g, _) in enumerate(pairs) if g is not None]
        clipped, _ = tf.clip_by_global_norm([pairs[i][0] for i in live], norm)
        for i, g in zip(live, clipped):
            pairs[i] = (g, pairs[i][1])
        return pairs

    optimizer.compute_gradients = compute_gradients
    return optimizer


def moving_averages(decay, train_op, variables, global_step):
    """The train op followed by an update of the variables' exponential moving averages.

    As train_image_classifier.py with --moving_average_decay: the averages are
    saved in checkpoints as VAR/ExponentialMovingAverage; num_updates is the
    global step, so early averages follow the weights closely.
    Returns the new train op and the ExponentialMovingAverage.
    """
    averages = tf.compat.v1.train.ExponentialMovingAverage(decay, num_updates=global_step)
    with tf.control_dependencies([train_op]):
        update = averages.apply(list(variables))
    with tf.control_dependencies([update]):
        train_op = tf.identity(train_op)
    return train_op, averages


# ------------------------------------------------------------ losses ---


def end_point(end_points, name):
    """The end point called name, or the one whose name ends with /name."""
    if name in end_points:
        return end_points[name]
    (key,) = [k for k in end_points if k.endswith("/" + name)]
    return end_points[key]


def loss_predictions(predictions):
    """An end point as losses read it: float32, and [batch, 1, 1, C] conv logits squeezed to [batch, C]."""
    shape = predictions.shape
    if shape.rank == 4 and shape[1] == 1 and shape[2] == 1:
        predictions = tf.squeeze(predictions, [1, 2])
    return tf.cast(predictions, tf.float32)


def class_indices(labels):
    """One class index per example, as int64 [batch]."""
    return tf.reshape(tf.cast(labels, tf.int64), [-1])


def targets_like(labels, predictions, one_hot=False):
    """Labels as float32 targets shaped like the predictions.

    With one_hot, one class index per example becomes a one-hot row of the
    predictions' width.
    """
    per = predictions.shape[1:]
    if not per.is_fully_defined():
        return tf.cast(labels, tf.float32)
    if labels.shape[1:].num_elements() == per.num_elements():
        return tf.reshape(tf.cast(labels, tf.float32), [-1] + per.as_list())
    if one_hot and labels.shape[1:].num_elements() == 1 and per.rank == 1:
        return tf.one_hot(class_indices(labels), per[0])
    raise ValueError(f"labels {labels.shape} do not fit predictions {predictions.shape}")


def softmax_cross_entropy(logits, labels, label_smoothing=0.0):
    """Softmax cross entropy of logits [batch, classes] against class indices or one-hot rows."""
    if labels.shape[1:].num_elements() == 1:
        indices = class_indices(labels)
        if not label_smoothing:
            return tf.compat.v1.losses.sparse_softmax_cross_entropy(indices, logits, loss_collection=None)
        labels = tf.one_hot(indices, logits.shape[-1])
    return tf.compat.v1.losses.softmax_cross_entropy(tf.cast(labels, tf.float32), logits,
                                                     label_smoothing=label_smoothing, loss_collection=None)


# ------------------------------------------------------------ data: splits ---


def split(n, validation, seed):
    """(training rows, held-out rows) of n examples: a fixed random split by seed."""
    perm = np.random.RandomState(seed % 2**32).permutation(n)
    n_val = int(round(n * validation))
    if validation > 0 and n_val == 0:
        n_val = 1
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def keep_classes(labels, classes):
    """(rows whose label is one of classes, their labels renumbered 0.. in the order of classes)."""
    flat = labels.reshape(len(labels), -1)[:, 0]
    keep = np.isin(flat, classes)
    number = {c: i for i, c in enumerate(classes)}
    return np.flatnonzero(keep), np.array([number[int(v)] for v in flat[keep]], dtype=np.int64)


def hash_fraction(i, seed):
    """A fixed pseudo-random number in [0, 1) for record i: the held-out split of a record stream."""
    h = (tf.cast(i, tf.int64) + seed * 7919) * 2654435761 % 4294967296
    h = (h ^ (h // 65536)) * 73244475 % 4294967296
    return tf.cast(h, tf.float64) / 4294967296.0


# ------------------------------------------------------------ data: preprocessing ---


def preprocess(images, training, resize=None, crop=None, flip=False, scale=None, per_example=False):
    """Resize, crop (random while training one image at a time, else centred), flip (training), scale.

    Works on one image or a batch.  scale is a factor, or a range (lo, hi)
    that 0..255 is mapped onto.
    """
    x = tf.cast(images, tf.float32)
    if resize is not None:
        x = tf.image.resize(x, list(resize), method="bilinear")
    if crop is not None:
        if training and per_example:
            x = tf.image.random_crop(x, [crop[0], crop[1], x.shape[-1]])
        else:
            x = tf.image.resize_with_crop_or_pad(x, crop[0], crop[1])
    if training and flip:
        x = tf.image.random_flip_left_right(x)
    if isinstance(scale, tuple):
        lo, hi = scale
        x = lo + x * ((hi - lo) / 255.0)
    elif scale is not None and scale != 1.0:
        x = x * scale
    return x


# ------------------------------------------------------------ data: sources ---


def read_npz(path, images, labels):
    """(the images array, {name: array} of the label arrays) of an .npz file."""
    with np.load(path, allow_pickle=False) as arrays:
        return arrays[images], {name: arrays[name] for name in labels}


def read_csv(path, labels, features=None, header=True, delimiter=",", shape=None):
    """(features float32 [rows, ...], {column: labels}) of a CSV file of numbers.

    Columns are named by the header (or by their index, as a string, without
    one); labels and features name or index them.  Label columns of whole
    numbers become int64.  shape reshapes each row's features.
    """
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f, delimiter=delimiter) if any(c.strip() for c in r)]
    names = [c.strip() for c in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows

    def index(c):
        return c if isinstance(c, int) else names.index(c)

    def column(c):
        return np.array([float(r[c]) for r in body])

    label_cols = [index(c) for c in labels]
    if features is None:
        feature_cols = [i for i in range(len(names)) if i not in label_cols]
    else:
        feature_cols = [index(c) for c in features]
    x = np.stack([column(c) for c in feature_cols], axis=1).astype(np.float32)
    if shape is not None:
        x = x.reshape((len(x),) + tuple(shape))
    out = {}
    for c in label_cols:
        col = column(c)
        out[names[c]] = col.astype(np.int64) if np.all(np.mod(col, 1) == 0) else col.astype(np.float32)
    return x, out


def image_folder(root, extensions):
    """(image files, their class indices, class names) of a folder of one sub-folder per class."""
    import pathlib

    root = pathlib.Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for i, name in enumerate(classes):
        found = sorted(str(f) for f in (root / name).rglob("*") if f.suffix.lower() in extensions and f.is_file())
        files += found
        labels += [i] * len(found)
    return files, np.array(labels, np.int64), classes


def decoded_size(data, channels):
    """(height, width, channels) an encoded image decodes to, found in a graph of its own."""
    with tf.Graph().as_default():
        shape = tf.shape(tf.io.decode_image(tf.constant(data), channels=channels, expand_animations=False))
        with tf.compat.v1.Session() as sess:
            return tuple(int(d) for d in sess.run(shape))


def decode_image(data, channels, size):
    """An encoded image (JPEG, PNG, GIF, BMP) as float32 [height, width, channels] of size (height, width)."""
    image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    image = tf.image.resize(image, list(size), method="bilinear")
    return tf.ensure_shape(image, [size[0], size[1], channels])


def tfrecord_files(pattern):
    """The sorted TFRecord files a path names: a glob, a file, or a folder of shards."""
    import glob
    import os

    if any(ch in pattern for ch in "*?["):
        return sorted(glob.glob(pattern))
    if os.path.isdir(pattern):
        return sorted(os.path.join(pattern, f) for f in os.listdir(pattern)
                      if os.path.isfile(os.path.join(pattern, f)) and (".tfrecord" in f or "-of-" in f))
    return [pattern]


def tfrecord_records(files, compression):
    """The records of the files in order: interleaved four at a time when there are several."""
    if len(files) == 1:
        return tf.data.TFRecordDataset(files[0], compression_type=compression)
    return tf.data.Dataset.from_tensor_slices(files).interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=compression), cycle_length=min(4, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def first_record(files, compression):
    """The bytes of the first record, read in a graph of its own."""
    with tf.Graph().as_default():
        record = tf.compat.v1.data.make_one_shot_iterator(
            tf.data.TFRecordDataset(files, compression_type=compression).take(1)).get_next()
        with tf.compat.v1.Session() as sess:
            return sess.run(record)


def example_features(record, images, labels, image_shape=None, channels=None):
    """How to parse the records, from the first one: the feature of each key, and the image's form.

    Returns (features, form, shape): form is encoded (JPEG, PNG, ...;
    shape is then the first image's decoded size), raw (bytes of
    image_shape) or list (numbers of image_shape).
    """
    feature = tf.train.Example.FromString(record).features.feature
    kind = feature[images].WhichOneof("kind")
    if image_shape is not None and len(image_shape) == 2:
        image_shape = tuple(image_shape) + (1,)
    if kind == "bytes_list" and image_shape is None:
        form, shape = "encoded", decoded_size(feature[images].bytes_list.value[0], channels or 0)
        features = {images: tf.io.FixedLenFeature([], tf.string)}
    elif kind == "bytes_list":
        form, shape = "raw", tuple(image_shape)
        features = {images: tf.io.FixedLenFeature([], tf.string)}
    else:
        form, shape = "list", tuple(image_shape)
        dtype = tf.float32 if kind == "float_list" else tf.int64
        features = {images: tf.io.FixedLenFeature([len(getattr(feature[images], kind).value)], dtype)}
    for name in labels:
        kind = feature[name].WhichOneof("kind")
        n = len(getattr(feature[name], kind).value)
        features[name] = tf.io.FixedLenFeature([] if n == 1 else [n], tf.int64 if kind == "int64_list" else tf.float32)
    return features, form, shape


def class_table(classes):
    """A lookup tensor: label -> its index in classes, -1 for the labels left out."""
    table = np.full(max(classes) + 1, -1, np.int64)
    for i, c in enumerate(classes):
        table[c] = i
    return tf.constant(table)


def parse_example(record, features, images, form, shape, size=None, dtype="uint8", default=None, classes=None):
    """(image, {label feature: labels}) of one record, parsed as example_features says.

    Encoded images are decoded and resized to size; raw bytes are read as
    dtype; both are shaped [height, width, channels].  With classes, the
    default label is renumbered as keep_record_classes keeps it.
    """
    parsed = tf.io.parse_single_example(record, features)
    image = parsed.pop(images)
    if form == "encoded":
        image = decode_image(image, shape[-1], size)
    elif form == "raw":
        image = tf.reshape(tf.io.decode_raw(image, tf.as_dtype(dtype)), list(shape))
    else:
        image = tf.reshape(image, list(shape))
    if classes:
        parsed[default] = tf.gather(class_table(classes), parsed[default])
    return image, parsed


def training_records(records, validation, seed):
    """The records hash_fraction does not hold out for evaluation."""
    if validation <= 0:
        return records
    kept = records.enumerate().filter(lambda i, r: tf.logical_not(hash_fraction(i, seed) < validation))
    return kept.map(lambda i, r: r)


def keep_record_classes(records, label, classes):
    """The records whose int64 label is one of classes."""
    table = class_table(classes)
    size = max(classes) + 1

    def keep(record):
        value = tf.io.parse_single_example(record, {label: tf.io.FixedLenFeature([], tf.int64)})[label]
        inside = tf.logical_and(value >= 0, value < size)
        return tf.logical_and(inside, tf.gather(table, tf.clip_by_value(value, 0, size - 1)) >= 0)

    return records.filter(keep)


def count_records(files, compression, validation, seed, label=None, classes=None):
    """How many records training reads per epoch, counted in a graph of its own."""
    with tf.Graph().as_default():
        records = training_records(tfrecord_records(files, compression), validation, seed)
        if classes:
            records = keep_record_classes(records, label, classes)
        n = records.reduce(np.int64(0), lambda n, _: n + 1)
        with tf.compat.v1.Session() as sess:
            return int(sess.run(n))


# ------------------------------------------------------------ restoring: scopes ---


def model_scope(names):
    """The scope every one of the variable names lives under (`vgg_16` of `vgg_16/fc8/weights`), or None."""
    firsts = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(firsts) == 1 and all("/" in n for n in names):
        return next(iter(firsts))
    return None


def in_scope(name, scope, top):
    """Whether variable `name` is under `scope`, a prefix given in full (`vgg_16/fc8`) or relative to
    the model's scope `top` (`fc8`), as train_image_classifier's --checkpoint_exclude_scopes."""
    scope = scope.strip()
    return name.startswith(scope) or (top is not None and name.startswith(top + "/" + scope))


def select_scopes(variables, include=(), exclude=(), top=None):
    """The variables under one of `include` (every one when empty) and under none of `exclude`."""
    chosen = []
    for v in variables:
        name = v.op.name
        if include and not any(in_scope(name, s, top) for s in include):
            continue
        if not any(in_scope(name, s, top) for s in exclude):
            chosen.append(v)
    return chosen
