"""Data that is wrong must not train silently: damaged files are found when the
data is opened, and the error names the file (and the record)."""

import os

import numpy as np
import pytest

from slimlang.diagnostics import SlimError
from slimlang.trainspec import build_spec, setting

tf = pytest.importorskip("slimlang.tfcompat").tf
tf1 = tf.compat.v1

from slimlang.training import data as data_mod
from slimlang.training.data import open_data


def model(inputs, num_classes=3, is_training=True):
    return inputs


def dspec(kind, path, **opts):
    spec = build_spec([setting("data", kind, str(path), **opts), setting("loss", "softmax_cross_entropy")],
                      {"model": model})
    return spec.data


def opened_error(kind, path, **opts) -> SlimError:
    with pytest.raises(SlimError) as ei:
        open_data(dspec(kind, path, **opts))
    return ei.value


def text(err: SlimError) -> str:
    d = err.first
    return d.message + "\n" + "\n".join(d.notes)


_ENCODED = {}


def encode(h, w, fmt="png", c=3):
    key = (h, w, fmt, c)
    if key not in _ENCODED:
        img = (np.arange(h * w * c).reshape(h, w, c) * 7 % 256).astype(np.uint8)
        with tf.Graph().as_default(), tf1.Session() as s:
            _ENCODED[key] = s.run(tf.io.encode_png(img) if fmt == "png" else tf.io.encode_jpeg(img, quality=90))
    return _ENCODED[key]


def example(image: bytes, label: int) -> bytes:
    f = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
         "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
    return tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString()


def write_records(path, images):
    with tf.io.TFRecordWriter(str(path)) as w:
        for i, img in enumerate(images):
            w.write(example(img, i % 2))
    return path


# ------------------------------------------------------------ TFRecord ---


