"""Train stage, scaling out the TF-Slim way: clones on one machine, replicas over a cluster.

Clones (`--clones N`, the `clones` setting) follow research/slim's
deployment/model_deploy.py: the model is built N times in one graph, under
name scopes `clone_0` .. `clone_N-1`, each on its own device (the GPUs when
there are enough of them, or as many logical CPU devices, else all on the
CPU), the variables shared (the first clone creates them, the others reuse
them) and placed on one device (the CPU, or the parameter servers).  Each
clone's loss is divided by N, so summing the clones' gradients gives the
gradient of the mean over the N*batch_size examples; the regularization
losses are added once (to the first clone's loss) and only the first
clone's update ops (batch norm's moving averages) run.  `batch_size` is per
clone.

Replicas follow train_image_classifier.py's between-graph replication with
parameter servers, the process's role taken from the standard TF_CONFIG
variable (`{"cluster": {"chief": [...], "worker": [...], "ps": [...],
"evaluator": [...]}, "task": {"type": "worker", "index": 0}}`): each process
starts a `tf.distribute.Server`, variables are placed over the ps tasks by
`replica_device_setter`, the chief (the `chief` task, or worker 0 without
one) initialises, restores, writes checkpoints and summaries while the other
workers wait for the variables to be ready, then all train.  Updates are
asynchronous unless `--sync-replicas` wraps the optimizer in
`SyncReplicasOptimizer`.  Each worker reads its own shard of the batches;
global_step counts updates.

Every process exits at the end: each worker, the chief last of all after its
final checkpoint, puts a token in a queue on every ps, and a ps exits once
it has a token from every worker.  Waiting is always bounded: peers must
accept connections within `peer_timeout` seconds, and an operation that
waits on a peer longer than that fails (ConfigProto.operation_timeout_in_ms).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import weakref
from dataclasses import dataclass, field

from ..diagnostics import SlimError, UsageError

#: TensorFlow's task types, in the order TF_CONFIG documents them.
JOBS = ("chief", "worker", "ps", "evaluator")
#: Seconds a parameter server keeps serving after the last trainer's token (see run_ps).
PS_LINGER_SECONDS = 2.0
#: Seconds a process waits for its peers (connections, the chief's
#: initialisation, a sync step) before giving up with E371/E373.
DEFAULT_PEER_TIMEOUT = 60.0
_DONE_QUEUE = "slimlang_done"


# ------------------------------------------------------------ the role ---


@dataclass(frozen=True)
class Role:
    """This process's place in the cluster, from TF_CONFIG."""

    cluster: dict  # job -> [host:port, ...]
    job: str
    index: int

    @property
    def address(self) -> str:
        return self.cluster[self.job][self.index]

    @property
    def name(self) -> str:
        return f"{self.job} {self.index}"

    @property
    def device(self) -> str:
        return f"/job:{self.job}/task:{self.index}"

    @property
    def trainers(self) -> list[tuple[str, int]]:
        """The training tasks, chief first: (job, index)."""
        return ([("chief", i) for i in range(len(self.cluster.get("chief", [])))]
                + [("worker", i) for i in range(len(self.cluster.get("worker", [])))])

    @property
    def is_trainer(self) -> bool:
        return self.job in ("chief", "worker")

    @property
    def is_chief(self) -> bool:
        return (self.job, self.index) == self.trainers[0]

    @property
    def replicas(self) -> int:
        return len(self.trainers)

    @property
    def replica_index(self) -> int:
        return self.trainers.index((self.job, self.index))

    @property
    def ps_tasks(self) -> int:
        return len(self.cluster.get("ps", []))

    def server_cluster(self) -> dict:
        """The cluster the tf.distribute.Server of a trainer or ps sees (the evaluator is outside it)."""
        return {j: list(a) for j, a in self.cluster.items() if j != "evaluator" and a}


def _tf_config_error(msg: str, notes=()) -> UsageError:
    return UsageError("TF_CONFIG " + msg + "".join(f"\n  = {n}" for n in notes if n))


