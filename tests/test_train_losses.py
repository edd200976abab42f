"""Train: every loss, optimizer and schedule builds and computes what it says."""

import math

import numpy as np
import pytest

from slimlang.diagnostics import SlimError
from slimlang.trainspec import build_spec, setting

tf = pytest.importorskip("slimlang.tfcompat").tf
tf1 = tf.compat.v1

from slimlang.training import register_loss, unregister_loss
from slimlang.training.data import open_data
from slimlang.training.losses import build_losses
from slimlang.training.optim import learning_rate, make_train_op


def model(inputs, num_classes=3, is_training=True):
    return inputs


@pytest.fixture
def npz(tmp_path):
    rng = np.random.RandomState(0)
    n = 8
    np.savez(tmp_path / "d.npz", images=rng.rand(n, 4).astype(np.float32),
             labels=np.array([0, 1, 2, 0, 1, 2, 0, 1], np.int64),
             onehot=np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2, 0, 1]],
             target=rng.rand(n, 3).astype(np.float32), big=np.arange(n, dtype=np.int64),
             pair=rng.rand(n, 2).astype(np.float32), scores=rng.randn(n, 3).astype(np.float32) * 5)
    return tmp_path / "d.npz"


def spec_with(npz, *loss_settings, **more):
    settings = [setting("data", "npz", str(npz))] + list(loss_settings)
    settings += [setting(k, *(v if isinstance(v, tuple) else (v,))) for k, v in more.items()]
    return build_spec(settings, {"model": model})


def run_losses(spec, logits, end_points=None):
    """Build spec's losses on fixed logits [8, 3] and the npz labels; returns {name: value}, total."""
    data = open_data(spec.data)
    with tf.Graph().as_default():
        labels = {k: tf.constant(v) for k, v in data.arrays.items() if k != "__images__"}
        net = tf.constant(logits)
        eps = {k: tf.constant(v) for k, v in (end_points or {}).items()}
        heads = build_losses(spec.losses, net, eps, labels, data)
        total = tf1.losses.get_total_loss(add_regularization_losses=False)
        with tf1.Session() as s:
            values, t = s.run(([h.value for h in heads], total))
    return {h.spec.name: v for h, v in zip(heads, values)}, t


LOGITS = np.random.RandomState(1).randn(8, 3).astype(np.float32)
SPARSE = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def softmax_xent(logits, onehot):
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-(onehot * logp).sum(1).mean())


def test_softmax_cross_entropy_sparse_onehot_and_smoothing(npz):
    onehot = np.eye(3)[SPARSE]
    v, _ = run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy")), LOGITS)
    assert v["softmax_cross_entropy"] == pytest.approx(softmax_xent(LOGITS, onehot), rel=1e-5)
    v, _ = run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", labels="onehot")), LOGITS)
    assert v["softmax_cross_entropy"] == pytest.approx(softmax_xent(LOGITS, onehot), rel=1e-5)
    v, _ = run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", label_smoothing=0.3)), LOGITS)
    smooth = onehot * 0.7 + 0.1
    assert v["softmax_cross_entropy"] == pytest.approx(softmax_xent(LOGITS, smooth), rel=1e-5)


def test_regression_and_multilabel_losses_match_numpy(npz):
    target = np.load(npz)["target"]
    onehot = np.eye(3)[SPARSE]
    sig = 1 / (1 + np.exp(-LOGITS))
    d = LOGITS - target
    cases = {
        "mean_squared_error": float(np.mean(d ** 2)),
        "absolute_difference": float(np.mean(np.abs(d))),
        "huber": float(np.mean(np.where(np.abs(d) <= 1, 0.5 * d ** 2, np.abs(d) - 0.5))),
    }
    for kind, want in cases.items():
        v, _ = run_losses(spec_with(npz, setting("loss", kind, labels="target")), LOGITS)
        assert v[kind] == pytest.approx(want, rel=1e-5), kind
    v, _ = run_losses(spec_with(npz, setting("loss", "sigmoid_cross_entropy", labels="onehot")), LOGITS)
    want = float(np.mean(np.maximum(LOGITS, 0) - LOGITS * onehot + np.log1p(np.exp(-np.abs(LOGITS)))))
    assert v["sigmoid_cross_entropy"] == pytest.approx(want, rel=1e-5)
    # integer labels are one-hot encoded for a sigmoid head
    v2, _ = run_losses(spec_with(npz, setting("loss", "sigmoid_cross_entropy")), LOGITS)
    assert v2["sigmoid_cross_entropy"] == pytest.approx(want, rel=1e-5)
    v, _ = run_losses(spec_with(npz, setting("loss", "log_loss", labels="onehot", from_logits=True)), LOGITS)
    want = float(np.mean(-onehot * np.log(sig + 1e-7) - (1 - onehot) * np.log(1 - sig + 1e-7)))
    assert v["log_loss"] == pytest.approx(want, rel=1e-4)
    v, _ = run_losses(spec_with(npz, setting("loss", "hinge", labels="onehot")), LOGITS)
    assert v["hinge"] == pytest.approx(float(np.mean(np.maximum(0, 1 - (2 * onehot - 1) * LOGITS))), rel=1e-5)
    v, _ = run_losses(spec_with(npz, setting("loss", "cosine_distance", labels="target")), LOGITS)
    a = LOGITS / np.linalg.norm(LOGITS, axis=1, keepdims=True)
    b = target / np.linalg.norm(target, axis=1, keepdims=True)
    assert v["cosine_distance"] == pytest.approx(float(np.mean(1 - (a * b).sum(1))), rel=1e-4)


