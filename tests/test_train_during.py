"""During training (issue 16): validation, keep_best, early_stop, the plateau schedule, moving averages,
summaries, training until stopped, decay_epochs; their checks and their `--emit py --train` refusals."""

import dataclasses
import io
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import slimlang
from slimlang.diagnostics import SlimError
from slimlang.trainspec import setting, with_overrides

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "data" / "digits.npz")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

MODEL = f"""\
model m(inputs: [8, 8, 1], num_classes = 10) {{
  flatten
  fc 32 as fc1
  fc num_classes activation=none as logits endpoint
}}
train {{
  data npz "{DIGITS}" validation=0.2 seed=1
  loss softmax_cross_entropy
BODY
}}
"""


def load(body: str):
    return slimlang.loads(MODEL.replace("BODY", body), "/nowhere/t.slim")


def errors(body: str):
    with pytest.raises(SlimError) as ei:
        load(body)
    return ei.value.diagnostics


def only(diags, code):
    hits = [d for d in diags if d.code == code]
    assert hits, f"no {code} in {[d.render() for d in diags]}"
    return hits[0]


# ------------------------------------------------------------ checking (no TensorFlow) ---


def test_watched_metric_is_checked_with_did_you_mean_and_location():
    d = only(errors("  steps 10\n  validate every=5\n  keep_best on=acuracy"), "E313")
    assert (d.span.line, d.span.col) == (11, 13)
    assert "did you mean `accuracy`" in d.render() and "loss/softmax_cross_entropy" in d.render()
    d = only(errors("  steps 10\n  validate every=5\n  early_stop on=los patience=2"), "E313")
    assert "did you mean `loss`" in d.render()


def test_watchers_need_validation_and_validation_needs_a_held_out_split():
    assert "validate every=N" in only(errors("  steps 10\n  keep_best on=accuracy"), "E309").message
    assert "validate every=N" in only(errors("  steps 10\n  schedule plateau on=loss"), "E309").message
    text = MODEL.replace("validation=0.2 ", "").replace("BODY", "  steps 10\n  validate every=5")
    with pytest.raises(SlimError) as ei:
        slimlang.loads(text, "/nowhere/t.slim")
    assert "held-out split" in only(ei.value.diagnostics, "E310").message


def test_option_values_are_checked():
    diags = errors("  steps 10\n  validate every=5\n  early_stop on=loss\n  moving_average decay=1.5\n"
                   "  summaries histograms=[activation]\n  schedule plateau on=loss factor=2")
    assert "`early_stop` needs `patience=`" in only(diags, "E309").message
    msgs = [d.message for d in diags if d.code == "E305"]
    assert any("decay" in m for m in msgs) and any("activations" in m for m in msgs) \
        and any("factor" in m for m in msgs)
    assert "decay_steps" in only(errors("  steps 10\n  schedule exponential"), "E309").message
    assert only(errors("  steps 10\n  schedule exponential decay_steps=5 decay_epochs=1"), "E310")


def test_names_from_keras_and_train_image_classifier_are_suggested():
    d = only(errors("  steps 10\n  early_stopping on=loss patience=2"), "E312")
    assert "did you mean `early_stop`" in d.render()
    d = only(errors("  steps 10\n  moving_average_decay 0.99"), "E312")
    assert "did you mean `moving_average`" in d.render()
    d = only(errors("  steps 10\n  validate every=5\n  keep_best monitor=accuracy"), "E304")
    assert "did you mean `on`" in d.render()
    d = only(errors("  steps 10\n  schedule reduce_lr_on_plateau on=loss"), "E306")
    assert "did you mean `plateau`" in d.render()


def test_modes_are_inferred_and_overridable():
    (spec,) = load("  steps 10\n  validate every=5\n  keep_best on=accuracy\n"
                   "  early_stop on=loss patience=2 min_delta=0.01").train_specs
    assert (spec.keep_best.mode, spec.early_stop.mode, spec.early_stop.patience) == ("max", "min", 2)
    (spec,) = load("  steps 10\n  validate every=5\n  keep_best on=loss mode=max").train_specs
    assert spec.keep_best.mode == "max"


def test_steps_none_or_no_length_trains_until_stopped():
    (spec,) = load("  steps none").train_specs
    assert spec.until_stopped and spec.steps is None
    (spec,) = load("").train_specs
    assert spec.until_stopped
    assert not with_overrides(spec, steps=5).until_stopped
    # A decay over "the whole run" has no length then.
    assert "no length" in only(errors("  steps none\n  schedule cosine"), "E310").message
    (spec,) = load("  schedule cosine decay_steps=100").train_specs
    assert spec.until_stopped


