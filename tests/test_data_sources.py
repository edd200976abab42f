"""Train data: every source on tiny generated data, the split, preprocessing, and every data error."""

import numpy as np
import pytest

from slimlang.diagnostics import SlimError
from slimlang.trainspec import build_spec, setting

tf = pytest.importorskip("slimlang.tfcompat").tf
tf1 = tf.compat.v1

from slimlang.training.data import open_data


def model(inputs, num_classes=3, is_training=True):
    return inputs


def dspec(kind, path, **opts):
    spec = build_spec([setting("data", kind, str(path), **opts), setting("loss", "softmax_cross_entropy")],
                      {"model": model})
    return spec.data


def batches(data, split="train", batch_size=4, training=False, n=1, drop_remainder=True):
    """Run the pipeline; returns up to `n` batches (images, labels dict)."""
    out = []
    with tf.Graph().as_default():
        ds, feed = data.dataset(split, batch_size, training=training, repeat=False, drop_remainder=drop_remainder)
        it = tf1.data.make_initializable_iterator(ds)
        nxt = it.get_next()
        with tf1.Session() as s:
            s.run(it.initializer, feed_dict=feed)
            try:
                while len(out) < n:
                    out.append(s.run(nxt))
            except tf.errors.OutOfRangeError:
                pass
    return out


def count(data, split):
    return sum(len(b[0]) for b in batches(data, split, batch_size=7, n=10**6, drop_remainder=False))


def write_npz(path, n=20, shape=(6, 6, 1), classes=3, **extra):
    rng = np.random.RandomState(0)
    np.savez(path, images=rng.rand(n, *shape).astype(np.float32),
             labels=(np.arange(n) % classes).astype(np.int64), **extra)
    return path


def png_bytes(h, w, c, value):
    img = np.full((h, w, c), value, np.uint8)
    with tf.Graph().as_default(), tf1.Session() as s:
        return s.run(tf.io.encode_png(img))


# ---------------------------------------------------------------- npz ---


def test_npz_split_is_fixed_by_seed_and_disjoint(tmp_path):
    p = write_npz(tmp_path / "d.npz", n=50)
    a = open_data(dspec("npz", p, validation=0.2, seed=5))
    b = open_data(dspec("npz", p, validation=0.2, seed=5))
    assert (a.n_train, a.n_val) == (40, 10)
    assert np.array_equal(a.val_index, b.val_index)
    assert not set(a.train_index) & set(a.val_index)
    c = open_data(dspec("npz", p, validation=0.2, seed=6))
    assert not np.array_equal(a.val_index, c.val_index)
    assert count(a, "eval") == 10 and count(a, "train") == 40 and count(a, "all") == 50


def test_npz_pipeline_shapes_dtypes_and_extra_label_fields(tmp_path):
    p = write_npz(tmp_path / "d.npz", n=12, parity=np.arange(12) % 2, value=np.linspace(0, 1, 12))
    d = open_data(dspec("npz", p))
    assert set(d.fields) == {"labels", "parity", "value"} and d.default_field == "labels"
    assert d.fields["value"].kind == "float" and not d.fields["value"].integral
    assert (d.fields["labels"].lo, d.fields["labels"].hi) == (0, 2)
    (x, y), = batches(d)
    assert x.shape == (4, 6, 6, 1) and x.dtype == np.float32
    assert set(y) == {"labels", "parity", "value"}


def test_npz_preprocessing_resize_crop_flip_scale(tmp_path):
    np.savez(tmp_path / "u.npz", images=np.full((8, 10, 10, 3), 255, np.uint8), labels=np.zeros(8, np.int64))
    d = open_data(dspec("npz", tmp_path / "u.npz", resize=[12, 12], crop=[8, 8], flip=True, scale=(-1, 1)))
    assert d.input_shape == (8, 8, 3)
    (x, _), = batches(d, training=True)
    assert x.shape == (4, 8, 8, 3) and np.allclose(x, 1.0)
    (x, _), = batches(d, training=False)
    assert x.shape == (4, 8, 8, 3)
    d = open_data(dspec("npz", tmp_path / "u.npz", scale=1 / 255))
    (x, _), = batches(d)
    assert np.allclose(x, 1.0)


