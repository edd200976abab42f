"""`slimlang export --format savedmodel|frozen|tflite` (issue 16): each format loads and predicts what the
SavedModel predicts on a batch (frozen within 1e-5, TFLite within 1e-4); existing files are replaced only
when they are previous exports of the format, and only with --overwrite."""

import pathlib
import re

import numpy as np
import pytest

from slimlang.cli import main

tfc = pytest.importorskip("slimlang.tfcompat")
tf = tfc.tf
tf1 = tf.compat.v1

from slimlang.training.formats import tflite_interpreter  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

DIGITS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "data" / "digits.npz"
SLIM = f"""\
model net(inputs: [8, 8, 1], num_classes = 10) {{
  conv 8 3x3 padding=SAME as conv1
  pool 2x2 as pool1
  flatten
  fc 32 as fc2
  fc num_classes activation=none as logits
}}
train {{
  model net
  data npz "{DIGITS}" validation=0.2 seed=1
  loss softmax_cross_entropy
  optimizer adam lr=0.01
  steps 60
  seed 1
}}
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    f = d / "net.slim"
    f.write_text(SLIM)
    assert main(["train", str(f), "--logdir", str(d / "run"), "--no-progress"]) == 0
    for fmt, out in (("savedmodel", "sm"), ("frozen", "net.pb"), ("tflite", "net.tflite")):
        assert main(["export", str(f), "--logdir", str(d / "run"), "--out", str(d / out), "--format", fmt]) == 0
    with np.load(DIGITS) as z:
        batch = z["images"][:64].astype(np.float32)
    return d, f, batch


def _savedmodel(d, batch):
    with tf.Graph().as_default(), tf1.Session() as s:
        meta = tf1.saved_model.loader.load(s, ["serve"], str(d / "sm"))
        sig = meta.signature_def["serving_default"]
        return s.run({k: v.name for k, v in sig.outputs.items()}, {sig.inputs["images"].name: batch})


def test_frozen_graph_predicts_as_the_savedmodel(exported):
    d, _, batch = exported
    want = _savedmodel(d, batch)
    graph = tf1.GraphDef()
    graph.ParseFromString((d / "net.pb").read_bytes())
    assert not [n.name for n in graph.node if n.op in ("VariableV2", "VarHandleOp")]  # frozen: no variables
    with tf.Graph().as_default() as g, tf1.Session() as s:
        tf1.import_graph_def(graph, name="")
        got = s.run({k: f"outputs/{k}:0" for k in want}, {"images:0": batch})
        assert g.get_tensor_by_name("images:0").shape.as_list() == [None, 8, 8, 1]
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5, rtol=0, err_msg=k)


def test_tflite_model_predicts_as_the_savedmodel(exported):
    d, _, batch = exported
    want = _savedmodel(d, batch)
    it = tflite_interpreter((d / "net.tflite").read_bytes())
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], list(batch.shape))
    it.allocate_tensors()
    it.set_tensor(inp["index"], batch)
    it.invoke()
    got = {o["name"].removeprefix("outputs/"): it.get_tensor(o["index"]) for o in it.get_output_details()}
    assert set(got) == set(want) == {"logits", "probabilities", "classes"}
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-4, rtol=0)
    assert np.array_equal(got["classes"], want["classes"])


def test_tflite_export_prints_only_its_own_line(exported, tmp_path, capfd):
    """TensorFlow's interpreter (export checks that the file loads) once warned that LiteRT replaces it,
    and its XNNPACK delegate printed an INFO line."""
    import warnings

    d, f, _ = exported
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main(["export", str(f), "--logdir", str(d / "run"), "--out", str(tmp_path / "again.tflite"),
                     "--format", "tflite"]) == 0
    err = capfd.readouterr().err
    # (TensorFlow's C++ log lines depend on the level this test process started TensorFlow with; a
    # command sets its own: tests/test_newuser.py runs them as a user does.)
    assert [line for line in err.splitlines() if line.strip() and not re.match(r"[IWEF]\d{4} ", line)] == [
        f"exported {d / 'run' / 'model.ckpt-60'} to {tmp_path / 'again.tflite'} (tflite: input `images`, "
        "outputs under `outputs/`)"], err
    assert "XNNPACK" not in err
    assert not [w for w in seen if "tf.lite.Interpreter" in str(w.message)]


def test_existing_files_are_replaced_only_when_they_are_previous_exports(exported, tmp_path, capsys):
    d, f, _ = exported
    run = ["export", str(f), "--logdir", str(d / "run")]
    before = (d / "net.pb").read_bytes()
    assert main(run + ["--out", str(d / "net.pb"), "--format", "frozen"]) == 1
    assert "error[E354]: --out" in capsys.readouterr().err and (d / "net.pb").read_bytes() == before
    notes = tmp_path / "notes.pb"
    notes.write_text("my notes")
    assert main(run + ["--out", str(notes), "--format", "frozen", "--overwrite"]) == 1
    assert "not a previous --format frozen export" in capsys.readouterr().err and notes.read_text() == "my notes"
    assert main(run + ["--out", str(d / "net.pb"), "--format", "tflite", "--overwrite"]) == 1  # a .pb is no tflite
    assert main(run + ["--out", str(d / "run" / "checkpoint"), "--format", "tflite", "--overwrite"]) == 1
    assert "error[E353]" in capsys.readouterr().err
    assert main(run + ["--out", str(d / "run"), "--format", "frozen"]) == 1
    assert "error[E355]" in capsys.readouterr().err
    assert main(run + ["--out", str(d / "net.pb"), "--format", "frozen", "--overwrite"]) == 0
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []  # no temporaries left


def test_exported_files_get_the_normal_mode(exported):
    """Written through a temporary name, as `build -o` is (that once left mkstemp's 0600): 0666 minus the umask."""
    import stat

    from slimlang.fsutil import new_file_mode

    d, _, _ = exported
    files = [d / "net.pb", d / "net.tflite", *(p for p in (d / "sm").rglob("*") if p.is_file())]
    assert len(files) >= 4
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: oct(new_file_mode()) for p in files}