def role_from_env(env=None) -> Role | None:
    """The Role TF_CONFIG describes, or None when it is unset or names no cluster."""
    env = os.environ if env is None else env
    raw = env.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        cfg = json.loads(raw)
    except ValueError as e:
        raise _tf_config_error(f"is not JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise _tf_config_error("must be a JSON object with \"cluster\" and \"task\"")
    cluster = cfg.get("cluster") or {}
    if not cluster:
        return None  # TensorFlow's own convention: no cluster means one local process
    if not isinstance(cluster, dict):
        raise _tf_config_error("\"cluster\" must be an object of job name -> list of \"host:port\"")
    for job, addrs in cluster.items():
        if job not in JOBS:
            from ..diagnostics import did_you_mean

            hint = did_you_mean(job, JOBS)
            raise _tf_config_error(f"has an unknown job {job!r} in \"cluster\"",
                                   [hint, "note: jobs: " + ", ".join(JOBS)])
        if not isinstance(addrs, list) or not all(isinstance(a, str) and ":" in a for a in addrs):
            raise _tf_config_error(f"job {job!r} must be a list of \"host:port\" strings, got {addrs!r}")
    if len(cluster.get("chief", [])) > 1:
        raise _tf_config_error("has more than one chief; a cluster has at most one")
    if not cluster.get("chief") and not cluster.get("worker"):
        raise _tf_config_error("has no \"chief\" nor \"worker\" task: nothing would train")
    task = cfg.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise _tf_config_error("has no \"task\": {\"type\": JOB, \"index\": N} saying which task this process is")
    job, index = task.get("type"), task.get("index", 0)
    if job not in cluster:
        raise _tf_config_error(f"task type {job!r} is not a job of \"cluster\" ({', '.join(cluster)})")
    if not isinstance(index, int) or not 0 <= index < len(cluster[job]):
        raise _tf_config_error(f"task index {index!r} is out of range for job {job!r} "
                               f"({len(cluster[job])} task{'s' if len(cluster[job]) != 1 else ''})")
    return Role({j: list(a) for j, a in cluster.items()}, job, index)


# ------------------------------------------------------------ the deployment ---


@dataclass
class Deploy:
    """How one `slimlang train` process trains: its clones, and its role in a cluster (if any)."""

    clones: int = 1
    clone_on_cpu: bool = False
    role: Role | None = None
    sync: bool = False
    replicas_to_aggregate: int | None = None
    peer_timeout: float = DEFAULT_PEER_TIMEOUT
    server: object = None
    sync_optimizer: object = None
    devices: list = field(default_factory=list)
    update_ops: list | None = None  # the first clone's, when there are clones

    @property
    def shard(self) -> tuple | None:
        """(replicas, this replica's index) for build_inputs, in a cluster."""
        return (self.role.replicas, self.role.replica_index) if self.role is not None and self.role.is_trainer \
            else None

    @property
    def distributed(self) -> bool:
        return self.role is not None

    @property
    def is_chief(self) -> bool:
        return self.role is None or self.role.is_chief

    @property
    def replicas(self) -> int:
        return self.role.replicas if self.role else 1

    @property
    def aggregate(self) -> int:
        return self.replicas_to_aggregate or self.replicas

    def examples_per_step(self, batch_size: int) -> int:
        """Examples one global step consumes (for `epochs`): one clone batch times the clones,
        times the replicas aggregated into one update when they are synchronous."""
        return batch_size * self.clones * (self.aggregate if self.sync and self.distributed else 1)

    @property
    def target(self) -> str:
        return self.server.target if self.server is not None else ""

    def session_config(self, base):
        """The session's ConfigProto: `base`, plus the clones' CPU devices and, in a cluster,
        the device filters and the bounded wait on peers."""
        cpus = sum(1 for d in self.devices if "CPU" in d.upper())
        if cpus > 1:
            base.device_count["CPU"] = cpus
        if self.role is not None:
            base.operation_timeout_in_ms = int(self.peer_timeout * 1000)
            # A worker talks to the ps tasks and itself only, so a dead
            # other worker never blocks its session.
            base.device_filters.extend(["/job:ps", self.role.device])
        return base

    def clone_device(self, i: int) -> str:
        local = self.devices[i] if i < len(self.devices) else "/device:CPU:0"
        return (self.role.device + local) if self.role is not None else local

    def variables_device(self):
        """model_deploy's variables_device: the parameter servers, else this machine's CPU."""
        from ._tf import tf1

        if self.role is not None and self.role.ps_tasks:
            return tf1.train.replica_device_setter(ps_tasks=self.role.ps_tasks, ps_device="/job:ps",
                                                   worker_device=self.role.device + "/device:CPU:0",
                                                   cluster=self.role.server_cluster())
        return (self.role.device if self.role is not None else "") + "/device:CPU:0"

    def scope(self, clone: int | None = None):
        """The device scope of the whole training graph (global step, inputs, optimizer), or of
        one clone: variables on variables_device(), every other op on this task's CPU or the
        clone's device.  A device function, so that an inner one wins over it whole (a device
        string would be merged into the variables' placement)."""
        from ._tf import tf

        if self.role is None and not self.devices:
            return contextlib.nullcontext()
        other = self.clone_device(clone) if clone is not None else \
            (self.role.device if self.role else "") + "/device:CPU:0"
        return tf.compat.v1.device(_device_fn(self.variables_device(), other))