def test_emit_steps_none_trains_until_stopped():
    """`steps none` is number_of_steps=None: slim.learning.train runs until stopped."""
    from slimlang.checker import check_file
    from slimlang.emit import emit_module

    path = pathlib.Path("/tmp") / f"slimlang-none-{os.getpid()}.slim"
    path.write_text(MODEL.replace("BODY", "  steps none"))
    try:
        code = emit_module(check_file(str(path)), train=True)
    finally:
        path.unlink()
    assert "def train_default(logdir=None, number_of_steps=None" in code
    assert "number_of_steps = " not in code


def test_emit_refuses_what_slim_learning_train_cannot_do():
    from slimlang.checker import check_file
    from slimlang.emit import emit_module

    for body, line in (("  steps 10\n  validate every=5\n  keep_best on=accuracy", 10),
                       ("  steps 10\n  validate every=5\n  schedule plateau on=loss", 10)):
        path = pathlib.Path("/tmp") / f"slimlang-refuse-{os.getpid()}.slim"
        path.write_text(MODEL.replace("BODY", body))
        try:
            with pytest.raises(SlimError) as ei:
                emit_module(check_file(str(path)), train=True)
        finally:
            path.unlink()
        d = only(ei.value.diagnostics, "E518")
        assert d.span.line == line, d.render()


# ------------------------------------------------------------ with TensorFlow ---

tfc = pytest.importorskip("slimlang.tfcompat")
tf, slim = tfc.tf, tfc.slim
tf1 = tf.compat.v1

from slimlang.training import evaluate, train
from slimlang.trainspec import build_spec


def mlp(inputs, num_classes=10, is_training=True):
    net = slim.flatten(inputs)
    net = slim.fully_connected(net, 32, scope="fc1")
    net = slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
    return net, {"fc1": tf1.get_default_graph().get_tensor_by_name("fc1/Relu:0"), "logits": net}


def mlp_spec(*extra, steps=20):
    return build_spec([setting("data", "npz", DIGITS, validation=0.2, seed=1),
                       setting("loss", "softmax_cross_entropy"), setting("optimizer", "sgd", lr=0.1),
                       setting("batch_size", 32), setting("steps", steps), *extra], {"mlp": mlp})


def test_moving_averages_follow_tensorflows_recurrence_and_init_from_takes_them(tmp_path):
    spec = mlp_spec(setting("moving_average", decay=0.5), setting("save_interval_steps", 1),
                    setting("keep_checkpoints", 10), steps=3)
    train(spec, mlp, logdir=str(tmp_path / "a"), progress=False, stream=io.StringIO())
    r2 = tf.train.load_checkpoint(str(tmp_path / "a" / "model.ckpt-2"))
    r3 = tf.train.load_checkpoint(str(tmp_path / "a" / "model.ckpt-3"))
    decay = min(0.5, (1 + 3) / (10 + 3))  # ExponentialMovingAverage with num_updates = global_step
    for name in ("fc1/weights", "fc1/biases", "logits/weights"):
        avg = name + "/ExponentialMovingAverage"
        np.testing.assert_allclose(r3.get_tensor(avg),
                                   decay * r2.get_tensor(avg) + (1 - decay) * r3.get_tensor(name), rtol=1e-5,
                                   atol=1e-7)
    # Fine-tuning from it: the variables start at the averages (lr 0: they stay there), and so do its averages.
    out = io.StringIO()
    fine = build_spec([setting("data", "npz", DIGITS, validation=0.2, seed=1),
                       setting("loss", "softmax_cross_entropy"), setting("optimizer", "sgd", lr=1e-30),
                       setting("batch_size", 32), setting("steps", 1), setting("moving_average", decay=0.5),
                       setting("init_from", str(tmp_path / "a"))], {"mlp": mlp})
    train(fine, mlp, logdir=str(tmp_path / "b"), progress=False, stream=out)
    assert "4 variables start from the moving averages" in out.getvalue()
    rb = tf.train.load_checkpoint(str(tmp_path / "b" / "model.ckpt-1"))
    for name in ("fc1/weights", "logits/biases"):
        np.testing.assert_allclose(rb.get_tensor(name), r3.get_tensor(name + "/ExponentialMovingAverage"),
                                   rtol=1e-6)
        np.testing.assert_allclose(rb.get_tensor(name + "/ExponentialMovingAverage"), rb.get_tensor(name),
                                   rtol=1e-6)