def test_tfrecord_truncated_to_two_thirds_names_file_and_record(tmp_path):
    p = write_records(tmp_path / "train.tfrecord", [encode(6, 6)] * 12)
    whole = p.read_bytes()
    assert open_data(dspec("tfrecord", p)).n_total == 12
    # 12 records of one size: 2/3 of the bytes would end on a record boundary, a file
    # indistinguishable from one of 8 records; a real cut lands inside a record.
    p.write_bytes(whole[: len(whole) * 2 // 3 + 7])
    # TensorFlow alone reads the intact records and stops without a word:
    with tf.Graph().as_default(), tf1.Session() as s:
        n = s.run(tf.data.TFRecordDataset(str(p)).reduce(np.int64(0), lambda a, _: a + 1))
    assert 0 < n < 12
    err = opened_error("tfrecord", p)
    assert err.first.code == "E328"
    assert str(p) in err.first.message and f"record {n}" in err.first.message
    assert f"records 0..{n - 1} are intact" in text(err)


def test_tfrecord_cut_inside_a_header_and_in_a_second_shard(tmp_path):
    a = write_records(tmp_path / "d-00000-of-00002", [encode(6, 6)] * 3)
    b = write_records(tmp_path / "d-00001-of-00002", [encode(6, 6)] * 3)
    b.write_bytes(b.read_bytes() + b"\x05\x00\x00")  # 3 bytes of a fourth header
    err = opened_error("tfrecord", tmp_path / "d-*")
    assert err.first.code == "E328" and str(b) in err.first.message and str(a) not in err.first.message
    assert "header of record 3" in err.first.message


def test_tfrecord_record_failing_its_crc_names_file_and_record(tmp_path):
    ok = write_records(tmp_path / "a.tfrecord", [encode(6, 6)] * 4)
    p = write_records(tmp_path / "b.tfrecord", [encode(6, 6)] * 4)
    raw = bytearray(p.read_bytes())
    rec = len(raw) // 4
    raw[2 * rec + 40] ^= 0xFF  # a data byte of record 2: the framing is intact, its CRC is not
    p.write_bytes(bytes(raw))
    err = opened_error("tfrecord", tmp_path / "*.tfrecord")
    assert err.first.code == "E328"
    assert str(p) in err.first.message and str(ok) not in err.first.message
    assert "record 2" in err.first.message and "checksum" in err.first.message


def test_tfrecord_bad_image_in_a_record_is_named_at_open(tmp_path):
    jpg = encode(6, 6, "jpeg")
    images = [encode(6, 6), encode(6, 6), jpg[: len(jpg) // 2], encode(6, 6), b"", encode(6, 6)]
    p = write_records(tmp_path / "r.tfrecord", images)
    err = opened_error("tfrecord", p)
    assert err.first.code == "E328"
    assert f"{p} record 2" in err.first.message and "truncated JPEG" in err.first.message
    assert "record 4" in text(err) and "empty" in text(err)


def test_tfrecord_bad_first_image_is_named(tmp_path):
    p = write_records(tmp_path / "r.tfrecord", [encode(6, 6)[:-20], encode(6, 6)])
    err = opened_error("tfrecord", p)
    assert err.first.code == "E328" and f"{p} record 0" in err.first.message and "PNG" in err.first.message


def test_tfrecord_framing_walk_counts_records(tmp_path):
    p = write_records(tmp_path / "r.tfrecord", [encode(6, 6)] * 7 + [encode(9, 9)])
    assert data_mod.tfrecord_frames(str(p)) == 8
    (tmp_path / "e.tfrecord").write_bytes(b"")
    assert data_mod.tfrecord_frames(str(tmp_path / "e.tfrecord")) == 0


# ------------------------------------------------------ image folders ---


def folder(tmp_path, extra: dict):
    root = tmp_path / "imgs"
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(encode(6, 6))
    for rel, data in extra.items():
        (root / rel).write_bytes(data)
    return root


@pytest.mark.parametrize("name,data,what", [
    ("dog/empty.jpg", b"", "is empty (0 bytes)"),
    ("dog/notes.png", b"just some text, not pixels\n", "is not a JPEG, PNG, GIF or BMP image"),
    ("cat/broken.jpg", b"\xff\xd8\xff\xe0" + bytes(200), "broken JPEG header"),
    ("cat/cut.jpg", "jpeg-half", "truncated JPEG"),
    ("cat/cut.png", "png-half", "truncated PNG"),
])
def test_folder_damaged_image_is_named_at_open(tmp_path, name, data, what):
    if data == "jpeg-half":
        data = encode(6, 6, "jpeg")[:-40]
    elif data == "png-half":
        data = encode(6, 6)[:-30]
    root = folder(tmp_path, {name: data})
    err = opened_error("folder", root)
    assert err.first.code == "E328"
    assert str(root / name) in err.first.message and what in err.first.message


def test_folder_lists_every_damaged_file(tmp_path):
    root = folder(tmp_path, {"cat/a.jpg": b"", "dog/b.jpg": b"", "dog/c.png": b"xx"})
    err = opened_error("folder", root)
    assert err.first.code == "E328" and "and 2 more damaged files" in err.first.message
    assert str(root / "dog" / "b.jpg") in text(err) and str(root / "dog" / "c.png") in text(err)


def test_folder_jpeg_with_bytes_after_its_end_marker_is_fine(tmp_path):
    root = folder(tmp_path, {"cat/tail.jpg": encode(6, 6, "jpeg") + bytes(100)})
    d = open_data(dspec("folder", root))
    assert d.n_total == 7
    with tf.Graph().as_default():
        ds, feed = d.dataset("all", 7, training=False, repeat=False)
        it = tf1.data.make_initializable_iterator(ds)
        with tf1.Session() as s:
            s.run(it.initializer, feed_dict=feed)
            x, _ = s.run(it.get_next())
    assert x.shape == (7, 6, 6, 3)


def test_truncated_jpeg_really_fails_to_decode():
    # What the open-time check spares the user: TensorFlow refuses such a file at train time.
    with tf.Graph().as_default(), tf1.Session() as s, pytest.raises(tf.errors.InvalidArgumentError):
        s.run(tf.io.decode_image(encode(6, 6, "jpeg")[:-40], channels=3, expand_animations=False))


def test_image_problem_is_none_for_whole_images():
    for fmt in ("png", "jpeg"):
        b = encode(5, 7, fmt)
        assert data_mod.image_problem(b[:4096], b[-16:], len(b), data_mod.header_hw(b)) is None


# ------------------------------------------------------------ npz ---


def write_npz(path, shape=(8, 8, 1), n=12):
    np.savez(path, images=np.random.RandomState(0).rand(n, *shape).astype(np.float32),
             labels=(np.arange(n) % 3).astype(np.int64))
    return path


def slim_model(text="inputs: [8, 8, 1], num_classes = 3"):
    import slimlang

    mod = slimlang.loads(f"model m({text}) {{\n  conv 4 3x3\n  flatten\n  fc num_classes as logits\n}}\n",
                         "m.slim")
    return mod.m


@pytest.mark.parametrize("shape,opts,hint", [
    ((8, 8, 3), {}, "3 channels, the model takes 1"),
    ((9, 7, 1), {}, "resize=[8, 8]"),
    ((64,), {}, "reshape the array to [N, 8, 8, 1]"),
    ((12, 12, 1), {"resize": [10, 10]}, "after resize=[10, 10]"),
])
def test_npz_examples_of_another_shape_than_the_model_declares(tmp_path, shape, opts, hint):
    from slimlang.training.model import call_model

    d = open_data(dspec("npz", write_npz(tmp_path / "d.npz", shape), **opts))
    m = slim_model()
    with tf.Graph().as_default(), pytest.raises(SlimError) as ei:
        call_model(m, tf1.placeholder(tf.float32, (None,) + shape), {}, is_training=False, data=d, model_name="m")
    err = ei.value
    assert err.first.code == "E329" and "declares its input as [8, 8, 1]" in err.first.message
    assert f"are [{', '.join(map(str, d.input_shape))}] per example" in err.first.message
    assert hint in text(err)
    assert len(err.diagnostics) == 1 and "note: model `m` declares its input at m.slim:1:9" in text(err)


def test_npz_of_the_declared_shape_or_resized_to_it_builds(tmp_path):
    from slimlang.training.model import call_model

    m = slim_model()
    for shape, opts in (((8, 8, 1), {}), ((12, 12, 1), {"resize": [8, 8]})):
        d = open_data(dspec("npz", write_npz(tmp_path / "d.npz", shape), **opts))
        with tf.Graph().as_default():
            net, _ = call_model(m, tf1.placeholder(tf.float32, (None,) + d.input_shape), {}, is_training=False,
                                data=d, model_name="m")
        assert net.shape.as_list() == [None, 3]
    d = open_data(dspec("npz", write_npz(tmp_path / "d.npz", (5, 6, 1))))
    with tf.Graph().as_default():  # a model that declares no shape takes any
        call_model(slim_model("inputs, num_classes = 3"), tf1.placeholder(tf.float32, (None, 5, 6, 1)),
                   {}, is_training=False, data=d, model_name="m")


def test_npz_random_bytes_npy_folder_and_devices(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(os.urandom(300).replace(b"PK", b"pk").replace(b"\x93NUMPY", b"x"))
    err = opened_error("npz", junk)
    assert err.first.code == "E320" and "is not an npz file: it is not a zip archive" in err.first.message
    assert "pickle" not in text(err)
    cut = write_npz(tmp_path / "cut.npz")
    cut.write_bytes(cut.read_bytes()[:200])
    err = opened_error("npz", cut)
    assert err.first.code == "E320" and "damaged or cut-off zip archive" in err.first.message
    (tmp_path / "empty.npz").write_bytes(b"")
    assert "is empty (0 bytes)" in opened_error("npz", tmp_path / "empty.npz").first.message
    np.save(tmp_path / "one.npy", np.zeros(3))
    err = opened_error("npz", tmp_path / "one.npy")
    assert err.first.code == "E320" and ".npy file (one array)" in err.first.message
    sub = tmp_path / "data"
    sub.mkdir()
    write_npz(sub / "digits.npz")
    err = opened_error("npz", sub)
    assert err.first.code == "E320" and "is a folder, not a regular file" in err.first.message
    assert f"did you mean {sub / 'digits.npz'}" in text(err)
    err = opened_error("npz", "/dev/null")
    assert err.first.code == "E320" and "/dev/null is a character device" in err.first.message
    assert "not found" not in err.first.message
    np.savez(tmp_path / "obj.npz", images=np.array([object(), 1], dtype=object), labels=np.zeros(2))
    err = opened_error("npz", tmp_path / "obj.npz")
    assert err.first.code == "E322" and "Python objects" in err.first.message and "allow_pickle" not in text(err)


def test_csv_and_folder_given_the_wrong_kind_of_path(tmp_path):
    err = opened_error("csv", "/dev/zero")  # reading it would never end
    assert err.first.code == "E320" and "character device" in err.first.message
    os.mkfifo(tmp_path / "pipe.csv")  # nor would reading this one, with no writer
    err = opened_error("csv", tmp_path / "pipe.csv")
    assert err.first.code == "E320" and "is a named pipe, not a regular file" in err.first.message
    f = write_npz(tmp_path / "d.npz")
    err = opened_error("folder", f)
    assert err.first.code == "E320" and "is a file, not a folder" in err.first.message
    assert "data npz" in text(err)


# ------------------------------------------------------------ csv ---


def test_csv_with_a_byte_order_mark_reads_its_first_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("label,a,b\n0,1,2\n1,3,4\n2,5,6\n".encode("utf-8-sig"))
    d = open_data(dspec("csv", p))
    assert d.default_field == "label" and d.input_shape == (2,)
    p.write_bytes("label,a\n0,1\n".encode("utf-16"))
    err = opened_error("csv", p)
    assert err.first.code == "E320" and "is not UTF-8 text" in err.first.message


# ------------------------------------------- paths before TensorFlow ---

_BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'tf_slim'):
            raise ImportError('blocked import of ' + name)
sys.meta_path.insert(0, Block())
from slimlang.cli import main
sys.exit(main(sys.argv[1:]))
"""

_PROGRAM = """model m(inputs: [8, 8, 1], num_classes = 3) {
  conv 4 3x3
  flatten
  fc num_classes as logits
}
train {
  model m
  data DATA
  loss softmax_cross_entropy
  steps 2
}
"""


def run_blocked(cwd, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", _BLOCKER, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


@pytest.mark.parametrize("data,message", [
    ('npz "data/digit.npz"', "npz file data/digit.npz not found"),
    ('npz "data"', "npz file data is a folder, not a regular file"),
    ('npz "data/junk.npz"', "is not an npz file"),
    ('npz "data/digits.npz" images="imgs"', "no array 'imgs' in digits.npz"),
    ('csv "/dev/zero"', "CSV file /dev/zero is a character device"),
    ('folder "data/digits.npz"', "is a file, not a folder"),
    ('tfrecord "data/*.tfrecord"', "TFRecord files data/*.tfrecord not found"),
])
def test_data_paths_are_checked_by_check_and_before_tensorflow(tmp_path, data, message):
    (tmp_path / "data").mkdir()
    write_npz(tmp_path / "data" / "digits.npz")
    (tmp_path / "data" / "junk.npz").write_bytes(b"not a zip archive at all")
    (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", data))
    want = message.format(d=tmp_path)
    (tmp_path / "prev").mkdir()  # eval and export look for a checkpoint first: make that look plausible
    for args in (("check", "m.slim"), ("train", "m.slim", "--logdir", "run"), ("eval", "m.slim", "--logdir", "prev"),
                 ("export", "m.slim", "--checkpoint", "prev", "--out", "out")):
        r = run_blocked(tmp_path, *args)
        assert r.returncode == 1, (args, r.stderr)
        assert "m.slim:8:" in r.stderr and want in r.stderr, (args, r.stderr)
        if args[0] == "eval":  # both wrong: both said, the missing checkpoint and the data path
            assert "error[E344]: no checkpoint in prev" in r.stderr, r.stderr
        assert "blocked import" not in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "out").exists()


def test_check_accepts_data_that_is_there(tmp_path):
    (tmp_path / "data").mkdir()
    write_npz(tmp_path / "data" / "digits.npz")
    (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", 'npz "data/digits.npz"'))
    r = run_blocked(tmp_path, "check", "m.slim")
    assert r.returncode == 0 and r.stderr == "", r.stderr


# ------------------------------------------- eval of another model ---


def _mlp(hidden):
    from slimlang.tfcompat import slim

    def mlp(inputs, num_classes=3, is_training=True):
        net = slim.flatten(inputs)
        net = slim.fully_connected(net, hidden, scope="fc1")
        if hidden == 5:
            net = slim.fully_connected(net, 4, scope="fc_extra")
        net = slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
        return net, {"logits": net}

    return mlp


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_eval_checkpoint_of_a_different_model_lists_the_differences(tmp_path):
    import io

    from slimlang.training import evaluate, train

    npz = write_npz(tmp_path / "d.npz", (4, 4, 1), n=16)
    spec = build_spec([setting("data", "npz", str(npz), validation=0.25), setting("loss", "softmax_cross_entropy"),
                       setting("optimizer", "adam"), setting("batch_size", 4), setting("steps", 1),
                       setting("model", "mlp")], {"mlp": _mlp(8)})
    train(spec, _mlp(8), logdir=str(tmp_path / "run"), progress=False, stream=io.StringIO())
    ok = evaluate(spec, _mlp(8), checkpoint=str(tmp_path / "run"), stream=io.StringIO())
    assert ok.examples == 4
    with pytest.raises(SlimError) as ei:
        evaluate(spec, _mlp(5), checkpoint=str(tmp_path / "run"), model_name="mlp", stream=io.StringIO())
    err = ei.value.first
    assert err.code == "E340" and "holds a different model than `mlp`" in err.message
    assert "3 variables of another shape, 2 variables missing" in err.message
    notes = "\n".join(err.notes)
    assert "fc1/weights is [16, 5] in the model, [16, 8] in the checkpoint" in notes
    assert "not in the checkpoint: fc_extra/weights [5, 4]" in notes
    assert "Adam" not in notes and "global_step" not in notes  # optimizer slots are not the model's
    assert "reading or using the data" not in err.message


# ------------------------------- damage past what the open-time scan reads ---


def _conv(inputs, num_classes=2, is_training=True):
    from slimlang.tfcompat import slim

    net = slim.conv2d(inputs, 2, [3, 3], scope="conv")
    net = slim.fully_connected(slim.flatten(net), num_classes, activation_fn=None, scope="logits")
    return net, {"logits": net}


def _train(tmp_path, kind, path, **opts):
    import io

    from slimlang.training import train

    spec = build_spec([setting("data", kind, str(path), **opts), setting("loss", "softmax_cross_entropy"),
                       setting("batch_size", 4), setting("steps", 6), setting("model", "conv")], {"conv": _conv})
    with pytest.raises(SlimError) as ei:
        train(spec, _conv, logdir=str(tmp_path / "run"), progress=False, stream=io.StringIO())
    return ei.value


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_damaged_image_past_the_scanned_files_is_named_when_training(tmp_path, monkeypatch):
    root = folder(tmp_path, {"dog/cut.jpg": encode(6, 6, "jpeg")[:-60]})
    monkeypatch.setattr(data_mod, "_SIZE_SCAN_FILES", 1)  # as for a folder of millions of files
    err = _train(tmp_path, "folder", root)
    assert err.first.code == "E328" and str(root / "dog" / "cut.jpg") in err.first.message
    assert "Graph execution error" not in str(err)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_record_failing_its_crc_past_the_scanned_records_is_named_when_training(tmp_path, monkeypatch):
    p = write_records(tmp_path / "r.tfrecord", [encode(6, 6)] * 8)
    raw = bytearray(p.read_bytes())
    raw[6 * (len(raw) // 8) + 50] ^= 0xFF  # record 6's data
    p.write_bytes(bytes(raw))
    monkeypatch.setattr(data_mod, "_TFR_SCAN", 2)
    err = _train(tmp_path, "tfrecord", p)
    assert err.first.code == "E328" and f"{p} record 6" in err.first.message and "checksum" in err.first.message


def test_tf_reason_finds_the_line_that_says_what_went_wrong():
    msg = ("Graph execution error:\n\nDetected at node 'DecodeImage' defined at (most recent call last):\n"
           "  File \"x.py\", line 3, in <module>\n    foo()\nNode: 'DecodeImage'\n"
           "Invalid JPEG data or crop window.\n\t [[{{node DecodeImage}}]]")
    assert data_mod.tf_reason(msg) == "Invalid JPEG data or crop window."
    assert data_mod.tf_reason("plain message") == "plain message"


def test_tfrecord_framing_walk_has_a_time_budget(tmp_path, monkeypatch):
    for i in range(3):
        write_records(tmp_path / f"s-{i}.tfrecord", [encode(6, 6)] * 4)
    monkeypatch.setattr(data_mod, "_TFR_FRAMING_SECS", -1.0)  # already over: stops at the first check
    big = write_records(tmp_path / "s-0.tfrecord", [encode(6, 6)] * 4100)
    assert data_mod.tfrecord_frames(str(big), deadline=0.0) is None
    d = open_data(dspec("tfrecord", tmp_path / "s-*.tfrecord"))
    assert any("3 of 3 TFRecord files were not checked for truncation" in n for n in d.notes)


def test_gzip_tfrecord_cut_short_names_the_file(tmp_path):
    ok = tmp_path / "a.tfrecord.gz"
    p = tmp_path / "b.tfrecord.gz"
    for path in (ok, p):
        with tf.io.TFRecordWriter(str(path), "GZIP") as w:
            for i in range(20):
                w.write(example(encode(6, 6), i % 2))
    p.write_bytes(p.read_bytes()[:-150])
    err = opened_error("tfrecord", tmp_path / "*.tfrecord.gz", compression="GZIP")
    assert err.first.code == "E328" and str(p) in err.first.message and str(ok) not in err.first.message


def test_first_record_unreadable_says_why_without_a_traceback(tmp_path):
    p = tmp_path / "one.tfrecord.gz"
    with tf.io.TFRecordWriter(str(p), "GZIP") as w:
        for i in range(20):
            w.write(example(encode(6, 6), i % 2))
    err = opened_error("tfrecord", p)  # compression not given
    assert err.first.code == "E320" and 'add compression="GZIP"' in text(err)
    assert "Graph execution error" not in text(err) and "File " not in text(err)
    p.write_bytes(p.read_bytes()[:-150])
    err = opened_error("tfrecord", p, compression="GZIP")
    assert err.first.code == "E328" and str(p) in err.first.message
    assert "Graph execution error" not in text(err)


@pytest.mark.parametrize("shape,opts,ok", [
    ((8, 8, 3), "", False), ((9, 7, 1), "", False), ((8, 8, 1), "", True), ((12, 12, 1), " resize=[8, 8]", True),
])
def test_check_compares_npz_shapes_with_the_declared_input_without_tensorflow(tmp_path, shape, opts, ok):
    (tmp_path / "data").mkdir()
    write_npz(tmp_path / "data" / "digits.npz", shape)
    (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", 'npz "data/digits.npz"' + opts))
    for args in (("check", "m.slim"), ("train", "m.slim", "--logdir", "run")):
        r = run_blocked(tmp_path, *args)
        if ok and args[0] == "check":
            assert r.returncode == 0 and r.stderr == "", r.stderr
        elif not ok:
            assert r.returncode == 1 and "error[E329]" in r.stderr, r.stderr
            assert f"are [{', '.join(map(str, shape))}] per example" in r.stderr
            assert "m.slim:8:3: error[E329]" in r.stderr and "declares its input at m.slim:1:9" in r.stderr
            assert "2 errors" not in r.stderr
            assert "blocked import" not in r.stderr


def test_image_changed_since_open_is_named(tmp_path):
    root = folder(tmp_path, {})
    d = open_data(dspec("folder", root))
    assert d.uniform_size
    (root / "dog" / "1.png").write_bytes(encode(5, 5))
    err = d.failure(tf.errors.InvalidArgumentError(None, None, "Graph execution error:\n\nshape mismatch"), 3)
    assert err.first.code == "E322" and str(root / "dog" / "1.png") in err.first.message
    assert "is 5x5 now, not 6x6" in err.first.message and "shape mismatch" in text(err)
    assert d.failure(tf.errors.ResourceExhaustedError(None, None, "OOM"), 3) is None  # not the data's


def test_a_nul_in_the_data_path_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", 'npz "a\\0b.npz"'))
    r = run_blocked(tmp_path, "check", "m.slim")
    assert r.returncode == 1 and "error[E320]" in r.stderr and "NUL character" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    for kind in ("npz", "csv", "folder", "tfrecord"):
        assert opened_error(kind, "x\0y").first.code == "E320"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bad_image_in_a_record_past_the_scanned_ones_is_named_when_training(tmp_path, monkeypatch):
    jpg = encode(6, 6, "jpeg")
    p = write_records(tmp_path / "r.tfrecord", [encode(6, 6)] * 5 + [jpg[:-60]] + [encode(6, 6)] * 2)
    monkeypatch.setattr(data_mod, "_TFR_SCAN", 2)
    err = _train(tmp_path, "tfrecord", p)
    assert err.first.code == "E328" and f"{p} record 5" in err.first.message and "truncated JPEG" in err.first.message


def test_check_reads_a_csv_header_for_its_columns_and_shape(tmp_path):
    (tmp_path / "data").mkdir()
    rows = ",".join(f"p{i}" for i in range(64)) + ",label\n" + ",".join(["0.5"] * 64) + ",1\n"
    (tmp_path / "data" / "d.csv").write_bytes(("\ufeff" + rows).encode())
    cases = {'csv "data/d.csv" labels="lable"': "error[E321]: no column 'lable' in d.csv",
             'csv "data/d.csv"': "error[E329]",  # 64 features per row, the model takes [8, 8, 1]
             'csv "data/d.csv" shape=[8, 8, 1]': None}
    for data, want in cases.items():
        (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", data))
        r = run_blocked(tmp_path, "check", "m.slim")
        if want is None:
            assert r.returncode == 0 and r.stderr == "", r.stderr
        else:
            assert r.returncode == 1 and want in r.stderr, r.stderr
    (tmp_path / "m.slim").write_text(_PROGRAM.replace("DATA", 'csv "data/d.csv"'))
    assert "help: shape=[8, 8, 1] on the data line" in run_blocked(tmp_path, "check", "m.slim").stderr


def test_tfrecord_whose_only_record_is_cut_short_is_damaged_not_empty(tmp_path):
    p = write_records(tmp_path / "one.tfrecord", [encode(6, 6)])
    whole = p.read_bytes()
    p.write_bytes(whole[:40])  # inside the data: TensorFlow's reader says "truncated record"
    err = opened_error("tfrecord", p)
    assert err.first.code == "E328" and "first record" in err.first.message and str(p) in err.first.message
    p.write_bytes(whole[:5])  # inside the header: TensorFlow reads no record, without a word
    err = opened_error("tfrecord", p)
    assert err.first.code == "E328" and "header of record 0" in err.first.message
    (tmp_path / "empty.tfrecord").write_bytes(b"")
    assert opened_error("tfrecord", tmp_path / "empty.tfrecord").first.code == "E324"


def test_image_shape_given_for_encoded_images_says_they_are_encoded(tmp_path):
    p = write_records(tmp_path / "png.tfrecord", [encode(6, 6)] * 3)
    err = opened_error("tfrecord", p, image_shape=[6, 6, 3])
    assert err.first.code == "E322" and "raw image of" in err.first.message
    assert "holds PNG images, not raw pixels" in text(err) and "remove it" in text(err)
