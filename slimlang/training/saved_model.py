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

Nothing at DIR is lost if the export fails: the SavedModel is written into a
temporary folder beside DIR, loaded back to check it, and only then swapped
in (a previous export renamed away first, removed once the new one is in
place).  `guard_out` refuses, before any work, a DIR whose replacement would
destroy something else: the logdir or a folder of checkpoints, a folder
holding the .slim source or the data, a non-empty folder that is not a
previous SavedModel, or a file.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

from .. import fsutil
from ..diagnostics import SlimError, UsageError
from . import checkpoints
from ._tf import OpError, session_config, tf, tf1
from .build import need_data
from .checkpoints import find_checkpoint
from .data import Data, open_data
from .serving import serving_outputs, serving_session  # noqa: F401 (serving_outputs: API)
from .spec import TrainSpec

# What a SavedModel folder written by `export` (or by TensorFlow) holds; a
# folder with anything else in it is the user's and is never replaced.
SAVED_MODEL_ENTRIES = {"saved_model.pb", "saved_model.pbtxt", "variables", "assets", "assets.extra",
                       "fingerprint.pb"}


def is_saved_model(folder: pathlib.Path) -> bool:
    names = {f.name for f in folder.iterdir()}
    return bool(names & {"saved_model.pb", "saved_model.pbtxt"}) and names <= SAVED_MODEL_ENTRIES


def _within(inner: pathlib.Path, outer: pathlib.Path) -> bool:
    return inner == outer or outer in inner.parents


def guard_out(out: str, *, overwrite: bool, logdir: str | None = None, checkpoints_used=(),
              protected=()) -> pathlib.Path:
    """The folder to export into (symlinks resolved), or a SlimError saying why DIR must not be replaced.

    `protected`: files (the .slim source, the data) that must not be inside DIR.
    """
    if not str(out).strip():
        raise UsageError("--out needs a folder name, got an empty one")
    given = pathlib.Path(out).expanduser()
    target = fsutil.write_target(given)
    if target.exists() and not target.is_dir():
        raise SlimError.single("E355", f"--out {out} is a file; it must name a folder for the SavedModel", None,
                               ["help: choose a new folder name, e.g. --out " + str(given.with_suffix("")) + "-export"])
    blocker = fsutil.file_ancestor(target)
    if blocker is not None:
        raise SlimError.single("E355", f"--out {out} cannot be created: {blocker} is a file, not a folder", None)
    help_ = "help: export into a folder of its own, e.g. --out exports/" + (target.name or "model")
    guarded = []
    if logdir is not None:
        guarded.append((fsutil.write_target(logdir), "the logdir"))
    for c in checkpoints_used:
        guarded.append((fsutil.write_target(c).parent, "the folder of the checkpoint exported"))
    for place, what in guarded:
        if _within(target, place) or _within(place, target):
            rel = ("is" if target == place else "is inside" if _within(target, place) else "contains")
            raise SlimError.single("E353", f"--out {out} {rel} {what} ({place}); refusing to export there", None,
                                   ["note: replacing it would delete checkpoints", help_])
    for f in protected:
        if f and _within(fsutil.write_target(f), target):
            raise SlimError.single("E353", f"--out {out} contains {f}; refusing to export there", None,
                                   ["note: replacing the folder would delete it", help_])
    if target.is_dir():
        names = sorted(f.name for f in target.iterdir())
        ckpts = [n for n in names if n == "checkpoint" or (n.startswith(checkpoints.PREFIX) and n.endswith(".index"))]
        if ckpts:
            raise SlimError.single("E353", f"--out {out} holds checkpoints ({', '.join(ckpts[:3])}); "
                                   "refusing to export there", None,
                                   ["note: replacing it would delete them", help_])
        if names and not is_saved_model(target):
            shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            raise SlimError.single("E354", f"--out {out} is a folder of other files ({shown}), not a previous "
                                   "SavedModel; refusing to replace it" + (" even with --overwrite" if overwrite
                                                                            else ""), None, [help_])
        if names and not overwrite:
            raise SlimError.single("E354", f"--out {out} already holds a SavedModel", None,
                                   ["help: pass --overwrite to replace it (the old one is removed only once the "
                                    "new one is in place), or choose another --out"])
    return target


