"""Record what TF-Slim's own preprocessing functions make of a few small images.

    python tools/preprocessing_facts.py [REFERENCE_DIR]

REFERENCE_DIR holds copies of tensorflow/models research/slim/preprocessing/
{vgg,inception,cifarnet,lenet}_preprocessing.py (default /tmp/refslim/preprocessing;
they are not part of slimlang and are never imported by it).  They were written
for TensorFlow 1.0, so they run here against `tf.compat.v1` plus the handful of
1.0 spellings they use (`tf.split(axis, n, x)`, `tf.concat(axis, xs)`,
`tf.to_float`, `tf.contrib.slim`, `import google3`), supplied by `_tf10`
below; their code runs unchanged.

Writes tests/fixtures/preprocessing/: the input images (PNG, made here from a
fixed seed) and facts.npz, for each deterministic (eval) path, image and
output size, the reference output.  tests/test_preprocessing.py compares
slimlang's schemes (slimlang/training/schemes.py) with them within 1e-5.
"""

from __future__ import annotations

import pathlib
import sys
import types

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "preprocessing"

#: (name, height, width): small RGB images of several aspects (wide, tall, square).
IMAGES = (("wide", 23, 31), ("tall", 40, 17), ("square", 16, 16))

#: (scheme, reference call, output sizes): what the facts record.
#: vgg's eval resizes the shorter side to `resize_side` (TF-Slim's resize_side_min).
CASES = (
    ("vgg", lambda m, x, h, w: m.preprocess_image(x, h, w, is_training=False, resize_side_min=20), ((16, 16), (12, 18))),
    ("inception", lambda m, x, h, w: m.preprocess_image(x, h, w, is_training=False), ((20, 20), (12, 16))),
    ("cifarnet", lambda m, x, h, w: m.preprocess_image(x, h, w, is_training=False), ((16, 16), (28, 28))),
    ("lenet", lambda m, x, h, w: m.preprocess_image(x, h, w, is_training=False), ((16, 16), (28, 28))),
)


def _tf10(tf1):
    """A `tensorflow` module for TF 1.0-era code: tf.compat.v1 and the 1.0 spellings it used."""
    shim = types.ModuleType("tensorflow")

    def split(a, b, c=None, **kw):
        if isinstance(a, int) and c is not None:  # 1.0: split(axis, num_splits, value)
            return tf1.split(c, b, axis=a)
        return tf1.split(a, b, **kw)

    def concat(a, b, **kw):
        if isinstance(a, int):  # 1.0: concat(axis, values)
            return tf1.concat(b, a)
        return tf1.concat(a, b, **kw)

    shim.__getattr__ = lambda name: getattr(tf1, name)
    shim.split, shim.concat = split, concat
    shim.to_float = lambda x: tf1.cast(x, tf1.float32)
    shim.to_int32 = lambda x: tf1.cast(x, tf1.int32)
    shim.contrib = types.SimpleNamespace(slim=None)
    return shim


def load_reference(folder: pathlib.Path) -> dict:
    import tensorflow as tf

    tf1 = tf.compat.v1
    shim = _tf10(tf1)
    saved = {k: sys.modules.get(k) for k in ("tensorflow", "google3")}
    sys.modules["tensorflow"], sys.modules["google3"] = shim, types.ModuleType("google3")
    modules = {}
    try:
        for scheme, _, _ in CASES:
            path = folder / f"{scheme}_preprocessing.py"
            module = types.ModuleType(f"reference_{scheme}_preprocessing")
            module.__file__ = str(path)
            exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
            modules[scheme] = module
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return modules


def make_images() -> dict:
    """Smooth gradients plus noise, so resizes and crops move values that differ."""
    rng = np.random.default_rng(16)
    out = {}
    for name, h, w in IMAGES:
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x * 255 / max(1, w - 1), y * 255 / max(1, h - 1), (x + y) * 127 / (h + w)], -1)
        out[name] = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = pathlib.Path(argv[0] if argv else "/tmp/refslim/preprocessing")
    if not (folder / "vgg_preprocessing.py").is_file():
        print(f"no reference copies in {folder} (see this script's docstring)", file=sys.stderr)
        return 2
    import tensorflow as tf

    tf1 = tf.compat.v1
    refs = load_reference(folder)
    images = make_images()
    OUT.mkdir(parents=True, exist_ok=True)
    facts = {}
    with tf.Graph().as_default(), tf1.Session() as sess:
        for name, img in images.items():
            (OUT / f"{name}.png").write_bytes(sess.run(tf.io.encode_png(tf.constant(img))))
        for scheme, call, sizes in CASES:
            for name, img in images.items():
                for h, w in sizes:
                    x = tf1.placeholder(tf.uint8, [None, None, 3])
                    y = call(refs[scheme], x, h, w)
                    facts[f"{scheme}/{name}/{h}x{w}"] = sess.run(y, {x: img}).astype(np.float32)
    np.savez_compressed(OUT / "facts.npz", **facts)
    for k, v in facts.items():
        print(f"{k}: shape {list(v.shape)}, mean {v.mean():.6f}, min {v.min():.6f}, max {v.max():.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