def test_weights_and_several_losses_sum_into_the_total(npz):
    spec = spec_with(npz, setting("loss", "softmax_cross_entropy", on="cls", name="a"),
                     setting("loss", "mean_squared_error", on="reg", labels="target", weight=0.25, name="b"))
    target = np.load(npz)["target"]
    v, total = run_losses(spec, LOGITS, {"net/cls": LOGITS, "net/reg": LOGITS * 2})
    assert v["b"] == pytest.approx(float(np.mean((LOGITS * 2 - target) ** 2)), rel=1e-5)
    assert total == pytest.approx(v["a"] + 0.25 * v["b"], rel=1e-5)


def test_custom_registered_loss_gets_options_and_weight(npz):
    seen = {}

    def scaled_l1(predictions, labels, scale=1.0):
        seen["scale"] = scale
        return scale * tf.reduce_mean(tf.abs(predictions - tf.cast(labels, tf.float32)))

    register_loss("scaled_l1_test", scaled_l1)
    try:
        spec = spec_with(npz, setting("loss", "scaled_l1_test", labels="target", scale=3.0, weight=2.0))
        v, total = run_losses(spec, LOGITS)
    finally:
        unregister_loss("scaled_l1_test")
    want = 3.0 * float(np.mean(np.abs(LOGITS - np.load(npz)["target"])))
    assert seen["scale"] == 3.0 and v["scaled_l1_test"] == pytest.approx(want, rel=1e-5)
    assert total == pytest.approx(2 * want, rel=1e-5)


def test_custom_loss_failure_is_located(npz):
    register_loss("broken_test", lambda p, l: 1 / 0)
    try:
        with pytest.raises(SlimError) as ei:
            run_losses(spec_with(npz, setting("loss", "broken_test")), LOGITS)
    finally:
        unregister_loss("broken_test")
    assert ei.value.first.code == "E345" and "ZeroDivisionError" in ei.value.first.message


def test_label_errors_are_caught_before_training(npz):
    with pytest.raises(SlimError) as ei:  # labels 0..7 but 3 classes
        run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", labels="big")), LOGITS)
    e = ei.value.first
    assert e.code == "E323" and "labels must be 0..2" in e.message and "7" in e.message
    with pytest.raises(SlimError) as ei:
        run_losses(spec_with(npz, setting("loss", "mean_squared_error")), LOGITS[:, :2])
    assert ei.value.first.code == "E327"
    with pytest.raises(SlimError) as ei:
        run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", labels="pair")), LOGITS)
    assert ei.value.first.code == "E327" and "one-hot [3]" in ei.value.first.message
    with pytest.raises(SlimError) as ei:  # [3] per example but not probabilities
        run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", labels="scores")), LOGITS)
    assert ei.value.first.code == "E327" and "0..1" in ei.value.first.message
    with pytest.raises(SlimError) as ei:
        run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", on="logitz")), LOGITS,
                   {"net/logits": LOGITS})
    assert ei.value.first.code == "E326" and "help: did you mean `logits`?" in ei.value.first.notes
    with pytest.raises(SlimError) as ei:
        run_losses(spec_with(npz, setting("loss", "mse", labels="nope")), LOGITS)
    assert ei.value.first.code == "E321"


def test_end_point_suffix_and_conv_logits_squeeze(npz):
    four_d = LOGITS.reshape(8, 1, 1, 3)
    v, _ = run_losses(spec_with(npz, setting("loss", "softmax_cross_entropy", on="fc8")), LOGITS,
                      {"vgg_16/fc8": four_d})
    assert v["softmax_cross_entropy"] == pytest.approx(softmax_xent(LOGITS, np.eye(3)[SPARSE]), rel=1e-5)


