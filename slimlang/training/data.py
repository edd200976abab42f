"""Train stage, data: a `DataSpec` -> checked sources -> tf.data pipelines.

Each source is an entry of `kinds.data` naming its opener here; what the
sources and the preprocessing compute is shared with the emitted training
program through `helpers` (split, classes, preprocessing, record streams).

`open_data(spec)` does every check that can be done before TensorFlow runs a
step: the file, glob or folder exists; the named arrays, features or columns
exist and are numeric; labels fit their loss (checked again once the model's
output is known, in `losses`); the split is not empty.  Each failure is a
`SlimError` located at the train section's `data` line.

`Data.dataset(split, batch_size)` then builds the tf.data pipeline in the
current (TF1) graph: shuffle (file names / records, before decoding), repeat,
parallel decode, batch, preprocessing per batch (per image only for random
crops), prefetch.  Decoded images stay uint8 until batched; their sizes are
checked per batch (see `_unflatten`).  In-memory arrays (npz, csv) enter through placeholders fed
when the iterator is initialised, so they are not baked into the graph (or
the checkpoints' meta data).

Preprocessing order: decode -> resize -> crop (random while training, centre
otherwise) -> flip (training only) -> scale.  `preprocess(images, training)`
works on one image or a batch, so export applies the same deterministic part
inside the SavedModel.
"""

from __future__ import annotations

import csv
import io
import math
import os
import pathlib
import struct
from dataclasses import dataclass, field

import imagesize
import numpy as np

from ..diagnostics import SlimError, did_you_mean
from . import helpers
from ._tf import tf, tf1
from .datapaths import (
    check_data_path,
    csv_columns,
    csv_read_error,
    data_missing,
    declared_input_error,
    input_shape_after,
)
from .kinds.data import DATA_KINDS
from .spec import DataSpec

AUTOTUNE = tf.data.AUTOTUNE

#: Message marker of the in-graph label-range assertion (see losses.py).
LABEL_ASSERT = "slimlang-label-out-of-range"


@dataclass
class Field:
    """A label field: what losses read with `labels=NAME`."""

    name: str
    kind: str  # "int" or "float"
    shape: tuple  # per example
    lo: float | None = None  # value range, when known
    hi: float | None = None
    verified: bool = True  # range seen over every example (False: sampled)
    integral: bool = True  # every value a whole number


