"""Zoo networks beyond the facts: published parameter counts, checkpoints in the
reference's layout, and a block left out that only the values show."""

import subprocess
import sys

import numpy as np
import pytest
import zoo

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'tf_slim'):
            raise ImportError('blocked import of ' + name)
sys.meta_path.insert(0, Block())
from slimlang.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _summary(name, model):
    r = subprocess.run([sys.executable, "-c", BLOCKER, "summary", str(zoo.NETS / f"{name}.slim"), "--model", model],
                       capture_output=True, text=True, cwd=zoo.ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _trainable_count(case_id):
    fx = zoo.fixture(case_id)
    shapes = dict((n, s) for n, s in fx["global_variables"])
    return sum(int(np.prod(shapes[n])) for n in fx["trainable_variables"])


def test_summary_gives_the_published_parameter_counts_without_tensorflow():
    # Published: MobileNet v1 (1000 classes, its default) 4,231,976 trainable
    # parameters; MobileNet v2 (1001 classes) 3,506,153.  The same numbers come
    # from the reference's variables as recorded in the fixtures.
    for name, model, case_id, published in (("mobilenet_v1", "mobilenet_v1", "mobilenet_v1", 4231976),
                                            ("mobilenet_v2", "mobilenet", "mobilenet_v2", 3506153)):
        assert _trainable_count(case_id) == published
        out = _summary(name, model)
        assert f"Trainable params: {published:,}" in out, out[-400:]


def test_mobilenet_v3_summary_counts_the_reference_parameters():
    # MobileNetV3-Large 1.0 5,484,313 and -Small 1.0 2,543,881 trainable parameters with
    # 1001 classes (the paper rounds them to 5.4M and 2.5M).
    for model, case_id in (("large", "mobilenet_v3_large"), ("small", "mobilenet_v3_small")):
        out = _summary("mobilenet_v3", model)
        assert f"Trainable params: {_trainable_count(case_id):,}" in out, out[-400:]


@pytest.mark.slow
def test_a_reference_checkpoint_restores_with_a_plain_saver(tmp_path):
    """A checkpoint holding exactly the reference's variables (names, shapes and
    values as the fixture records them) restores into the .slim graph with
    tf.train.Saver() over all its variables, and the restored network computes
    the reference's values at every end point."""
    from slimlang.tfcompat import tf

    fx = zoo.fixture("mobilenet_v1")
    ref = tf.Graph()
    with ref.as_default():
        for name, shape in fx["global_variables"]:
            tf.compat.v1.Variable(zoo.zoo_facts.fill_value(name, shape), name=name)
        with tf.compat.v1.Session(graph=ref) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            path = tf.compat.v1.train.Saver().save(s, str(tmp_path / "reference.ckpt"))
    g, x, net, end_points = zoo.build(fx, "load")
    with g.as_default(), tf.compat.v1.Session(graph=g) as s:
        tf.compat.v1.train.Saver().restore(s, path)
        names = sorted(end_points)
        got = s.run([net] + [end_points[k] for k in names], {x: zoo.zoo_facts.input_batch(fx["input_shape"])})
    measured = {"<output>": zoo.zoo_facts.tensor_summary("<output>", got[0])}
    measured.update((k, zoo.zoo_facts.tensor_summary(k, v)) for k, v in zip(names, got[1:]))
    assert zoo.value_differences(fx["values"], measured) == []


@pytest.mark.slow
def test_an_inverted_residual_without_its_add_fails_on_values_only(tmp_path):
    """mobilenet_v2 without the residual `add`: every variable, shape and end
    point is still right, and the values show which block is wrong (layer_4 is
    the first block with a residual)."""
    text = (zoo.NETS / "mobilenet_v2.slim").read_text()
    line = "  if residual and stride == 1 and depth_in == prev_depth { add inputs }\n"
    assert line in text
    broken = tmp_path / "mobilenet_v2.slim"
    broken.write_text(text.replace(line, ""))
    fx = zoo.fixture("mobilenet_v2_base")
    diffs = zoo.differences(fx, zoo.measure(fx, "load", broken))
    assert diffs and all(d.startswith("values: ") for d in diffs), diffs
    wrong = {d.split(": ")[1] for d in diffs}
    assert "layer_4" in wrong and "layer_4/output" in wrong
    assert not wrong & {"layer_1", "layer_2", "layer_3", "layer_4/expansion_output", "layer_4/depthwise_output"}