# ---------------------------------------------------------------- optimizers ---


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adadelta"])
def test_every_optimizer_takes_a_step(npz, kind):
    spec = spec_with(npz, setting("loss", "mean_squared_error", labels="target"), setting("optimizer", kind, lr=0.1),
                     clip_gradients=1.0, steps=10)
    with tf.Graph().as_default():
        gs = tf1.train.get_or_create_global_step()
        w = tf1.get_variable("w", [4, 3], initializer=tf1.ones_initializer())
        x = tf.constant(np.load(npz)["images"])
        pred = tf.matmul(x, w)
        tf1.losses.mean_squared_error(tf.constant(np.load(npz)["target"]), pred)
        op, lr, train_vars = make_train_op(spec, tf1.losses.get_total_loss(), gs, 10)
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            before = s.run(w)
            losses = [s.run(op) for _ in range(3)]
            assert s.run(gs) == 3 and not np.allclose(before, s.run(w))
    assert losses[-1] < losses[0]


def test_trainable_scopes_freeze_the_rest(npz):
    spec = spec_with(npz, setting("loss", "mse"), setting("trainable", "head"), setting("optimizer", "sgd", lr=0.5))
    with tf.Graph().as_default():
        gs = tf1.train.get_or_create_global_step()
        with tf1.variable_scope("body"):
            a = tf1.get_variable("w", [], initializer=tf1.ones_initializer())
        with tf1.variable_scope("head"):
            b = tf1.get_variable("w", [], initializer=tf1.ones_initializer())
        tf1.losses.add_loss(tf.square(a * b - 3.0))
        op, _, train_vars = make_train_op(spec, tf1.losses.get_total_loss(), gs, 10)
        assert train_vars == [b]
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            s.run(op)
            assert s.run(a) == 1.0 and s.run(b) != 1.0
    bad = spec_with(npz, setting("loss", "mse"), setting("trainable", "haed"))
    with tf.Graph().as_default():
        gs = tf1.train.get_or_create_global_step()
        with tf1.variable_scope("head"):
            b = tf1.get_variable("w", [], initializer=tf1.ones_initializer())
        tf1.losses.add_loss(tf.square(b))
        with pytest.raises(SlimError) as ei:
            make_train_op(bad, tf1.losses.get_total_loss(), gs, 10)
    assert ei.value.first.code == "E333" and "help: did you mean `head`?" in ei.value.first.notes


# ---------------------------------------------------------------- schedules ---


def lr_at(spec, steps, total=100):
    with tf.Graph().as_default():
        step = tf1.placeholder(tf.int64, [])
        lr = learning_rate(spec.schedule, spec.optimizer, step, total)
        with tf1.Session() as s:
            return [float(s.run(lr, {step: k})) for k in steps]


def sched(npz, kind, lr=0.1, **opts):
    """A section of 100 steps (the length `polynomial` and `cosine` decay over by default)."""
    return spec_with(npz, setting("loss", "mse"), setting("optimizer", "sgd", lr=lr), setting("schedule", kind, **opts),
                     steps=100)


def test_schedules(npz):
    assert lr_at(sched(npz, "constant"), [0, 50]) == pytest.approx([0.1, 0.1])
    assert lr_at(sched(npz, "exponential", decay_steps=10, decay_rate=0.5), [0, 10, 15]) == pytest.approx(
        [0.1, 0.05, 0.1 * 0.5 ** 1.5], rel=1e-5)
    assert lr_at(sched(npz, "exponential", decay_steps=10, decay_rate=0.5, staircase=True), [15]) == pytest.approx(
        [0.05], rel=1e-5)
    assert lr_at(sched(npz, "piecewise", boundaries=[10, 20], values=[1.0, 0.5, 0.1]), [0, 10, 11, 21]) == \
        pytest.approx([1.0, 1.0, 0.5, 0.1])
    assert lr_at(sched(npz, "polynomial", end_lr=0.0), [0, 50, 100]) == pytest.approx([0.1, 0.05, 0.0], abs=1e-6)
    assert lr_at(sched(npz, "cosine"), [0, 50, 100]) == pytest.approx([0.1, 0.05, 0.0], abs=1e-6)
    # warm-up: a linear ramp to the rate at the end of the warm-up, then the cosine over the rest
    got = lr_at(sched(npz, "cosine", warmup_steps=10), [0, 4, 9, 10, 55, 100])
    assert got == pytest.approx([0.01, 0.05, 0.1, 0.1, 0.05, 0.0], abs=1e-6)
    got = lr_at(sched(npz, "constant", warmup_steps=4), [0, 1, 3, 4])
    assert got == pytest.approx([0.025, 0.05, 0.1, 0.1])
    assert all(math.isfinite(x) for x in lr_at(sched(npz, "polynomial", power=2.0, cycle=True, decay_steps=10),
                                               [0, 25, 99]))
