"""Convolution gradients (slimlang/gradients.py): every form slimlang builds, both rule tables
(oneDNN's and Eigen's kernels), equal to TensorFlow's own gradients; a training run's loss
curve equal to the run with TensorFlow's gradients; the switches."""

import glob
import os

import numpy as np
import pytest

import slimlang
from slimlang import gradients
from slimlang.trainspec import build_spec, setting

tfc = pytest.importorskip("slimlang.tfcompat")
tf, slim = tfc.tf, tfc.slim
tf1 = tf.compat.v1

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS = os.path.join(ROOT, "examples", "data", "digits.npz")


def _random_forms(seed: int, n: int):
    """(form, H, W, C, O, kernel, stride, padding) cases on random shapes, every form and
    geometry (odd/even kernels, strides 1-3, SAME/VALID, maps from 1x1 up, non-square)."""
    rng = np.random.RandomState(seed)
    fixed = [("conv", 2, 2, 16, 16, 3, 1, "SAME"), ("conv", 4, 4, 8, 24, 1, 1, "SAME"),
             ("conv", 5, 4, 8, 24, 1, 2, "SAME"), ("conv", 9, 9, 3, 4, 3, 2, "VALID"),
             ("conv", 7, 7, 3, 4, 2, 2, "SAME"), ("conv", 3, 3, 2, 3, 5, 2, "SAME"),
             ("rate", 9, 7, 3, 4, 3, 1, "SAME"), ("rate", 9, 9, 3, 4, 3, 1, "VALID"),
             ("sep", 6, 6, 4, 8, 3, 1, "SAME"), ("sep", 7, 7, 4, 8, 3, 2, "VALID"),
             ("conv_t", 2, 2, 8, 8, 3, 2, "SAME"), ("conv_t", 3, 3, 8, 8, 1, 1, "SAME"),
             ("conv_t", 3, 4, 4, 6, 3, 2, "VALID")]
    out = list(fixed)
    forms = ["conv", "conv", "conv", "rate", "sep", "conv_t"]
    while len(out) < len(fixed) + n:
        form = forms[rng.randint(len(forms))]
        k = int(rng.choice([1, 2, 3, 4, 5]))
        s = 1 if form == "rate" else int(rng.choice([1, 2, 3]))
        p = str(rng.choice(["SAME", "VALID"]))
        h, w = int(rng.randint(1, 10)), int(rng.randint(1, 10))
        if p == "VALID" and (h < k * (2 if form == "rate" else 1) or w < k * (2 if form == "rate" else 1)):
            continue
        out.append((form, h, w, int(rng.randint(1, 9)), int(rng.randint(1, 9)), k, s, p))
    return out


CASES = _random_forms(17, 30)


def _layer(form, x, o, k, s, p):
    kw = dict(padding=p, activation_fn=None)
    if form == "conv":
        return slim.conv2d(x, o, k, stride=s, **kw)
    if form == "rate":
        return slim.conv2d(x, o, k, rate=2, **kw)
    if form == "sep":
        return slim.separable_conv2d(x, o, k, depth_multiplier=2, stride=s, **kw)
    return slim.conv2d_transpose(x, o, k, stride=s, **kw)


def _all_gradients(mode, cases, monkeypatch=None, onednn=None):
    """Every case's gradients w.r.t. its input and its variables, in one graph."""
    if onednn is not None:
        monkeypatch.setattr(gradients, "onednn", lambda: onednn)
    out = []
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        fetch = []
        for i, (form, h, w, c, o, k, s, p) in enumerate(cases):
            rng = np.random.RandomState(i)
            x = tf1.placeholder_with_default(rng.randn(2, h, w, c).astype(np.float32), [2, h, w, c])
            with tf1.variable_scope(f"case{i}"), gradients.scope(mode):
                y = _layer(form, x, o, k, s, p)
            weights = tf.constant(rng.randn(*y.shape.as_list()).astype(np.float32))
            loss = tf.reduce_sum(y * weights)
            variables = tf1.trainable_variables(f"case{i}/")
            fetch.append(tf1.gradients(loss, [x] + variables))
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            out = sess.run(fetch)
        ops = tf1.get_default_graph().get_operations()
        overridden = sum(1 for op in ops if "_gradient_op_type" in op.node_def.attr)
    return out, overridden