_VAR_OPS = frozenset({"Variable", "VariableV2", "VarHandleOp", "AutoReloadVariable", "MutableHashTable",
                      "MutableHashTableV2", "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2",
                      "MutableDenseHashTable", "MutableDenseHashTableV2"})


def _device_fn(variables, other: str):
    """Variables on `variables` (a device string or a replica_device_setter), every other op on `other`.

    TensorFlow applies the innermost device scope first and each outer one
    after it, so what an inner scope set (a clone's device, the input
    pipeline's CPU) is kept and only the fields it left open are filled in,
    as replica_device_setter itself does.
    """
    from ._tf import tf

    def choose(op):
        node = op.node_def if hasattr(op, "node_def") else op
        current = op.device
        if node.op in _VAR_OPS:
            if current:
                return current  # placed by an inner scope (and the setter's round robin not advanced twice)
            return variables(op) if callable(variables) else variables
        spec = tf.DeviceSpec.from_string(other)
        return spec.make_merged_spec(tf.DeviceSpec.from_string(current)).to_string() if current else other

    return choose


def local_devices(n: int, on_cpu: bool, span) -> list[str]:
    """The devices of `n` clones, as model_deploy picks them: GPU i, else (and with
    --clone-on-cpu) logical CPU device i when there are n of them, else the one CPU."""
    from ._tf import tf

    if n == 1 and not on_cpu:
        return []
    gpus = [] if on_cpu else tf.config.list_logical_devices("GPU")
    if gpus:
        if len(gpus) < n:
            raise SlimError.single("E375", f"{n} clones need {n} GPUs; this machine has {len(gpus)}", span,
                                   [f"help: use --clones {len(gpus)}, or --clone-on-cpu to place them all on the CPU"])
        return [f"/device:GPU:{i}" for i in range(n)]
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) >= n:
        return [f"/device:CPU:{i}" for i in range(n)]
    return ["/device:CPU:0"] * n


def deploy_for(spec, *, clones=None, clone_on_cpu=False, sync=False, replicas_to_aggregate=None,
               peer_timeout=None, env=None) -> Deploy:
    """The Deploy of this process: the spec's and the command line's clones, TF_CONFIG's role."""
    n = clones or getattr(spec, "clones", 1) or 1
    role = role_from_env(env)
    span = spec.span_of("clones")
    if role is None and (sync or replicas_to_aggregate or peer_timeout):
        given = [flag for flag, value in (("--sync-replicas", sync), ("--replicas-to-aggregate", replicas_to_aggregate),
                                          ("--peer-timeout", peer_timeout)) if value]
        raise UsageError(f"{' and '.join(given)} need{'s' if len(given) == 1 else ''} a cluster: set TF_CONFIG on "
                         "every task, or use --local-cluster workers=2,ps=1")
    if role is not None and role.is_trainer and replicas_to_aggregate and replicas_to_aggregate > role.replicas:
        raise UsageError(f"--replicas-to-aggregate {replicas_to_aggregate} is more than the cluster's "
                         f"{role.replicas} training tasks: no update could ever be applied")
    d = Deploy(clones=n, clone_on_cpu=clone_on_cpu, role=role, sync=bool(sync or replicas_to_aggregate),
               replicas_to_aggregate=replicas_to_aggregate,
               peer_timeout=peer_timeout or DEFAULT_PEER_TIMEOUT)
    if role is None or role.is_trainer:
        d.devices = local_devices(n, clone_on_cpu, span)
    return d


def per_update(spec, deploy: Deploy):
    """The spec as `steps_for` should see it: the examples of one global step as its batch."""
    import dataclasses

    n = deploy.examples_per_step(spec.batch_size)
    return spec if n == spec.batch_size else dataclasses.replace(spec, batch_size=n)


# graph -> the Deploy it was built for (not a graph collection: the event
# file's graph would try to serialise it).
_DEPLOYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session_config_for(graph, base):
    """`base`, plus what the graph's clones need (one CPU device per clone on logical CPUs)."""
    deploy = current(graph)
    return deploy.session_config(base) if deploy is not None else base


def current(graph) -> Deploy | None:
    """The Deploy a training graph was built for, when it has clones or replicas (else None)."""
    return _DEPLOYS.get(graph)


# ------------------------------------------------------------ clones ---


@dataclass
class Clones:
    net: object  # the first clone's
    end_points: dict
    heads: list  # the first clone's loss heads (summaries)
    total_loss: object
    update_ops: list | None  # None: every UPDATE_OPS (one clone, as before)
    model_vars: list