def export(spec: TrainSpec, model_fn, *, out: str, logdir: str | None = None, checkpoint: str | None = None,
           model_name: str | None = None, data: Data | None = None, overwrite: bool = False,
           source: str | None = None, best: bool = False, raw_weights: bool = False,
           format: str = "savedmodel") -> str:
    """Write the SavedModel (or with `format`, a frozen GraphDef or a TFLite model) to `out`;
    returns the checkpoint exported (the best one with `best`; its moving averages, when it
    holds them, unless `raw_weights`)."""
    name = model_name or spec.model.name
    ld = logdir if logdir is not None else (spec.logdir if checkpoint is None else None)
    cands = find_checkpoint(ld, checkpoint, spec.span, best=best)
    shown = spec.span.source.name if spec.span.source else ""
    protected = [source or (None if not shown or shown.startswith("<") else shown)]
    if spec.data is not None and not any(ch in spec.data.path for ch in "*?["):
        protected.append(spec.data.path)
    if format != "savedmodel":
        from .formats import export_file

        return export_file(spec, model_fn, out=out, fmt=format, cands=cands, logdir=ld, name=name, data=data,
                           overwrite=overwrite, protected=protected, raw_weights=raw_weights)
    target = guard_out(out, overwrite=overwrite, logdir=ld, checkpoints_used=cands, protected=protected)
    if data is None:
        data = open_data(need_data(spec))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
        os.chmod(staging, 0o777 & ~fsutil.current_umask())
    except OSError as e:
        raise fsutil.os_error(e, f"creating --out {out}", target.parent) from None
    try:
        used = _write(spec, model_fn, staging, cands, name, data, raw_weights)
        _verify(staging, out)
        _swap_in(staging, target)
    except OSError as e:
        raise fsutil.os_error(e, f"exporting to --out {out}", target) from None
    except OpError as e:
        if fsutil.is_disk_full(e):
            raise fsutil.os_error(OSError(28, e.message.strip().splitlines()[0][:300]), f"exporting to --out {out}",
                                  target) from None
        raise SlimError.single("E350", f"exporting to --out {out} failed: {e.message.strip().splitlines()[0][:300]}",
                               None, ["note: nothing at --out was changed"]) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # ours; gone already once swapped in
    return used


def _swap_in(staging: pathlib.Path, target: pathlib.Path) -> None:
    """Put `staging` at `target`; a previous export there is removed only once the new one is in place."""
    if not target.exists():
        os.rename(staging, target)
        return
    attic = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old = attic / target.name
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        shutil.rmtree(attic, ignore_errors=True)
        raise
    shutil.rmtree(attic, ignore_errors=True)


def _verify(folder: pathlib.Path, out: str) -> None:
    """Load the new SavedModel back in a fresh graph; SlimError E357 (and nothing swapped) if it does not."""
    try:
        with tf.Graph().as_default(), tf1.Session(config=session_config()) as sess:
            meta = tf1.saved_model.loader.load(sess, [tf1.saved_model.tag_constants.SERVING], str(folder))
        sig = meta.signature_def.get("serving_default")
        if sig is None or "images" not in sig.inputs:
            raise ValueError("no serving_default signature with input `images`")
    except (OpError, ValueError, RuntimeError, OSError) as e:
        msg = (getattr(e, "message", None) or str(e)).strip().splitlines()
        raise SlimError.single("E357", f"the new SavedModel for --out {out} does not load back: "
                               f"{(msg or [type(e).__name__])[0][:300]}", None,
                               ["note: nothing at --out was changed"]) from None


def _write(spec, model_fn, out_path: pathlib.Path, cands, name, data, raw_weights: bool = False) -> str:
    sess, images, outputs, used = serving_session(spec, model_fn, cands, name, data, raw_weights)
    with sess.graph.as_default(), sess:
        builder = tf1.saved_model.Builder(str(out_path))
        sig = tf1.saved_model.signature_def_utils.predict_signature_def(
            inputs={"images": images}, outputs=outputs)
        builder.add_meta_graph_and_variables(
            sess, [tf1.saved_model.tag_constants.SERVING],
            signature_def_map={"serving_default": sig}, strip_default_attrs=True)
        builder.save()
    if data.class_names:
        (out_path / "assets.extra").mkdir(exist_ok=True)
        fsutil.atomic_write(out_path / "assets.extra" / "labels.txt",
                            "".join(f"{i}:{c}\n" for i, c in enumerate(data.class_names)))
    return used


def step_of(path: str) -> int | None:
    return checkpoints.checkpoint_step(path)