def _tags(logdir) -> set:
    tags = set()
    for f in pathlib.Path(logdir).glob("events.out.tfevents.*"):
        for event in tf1.train.summary_iterator(str(f)):
            for v in event.summary.value:
                tags.add(v.tag)
    return tags


def test_plateau_lowers_the_rate_and_summaries_are_written(tmp_path):
    """min_delta=10 makes every validation after the first a stall: the scale halves at each."""
    spec = mlp_spec(setting("validate", every=5), setting("schedule", "plateau", on="loss", patience=1,
                                                          min_delta=10.0, factor=0.5),
                    setting("summaries", histograms=["activations", "variables"], sparsity=True),
                    setting("save_summaries_steps", 5))
    out = io.StringIO()
    r = train(spec, mlp, logdir=str(tmp_path), progress=False, stream=out)
    log = out.getvalue()
    assert log.count("learning rate lowered") == 3, log
    assert "learning rate lowered to 0.0125" in log
    ckpt = tf.train.load_checkpoint(r.checkpoint)
    assert ckpt.get_tensor("learning_rate/plateau_scale") == pytest.approx(0.125)
    tags = _tags(tmp_path)
    assert {"eval/accuracy", "eval/loss", "activations/fc1", "sparsity/fc1", "variables/fc1/weights",
            "summaries/learning_rate"} <= tags, tags
    # A resume keeps the factor reached (it is in the checkpoint) and the watcher's counters.
    out = io.StringIO()
    train(with_overrides(spec, steps=25), mlp, logdir=str(tmp_path), progress=False, stream=out)
    assert "lowered to 0.00625" in out.getvalue()


def test_a_cluster_run_refuses_validation_rather_than_dropping_it():
    from slimlang.training.callbacks import DuringTraining

    (spec,) = load("  steps 10\n  validate every=5\n  keep_best on=accuracy").train_specs
    with pytest.raises(SlimError) as ei:
        DuringTraining(spec, None, pathlib.Path("."), print, "m").refuse_distributed()
    d = only(ei.value.diagnostics, "E310")
    assert d.span.line == 10 and "eval --watch" in d.render()
    (spec,) = load("  steps 10\n  moving_average decay=0.9").train_specs
    DuringTraining(spec, None, pathlib.Path("."), print, "m").refuse_distributed()  # averages work on a cluster


def test_decay_epochs_is_decay_steps_of_that_many_epochs():
    from slimlang.training.optim import learning_rate

    (spec,) = load("  steps 10\n  optimizer sgd lr=0.1\n"
                   "  schedule exponential decay_epochs=2 decay_rate=0.5").train_specs
    with tf.Graph().as_default():
        step = tf1.placeholder(tf.int64, [])
        lr = learning_rate(spec.schedule, spec.optimizer, step, 10, steps_per_epoch=1438 / 32)
        with tf1.Session() as sess:
            decay_steps = int(2 * 1438 / 32)  # train_image_classifier's num_epochs_per_decay arithmetic
            assert sess.run(lr, {step: decay_steps}) == pytest.approx(0.05)