@dataclass
class Data:
    spec: DataSpec
    n_total: int | None
    n_train: int | None
    n_val: int | None
    raw_shape: tuple  # per example as stored/decoded (None where it varies)
    raw_dtype: str
    input_shape: tuple  # per example after preprocessing: what the model sees
    fields: dict
    default_field: str
    encoded: bool = False  # images decoded from JPEG/PNG: pixels 0..255
    class_names: list | None = None
    notes: list = field(default_factory=list)
    # source payloads
    arrays: dict | None = None  # npz/csv: name -> np.ndarray (images under "__images__")
    train_index: np.ndarray | None = None
    val_index: np.ndarray | None = None
    files: list | None = None  # folder: file paths; tfrecord: record files
    file_labels: np.ndarray | None = None
    tfr: dict | None = None  # tfrecord: parsing plan
    # encoded images: every one is known (from its header, read at open) to
    # decode to the target size, so batches need no per-batch size check
    uniform_size: bool = False

    # -- errors at the data line

    def error(self, code: str, message: str, *notes: str, key: str | None = None) -> SlimError:
        return data_error(self.spec, code, message, *notes, key=key)

    # -- preprocessing

    @property
    def opts(self) -> dict:
        return self.spec.options

    def preprocess(self, images, training: bool, per_example: bool = False, resized: bool = False, seed=None):
        """Resize, crop, flip, scale; rank 3 (one image) or rank 4 (a batch).

        `resized`: the decoder already resized (image files of mixed sizes
        must be resized one by one, before batching).
        """
        o = self.opts
        if o.get("preprocess"):
            from . import schemes

            return schemes.apply(o["preprocess"], images, training, o, self.encoded or self.raw_dtype == "uint8",
                                 seed=seed)
        scale = o["scale"]
        if scale is None and self.encoded:
            scale = 1.0 / 255.0
        return helpers.preprocess(images, training, resize=None if resized else o["resize"], crop=o["crop"],
                                  flip=o["flip"], scale=scale, per_example=per_example)

    def raw_channels(self) -> int:
        return int(self.raw_shape[-1])

    def needs_per_example_map(self, training: bool) -> bool:
        # A preprocessing scheme works image by image (each image's own size), in eval too.
        return (training and self.opts["crop"] is not None) or bool(self.opts.get("preprocess"))

    def serving_shape(self) -> tuple:
        """One example as export and predict take it: as stored, of any size under a preprocessing scheme."""
        if self.opts.get("preprocess") and len(self.raw_shape) == 3:
            return (None, None, self.raw_shape[-1])
        return tuple(self.raw_shape)

    def has_preprocessing(self, training: bool) -> bool:
        o = self.opts
        return bool(o.get("preprocess") or o["resize"] or o["crop"] or (training and o["flip"]) or o["scale"] is not None
                    or self.encoded or self.raw_dtype != "float32")

    # -- tf.data

    def dataset(self, split: str, batch_size: int, *, training: bool, repeat: bool,
                drop_remainder: bool = True, shuffle_offset: int = 0):
        """A batched tf.data pipeline for `split` ("train", "eval" or "all").

        Returns (dataset, feed_dict); feed the dict when running the iterator's
        initializer.  Elements are (images, {field: labels}).  `shuffle_offset`
        (the step a resumed run starts at) varies the shuffle order, so a
        resumed run does not replay the first run's batches.
        """
        seed = self.opts["seed"] + shuffle_offset
        shuffle = self.opts["shuffle"] if training else False
        if self.arrays is not None:
            ds, feed, n = self._array_source(split)
        elif self.spec.kind == "folder":
            ds, feed, n = self._folder_source(split)
        else:
            ds, feed, n = self._tfrecord_source(split)
        if shuffle:
            buf = shuffle if isinstance(shuffle, int) and not isinstance(shuffle, bool) else (n or 10000)
            ds = ds.shuffle(max(1, min(buf, n or buf)), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        per_example = self.needs_per_example_map(training)
        # Training with shuffling takes whichever image is decoded first; with
        # `shuffle=false` the user asked for file order, and a batch of a
        # repeated dataset must not mix two epochs.
        det = not (training and shuffle)
        if self.encoded and not per_example and self.uniform_size:
            # The common case, and the one that sets throughput.  Every image's header said it has
            # the target size, so per image only read + decode (uint8), batch as
            # a hand-written pipeline would, and cast + scale per batch.  The
            # ensure_shape catches a file that changed since it was opened.
            ds = ds.map(self._decode_fixed, num_parallel_calls=AUTOTUNE, deterministic=det)
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
            ds = ds.map(lambda x, y: (self.preprocess(x, training, resized=True), y),
                        num_parallel_calls=AUTOTUNE)
        elif self.encoded and not per_example:
            # Sizes unknown or mixed.  Per image only what must be per image:
            # read + decode, as flat uint8 pixels and their shape; batch that;
            # then per *batch* check the sizes (a reshape when they all fit),
            # cast, scale.  The old per-image tf.cond size check + float32 cast
            # (4x the bytes to batch) cost ~15-30% CPU per image next to a bare
            # decode; padded_batch itself costs 5-15% next to batch.
            ds = ds.map(self._decode_flat, num_parallel_calls=AUTOTUNE, deterministic=det)
            ds = ds.padded_batch(batch_size, drop_remainder=drop_remainder)
            ds = ds.map(lambda x, s, y: (self.preprocess(self._unflatten(x, s), training, resized=True), y),
                        num_parallel_calls=AUTOTUNE)
        elif per_example:
            # Random crops differ per image: decode and preprocess in one map.
            seeded = training and bool(self.opts.get("preprocess"))
            if seeded:
                # A seed per example for the scheme's stateless random ops: the
                # same augmentations for the same data-line seed, whatever the
                # number of threads.
                ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed)))

            def one(*e):
                s = None
                if seeded:
                    e, s = e
                if self.arrays is not None:
                    x, y = e
                elif self.opts.get("preprocess"):  # the scheme resizes each image from its own size
                    x, y = self._decode_as_stored(*e)
                else:
                    x, y = self._decode(*e)
                return self.preprocess(x, training, per_example=True, resized=self.encoded, seed=s), y

            ds = ds.map(one, num_parallel_calls=AUTOTUNE, deterministic=det)
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        else:
            if self.spec.kind in ("folder", "tfrecord"):
                ds = ds.map(self._decode, num_parallel_calls=AUTOTUNE, deterministic=det)
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
            if self.has_preprocessing(training):
                ds = ds.map(lambda x, y: (self.preprocess(x, training, resized=self.encoded), y),
                            num_parallel_calls=AUTOTUNE)
        return ds.prefetch(AUTOTUNE), feed

    def _split_index(self, split: str) -> np.ndarray:
        if split == "train":
            return self.train_index
        if split == "eval":
            return self.val_index
        return np.sort(np.concatenate([self.train_index, self.val_index]))

    def _array_source(self, split):
        idx = self._split_index(split)
        feed = {}
        tensors = []
        names = ["__images__"] + list(self.fields)
        for name in names:
            arr = self.arrays[name]
            ph = tf1.placeholder(tf.as_dtype(arr.dtype), (None,) + arr.shape[1:], name="data_" + _safe(name))
            feed[ph] = arr[idx]
            tensors.append(ph)
        ds = tf.data.Dataset.from_tensor_slices((tensors[0], {n: t for n, t in zip(names[1:], tensors[1:])}))
        return ds, feed, len(idx)

    def _folder_source(self, split):
        idx = self._split_index(split)
        files = np.array(self.files)[idx]
        labels = self.file_labels[idx]
        f_ph = tf1.placeholder(tf.string, [None], name="data_files")
        l_ph = tf1.placeholder(tf.int64, [None], name="data_labels")
        ds = tf.data.Dataset.from_tensor_slices((f_ph, {self.default_field: l_ph}))
        return ds, {f_ph: files, l_ph: labels}, len(idx)

    def _decode(self, x, y=None):
        """One example -> (image, labels); encoded images come out float32 of
        the target size (the per-example path)."""
        if self.spec.kind == "folder":
            return helpers.decode_image(tf.io.read_file(x), self.raw_channels(), self._target_hw()), y
        return self._tfr_decode(x)

    def _decode_bytes(self, data):
        # decode_image is one kernel that sniffs the format from the magic
        # bytes (JPEG, PNG, GIF, BMP): as fast as decode_jpeg on JPEGs.
        return tf.io.decode_image(data, channels=self.raw_channels(), expand_animations=False)

    def _decode_as_stored(self, x, y=None):
        """One folder file or record -> (uint8 image of the size it has, labels)."""
        if self.spec.kind == "folder":
            return self._decode_bytes(tf.io.read_file(x)), y
        return self._tfr_decode(x, fix=False)

    def _decode_fixed(self, x, y=None):
        """Encoded image known to have the target size -> (uint8 [h, w, c], labels)."""
        img, y = self._decode_as_stored(x, y)
        h, w = self._target_hw()
        return tf.ensure_shape(img, [h, w, self.raw_channels()]), y

    def _decode_flat(self, x, y=None):
        """Encoded image -> (flat uint8 pixels, [h, w, c], labels), for `padded_batch`."""
        img, y = self._decode_as_stored(x, y)
        return tf.reshape(img, [-1]), tf.shape(img, out_type=tf.int32), y

    def _target_hw(self) -> tuple:
        h, w = self.opts["resize"] or (self.raw_shape[0], self.raw_shape[1])
        return int(h), int(w)

    def _unflatten(self, x, shapes):
        """A padded batch of flat images and their shapes -> float32 [n, h, w, c]
        of the target size.  When every image has it (the common case) this is
        a reshape; otherwise each image is resized, as `_fix_size` does."""
        h, w = self._target_hw()
        c = self.raw_channels()
        fits = tf.reduce_all(tf.equal(shapes[:, :2], tf.constant([h, w], tf.int32)))

        def fast():
            return tf.cast(tf.reshape(x, [-1, h, w, c]), tf.float32)

        def slow():
            def one(a):
                flat, shape = a
                img = tf.reshape(flat[:tf.reduce_prod(shape)], shape)
                return self._fix_size(img)

            return tf.map_fn(one, (x, shapes), fn_output_signature=tf.TensorSpec([h, w, c], tf.float32))

        return tf.ensure_shape(tf.cond(fits, fast, slow), [None, h, w, c])

    def _fix_size(self, img):
        # Batching needs one size: image files are resized one by one, to
        # `resize` or (documented) to the first image's size.  The result
        # stays in 0..255 like the decoded pixels.
        # (Only the per-image crop path and mixed-size batches come here.  A
        # tf.cond skipping same-size images cost more than the resize itself.)
        h, w = self._target_hw()
        img = tf.image.resize(img, [h, w], method="bilinear")
        return tf.ensure_shape(img, [h, w, self.raw_channels()])

    # tfrecord ---------------------------------------------------------

    def _tfrecord_source(self, split):
        ds = helpers.tfrecord_records(self.files, self.opts["compression"] or None)
        val = self.opts["validation"]
        classes = self.opts["classes"]
        if val > 0 and split != "all":
            seed = self.opts["seed"]
            ds = ds.enumerate()

            def held_out(i, _):
                return helpers.hash_fraction(i, seed) < val

            if split == "eval":
                ds = ds.filter(held_out)
            else:
                ds = ds.filter(lambda i, r: tf.logical_not(held_out(i, r)))
            ds = ds.map(lambda i, r: r)
        if classes:
            plan = self.tfr
            key = plan["labels"][self.default_field]["key"]

            def parse_label(r):
                return tf.io.parse_single_example(r, {key: tf.io.FixedLenFeature([], tf.int64)})[key]

            table_t = helpers.class_table(classes)
            size = max(classes) + 1

            def keep(r):
                lab = parse_label(r)
                inside = tf.logical_and(lab >= 0, lab < size)
                return tf.logical_and(inside, tf.gather(table_t, tf.clip_by_value(lab, 0, size - 1)) >= 0)

            ds = ds.filter(keep)
        return ds, {}, self.n_train if split == "train" else self.n_val

    def _tfr_decode(self, record, fix: bool = True):
        """One record -> (image, labels), as `helpers.parse_example` reads it;
        `fix=False`: encoded images as stored, for the batching fast paths."""
        plan = self.tfr
        ip = plan["images"]
        features = {ip["key"]: ip["feature"], **{lp["key"]: lp["feature"] for lp in plan["labels"].values()}}
        classes = self.opts["classes"]
        if fix or ip["mode"] != "encoded":
            return helpers.parse_example(record, features, ip["key"], ip["mode"], self.raw_shape, self._target_hw(),
                                         self.opts["dtype"], self.default_field, classes)
        labels = tf.io.parse_single_example(record, features)
        image = self._decode_bytes(labels.pop(ip["key"]))
        if classes:
            labels[self.default_field] = tf.gather(helpers.class_table(classes), labels[self.default_field])
        return image, labels

    def failure(self, e, step: int) -> SlimError | None:
        """A located error for a data op that failed while training or
        evaluating (past what `open_data` checked: beyond the scanned records
        or files, or a file changed since), naming the file where it can be
        found; None when the error is not the data's."""
        reason = tf_reason(e.message)
        if isinstance(e, tf.errors.DataLossError) and self.spec.kind == "tfrecord":
            return _tfr_damage_error(self.spec, self.files, self.opts["compression"] or None, (0, -1), e)
        if self.spec.kind == "tfrecord" and self.encoded and isinstance(e, tf.errors.InvalidArgumentError):
            try:  # every record's image, not only the scanned ones: this is the error path
                _scan_tfrecord(self.spec, self.files, self.opts["compression"] or None, self.tfr, every=True)
            except SlimError as found:
                return found
        if self.spec.kind == "folder" and isinstance(e, tf.errors.InvalidArgumentError):
            # Every file, not only the scanned ones: this is the error path.
            found = [(f, *_file_problem(f)) for f in self.files]
            bad = [(f, p) for f, p, _ in found if p]
            if bad:
                return _damaged_images(self.spec, bad)
            hw = self._target_hw()
            changed = [(f, got) for f, _, got in found if got not in (None, hw)]
            if changed and self.uniform_size:
                f, got = changed[0]
                return self.error("E322", f"image file {f} changed since the data were opened: it is "
                                  f"{got[0]}x{got[1]} now, not {hw[0]}x{hw[1]}", f"note: TensorFlow said: {reason}")
        if isinstance(e, (tf.errors.DataLossError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError)):
            return self.error("E322", f"reading or using the data failed at step {step + 1}: {reason}",
                              "note: damaged image files, records of mixed shapes, or files changed or "
                              "removed since the data were opened cause this")
        return None

    def describe(self) -> str:
        n = f"{self.n_train} train" if self.n_train is not None else "train"
        if self.opts["validation"]:
            n += f" + {self.n_val} held-out" if self.n_val is not None else " + held-out"
        shape = "x".join("?" if d is None else str(d) for d in self.input_shape)
        return f"{self.spec.kind} {self.spec.path}: {n} examples of {shape}"


