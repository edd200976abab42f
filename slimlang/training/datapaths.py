"""Train stage, data paths: what can be known about a data line's files without TensorFlow.

`slimlang check` and the train/eval/export/predict commands (before importing
TensorFlow) run these, and the engine's openers run them first too, so a
mistyped path costs the same one message everywhere.  Also the E329 check of
the examples' shape against the input a model declares, and `check_inputs`
for the files given to `slimlang predict`.
"""

from __future__ import annotations

import math
import os
import pathlib

from ..diagnostics import SlimError, did_you_mean
from .spec import DataSpec, TrainSpec

_DATA_WHAT = {"npz": "npz file", "csv": "CSV file", "folder": "image folder", "tfrecord": "TFRecord files"}


def data_missing(spec: DataSpec, what: str) -> SlimError:
    p = pathlib.Path(spec.path)
    notes = []
    parent = p.parent
    if parent.is_dir():
        try:
            near = did_you_mean(p.name, os.listdir(parent))
        except OSError:
            near = ""
        notes.append(near.replace("help: did you mean", "help: did you mean the file"))
    else:
        notes.append(f"note: folder {parent} does not exist either")
    notes.append("note: data paths are relative to the .slim file's folder")
    return SlimError.single("E320", f"{what} {spec.path} not found", spec.path_span, notes)


def _file_kind(st_mode: int) -> str:
    import stat

    if stat.S_ISDIR(st_mode):
        return "a folder"
    if stat.S_ISCHR(st_mode):
        return "a character device"
    if stat.S_ISBLK(st_mode):
        return "a block device"
    if stat.S_ISFIFO(st_mode):
        return "a named pipe"
    if stat.S_ISSOCK(st_mode):
        return "a socket"
    return "a special file"