def build_clones(deploy: Deploy, images, labels: dict, build_one, *, regularization: bool, global_step) -> Clones:
    """The model and its losses on `images`/`labels` (a batch of batch_size * clones), model_deploy style.

    `build_one(images, labels) -> (net, end_points, heads)` builds one clone
    (the model and its loss heads, added to the LOSSES collection).
    """
    from ._tf import tf, tf1

    n = deploy.clones
    if n > 1 or deploy.distributed:
        _DEPLOYS[tf1.get_default_graph()] = deploy
    if n == 1:
        with deploy.scope(0):
            net, end_points, heads = build_one(images, labels)
        model_vars = [v for v in tf1.global_variables() if v is not global_step]
        total = tf1.losses.get_total_loss(add_regularization_losses=regularization) if model_vars else None
        return Clones(net, end_points, heads, total, None, model_vars)
    split_images = tf.split(images, n, axis=0, name="clone_images")
    split_labels = {k: tf.split(v, n, axis=0, name="clone_labels") for k, v in labels.items()}
    clone_losses = []
    first = None
    update_ops = None
    for i in range(n):
        with tf1.name_scope(f"clone_{i}") as scope, deploy.scope(i), \
                tf1.variable_scope(tf1.get_variable_scope(), reuse=True if i > 0 else None):
            out = build_one(split_images[i], {k: v[i] for k, v in split_labels.items()})
            if i == 0:
                first = out
                model_vars = [v for v in tf1.global_variables() if v is not global_step]
                update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS, scope)
                deploy.update_ops = update_ops
            losses = tf1.losses.get_losses(scope=scope)
            if not losses:
                continue
            loss = tf.math.divide(tf.add_n(losses), float(n), name="clone_loss")
            if i == 0 and regularization:
                reg = tf1.losses.get_regularization_losses()
                if reg:
                    loss = tf.add(loss, tf.add_n(reg, name="regularization_loss"), name="clone_loss_reg")
            clone_losses.append(loss)
    if not model_vars:
        return Clones(first[0], first[1], first[2], None, update_ops, model_vars)
    total = tf.add_n(clone_losses, name="total_loss")
    return Clones(first[0], first[1], first[2], total, update_ops, model_vars)


# ------------------------------------------------------------ the cluster ---


def start_server(deploy: Deploy, config, span=None):
    """This process's tf.distribute.Server (ps and trainers); a port in use is E372."""
    from ._tf import OpError, tf

    role = deploy.role
    try:
        deploy.server = tf.distribute.Server(tf.train.ClusterSpec(role.server_cluster()), job_name=role.job,
                                             task_index=role.index, protocol="grpc", config=config, start=True)
    except (OpError, ValueError) as e:
        msg = (getattr(e, "message", None) or str(e)).strip().splitlines()[0][:300]
        raise SlimError.single("E372", f"{role.name} cannot listen on {role.address}: {msg}", span,
                               ["note: another process may hold the port; each task needs its own host:port",
                                "help: free the port, or change this task's address in TF_CONFIG on every task"]) \
            from None
    return deploy.server


def wait_for_peers(deploy: Deploy, span=None, stream=None) -> None:
    """Wait (bounded) until the tasks this one needs accept connections: the ps tasks,
    and for a worker the chief.  A peer that never comes up is E371."""
    role = deploy.role
    need = [("ps", i) for i in range(role.ps_tasks)]
    if not role.is_chief and role.is_trainer:
        need.append(role.trainers[0])
    deadline = time.monotonic() + deploy.peer_timeout
    said = False
    for job, i in need:
        addr = role.cluster[job][i]
        host, _, port = addr.rpartition(":")
        while True:
            try:
                with socket.create_connection((host, int(port)), timeout=1.0):
                    break
            except OSError:
                if time.monotonic() >= deadline:
                    raise SlimError.single(
                        "E371", f"{job} {i} at {addr} did not come up within {deploy.peer_timeout:g} s", span,
                        [f"note: {role.name} needs it to start",
                         ("help: start that task (the same command with its TF_CONFIG), check the address, "
                          "or raise --peer-timeout")]) from None
                if not said and stream is not None:
                    print(f"waiting for {job} {i} at {addr} ...", file=stream, flush=True)
                    said = True
                time.sleep(0.25)