@pytest.fixture(scope="module")
def reference():
    return _all_gradients("tensorflow", CASES)


@pytest.mark.slow
@pytest.mark.parametrize("onednn", [True, False], ids=["onednn-rules", "eigen-rules"])
def test_every_form_equals_tensorflows_gradients(reference, onednn, monkeypatch):
    ref, n_ref = reference
    fast, n_fast = _all_gradients("fast", CASES, monkeypatch, onednn)
    assert n_ref == 0  # TensorFlow's mode leaves the graph as it was
    assert n_fast >= len(CASES)  # every convolution op carries the override
    for case, a_all, b_all in zip(CASES, ref, fast):
        for a, b in zip(a_all, b_all):
            assert a.shape == b.shape, case
            scale = max(float(np.abs(a).max()), 1e-6)
            assert float(np.abs(a - b).max()) <= 1e-4 * scale, (case, float(np.abs(a - b).max()), scale)


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn-rules", "eigen-rules"])
def test_the_rule_tables_choose_the_measured_formulations(onednn, monkeypatch):
    monkeypatch.setattr(gradients, "onednn", lambda: onednn)
    g1, g2 = {"padding": "SAME", "sh": 1, "sw": 1}, {"padding": "SAME", "sh": 2, "sw": 2}
    assert gradients._choose_filter(1, 1, g1, (8, 8), onednn) == "1x1"
    assert gradients._choose_filter(3, 3, g1, (2, 2), onednn) == "patches"
    assert gradients._choose_filter(3, 3, g1, (4, 4), onednn) is None
    if onednn:
        assert gradients._choose_input(3, 3, g1, True) is None
        assert gradients._choose_filter(1, 1, g2, (8, 8), True) is None
    else:
        assert [gradients._choose_input(k, k, g, False) for k, g in ((1, g2), (3, g1), (3, g2))] == \
            ["1x1", "flipped", "strided"]
        assert gradients._choose_filter(1, 1, g2, (2, 2), False) == "1x1"
        assert gradients._choose_filter(1, 1, g2, (4, 4), False) is None


def test_unsupported_geometry_falls_back_to_tensorflow(monkeypatch):
    """NCHW, explicit padding and dilations on the op: TensorFlow's own function, same values."""
    monkeypatch.setattr(gradients, "onednn", lambda: False)
    rng = np.random.RandomState(0)
    x_val = rng.randn(2, 6, 6, 3).astype(np.float32)
    k_val = rng.randn(3, 3, 3, 4).astype(np.float32)
    res = {}
    for mode in ("tensorflow", "fast"):
        with tf.Graph().as_default():
            x, k = tf.constant(x_val), tf.constant(k_val)
            with gradients.scope(mode):
                ys = [tf.nn.conv2d(x, k, 1, [[0, 0], [1, 2], [0, 1], [0, 0]]),
                      tf.nn.conv2d(x, k, 1, "SAME", dilations=2)]
            grads = [tf1.gradients(tf.reduce_sum(y * y), [x, k]) for y in ys]
            with tf1.Session() as sess:
                res[mode] = sess.run(grads)
    for a_all, b_all in zip(res["tensorflow"], res["fast"]):
        for a, b in zip(a_all, b_all):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


SRC = """
model tiny(inputs: [8, 8, 1], num_classes = 10, is_training = true) {
  conv 8 3x3 as c1
  conv 16 3x3 stride=2 as c2
  conv 16 1x1 as c3
  conv 16 3x3 rate=2 as c4
  sep_conv 16 3x3 as s5
  conv 16 3x3 stride=2 as c6
  conv_t 8 3x3 stride=2 as t7
  conv 8 1x1 stride=2 as c8
  flatten
  fc num_classes activation=none as logits
}
"""


