"""Train stage, the command line of clones and replicas, `eval --watch`, and `--local-cluster`.

`slimlang train FILE --local-cluster workers=2,ps=1[,evaluator=1]` runs a whole
cluster on this machine: it picks free ports on 127.0.0.1, starts one
`slimlang train` process per task with that task's TF_CONFIG (the same
command a user runs on each machine of a real cluster), prefixes each
process's output lines with its role, and stops every process when training
finishes or when one fails, naming the failing role.  Worker 0 is the chief,
as in train_image_classifier.py (task 0).

Pure Python: imports no TensorFlow (the tasks do).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from ..diagnostics import SlimError, UsageError

#: Seconds the tasks have to stop after SIGTERM (the chief saves a checkpoint) before SIGKILL.
STOP_GRACE_SECS = 20.0
#: Once every training task is done: seconds the ps tasks and the evaluator have to finish.
AFTER_TRAINING_SECS = 60.0

_ROLES = {"workers": "worker", "ps": "ps", "evaluator": "evaluator"}


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    import math

    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return v


def parse_local_cluster(text: str) -> dict:
    """`workers=2,ps=1[,evaluator=1]` -> {"worker": 2, "ps": 1, "evaluator": 0|1}."""
    from ..diagnostics import did_you_mean

    counts = {"worker": 0, "ps": 0, "evaluator": 0}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise argparse.ArgumentTypeError(f"expected KEY=N items like workers=2,ps=1, got {part!r}")
        if key not in _ROLES:
            hint = did_you_mean(key, list(_ROLES))
            raise argparse.ArgumentTypeError(f"unknown task kind {key!r}; kinds: workers, ps, evaluator"
                                             + (f" ({hint.removeprefix('help: ')})" if hint else ""))
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}= needs a whole number, got {value!r}") from None
        if n < 0 or n > 64:
            raise argparse.ArgumentTypeError(f"{key}={n} is out of range (0..64)")
        counts[_ROLES[key]] = n
    if counts["worker"] < 1:
        raise argparse.ArgumentTypeError("a cluster needs workers=1 or more")
    if counts["ps"] < 1:
        raise argparse.ArgumentTypeError("a cluster needs ps=1 or more: the variables the workers share live there")
    if counts["evaluator"] > 1:
        raise argparse.ArgumentTypeError("evaluator= is 0 or 1 (TF_CONFIG's evaluator job has one task)")
    return counts


def add_train_arguments(p) -> None:
    g = p.add_argument_group("clones and replicas (docs/distributed.md)")
    g.add_argument("--clones", type=_positive_int, metavar="N",
                   help="train N copies of the model on this machine's devices, batch size per clone "
                        "(as the `clones` setting)")
    g.add_argument("--clone-on-cpu", action="store_true", help="place every clone on the CPU, even with GPUs")
    g.add_argument("--sync-replicas", action="store_true",
                   help="in a cluster: aggregate the workers' gradients into one update (SyncReplicasOptimizer); "
                        "default: asynchronous updates")
    g.add_argument("--replicas-to-aggregate", type=_positive_int, metavar="N",
                   help="with --sync-replicas: gradients per update (default: every training task's)")
    g.add_argument("--peer-timeout", type=_positive_float, metavar="S",
                   help="in a cluster: seconds to wait for a peer (start-up, the chief's initialisation, "
                        "a step) before stopping with an error (default 60)")
    g.add_argument("--local-cluster", type=parse_local_cluster, metavar="workers=N,ps=N[,evaluator=1]",
                   help="start a whole cluster on this machine (127.0.0.1), one process per task")


def _positive_int(text: str) -> int:
    from ..cli import positive_int

    return positive_int(text)


def add_eval_arguments(p) -> None:
    p.add_argument("--watch", action="store_true",
                   help="evaluate each new checkpoint of the logdir as it appears, writing the metrics as "
                        "summaries under LOGDIR/eval, until the final step's checkpoint")
    p.add_argument("--timeout", type=_positive_float, metavar="S",
                   help="with --watch: stop when no new checkpoint has come for S seconds")


def deploy_of(args, spec):
    """The Deploy of `slimlang train`'s flags and TF_CONFIG."""
    from .distributed import deploy_for

    return deploy_for(spec, clones=args.clones, clone_on_cpu=args.clone_on_cpu, sync=args.sync_replicas,
                      replicas_to_aggregate=args.replicas_to_aggregate, peer_timeout=args.peer_timeout)


