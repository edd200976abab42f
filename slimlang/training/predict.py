"""Predict stage: a checkpoint and some inputs -> the top classes of each input.

Inputs are image files (JPEG, PNG, GIF, BMP), `.npz` files (one example or
a batch of them) and `.csv` files (one example per row).  Each is read into
the data line's stored form (`Data.raw_shape`) and then goes through the same
deterministic preprocessing and serving outputs as `eval` and `export`
(`Data.preprocess(training=False)`, `saved_model.serving_outputs`), so a
prediction here equals the exported SavedModel's on the same pixels.

Class names come from the data (a folder's class sub-folders) or from a
`labels.txt` beside the data, as TF-Slim's `dataset_utils.write_label_file`
writes it (`0:cat` per line; a plain name per line is read too).

An input that cannot be used is a SlimError naming it (a CSV cell by its
line and column), never a traceback; no input is silently skipped.
"""

from __future__ import annotations

import csv
import pathlib
from dataclasses import dataclass, field

import numpy as np

from ..diagnostics import SlimError, Source, Span
from . import checkpoints
from ._tf import OpError, session_config, tf, tf1
from .build import need_data
from .checkpoints import find_checkpoint
from .data import Data, _file_problem, open_data
from .datapaths import check_inputs
from .evaluation import restore_any
from .model import call_model
from .restore import CheckpointSaver
from .spec import TrainSpec

LABELS_FILE = "labels.txt"


@dataclass
class Row:
    """One input's answer: per head, `top` [(class, name, probability)] or `values` (regression)."""

    input: str
    heads: dict = field(default_factory=dict)  # head name ("" when one) -> list of (class, name, p) or values


@dataclass
class PredictResult:
    rows: list
    checkpoint: str
    step: int | None
    top: int

    def lines(self) -> list[str]:
        out = []
        for r in self.rows:
            parts = []
            for head, answer in r.heads.items():
                pre = f"{head}: " if head else ""
                if answer and isinstance(answer[0], tuple):
                    parts.append(pre + ", ".join(f"{name} {p:.4f}" for _, name, p in answer))
                else:
                    parts.append(pre + " ".join(f"{v:.6g}" for v in answer))
            out.append(f"{r.input}: " + "; ".join(parts))
        return out

    def csv_rows(self) -> list[list]:
        """A header row, then one row per input: input, then per head and rank class, name, probability."""
        if not self.rows:
            return [["input"]]
        header = ["input"]
        for head, answer in self.rows[0].heads.items():
            pre = f"{head}_" if head else ""
            if answer and isinstance(answer[0], tuple):
                for k in range(1, len(answer) + 1):
                    header += [f"{pre}class_{k}", f"{pre}name_{k}", f"{pre}probability_{k}"]
            else:
                header += [f"{pre}value_{k}" for k in range(1, len(answer) + 1)]
        body = []
        for r in self.rows:
            row = [r.input]
            for answer in r.heads.values():
                if answer and isinstance(answer[0], tuple):
                    for c, name, p in answer:
                        row += [c, name, f"{p:.6f}"]
                else:
                    row += [f"{v:.6g}" for v in answer]
            body.append(row)
        return [header] + body


# ------------------------------------------------------------ class names ---


def class_names(data: Data) -> list | None:
    """The data's class names: its folders', else a labels.txt beside the data (TF-Slim's format)."""
    if data.class_names:
        return list(data.class_names)
    path = pathlib.Path(data.spec.path)
    folders = [path] if path.is_dir() else [path.parent]
    for folder in folders:
        f = folder / LABELS_FILE
        if f.is_file():
            return read_labels(f)
    return None


def read_labels(path: pathlib.Path) -> list | None:
    """Names by class index from `i:name` lines (or one name per line); None if unreadable."""
    try:
        lines = [ln.rstrip("\r\n") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError):
        return None
    by_index = {}
    for i, ln in enumerate(lines):
        head, sep, rest = ln.partition(":")
        if sep and head.strip().isdigit():
            by_index[int(head)] = rest.strip()
        else:
            by_index[i] = ln.strip()
    if not by_index:
        return None
    return [by_index.get(i, str(i)) for i in range(max(by_index) + 1)]


# ------------------------------------------------------------ reading inputs ---


def _input_error(message: str, *notes: str, span: Span | None = None) -> SlimError:
    return SlimError.single("E360", message, span, notes)


def _fits(arr: np.ndarray, raw: tuple) -> bool:
    return len(arr.shape) == len(raw) and all(r is None or a == r for a, r in zip(arr.shape, raw))


def _shape(s) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in s) + "]"