def test_npz_classes_keeps_and_renumbers(tmp_path):
    p = write_npz(tmp_path / "d.npz", n=30, classes=5)
    d = open_data(dspec("npz", p, classes=[4, 2]))
    assert d.n_total == 12
    labels = np.concatenate([b[1]["labels"] for b in batches(d, "all", 5, n=100, drop_remainder=False)])
    assert sorted(set(labels.tolist())) == [0, 1] and len(labels) == 12


def test_npz_errors(tmp_path):
    p = write_npz(tmp_path / "digits.npz")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "digit.npz"))
    assert ei.value.first.code == "E320" and "did you mean the file `digits.npz`" in " ".join(ei.value.first.notes)
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", p, images="imgs"))
    assert ei.value.first.code == "E321" and "help: did you mean `images`?" in ei.value.first.notes
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", p, labels="label"))
    assert ei.value.first.code == "E321"
    np.savez(tmp_path / "s.npz", images=np.array(["a", "b"]), labels=np.array([0, 1]))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "s.npz"))
    assert ei.value.first.code == "E322" and "not numbers" in ei.value.first.message
    np.savez(tmp_path / "n.npz", images=np.zeros((3, 2), np.float32), labels=np.array([0, 1, np.nan]))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "n.npz"))
    assert ei.value.first.code == "E322" and "NaN" in ei.value.first.message
    np.savez(tmp_path / "m.npz", images=np.zeros((3, 2), np.float32), labels=np.array([0, 1]))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "m.npz"))
    assert ei.value.first.code == "E322" and "rows" in ei.value.first.message
    np.savez(tmp_path / "e.npz", images=np.zeros((0, 2), np.float32), labels=np.zeros(0, np.int64))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "e.npz"))
    assert ei.value.first.code == "E324"
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", p, classes=[7]))
    assert ei.value.first.code == "E324"
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", write_npz(tmp_path / "one.npz", n=1), validation=0.5))
    assert ei.value.first.code == "E324" and "none to train on" in ei.value.first.message
    np.savez(tmp_path / "f.npz", images=np.zeros((4, 5), np.float32), labels=np.zeros(4, np.int64))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("npz", tmp_path / "f.npz", flip=True))
    assert ei.value.first.code == "E322" and "height, width, channels" in ei.value.first.message


# ---------------------------------------------------------------- csv ---


def test_csv_header_labels_and_shape(tmp_path):
    p = tmp_path / "d.csv"
    rows = ["a,b,c,d,label"] + [f"{i},{i + 1},{i + 2},{i + 3},{i % 2}" for i in range(10)]
    p.write_text("\n".join(rows) + "\n")
    d = open_data(dspec("csv", p, shape=[2, 2, 1]))
    assert d.input_shape == (2, 2, 1) and d.default_field == "label"
    assert d.fields["label"].kind == "int"
    (x, y), = batches(d)
    assert x.shape == (4, 2, 2, 1) and set(y["label"].tolist()) <= {0, 1}
    d = open_data(dspec("csv", p, labels="d", features=["a", 1]))
    assert d.input_shape == (2,) and d.fields["d"].hi == 12


def test_csv_errors_name_line_and_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x,label\n1,0\n2,zero\n")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("csv", p))
    assert ei.value.first.code == "E322" and "line 3" in ei.value.first.message and "'zero'" in ei.value.first.message
    p.write_text("x,label\n1,0\n2\n")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("csv", p))
    assert "line 3 has 1 columns" in ei.value.first.message
    p.write_text("x,lable\n1,0\n")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("csv", p))
    assert ei.value.first.code == "E321" and "help: did you mean `lable`?" in ei.value.first.notes
    p.write_text("x,label\n")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("csv", p))
    assert ei.value.first.code == "E324"