# ------------------------------------------------------------ tasks that do not train ---


def run_other_role(deploy, spec, model_fn, logdir, stream, model_name, result_type):
    """A task that does not train: a parameter server, or the evaluator (`eval --watch`)."""
    from ._tf import session_config
    from .distributed import Deploy, Role, per_update, run_ps, watch

    role = deploy.role
    if role.job == "ps":
        run_ps(deploy, stream, session_config())
        return result_type(str(logdir), 0, 0, 0, None, 0.0, 0.0, None)
    from .build import need_data
    from .data import count_records, open_data
    from .optim import steps_for

    data = open_data(need_data(spec))
    n_train = data.n_train
    if spec.steps is None and spec.epochs is not None and n_train is None:
        n_train, _ = count_records(data)
    trainer_deploy = Deploy(clones=deploy.clones, role=Role(role.cluster, *role.trainers[0]), sync=deploy.sync,
                            replicas_to_aggregate=deploy.replicas_to_aggregate)
    total = steps_for(per_update(spec, trainer_deploy), n_train)
    watch(spec, model_fn, logdir, final_step=total, timeout=None, stream=stream, model_name=model_name, data=data)
    return result_type(str(logdir), total, 0, total, None, 0.0, 0.0, None)


# ------------------------------------------------------------ eval --watch ---


def eval_watch(args, spec, model_fn, name, logdir) -> int:
    for flag, given in (("--checkpoint", args.checkpoint), ("--best", args.best)):
        if given:
            raise UsageError(f"--watch evaluates the logdir's checkpoints as they appear; give --watch or {flag}, "
                             "not both")
    if args.raw_weights:
        # the watch evaluates what a checkpoint holds as eval does by default; it was silently ignored
        raise UsageError("--raw-weights is not available with --watch; evaluate one checkpoint with "
                         "--raw-weights --checkpoint PATH instead")
    from .build import need_data
    from .data import count_records, open_data
    from .distributed import watch
    from .optim import steps_for

    data = open_data(need_data(spec))
    n_train = data.n_train
    if spec.steps is None and spec.epochs is not None and n_train is None:
        n_train, _ = count_records(data)
    try:
        final = steps_for(spec, n_train)
    except SlimError:
        final = None  # no length: only --timeout (or Ctrl-C) stops the watch
    results = watch(spec, model_fn, logdir, final_step=final, timeout=args.timeout, stream=sys.stderr,
                    model_name=name, data=data, batch_size=args.batch_size)
    if results:
        for line in results[-1].lines():
            print(line)
    return 0


# ------------------------------------------------------------ the local cluster ---


def free_ports(n: int) -> list[int]:
    """n distinct ports free on 127.0.0.1 now (all held open until all are picked)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def local_cluster_config(counts: dict, ports: list[int] | None = None) -> dict:
    """TF_CONFIG's "cluster" for `counts` tasks on 127.0.0.1."""
    total = sum(counts.values())
    ports = list(ports) if ports is not None else free_ports(total)
    cluster = {}
    for job in ("worker", "ps", "evaluator"):
        if counts.get(job):
            cluster[job] = [f"127.0.0.1:{ports.pop(0)}" for _ in range(counts[job])]
    return cluster


