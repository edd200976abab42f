"""`data KIND "PATH"`: one entry per data source, its options, its opener and its emitted reader.

`build` names the engine's opener (`slimlang.training.data`), which checks
the data and builds its tf.data pipeline.  `emit(spec, path, fields, count)`
writes the same reading for `--emit py --train`: the statements that make
`dataset`, the training split's examples before shuffling, and `n_train`
(record streams are counted only when `count`), plus how each example is
decoded after shuffling and what `helpers.preprocess` is then told.  The
shuffle, repeat, batch and preprocessing around it are common to every
source (`slimlang/emit_train.py`), as they are in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...pyview import py_str
from ...values import py_literal
from ..argtypes import (
    BOOL,
    CHANNELS,
    COLUMNS,
    COMPRESSION,
    DTYPE,
    FRACTION,
    HW,
    HWC,
    INT,
    INT_LIST,
    LABEL_FIELDS,
    SCALE,
    SHUFFLE,
    STR,
    STR_LIST,
    optional,
)
from .base import Arg, Kind, kinds
from .preprocessing import PREPROCESS, RESIZE_SIDE

COMMON = (
    Arg("shuffle", SHUFFLE, True, "shuffle the training examples each epoch (or the buffer size)"),
    Arg("validation", FRACTION, 0.0, "fraction held out for `slimlang eval` (a fixed split, by `seed`)"),
    Arg("seed", INT, 0, "seed of the held-out split and of the shuffle order"),
    Arg("classes", optional(INT_LIST), None, "keep only these labels, renumbered 0.. in the order given"),
    Arg("resize", optional(HW), None, "resize images to [height, width] (bilinear)"),
    Arg("crop", optional(HW), None, "random crop of [height, width] while training; centre crop in eval"),
    Arg("flip", BOOL, False, "random left-right flip while training"),
    PREPROCESS,
    RESIZE_SIDE,
    Arg("scale", optional(SCALE), None,
        "multiply pixels by a factor (1/255), or map 0..255 onto (lo, hi); "
        "default: decoded image files to [0, 1], arrays unchanged"),
)

#: The shuffle buffer of a record stream whose length is not counted first.
RECORD_BUFFER = 10000


@dataclass
class Source:
    """A data source as emitted code (see the module docstring)."""

    lines: list  # statements
    default: str  # code of the default label field's key
    decode: str | None = None  # lambda: raw example -> (image, labels), after shuffling
    buffer: str = "n_train"  # shuffle buffer for `shuffle=true`
    resize: str = "None"  # helpers.preprocess's resize= (None: the decoder resized)
    scale: str = "None"  # helpers.preprocess's scale=
    helpers: set = field(default_factory=set)


def _opt(o: dict, key: str) -> str:
    v = o[key]
    return "None" if v is None else py_literal(list(v) if key != "scale" else v)


def _split_arrays(o: dict, images: str, default: str) -> list:
    """`classes` and the held-out split of in-memory arrays, then their dataset."""
    lines = []
    if o["classes"]:
        lines += [f"rows, renumbered = keep_classes(labels[{default}], {py_literal(list(o['classes']))})",
                  f"{images} = {images}[rows]" if images == "images" else f"{images} = [{images}[i] for i in rows]",
                  "labels = {name: column[rows] for name, column in labels.items()}",
                  f"labels[{default}] = renumbered"]
    lines += [f"train, _ = split(len({images}), {float(o['validation'])!r}, {int(o['seed'])})",
              "n_train = len(train)"]
    return lines


def _arrays(o: dict, read: str, default: str) -> Source:
    lines = [read] + _split_arrays(o, "images", default) + [
        "dataset = tf.data.Dataset.from_tensor_slices("
        "(images[train], {name: column[train] for name, column in labels.items()}))"]
    return Source(lines, default, resize=_opt(o, "resize"), scale=_opt(o, "scale"),
                  helpers={"split", "keep_classes"} if o["classes"] else {"split"})


def emit_npz(spec, path: str, fields: list, count: bool = True) -> Source:
    o = spec.options
    default = py_str(o["labels"][0])
    names = [o["labels"][0]] + [f for f in fields if f != o["labels"][0]]
    read = f"images, labels = read_npz({path}, {py_str(o['images'])}, {py_literal(names)})"
    src = _arrays(o, read, default)
    src.helpers.add("read_npz")
    return src


def emit_csv(spec, path: str, fields: list, count: bool = True) -> Source:
    o = spec.options
    first = o["labels"][0]
    default = py_str(first) if isinstance(first, str) else "list(labels)[0]"
    read = (f"images, labels = read_csv({path}, {py_literal(list(o['labels']))}, features={_opt(o, 'features')}, "
            f"header={bool(o['header'])}, delimiter={py_str(o['delimiter'])}, shape={_opt(o, 'shape')})")
    src = _arrays(o, read, default)
    src.helpers.add("read_csv")
    return src


def _image_scale(o: dict) -> str:
    return _opt(o, "scale") if o["scale"] is not None else "1 / 255"


def emit_folder(spec, path: str, fields: list, count: bool = True) -> Source:
    o = spec.options
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in o["extensions"])
    channels = int(o["channels"])
    lines = [f"files, labels, _ = image_folder({path}, {py_literal(exts)})"]
    if o["classes"]:
        lines += [f"rows, labels = keep_classes(labels, {py_literal(list(o['classes']))})",
                  "files = [files[i] for i in rows]"]
    lines += [f"train, _ = split(len(files), {float(o['validation'])!r}, {int(o['seed'])})",
              "n_train = len(train)"]
    if o["resize"] is not None:
        lines.append(f"size = {py_literal(list(o['resize']))}")
    else:
        lines += ["# without `resize`, every image is resized to the first image's size",
                  "with open(files[0], 'rb') as first:",
                  f"    size = decoded_size(first.read(), {channels})[:2]"]
    lines.append("dataset = tf.data.Dataset.from_tensor_slices(([files[i] for i in train], labels[train]))")
    decode = f"lambda file, label: (decode_image(tf.io.read_file(file), {channels}, size), {{'labels': label}})"
    return Source(lines, "'labels'", decode, scale=_image_scale(o),
                  helpers={"image_folder", "keep_classes", "split", "decoded_size", "decode_image"})


def emit_tfrecord(spec, path: str, fields: list, count: bool = False) -> Source:
    o = spec.options
    comp = py_str(o["compression"])
    default = py_str(o["labels"][0])
    image_shape = "None" if o["image_shape"] is None else py_literal(list(o["image_shape"]))
    channels = "None" if o["channels"] is None else str(int(o["channels"]))
    classes = "None" if not o["classes"] else py_literal(list(o["classes"]))
    lines = [f"files = tfrecord_files({path})",
             f"features, form, shape = example_features(first_record(files, {comp}), {py_str(o['images'])}, "
             f"{py_literal(list(o['labels']))}, image_shape={image_shape}, channels={channels})",
             f"size = {py_literal(list(o['resize']))}" if o["resize"] is not None else "size = shape[:2]",
             f"dataset = training_records(tfrecord_records(files, {comp}), {float(o['validation'])!r}, "
             f"{int(o['seed'])})"]
    helpers = {"tfrecord_files", "example_features", "first_record", "training_records", "tfrecord_records",
               "parse_example"}
    if o["classes"]:
        lines.append(f"dataset = keep_record_classes(dataset, {default}, {classes})")
        helpers.add("keep_record_classes")
    if count:  # epochs: steps come from the number of training records
        lines.append(f"n_train = count_records(files, {comp}, {float(o['validation'])!r}, {int(o['seed'])}, "
                     f"{default}, {classes})")
        helpers.add("count_records")
    else:
        lines.append("n_train = None  # not counted: `steps` says how long to train")
    decode = (f"lambda record: parse_example(record, features, {py_str(o['images'])}, form, shape, size, "
              f"{py_str(o['dtype'])}, {default}, {classes})")
    resize = _opt(o, "resize")
    return Source(lines, default, decode, buffer=str(RECORD_BUFFER),
                  resize=f"None if form == 'encoded' else {resize}" if o["resize"] is not None else "None",
                  scale=_opt(o, "scale") if o["scale"] is not None else "1 / 255 if form == 'encoded' else None",
                  helpers=helpers)


DATA_KINDS = kinds(
    Kind("npz", (
        Arg("images", STR, "images", "array of inputs, shape [N, ...]"),
        Arg("labels", LABEL_FIELDS, ("labels",), "label array(s); the first is the default for losses"),
    ), "NumPy .npz file of arrays with the same first dimension; every other "
       "array is available as a label field too",
        build="slimlang.training.data:open_npz", emit=emit_npz),
    Kind("tfrecord", (
        Arg("images", STR, "image/encoded", "feature with the encoded JPEG/PNG, raw bytes or floats"),
        Arg("labels", LABEL_FIELDS, ("image/class/label",), "int64/float feature(s) used as labels"),
        Arg("image_shape", optional(HWC), None, "shape of raw (not encoded) images"),
        Arg("dtype", DTYPE, "uint8", "dtype of raw image bytes"),
        Arg("channels", optional(CHANNELS), None, "channels to decode JPEG/PNG to (default: as the first record)"),
        Arg("compression", COMPRESSION, "", "record compression"),
    ), "TFRecord files (a glob) of tf.train.Example, as TF-Slim's datasets write them",
        build="slimlang.training.data:open_tfrecord", emit=emit_tfrecord),
    Kind("folder", (
        Arg("channels", CHANNELS, 3, "channels to decode images to"),
        Arg("extensions", STR_LIST, (".jpg", ".jpeg", ".png", ".bmp", ".gif"), "image file endings"),
    ), "a folder with one sub-folder of images per class, classes sorted by name; "
       "without `resize` every image is resized to the first image's size",
        build="slimlang.training.data:open_folder", emit=emit_folder),
    Kind("csv", (
        Arg("labels", LABEL_FIELDS, ("label",), "label column(s), by header name or index"),
        Arg("features", optional(COLUMNS), None, "feature columns (default: every column that is not a label)"),
        Arg("shape", optional(HWC), None, "reshape each row's features, e.g. [8, 8, 1]"),
        Arg("header", BOOL, True, "first line names the columns"),
        Arg("delimiter", STR, ",", "column separator"),
    ), "a CSV file of numbers, one example per row",
        build="slimlang.training.data:open_csv", emit=emit_csv),
)