# ---------------------------------------------------------------- folder ---


def test_folder_of_images_one_subfolder_per_class(tmp_path):
    root = tmp_path / "imgs"
    for ci, cls in enumerate(["cat", "dog"]):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            h = 8 if i else 10  # a different size: resized to the first image's
            (root / cls / f"{i}.png").write_bytes(png_bytes(h, 8, 3, 100 * ci))
    (root / "dog" / "notes.txt").write_text("not an image")
    d = open_data(dspec("folder", root))
    assert d.class_names == ["cat", "dog"] and d.n_total == 6
    xs, ys = [], []
    for x, y in batches(d, "all", 2, n=10):
        xs.append(x)
        ys.append(y["labels"])
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape[1:] == (10, 8, 3) and x.max() <= 1.0  # encoded images scale to [0, 1]
    assert np.allclose(x[y == 1], 100 / 255, atol=1e-3) and np.allclose(x[y == 0], 0)
    d = open_data(dspec("folder", root, resize=[4, 4], channels=1, classes=[1]))
    assert d.class_names == ["dog"] and d.input_shape == (4, 4, 1)
    (x, y), = batches(d, "all", 3)
    assert x.shape == (3, 4, 4, 1) and set(y["labels"].tolist()) == {0}


def test_folder_errors(tmp_path):
    with pytest.raises(SlimError) as ei:
        open_data(dspec("folder", tmp_path / "none"))
    assert ei.value.first.code == "E320"
    (tmp_path / "empty").mkdir()
    with pytest.raises(SlimError) as ei:
        open_data(dspec("folder", tmp_path / "empty"))
    assert ei.value.first.code == "E324" and "sub-folders" in ei.value.first.message
    (tmp_path / "noimg" / "a").mkdir(parents=True)
    with pytest.raises(SlimError) as ei:
        open_data(dspec("folder", tmp_path / "noimg"))
    assert ei.value.first.code == "E324"


# ---------------------------------------------------------------- tfrecord ---


def _example(**features):
    f = {}
    for k, v in features.items():
        if isinstance(v, bytes):
            f[k] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
        elif isinstance(v, float) or (isinstance(v, list) and isinstance(v[0], float)):
            f[k] = tf.train.Feature(float_list=tf.train.FloatList(value=v if isinstance(v, list) else [v]))
        else:
            f[k] = tf.train.Feature(int64_list=tf.train.Int64List(value=v if isinstance(v, list) else [v]))
    return tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString()


def test_tfrecord_encoded_png_slim_layout(tmp_path):
    for shard in range(2):
        with tf.io.TFRecordWriter(str(tmp_path / f"train-{shard:05d}-of-00002.tfrecord")) as w:
            for i in range(10):
                w.write(_example(**{"image/encoded": png_bytes(6, 6, 3, 10 * i),
                                    "image/class/label": i % 3, "image/format": b"png"}))
    d = open_data(dspec("tfrecord", tmp_path / "train-*.tfrecord", validation=0.3, seed=1))
    assert d.n_total == 20 and d.n_train + d.n_val == 20 and d.n_val > 0
    assert d.fields["image/class/label"].hi == 2 and d.fields["image/class/label"].verified
    assert count(d, "train") == d.n_train and count(d, "eval") == d.n_val
    (x, y), = batches(d, "train", 4, training=True)
    assert x.shape == (4, 6, 6, 3) and x.max() <= 1.0 and y["image/class/label"].shape == (4,)


