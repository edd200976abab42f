"""The example .slim files: they check clean, summarize, and build in TensorFlow.

examples/**/*.slim must pass `slimlang check` with no output and `summary` for
every model; every model of examples/*.slim (the nets/ are covered by the
conformance tests) builds through `slimlang.load` with the output shape its
summary promises and the variables its summary counts.  The primer's variable
statements keep TF-Slim's semantics: model vs regular variables,
regularization losses, device placement.
"""

from pathlib import Path

import numpy as np
import pytest

import slimlang
from slimlang.checker import check_file
from slimlang.cli import main
from slimlang.shapes import summarize_model
from slimlang.tfcompat import slim, tf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALL_FILES = sorted(EXAMPLES.rglob("*.slim"))
TOP_FILES = sorted(EXAMPLES.glob("*.slim"))

# (file, model) -> output shape for a batch of 1 at the declared input shape.
EXPECTED = {
    ("digits", "digits_net"): (1, 10),
    ("mnist", "lenet"): (1, 10),
    ("multitask", "multitask"): (1, 10),
    ("primer", "variables"): (1, 10, 10, 3),
    ("primer", "model_variables"): (1, 10, 10, 3),
    ("primer", "restore_names"): (1, 10, 10, 3),
    ("primer", "repeat_conv"): (1, 56, 56, 256),
    ("primer", "stack_fc"): (1, 128),
    ("primer", "stack_conv"): (1, 32, 32, 64),
    ("primer", "arg_scope_example"): (1, 54, 54, 256),
    ("primer", "nested_arg_scope"): (1, 54, 54, 1000),
    ("primer", "vgg16"): (1, 7, 7, 1000),
    ("primer", "vgg16_named"): (1, 7, 7, 1000),
}


def _models(path):
    return list(check_file(path).models)


def _top_models():
    """(file stem, model) of every model in examples/*.slim; a file that does not check is left to test_checks_clean."""
    found = []
    for p in TOP_FILES:
        try:
            found += [(p.stem, m) for m in _models(p)]
        except Exception:
            pass
    return found


TOP_MODELS = _top_models()


def _build(stem, model, **params):
    """Build one model in a fresh graph: (graph, net, end_points)."""
    module = slimlang.load(EXAMPLES / f"{stem}.slim")
    shape = (1,) + tuple(module.program.input_shape(model))
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, list(shape), name="inputs")
        net, end_points = getattr(module, model)(x, **params)
    return g, net, end_points


def _names(variables):
    return sorted(v.op.name for v in variables)


# ----------------------------------------------------------- check, summary --


def test_the_examples_exist():
    stems = {p.stem for p in TOP_FILES}
    assert {"digits", "mnist", "multitask", "primer"} <= stems
    assert {"vgg", "alexnet", "overfeat"} <= {p.stem for p in (EXAMPLES / "nets").glob("*.slim")}


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(EXAMPLES)) for p in ALL_FILES])
def test_checks_clean(path, capsys):
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(EXAMPLES)) for p in ALL_FILES])
def test_summary_of_every_model(path, capsys):
    for model in _models(path):
        assert main(["summary", str(path), "--model", model]) == 0, model
        out, _ = capsys.readouterr()
        assert f'Model: "{model}"' in out and "Total params:" in out


def test_the_expected_models_exist():
    assert set(EXPECTED) <= set(TOP_MODELS)


# ------------------------------------------------------------- TF graphs --


@pytest.mark.parametrize("stem,model", TOP_MODELS, ids=[f"{s}-{m}" for s, m in TOP_MODELS])
def test_builds_with_expected_shape(stem, model):
    # Models not listed in EXPECTED (added later) are held to their summary's output shape.
    program = check_file(EXAMPLES / f"{stem}.slim")
    summary = summarize_model(program, model, (1,) + tuple(program.input_shape(model)))
    expected = EXPECTED.get((stem, model), tuple(summary.output_shape))
    assert tuple(summary.output_shape) == expected
    g, net, end_points = _build(stem, model)
    assert tuple(net.shape.as_list()) == expected
    # The summary describes the graph that was built: same parameter count and end points.
    with g.as_default():
        total = sum(int(np.prod(v.shape.as_list())) for v in tf.compat.v1.global_variables())
        trainable = sum(int(np.prod(v.shape.as_list())) for v in tf.compat.v1.trainable_variables())
    assert (summary.total, summary.trainable) == (total, trainable)
    assert {k: tuple(s) for k, s in summary.end_points.items()} == \
        {k: tuple(v.shape.as_list()) for k, v in end_points.items()}


def test_multitask_heads_are_end_points():
    g, net, end_points = _build("multitask", "multitask", num_scenes=7)
    assert tuple(end_points["scene"].shape.as_list()) == (1, 7)
    assert tuple(end_points["depth"].shape.as_list()) == (1, 64, 64, 1)
    assert end_points["scene"] is net
    with g.as_default():
        names = _names(tf.compat.v1.trainable_variables())
    # One trunk, shared by both heads.
    assert [n for n in names if n.startswith("multitask/trunk/")]
    assert {n.split("/")[1] for n in names} == {"trunk", "depth", "scene"}


def test_digits_net_end_points_and_inference_mode():
    g, net, end_points = _build("digits", "digits_net", num_classes=10, is_training=False)
    assert end_points["logits"] is net
    assert tuple(end_points["predictions"].shape.as_list()) == (1, 10)
    with g.as_default():
        # l2 on each conv and fc layer's weights (4 layers).
        assert len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 4


def test_lenet_without_classes_returns_features():
    _, net, end_points = _build("mnist", "lenet", num_classes=0)
    assert tuple(net.shape.as_list()) == (1, 1024)
    assert "Logits" not in end_points and "fc3" in end_points