def _loss_curve(tmp_path, name, steps=6):
    mod = slimlang.loads(SRC, "tiny.slim")
    spec = build_spec([setting("data", "npz", DIGITS, seed=1, shuffle=False), setting("loss", "softmax_cross_entropy"),
                       setting("optimizer", "momentum", lr=0.05), setting("batch_size", 16), setting("steps", steps),
                       setting("seed", 3), setting("save_summaries_steps", 1)], {"tiny": mod.tiny})
    logdir = tmp_path / name
    slimlang.training.train(spec, mod.tiny, logdir=str(logdir), progress=False, stream=open(os.devnull, "w"))
    losses = {}
    for f in glob.glob(str(logdir / "events.out.tfevents.*")):
        for e in tf1.train.summary_iterator(f):
            for v in e.summary.value:
                if v.tag == "summaries/total_loss":
                    losses[e.step] = v.simple_value
    return [losses[s] for s in sorted(losses)]


@pytest.mark.slow
def test_loss_curve_equals_tensorflows_gradients(tmp_path, monkeypatch):
    monkeypatch.setenv(gradients.ENV, "tensorflow")
    ref = _loss_curve(tmp_path, "tf")
    monkeypatch.setenv(gradients.ENV, "fast")
    curves = {"onednn": _loss_curve(tmp_path, "fast")}
    monkeypatch.setattr(gradients, "onednn", lambda: False)
    curves["eigen"] = _loss_curve(tmp_path, "fast-eigen")
    assert len(ref) >= 5
    for name, curve in curves.items():
        np.testing.assert_allclose(curve, ref, rtol=1e-4, err_msg=name)
    assert ref[-1] != ref[0]  # the model trained: the curve is not a constant that any gradient would match


def test_switches():
    mod = slimlang.loads(SRC, "tiny.slim")
    assert gradients.default() in gradients.MODES
    with pytest.raises(ValueError):
        slimlang.loads(SRC, "tiny.slim", gradients="fastest")

    def overridden(**kw):
        with tf.Graph().as_default() as g:
            x = tf1.placeholder(tf.float32, [2, 8, 8, 1])
            mod.tiny(x, **kw) if "module" not in kw else kw.pop("module").tiny(x, **kw)
            return sum(1 for op in g.get_operations() if "_gradient_op_type" in op.node_def.attr)

    assert overridden() > 0  # slimlang.load graphs: fast by default
    assert overridden(gradients="tensorflow") == 0
    assert overridden(module=slimlang.loads(SRC, "tiny.slim", gradients="tensorflow")) == 0
    with pytest.raises(ValueError):
        overridden(gradients="nope")
    # an eval/export graph (is_training=False in the train stage) never names slimlang's gradients
    from slimlang.training.model import call_model

    with tf.Graph().as_default() as g:
        call_model(mod.tiny, tf1.placeholder(tf.float32, [2, 8, 8, 1]), {}, is_training=False)
        assert not any("_gradient_op_type" in op.node_def.attr for op in g.get_operations())
    with tf.Graph().as_default() as g:
        call_model(mod.tiny, tf1.placeholder(tf.float32, [2, 8, 8, 1]), {}, is_training=True, gradients="tensorflow")
        assert not any("_gradient_op_type" in op.node_def.attr for op in g.get_operations())


def test_train_flag_tf_gradients(tmp_path, monkeypatch, capsys):
    """`slimlang train --tf-gradients` makes TensorFlow's gradients the process's (and its replicas') default."""
    from slimlang.cli import main

    src = tmp_path / "tiny.slim"
    src.write_text(SRC + f'\ntrain {{\n  model tiny\n  data npz "{DIGITS}"\n  loss softmax_cross_entropy\n'
                         '  batch_size 16\n  steps 1\n}\n')
    monkeypatch.setenv(gradients.ENV, "fast")
    assert main(["train", str(src), "--logdir", str(tmp_path / "run"), "--plan"]) == 0
    assert gradients.default() == "fast"
    assert main(["train", str(src), "--logdir", str(tmp_path / "run"), "--plan", "--tf-gradients"]) == 0
    assert gradients.default() == "tensorflow"