def tf_reason(message: str) -> str:
    """The line of a TensorFlow error message that says what went wrong (TF
    2 graph errors start with "Graph execution error:" and a traceback)."""
    raw = message.strip().splitlines()
    skip = ("Graph execution error", "Detected at node", "Traceback", "Original stack trace", "[[", "Node:")
    useful = [ln.strip() for ln in raw if ln.strip() and not ln.startswith((" ", "\t"))
              and not ln.strip().startswith(skip)]
    return (useful[0] if useful else (raw[0] if raw else ""))[:400]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name).lstrip("_-.") or "x"


def _run(build):
    """Run `build()`'s tensors in a fresh graph and session (works whether or
    not the process has eager execution on, and inside another graph's build)."""
    with tf.Graph().as_default():
        fetches = build()
        with tf1.Session() as s:
            return s.run(fetches)


def _decode_first(data: bytes, channels: int) -> tuple:
    return helpers.decoded_size(data, channels)


# Image sizes from headers.  tf.io.decode_image decodes JPEG, PNG, GIF and BMP;
# for JPEG and PNG the size in the header is the size it decodes to (JPEG's
# frame, without EXIF rotation, which TensorFlow does not apply).  A GIF's
# header gives its logical screen, but TensorFlow decodes the first frame's own
# size (tests/test_data_sources.py shows a 3x9 screen decoding to 1x1), and BMP
# heights may be negative (top-down): both count as unknown.  An unknown size
# only costs speed: that source takes the padded path.
_HEADER_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_SIZE_SCAN_FILES = 100_000  # image files whose headers are read when a folder is opened (~40 us each here)
_SIZE_PREFIX = 4096  # bytes of each encoded image in a TFRecord read for its header


def header_hw(head) -> tuple | None:
    """(height, width) of an encoded image from its first bytes or an open
    binary file, without decoding it; None when the format or size is unknown."""
    if isinstance(head, bytes | bytearray):
        if not head.startswith(_HEADER_MAGIC):
            return None
        head = io.BytesIO(head)
    else:
        magic = head.read(8)
        head.seek(0)
        if not magic.startswith(_HEADER_MAGIC):
            return None
    # A file object, never a str: imagesize fetches str paths that look like URLs.
    w, h = imagesize.get(head, exif_rotation=False)
    return (int(h), int(w)) if w > 0 and h > 0 else None


_IMAGE_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF8", "GIF"), (b"BM", "BMP"))
_TAIL = 4096  # bytes at the end of an image file searched for its end marker