def test_tfrecord_raw_bytes_and_float_lists(tmp_path):
    p = tmp_path / "raw.tfrecord"
    with tf.io.TFRecordWriter(str(p)) as w:
        for i in range(6):
            w.write(_example(image=np.full((4, 4, 1), i, np.uint8).tobytes(), y=i % 2, t=[float(i), 1.0]))
    d = open_data(dspec("tfrecord", p, images="image", labels=["y", "t"], image_shape=[4, 4, 1]))
    (x, y), = batches(d, "all", 6)
    assert x.shape == (6, 4, 4, 1) and sorted(x[:, 0, 0, 0].tolist()) == [0, 1, 2, 3, 4, 5]
    assert y["t"].shape == (6, 2) and y["y"].dtype == np.int64
    q = tmp_path / "floats.tfrecord"
    with tf.io.TFRecordWriter(str(q)) as w:
        for i in range(3):
            w.write(_example(x=[0.5] * 8, label=i))
    d = open_data(dspec("tfrecord", q, images="x", labels="label", image_shape=[2, 4]))
    (x, _), = batches(d, "all", 3)
    assert x.shape == (3, 2, 4, 1) and np.allclose(x, 0.5)


def test_tfrecord_errors(tmp_path):
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", tmp_path / "*.tfrecord"))
    assert ei.value.first.code == "E320"
    p = tmp_path / "a.tfrecord"
    with tf.io.TFRecordWriter(str(p)) as w:
        w.write(_example(image=b"\x00" * 10, label=1))
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", p, images="imagee", labels="label"))
    assert ei.value.first.code == "E321" and "help: did you mean `image`?" in ei.value.first.notes
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", p, images="image", labels="label"))
    assert ei.value.first.code == "E309" and "image_shape" in ei.value.first.message
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", p, images="image", labels="label", image_shape=[3, 3, 1]))
    assert ei.value.first.code == "E322" and "10 bytes" in ei.value.first.message
    (tmp_path / "e.tfrecord").write_bytes(b"")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", tmp_path / "e.tfrecord"))
    assert ei.value.first.code == "E324"
    (tmp_path / "junk.tfrecord").write_bytes(b"this is not a tfrecord file at all")
    with pytest.raises(SlimError) as ei:
        open_data(dspec("tfrecord", tmp_path / "junk.tfrecord"))
    assert ei.value.first.code == "E320"


# ------------------------------------------------- encoded-image fast path ---
# Encoded images are decoded to flat uint8 pixels, batched, and reshaped per
# batch when every image has the target size; otherwise each one is resized.


def gradient(h, w, c=3):
    return (np.arange(h * w * c).reshape(h, w, c) * 7 % 256).astype(np.uint8)


def encode(img, fmt="png"):
    with tf.Graph().as_default(), tf1.Session() as s:
        return s.run(tf.io.encode_png(img) if fmt == "png" else tf.io.encode_jpeg(img, quality=100))


def resized(img, h, w):
    with tf.Graph().as_default(), tf1.Session() as s:
        return s.run(tf.image.resize(tf.cast(img, tf.float32), [h, w], method="bilinear"))


def test_folder_mixed_sizes_and_formats_every_path(tmp_path):
    root = tmp_path / "imgs"
    big, small = gradient(10, 8), gradient(6, 4)
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "0.png").write_bytes(encode(big))  # first image: fixes the size, 10x8
    (root / "a" / "1.png").write_bytes(encode(big))
    (root / "b" / "2.png").write_bytes(encode(small))  # resized to 10x8
    (root / "b" / "3.jpg").write_bytes(encode(big, "jpeg"))  # a JPEG among PNGs
    d = open_data(dspec("folder", root))
    want_small = resized(small, 10, 8) / 255
    for training in (False, True):
        x, y = (np.concatenate(v) for v in zip(*[(b[0], b[1]["labels"]) for b in
                                                  batches(d, "all", 4, training=training)]))
        assert x.shape == (4, 10, 8, 3) and x.dtype == np.float32 and sorted(y.tolist()) == [0, 0, 1, 1]
        exact = [i for i in range(4) if np.allclose(x[i], big / 255, atol=1e-6)]
        assert len(exact) == 2 and set(y[exact].tolist()) == {0}  # the PNGs: exact pixels
        assert sum(np.allclose(x[i], want_small, atol=1e-6) for i in range(4)) == 1
        assert sum(np.abs(x[i] - big / 255).mean() < 0.1 for i in range(4)) == 3  # + the (lossy) JPEG
    # a batch of fitting images only: the reshape path gives the same pixels
    (x, y), = batches(d, "all", 2)
    assert np.allclose(x, np.stack([big, big]) / 255, atol=1e-6) and y["labels"].tolist() == [0, 0]
    # resize, crop (per-example while training), flip, scale
    d = open_data(dspec("folder", root, resize=[6, 4], crop=[4, 4], flip=True, scale=(-1, 1)))
    for training in (False, True):
        (x, _), = batches(d, "all", 4, training=training)
        assert x.shape == (4, 4, 4, 3) and x.min() >= -1 and x.max() <= 1
    d = open_data(dspec("folder", root, resize=[6, 4]))
    (x, y), = batches(d, "all", 4)
    i = int(np.flatnonzero(y["labels"] == 1)[0])  # the first "b" image: 2.png, already 6x4
    assert np.allclose(x[i], small / 255, atol=1e-6)


