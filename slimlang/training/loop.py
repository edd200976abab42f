"""Train stage, the loop: a TrainSpec and a model function -> checkpoints in a logdir.

The loop is TF1 graph mode, `sess.run(train_op)` over an in-graph tf.data
iterator: on this CPU the fastest way measured to train a tf_slim model (see
DESIGN.md).  It is `slim.learning.train` rebuilt around what a user needs from
it: a progress bar (step, loss, steps/s, ETA), TensorBoard summaries (total
and per-loss values, learning rate), TF-Slim-layout checkpoints every
`save_interval_secs`/`save_interval_steps` and at the end, resume after any
kill (see checkpoints.py), the architecture fingerprint, a clean stop on a
NaN/Inf loss keeping the last good checkpoint, and a checkpoint on Ctrl-C or
SIGTERM.
"""

from __future__ import annotations

import math
import os
import pathlib
import signal
import sys
import time
from dataclasses import dataclass, field

from ..diagnostics import SlimError
from . import checkpoints, distributed
from ._tf import OpError, session_config, tf, tf1
from .build import build_inputs, need_data, runtime_error
from .callbacks import DuringTraining
from .checkpoints import default_logdir  # noqa: F401  (part of this module's API)
from .data import Data, count_records, open_data, tf_reason
from .losses import build_losses
from .model import call_model
from .optim import make_train_op, steps_for
from .restore import check_plan, plan_for, restore_saver
from .spec import TrainSpec, save_policy

# Steps after which a run's speed counts as steady (TrainResult.steady_steps_per_sec):
# the first steps pay for executor creation, graph optimisation and filling
# the input pipeline (400-1100 ms for step 1 here, steps 2-10 at 1.5-2x).
WARMUP_STEPS = 20

@dataclass
class TrainResult:
    logdir: str
    step: int  # global_step reached
    start_step: int
    total_steps: int
    loss: float | None
    seconds: float
    steps_per_sec: float
    checkpoint: str | None
    # Steps/s after the first WARMUP_STEPS of this run (the first steps build
    # and optimise the executor and fill the input pipeline), or None when the
    # run was too short to tell.
    steady_steps_per_sec: float | None = None
    resumed_from: str | None = None
    interrupted: bool = False
    notes: list = field(default_factory=list)
    stopped_early: str | None = None  # why early_stop ended the run
    validation: dict = field(default_factory=dict)  # the last validation's metrics


def _say(stream, msg: str) -> None:
    print(msg, file=stream, flush=True)


