"""Export stage, one-file formats: `slimlang export --format frozen|tflite`.

Both are made from the same served graph as the SavedModel
(`saved_model.serving_session`: raw images in, the data line's deterministic
preprocessing, the model, the serving outputs), so their predictions are the
SavedModel's.

- **frozen**: export_inference_graph + freeze_graph in one step: a binary
  GraphDef whose variables are constants; input node `images` (float32
  [batch, H, W, C]), one output node per serving output under `outputs/`
  (`outputs/logits`, `outputs/probabilities`, `outputs/classes`, ...).
- **tflite**: TensorFlow's TFLite converter on the restored session; the
  same input and output names.

The file is written under a temporary name beside `--out`, loaded back
(imported into a fresh graph; or allocated by the TFLite interpreter) and
only then renamed onto `--out`.  An existing `--out` is replaced only with
`--overwrite` and only when it is a previous export of the same format;
never a checkpoint, the logdir's files, the .slim source or the data.
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
import warnings

from .. import fsutil
from ..diagnostics import SlimError, UsageError
from ._tf import OpError, tf, tf1

FORMATS = ("savedmodel", "frozen", "tflite")
OUTPUT_SCOPE = "outputs"
_CKPT_FILE = re.compile(r"(model\.ckpt.*|checkpoint|events\.out\.tfevents\..*|slimlang-.*)$")


def tflite_interpreter(content: bytes, *, default_delegates: bool = True):
    """A TFLite interpreter for `content`: LiteRT's when installed, else TensorFlow's.

    `default_delegates=False` runs TFLite's built-in kernels only: no XNNPACK
    delegate, which announces itself on standard error ("INFO: Created
    TensorFlow Lite XNNPACK delegate for CPU.") whatever TF_CPP_MIN_LOG_LEVEL
    says; export's check that the file loads uses that.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    options = {} if default_delegates else {
        "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    with warnings.catch_warnings():
        # TensorFlow's interpreter says, as it is made, that LiteRT replaces it; the export is the same file.
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated",
                                category=UserWarning, module=r"tensorflow\.lite\.")
        return Interpreter(model_content=content, **options)


def _is_previous(path: pathlib.Path, fmt: str) -> bool:
    """Whether the file at `path` is an export of format `fmt` (what --overwrite may replace)."""
    try:
        head = path.read_bytes()
    except OSError:
        return False
    if fmt == "tflite":
        return head[4:8] == b"TFL3"
    graph = tf1.GraphDef()
    try:
        graph.ParseFromString(head)
    except Exception:  # noqa: BLE001 (protobuf's DecodeError and friends: not a GraphDef)
        return False
    return any(n.name == "images" for n in graph.node)


def guard_file(out: str, fmt: str, *, overwrite: bool, logdir: str | None, checkpoints_used=(),
               protected=()) -> pathlib.Path:
    """The file to export into, or a SlimError saying why `out` must not be written."""
    if not str(out).strip():
        raise UsageError("--out needs a file name, got an empty one")
    target = fsutil.write_target(pathlib.Path(out).expanduser())
    suffix = ".pb" if fmt == "frozen" else ".tflite"
    if target.is_dir():
        raise SlimError.single("E355", f"--out {out} is a folder; --format {fmt} writes one file", None,
                               [f"help: name the file, e.g. --out {pathlib.Path(out) / ('model' + suffix)}"])
    blocker = fsutil.file_ancestor(target)
    if blocker is not None:
        raise SlimError.single("E355", f"--out {out} cannot be created: {blocker} is a file, not a folder", None)
    for f in protected:
        if f and fsutil.write_target(f) == target:
            raise SlimError.single("E353", f"--out {out} is {f}; refusing to export there", None)
    folders = [fsutil.write_target(c).parent for c in checkpoints_used]
    if logdir is not None:
        folders.append(fsutil.write_target(logdir))
    if _CKPT_FILE.match(target.name) and target.parent in folders:
        raise SlimError.single("E353", f"--out {out} names a file of the logdir ({target.name}); refusing to "
                               "export there", None, ["help: export next to it, e.g. --out model" + suffix])
    if target.exists():
        if not overwrite:
            raise SlimError.single("E354", f"--out {out} already exists", None,
                                   ["help: pass --overwrite to replace it (once the new file loads), or choose "
                                    "another --out"])
        if not _is_previous(target, fmt):
            raise SlimError.single("E354", f"--out {out} is not a previous --format {fmt} export; refusing to "
                                   "replace it even with --overwrite", None,
                                   [f"help: choose a new file name, e.g. --out {target.with_suffix(suffix).name}"
                                    if target.suffix != suffix else "help: choose a new file name"])
    return target