def test_tfrecord_mixed_sizes_classes_and_training(tmp_path):
    p = tmp_path / "one.tfrecord"
    imgs = [gradient(6, 6), gradient(6, 6), gradient(4, 8), gradient(6, 6)]
    with tf.io.TFRecordWriter(str(p)) as w:
        for i, img in enumerate(imgs * 3):
            w.write(_example(**{"image/encoded": encode(img), "image/class/label": i % 4}))
    d = open_data(dspec("tfrecord", p))
    assert d.n_total == 12
    (x, y), = batches(d, "all", 12)
    lab = y["image/class/label"]
    assert x.shape == (12, 6, 6, 3) and lab.tolist() == [0, 1, 2, 3] * 3
    assert np.allclose(x[2], resized(imgs[2], 6, 6) / 255, atol=1e-6) and np.allclose(x[0], imgs[0] / 255, atol=1e-6)
    (x, y), = batches(d, "train", 8, training=True)
    assert x.shape == (8, 6, 6, 3) and y["image/class/label"].dtype == np.int64
    d = open_data(dspec("tfrecord", p, classes=[3, 2]))
    (x, y), = batches(d, "train", 6, training=True)
    assert sorted(y["image/class/label"].tolist()) == [0, 0, 0, 1, 1, 1]
    for xi, yi in zip(x, y["image/class/label"]):  # 3 -> 0 (a 6x6 image), 2 -> 1 (the 4x8 one)
        want = imgs[3] / 255 if yi == 0 else resized(imgs[2], 6, 6) / 255
        assert np.allclose(xi, want, atol=1e-6)


# ------------------------------------------- sizes from headers: plain batch ---
# When every image's header says it has the target size (read at open, without
# decoding), batches are built with a plain `batch` like a hand-written pipeline.