def _fmt_time(secs: float) -> str:
    secs = int(max(0, secs))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Stop:
    """SIGTERM/SIGINT -> finish the current step, save, exit."""

    def __init__(self):
        self.requested = None
        self._old = {}

    def __enter__(self):
        if hasattr(signal, "SIGTERM") and _main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested is not None:  # second signal: give up now
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _columns(stream) -> int:
    """Terminal width (0 for a pseudo-terminal without a size, where a bar would not show)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def train(spec: TrainSpec, model_fn, *, logdir: str | os.PathLike | None = None, plan: bool = False,
          stream=None, progress: bool | None = None, model_name: str | None = None,
          data: Data | None = None, deploy: distributed.Deploy | None = None) -> TrainResult:
    """Train `model_fn` as `spec` says, into `logdir` (default: the spec's).

    Resumes from the logdir's latest readable checkpoint; otherwise starts
    from `init_from` if given.  With `plan=True` prints the restore plan and
    returns without training.  Raises SlimError for every user mistake.
    """
    stream = stream or sys.stderr
    if progress is None:
        progress = hasattr(stream, "isatty") and stream.isatty() and _columns(stream) > 0
    ld = logdir if logdir is not None else spec.logdir
    if ld is None:
        raise SlimError.single("E309", "no logdir: add `logdir \"PATH\"` to the train section or pass --logdir",
                               spec.span)
    logdir = pathlib.Path(ld).expanduser()
    checkpoints.check_logdir(logdir, spec.span_of("logdir"))
    if deploy is None:
        deploy = distributed.deploy_for(spec)
    if deploy.role is not None and not deploy.role.is_trainer:
        from .cluster import run_other_role

        return run_other_role(deploy, spec, model_fn, logdir, stream, model_name, TrainResult)
    name = model_name or spec.model.name
    if data is None:
        data = open_data(need_data(spec))
    for note in data.notes:
        _say(stream, f"note: {note}")
    n_train = data.n_train
    if spec.steps is None and spec.epochs is not None and n_train is None:
        n_train, _ = count_records(data)
    total = steps_for(distributed.per_update(spec, deploy), n_train)
    cands = checkpoints.candidates(logdir) if logdir.is_dir() else []

    graph = tf.Graph()
    with graph.as_default(), deploy.scope():
        if spec.seed is not None:
            tf1.set_random_seed(spec.seed)
        global_step = tf1.train.get_or_create_global_step()
        offset = checkpoints.checkpoint_step(cands[0]) or 0 if cands else 0
        it, images, labels, feed = build_inputs(data, "train", spec.batch_size * deploy.clones, training=True,
                                                repeat=True, shuffle_offset=offset, shard=deploy.shard)

        def one_clone(images, labels):
            net, end_points = call_model(model_fn, images, spec.model.params, is_training=True, data=data,
                                         model_name=name)
            return net, end_points, build_losses(spec.losses, net, end_points, labels, data)

        # One clone (the usual case) builds exactly what a plain model and loss would.
        built = distributed.build_clones(deploy, images, labels, one_clone, regularization=spec.regularization,
                                         global_step=global_step)
        end_points, heads, model_vars = built.end_points, built.heads, built.model_vars
        if not model_vars:
            raise SlimError.single("E325", f"model `{name}` has no variables to train", data.spec.span)
        total_loss = built.total_loss
        fp = checkpoints.fingerprint(name, model_vars)

        init_plan = None
        if spec.init_from is not None and (plan or not cands):
            init_plan = plan_for(spec.init_from, model_vars)
        if plan:
            if init_plan is not None:
                _say(stream, init_plan.format().rstrip())
                if cands:
                    _say(stream, f"note: {logdir} already has checkpoints; training resumes from them and "
                         "init_from is not used")
            else:
                where = f"resume from {cands[0]}" if cands else "initialise every variable afresh"
                _say(stream, f"no init_from: training will {where} ({len(model_vars)} variables)")
            if init_plan is not None:
                check_plan(init_plan)
            return TrainResult(str(logdir), 0, 0, total, None, 0.0, 0.0, None)
        if init_plan is not None:
            check_plan(init_plan)
            init_saver = restore_saver(init_plan, model_vars)

        train_op, lr, _ = make_train_op(spec, total_loss, global_step, total, n_train)
        during = DuringTraining(spec, data, logdir, lambda msg: _say(stream, msg), name)
        train_op = during.build(train_op, model_fn, model_vars, global_step, end_points)

        # The summaries are scalars the step computes anyway: they are fetched with
        # every step and written from Python (no summary ops), so every step runs
        # the one same executor; see _run.
        summary_tags = ["summaries/total_loss", "summaries/learning_rate"]
        scalars = []
        for h in heads:
            summary_tags.append(f"summaries/losses/{h.spec.name}")
            scalars.append(h.value)
        reg = tf1.losses.get_regularization_losses()
        if reg and spec.regularization:
            with tf1.name_scope("summaries"):
                summary_tags.append("summaries/losses/regularization")
                scalars.append(tf.add_n(reg, name="regularization"))
        # One process builds its Saver after step 1 (see _finish_graph): its save and restore ops
        # are not needed before the first checkpoint, and building them delays the first step.
        saver = tf1.train.Saver(max_to_keep=spec.keep_checkpoints, save_relative_paths=True, pad_step_number=False,
                                defer_build=not deploy.distributed)
        init_op = tf1.group(tf1.global_variables_initializer(), tf1.local_variables_initializer())

    if deploy.distributed:
        during.refuse_distributed()
        # This module's helpers are passed, not imported there (no import cycle).
        return distributed.train_replica(
            deploy, graph, sys.modules[__name__], spec=spec, data=data, logdir=logdir, model_vars=model_vars, fp=fp, init_plan=init_plan,
            init_saver=init_saver if init_plan is not None else None, init_op=init_op, global_step=global_step,
            it=it, feed=feed, saver=saver, train_op=train_op, summaries=(summary_tags, scalars), lr=lr,
            total=total, stream=stream, model_name=name)

    model_span = spec.model.span if spec.model.span.source else spec.span
    with checkpoints.claimed(logdir, spec.span_of("logdir"), fp, model_span, data.class_names) as cands:
        with graph.as_default():
            return _session(graph, spec, data, logdir, cands, model_vars, fp, init_plan,
                            init_saver if init_plan is not None else None, init_op, global_step, it, feed, saver,
                            train_op, (summary_tags, scalars), lr, heads, total, stream, progress, name, during)


def _session(graph, spec, data, logdir, cands, model_vars, fp, init_plan, init_saver, init_op, global_step, it,
             feed, saver, train_op, summaries, lr, heads, total, stream, progress, model_name,
             during) -> TrainResult:
    notes: list = []
    resumed = None
    sess = tf1.Session(graph=graph, config=distributed.session_config_for(graph, session_config()))
    try:
        sess.run(init_op)
        if cands:
            resumed = _resume(sess, graph, cands, model_vars, fp, logdir, spec, stream, notes)
            # keep_checkpoints counts the earlier runs' checkpoints too, as in one long run
            saver.recover_last_checkpoints(list(reversed(checkpoints.candidates(logdir))))
        else:
            _say(stream, f"no checkpoint in {logdir}; starting at step 0")
        if not cands and init_plan is not None:
            init_saver.restore(sess, init_plan.checkpoint)
            _say(stream, f"initialised {init_plan.count('restore')} variables from {init_plan.checkpoint} "
                 f"({init_plan.count('excluded')} excluded, {init_plan.count('missing')} missing)")
        start = int(sess.run(global_step))
        done_already = during.start(sess, start, init_plan if not cands else None, model_vars)
        if done_already:
            _say(stream, done_already)
            return TrainResult(str(logdir), start, start, total, None, 0.0, 0.0, resumed, resumed_from=resumed,
                               notes=notes)
        if total is not None and start >= total:
            _say(stream, f"{logdir} is already at step {start} of {total}; nothing to do "
                 "(raise `steps` or pass --steps to train longer)")
            return TrainResult(str(logdir), start, start, total, None, 0.0, 0.0, resumed, resumed_from=resumed,
                               notes=notes)
        sess.run(it.initializer, feed_dict=feed)
        until = total if total is not None else "Ctrl-C or SIGTERM"
        _say(stream, f"training {model_name or 'the model'} on {data.describe()}: steps {start}..{until}, "
             f"batch {spec.batch_size}, into {logdir}")
        with _EventLog(logdir, graph if start == 0 else None) as writer:
            result = _run(sess, spec, data, saver, writer, train_op, summaries, lr, global_step, heads,
                          logdir, start, total, stream, progress, during)
        if writer.failure is not None:
            _say(stream, f"warning: TensorBoard summaries stopped at step {writer.failed_at}: {writer.failure} "
                 f"(the checkpoints are complete)")
        result.resumed_from = resumed
        result.notes = notes
        return result
    finally:
        sess.close()


def _resume(sess, graph, cands, model_vars, fp, logdir, spec, stream, notes) -> str:
    """Restore the newest readable checkpoint; damaged newer ones are moved aside."""
    bad = []
    all_vars = graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
    for c in cands:
        try:
            names = checkpoints.read_variables(c)
        except Exception as e:  # damaged index / missing files
            bad.append((c, _why(e)))
            continue
        model_missing = [v.op.name for v in model_vars
                         if v.op.name not in names or list(names[v.op.name]) != v.shape.as_list()]
        if model_missing:
            old = {"variables": names}
            diff = [d for d in checkpoints.fingerprint_diff(old, fp)
                    if not d.startswith("removed")] or [f"missing: {n}" for n in model_missing]
            raise SlimError.single(
                "E340", f"checkpoint {pathlib.Path(c).name} in {logdir} is of a different model; refusing to resume",
                spec.span, ["note: " + d for d in diff[:12]]
                + ["help: use a new --logdir, or start from it with init_from and exclude=[...]"])
        present = [v for v in all_vars if v.op.name in names and list(names[v.op.name]) == v.shape.as_list()]
        fresh = [v.op.name for v in all_vars if v not in present]
        try:
            with graph.as_default():
                tf1.train.Saver(var_list=present).restore(sess, c)
        except OpError as e:
            bad.append((c, _why(e)))
            continue
        if fresh:
            msg = (f"{len(fresh)} variable(s) not in the checkpoint start afresh (a changed optimizer?): "
                   + ", ".join(fresh[:5]) + (" ..." if len(fresh) > 5 else ""))
            notes.append(msg)
            _say(stream, "note: " + msg)
        if bad:
            for b, why in bad:
                checkpoints.move_aside(b)
                msg = (f"checkpoint {pathlib.Path(b).name} is damaged ({why}); its files were renamed *.broken")
                notes.append(msg)
                _say(stream, "warning: " + msg)
            good = [x for x in reversed(cands) if x not in {b for b, _ in bad} and
                    checkpoints.checkpoint_step(x) <= checkpoints.checkpoint_step(c)]
            checkpoints.point_state_at(logdir, good)
        _say(stream, f"resuming from {c} at step {checkpoints.checkpoint_step(c)}")
        return c
    raise SlimError.single(
        "E341", f"no readable checkpoint in {logdir}", spec.span,
        [f"note: {pathlib.Path(b).name}: {why}" for b, why in bad[:6]]
        + [f"help: move the logdir aside (mv {logdir} {logdir}.damaged) to start over"])


class _EventLog:
    """TensorBoard's event file, written so that its failure (a full disk, a
    removed logdir) never replaces the real error nor prints a traceback.

    tf1.summary.FileWriter writes from a thread; when a write fails the thread
    logs an ERROR record, dies with a traceback printed by
    `threading.excepthook`, and the exception comes back on the next
    add_summary/flush/close, which (from a `finally`) would hide the E351 of
    the checkpoint save that fails on the same full disk.  Here the first
    failure is recorded (`failure`, `failed_at`), summaries stop, the
    thread's traceback and log record are dropped, and the checkpoints, which
    report their own write errors, carry on.
    """

    THREAD = "EventLoggerThread"
    RECORD = "EventFileWriter writer thread error"

    def __init__(self, logdir, graph):
        self.logdir, self.graph = logdir, graph
        self.writer = None
        self.failure: str | None = None
        self.failed_at = None
        self.step = None

    def _fail(self, e: BaseException):
        if self.failure is None:
            reason = getattr(e, "message", None) or (e.strerror if isinstance(e, OSError) else None) or str(e)
            self.failure = (reason.strip().splitlines() or [type(e).__name__])[0][:300]
            self.failed_at = self.step if self.step is not None else "the start"
        w, self.writer = self.writer, None
        if w is not None:
            try:
                w.close()
            except Exception:
                pass

    def filter(self, record):  # logging.Filter protocol, for TensorFlow's logger
        try:
            return self.RECORD not in record.getMessage()
        except (TypeError, ValueError):
            return True

    def _hook(self, args):
        if args.thread is not None and args.thread.name == self.THREAD and issubclass(args.exc_type, Exception):
            return  # recorded by FileWriter; surfaces in add/close, where _fail takes it
        self._old_hook(args)

    def __enter__(self):
        import threading

        self._old_hook = threading.excepthook
        threading.excepthook = self._hook
        tf.get_logger().addFilter(self)
        try:
            # The graph is written after the first step (add_graph): serializing it delays step 1
            # (resnet_v1_50's training graph: 0.17-0.19 s CPU, 0.35-0.4 s wall).
            self.writer = tf1.summary.FileWriter(str(self.logdir))
        except Exception as e:
            self._fail(e)
        return self

    def add_graph(self):
        """Write the graph given to the constructor, once (the loop calls this after step 1)."""
        graph, self.graph = self.graph, None
        if graph is None or self.writer is None:
            return
        try:
            self.writer.add_graph(graph)
        except Exception as e:
            self._fail(e)

    def add_summary(self, summary, step):
        self.step = step
        if self.writer is None:
            return
        try:
            self.writer.add_summary(summary, step)
        except Exception as e:
            self._fail(e)

    def __exit__(self, *exc):
        import threading

        try:
            if self.writer is not None:
                self.add_graph()  # a run that ended before its first step still records its graph
            if self.writer is not None:
                try:
                    self.writer.close()
                except Exception as e:
                    self._fail(e)
        finally:
            threading.excepthook = self._old_hook
            tf.get_logger().removeFilter(self)
        return False


def _finish_graph(graph, saver) -> None:
    """Build the deferred Saver, then finalize the graph: nothing adds ops to it after this."""
    if not graph.finalized:
        with graph.as_default():
            saver.build()
        graph.finalize()


def _why(e: Exception) -> str:
    msg = getattr(e, "message", None) or str(e)
    return f"{type(e).__name__}: {msg.strip().splitlines()[0][:160]}" if msg else type(e).__name__


def _scalar_summary(tags, values):
    return tf1.Summary(value=[tf1.Summary.Value(tag=t, simple_value=float(v)) for t, v in zip(tags, values)])


def _run(sess, spec: TrainSpec, data, saver, writer, train_op, summaries, lr, global_step, heads, logdir,
         start, total, stream, progress, during) -> TrainResult:
    from tqdm import tqdm

    # Every step runs one callable with one fetch list: the train op (its value
    # is the total loss, checked for NaN/Inf in the graph), the learning rate
    # and the per-loss scalars, all computed by the step anyway.  A different
    # fetch list on log or summary steps would make the session build and
    # optimise another executor for them, and sess.run re-parses its fetches on
    # every call; a callable does neither.
    summary_tags, scalars = summaries
    step_fn = sess.make_callable([train_op, lr] + list(scalars))
    # Histograms and sparsity (summaries setting) read the step's own batch, fetched on summary steps only.
    summary_fn = sess.make_callable([train_op, lr] + list(scalars) + [during.summary_op]) \
        if during.summary_op is not None else None
    end = total if total is not None else math.inf

    prefix = str(logdir / checkpoints.PREFIX)
    t0 = time.monotonic()
    t_warm = None
    warm_step = start + WARMUP_STEPS
    last_save_t = last_sum_t = last_log_t = t0
    last_saved = None
    step = start
    loss = None
    rate = None
    say = (lambda msg: bar.write(msg, file=stream)) if progress else (lambda msg: _say(stream, msg))
    during.say = say
    bar = tqdm(total=total, initial=start, unit="step", file=stream, dynamic_ncols=True, disable=not progress,
               smoothing=0.05, mininterval=0.25, leave=True)

    save_secs, save_steps = save_policy(spec, total)

    def save(s):
        nonlocal last_saved, last_save_t
        _finish_graph(sess.graph, saver)  # a run that stops before its first step still saves
        before = checkpoints.files_of_step(logdir, s)
        try:
            path = saver.save(sess, prefix, global_step=s, write_meta_graph=False)
        except (OpError, OSError, ValueError) as e:
            # Remove only what this save wrote; `checkpoint` still names the last complete one.
            checkpoints.remove_new_files(logdir, s, before)
            raise _save_error(e, spec, logdir, s) from None
        last_saved, last_save_t = path, time.monotonic()
        return path

    interrupted = None
    early = None

    def best(s):
        folder = logdir / "best"
        before = checkpoints.files_of_step(folder, s)
        try:
            return during.best_saver.save(sess, str(folder / checkpoints.PREFIX), global_step=s,
                                          write_meta_graph=False)
        except (OpError, OSError, ValueError) as e:
            checkpoints.remove_new_files(folder, s, before)  # best/checkpoint still names the previous best
            raise _save_error(e, spec, logdir, s) from None

    with _Stop() as stop:
        try:
            while step < end:
                rich = summary_fn is not None and (
                    (spec.save_summaries_steps and (step + 1) % spec.save_summaries_steps == 0)
                    or (spec.save_summaries_secs and time.monotonic() - last_sum_t >= spec.save_summaries_secs))
                try:
                    out = summary_fn() if rich else step_fn()
                except tf.errors.InvalidArgumentError as e:
                    if "LossTensor is inf or nan" in e.message:
                        loss = float("nan")
                        raise _nan(spec, step + 1, last_saved, logdir) from None
                    raise runtime_error(e, data, spec, step) from None
                except OpError as e:
                    raise runtime_error(e, data, spec, step) from None
                step += 1
                if step == start + 1:
                    _finish_graph(sess.graph, saver)
                    writer.add_graph()
                if step == warm_step:
                    t_warm = time.monotonic()
                loss = float(out[0])
                if not math.isfinite(loss):
                    raise _nan(spec, step, last_saved, logdir)
                now = time.monotonic()
                if ((spec.save_summaries_steps and step % spec.save_summaries_steps == 0)
                        or (spec.save_summaries_secs and now - last_sum_t >= spec.save_summaries_secs)
                        or step == total):
                    writer.add_summary(_scalar_summary(summary_tags, out), step)
                    last_sum_t = now
                if rich:
                    writer.add_summary(out[-1], step)
                if during.wants_validation(step, total):
                    early = during.validate(sess, step, writer, best)
                want_log = step % spec.log_every == 0 or step == total or step == start + 1
                if want_log:
                    rate = float(out[1])
                    bar.set_postfix_str(f"loss={loss:.4f} lr={rate:.3g}{during.postfix()}", refresh=False)
                bar.update(1)
                if not progress and want_log and (time.monotonic() - last_log_t >= 2.0 or step == total):
                    last_log_t = time.monotonic()
                    el = last_log_t - t0
                    sps = (step - start) / el if el > 0 else 0.0
                    eta = f"  eta {_fmt_time((total - step) / sps if sps > 0 else 0.0)}" if total else ""
                    _say(stream, f"step {step}/{total or '-'}  loss {loss:.4f}  lr {rate:.3g}  {sps:.1f} steps/s"
                         f"{eta}{during.postfix().replace('=', ' ').replace(' val_', '  val_')}")
                if early:
                    break
                if step < end and ((save_steps and step % save_steps == 0)
                                     or (save_secs and time.monotonic() - last_save_t >= save_secs)):
                    save(step)
                if stop.requested:
                    interrupted = stop.requested
                    break
        except KeyboardInterrupt:
            interrupted = "SIGINT"
        finally:
            bar.close()
    t_end = time.monotonic()
    elapsed = t_end - t0
    done = step - start
    steady = (step - warm_step) / (t_end - t_warm) if t_warm is not None and step > warm_step else None
    if last_saved is None or checkpoints.checkpoint_step(last_saved) != step:
        if done > 0:
            save(step)
    sps = done / elapsed if elapsed > 0 else 0.0
    if early:
        _say(stream, f"stopped early at step {step}; saved {pathlib.Path(last_saved).name}")
    elif interrupted:
        _say(stream, f"stopped by {interrupted} at step {step}; saved {pathlib.Path(last_saved).name}. "
             "Run the same command to resume.")
    else:
        speed = f"{sps:.1f} steps/s" + (f", {steady:.1f} after warm-up" if steady else "")
        _say(stream, f"trained steps {start}..{step} in {elapsed:.1f} s ({speed}), loss {loss:.4f}; "
             f"checkpoint {last_saved}")
    return TrainResult(str(logdir), step, start, total, loss, elapsed, sps, last_saved,
                       steady_steps_per_sec=steady, interrupted=bool(interrupted), stopped_early=early,
                       validation=dict(during.last))


def _save_error(e: BaseException, spec: TrainSpec, logdir, step: int) -> SlimError:
    from .. import fsutil

    cands = checkpoints.candidates(logdir)
    keep = (f"the last complete checkpoint, {pathlib.Path(cands[0]).name}, is kept and is where the next run "
            "resumes" if cands else "no earlier checkpoint exists")
    if isinstance(e, OpError):
        reason = tf_reason(e.message)[:300] or type(e).__name__  # not "Graph execution error:"
    else:
        reason = (e.strerror if isinstance(e, OSError) else None) or str(e)
        reason = (reason.strip().splitlines() or [type(e).__name__])[0][:300]
    span = spec.span_of("logdir")
    if fsutil.is_disk_full(e):
        return SlimError.single(
            "E351", f"writing checkpoint {checkpoints.PREFIX}-{step} into {logdir} failed: the disk is full or "
            "the file is over the size limit", span,
            [f"note: {reason}", f"note: its partial files were removed; {keep}",
             "help: free some space (or raise the file-size limit) and run the same command to resume"])
    return SlimError.single(
        "E350", f"writing checkpoint {checkpoints.PREFIX}-{step} into {logdir} failed: {reason}", span,
        [f"note: its partial files were removed; {keep}",
         "help: check that the logdir is writable and still exists, then run the same command to resume"])


def _nan(spec: TrainSpec, step: int, last_saved, logdir) -> SlimError:
    cands = checkpoints.candidates(logdir)
    keep = (f"the last good checkpoint, {pathlib.Path(cands[0]).name}, is kept" if cands
            else "no checkpoint had been written yet")
    return SlimError.single(
        "E342", f"the loss became NaN or Inf at step {step}; training stopped and {keep}",
        spec.optimizer.span if spec.optimizer.span.source else spec.span,
        ["help: lower the learning rate, add `clip_gradients 5`, or look for extreme values in the data"])
