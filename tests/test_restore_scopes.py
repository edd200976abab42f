"""Restoring (issue 16): include/exclude/trainable scopes relative to the model's scope or in full, with
did-you-mean; a scope matching nothing is an error; init_from's name mapping applies to eval, export and
predict; a checkpoint with other names gets the differences reported."""

import pathlib

import numpy as np
import pytest

import slimlang
from slimlang.cli import main
from slimlang.diagnostics import SlimError
from slimlang.trainspec import build_spec, setting

tfc = pytest.importorskip("slimlang.tfcompat")
tf, slim = tfc.tf, tfc.slim
tf1 = tf.compat.v1

from slimlang.training import evaluate, restore_plan, train  # noqa: E402
from slimlang.training.restore import in_scope, model_scope, selected  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "data" / "digits.npz")


def scoped_mlp(inputs, num_classes=10, is_training=True):
    with tf1.variable_scope("net"):
        net = slim.flatten(inputs)
        net = slim.fully_connected(net, 16, scope="fc1")
        net = slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
    return net, {"logits": net}


def spec(*more):
    return build_spec([setting("model", "scoped_mlp"), setting("data", "npz", DIGITS, validation=0.2, seed=1),
                       setting("loss", "softmax_cross_entropy"), setting("optimizer", "adam", lr=0.01),
                       setting("steps", 40), *more], {"scoped_mlp": scoped_mlp})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("scopes")
    train(spec(), scoped_mlp, logdir=str(d / "run"), progress=False)
    ckpt = tf1.train.latest_checkpoint(str(d / "run"))
    # The same weights under another prefix, as a published checkpoint names them.
    reader = tf.train.load_checkpoint(ckpt)
    with tf.Graph().as_default():
        vs = [tf1.get_variable("pub/" + n, initializer=reader.get_tensor(n))
              for n, _ in tf.train.list_variables(ckpt) if n.startswith("net/") and "Adam" not in n]
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            published = tf1.train.Saver(vs).save(s, str(d / "pub.ckpt"))
    return d, ckpt, published


def test_scope_matching_is_relative_or_full():
    assert model_scope(["vgg_16/fc8/weights", "vgg_16/conv1/conv1_1/biases"]) == "vgg_16"
    assert model_scope(["a/w", "b/w"]) is None
    assert in_scope("vgg_16/fc8/weights", "fc8", "vgg_16") and in_scope("vgg_16/fc8/weights", "vgg_16/fc8", "vgg_16")
    assert not in_scope("vgg_16/fc7/weights", "fc8", "vgg_16")


def test_primer_exclude_works_as_written_on_vgg_16():
    """`exclude=["fc6", "fc7", "fc8"]`, the primer's line, on examples/nets/vgg.slim's vgg_16."""
    nets = slimlang.load(ROOT / "examples" / "nets" / "vgg.slim")
    with tf.Graph().as_default():
        nets.vgg_16(tf1.placeholder(tf.float32, [1, 224, 224, 3]), num_classes=5)
        variables = tf1.global_variables()
    init = spec(setting("init_from", "x", exclude=["fc6", "fc7", "fc8"])).init_from
    keep = selected(init, variables)
    dropped = sorted(n for n, k in keep.items() if not k)
    assert dropped == [f"vgg_16/{s}/{w}" for s in ("fc6", "fc7", "fc8") for w in ("biases", "weights")]
    with pytest.raises(SlimError) as ei:
        selected(spec(setting("init_from", "x", exclude=["fc9"])).init_from, variables)
    assert ei.value.first.code == "E334" and "did you mean `fc8`" in ei.value.render()


def test_include_and_trainable_relative_and_unmatched(trained, tmp_path):
    d, ckpt, _ = trained
    plan = restore_plan(spec(setting("init_from", ckpt, include=["fc1"])), scoped_mlp)
    assert {r.name for r in plan.rows if r.action == "restore"} == {"net/fc1/weights", "net/fc1/biases"}
    with pytest.raises(SlimError) as ei:
        restore_plan(spec(setting("init_from", ckpt, include=["fc_1"])), scoped_mlp)
    assert ei.value.first.code == "E334" and "did you mean `fc1`" in ei.value.render()
    with pytest.raises(SlimError) as ei:
        train(spec(setting("trainable", "lgits")), scoped_mlp, logdir=str(tmp_path / "t"), progress=False)
    assert ei.value.first.code == "E333" and "did you mean `logits`" in ei.value.render()
    r = train(spec(setting("init_from", ckpt, exclude=["logits"]), setting("trainable", "logits")), scoped_mlp,
              logdir=str(tmp_path / "t2"), progress=False)
    frozen = tf.train.load_checkpoint(r.checkpoint).get_tensor("net/fc1/weights")
    assert np.array_equal(frozen, tf.train.load_checkpoint(ckpt).get_tensor("net/fc1/weights"))


def test_eval_of_a_checkpoint_with_other_names(trained):
    d, ckpt, published = trained
    with pytest.raises(SlimError) as ei:
        evaluate(spec(), scoped_mlp, checkpoint=published)
    text = ei.value.render()
    assert ei.value.first.code == "E340" and "no readable checkpoint" not in text
    assert "only in the checkpoint: pub/net/fc1/weights" in text and 'add_prefix="pub/"' in text
    # init_from's mapping reads it: the same metrics as the original checkpoint
    mapped = evaluate(spec(setting("init_from", published, add_prefix="pub/")), scoped_mlp, checkpoint=published)
    plain = evaluate(spec(), scoped_mlp, checkpoint=ckpt)
    assert mapped.metrics == plain.metrics


def test_mapping_applies_to_predict_and_export(trained, tmp_path, capsys):
    d, ckpt, published = trained
    f = tmp_path / "m.slim"
    f.write_text(f"""model net(inputs: [8, 8, 1], num_classes = 10) {{
  flatten
  fc 16 as fc1
  fc num_classes activation=none as logits
}}
train {{
  model net
  data npz "{DIGITS}" validation=0.2 seed=1
  loss softmax_cross_entropy
  init_from "{published}" add_prefix="pub/"
  steps 1
}}
""")
    with np.load(DIGITS) as z:
        np.savez(tmp_path / "x.npz", images=z["images"][:4])
    assert main(["predict", str(f), "--checkpoint", published, str(tmp_path / "x.npz")]) == 0
    via_map = capsys.readouterr().out
    assert main(["predict", str(f), "--checkpoint", ckpt, str(tmp_path / "x.npz")]) == 0
    assert capsys.readouterr().out == via_map
    assert main(["export", str(f), "--checkpoint", published, "--out", str(tmp_path / "sm")]) == 0
