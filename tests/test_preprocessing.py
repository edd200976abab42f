"""TF-Slim's preprocessing schemes on the data line (`preprocess=vgg|inception|cifarnet|lenet`).

The deterministic (eval) paths equal TF-Slim's own functions on the same
images within 1e-5: tests/fixtures/preprocessing/facts.npz holds their
outputs, recorded by tools/preprocessing_facts.py from the reference code.
Training paths are checked for shapes, ranges and seeded reproducibility.
"""

import pathlib
import shutil

import numpy as np
import pytest

import slimlang
from slimlang.diagnostics import SlimError

tfc = pytest.importorskip("slimlang.tfcompat")
tf = tfc.tf
tf1 = tf.compat.v1

from slimlang.training import schemes  # noqa: E402
from slimlang.training.data import open_data  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "preprocessing"
NAMES = ("square", "tall", "wide")  # sorted, as a folder source lists them
OPTIONS = {"vgg": {"resize_side": (20, 512)}}  # the facts' resize_side_min


@pytest.fixture(scope="module")
def facts():
    with np.load(FIXTURES / "facts.npz") as z:
        return dict(z)


@pytest.fixture(scope="module")
def pixels():
    with tf.Graph().as_default(), tf1.Session() as s:
        return {n: s.run(tf.io.decode_png((FIXTURES / f"{n}.png").read_bytes(), channels=3)) for n in NAMES}


def test_eval_paths_equal_tf_slims_functions(facts, pixels):
    assert len(facts) == 24
    with tf.Graph().as_default(), tf1.Session() as s:
        xs = {n: tf1.placeholder(tf.float32, [None, None, 3]) for n in NAMES}
        outputs = {}
        for key in facts:
            scheme, name, size = key.split("/")
            h, w = (int(v) for v in size.split("x"))
            outputs[key] = schemes.apply(scheme, xs[name], False, {"crop": (h, w), **OPTIONS.get(scheme, {})},
                                         stored_255=True)
        got = s.run(outputs, {xs[n]: pixels[n].astype(np.float32) for n in NAMES})
    worst = 0.0
    for key, want in facts.items():
        assert got[key].shape == want.shape, key
        worst = max(worst, float(np.max(np.abs(got[key] - want))))
        np.testing.assert_allclose(got[key], want, atol=1e-5, rtol=0, err_msg=key)
    assert worst < 1e-5


def _slim(tmp_path, data_line, model_input="[16, 16, 3]"):
    f = tmp_path / "p.slim"
    f.write_text(f"""model tiny(inputs: {model_input}, num_classes = 2) {{
  flatten
  fc num_classes activation=none as logits
}}
train {{
  model tiny
  {data_line}
  loss softmax_cross_entropy
  steps 1
}}
""")
    return f


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("prep")
    for i, n in enumerate(NAMES):
        (d / "imgs" / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / f"{n}.png", d / "imgs" / f"c{i % 2}" / f"{n}.png")
    return d


def _batches(tmp_path, line, runs):
    """The first batch of the whole data for each (training, shuffle_offset) of `runs`, in one graph:
    the offset moves the data line's seed, as a resumed run does."""
    spec = slimlang.load(_slim(tmp_path, line)).train_specs[0]
    data = open_data(spec.data)
    with tf.Graph().as_default():
        its = []
        for training, offset in runs:
            ds, feed = data.dataset("all", 3, training=training, repeat=False, drop_remainder=False,
                                    shuffle_offset=offset)
            its.append((tf1.data.make_initializable_iterator(ds), feed))
        with tf1.Session() as s:
            out = []
            for it, feed in its:
                s.run(it.initializer, feed)
                out.append(s.run(it.get_next()[0]))
    return out, data


def test_the_data_pipeline_applies_the_eval_path(folder, facts):
    """Image files of three sizes through `data folder ... preprocess=vgg` equal the reference, file by file."""
    (got,), data = _batches(folder, 'data folder "imgs" preprocess=vgg_16 crop=[16, 16] resize_side=[20, 512] '
                                    'shuffle=false', [(False, 0)])
    assert data.input_shape == (16, 16, 3) and got.shape == (3, 16, 16, 3)
    files = [pathlib.Path(f).stem for f in data.files]
    for i, name in enumerate(files):
        np.testing.assert_allclose(got[i], facts[f"vgg/{name}/16x16"], atol=1e-5, rtol=0)


@pytest.mark.slow  # 2.5-4 s a scheme on an idle machine: four input pipelines each
@pytest.mark.parametrize("scheme, lo, hi", [
    ("vgg", -123.68, 255 - 103.94), ("inception", -1.0, 1.0), ("cifarnet", None, None), ("lenet", -1.0, 1.0)])
def test_training_paths_shapes_ranges_and_seeded_repeats(folder, scheme, lo, hi):
    line = (f'data folder "imgs" preprocess={scheme} crop=[16, 16] shuffle=false'
            + (" resize_side=[18, 30]" if scheme == "vgg" else ""))
    (a, b, c, e), _ = _batches(folder, line, [(True, 0), (True, 0), (True, 1), (False, 0)])
    assert a.shape == (3, 16, 16, 3) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)  # the same data-line seed: the same augmentations
    if scheme != "lenet":
        assert not np.array_equal(a, c)  # another seed: others
        assert not np.array_equal(a, e)  # and not the eval path
    else:  # lenet's training path is its eval path (TF-Slim's has no augmentation)
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, e)
    if lo is not None:
        assert a.min() >= lo - 1e-4 and a.max() <= hi + 1e-4
    else:  # per-image standardization
        assert np.allclose(a.reshape(3, -1).mean(1), 0, atol=1e-4)
        assert np.allclose(a.reshape(3, -1).std(1), 1, atol=1e-2)


@pytest.mark.parametrize("line, code, text", [
    ('data folder "imgs" preprocess=vgg', "E309", "needs the output size: add crop=[height, width]"),
    ('data folder "imgs" preprocess=inception crop=[16, 16] scale=1/255', "E310", "the scheme scales the pixels"),
    ('data folder "imgs" preprocess=vgg16 crop=[16, 16]', "E305", "did you mean `vgg_16`"),
    ('data folder "imgs" preprocess=lenet crop=[16, 16] resize_side=[20, 30]', "E310", "an option of `preprocess=vgg`"),
    ('data folder "imgs" preprocess=vgg crop=[300, 300]', "E310", "give resize_side=[MIN, MAX]"),
])
def test_data_line_mistakes_are_located(folder, line, code, text):
    with pytest.raises(SlimError) as ei:
        slimlang.load(_slim(folder, line))
    d = ei.value.first
    assert d.code == code and text in ei.value.render() and d.span.line == 7


def test_network_names_map_as_preprocessing_factory(folder):
    for name, scheme in (("resnet_v1_50", "vgg"), ("resnet_v2", "vgg"), ("inception_v3", "inception"),
                         ("mobilenet_v1", "inception")):
        spec = slimlang.load(_slim(folder, f'data folder "imgs" preprocess={name} crop=[16, 16]')).train_specs[0]
        assert spec.data.options["preprocess"] == scheme



def test_emit_train_refuses_a_scheme_at_its_option(folder, capsys):
    from slimlang.cli import main

    f = _slim(folder, 'data folder "imgs" preprocess=vgg crop=[16, 16]')
    assert main(["build", str(f), "--emit", "py", "--train"]) == 1
    err = capsys.readouterr().err
    assert "error[E519]" in err and f"{f}:7:" in err and "Traceback" not in err
