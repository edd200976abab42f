"""`data ... preprocess=SCHEME`: TF-Slim's preprocessing schemes, one entry per scheme.

TF-Slim's `preprocessing_factory` picks a network's preprocessing by name;
these are its four schemes, under the names it maps to them (`vgg_16`,
`resnet_v1_50`, `inception_v3`, ...; resnet_v2 as resnet_v1, as
`nets_factory` pairs them).  Each scheme turns one image, pixels as stored
(0..255 for image files), into the model's input of the data line's
`crop=[height, width]`: randomly while training, deterministically in eval,
export and predict.  `build` names the TensorFlow function
(`slimlang/training/schemes.py`); `args` are the data-line options the
scheme reads.  tests/test_preprocessing.py checks the deterministic paths
against TF-Slim's own functions (facts recorded by tools/preprocessing_facts.py).

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from ...diagnostics import did_you_mean
from ..argtypes import BadValue, Type, optional, seq
from .base import Arg, Kind, kinds


def _side_range(v):
    vals = seq(v)
    if len(vals) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in vals):
        raise BadValue(f"[min, max]: two integers > 0, got {v!r}")
    return (int(vals[0]), int(vals[1]))


RESIZE_SIDE = Arg("resize_side", optional(Type("[min, max] of integers > 0", _side_range)), None,
                  "vgg: the shorter side is resized to a random length in [min, max] while training, "
                  "to min in eval (default [256, 512], TF-Slim's)")

PREPROCESSING = kinds(
    Kind("vgg", (RESIZE_SIDE,),
         "aspect-preserving resize of the shorter side (random in `resize_side` while training), random crop "
         "and left-right flip while training, centre crop in eval, then the ImageNet channel means "
         "(123.68, 116.78, 103.94) subtracted; RGB images of pixels 0..255",
         aliases=("vgg_a", "vgg_16", "vgg_19", "resnet_v1", "resnet_v1_50", "resnet_v1_101", "resnet_v1_152",
                  "resnet_v1_200", "resnet_v2", "resnet_v2_50", "resnet_v2_101", "resnet_v2_152", "resnet_v2_200"),
         build="slimlang.training.schemes:vgg"),
    Kind("inception", (),
         "while training a random crop of a distorted bounding box (10% of the image covered at least, aspect "
         "0.75..1.33, area 5%..100%) resized to the output size, left-right flip and colour distortion "
         "(brightness, saturation); in eval the central 87.5% resized to the output size; pixels then "
         "mapped to [-1, 1]",
         aliases=("inception_v1", "inception_v2", "inception_v3", "inception_v4", "inception_resnet_v2",
                  "mobilenet_v1", "mobilenet_v2", "nasnet_mobile", "nasnet_large", "pnasnet_mobile",
                  "pnasnet_large"),
         build="slimlang.training.schemes:inception"),
    Kind("cifarnet", (),
         "while training: pad by 4, random crop, left-right flip, random brightness (63) and contrast "
         "(0.2..1.8); in eval a centre crop (or pad) to the output size; then per-image standardization",
         build="slimlang.training.schemes:cifarnet"),
    Kind("lenet", (), "a centre crop (or pad) to the output size, then (pixels - 128) / 128",
         build="slimlang.training.schemes:lenet"),
)

#: Other names of the schemes: the network names preprocessing_factory maps to them.
ALIASES = {a: k.name for k in PREPROCESSING.values() for a in k.aliases}


def canonical(name: str) -> str | None:
    if name in PREPROCESSING:
        return name
    return ALIASES.get(name)


def _scheme(v):
    if not isinstance(v, str):
        raise BadValue(f"a scheme name ({', '.join(PREPROCESSING)}), got {v!r}")
    found = canonical(v)
    if found is None:
        hint = did_you_mean(v, list(PREPROCESSING) + list(ALIASES)).replace("help: ", "")
        raise BadValue(f"no preprocessing scheme `{v}`; schemes: {', '.join(PREPROCESSING)}"
                       + (f" ({hint})" if hint else ""))
    return found


SCHEME = Type("preprocessing scheme: vgg, inception, cifarnet or lenet", _scheme)

PREPROCESS = Arg("preprocess", optional(SCHEME), None,
                 "TF-Slim's preprocessing scheme (vgg, inception, cifarnet, lenet, or a network name "
                 "preprocessing_factory maps to one); the output size is `crop`")

# Options a scheme does itself: given with `preprocess=`, they would be applied twice or not at all.
_OWN = {"resize": "resizes", "scale": "scales the pixels", "flip": "flips"}


def conflicts(options: dict) -> list:
    """[(code, message, option key)] of data-line options that do not go with its `preprocess=`."""
    scheme = options.get("preprocess")
    out = []
    if scheme is None:
        if options.get("resize_side") is not None:
            out.append(("E310", "`resize_side` is an option of `preprocess=vgg`; this data line has no "
                        "preprocess=", "resize_side"))
        return out
    if not options.get("crop"):
        out.append(("E309", f"`preprocess={scheme}` needs the output size: add crop=[height, width] "
                    "(e.g. crop=[224, 224])", "preprocess"))
    for key, what in _OWN.items():
        if options.get(key):
            out.append(("E310", f"`{key}` with `preprocess={scheme}`: the scheme {what} itself; remove "
                        f"`{key}`", key))
    side = options.get("resize_side")
    if side is not None:
        if scheme != "vgg":
            out.append(("E310", f"`resize_side` is an option of `preprocess=vgg`, not of {scheme}", "resize_side"))
        elif side[0] > side[1]:
            out.append(("E310", f"resize_side={list(side)}: min is above max", "resize_side"))
        elif options.get("crop") and (options["crop"][0] > side[0] or options["crop"][1] > side[0]):
            out.append(("E310", f"crop {list(options['crop'])} is larger than the shorter side after the "
                        f"resize ({side[0]})", "crop"))
    elif scheme == "vgg" and options.get("crop") and max(options["crop"]) > 256:
        out.append(("E310", f"crop {list(options['crop'])} is larger than the shorter side after vgg's resize "
                    "(256): give resize_side=[MIN, MAX] with MIN at least the crop", "crop"))
    return out