def _array_scale(data: Data) -> float:
    """Image files fed to a model trained on arrays: pixels 0..255 become the arrays' range
    (arrays within [0, 1] were scaled from pixels by whoever made them)."""
    images = data.arrays.get("__images__") if data.arrays else None
    if images is not None and images.size and float(np.max(images)) <= 1.0 and float(np.min(images)) >= 0.0:
        return 1.0 / 255.0
    return 1.0


def read_image(path: str, data: Data) -> np.ndarray:
    """An image file as the data stores its examples (decoded pixels, resized to the stored size)."""
    problem, _ = _file_problem(path)
    if problem is not None:
        raise _input_error(f"input {path} {problem}")
    raw = data.serving_shape()
    if len(raw) != 3:
        raise _input_error(f"input {path} is an image, but the model takes examples of shape {_shape(raw)}",
                           "help: give an .npz or .csv of such examples")
    channels = int(raw[-1])
    blob = pathlib.Path(path).read_bytes()
    try:
        with tf.Graph().as_default():
            img = tf.io.decode_image(blob, channels=channels, expand_animations=False)
            if raw[0] is not None:
                img = tf.image.resize(img, [raw[0], raw[1]], method="bilinear")
            with tf1.Session() as s:
                x = s.run(tf.cast(img, tf.float32))
    except OpError as e:
        raise _input_error(f"input {path} cannot be decoded: {e.message.strip().splitlines()[0][:200]}") from None
    if not data.encoded:
        x = x * _array_scale(data)
    return x


def read_npz(path: str, data: Data) -> list:
    """[(name, example)] of an .npz: the data's images array (or `images`, or the only array)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 (not a zip, damaged members, object arrays: numpy raises many kinds)
        raise _input_error(f"input {path} cannot be read as .npz: {e}") from None
    want = data.opts.get("images") if data.spec.kind == "npz" else "images"
    if want in arrays:
        key = want
    elif len(arrays) == 1:
        key = next(iter(arrays))
    else:
        from ..diagnostics import did_you_mean

        raise _input_error(f"input {path} has no array {want!r} and more than one array",
                           did_you_mean(str(want), list(arrays)), "note: arrays there: " + ", ".join(arrays))
    arr = arrays[key]
    if arr.dtype.kind not in "iubf":
        raise _input_error(f"input {path}: array {key!r} is {arr.dtype}, not numbers")
    raw = tuple(data.raw_shape)
    if _fits(arr, raw):
        return [(path, arr.astype(np.float32))]
    if arr.ndim == len(raw) + 1 and _fits(arr[0], raw):
        return [(f"{path}[{i}]", a.astype(np.float32)) for i, a in enumerate(arr)]
    raise _input_error(f"input {path}: array {key!r} has shape {_shape(arr.shape)}; the model takes examples "
                       f"of shape {_shape(raw)} (or a batch [N, ...] of them)")


def read_csv(path: str, data: Data) -> list:
    """[(name, example)] of a CSV: one example per row; the data's feature columns when it is a CSV too."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise _input_error(f"input {path} cannot be read: {e}") from None
    source = Source(path, text)
    raw = tuple(data.raw_shape)
    want = int(np.prod(raw))
    is_csv = data.spec.kind == "csv"
    delimiter = data.opts["delimiter"] if is_csv else ","
    lines = text.splitlines()
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(lines, delimiter=delimiter)) if any(c.strip() for c in r)]
    if not rows:
        raise _input_error(f"input {path} has no rows")
    header = None
    # A header: as the data line says for CSV data, else a first row without any number.
    if data.opts["header"] if is_csv else not any(_numeric([c]) for c in rows[0][1]):
        header = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    cols = list(range(len(header))) if header else None
    if is_csv and header:
        cols = _feature_columns(data, header, path, Span(source, rows_first(lines), 1, rows_first(lines), 2))
    out = []
    for lineno, r in rows:
        use = cols if cols is not None else list(range(len(r)))
        values = []
        for c in use:
            cell = r[c] if c < len(r) else ""
            try:
                values.append(float(cell))
            except ValueError:
                col = _column_of(lines[lineno - 1], c, delimiter)
                raise _input_error(f"{path} line {lineno}: {cell!r} is not a number", span=Span(
                    source, lineno, col, lineno, col + max(1, len(cell)))) from None
        if len(values) != want:
            raise _input_error(f"{path} line {lineno} has {len(values)} values; the model takes {want} "
                               f"(examples of shape {_shape(raw)})",
                               span=Span(source, lineno, 1, lineno, len(lines[lineno - 1]) + 1))
        out.append((f"{path}:{lineno}", np.asarray(values, np.float32).reshape(raw)))
    if not out:
        raise _input_error(f"input {path} has only a header line, no rows",
                           span=Span(source, rows_first(lines), 1, rows_first(lines), 2))
    return out