def peer_error(deploy: Deploy, e, span=None) -> SlimError:
    """A step failed because a peer went away (a ps killed, a network cut): E373."""
    # TensorFlow's message may open with a rule of '=' or name the task it came from first
    lines = [x.strip() for x in (getattr(e, "message", None) or str(e)).splitlines()
             if x.strip() and not set(x.strip()) <= set("=-") and not x.strip().startswith("From /job:")]
    msg = (lines[0] if lines else type(e).__name__)[:300]
    return SlimError.single(
        "E373", f"{deploy.role.name} lost its cluster: {type(e).__name__}: {msg}", span,
        ["note: a parameter server (or the chief) stopped or cannot be reached; this task stops too",
         "help: restart the stopped task, or the whole cluster: training resumes from the chief's last checkpoint"])


PEER_ERRORS = ("UnavailableError", "DeadlineExceededError", "AbortedError", "CancelledError")


def is_peer_error(e) -> bool:
    return type(e).__name__ in PEER_ERRORS


def wrap_optimizer(deploy: Deploy, opt):
    """SyncReplicasOptimizer around `opt` with --sync-replicas (replicas_to_aggregate of the
    training tasks' gradients make one update)."""
    if deploy is None or not (deploy.distributed and deploy.sync):
        return opt
    from ._tf import tf1

    deploy.sync_optimizer = tf1.train.SyncReplicasOptimizer(
        opt, replicas_to_aggregate=deploy.aggregate, total_num_replicas=deploy.replicas)
    return deploy.sync_optimizer


def done_ops(deploy: Deploy):
    """(enqueue on every ps, or None): the token a trainer leaves when it ends."""
    from ._tf import tf, tf1

    if not deploy.role.ps_tasks:
        return None
    ops = []
    for i in range(deploy.role.ps_tasks):
        with tf.device(f"/job:ps/task:{i}"):
            q = tf1.FIFOQueue(deploy.role.replicas, tf.int32, shapes=[], shared_name=f"{_DONE_QUEUE}_{i}",
                              name=f"done_queue_{i}")
            ops.append(q.enqueue(deploy.role.replica_index))
    return tf.group(*ops, name="signal_done")


def run_ps(deploy: Deploy, stream, config) -> int:
    """A parameter server: serve until every training task has left its token, then exit."""
    from ._tf import tf, tf1

    role = deploy.role
    start_server(deploy, config)
    print(f"{role.name} serving on {role.address}; exits when the {role.replicas} training task(s) finish",
          file=stream, flush=True)
    graph = tf.Graph()
    with graph.as_default(), tf.device(role.device):
        q = tf1.FIFOQueue(role.replicas, tf.int32, shapes=[], shared_name=f"{_DONE_QUEUE}_{role.index}",
                          name=f"done_queue_{role.index}")
        take = q.dequeue()
    # Only this task's devices: a ps must not wait for workers to serve them.
    cfg = tf1.ConfigProto(device_filters=[role.device])
    seen = set()
    with tf1.Session(deploy.server.target, graph=graph, config=cfg) as sess:
        while len(seen) < role.replicas:
            seen.add(int(sess.run(take)))
    # A trainer leaves its token just before it closes its session, and closing a cluster session
    # talks to every ps: serving a moment longer lets the last ones close cleanly (otherwise a
    # finished worker could wait out its close timeout and exit with an error).
    time.sleep(PS_LINGER_SECONDS)
    print(f"{role.name}: every training task finished; exiting", file=stream, flush=True)
    return 0


# ------------------------------------------------------------ a replica's run ---


def _say(stream, role: Role, msg: str) -> None:
    print(msg, file=stream, flush=True)


