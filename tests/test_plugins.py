"""Plugins (issue 16): `--plugin FILE.py` and `slimlang.load_plugin` register custom losses and metrics;
nothing runs because a .slim file names it; a section using an unregistered loss fails alone, with a
did-you-mean and a hint about --plugin; a plugin that cannot load is a located error."""

import pathlib
import re

import pytest

import slimlang
from slimlang.cli import main
from slimlang.diagnostics import SlimError
from slimlang.training.registry import (
    registered_losses,
    registered_metrics,
    unregister_loss,
    unregister_metric,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

DIGITS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "data" / "digits.npz"

PLUGIN = """\
import slimlang
import tensorflow as tf


def focal(predictions, labels, gamma=2.0):
    p = tf.nn.softmax(predictions)
    onehot = tf.one_hot(tf.cast(labels, tf.int32), tf.shape(predictions)[-1])
    pt = tf.reduce_sum(p * onehot, -1)
    return tf.reduce_mean(-((1 - pt) ** gamma) * tf.math.log(pt + 1e-7))


def confidence(predictions, labels):
    \"\"\"the mean highest softmax probability\"\"\"
    return tf.reduce_max(tf.nn.softmax(predictions), -1)


slimlang.register_loss("focal_plugin", focal)
slimlang.register_metric("confidence_plugin", confidence, tasks=("classification", "custom"))
"""

SLIM = f"""\
model mlp(inputs: [8, 8, 1], num_classes = 10) {{
  flatten
  fc 16 as fc1
  fc num_classes activation=none as logits
}}
train plain {{
  model mlp
  data npz "{DIGITS}" validation=0.2
  loss softmax_cross_entropy
  steps 5
}}
train custom {{
  model mlp
  data npz "{DIGITS}" validation=0.2
  loss focal_plugin gamma=3
  optimizer adam lr=0.01
  steps 30
}}
"""


@pytest.fixture
def clean_registry():
    yield
    unregister_loss("focal_plugin")
    unregister_metric("confidence_plugin")


def test_an_unregistered_loss_fails_only_its_section(tmp_path, capsys, clean_registry):
    f = tmp_path / "m.slim"
    f.write_text(SLIM)
    (tmp_path / "focal_plugin.py").write_text(PLUGIN)  # beside the file: never run unless named
    assert main(["check", str(f)]) == 0  # passes, and warns
    assert f"{f}:15:8: warning[E306]: unknown loss kind `focal_plugin`" in capsys.readouterr().err
    module = slimlang.load(f)
    assert [s.name for s in module.train_specs] == ["plain"] and "custom" in module.train_errors
    assert "focal_plugin" not in registered_losses()
    assert main(["train", str(f), "-s", "custom", "--logdir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert f"{f}:15:8: error[E306]: unknown loss kind `focal_plugin`" in err and "--plugin" in err
    assert main(["train", str(f), "-s", "plain", "--logdir", str(tmp_path / "p"), "--no-progress"]) == 0
    assert main(["train", str(f), "--logdir", str(tmp_path / "p")]) == 2  # two sections: pick one
    assert "pick one with --section: plain, custom" in capsys.readouterr().err


def test_plugin_registers_a_loss_and_a_metric(tmp_path, capsys, clean_registry):
    f = tmp_path / "m.slim"
    f.write_text(SLIM)
    plugin = tmp_path / "my_losses.py"
    plugin.write_text(PLUGIN)
    run = ["--plugin", str(plugin), "-s", "custom", "--logdir", str(tmp_path / "c")]
    assert main(["train", str(f), *run, "--no-progress"]) == 0
    assert "focal_plugin" in registered_losses() and "confidence_plugin" in registered_metrics()
    capsys.readouterr()
    assert main(["eval", str(f), *run]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(": ") for line in out.splitlines())
    assert 0 < float(lines["confidence_plugin"]) <= 1 and "loss/focal_plugin" in lines
    assert slimlang.load_plugin(plugin) is slimlang.load_plugin(str(plugin))  # run once per process


@pytest.mark.parametrize("text, where, what", [
    ("import slimlang\nx = (\n", ":2:", "is not valid Python"),
    ("import slimlang\n\nslimlang.register_loss('softmax_cross_entropy', print)\n", ":3:",
     "failed while loading: ValueError: `softmax_cross_entropy` is a built-in loss"),
])
def test_a_plugin_that_cannot_load_is_located(tmp_path, text, where, what):
    p = tmp_path / "bad.py"
    p.write_text(text)
    with pytest.raises(SlimError) as ei:
        slimlang.load_plugin(p)
    rendered = ei.value.render()
    assert ei.value.first.code == "E361" and f"{p}{where}" in rendered and what in rendered


def test_a_missing_plugin_gets_did_you_mean(tmp_path, capsys):
    (tmp_path / "losses.py").write_text("")
    f = tmp_path / "m.slim"
    f.write_text(SLIM)
    assert main(["eval", str(f), "--plugin", str(tmp_path / "loses.py"), "-s", "plain"]) == 1
    err = capsys.readouterr().err
    assert "error[E361]: plugin" in err and "did you mean `losses.py`" in err


LAYER_PLUGIN = """\
import slimlang
import tf_slim as slim


def scaled_dense(inputs, units=8, scale=2.0, scope=None):
    \"\"\"fully connected, then multiplied by `scale`\"\"\"
    return slim.fully_connected(slim.flatten(inputs), units, scope=scope or "scaled_dense") * scale


slimlang.register_layer("scaled_dense_plugin", scaled_dense, params={"units": 8, "scale": 2.0},
                        positional=("units",), shape=lambda s, units, scale: (s[0], units))
"""


def test_plugin_layer_builds_under_its_scope(tmp_path, capsys):
    from slimlang.plugins import unregister_layer

    plugin = tmp_path / "layers.py"
    plugin.write_text(LAYER_PLUGIN)
    f = tmp_path / "l.slim"
    f.write_text(f"""model mlp(inputs: [8, 8, 1], num_classes = 10) {{
  scaled_dense_plugin 16 scale=0.5 as hidden
  fc num_classes activation=none as logits
}}
train {{
  model mlp
  data npz "{DIGITS}" validation=0.2
  loss softmax_cross_entropy
  steps 3
}}
""")
    try:
        assert main(["check", str(f)]) == 1  # without the plugin: an unknown layer
        assert "unknown layer `scaled_dense_plugin`" in capsys.readouterr().err
        # with it, check and summary know the layer (its shape rule), and --emit py refuses it, located
        assert main(["check", str(f), "--plugin", str(plugin)]) == 0
        assert main(["summary", str(f), "--plugin", str(plugin)]) == 0
        out = capsys.readouterr().out
        assert re.search(r"^mlp/hidden +scaled_dense_plugin +\(1, 16\) +0$", out, re.M), out
        assert main(["build", str(f), "--emit", "py", "--plugin", str(plugin)]) == 1
        err = capsys.readouterr().err
        assert "l.slim:2:3: error[E521]: `scaled_dense_plugin` is a layer a plugin registered" in err, err
        assert main(["train", str(f), "--plugin", str(plugin), "--logdir", str(tmp_path / "r"), "--no-progress"]) == 0
        import tensorflow as tf

        names = {n for n, _ in tf.train.list_variables(str(tmp_path / "r"))}
        assert {"mlp/hidden/weights", "mlp/hidden/biases", "mlp/logits/weights"} <= names
        assert dict(tf.train.list_variables(str(tmp_path / "r")))["mlp/hidden/weights"] == [64, 16]
    finally:
        unregister_layer("scaled_dense_plugin")
    from slimlang.layers import LAYERS

    assert "scaled_dense_plugin" not in LAYERS