def rows_first(lines: list) -> int:
    return next((i + 1 for i, ln in enumerate(lines) if ln.strip()), 1)


def _feature_columns(data: Data, header: list, path: str, span: Span) -> list:
    """Indices of the data line's feature columns in an input CSV's header (label columns may be absent)."""
    from ..diagnostics import did_you_mean

    o = data.opts
    if o["features"] is None:
        labels = {c for c in o["labels"] if isinstance(c, str)}
        return [i for i, c in enumerate(header) if c not in labels]
    cols = []
    for c in o["features"]:
        if isinstance(c, int):
            cols.append(c)
        elif c in header:
            cols.append(header.index(c))
        else:
            raise _input_error(f"input {path} has no column {c!r} (a feature column of the data line)",
                               did_you_mean(c, header), "note: columns: " + ", ".join(header[:20]), span=span)
    return cols


def _numeric(row: list) -> bool:
    try:
        [float(c) for c in row]
        return True
    except ValueError:
        return False


def _column_of(line: str, index: int, delimiter: str) -> int:
    """1-based column where cell `index` of a CSV line starts (plain, unquoted cells)."""
    col = 1
    for i, cell in enumerate(line.split(delimiter)):
        if i == index:
            return col
        col += len(cell) + len(delimiter)
    return col


def read_inputs(paths: list, data: Data) -> list:
    """[(name, example)] of every input, in the order given."""
    check_inputs(paths)
    out = []
    for p in paths:
        suffix = pathlib.Path(p).suffix.lower()
        if suffix == ".npz":
            out += read_npz(p, data)
        elif suffix == ".csv":
            out += read_csv(p, data)
        else:
            out.append((p, read_image(p, data)))
    return out


# ------------------------------------------------------------ predicting ---


def predict(spec: TrainSpec, model_fn, inputs: list, *, logdir: str | None = None, checkpoint: str | None = None,
            model_name: str | None = None, data: Data | None = None, top: int = 5,
            batch_size: int = 64, best: bool = False, raw_weights: bool = False) -> PredictResult:
    """The top `top` classes (or the values of regression heads) of each input."""
    from .serving import serving_outputs

    name = model_name or spec.model.name
    ld = logdir if logdir is not None else (spec.logdir if checkpoint is None else None)
    cands = find_checkpoint(ld, checkpoint, spec.span, best=best)
    if data is None:
        data = open_data(need_data(spec))
    examples = read_inputs(list(inputs), data)
    names = class_names(data)
    # Images of one size batch together; a data line without a fixed stored
    # size (resize=, images of mixed sizes) runs them in groups of one size.
    groups: dict = {}
    for i, (_, x) in enumerate(examples):
        groups.setdefault(x.shape, []).append(i)
    results: list = [None] * len(examples)
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(tf.float32, [None] + list(data.serving_shape()), name="images")
        x = data.preprocess(images, training=False)
        net, end_points = call_model(model_fn, x, spec.model.params, is_training=False, data=data, model_name=name)
        outputs = serving_outputs(spec, net, end_points)
        saver = CheckpointSaver(tf1.global_variables(), spec.init_from)
        graph.finalize()
        with tf1.Session(config=session_config()) as sess:
            used = restore_any(sess, saver, cands, spec.span, model_name=name, raw_weights=raw_weights)
            for idx in groups.values():
                for start in range(0, len(idx), batch_size):
                    part = idx[start:start + batch_size]
                    out = sess.run(outputs, {images: np.stack([examples[i][1] for i in part])})
                    for j, i in enumerate(part):
                        results[i] = {k: v[j] for k, v in out.items()}
    several = len(spec.losses) > 1
    rows = []
    for (label, _), out in zip(examples, results):
        row = Row(label)
        for loss in spec.losses or [None]:
            pre = f"{loss.name}_" if several else ""
            head = loss.name if several else ""
            if pre + "probabilities" in out:
                p = np.asarray(out[pre + "probabilities"], np.float64).reshape(-1)
                order = np.argsort(-p, kind="stable")[:top]
                # The model's class c is the data's label c + labels_offset (class 0 "background"
                # of a dataset the model was trained without): shown as the data's label and name.
                off = loss.labels_offset if loss is not None else 0
                row.heads[head] = [(int(c) + off, _name(names, int(c) + off), float(p[c])) for c in order]
            else:
                v = out.get(pre + "predictions", out.get("output"))
                row.heads[head] = [float(a) for a in np.asarray(v).reshape(-1)]
        rows.append(row)
    return PredictResult(rows, used, checkpoints.checkpoint_step(used), top)


def _name(names, c: int) -> str:
    return names[c] if names and 0 <= c < len(names) else str(c)
