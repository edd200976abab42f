"""i3d.slim and s3dg.slim against TF-Slim's model zoo (see tests/zoo.py), and the
`center_identity` initializer their temporal convolutions start from."""

import importlib.util

import numpy as np
import pytest
import zoo

CASES = zoo.params(
    zoo.case("i3d", slow=True),
    zoo.case("s3dg", slow=True),
    # temporal kernels and self-gating from later end points, a narrower net stopped at Mixed_4b,
    # its logits not squeezed
    zoo.case("s3dg-startat", slow=True),
    # i3d_arg_scope(separable_conv3d=True, use_renorm=True): spatial + temporal convolutions
    zoo.case("i3d_base-separable", slow=True, lowerings=["load"]),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)


@pytest.mark.slow
def test_fails_without_the_gate_sigmoid(tmp_path):
    """s3dg whose self-gating multiplies by the unsquashed gate (no sigmoid): the same variables and
    end point shapes, other values from the first gated block (Mixed_3c) on."""
    fx = zoo.fixture("s3dg-startat")
    text = zoo.slim_path(fx).read_text()
    broken = "\n".join(line for line in text.splitlines() if line.strip() != "sigmoid")
    assert "\n  sigmoid\n" in text and "sigmoid\n" not in broken
    path = tmp_path / "s3dg.slim"
    path.write_text(broken + "\n")
    diffs = zoo.differences(fx, zoo.measure(fx, "load", path))
    assert not [d for d in diffs if not d.startswith("values:")], diffs
    assert any(d.startswith("values: Mixed_3c") for d in diffs), diffs
    assert not any(d.startswith("values: Mixed_3b") for d in diffs), diffs


# A 3x1x1 temporal convolution as I3D's separable convolutions end, a 2-D one, and the same
# through a `defaults` rule: every kernel is the identity at its window's center.
CENTER = """
model kernels(inputs: [4, 5, 5, 6]) {
  conv3d 6 [3, 1, 1] weights_initializer=center_identity as temporal
  conv3d 6 [2, 3, 3] weights_initializer=center_identity as even
  defaults conv3d: weights_initializer=center_identity {
    conv3d 4 [1, 1, 1] as narrower
  }
}
"""


def _center_reference(shape):
    """The identity kernel as i3d_utils.center_initializer defines it (odd time, 1x1 in space),
    extended the obvious way: 1 at index k // 2 of each window axis, channel i to channel i."""
    out = np.zeros(shape, np.float32)
    center = tuple(k // 2 for k in shape[:-2])
    for i in range(min(shape[-2], shape[-1])):
        out[center + (i, i)] = 1.0
    return out


@pytest.mark.parametrize("lowering", ["load", "emit"])
def test_center_identity_starts_a_convolution_as_the_identity(lowering, tmp_path):
    import slimlang
    from slimlang.checker import check_text
    from slimlang.emit import emit_module
    from slimlang.tfcompat import tf

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 4, 5, 5, 6])
        if lowering == "load":
            slimlang.loads(CENTER).kernels(x)
        else:
            f = tmp_path / "center.py"
            f.write_text(emit_module(check_text(CENTER, "center.slim")))
            spec = importlib.util.spec_from_file_location(f"center_{abs(hash(str(tmp_path)))}", f)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mod.kernels(x)
        weights = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("/weights")]
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            got = dict(zip([v.op.name for v in weights], s.run(weights)))
    assert sorted(got) == ["kernels/even/weights", "kernels/narrower/weights", "kernels/temporal/weights"]
    for name, value in got.items():
        np.testing.assert_array_equal(value, _center_reference(value.shape), err_msg=name)


def test_center_identity_makes_kernels_only():
    """As biases (a layer's argument or a `defaults` rule) or for a rank-1 variable: located errors."""
    from slimlang.checker import check_text
    from slimlang.diagnostics import SlimError

    text = """model m(inputs: [8, 8, 3]) {
  conv 3 3x3 biases_initializer=center_identity
}
model v(inputs: [8, 8, 3]) {
  variable shape=[10] initializer=center_identity as counts
}
defaults d {
  fc: biases_initializer=center_identity
}
model w(inputs: [8, 8, 3]) uses d {
  flatten; fc 3 weights_initializer=center_identity
}
"""
    with pytest.raises(SlimError) as e:
        check_text(text, "kernels.slim")
    out = str(e.value)
    assert "kernels.slim:2:14: error[E233]: `biases_initializer` of `conv` cannot be `center_identity`" in out, out
    assert "kernels.slim:5:3: error[E301]: `center_identity` makes kernels (rank 2 or more); this variable's " \
           "shape is [10]" in out, out
    assert "kernels.slim:8:7: error[E233]: `biases_initializer` of `fc` cannot be" in out, out
    assert "used by the layer at kernels.slim:11:12" in out, out