def image_problem(head: bytes, tail: bytes, size: int, hw: tuple | None, head_complete: bool = True) -> str | None:
    """What is wrong with an encoded image, from its first and last bytes and
    its header size `hw` (None if not found); None when it looks whole.

    Only what TensorFlow's decoder would refuse: an empty file, an unknown
    format, a JPEG/PNG header without a size, or a JPEG/PNG that stops before
    its end marker (a cut-off copy or download; trailing bytes after the
    marker are tolerated, as the decoders tolerate them)."""
    if size == 0:
        return "is empty (0 bytes)"
    fmt = next((name for magic, name in _IMAGE_MAGIC if head.startswith(magic)), None)
    if fmt is None:
        return f"is not a JPEG, PNG, GIF or BMP image (it starts with {bytes(head[:8])!r})"
    if fmt in ("JPEG", "PNG") and hw is None and head_complete:
        return f"has a broken {fmt} header (no image size in it)"
    if fmt == "JPEG" and b"\xff\xd9" not in tail:
        return "is a truncated JPEG: it stops before the end-of-image marker"
    if fmt == "PNG" and b"IEND" not in tail:
        return "is a truncated PNG: it stops before the IEND chunk"
    return None


def _file_problem(path: str) -> tuple[str | None, tuple | None]:
    """(what is wrong with image file `path` or None, its header size or None)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(16)
            fh.seek(0)
            hw = _hw_or_none(fh)
            fh.seek(max(0, size - _TAIL))
            tail = fh.read(_TAIL)
    except OSError as e:
        return f"cannot be read: {e.strerror or e}", None
    return image_problem(head, tail, size, hw), hw


def _hw_or_none(fh):
    try:
        return header_hw(fh)
    except (ValueError, struct.error, IndexError, OSError):
        return None


def _scan_image_files(spec: DataSpec, files: list) -> set | None:
    """Check every image file's first and last bytes (up to `_SIZE_SCAN_FILES`
    files, ~50 us each); raise E328 naming the damaged ones.  Returns the set
    of header sizes (None standing for an unknown one), or None when there
    are too many files to scan."""
    if len(files) > _SIZE_SCAN_FILES:
        return None
    bad = []
    sizes: set = set()
    for f in files:
        problem, got = _file_problem(f)
        if problem:
            bad.append((f, problem))
        else:
            sizes.add(got)
    if bad:
        raise _damaged_images(spec, bad)
    return sizes


def _damaged_images(spec: DataSpec, bad: list) -> SlimError:
    f, problem = bad[0]
    more = len(bad) - 1
    notes = [f"note: {g} {p}" for g, p in bad[1:6]]
    if len(bad) > 6:
        notes.append(f"note: ... and {len(bad) - 6} more")
    notes.append("help: remove or replace " + ("these files" if more else "the file") +
                 "; every image file with a listed extension is read")
    return data_error(spec, "E328", f"image file {f} {problem}" + (f" (and {more} more damaged file"
                      f"{'s' if more != 1 else ''})" if more else ""), *notes)


def data_error(spec: DataSpec, code: str, message: str, *notes: str, key: str | None = None) -> SlimError:
    span = spec.opt_span(key) if key else spec.span
    return SlimError.single(code, message, span, [n for n in notes if n])


def declared_input(model_fn) -> tuple:
    """(the input shape a .slim model declares, without the batch, or None; its span)."""
    prog, node = getattr(model_fn, "_program", None), getattr(model_fn, "_node", None)
    if prog is None or node is None or not getattr(node, "params", None):
        return None, None
    try:
        shape = prog.input_shape(node.name)
    except (KeyError, AttributeError):
        return None, None
    return (tuple(shape) if shape else None), node.params[0].span


def check_declared_input(data: Data, model_fn, model_name: str | None = None) -> None:
    """E329 when the examples the model will see (after resize and crop) do
    not have the shape its input declares.  A model fed another shape often
    still builds (a conv takes any channel count) and trains on the wrong
    data without a word."""
    declared, span = declared_input(model_fn)
    err = declared_input_error(data.spec, tuple(data.input_shape), declared, span,
                               model_name or getattr(model_fn, "__name__", None), encoded=data.encoded)
    if err is not None:
        raise err


# ------------------------------------------------------------ opening ---


def open_data(spec: DataSpec) -> Data:
    """Open and check the data a train section names.  Raises SlimError."""
    return DATA_KINDS[spec.kind].builder()(spec)


def _missing(spec: DataSpec, what: str) -> SlimError:
    return data_missing(spec, what)


def _array_fields(spec: DataSpec, arrays: dict, label_names: tuple, n: int, where: str) -> dict:
    fields = {}
    for name in label_names:
        arr = arrays[name]
        fields[name] = _field_from_array(spec, name, arr, where)
    return fields


def _field_from_array(spec, name, arr, where) -> Field:
    if arr.dtype.kind not in "iubf":
        raise data_error(spec, "E322", f"labels {where}{name!r} are {arr.dtype}, not numbers", key="labels")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).any(axis=1))[0])
        raise data_error(spec, "E322", f"labels {where}{name!r} hold NaN or Inf (first at example {bad})",
                         key="labels")
    integral = arr.dtype.kind in "iub" or bool(np.all(np.mod(arr, 1) == 0))
    kind = "int" if arr.dtype.kind in "iub" else "float"
    lo = float(arr.min()) if arr.size else None
    hi = float(arr.max()) if arr.size else None
    return Field(name, kind, tuple(arr.shape[1:]), lo, hi, True, integral)


def _check_images_array(spec: DataSpec, x: np.ndarray, what: str) -> np.ndarray:
    if x.dtype.kind not in "iubf":
        raise data_error(spec, "E322", f"{what} are {x.dtype}, not numbers", key="images")
    if x.ndim < 2:
        raise data_error(spec, "E322", f"{what} have shape {list(x.shape)}: expected [N, ...] with one "
                         "example per row", key="images")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise data_error(spec, "E322", f"{what} hold NaN or Inf values", key="images")
    if x.dtype == np.float64 or x.dtype.kind == "b":
        x = x.astype(np.float32)
    return x


def _image_options_fit(spec: DataSpec, shape: tuple):
    o = spec.options
    for key in ("resize", "crop", "flip"):
        if o[key] and len(shape) != 3:
            raise data_error(spec, "E322", f"`{key}` needs images [height, width, channels]; these examples "
                             f"have shape {list(shape)}", key=key)
    if o["crop"] and not o["resize"] and not o.get("preprocess") and len(shape) == 3:
        h, w = o["crop"]
        if shape[0] is not None and (h > shape[0] or w > shape[1]):
            raise data_error(spec, "E310", f"crop {[h, w]} is larger than the images ({shape[0]}x{shape[1]})",
                             key="crop")


def _input_shape(spec: DataSpec, raw: tuple) -> tuple:
    return input_shape_after(spec, raw)


def _split(spec: DataSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    val = spec.options["validation"]
    if n == 0:
        raise data_error(spec, "E324", f"{spec.path} holds no examples"
                         + (" of the selected classes" if spec.options["classes"] else ""))
    train, held_out = helpers.split(n, val, spec.options["seed"])
    if len(train) == 0:
        raise data_error(spec, "E324", f"validation={val:g} of {n} examples leaves none to train on",
                         key="validation")
    return train, held_out


def _filter_classes(spec: DataSpec, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows to keep and their renumbered labels, for `classes=[...]`."""
    classes = spec.options["classes"]
    if len(set(classes)) != len(classes):
        raise data_error(spec, "E305", f"classes={list(classes)} repeats a label", key="classes")
    flat = labels.reshape(len(labels), -1)
    if flat.shape[1] != 1:
        raise data_error(spec, "E322", "`classes` needs one integer label per example", key="classes")
    present = set(flat[:, 0].tolist())
    absent = [c for c in classes if c not in present]
    if absent:
        raise data_error(spec, "E324", f"classes {absent} do not occur in the labels", key="classes")
    return helpers.keep_classes(labels, classes)


