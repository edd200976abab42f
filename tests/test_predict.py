"""`slimlang predict`: top classes with names and probabilities for image files, .npz and .csv inputs;
bad inputs are located errors; predictions equal the exported SavedModel's."""

import csv
import pathlib

import numpy as np
import pytest

from slimlang.cli import main

tfc = pytest.importorskip("slimlang.tfcompat")
tf = tfc.tf
tf1 = tf.compat.v1

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "data" / "digits.npz"

MLP = """\
model mlp(inputs: [8, 8, 1], num_classes = 10) {
  flatten
  fc 32 as fc1
  fc num_classes activation=none as logits
}
"""


def _png(path, pixels):
    with tf.Graph().as_default(), tf1.Session() as s:
        path.write_bytes(s.run(tf.io.encode_png(tf.constant(pixels, tf.uint8))))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A model trained on the digits (npz data, no class names but a labels.txt beside a copy)."""
    d = tmp_path_factory.mktemp("pdigits")
    (d / "data").mkdir()
    (d / "data" / "digits.npz").write_bytes(DIGITS.read_bytes())
    (d / "data" / "labels.txt").write_text("".join(f"{i}:digit{i}\n" for i in range(10)))
    f = d / "d.slim"
    f.write_text(MLP + """train {
  model mlp
  data npz "data/digits.npz" validation=0.2 seed=1
  loss softmax_cross_entropy
  optimizer adam lr=0.01
  batch_size 64
  steps 150
  seed 1
}
""")
    assert main(["train", str(f), "--logdir", str(d / "run"), "--no-progress"]) == 0
    with np.load(DIGITS) as z:
        x, y = z["images"], z["labels"]
    return d, f, x, y


def test_npz_and_csv_inputs_print_top_classes_with_names(digits, capsys):
    d, f, x, y = digits
    np.savez(d / "few.npz", images=x[:20])
    np.savetxt(d / "few.csv", x[:3].reshape(3, -1), delimiter=",")
    capsys.readouterr()
    assert main(["predict", str(f), "--logdir", str(d / "run"), str(d / "few.npz"), str(d / "few.csv"),
                 "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 23
    assert lines[0].startswith(f"{d / 'few.npz'}[0]: digit")
    assert lines[20].startswith(f"{d / 'few.csv'}:1: ")
    best = [int(line.split(": ", 1)[1].split()[0].removeprefix("digit")) for line in lines]
    assert np.mean(np.array(best[:20]) == y[:20]) >= 0.85
    assert best[20:] == best[:3]  # the same pixels through a CSV
    probs = [float(p) for p in lines[0].split(": ", 1)[1].replace(",", "").split()[1::2]]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001


def test_csv_output_one_row_per_input(digits, tmp_path):
    d, f, x, _ = digits
    np.savez(tmp_path / "two.npz", images=x[5:7])
    out = tmp_path / "p.csv"
    assert main(["predict", str(f), "--logdir", str(d / "run"), str(tmp_path / "two.npz"), "-o", str(out),
                 "--top", "2"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["input", "class_1", "name_1", "probability_1", "class_2", "name_2", "probability_2"]
    assert len(rows) == 3 and rows[1][0].endswith("two.npz[0]") and rows[1][2] == f"digit{rows[1][1]}"


@pytest.mark.parametrize("name, content, expect", [
    ("short.csv", "1,2\n3,4\n", "short.csv:1:1: error[E360]: "),
    ("cell.csv", ",".join(["0.5"] * 10 + ["oops"] + ["0.5"] * 53) + "\n" + ",".join(["0.5"] * 64) + "\n",
     "cell.csv:1:41: error[E360]: "),
    ("img.png", "not an image", "error[E360]: input "),
    ("odd.txt", "1", "cannot tell what it holds"),
], ids=["short", "cell", "image", "suffix"])
def test_bad_inputs_are_located_errors(digits, tmp_path, capsys, name, content, expect):
    d, f, _, _ = digits
    (tmp_path / name).write_text(content)
    assert main(["predict", str(f), "--logdir", str(d / "run"), str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def test_wrong_shape_npz_and_missing_input(digits, tmp_path, capsys):
    d, f, _, _ = digits
    np.savez(tmp_path / "wide.npz", images=np.zeros((2, 9, 9, 1), np.float32))
    assert main(["predict", str(f), "--logdir", str(d / "run"), str(tmp_path / "wide.npz")]) == 1
    assert "has shape [2, 9, 9, 1]; the model takes examples of shape [8, 8, 1]" in capsys.readouterr().err
    assert main(["predict", str(f), "--logdir", str(d / "run"), str(tmp_path / "wide.npzz")]) == 1
    assert "did you mean `wide.npz`" in capsys.readouterr().err


def test_image_folder_data_names_classes_and_matches_the_savedmodel(tmp_path, capsys):
    """Image files through predict equal the exported SavedModel on the same decoded pixels."""
    rng = np.random.default_rng(0)
    for cls, lo in (("dark", 0), ("light", 160)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            _png(tmp_path / "imgs" / cls / f"{i}.png", rng.integers(lo, lo + 90, (10, 10, 1)))
    f = tmp_path / "f.slim"
    f.write_text("""model tiny(inputs: [8, 8, 1], num_classes = 2) {
  flatten
  fc num_classes activation=none as logits
}
train {
  model tiny
  data folder "imgs" channels=1 crop=[8, 8]
  loss softmax_cross_entropy
  optimizer adam lr=0.05
  batch_size 8
  steps 60
  seed 2
}
""")
    assert main(["train", str(f), "--logdir", str(tmp_path / "run"), "--no-progress"]) == 0
    _png(tmp_path / "a.png", np.full((10, 10, 1), 20))
    _png(tmp_path / "b.png", np.full((14, 14, 1), 230))  # another size: resized as the data is
    capsys.readouterr()
    assert main(["predict", str(f), "--logdir", str(tmp_path / "run"), str(tmp_path / "a.png"),
                 str(tmp_path / "b.png"), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'a.png'}: dark ") and lines[1].startswith(f"{tmp_path / 'b.png'}: light ")
    assert main(["export", str(f), "--logdir", str(tmp_path / "run"), "--out", str(tmp_path / "sm")]) == 0
    with tf.Graph().as_default(), tf1.Session() as s:
        meta = tf1.saved_model.loader.load(s, ["serve"], str(tmp_path / "sm"))
        out = meta.signature_def["serving_default"].outputs["probabilities"].name
        pixels = s.run(tf.cast(tf.io.decode_image((tmp_path / "a.png").read_bytes(), channels=1), tf.float32))
        p = s.run(out, {"images:0": pixels[None]})
    shown = float(lines[0].split()[2].rstrip(","))
    assert abs(shown - float(np.max(p))) < 1e-4


def test_predict_shows_the_datas_labels_under_labels_offset(tmp_path, capsys):
    """labels_offset=1 (the data's class 0 is `background`, which the model lacks): the model's class 0 is
    the data's label 1, and predict names it so."""
    rng = np.random.default_rng(1)
    y = np.repeat([1, 2], 40)
    x = np.where(y[:, None, None, None] == 1, 0.1, 0.9) + rng.normal(0, 0.05, (80, 4, 4, 1))
    np.savez(tmp_path / "d.npz", images=x.astype(np.float32), labels=y)
    (tmp_path / "labels.txt").write_text("0:background\n1:dark\n2:light\n")
    f = tmp_path / "f.slim"
    f.write_text("""model tiny(inputs: [4, 4, 1], num_classes = 2) {
  flatten
  fc num_classes activation=none as logits
}
train {
  model tiny
  data npz "d.npz"
  loss softmax_cross_entropy labels_offset=1
  optimizer adam lr=0.1
  batch_size 16
  steps 40
  seed 1
}
""")
    assert main(["train", str(f), "--logdir", str(tmp_path / "run"), "--no-progress"]) == 0
    np.savez(tmp_path / "q.npz", images=x[[0, 79]].astype(np.float32))
    capsys.readouterr()
    assert main(["predict", str(f), "--logdir", str(tmp_path / "run"), str(tmp_path / "q.npz"), "--top", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(": ", 1)[1].startswith("dark") and lines[1].split(": ", 1)[1].startswith("light"), lines
