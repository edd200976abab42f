"""Clones (model_deploy semantics) and the parsing of TF_CONFIG and --local-cluster (issue 15).

The cluster runs themselves are in test_distributed_cluster.py.
"""

import argparse
import json
import subprocess
import sys
import textwrap

import pytest

from slimlang.diagnostics import UsageError
from slimlang.training import cluster, distributed
from slimlang.trainspec import build_spec, setting

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

# Runs in its own process: logical CPU devices must be configured before
# TensorFlow initialises its runtime, which other tests of this process do.
CLONES_PROBE = textwrap.dedent("""
    import json, pathlib, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from slimlang.tfcompat import slim
    from slimlang.training import distributed, train
    from slimlang.trainspec import build_spec, setting
    tf1 = tf.compat.v1
    digits, out = sys.argv[1], pathlib.Path(sys.argv[2])

    def mlp(inputs, num_classes=10, is_training=True):  # no batch norm: clones and one batch must agree
        with slim.arg_scope([slim.fully_connected], weights_regularizer=slim.l2_regularizer(1e-3)):
            net = slim.fully_connected(slim.flatten(inputs), 16, scope="fc1")
            return slim.fully_connected(net, num_classes, activation_fn=None, scope="logits"), {}

    with tf.Graph().as_default():
        mlp(tf1.placeholder(tf.float32, [None, 8, 8, 1]))
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            init = tf1.train.Saver().save(s, str(out / "init" / "model.ckpt-0"), write_meta_graph=False)

    def spec(batch):
        return build_spec([setting("data", "npz", digits, validation=0.2, seed=1),
                           setting("loss", "softmax_cross_entropy"), setting("optimizer", "momentum", lr=0.5),
                           setting("batch_size", batch), setting("steps", 1), setting("init_from", init)],
                          {"mlp": mlp})

    after = {}
    for clones, batch in ((1, 64), (2, 32)):
        d = distributed.deploy_for(spec(batch), clones=clones, env={})
        r = train(spec(batch), mlp, logdir=str(out / f"c{clones}"), progress=False, deploy=d)
        after[clones] = {n: tf.train.load_variable(r.checkpoint, n) for n, _ in tf.train.list_variables(r.checkpoint)}
    before = {n: tf.train.load_variable(init, n) for n, _ in tf.train.list_variables(init)}

    # where model_deploy would put things: the clones' ops on their devices, variables on the CPU
    d = distributed.deploy_for(spec(32), clones=2, env={})
    g = tf.Graph()
    with g.as_default(), d.scope():
        images = tf1.placeholder(tf.float32, [64, 8, 8, 1])
        labels = {"labels": tf1.placeholder(tf.int64, [64])}

        def one(x, y):
            net, ep = mlp(x)
            tf1.losses.sparse_softmax_cross_entropy(y["labels"], net)
            return net, ep, []

        built = distributed.build_clones(d, images, labels, one, regularization=True, global_step=None)
    ops = {o.name: o.device for o in g.get_operations()}
    print(json.dumps({
        "devices": d.devices,
        "diff": max(float(np.max(np.abs(after[1][n] - after[2][n]))) for n in before),
        "moved": max(float(np.max(np.abs(after[1][n] - before[n]))) for n in before),
        "names": sorted(after[2]),
        "fc1_weights": ops["fc1/weights"],
        "clone_1_matmul": ops["clone_1/fc1/MatMul"],
        "clone_0_matmul": ops["clone_0/fc1/MatMul"],
        "regularization_in": sorted({k.split("/")[0] for k in ops if k.endswith("regularization_loss")}),
    }))
""")