def _finish_arrays(spec: DataSpec, images: np.ndarray, labels: dict, default: str, where: str,
                   class_names=None) -> Data:
    n = len(images)
    for name, arr in labels.items():
        if len(arr) != n:
            raise data_error(spec, "E322", f"labels {where}{name!r} have {len(arr)} rows but the images have {n}",
                             key="labels")
    if spec.options["classes"]:
        if labels[default].dtype.kind not in "iu" and not np.all(np.mod(labels[default], 1) == 0):
            raise data_error(spec, "E322", "`classes` needs integer labels", key="classes")
        rows, new = _filter_classes(spec, labels[default])
        images = images[rows]
        labels = {k: v[rows] for k, v in labels.items()}
        labels[default] = new
        n = len(images)
    train_idx, val_idx = _split(spec, n)
    fields = _array_fields(spec, labels, tuple(labels), n, where)
    raw = tuple(images.shape[1:])
    _image_options_fit(spec, raw)
    arrays = {"__images__": images, **labels}
    return Data(spec, n, len(train_idx), len(val_idx), raw, str(images.dtype), _input_shape(spec, raw), fields,
                default, arrays=arrays, train_index=train_idx, val_index=val_idx, class_names=class_names)


def open_npz(spec: DataSpec) -> Data:
    p = pathlib.Path(spec.path)
    check_data_path(spec)  # a regular file, a zip archive, holding the named arrays
    arrays = {}
    try:
        with np.load(p, allow_pickle=False) as z:
            for k in z.files:
                try:
                    arrays[k] = z[k]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise SlimError.single("E322", f"array {k!r} in {p.name} holds Python objects "
                                               "(dtype=object), not numbers", spec.path_span,
                                               ["help: save numeric arrays, e.g. np.asarray(x, np.float32)"]) from None
                    raise
    except SlimError:
        raise
    except Exception as e:  # damaged members (CRC, cut-off data), unreadable file
        raise SlimError.single("E320", f"cannot read {p} as .npz: {e}", spec.path_span,
                               ["note: the zip directory is intact but an array in it is damaged"]) from None
    keys = list(arrays)
    o = spec.options
    img_key = o["images"]
    if img_key not in arrays:
        raise data_error(spec, "E321", f"no array {img_key!r} in {p.name}",
                         did_you_mean(img_key, keys), "note: arrays there: " + ", ".join(keys), key="images")
    images = _check_images_array(spec, arrays[img_key], f"images {img_key!r}")
    n = len(images)
    label_names = o["labels"]
    labels = {}
    for name in label_names:
        if not isinstance(name, str) or name not in arrays:
            raise data_error(spec, "E321", f"no array {name!r} in {p.name}",
                             did_you_mean(str(name), keys), "note: arrays there: " + ", ".join(keys), key="labels")
        labels[name] = arrays[name]
    # Every other array with one row per example is a label field too (multi-task).
    for k, v in arrays.items():
        if k != img_key and k not in labels and v.ndim >= 1 and len(v) == n and v.dtype.kind in "iubf":
            labels[k] = v
    return _finish_arrays(spec, images, labels, label_names[0], "array ")


def open_csv(spec: DataSpec) -> Data:
    p = pathlib.Path(spec.path)
    check_data_path(spec)  # a regular file, UTF-8, holding the named columns
    o = spec.options
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f, delimiter=o["delimiter"]))
    except (UnicodeDecodeError, OSError, csv.Error) as e:
        raise csv_read_error(spec, e) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if o["header"]:
        if not rows:
            raise data_error(spec, "E324", f"{p.name} is empty")
        header = [c.strip() for c in rows[0]]
        body = rows[1:]
        first_line = 2
    else:
        width = len(rows[0]) if rows else 0
        header = [str(i) for i in range(width)]
        body = rows
        first_line = 1
    if not body:
        raise data_error(spec, "E324", f"{p.name} has no data rows")
    label_cols, feat_cols = csv_columns(spec, header)
    if not feat_cols:
        raise data_error(spec, "E322", f"{p.name} has no feature columns besides the labels", key="features")
    data = np.empty((len(body), len(header)), np.float64)
    for r, row in enumerate(body):
        if len(row) != len(header):
            raise data_error(spec, "E322", f"{p.name} line {r + first_line} has {len(row)} columns, "
                             f"expected {len(header)}")
        for c in label_cols + feat_cols:
            try:
                data[r, c] = float(row[c])
            except ValueError:
                raise data_error(spec, "E322", f"{p.name} line {r + first_line}, column {header[c]!r}: "
                                 f"{row[c]!r} is not a number") from None
    feats = data[:, feat_cols].astype(np.float32)
    if not np.all(np.isfinite(feats)):
        raise data_error(spec, "E322", f"{p.name} features hold NaN or Inf")
    if o["shape"]:
        want = int(np.prod(o["shape"]))
        if want != feats.shape[1]:
            raise data_error(spec, "E322", f"shape={list(o['shape'])} needs {want} feature columns, "
                             f"{p.name} has {feats.shape[1]}", key="shape")
        feats = feats.reshape((len(feats),) + tuple(o["shape"]))
    labels = {}
    for c in label_cols:
        col = data[:, c]
        labels[header[c]] = col.astype(np.int64) if np.all(np.mod(col, 1) == 0) else col.astype(np.float32)
    default = header[label_cols[0]]
    return _finish_arrays(spec, feats, labels, default, "column ")