def _regular_file(spec: DataSpec, what: str) -> pathlib.Path:
    """The data file of `spec`, or E320 saying what it is instead."""
    import stat

    p = pathlib.Path(spec.path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise data_missing(spec, what) from None
    except OSError as e:
        raise SlimError.single("E320", f"cannot read {what} {p}: {e.strerror or e}", spec.path_span) from None
    if stat.S_ISREG(st.st_mode):
        return p
    notes = []
    if stat.S_ISDIR(st.st_mode):
        ext = ".npz" if spec.kind == "npz" else ".csv"
        try:
            inside = sorted(f.name for f in p.iterdir() if f.suffix.lower() == ext and f.is_file())
        except OSError:
            inside = []
        if inside:
            notes.append(f"help: did you mean {p / inside[0]}?" if len(inside) == 1 else
                         f"note: {ext} files there: " + ", ".join(inside[:8]))
        if spec.kind in ("npz", "csv"):
            notes.append("help: for a folder of images use `data folder`, for TFRecord shards `data tfrecord`")
    raise SlimError.single("E320", f"{what} {p} is {_file_kind(st.st_mode)}, not a regular file", spec.path_span,
                           notes)


def npz_array_names(spec: DataSpec) -> list:
    """The array names of the npz file of `spec`, read from the zip directory
    (nothing is decompressed); E320 when the file is not an npz archive."""
    import zipfile

    p = _regular_file(spec, "npz file")
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise SlimError.single("E320", f"cannot read npz file {p}: {e.strerror or e}", spec.path_span) from None
    if magic == b"\x93NUMPY":
        raise SlimError.single("E320", f"{p} is a .npy file (one array), not an .npz archive of named arrays",
                               spec.path_span, ["help: save them with np.savez(path, images=..., labels=...)"])
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        what = "is empty (0 bytes)" if p.stat().st_size == 0 else (
            "is not a zip archive" if not magic.startswith(b"PK") else "is a damaged or cut-off zip archive")
        raise SlimError.single("E320", f"{p} is not an npz file: it {what}", spec.path_span,
                               ["note: an .npz is the zip archive np.savez / np.savez_compressed write",
                                "help: write it again with np.savez(path, images=..., labels=...)"]) from None
    return [n.removesuffix(".npy") for n in names]


def csv_header(spec: DataSpec) -> list:
    """The column names of a CSV data file from its first non-empty line
    (`0`, `1`, ... without `header`); the rest of the file is not read."""
    import csv

    p = pathlib.Path(spec.path)
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark
        with open(p, newline="", encoding="utf-8-sig") as f:
            first = next((r for r in csv.reader(f, delimiter=spec.options["delimiter"]) if any(c.strip() for c in r)),
                         [])
    except (UnicodeDecodeError, OSError, csv.Error) as e:
        raise csv_read_error(spec, e) from None
    return [c.strip() for c in first] if spec.options["header"] else [str(i) for i in range(len(first))]


def csv_read_error(spec: DataSpec, e: Exception) -> SlimError:
    p = spec.path
    if isinstance(e, UnicodeDecodeError):
        return SlimError.single("E320", f"{p} is not UTF-8 text: byte {e.start} is {e.object[e.start:e.start + 1]!r}",
                                spec.path_span, ["help: save the CSV as UTF-8 (numbers and a header line)"])
    return SlimError.single("E320", f"cannot read {p}: {e}", spec.path_span)


def csv_columns(spec: DataSpec, header: list) -> tuple[list, list]:
    """(label column indices, feature column indices) of a CSV data line;
    E321 for a column that is not there."""
    o = spec.options
    name = pathlib.Path(spec.path).name

    def index(c, key):
        if isinstance(c, int):
            if not 0 <= c < len(header):
                raise SlimError.single("E321", f"column {c} out of range: {name} has {len(header)} columns",
                                       spec.opt_span(key))
            return c
        if c not in header:
            raise SlimError.single("E321", f"no column {c!r} in {name}", spec.opt_span(key), [n for n in (
                did_you_mean(c, header),
                "note: columns: " + ", ".join(header[:20]) + (" ..." if len(header) > 20 else "")) if n])
        return header.index(c)

    labels = [index(c, "labels") for c in o["labels"]]
    if o["features"] is not None:
        feats = [index(c, "features") for c in o["features"]]
    else:
        feats = [i for i in range(len(header)) if i not in labels]
    return labels, feats


def check_data_path(spec: DataSpec | None) -> None:
    """Check a data line's path without TensorFlow: the file, folder or glob
    exists and is of the right type; for npz, that it is an npz archive
    holding the named arrays; for CSV, that its first line names the columns
    asked for.  Raises SlimError (E320, E321)."""
    if spec is None:
        return
    what = _DATA_WHAT[spec.kind]
    if "\0" in spec.path:
        raise SlimError.single("E320", f"{what} path {spec.path!r} holds a NUL character, which no file name can",
                               spec.path_span, ["help: remove the \\0 from the path"])
    if spec.kind == "npz":
        names = npz_array_names(spec)
        o = spec.options
        for key, wanted in (("images", [o["images"]]), ("labels", list(o["labels"]))):
            for name in wanted:
                if not isinstance(name, str) or name not in names:
                    raise SlimError.single("E321", f"no array {name!r} in {pathlib.Path(spec.path).name}",
                                           spec.opt_span(key), [n for n in (
                                               did_you_mean(str(name), names),
                                               "note: arrays there: " + ", ".join(names)) if n])
    elif spec.kind == "csv":
        _regular_file(spec, what)
        header = csv_header(spec)
        if header:
            csv_columns(spec, header)
    elif spec.kind == "folder":
        p = pathlib.Path(spec.path)
        if p.is_dir():
            return
        if not p.exists():
            raise data_missing(spec, what)
        notes = ["help: `data folder` takes a folder with one sub-folder of images per class"]
        if p.suffix.lower() in (".npz", ".csv", ".tfrecord"):
            notes.append(f"help: for this file use `data {p.suffix.lower()[1:]}`")
        raise SlimError.single("E320", f"image folder {p} is a file, not a folder", spec.path_span, notes)
    else:  # tfrecord: a file, a glob or a folder of shards
        import glob as globlib

        pattern = spec.path
        if any(ch in pattern for ch in "*?["):
            if not globlib.glob(pattern):
                raise data_missing(spec, what)
            return
        p = pathlib.Path(pattern)
        if p.is_dir():
            return
        _regular_file(spec, what)


def input_shape_after(spec: DataSpec, raw: tuple) -> tuple:
    """The per-example shape the model sees: `raw` after `resize` and `crop`."""
    o = spec.options
    shape = list(raw)
    if o.get("resize") and len(shape) == 3:
        shape[0], shape[1] = o["resize"]
    if o.get("crop") and len(shape) == 3:
        shape[0], shape[1] = o["crop"]
    return tuple(shape)


def _dims(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def declared_input_error(spec: DataSpec, got: tuple, declared, declared_span, model_name: str | None,
                         encoded: bool = False) -> SlimError | None:
    """E329 when examples of shape `got` (what the model sees, after resize
    and crop) do not fit the input shape a model declares (None: any)."""
    if declared is None:
        return None
    declared = tuple(declared)
    if len(got) == len(declared) and all(d is None or g is None or d == g for g, d in zip(got, declared)):
        return None
    o = spec.options
    name = pathlib.Path(spec.path).name
    src = {"npz": f"images {o.get('images')!r} in {name}", "csv": f"rows of {name}",
           "folder": f"images of {spec.path}", "tfrecord": f"images {o.get('images')!r} of the records"}
    notes = []
    if o.get("resize") or o.get("crop"):
        steps = " and ".join(f"{k}={list(o[k])}" for k in ("resize", "crop") if o.get(k))
        notes.append(f"note: that is after {steps}")
    if len(got) == len(declared) == 3:
        if got[:2] != declared[:2] and None not in declared[:2]:
            notes.append(f"help: resize={list(declared[:2])} on the data line resizes the images to the model's "
                         f"{declared[0]}x{declared[1]}")
        if got[2] != declared[2] and declared[2] is not None:
            if spec.kind in ("folder", "tfrecord") and encoded:
                notes.append(f"help: channels={declared[2]} on the data line decodes the images with "
                             f"{declared[2]} channel{'s' if declared[2] != 1 else ''}")
            else:
                notes.append(f"note: the data have {got[2]} channel{'s' if got[2] != 1 else ''}, the model "
                             f"takes {declared[2]}: convert the arrays, or change the model's input")
    elif len(got) != len(declared) and spec.kind in ("npz", "csv") and None not in declared + got \
            and math.prod(got) == math.prod(declared):
        notes.append(f"help: shape={list(declared)} on the data line reshapes each example"
                     if spec.kind == "csv" else
                     f"help: reshape the array to [N, {', '.join(map(str, declared))}] before saving it")
    who = f"model `{model_name}`" if model_name else "the model"
    if declared_span is not None and declared_span.source:
        notes.insert(0, f"note: {who} declares its input at {declared_span.location()}")
    notes.append(f"help: or declare the model's input as {_dims(got)}")
    return SlimError.single("E329", f"the {src[spec.kind]} are {_dims(got)} per example, but {who} "
                            f"declares its input as {_dims(declared)}", spec.span, notes)


def npz_array_shape(spec: DataSpec, name: str) -> tuple | None:
    """The shape of array `name` of an npz file, from its .npy header (nothing
    else is read); None when it cannot be read cheaply."""
    import zipfile

    import numpy as np

    try:
        with zipfile.ZipFile(spec.path) as z, z.open(name + ".npy") as f:
            version = np.lib.format.read_magic(f)
            shape, _, _ = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                           else np.lib.format.read_array_header_2_0(f))
        return tuple(shape)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def check_data_fits(spec: TrainSpec, prog, model_name: str | None = None) -> None:
    """Without TensorFlow: the data line's path (`check_data_path`) and, for
    npz arrays and CSV rows, their per-example shape against the model's
    declared input."""
    data = spec.data
    check_data_path(data)
    if data is None or data.kind not in ("npz", "csv") or prog is None:
        return
    name = model_name or spec.model.name or (next(iter(prog.models)) if len(prog.models) == 1 else None)
    if name not in getattr(prog, "models", {}):
        return
    declared = prog.input_shape(name)
    if data.kind == "csv":
        header = csv_header(data)
        n = len(csv_columns(data, header)[1])
        shape = (None,) + (tuple(data.options["shape"]) if data.options["shape"] else (n,))
        if not header or n == 0 or (data.options["shape"] and math.prod(data.options["shape"]) != n):
            return  # reported when the data are opened
    else:
        shape = npz_array_shape(data, data.options["images"])
    if not declared or shape is None or len(shape) < 2:
        return
    node = prog.models[name]
    err = declared_input_error(data, input_shape_after(data, tuple(shape[1:])), declared,
                               node.params[0].span if node.params else None, name)
    if err is not None:
        raise err


def check_data_paths(prog) -> list:
    """Diagnostics for the data lines of a checked program's train sections."""
    out = []
    for spec in getattr(prog, "train_specs", None) or []:
        try:
            check_data_fits(spec, prog)
        except SlimError as e:
            out.extend(e.diagnostics)
    return out


#: The file suffixes `slimlang predict` reads as images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")


def _input_error(message: str, *notes: str) -> SlimError:
    return SlimError.single("E360", message, None, [n for n in notes if n])


def check_inputs(paths: list) -> None:
    """E360 for the first of `predict`'s inputs that is missing, a folder, or of a kind it cannot read."""
    if not paths:
        raise _input_error("no inputs: give image files, .npz or .csv files to predict")
    for p in paths:
        path = pathlib.Path(p)
        if not path.exists():
            near = ""
            if path.parent.is_dir():
                try:
                    near = did_you_mean(path.name, os.listdir(path.parent))
                except OSError:
                    near = ""
            raise _input_error(f"input {p} not found", near)
        if path.is_dir():
            raise _input_error(f"input {p} is a folder", "help: name the files, e.g. " + str(path / "*.png"))
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".csv", *IMAGE_SUFFIXES):
            raise _input_error(f"input {p}: cannot tell what it holds from `{suffix or '(no suffix)'}`",
                               "note: inputs are image files (" + ", ".join(IMAGE_SUFFIXES) + "), .npz or .csv")
