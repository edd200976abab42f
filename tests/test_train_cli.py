"""`slimlang train | eval | export` on a .slim file: the commands, their output, and checkpoint interchange
with the Python that `slimlang build --emit py` writes."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

from slimlang.cli import main

tfc = pytest.importorskip("slimlang.tfcompat")
tf = tfc.tf
tf1 = tf.compat.v1

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "data" / "digits.npz"
MODEL = """\
defaults digits_defaults(weight_decay = 0.0001) {
  conv, fc: activation=relu, weights_regularizer=l2(weight_decay)
  conv: padding=SAME
}

model digits_net(inputs: [8, 8, 1], num_classes = 10, is_training = true,
                 dropout_keep_prob = 0.5) uses digits_defaults {
  conv 16 3x3 as conv1
  pool 2x2 as pool1
  flatten
  fc 64 as fc2
  dropout dropout_keep_prob is_training=is_training as dropout2
  fc num_classes activation=none as logits endpoint
}
"""


def write(tmp_path, train_body, name="digits.slim"):
    f = tmp_path / name
    f.write_text(MODEL + "\ntrain {\n" + train_body + "\n}\n")
    return str(f)


TRAIN = f"""\
  data npz "{DIGITS}" validation=0.2 seed=1
  loss softmax_cross_entropy
  optimizer adam lr=0.01
  batch_size 64
  steps 120
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    f = write(tmp, TRAIN)
    logdir = str(tmp / "L")
    assert main(["train", f, "--logdir", logdir, "--no-progress"]) == 0
    return tmp, f, logdir


def test_train_then_eval_prints_metrics(trained, capsys):
    tmp, f, logdir = trained
    assert (pathlib.Path(logdir) / "model.ckpt-120.index").exists()
    capsys.readouterr()
    assert main(["eval", f, "--logdir", logdir]) == 0
    out, err = capsys.readouterr()
    lines = dict(line.split(": ") for line in out.strip().splitlines())
    assert list(lines) == ["accuracy", "top_5_accuracy", "loss/softmax_cross_entropy", "loss"]
    assert float(lines["accuracy"]) > 0.9
    assert "model.ckpt-120 (step 120): 359 eval examples" in err


def test_flags_override_the_file_and_resume(trained, capsys):
    tmp, f, logdir = trained
    assert main(["train", f, "--logdir", logdir, "--steps", "130", "--batch-size", "16", "--no-progress",
                 "--set", "dropout_keep_prob=0.9"]) == 0
    err = capsys.readouterr().err
    assert f"resuming from {logdir}/model.ckpt-120 at step 120" in err and "trained steps 120..130" in err
    assert "steps 120..130, batch 16, into" in err
    assert main(["train", f, "--logdir", logdir, "--set", "num_classes=5"]) == 1  # digits 0-9 in 5 classes
    assert "error[E323]: label 9 in `labels` is out of range" in capsys.readouterr().err


def test_export_writes_a_savedmodel_that_predicts(trained, capsys):
    tmp, f, logdir = trained
    out = str(tmp / "sm")
    assert main(["export", f, "--logdir", logdir, "--out", out]) == 0
    assert main(["export", f, "--logdir", logdir, "--out", out]) == 1  # exists: refuses
    assert "--overwrite" in capsys.readouterr().err
    d = np.load(DIGITS)
    with tf.Graph().as_default(), tf1.Session() as s:  # TF1 loader
        meta = tf1.saved_model.loader.load(s, ["serve"], out)
        sig = meta.signature_def["serving_default"]
        assert set(sig.outputs) == {"logits", "probabilities", "classes"}
        classes = s.run(sig.outputs["classes"].name, {sig.inputs["images"].name: d["images"][:200]})
    assert np.mean(classes == d["labels"][:200]) > 0.9
    loaded = tf.saved_model.load(out)  # TF2 loader
    probs = loaded.signatures["serving_default"](images=tf.constant(d["images"][:5]))["probabilities"].numpy()
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_plan_prints_without_training(tmp_path, trained, capsys):
    _, _, pre = trained
    f = write(tmp_path, TRAIN + f'  init_from "{pre}" exclude=["logits"]\n  trainable "logits"')
    assert main(["train", f, "--logdir", str(tmp_path / "L"), "--plan"]) == 0
    err = capsys.readouterr().err
    assert "restore plan: 6 variables from" in err
    assert "digits_net/conv1/weights" in err and "excluded" in err
    assert not (tmp_path / "L").exists() or not list((tmp_path / "L").glob("model.ckpt*"))