@pytest.mark.slow
def test_one_step_of_two_clones_equals_one_clone_at_twice_the_batch(tmp_path):
    from pathlib import Path

    digits = str(Path(__file__).resolve().parent.parent / "examples" / "data" / "digits.npz")
    proc = subprocess.run([sys.executable, "-c", CLONES_PROBE, digits, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert got["moved"] > 1e-3  # the step changed the weights ...
    assert got["diff"] < 1e-5  # ... the same way with 2 clones of 32 as with 1 of 64
    # variables named as without clones, so checkpoints are interchangeable
    assert [n for n in got["names"] if not n.endswith("/Momentum")] == [
        "fc1/biases", "fc1/weights", "global_step", "logits/biases", "logits/weights"]
    assert got["fc1_weights"].endswith("CPU:0")
    assert got["clone_0_matmul"].endswith("CPU:0") and got["clone_1_matmul"].endswith("CPU:1")
    assert got["regularization_in"] == ["clone_0"]  # counted once, in the first clone's loss


def test_clones_setting_and_batch_per_clone():
    spec = build_spec([setting("data", "npz", "x.npz"), setting("loss", "softmax_cross_entropy"),
                       setting("steps", 10), setting("clones", 3)], {"m": lambda x: x})
    assert spec.clones == 3
    d = distributed.Deploy(clones=3)
    assert d.examples_per_step(32) == 96
    assert distributed.per_update(spec, d).batch_size == spec.batch_size * 3


CLUSTER = {"worker": ["127.0.0.1:1", "127.0.0.1:2"], "ps": ["127.0.0.1:3"], "evaluator": ["127.0.0.1:4"]}


def env(task, cluster=CLUSTER):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": task})}


def test_tf_config_roles():
    assert distributed.role_from_env({}) is None
    assert distributed.role_from_env({"TF_CONFIG": '{"cluster": {}, "task": {}}'}) is None
    w0 = distributed.role_from_env(env({"type": "worker", "index": 0}))
    w1 = distributed.role_from_env(env({"type": "worker", "index": 1}))
    ps = distributed.role_from_env(env({"type": "ps", "index": 0}))
    assert w0.is_chief and not w1.is_chief and not ps.is_trainer
    assert (w1.replicas, w1.replica_index, w1.ps_tasks) == (2, 1, 1)
    assert "evaluator" not in w0.server_cluster()
    with_chief = dict(CLUSTER, chief=["127.0.0.1:5"])
    c = distributed.role_from_env(env({"type": "chief", "index": 0}, with_chief))
    w0c = distributed.role_from_env(env({"type": "worker", "index": 0}, with_chief))
    assert c.is_chief and not w0c.is_chief and c.replicas == 3 and w0c.replica_index == 1


@pytest.mark.parametrize("raw, says", [
    ("{not json", "is not JSON"),
    ('{"cluster": {"wokrer": ["a:1"]}, "task": {"type": "wokrer"}}', "did you mean `worker`"),
    ('{"cluster": {"worker": ["a:1"]}}', "has no \"task\""),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "out of range"),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker"}}', "host:port"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps"}}', "nothing would train"),
    ('{"cluster": {"chief": ["a:1", "b:2"]}, "task": {"type": "chief"}}', "more than one chief"),
])
def test_tf_config_mistakes_are_usage_errors(raw, says):
    with pytest.raises(UsageError, match=says.replace("(", r"\(")):
        distributed.role_from_env({"TF_CONFIG": raw})


def test_local_cluster_spec():
    assert cluster.parse_local_cluster("workers=2,ps=1") == {"worker": 2, "ps": 1, "evaluator": 0}
    assert cluster.parse_local_cluster("workers=3, ps=2, evaluator=1")["evaluator"] == 1
    for bad, says in (("workers=2", "ps=1 or more"), ("wrokers=2,ps=1", "did you mean `workers`"),
                      ("workers=two,ps=1", "whole number"), ("ps=1", "workers=1 or more"),
                      ("workers=2,ps=1,evaluator=2", "0 or 1"), ("workers", "KEY=N")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            cluster.parse_local_cluster(bad)
    cfg = cluster.local_cluster_config({"worker": 2, "ps": 1, "evaluator": 1})
    addrs = [a for v in cfg.values() for a in v]
    assert len(set(addrs)) == 4 and all(a.startswith("127.0.0.1:") for a in addrs)


def test_sync_replicas_needs_a_cluster():
    spec = build_spec([setting("data", "npz", "x.npz"), setting("loss", "softmax_cross_entropy"),
                       setting("steps", 10)], {"m": lambda x: x})
    with pytest.raises(UsageError, match="--sync-replicas needs a cluster"):
        distributed.deploy_for(spec, sync=True, env={})
    with pytest.raises(UsageError, match="--peer-timeout needs a cluster"):  # it was ignored
        distributed.deploy_for(spec, peer_timeout=5.0, env={})
    with pytest.raises(UsageError, match="more than the cluster's 2 training tasks"):
        distributed.deploy_for(spec, sync=True, replicas_to_aggregate=3, env=env({"type": "worker", "index": 1}))


def test_emit_train_refuses_clones_at_the_setting(tmp_path):
    from slimlang.checker import check_file
    from slimlang.diagnostics import SlimError
    from slimlang.emit import emit_module

    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    src = (root / "examples" / "digits.slim").read_text()
    src = src.replace('"data/digits.npz"', f'"{root}/examples/data/digits.npz"').replace("  steps 1500\n",
                                                                                        "  steps 1500\n  clones 2\n")
    path = tmp_path / "clones.slim"
    path.write_text(src)
    with pytest.raises(SlimError) as ei:
        emit_module(check_file(str(path)), train=True)
    d = ei.value.diagnostics[0]
    assert d.code == "E520" and "model_deploy" in d.message
    assert src.splitlines()[d.span.line - 1].strip() == "clones 2"
    emit_module(check_file(str(path)), train=False)  # the model alone is emitted as ever