def _named_outputs(outputs: dict) -> dict:
    """{name: tensor} with each output an identity op `outputs/NAME` (the frozen graph's node names)."""
    with tf1.name_scope(OUTPUT_SCOPE + "/"):
        return {k: tf.identity(v, name=k) for k, v in outputs.items()}


def _frozen(sess, images, outputs) -> bytes:
    named = _named_outputs(outputs)
    names = [t.op.name for t in named.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convert_variables_to_constants' deprecation notice
        graph = tf1.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), names)
    return graph.SerializeToString()


def _tflite(sess, images, outputs, out: str) -> bytes:
    dims = images.shape.as_list()
    if any(d is None for d in dims[1:]):
        raise SlimError.single("E350", f"--format tflite needs images of one size; this data line takes any "
                               f"size ({dims[1:]})", None,
                               ["help: TFLite models have a fixed input size: export a SavedModel, or give "
                                "the data line resize=[height, width] instead of preprocess="])
    named = _named_outputs(outputs)
    converter = tf1.lite.TFLiteConverter.from_session(sess, [images], list(named.values()))
    try:
        return converter.convert()
    except Exception as e:  # noqa: BLE001 (the converter raises ConverterError and others for ops it lacks)
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise SlimError.single("E350", f"TensorFlow's TFLite converter cannot convert the model for --out {out}: "
                               f"{first}", None, ["note: nothing at --out was changed"]) from None


def _verify(content: bytes, fmt: str, out: str) -> None:
    try:
        if fmt == "tflite":
            tflite_interpreter(content, default_delegates=False).allocate_tensors()
        else:
            graph = tf1.GraphDef()
            graph.ParseFromString(content)
            with tf.Graph().as_default():
                tf1.import_graph_def(graph, name="")
    except (OpError, ValueError, RuntimeError) as e:
        msg = (getattr(e, "message", None) or str(e)).strip().splitlines()
        raise SlimError.single("E357", f"the new --format {fmt} file for --out {out} does not load back: "
                               f"{(msg or [type(e).__name__])[0][:300]}", None,
                               ["note: nothing at --out was changed"]) from None


def export_file(spec, model_fn, *, out: str, fmt: str, cands, logdir, name, data, overwrite: bool, protected,
                raw_weights: bool = False) -> str:
    """Write `out` in format `fmt` (frozen or tflite); returns the checkpoint exported."""
    from .build import need_data
    from .data import open_data
    from .serving import serving_session

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: formats are {', '.join(FORMATS)}")
    target = guard_file(out, fmt, overwrite=overwrite, logdir=logdir, checkpoints_used=cands, protected=protected)
    if data is None:
        data = open_data(need_data(spec))
    sess, images, outputs, used = serving_session(spec, model_fn, cands, name, data, raw_weights)
    with sess.graph.as_default(), sess:
        try:
            content = _frozen(sess, images, outputs) if fmt == "frozen" else _tflite(sess, images, outputs, out)
        except OpError as e:
            raise SlimError.single("E350", f"exporting to --out {out} failed: "
                                   f"{e.message.strip().splitlines()[0][:300]}", None,
                                   ["note: nothing at --out was changed"]) from None
    _verify(content, fmt, out)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.export-", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, fsutil.new_file_mode())
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise fsutil.os_error(e, f"exporting to --out {out}", target) from None
    finally:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)  # ours, never renamed onto --out
    return used