def test_user_errors_exit_1_with_a_located_message(tmp_path, capsys):
    f = write(tmp_path, TRAIN.replace(str(DIGITS), str(tmp_path / "digitz.npz")))
    assert main(["train", f, "--logdir", str(tmp_path / "L")]) == 1
    err = capsys.readouterr().err
    assert "error[E320]" in err and f"{f}:" in err and "Traceback" not in err
    assert main(["eval", f, "--logdir", str(tmp_path / "nothing")]) == 1
    assert "error[E344]" in capsys.readouterr().err
    nosec = tmp_path / "nosection.slim"
    nosec.write_text(MODEL)
    assert main(["train", str(nosec)]) == 2
    assert "no train section" in capsys.readouterr().err
    f2 = tmp_path / "two.slim"
    f2.write_text(MODEL + f'train a {{ data npz "{DIGITS}"; loss mse }}\ntrain b {{ data npz "{DIGITS}"; loss mse }}\n')
    assert main(["train", str(f2)]) == 2
    assert "--section" in capsys.readouterr().err
    assert main(["train", str(f2), "--section", "c"]) == 2


def test_checkpoints_interchange_with_emitted_python(trained, tmp_path, capsys):
    _, f, logdir = trained
    py = tmp_path / "digits_model.py"
    assert main(["build", f, "--emit", "py", "-o", str(py)]) == 0
    spec = importlib.util.spec_from_file_location("digits_model_emitted", py)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    d = np.load(DIGITS)
    ckpt = tf1.train.latest_checkpoint(logdir)
    # slimlang train's checkpoint -> the emitted module
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [None, 8, 8, 1])
        with tfc.slim.arg_scope(mod.digits_defaults()) if hasattr(mod, "digits_defaults") else _null():
            net, _ = mod.digits_net(x, is_training=False)
        with tf1.Session() as s:
            tf1.train.Saver(tf1.global_variables()).restore(s, ckpt)
            acc = np.mean(s.run(net, {x: d["images"]}).argmax(1) == d["labels"])
            # ... and the emitted module's own checkpoint -> slimlang eval
            tf1.train.Saver(tf1.global_variables()).save(s, str(tmp_path / "emitted" / "model.ckpt"),
                                                         global_step=7)
    assert acc > 0.9
    capsys.readouterr()
    assert main(["eval", f, "--checkpoint", str(tmp_path / "emitted" / "model.ckpt-7")]) == 0
    out = capsys.readouterr().out
    assert float(out.split("accuracy: ")[1].split()[0]) > 0.9


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.slow
def test_a_logdir_with_only_an_earlier_runs_events_says_it_starts_at_step_0(tmp_path, capsys):
    """Issue 18: a rerun after a kill before the first checkpoint once started over without a word."""
    f = write(tmp_path, TRAIN)
    logdir = tmp_path / "L"
    logdir.mkdir()
    (logdir / "events.out.tfevents.1796000000.host").write_bytes(b"")  # the killed run's TensorBoard file
    assert main(["train", f, "--logdir", str(logdir), "--steps", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"no checkpoint in {logdir}; starting at step 0\n" in err, err
    assert "trained steps 0..2" in err
    assert (logdir / "events.out.tfevents.1796000000.host").is_file()  # what the command did not create is kept