def train_replica(deploy: Deploy, graph, loop, *, spec, data, logdir, model_vars, fp, init_plan, init_saver, init_op,
                  global_step, it, feed, saver, train_op, summaries, lr, total, stream, model_name):
    """Run one training task of a cluster on the graph `loop.train` built; returns a TrainResult.

    The chief does what a one-process run does around the steps (the logdir
    lock, the fingerprint, resuming or init_from, checkpoints, summaries); the
    other workers wait (bounded) until the chief has initialised the variables
    on the parameter servers, then train.
    """
    from . import checkpoints
    from ._tf import session_config, tf, tf1

    role = deploy.role
    ld_span = spec.span_of("logdir")
    config = deploy.session_config(session_config())
    sync = deploy.sync_optimizer
    with graph.as_default(), deploy.scope():
        with tf.control_dependencies([train_op]):
            # global_step after this task's update: it stops every task at `total`
            # (in sync mode, the update its token came from).
            step_after = tf.identity(global_step, name="global_step_after")
        done = done_ops(deploy)
        local_init = tf1.local_variables_initializer()
        chief_qr = init_tokens = None
        if sync is not None:
            with tf.control_dependencies([local_init]):
                local_init = tf.group(sync.local_step_init_op)
            if role.is_chief:
                chief_qr = sync.get_chief_queue_runner()
                init_tokens = sync.get_init_tokens_op()
        if not role.is_chief:
            ready_op = tf1.report_uninitialized_variables(tf1.global_variables())
            ready_for_local = sync.ready_for_local_init_op if sync is not None else None

    start_server(deploy, config, ld_span)
    wait_for_peers(deploy, ld_span, stream)
    if not role.is_chief:
        sm = tf1.train.SessionManager(local_init_op=local_init, ready_op=ready_op,
                                      ready_for_local_init_op=ready_for_local, graph=graph, recovery_wait_secs=0.5)
        _say(stream, role, f"{role.name}: waiting for the chief to initialise the variables")
        sess = sm.wait_for_session(deploy.target, config=config, max_wait_secs=deploy.peer_timeout)
        if sess is None:
            raise SlimError.single(
                "E371", f"the chief ({role.trainers[0][0]} {role.trainers[0][1]}) did not initialise the variables "
                f"within {deploy.peer_timeout:g} s", ld_span,
                ["help: check the chief's log; raise --peer-timeout if it restores a large checkpoint"])
        finished = None
        try:
            graph.finalize()
            with graph.as_default():
                result = _steps(deploy, sess, loop, spec=spec, data=data, logdir=logdir, saver=None, writer=None,
                                train_op=train_op, summaries=summaries, lr=lr, global_step=global_step,
                                step_after=step_after, it=it, feed=feed, total=total, stream=stream, done=done,
                                model_name=model_name)
            finished = 130 if result.interrupted else 0
            return result
        finally:
            _close(sess, finished)

    # One chief per logdir: a second one (a mistyped TF_CONFIG) is E352 here.
    model_span = spec.model.span if spec.model.span.source else spec.span
    with checkpoints.claimed(logdir, ld_span, fp, model_span, data.class_names) as cands:
        notes: list = []
        sess = tf1.Session(deploy.target, graph=graph, config=config)
        coord = tf1.train.Coordinator()
        threads = []
        finished = None
        try:
            with graph.as_default():
                sess.run(init_op)
                resumed = None
                if cands:
                    resumed = loop._resume(sess, graph, cands, model_vars, fp, logdir, spec, stream, notes)
                    saver.recover_last_checkpoints(list(reversed(checkpoints.candidates(logdir))))
                else:
                    _say(stream, role, f"no checkpoint in {logdir}; starting at step 0")
                    if init_plan is not None:
                        init_saver.restore(sess, init_plan.checkpoint)
                        _say(stream, role, f"initialised {init_plan.count('restore')} variables from "
                             f"{init_plan.checkpoint}")
                if sync is not None:
                    sess.run(local_init)
                    sess.run(init_tokens)
                    threads = chief_qr.create_threads(sess, coord=coord, daemon=True, start=True)
            graph.finalize()
            with graph.as_default(), loop._EventLog(logdir, None) as writer:
                result = _steps(deploy, sess, loop, spec=spec, data=data, logdir=logdir, saver=saver, writer=writer,
                                train_op=train_op, summaries=summaries, lr=lr, global_step=global_step,
                                step_after=step_after, it=it,
                                feed=feed, total=total, stream=stream, done=done, model_name=model_name)
            result.resumed_from = resumed
            result.notes = notes
            finished = 130 if result.interrupted else 0
            return result
        finally:
            coord.request_stop()
            _close(sess, finished)  # cancels the queue runner's pending take_grad
            coord.join(threads, stop_grace_period_secs=5, ignore_live_threads=True)


def _close(sess, finished: int | None = None, secs: float = 10.0) -> None:
    """Close a cluster session, bounded: closing one whose parameter server died blocks in
    gRPC indefinitely.  Then the process exits, since TensorFlow's runtime could not shut down
    either: with the run's own status when it had finished (`finished`: its steps done, its
    token left, the chief's last checkpoint written; the parameter servers, told that every
    trainer is done, may exit before a last close reaches them), else with the error being
    raised (E373), printed here."""
    import threading

    t = threading.Thread(target=sess.close, daemon=True, name="slimlang-session-close")
    t.start()
    t.join(secs)
    if not t.is_alive():
        return
    err = sys.exc_info()[1]
    if finished is not None and err is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(finished)
    if isinstance(err, SlimError):
        print(err.render(), file=sys.stderr, flush=True)
    else:
        print("error: the cluster session could not be closed (a parameter server stopped?)", file=sys.stderr,
              flush=True)
    os._exit(1)