def open_folder(spec: DataSpec) -> Data:
    root = pathlib.Path(spec.path)
    check_data_path(spec)
    o = spec.options
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in o["extensions"])
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise data_error(spec, "E324", f"{root} has no class sub-folders",
                         "note: put the images of each class in a sub-folder named after the class")
    files, labels = [], []
    for i, c in enumerate(classes):
        found = sorted(str(f) for f in (root / c).rglob("*") if f.suffix.lower() in exts and f.is_file())
        files += found
        labels += [i] * len(found)
    if not files:
        raise data_error(spec, "E324", f"no images ({', '.join(exts)}) under {root}")
    file_labels = np.array(labels, np.int64)
    class_names = classes
    if o["classes"]:
        for c in o["classes"]:
            if not 0 <= c < len(classes):
                raise data_error(spec, "E323", f"classes: {c} is not a class index; {root.name} has "
                                 f"{len(classes)} classes (0..{len(classes) - 1})", key="classes")
        rows, file_labels = _filter_classes(spec, file_labels)
        files = [files[i] for i in rows]
        class_names = [classes[c] for c in o["classes"]]
    sizes = _scan_image_files(spec, files)
    # The first image fixes channels and (without resize) the size.
    first = files[0]
    try:
        h, w, _ = _decode_first(pathlib.Path(first).read_bytes(), o["channels"])
        h, w = int(h), int(w)
    except (tf.errors.OpError, ValueError, OSError) as e:
        raise data_error(spec, "E328", f"image file {first} cannot be decoded: "
                         f"{tf_reason(str(getattr(e, 'message', e)))}") from None
    raw = (h, w, o["channels"]) if o["resize"] is None else (None, None, o["channels"])
    _image_options_fit(spec, (h, w, o["channels"]) if o["resize"] is None else (o["resize"] + (o["channels"],)))
    train_idx, val_idx = _split(spec, len(files))
    n_cls = len(class_names)
    fields = {"labels": Field("labels", "int", (), 0, n_cls - 1, True, True)}
    d = Data(spec, len(files), len(train_idx), len(val_idx), raw, "uint8", _input_shape(spec, (h, w, o["channels"])),
             fields, "labels", encoded=True, class_names=class_names, files=files, file_labels=file_labels,
             train_index=train_idx, val_index=val_idx)
    d.uniform_size = sizes == {d._target_hw()}
    if o["resize"] is None and not d.uniform_size:
        d.notes.append(f"no `resize`: images are resized to the first image's size, {h}x{w}")
    return d


_TFR_SCAN = 20000  # label values checked before training; the rest are checked in the graph