def tf_config(cluster: dict, job: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": job, "index": index}})


def child_argv(args, logdir: str) -> list[str]:
    """The `slimlang train` command every task runs: this one's flags, without --local-cluster."""
    argv = ["train", args.file, "--logdir", os.path.abspath(logdir), "--no-progress"]
    for flag, value in (("--section", args.section), ("--model", args.model), ("--steps", args.steps),
                        ("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--init-from", args.init_from), ("--clones", args.clones),
                        ("--replicas-to-aggregate", args.replicas_to_aggregate),
                        ("--peer-timeout", args.peer_timeout)):
        if value is not None:
            argv += [flag, str(value)]
    for s in args.set or []:
        argv += ["--set", s]
    if args.clone_on_cpu:
        argv.append("--clone-on-cpu")
    if args.sync_replicas:
        argv.append("--sync-replicas")
    if getattr(args, "verbose", False):
        argv.insert(0, "--verbose")
    return argv


PYTHON_MAIN = "import sys; from slimlang.cli import main; sys.exit(main(sys.argv[1:]))"


def _die_with_parent():
    """In the child: SIGTERM when the supervising process dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_task(argv: list[str], cluster: dict, job: str, index: int, env=None, **popen) -> subprocess.Popen:
    """One task of a cluster: `slimlang ARGV` with its TF_CONFIG, output piped."""
    e = dict(os.environ if env is None else env)
    e["TF_CONFIG"] = tf_config(cluster, job, index)
    e.setdefault("PYTHONUNBUFFERED", "1")
    return subprocess.Popen([sys.executable, "-c", PYTHON_MAIN] + list(argv), env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                            **popen)


class Task:
    def __init__(self, job: str, index: int, proc: subprocess.Popen, out, lock):
        self.job, self.index, self.proc = job, index, proc
        self.name = f"{job} {index}"
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._pump, args=(out, lock), daemon=True)
        self.thread.start()

    def _pump(self, out, lock):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            del self.lines[:-50]
            with lock:
                print(f"[{self.name}] {line}", file=out, flush=True)

    @property
    def trains(self) -> bool:
        return self.job in ("chief", "worker")


def stop_all(tasks: list[Task], grace: float = STOP_GRACE_SECS) -> None:
    """SIGTERM every live task (the chief saves a checkpoint), SIGKILL what is left after `grace` s."""
    for t in tasks:
        if t.proc.poll() is None:
            try:
                t.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for t in tasks:
        try:
            t.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            t.proc.kill()
            t.proc.wait()
    for t in tasks:
        t.thread.join(timeout=2.0)


def run_local_cluster(args, spec, logdir, out=None) -> int:
    """`slimlang train FILE --local-cluster ...`: run the cluster, return the exit status."""
    out = out or sys.stderr
    counts = args.local_cluster
    if args.plan:
        raise UsageError("--plan prints the restore plan of one process; run it without --local-cluster")
    cluster = local_cluster_config(counts)
    argv = child_argv(args, logdir)
    desc = ", ".join(f"{j} {', '.join(a)}" for j, a in cluster.items())
    mode = "synchronous" if args.sync_replicas or args.replicas_to_aggregate else "asynchronous"
    print(f"local cluster ({mode}): {desc}; worker 0 is the chief; logdir {os.path.abspath(logdir)}", file=out,
          flush=True)
    lock = threading.Lock()
    tasks: list[Task] = []
    failed = None
    interrupted = None
    old = {}

    def on_signal(signum, frame):
        nonlocal interrupted
        interrupted = signal.Signals(signum).name

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, on_signal)
    try:
        # Parameter servers first, the evaluator last: each waits (bounded) for what it needs anyway.
        for job in ("ps", "worker", "evaluator"):
            for i in range(len(cluster.get(job, []))):
                tasks.append(Task(job, i, start_task(argv, cluster, job, i), out, lock))
        trained_at = None
        while True:
            if interrupted:
                break
            for t in tasks:
                rc = t.proc.poll()
                if rc is not None and rc != 0 and failed is None:
                    failed = (t, rc)
            if failed is not None:
                break
            trainers = [t for t in tasks if t.trains]
            if all(t.proc.poll() == 0 for t in trainers):
                if trained_at is None:
                    trained_at = time.monotonic()
                if all(t.proc.poll() is not None for t in tasks):
                    break
                if time.monotonic() - trained_at > AFTER_TRAINING_SECS:
                    late = [t.name for t in tasks if t.proc.poll() is None]
                    print(f"warning: training finished but {', '.join(late)} did not exit within "
                          f"{AFTER_TRAINING_SECS:g} s; stopping them", file=out, flush=True)
                    break
            time.sleep(0.1)
    finally:
        stop_all(tasks)
        for sig, h in old.items():
            signal.signal(sig, h)
    if interrupted:
        print(f"stopped by {interrupted}; every task was stopped (the chief saved a checkpoint). "
              "Run the same command to resume.", file=out, flush=True)
        return 130
    if failed is not None:
        t, rc = failed
        why = f"exit status {rc}" if rc > 0 else f"killed by {signal.Signals(-rc).name}"
        raise SlimError.single("E374", f"{t.name} of the local cluster failed ({why}); every other task was stopped",
                               spec.span, [f"note: {t.name}'s last line: {t.lines[-1]}" if t.lines else "",
                                           ("help: its error is above, prefixed with its role; fix it and run the "
                                            "same command to resume from the last checkpoint")])
    print(f"local cluster finished: every task exited; checkpoints in {os.path.abspath(logdir)}", file=out,
          flush=True)
    return 0