class _Watchdog:
    """Ends the process with E373 when one step waits on the cluster longer than the peer timeout.

    RunOptions.timeout_in_ms bounds most waits, but a step whose parameter
    server died can stay blocked in gRPC's reconnection attempts past it;
    nothing in the process can then interrupt the step, so the error is
    printed from here and the process exits (status 1).
    """

    def __init__(self, deploy: Deploy, spec, stream):
        import threading

        self.deploy, self.spec, self.stream = deploy, spec, stream
        self.started = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="slimlang-peer-watchdog")
        self.thread.start()

    def __enter__(self):
        self.started = time.monotonic()

    def __exit__(self, *exc):
        self.started = None
        return False

    def _watch(self):
        limit = self.deploy.peer_timeout + 5.0
        while True:
            time.sleep(1.0)
            t = self.started
            if t is not None and time.monotonic() - t > limit:
                role = self.deploy.role
                err = SlimError.single(
                    "E373", f"{role.name} lost its cluster: a step waited more than {limit:g} s on it",
                    self.spec.span_of("logdir"),
                    ["note: a parameter server (or, with --sync-replicas, another worker) stopped or cannot be "
                     "reached; this task stops too",
                     "help: restart the stopped task, or the whole cluster: training resumes from the chief's last "
                     "checkpoint"])
                print(err.render(), file=sys.stderr, flush=True)
                os._exit(1)


def _steps(deploy: Deploy, sess, loop, *, spec, data, logdir, saver, writer, train_op, summaries, lr, global_step,
           step_after, it, feed, total, stream, done, model_name):
    """The steps of one training task, until global_step reaches `total`."""
    import math
    import pathlib

    from . import checkpoints
    from ._tf import OpError, tf
    from .build import runtime_error
    from .spec import save_policy

    role = deploy.role
    summary_tags, scalars = summaries
    call = sess.make_callable([train_op, lr] + list(scalars) + [step_after], accept_options=True)
    options = tf.compat.v1.RunOptions(timeout_in_ms=int(deploy.peer_timeout * 1000))
    watchdog = _Watchdog(deploy, spec, stream)

    def step_fn():
        with watchdog:
            return call(options=options)

    start = step = int(sess.run(global_step))
    if step >= total:
        _say(stream, role, f"{role.name}: global_step is {step} of {total}; nothing to do")
        if done is not None:
            sess.run(done)
        return loop.TrainResult(str(logdir), step, step, total, None, 0.0, 0.0, None)
    sess.run(it.initializer, feed_dict=feed)
    mode = ("synchronous, " + f"{deploy.aggregate} of {deploy.replicas} per update") if deploy.sync else "asynchronous"
    _say(stream, role, f"{role.name}: training {model_name or 'the model'} on shard {role.replica_index} of "
         f"{role.replicas} of {data.describe()}: global steps {start}..{total}, batch {spec.batch_size}"
         f"{f' x {deploy.clones} clones' if deploy.clones > 1 else ''}, {mode}")
    save_secs, save_steps = save_policy(spec, total)
    prefix = str(logdir / checkpoints.PREFIX)
    last_saved = None
    t0 = last_save_t = last_sum_t = last_log_t = time.monotonic()
    mine = 0
    loss = None

    def save(s):
        nonlocal last_saved, last_save_t
        if saver is None:
            return None
        before = checkpoints.files_of_step(logdir, s)
        try:
            last_saved = saver.save(sess, prefix, global_step=s, write_meta_graph=False)
        except (OpError, OSError, ValueError) as e:
            checkpoints.remove_new_files(logdir, s, before)
            raise loop._save_error(e, spec, logdir, s) from None
        last_save_t = time.monotonic()
        return last_saved

    def crossed(prev, now, every):
        return bool(every) and now // every > prev // every

    interrupted = None
    with loop._Stop() as stop:
        try:
            while step < total:
                try:
                    out = step_fn()
                except tf.errors.InvalidArgumentError as e:
                    if "LossTensor is inf or nan" in e.message:
                        raise loop._nan(spec, step + 1, last_saved, logdir) from None
                    raise runtime_error(e, data, spec, step) from None
                except OpError as e:
                    if is_peer_error(e):
                        raise peer_error(deploy, e, spec.span_of("logdir")) from None
                    raise runtime_error(e, data, spec, step) from None
                prev, step = step, int(out[-1])
                mine += 1
                loss = float(out[0])
                if not math.isfinite(loss):
                    raise loop._nan(spec, step, last_saved, logdir)
                now = time.monotonic()
                if writer is not None and (crossed(prev, step, spec.save_summaries_steps) or step >= total or (
                        spec.save_summaries_secs and now - last_sum_t >= spec.save_summaries_secs)):
                    writer.add_summary(loop._scalar_summary(summary_tags, out), step)
                    last_sum_t = now
                if now - last_log_t >= 2.0 or step >= total or mine == 1:
                    last_log_t = now
                    sps = mine / (now - t0) if now > t0 else 0.0
                    _say(stream, role, f"step {step}/{total}  loss {loss:.4f}  lr {float(out[1]):.3g}  "
                         f"{sps:.1f} steps/s ({role.name})")
                if step < total and (crossed(prev, step, save_steps)
                                     or (save_secs and now - last_save_t >= save_secs)):
                    save(step)
                if stop.requested:
                    interrupted = stop.requested
                    break
        except KeyboardInterrupt:
            interrupted = "SIGINT"
    elapsed = time.monotonic() - t0
    if saver is not None:
        try:
            final = int(sess.run(global_step))
        except OpError as e:
            raise peer_error(deploy, e, spec.span_of("logdir")) from None
        if last_saved is None or checkpoints.checkpoint_step(last_saved) != final:
            save(final)
    sps = mine / elapsed if elapsed > 0 else 0.0
    where = f"checkpoint {last_saved}" if saver is not None else "the chief writes the checkpoints"
    if interrupted:
        _say(stream, role, f"{role.name} stopped by {interrupted} at step {step}"
             + (f"; saved {pathlib.Path(last_saved).name}" if last_saved else ""))
    else:
        _say(stream, role, f"{role.name} trained {mine} steps (global step {start}..{step}) in {elapsed:.1f} s "
             f"({sps:.1f} steps/s, {sps * spec.batch_size * deploy.clones:.0f} examples/s), loss "
             f"{loss if loss is None else round(loss, 4)}; {where}")
        if done is not None:
            try:
                sess.run(done)
            except OpError as e:
                # The ps is gone already: nothing waits for this token.
                _say(stream, role, f"note: could not tell the parameter servers that {role.name} finished: "
                     f"{type(e).__name__}: {(e.message or '').strip().splitlines()[0][:200] if e.message else ''}")
    return loop.TrainResult(str(logdir), step, start, total, loss, elapsed, sps, last_saved,
                            interrupted=bool(interrupted))