def open_tfrecord(spec: DataSpec) -> Data:
    pattern = spec.path
    check_data_path(spec)
    files = helpers.tfrecord_files(pattern)  # the checked path: a glob matching files, a file or a folder
    if not files:
        raise _missing(spec, "TFRecord files")
    o = spec.options
    comp = o["compression"] or None
    def first_record():
        it = tf1.data.make_one_shot_iterator(tf.data.TFRecordDataset(files, compression_type=comp).take(1))
        return it.get_next()

    try:
        first = _run(first_record)
    except tf.errors.OutOfRangeError:
        first = None
    except tf.errors.OpError as e:
        reason = tf_reason(e.message)
        try:
            with open(files[0], "rb") as fh:
                magic = fh.read(2)
        except OSError:
            magic = b""
        if "truncated record" in reason:
            raise data_error(spec, "E328", f"TFRecord file {files[0]} is truncated or damaged: its first record "
                             "cannot be read whole", f"note: TensorFlow said: {reason}",
                             "help: copy or write the file again") from None
        if magic == b"\x1f\x8b" and not comp:
            hint = 'help: the file is GZIP-compressed: add compression="GZIP"'
        else:
            hint = 'note: for compressed files set compression="GZIP" (or "ZLIB")'
        raise data_error(spec, "E320", f"cannot read {files[0]} as TFRecord: {reason}", hint) from None
    if first is None:
        if not comp:
            _check_tfrecord_framing(spec, files)  # a lone record cut short reads as no records at all
        raise data_error(spec, "E324", f"no records in {len(files)} TFRecord file(s) matching {pattern}")
    try:
        ex = tf.train.Example.FromString(first)
    except Exception:
        raise data_error(spec, "E322", "the records are not tf.train.Example protos") from None
    feats = ex.features.feature
    keys = sorted(feats)
    img_key = o["images"]
    if img_key not in feats:
        raise data_error(spec, "E321", f"no feature {img_key!r} in the records", did_you_mean(img_key, keys),
                         "note: features there: " + ", ".join(keys), key="images")
    f = feats[img_key]
    kind = f.WhichOneof("kind")
    plan: dict = {"labels": {}}
    encoded = False
    if kind == "bytes_list":
        data = f.bytes_list.value[0]
        is_img = data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:2] == b"BM" or \
            data[:4] == b"GIF8"
        if is_img and o["image_shape"] is None:
            encoded = True
            problem = image_problem(data[:_SIZE_PREFIX], data[-16:], len(data), header_hw(data))
            try:
                if problem:
                    raise ValueError(problem)
                h, w, ch0 = (int(v) for v in _decode_first(data, o["channels"] or 0))
            except (tf.errors.OpError, ValueError) as e:
                raise data_error(spec, "E328", f"{files[0]} record 0: the image in feature {img_key!r} "
                                 f"{problem or 'cannot be decoded: ' + tf_reason(str(getattr(e, 'message', e)))}",
                                 key="images") from None
            ch = o["channels"] or ch0
            raw = (h, w, ch) if o["resize"] is None else (None, None, ch)
            plan["images"] = {"key": img_key, "mode": "encoded", "feature": tf.io.FixedLenFeature([], tf.string)}
            full = (h, w, ch)
        else:
            shp = o["image_shape"]
            if shp is None:
                raise data_error(spec, "E309", f"feature {img_key!r} holds raw bytes, not JPEG/PNG: give "
                                 "image_shape=[h, w, c] (and dtype=) to read them", key="images")
            shp = tuple(shp) if len(shp) == 3 else tuple(shp) + (1,)
            itemsize = np.dtype(o["dtype"]).itemsize
            if len(data) != int(np.prod(shp)) * itemsize:
                fmt = next((name for magic, name in _IMAGE_MAGIC if data[:len(magic)] == magic), None)
                raise data_error(spec, "E322", f"raw image of {len(data)} bytes does not fit image_shape="
                                 f"{list(shp)} of {o['dtype']} ({int(np.prod(shp)) * itemsize} bytes)",
                                 *([f"note: the feature {img_key!r} holds {fmt} images, not raw pixels: "
                                    "image_shape is for raw pixels; remove it (and use resize=[h, w] for "
                                    "another size)"] if fmt else []),
                                 key="image_shape")
            raw = full = shp
            plan["images"] = {"key": img_key, "mode": "raw", "feature": tf.io.FixedLenFeature([], tf.string)}
    elif kind in ("float_list", "int64_list"):
        values = getattr(f, kind).value
        shp = o["image_shape"]
        if shp is None:
            raise data_error(spec, "E309", f"feature {img_key!r} is a flat list of {len(values)} numbers: "
                             "give image_shape=[h, w, c]", key="images")
        shp = tuple(shp) if len(shp) == 3 else tuple(shp) + (1,)
        if len(values) != int(np.prod(shp)):
            raise data_error(spec, "E322", f"feature {img_key!r} has {len(values)} values, image_shape="
                             f"{list(shp)} needs {int(np.prod(shp))}", key="image_shape")
        dt = tf.float32 if kind == "float_list" else tf.int64
        plan["images"] = {"key": img_key, "mode": "list", "feature": tf.io.FixedLenFeature([len(values)], dt)}
        raw = full = shp
    else:
        raise data_error(spec, "E322", f"feature {img_key!r} is empty in the first record", key="images")

    fields = {}
    for lk in o["labels"]:
        if not isinstance(lk, str) or lk not in feats:
            raise data_error(spec, "E321", f"no feature {lk!r} in the records", did_you_mean(str(lk), keys),
                             "note: features there: " + ", ".join(keys), key="labels")
        lf = feats[lk]
        lkind = lf.WhichOneof("kind")
        if lkind not in ("int64_list", "float_list"):
            raise data_error(spec, "E322", f"label feature {lk!r} is {lkind}, not numbers", key="labels")
        n_vals = len(getattr(lf, lkind).value)
        shape = () if n_vals == 1 else (n_vals,)
        dt = tf.int64 if lkind == "int64_list" else tf.float32
        plan["labels"][lk] = {"key": lk, "kind": "int" if lkind == "int64_list" else "float",
                              "feature": tf.io.FixedLenFeature(list(shape), dt)}
        fields[lk] = Field(lk, plan["labels"][lk]["kind"], shape, verified=False)
    default = o["labels"][0]
    unwalked = _check_tfrecord_framing(spec, files) if not comp else 0
    # Scan labels (cheaply: only the label features) for ranges and counts.
    n, ranges, integral, sizes = _scan_tfrecord(spec, files, comp, plan)
    for lk, (lo, hi) in ranges.items():
        fields[lk].lo, fields[lk].hi = lo, hi
        fields[lk].verified = n is not None
        fields[lk].integral = integral[lk]
    classes = o["classes"]
    if classes:
        if plan["labels"][default]["kind"] != "int" or fields[default].shape != ():
            raise data_error(spec, "E322", "`classes` needs one int64 label per record", key="classes")
        fields[default].lo, fields[default].hi = 0, len(classes) - 1
    _image_options_fit(spec, full if o["resize"] is None else tuple(o["resize"]) + (full[-1],))
    val = o["validation"]
    n_train = n_val = None
    if n is not None and not classes:
        n_val = _count_held_out(n, val, o["seed"]) if val > 0 else 0
        n_train = n - n_val
        if n_train == 0:
            raise data_error(spec, "E324", f"validation={val:g} of {n} records leaves none to train on",
                             key="validation")
    d = Data(spec, n, n_train, n_val, raw, "uint8" if encoded else (o["dtype"] if plan["images"]["mode"] == "raw"
             else "float32"), _input_shape(spec, full), fields, default, encoded=encoded, files=files, tfr=plan)
    # Every record read (n known) and every image of the target size: plain batching.
    d.uniform_size = encoded and n is not None and sizes == {d._target_hw()}
    if encoded and o["resize"] is None and not d.uniform_size:
        d.notes.append(f"no `resize`: images are resized to the first image's size, {full[0]}x{full[1]}")
    if unwalked:
        d.notes.append(f"{unwalked} of {len(files)} TFRecord files were not checked for truncation "
                       f"(the check stops after {_TFR_FRAMING_SECS:g} s)")
    return d


def _scan_tfrecord(spec, files, comp, plan, every: bool = False):
    """(record count or None if only sampled, {field: (lo, hi)}, {field: integral},
    set of encoded image sizes seen, None standing for an unknown one).

    Reads the first `_TFR_SCAN` records (`every`: all); TensorFlow's reader checks their
    CRCs, and each encoded image's first and last bytes are checked too
    (E328, naming the file and the record)."""
    feature_spec = {lp["key"]: lp["feature"] for lp in plan["labels"].values()}
    img = plan["images"]
    img_key = img["key"] if img["mode"] == "encoded" else None
    if img_key is not None:
        feature_spec[img_key] = img["feature"]

    def parse(i, j, r):
        p = tf.io.parse_example(r, feature_spec)
        if img_key is not None:  # only the first and last bytes travel to Python
            x = p.pop(img_key)
            n = tf.strings.length(x)
            p["__head__"] = tf.strings.substr(x, tf.zeros_like(n), tf.fill(tf.shape(n), _SIZE_PREFIX))
            p["__tail__"] = tf.strings.substr(x, tf.maximum(n - 16, 0), tf.fill(tf.shape(n), 16))
            p["__len__"] = n
        return i, j, p

    count = 0
    lo, hi, integral = {}, {}, {}
    sizes: set = set()
    bad = []
    last = (0, -1)  # (file, record) of the last record read
    with tf.Graph().as_default():
        names = tf.data.Dataset.from_tensor_slices(files).enumerate()
        ds = names.flat_map(lambda i, f: tf.data.TFRecordDataset(f, compression_type=comp or "").enumerate()
                            .map(lambda j, r: (i, j, r)))
        ds = (ds if every else ds.take(_TFR_SCAN + 1)).batch(1024).map(parse, num_parallel_calls=AUTOTUNE)
        nxt = tf1.data.make_one_shot_iterator(ds).get_next()
        with tf1.Session() as sess:
            try:
                while True:
                    fi, ri, batch = sess.run(nxt)
                    last = (int(fi[-1]), int(ri[-1]))
                    if img_key is not None:
                        heads, tails, lens = batch.pop("__head__"), batch.pop("__tail__"), batch.pop("__len__")
                        for k, (h, t, n) in enumerate(zip(heads, tails, lens)):
                            hw = _hw_or_none(io.BytesIO(h)) if h.startswith(_HEADER_MAGIC) else None
                            problem = image_problem(h, t, int(n), hw, head_complete=len(h) < _SIZE_PREFIX)
                            if problem:
                                bad.append((files[fi[k]], int(ri[k]), problem))
                            sizes.add(hw)
                    count_b = len(fi)
                    for key, a in batch.items():
                        if a.size:
                            lo[key] = min(lo.get(key, math.inf), float(a.min()))
                            hi[key] = max(hi.get(key, -math.inf), float(a.max()))
                            integral[key] = integral.get(key, True) and bool(np.all(np.mod(a, 1) == 0))
                    count += count_b
            except tf.errors.OutOfRangeError:
                pass
            except tf.errors.DataLossError as e:
                raise _tfr_damage_error(spec, files, comp, last, e) from None
            except tf.errors.OpError as e:
                raise data_error(spec, "E322", f"reading the records failed: {tf_reason(e.message)}",
                                 "note: every record needs the image feature and every label feature, "
                                 "with the same length") from None
    if bad:
        f, r, problem = bad[0]
        notes = [f"note: {g} record {k}: the image {p}" for g, k, p in bad[1:6]]
        if len(bad) > 6:
            notes.append(f"note: ... and {len(bad) - 6} more")
        more = f" (and {len(bad) - 1} more damaged image{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        raise data_error(spec, "E328", f"{f} record {r}: the image in feature {img_key!r} {problem}{more}",
                         *notes, "help: write those records again from intact images", key="images")
    n = count if count <= _TFR_SCAN or every else None
    return n, {k: (lo[k], hi[k]) for k in lo}, {k: integral.get(k, True) for k in lo}, sizes


