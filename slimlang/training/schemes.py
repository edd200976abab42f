"""TF-Slim's preprocessing schemes in TensorFlow (the table: `kinds/preprocessing.py`).

Each function takes ONE image `[height, width, channels]` (float32, pixels as
stored: 0..255 for image files and uint8 arrays), the output size and
whether it is training, and returns float32 `[out_h, out_w, channels]`.
The eval paths compute what TF-Slim's `preprocess_for_eval` functions
compute (TF1 bilinear resizes without half-pixel centres, TF-Slim's crop
offsets and constants); tests/test_preprocessing.py holds them to it within
1e-5.  The training paths use TensorFlow's stateless random ops, seeded
per example (the data pipeline hands each example a seed drawn from the data
line's `seed`): the same seed gives the same augmentations, however many
threads preprocess.
"""

from __future__ import annotations

from ._tf import tf, tf1

VGG_MEANS = (123.68, 116.78, 103.94)  # R, G, B, as TF-Slim's vgg_preprocessing
VGG_RESIZE_SIDE = (256, 512)
INCEPTION_CENTRAL_FRACTION = 0.875
CIFARNET_PADDING = 4


def _bilinear(image, size):
    """TF1's resize_bilinear (align_corners=False, no half-pixel centres), as TF-Slim resizes."""
    return tf1.image.resize_bilinear(image[None], size, align_corners=False)[0]


def _shorter_side_to(image, side):
    """Resize so the shorter side is `side`, keeping the aspect (sizes truncated, as TF-Slim's)."""
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    side = tf.cast(side, tf.float32)
    scale = tf1.where(h > w, side / w, side / h)
    return _bilinear(image, tf.stack([tf.cast(h * scale, tf.int32), tf.cast(w * scale, tf.int32)]))


def _centre_crop(image, out_h: int, out_w: int):
    """The [out_h, out_w] crop at offsets ((h - out_h) / 2, (w - out_w) / 2), truncated."""
    shape = tf.shape(image)
    top, left = (shape[0] - out_h) // 2, (shape[1] - out_w) // 2
    return image[top:top + out_h, left:left + out_w]


def _subtract_means(image, means):
    channels = image.shape[-1]
    if channels != len(means):
        # Grey or RGBA images: the mean of the three channel means for each channel.
        means = [sum(means) / len(means)] * (channels or 1)
    return image - tf.constant(means, tf.float32)


def _seeds(seed, n: int) -> list:
    """`n` stateless seeds ([2] int64) from one example's seed."""
    seed = tf.cast(tf.reshape(seed, [-1])[:1], tf.int64)
    return [tf.concat([seed, tf.constant([k], tf.int64)], 0) for k in range(n)]


def vgg(image, out_h: int, out_w: int, training: bool, options: dict, seed=None):
    lo, hi = options.get("resize_side") or VGG_RESIZE_SIDE
    c = image.shape[-1]
    if training:
        s = _seeds(seed, 3)
        side = tf.random.stateless_uniform([], s[0], minval=int(lo), maxval=int(hi) + 1, dtype=tf.int32)
        image = _shorter_side_to(image, side)
        image = tf.image.stateless_random_crop(image, [out_h, out_w, c], s[1])
        image = tf.image.stateless_random_flip_left_right(image, s[2])
    else:
        image = _centre_crop(_shorter_side_to(image, int(lo)), out_h, out_w)
    image = tf.ensure_shape(image, [out_h, out_w, c])
    return _subtract_means(image, VGG_MEANS)


def _as_unit(image, stored_255: bool):
    """Pixels in [0, 1], as tf.image.convert_image_dtype makes them from uint8."""
    return image * (1.0 / 255.0) if stored_255 else image


def _distort_colour(image, s):
    """TF-Slim's fast-mode distort_color: brightness then saturation, or the other order (3 in 4)."""
    def brightness(x):
        return tf.image.stateless_random_brightness(x, 32.0 / 255.0, s[0])

    def saturation(x):
        return tf.image.stateless_random_saturation(x, 0.5, 1.5, s[1]) if x.shape[-1] == 3 else x

    order = tf.random.stateless_uniform([], s[2], maxval=4, dtype=tf.int32)
    image = tf.cond(tf.equal(order, 0), lambda: saturation(brightness(image)),
                    lambda: brightness(saturation(image)))
    return tf.clip_by_value(image, 0.0, 1.0)


def inception(image, out_h: int, out_w: int, training: bool, options: dict, seed=None):
    stored_255 = options.get("_stored_255", True)
    c = image.shape[-1]
    image = _as_unit(image, stored_255)
    if training:
        s = _seeds(seed, 5)
        whole = tf.constant([[[0.0, 0.0, 1.0, 1.0]]], tf.float32)
        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image), bounding_boxes=whole, seed=s[0], min_object_covered=0.1,
            aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0), max_attempts=100,
            use_image_if_no_bounding_boxes=True)
        image = tf.slice(image, begin, size)
        image = _bilinear(image, [out_h, out_w])
        image = tf.image.stateless_random_flip_left_right(image, s[1])
        image = _distort_colour(image, s[2:])
    else:
        image = tf.image.central_crop(image, central_fraction=INCEPTION_CENTRAL_FRACTION)
        image = _bilinear(image, [out_h, out_w])
    image = tf.ensure_shape(image, [out_h, out_w, c])
    return (image - 0.5) * 2.0


def cifarnet(image, out_h: int, out_w: int, training: bool, options: dict, seed=None):
    c = image.shape[-1]
    if training:
        s = _seeds(seed, 4)
        p = CIFARNET_PADDING
        image = tf.pad(image, [[p, p], [p, p], [0, 0]])
        image = tf.image.stateless_random_crop(image, [out_h, out_w, c], s[0])
        image = tf.image.stateless_random_flip_left_right(image, s[1])
        image = tf.image.stateless_random_brightness(image, 63.0, s[2])
        image = tf.image.stateless_random_contrast(image, 0.2, 1.8, s[3])
    else:
        image = tf.image.resize_with_crop_or_pad(image, out_h, out_w)
    image = tf.ensure_shape(image, [out_h, out_w, c])
    return tf.image.per_image_standardization(image)


def lenet(image, out_h: int, out_w: int, training: bool, options: dict, seed=None):
    image = tf.image.resize_with_crop_or_pad(image, out_h, out_w)
    return (image - 128.0) / 128.0


def apply(scheme: str, images, training: bool, options: dict, stored_255: bool, seed=None):
    """Scheme `scheme` on one image (rank 3) or each image of a batch (rank 4, eval only).

    `seed`: the example's seed (an int64 scalar tensor) for a training path;
    without one, a seed is drawn from TensorFlow's (graph-seeded) generator."""
    from .kinds.preprocessing import PREPROCESSING

    fn = PREPROCESSING[scheme].builder()
    out_h, out_w = (int(d) for d in options["crop"])
    opts = dict(options, _stored_255=stored_255)
    x = tf.cast(images, tf.float32)
    if training and seed is None:
        seed = tf1.random_uniform([], maxval=2**31 - 1, dtype=tf.int64)
    if x.shape.rank == 3:
        return fn(x, out_h, out_w, training, opts, seed)
    c = x.shape[-1]
    return tf.map_fn(lambda one: fn(one, out_h, out_w, training, opts, seed), x,
                     fn_output_signature=tf.TensorSpec([out_h, out_w, c], tf.float32))