# ----------------------------------------------------- the primer's variables --


def test_model_variable_vs_regular_variable():
    g, _, _ = _build("primer", "model_variables")
    with g.as_default():
        assert _names(slim.get_model_variables()) == ["model_variables/weights"]
        assert _names(slim.get_variables()) == ["model_variables/my_var", "model_variables/weights"]
        (my_var,) = slim.get_variables_by_name("my_var")
        assert tuple(my_var.shape.as_list()) == (20, 1)


def test_l2_regularizers_add_regularization_losses():
    for model in ("variables", "model_variables"):
        g, _, _ = _build("primer", model)
        with g.as_default():
            losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
            assert len(losses) == 1, model
            assert losses[0].op.name.startswith(f"{model}/weights/Regularizer/"), losses[0].op.name
    # The primer's vgg16: one per conv and fc layer (13 + 3).
    g, _, _ = _build("primer", "vgg16")
    with g.as_default():
        assert len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 16


def test_regularizer_value_is_scale_times_half_sum_of_squares():
    g, _, _ = _build("primer", "variables")
    with g.as_default(), tf.compat.v1.Session() as s:
        s.run(tf.compat.v1.global_variables_initializer())
        (w,) = slim.get_variables_by_name("weights")
        (loss,) = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        w_value, loss_value = s.run([w, loss])
    assert np.isclose(loss_value, 0.05 * np.sum(w_value ** 2) / 2, rtol=1e-5)


@pytest.mark.parametrize("model", ["variables", "model_variables"])
def test_device_is_honoured(model):
    g, _, _ = _build("primer", model)
    with g.as_default():
        (w,) = [v for v in tf.compat.v1.global_variables() if v.op.name == f"{model}/weights"]
    assert "CPU:0" in w.device


def test_restore_names_for_partial_restore():
    g, _, _ = _build("primer", "restore_names")
    with g.as_default():
        assert _names(slim.get_variables_by_name("v2")) == ["restore_names/nested/v2"]
        assert _names(slim.get_variables_by_suffix("2")) == ["restore_names/nested/v2"]
        assert _names(slim.get_variables(scope="restore_names/nested")) == ["restore_names/nested/v2"]
        assert _names(slim.get_variables_to_restore(exclude=["restore_names/v1"])) == ["restore_names/nested/v2"]


def test_repeat_and_stack_names():
    g, _, _ = _build("primer", "repeat_conv")
    with g.as_default():
        assert _names(slim.get_model_variables()) == [
            f"repeat_conv/conv3/conv3_{i}/{w}" for i in (1, 2, 3) for w in ("biases", "weights")]
    g, _, _ = _build("primer", "stack_fc")
    with g.as_default():
        assert [v.shape.as_list() for v in slim.get_model_variables() if v.op.name.endswith("weights")] == [
            [100, 32], [32, 64], [64, 128]]
    g, _, _ = _build("primer", "stack_conv")
    with g.as_default():
        assert [v.shape.as_list() for v in slim.get_model_variables() if v.op.name.endswith("weights")] == [
            [3, 3, 3, 32], [1, 1, 32, 32], [3, 3, 32, 64], [1, 1, 64, 64]]


def test_arg_scope_overrides():
    g, _, _ = _build("primer", "nested_arg_scope")
    with g.as_default():
        ops = {op.name: op for op in g.get_operations()}
        conv1 = ops["nested_arg_scope/conv1/Conv2D"]
        assert conv1.get_attr("strides") == [1, 4, 4, 1] and conv1.get_attr("padding") == b"VALID"
        conv2 = ops["nested_arg_scope/conv2/Conv2D"]
        assert conv2.get_attr("strides") == [1, 1, 1, 1] and conv2.get_attr("padding") == b"SAME"
        # conv2's own initializer (stddev 0.03) overrides the outer 0.01.
        init = ops["nested_arg_scope/conv2/weights/Initializer/truncated_normal/mul"]
        stddev = [i for i in init.inputs if i.op.type == "Const"][0]
        assert np.isclose(tf.get_static_value(stddev), 0.03)
        # fc has no activation: its output is the BiasAdd itself.
        assert "nested_arg_scope/fc/Relu" not in ops and "nested_arg_scope/conv2/Relu" in ops
        assert len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 3


# ---------------------------------------------------------------- training --


@pytest.mark.slow
def test_digits_net_learns_the_digits():
    """digits_net reaches >= 97% held-out accuracy quickly (plain TF loop, 2 threads)."""
    data = np.load(EXAMPLES / "data" / "digits.npz")
    images, labels = data["images"], data["labels"]
    rng = np.random.RandomState(1)
    order = rng.permutation(len(images))
    n_val = len(images) // 5
    val, train = order[:n_val], order[n_val:]
    module = slimlang.load(EXAMPLES / "digits.slim")
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(0)
        x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1])
        y = tf.compat.v1.placeholder(tf.int64, [None])
        logits, _ = module.digits_net(x, num_classes=10, is_training=True)
        loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(y, logits) + tf.add_n(
            tf.compat.v1.losses.get_regularization_losses())
        train_op = tf.compat.v1.train.AdamOptimizer(0.001).minimize(loss)
        with tf.compat.v1.variable_scope("", reuse=True):
            eval_logits, _ = module.digits_net(x, num_classes=10, is_training=False)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(eval_logits, 1), y), tf.float32))
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
        with tf.compat.v1.Session(config=config) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            for _ in range(600):
                batch = rng.choice(train, 64)
                s.run(train_op, {x: images[batch], y: labels[batch]})
            acc = s.run(accuracy, {x: images[val], y: labels[val]})
    assert acc >= 0.97