_TFR_HEADER = struct.Struct("<QI")  # record length, masked crc32c of the length


class _Framing(Exception):
    """A TFRecord file's framing is broken at record `index` (byte `offset`)."""

    def __init__(self, index: int, offset: int, what: str):
        super().__init__(what)
        self.index, self.offset, self.what = index, offset, what


_TFR_FRAMING_SECS = 10.0  # open-time budget of the framing walk over all files (cold disks: ~ reading them)


def tfrecord_frames(path: str, stop_at: int | None = None, deadline: float | None = None) -> int | None:
    """Number of records in an uncompressed TFRecord file, by walking its
    framing (each record: uint64 length, uint32 CRC, the data, uint32 CRC):
    only the 12-byte headers are read, the rest is skipped with a seek, so the
    whole file is walked in ~0.5 us a record (200k records: 0.09 s).  Raises `_Framing` when a record
    runs past the end of the file (a file cut short) or the last one is cut
    inside its header.  With `stop_at`, returns the index of the record that
    starts at that byte offset (or the one containing it).  Returns None
    when the time.monotonic() `deadline` passes first."""
    import time

    size = os.path.getsize(path)
    n = pos = 0
    with open(path, "rb") as f:
        while pos < size:
            if stop_at is not None and pos >= stop_at:
                return n if pos == stop_at else n - 1
            if deadline is not None and n % 4096 == 4095 and time.monotonic() > deadline:
                return None
            head = f.read(12)
            if len(head) < 12:
                raise _Framing(n, pos, f"the file ends {len(head)} bytes into the 12-byte header of record {n}")
            length, _ = _TFR_HEADER.unpack(head)
            end = pos + 16 + length
            if end > size:
                raise _Framing(n, pos, f"record {n} at byte {pos} says it holds {length} bytes, but the file "
                               f"ends {size - pos - 12} bytes after its header")
            f.seek(length + 4, os.SEEK_CUR)
            pos = end
            n += 1
    return n if stop_at is None else max(n - 1, 0)


def _check_tfrecord_framing(spec: DataSpec, files: list) -> int:
    """Walk every (uncompressed) file's framing, within `_TFR_FRAMING_SECS`;
    E328 naming the file and the record where one is cut short.  Returns how
    many files were not walked for lack of time."""
    import time

    deadline = time.monotonic() + _TFR_FRAMING_SECS
    for i, f in enumerate(files):
        try:
            if tfrecord_frames(f, deadline=deadline) is None:
                return len(files) - i
        except _Framing as e:
            raise data_error(spec, "E328", f"TFRecord file {f} is truncated or damaged: {e.what}",
                             f"note: records 0..{e.index - 1} are intact" if e.index else "",
                             "note: a copy or download that stopped early, or a writer that was killed, "
                             "leaves a file like this; TensorFlow would silently read only the intact records",
                             "help: copy or write the file again") from None
        except OSError as e:
            raise data_error(spec, "E320", f"cannot read {f}: {e.strerror or e}") from None
    return 0


def _tfr_damage_error(spec, files, comp, last, e) -> SlimError:
    """E328 for a record that fails its CRC: find which file and which record."""
    import re

    msg = e.message.strip()
    m = re.search(r"(corrupted|truncated) record at (\d+)", msg)
    detail = m.group(0) if m else tf_reason(msg)
    where = None
    # Re-read file by file from the last good record's file to find the failing one.
    for fi in range(last[0], len(files)):
        with tf.Graph().as_default():
            n = tf.data.TFRecordDataset(files[fi], compression_type=comp or "").reduce(np.int64(0), lambda a, _: a + 1)
            with tf1.Session() as s:
                try:
                    s.run(n)
                except tf.errors.DataLossError:
                    where = fi
                    break
    if where is None:
        return data_error(spec, "E328", f"a TFRecord file is damaged: {detail}")
    f = files[where]
    rec = ""
    if m and not comp:
        try:
            rec = f" record {tfrecord_frames(f, stop_at=int(m.group(2)))} (byte {m.group(2)})"
        except (_Framing, OSError):
            rec = f" at byte {m.group(2)}"
    why = "fails its checksum" if "corrupt" in detail else "cannot be read"
    return data_error(spec, "E328", f"TFRecord file {f}{rec} {why}: the file is damaged",
                      f"note: TensorFlow said: {detail}", "help: copy or write the file again")


def _count_held_out(n: int, val: float, seed: int) -> int:
    frac = _run(lambda: helpers.hash_fraction(tf.range(n, dtype=tf.int64), seed))
    return int(np.sum(frac < val))


def count_records(data: Data) -> tuple[int, int]:
    """(train, held-out) record counts of a tfrecord source, by reading it."""
    if data.n_train is not None:
        return data.n_train, data.n_val
    with tf.Graph().as_default():
        out = []
        for split in ("train", "eval"):
            ds, _ = data.dataset(split, 4096, training=False, repeat=False, drop_remainder=False)
            ds = ds.map(lambda x, y: tf.shape(x)[0])
            n = ds.reduce(np.int32(0), lambda a, b: a + b)
            with tf1.Session() as s:
                out.append(int(s.run(n)))
    data.n_train, data.n_val = out
    return data.n_train, data.n_val