# ------------------------------------------------------------ continuous evaluation ---


def watch(spec, model_fn, logdir, *, final_step: int | None, timeout: float | None, stream, model_name=None,
          data=None, batch_size=None, poll_secs: float = 1.0) -> list:
    """slim.evaluation.evaluation_loop's semantics: evaluate each new checkpoint of `logdir` as it
    appears, write its metrics as summaries under LOGDIR/eval, and stop after the checkpoint of
    `final_step` or when no new checkpoint came for `timeout` seconds.  Returns the results."""
    import pathlib

    from . import checkpoints
    from ._tf import tf1
    from .evaluation import evaluate

    logdir = pathlib.Path(logdir)
    seen: set = set()
    results = []
    last_new = time.monotonic()
    print(f"watching {logdir} for new checkpoints"
          + (f" until step {final_step}" if final_step else "")
          + (f" (at most {timeout:g} s between two)" if timeout else ""), file=stream, flush=True)
    writer = None
    try:
        while True:
            cands = checkpoints.candidates(logdir) if logdir.is_dir() else []
            new = cands[0] if cands and cands[0] not in seen else None
            if new is not None:
                seen.add(new)
                try:
                    result = evaluate(spec, model_fn, checkpoint=new, batch_size=batch_size, model_name=model_name,
                                      data=data)
                except SlimError as e:
                    if checkpoints.candidates(logdir) and checkpoints.candidates(logdir)[0] != new:
                        continue  # removed by keep_checkpoints while it was read: take the newer one
                    raise e from None
                results.append(result)
                last_new = time.monotonic()
                if writer is None:
                    (logdir / "eval").mkdir(parents=True, exist_ok=True)
                    with tf1.Graph().as_default():  # the TF1 writer refuses to start in eager mode
                        writer = tf1.summary.FileWriter(str(logdir / "eval"))
                writer.add_summary(tf1.Summary(value=[tf1.Summary.Value(tag=f"eval/{k}", simple_value=float(v))
                                                      for k, v in result.metrics.items()]), result.step or 0)
                writer.flush()
                print(f"{pathlib.Path(new).name} (step {result.step}): "
                      + "  ".join(result.lines()), file=stream, flush=True)
                if final_step is not None and (result.step or 0) >= final_step:
                    break
                continue
            if timeout is not None and time.monotonic() - last_new >= timeout:
                print(f"no new checkpoint in {logdir} for {timeout:g} s; stopping", file=stream, flush=True)
                break
            time.sleep(poll_secs)
    finally:
        if writer is not None:
            writer.close()
    return results