@pytest.mark.slow
def test_until_stopped_runs_until_sigterm_and_saves(tmp_path):
    src = tmp_path / "u.slim"
    src.write_text(MODEL.replace("BODY", "  steps none\n  log_every 10"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "slimlang.cli", "train", str(src), "--logdir",
                             str(tmp_path / "run"), "--no-progress"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith("step ") or not line:
                break
        assert any("Ctrl-C or SIGTERM" in x for x in lines), lines
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, rest
    m = re.search(r"stopped by SIGTERM at step (\d+); saved model\.ckpt-(\d+)", rest)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) >= 10, rest
    assert (tmp_path / "run" / f"model.ckpt-{m.group(1)}.index").is_file()


# ------------------------------------------------------------ the example ---

EXAMPLE = ROOT / "examples" / "digits_best.slim"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("digits_best")
    module = slimlang.load(str(EXAMPLE))
    (spec,) = module.train_specs
    out = io.StringIO()
    result = train(spec, module.models["digits_net"], logdir=str(logdir), progress=False, stream=out)
    return module, spec, logdir, result, out.getvalue()


def _validations(log: str) -> dict:
    found = {}
    for m in re.finditer(r"validation at step (\d+) \(\d+ examples\): accuracy ([\d.]+) .* loss ([\d.]+)", log):
        found[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return found


@pytest.mark.slow
def test_example_best_checkpoint_holds_the_best_validation(example_run):
    module, spec, logdir, result, log = example_run
    vals = _validations(log)
    assert len(vals) >= 5, log
    best_acc = max(a for a, _ in vals.values())
    best_step = min(s for s, (a, _) in vals.items() if a == best_acc)  # improvements are strict
    assert f"saved best/model.ckpt-{best_step}" in log
    ev = evaluate(spec, module.models["digits_net"], logdir=str(logdir), best=True)
    assert ev.step == best_step
    assert ev.metrics["accuracy"] == pytest.approx(best_acc, abs=5e-5)
    assert ev.metrics["loss"] == pytest.approx(vals[best_step][1], abs=5e-5)
    assert (logdir / "best" / f"model.ckpt-{best_step}.index").is_file()
    assert "eval/accuracy" in _tags(logdir)


@pytest.mark.slow
def test_example_stops_early_where_the_log_says_and_stays_stopped(example_run):
    module, spec, logdir, result, log = example_run
    m = re.search(r"early stop at step (\d+): accuracy has not improved by more than 0.002 for (\d+) validations", log)
    assert m, log
    stop = int(m.group(1))
    assert result.step == stop < spec.steps and result.stopped_early
    assert result.checkpoint.endswith(f"model.ckpt-{stop}")
    # the rule: the last `patience` validations did not beat the best before them by more than min_delta
    vals = _validations(log)
    steps = sorted(vals)
    assert steps[-1] == stop and int(m.group(2)) == spec.early_stop.patience
    before = max(vals[s][0] for s in steps[:-spec.early_stop.patience])
    assert all(vals[s][0] <= before + spec.early_stop.min_delta for s in steps[-spec.early_stop.patience:])
    # Resuming does not train again.
    out = io.StringIO()
    again = train(spec, module.models["digits_net"], logdir=str(logdir), progress=False, stream=out)
    assert again.step == stop and "stopped early at step" in out.getvalue() and "nothing to do" in out.getvalue()


@pytest.mark.slow
def test_example_eval_uses_the_moving_averages(example_run):
    """eval's metrics equal the model run by hand on the checkpoint's averages; --raw-weights differs."""
    from slimlang.training.build import build_inputs
    from slimlang.training.data import open_data

    module, spec, logdir, result, _ = example_run
    model = module.models["digits_net"]
    ev = evaluate(spec, model, logdir=str(logdir))
    raw = evaluate(spec, model, logdir=str(logdir), raw_weights=True)
    assert any("moving averages" in n for n in ev.notes)
    reader = tf.train.load_checkpoint(result.checkpoint)
    data = open_data(spec.data)
    with tf.Graph().as_default():
        it, images, labels, feed = build_inputs(data, "eval", 4096, training=False, repeat=False,
                                                drop_remainder=False)
        net, _ = model(images, is_training=False)
        assigns = [v.assign(reader.get_tensor(v.op.name + "/ExponentialMovingAverage"))
                   for v in tf1.global_variables()]
        with tf1.Session() as sess:
            sess.run(assigns)
            sess.run(it.initializer, feed)
            logits, y, x = sess.run([net, labels[data.default_field], images])
    logits = logits.reshape(len(y), -1).astype(np.float64)
    accuracy = float(np.mean(np.argmax(logits, 1) == y))
    z = logits - logits.max(1, keepdims=True)
    xent = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))
    assert ev.metrics["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert ev.metrics["loss"] == pytest.approx(xent, rel=1e-4)
    assert raw.metrics["loss"] != pytest.approx(ev.metrics["loss"], rel=1e-4)
    # export, by default, serves the averages too
    from slimlang.training.saved_model import export

    out = logdir.parent / "digits_best_export"
    export(spec, model, out=str(out), logdir=str(logdir))
    served = tf.saved_model.load(str(out)).signatures["serving_default"](images=tf.constant(x[:64]))["logits"]
    np.testing.assert_allclose(served.numpy(), logits[:64], rtol=1e-4, atol=1e-5)


def test_a_defaults_parameter_is_set_from_the_model_line():
    """weight_decay of the defaults block the model uses: 100x the decay, 100x the regularization loss."""
    from slimlang.training.model import call_model

    text = ("defaults d(weight_decay = 0.0001) {\n  fc: weights_regularizer=l2(weight_decay)\n}\n"
            + MODEL.replace(") {", ") uses d {", 1).replace("BODY", "  model m weight_decay=0.01\n  steps 1"))
    module = slimlang.loads(text, "/nowhere/t.slim")
    (spec,) = module.train_specs
    assert spec.model.params == {"weight_decay": 0.01}
    losses = []
    for params in ({}, spec.model.params):
        with tf.Graph().as_default():
            tf1.set_random_seed(1)
            call_model(module.models["m"], tf1.placeholder(tf.float32, [None, 8, 8, 1]), dict(params),
                       is_training=True)
            reg = tf.add_n(tf1.losses.get_regularization_losses())
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                losses.append(sess.run(reg))
    assert losses[1] == pytest.approx(100 * losses[0], rel=1e-5)


def test_labels_offset_shifts_class_labels(tmp_path):
    """labels 1..10 with labels_offset=1 train a 10-class model as labels 0..9 do; without it, E323."""
    x = np.load(DIGITS)
    np.savez(tmp_path / "d.npz", images=x["images"][:256], labels=x["labels"][:256] + 1)
    spec = build_spec([setting("data", "npz", str(tmp_path / "d.npz"), validation=0.25, seed=1),
                       setting("loss", "softmax_cross_entropy", labels_offset=1), setting("optimizer", "sgd", lr=0.1),
                       setting("batch_size", 32), setting("steps", 60), setting("validate", every=60),
                       setting("seed", 1)], {"mlp": mlp})
    r = train(spec, mlp, logdir=str(tmp_path / "run"), progress=False, stream=io.StringIO())
    assert r.validation["accuracy"] > 0.5  # chance is 0.1
    with pytest.raises(SlimError) as ei:
        train(with_overrides(spec, losses=(dataclasses.replace(spec.losses[0], labels_offset=0),)), mlp,
              logdir=str(tmp_path / "run2"), progress=False, stream=io.StringIO())
    d = only(ei.value.diagnostics, "E323")
    assert "labels must be 0..9" in d.message and "labels_offset=1" in d.render()
    assert "labels_offset applies to class labels" in only(
        errors("  steps 1\n  loss mean_squared_error labels_offset=1 name=r"), "E310").message


def test_a_metric_the_heads_lack_is_e313_when_the_graph_is_built(tmp_path):
    """top_5_accuracy is listed for classification heads, but a head of 5 classes has none."""
    spec = build_spec([setting("data", "npz", DIGITS, validation=0.2, seed=1, classes=[0, 1, 2, 3, 4]),
                       setting("loss", "softmax_cross_entropy"), setting("steps", 2),
                       setting("model", "mlp", num_classes=5),
                       setting("validate", every=1), setting("keep_best", on="top_5_accuracy")], {"mlp": mlp})
    with pytest.raises(SlimError) as ei:
        train(spec, mlp, logdir=str(tmp_path), progress=False, stream=io.StringIO())
    d = only(ei.value.diagnostics, "E313")
    assert "top_5_accuracy" in d.message and "validation reports accuracy" in d.render()
    assert not any(tmp_path.glob("model.ckpt-*"))


@pytest.mark.slow
def test_example_cli_eval_best_and_raw_weights(example_run, capsys):
    from slimlang.cli import main

    module, spec, logdir, result, log = example_run
    vals = _validations(log)
    best_acc = max(a for a, _ in vals.values())
    assert main(["eval", str(EXAMPLE), "--logdir", str(logdir), "--best"]) == 0
    out, err = capsys.readouterr()
    assert f"accuracy: {best_acc:.4f}" in out and "best/model.ckpt-" in err and "moving averages" in err
    assert main(["eval", str(EXAMPLE), "--logdir", str(logdir), "--best", "--raw-weights"]) == 0
    out, err = capsys.readouterr()
    assert "moving averages" not in err
    assert main(["eval", str(EXAMPLE), "--logdir", str(logdir), "--best", "--checkpoint",
                 result.checkpoint]) == 2
    assert "--best or --checkpoint" in capsys.readouterr().err


def test_a_best_checkpoint_that_cannot_be_written_is_located(tmp_path):
    (tmp_path / "best").write_text("a file where the best/ folder goes")
    spec = mlp_spec(setting("validate", every=2), setting("keep_best", on="accuracy"), steps=4)
    with pytest.raises(SlimError) as ei:
        train(spec, mlp, logdir=str(tmp_path), progress=False, stream=io.StringIO())
    d = ei.value.diagnostics[0]
    assert d.code in ("E350", "E355") and "model.ckpt-2" in d.message, d.render()
    assert (tmp_path / "best").read_text().startswith("a file")