def _gif(h, w):
    # a minimal GIF89a: header + logical screen + 2-colour table + one 1x1 image
    return (b"GIF89a" + w.to_bytes(2, "little") + h.to_bytes(2, "little") + b"\x80\x00\x00"
            + b"\x00\x00\x00\xff\xff\xff" + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")


def _pipeline_ops(d, training=False):
    with tf.Graph().as_default() as g:
        ds, _ = d.dataset("all", 2, training=training, repeat=False)
        tf1.data.make_initializable_iterator(ds)
        return {n.op for n in g.as_graph_def().node}


def test_header_sizes_of_every_format_tensorflow_decodes():
    from slimlang.training.data import header_hw

    img = gradient(7, 5)
    assert header_hw(encode(img)) == (7, 5)
    assert header_hw(encode(img, "jpeg")) == (7, 5)
    # A GIF's header gives its logical screen (3x9 here), but TensorFlow decodes the first frame's
    # own size (1x1): so GIF sizes count as unknown.
    with tf.Graph().as_default(), tf1.Session() as s:
        assert s.run(tf.shape(tf.io.decode_image(_gif(3, 9), expand_animations=False))).tolist() == [1, 1, 3]
    assert header_hw(_gif(3, 9)) is None
    assert header_hw(b"BM" + bytes(60)) is None  # BMP: unknown (top-down heights), takes the padded path
    assert header_hw(b"not an image at all") is None
    assert header_hw(encode(img, "jpeg")[:40]) is None  # a prefix that stops before the frame header
    import io
    assert header_hw(io.BytesIO(encode(img))) == (7, 5)


def test_folder_of_one_size_batches_plainly_and_mixed_pads(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    img = gradient(6, 4)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        (root / c / "0.png").write_bytes(encode(img))
        (root / c / "1.jpg").write_bytes(encode(img, "jpeg"))
    d = open_data(dspec("folder", root))
    assert d.uniform_size and not d.notes
    ops = _pipeline_ops(d)
    assert "BatchDatasetV2" in ops and "PaddedBatchDatasetV2" not in ops
    x, y = (np.concatenate(v) for v in zip(*[(b[0], b[1]["labels"]) for b in batches(d, "all", 2, n=2)]))
    assert x.shape == (4, 6, 4, 3) and x.dtype == np.float32 and sorted(y.tolist()) == [0, 0, 1, 1]
    assert sum(np.allclose(xi, img / 255, atol=1e-6) for xi in x) == 2  # the PNGs, exactly
    # `resize` to the size they already have: plain too; to another size: padded + resized
    assert open_data(dspec("folder", root, resize=[6, 4])).uniform_size
    import slimlang.training.data as data_mod

    with monkeypatch.context() as m:  # more files than the header scan reads: padded, sizes unknown
        m.setattr(data_mod, "_SIZE_SCAN_FILES", 3)
        assert not open_data(dspec("folder", root)).uniform_size
    d = open_data(dspec("folder", root, resize=[3, 2]))
    assert not d.uniform_size and "PaddedBatchDatasetV2" in _pipeline_ops(d)
    (x, _), = batches(d, "all", 4)
    assert x.shape == (4, 3, 2, 3)
    # one image of another size: padded, and resized (the mixed-size tests above check the pixels)
    (root / "b" / "2.png").write_bytes(encode(gradient(5, 5)))
    d = open_data(dspec("folder", root))
    assert not d.uniform_size and "PaddedBatchDatasetV2" in _pipeline_ops(d)
    assert any("first image's size" in n for n in d.notes)


def test_image_file_changed_after_open_is_an_error_not_a_wrong_batch(tmp_path):
    root = tmp_path / "imgs"
    (root / "a").mkdir(parents=True)
    for i in range(2):
        (root / "a" / f"{i}.png").write_bytes(encode(gradient(6, 4)))
    d = open_data(dspec("folder", root))
    assert d.uniform_size
    (root / "a" / "1.png").write_bytes(encode(gradient(5, 5)))
    with pytest.raises(tf.errors.InvalidArgumentError):
        batches(d, "all", 2)


def test_tfrecord_sizes_from_headers(tmp_path, monkeypatch):
    import slimlang.training.data as data_mod

    p = tmp_path / "one.tfrecord"
    img = gradient(6, 6)
    with tf.io.TFRecordWriter(str(p)) as w:
        for i in range(6):
            w.write(_example(**{"image/encoded": encode(img, "jpeg" if i % 2 else "png"), "image/class/label": i % 2}))
    d = open_data(dspec("tfrecord", p))
    assert d.uniform_size and "PaddedBatchDatasetV2" not in _pipeline_ops(d)
    (x, y), = batches(d, "all", 6)
    assert x.shape == (6, 6, 6, 3) and y["image/class/label"].tolist() == [0, 1] * 3
    assert np.allclose(x[0], img / 255, atol=1e-6)
    # only part of the file scanned: sizes unknown, padded
    monkeypatch.setattr(data_mod, "_TFR_SCAN", 3)
    assert not open_data(dspec("tfrecord", p)).uniform_size
