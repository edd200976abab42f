"""Record FACTS about TF-Slim's model zoo networks, for tests/test_zoo_*.py.

The reference (tensorflow/models, research/slim/nets) may not be copied into
this repository, so the tests compare the .slim networks with facts recorded
from it instead:

    python tools/zoo_facts.py --reference /tmp/refslim --out tests/fixtures/zoo/

REFERENCE is a directory holding the reference's `nets` package (nets/lenet.py,
nets/mobilenet/mobilenet_v2.py, nets/nasnet/nasnet.py, ...); a file COMMIT in
it names the tensorflow/models commit it was taken from, recorded in every
fixture. Each CASE below builds one reference network under its own arg_scope
and writes tests/fixtures/zoo/<case>.json with:

- how it was called (module, function, arg_scope and its arguments, input
  shape, keyword arguments): the test calls the .slim network the same way;
- sorted global / model / trainable variable names and shapes, the number of
  regularization losses and of update ops;
- end point names and static shapes, the output's shape;
- with `values`: for the output and every end point, summary statistics and a
  fixed sample of elements, computed for a fixed input (`input_batch`) after
  every variable was filled from its name (`fill_value`), so two graphs with
  the same variable names compute the same numbers without sharing a
  checkpoint.

The fill rule, the input and the statistics live here and nowhere else: the
tests import them (tests/zoo.py), so the reference and the .slim network are
measured by the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from pathlib import Path

import numpy as np

# Elements sampled per tensor; with the statistics, enough that a wrong block
# (a missing layer, a wrong activation, an unscaled residual) changes them.
SAMPLES = 24
FORMAT = 1


def _seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF


def fill_value(name: str, shape, dtype="float32") -> np.ndarray:
    """The value of variable `name`: a function of its name and shape only.

    Weights are scaled by their fan-in so activations keep a unit scale through
    deep networks; batch-norm moving statistics are non-trivial (moving
    variance positive) so inference-mode normalization is exercised.
    """
    shape = [int(d) for d in shape]
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        return np.zeros(shape, dt)
    rng = np.random.RandomState(_seed(name))
    base = name.rsplit("/", 1)[-1]
    if base == "moving_variance":
        v = rng.uniform(0.5, 1.5, shape)
    elif base == "moving_mean":
        v = rng.uniform(-0.5, 0.5, shape)
    elif base == "gamma":
        v = rng.uniform(0.5, 1.5, shape)
    elif base in ("beta", "biases", "bias"):
        v = rng.uniform(-0.2, 0.2, shape)
    elif len(shape) >= 2:
        if base == "depthwise_weights":
            fan_in = int(np.prod(shape[:-2]))
        else:
            fan_in = int(np.prod(shape[:-1]))
        v = rng.uniform(-1.0, 1.0, shape) * np.sqrt(6.0 / max(fan_in, 1))
    else:
        v = rng.uniform(-0.5, 0.5, shape)
    return v.astype(dt)


def input_batch(shape) -> np.ndarray:
    """The fixed input every case is run on."""
    return np.random.RandomState(1234).uniform(-1.0, 1.0, size=list(shape)).astype(np.float32)


def sample_indices(key: str, size: int) -> np.ndarray:
    rng = np.random.RandomState(_seed("sample:" + key))
    return rng.randint(0, size, size=min(SAMPLES, size))


def _f(x) -> float:
    return float(f"{float(x):.7g}")


def tensor_summary(key: str, value: np.ndarray) -> dict:
    """Statistics and a fixed sample of one evaluated tensor."""
    v = np.asarray(value, dtype=np.float64)
    flat = v.reshape(-1)
    idx = sample_indices(key, flat.size) if flat.size else np.zeros([0], int)
    return {
        "shape": list(v.shape),
        "mean": _f(flat.mean()) if flat.size else 0.0,
        "std": _f(flat.std()) if flat.size else 0.0,
        "min": _f(flat.min()) if flat.size else 0.0,
        "max": _f(flat.max()) if flat.size else 0.0,
        "abs_mean": _f(np.abs(flat).mean()) if flat.size else 0.0,
        "sample": [_f(flat[i]) for i in idx],
    }


def structure(graph, net, end_points) -> dict:
    """Names, shapes and counts of a built network (no session needed)."""
    from slimlang.tfcompat import slim, tf

    def shape(t):
        return [None if d is None else int(d) for d in t.shape.as_list()]

    with graph.as_default():
        keys = tf.compat.v1.GraphKeys
        return {
            "global_variables": sorted([v.op.name, shape(v)] for v in tf.compat.v1.global_variables()),
            "model_variables": sorted(v.op.name for v in slim.get_model_variables()),
            "trainable_variables": sorted(v.op.name for v in tf.compat.v1.trainable_variables()),
            "regularization_losses": len(tf.compat.v1.get_collection(keys.REGULARIZATION_LOSSES)),
            "update_ops": len(tf.compat.v1.get_collection(keys.UPDATE_OPS)),
            "end_points": sorted([k, shape(v)] for k, v in end_points.items()),
            "output_shape": shape(net),
        }


def fill_all(session, graph):
    """Assign every global variable its `fill_value` (one session call)."""
    from slimlang.tfcompat import tf

    with graph.as_default():
        variables = tf.compat.v1.global_variables()
        feed = {v.initial_value: fill_value(v.op.name, v.shape.as_list(), v.dtype.base_dtype.name)
                for v in variables}
        session.run([v.initializer for v in variables], feed)


def values(graph, x, net, end_points, batch) -> dict:
    """Output and end point summaries for `batch`, variables filled by name."""
    from slimlang.tfcompat import tf

    with graph.as_default(), tf.compat.v1.Session(graph=graph) as s:
        fill_all(s, graph)
        names = sorted(end_points)
        got = s.run([net] + [end_points[k] for k in names], {x: batch})
    out = {"<output>": tensor_summary("<output>", got[0])}
    for k, v in zip(names, got[1:]):
        out[k] = tensor_summary(k, v)
    return out


# (case id, reference module, function, arg_scope function, arg_scope kwargs,
#  input shape with batch, keyword arguments, record values)
# Small inputs where the reference allows them, so the tests stay fast.
CASES = [
    ("lenet", "nets.lenet", "lenet", "lenet_arg_scope", {}, [2, 28, 28, 1], {}, True),
    ("lenet-train", "nets.lenet", "lenet", "lenet_arg_scope", {}, [2, 28, 28, 1], {"is_training": True}, False),
    ("cifarnet", "nets.cifarnet", "cifarnet", "cifarnet_arg_scope", {}, [2, 32, 32, 3], {"is_training": False}, True),
    ("cifarnet-train", "nets.cifarnet", "cifarnet", "cifarnet_arg_scope", {}, [2, 32, 32, 3], {}, False),
    ("mobilenet_v1", "nets.mobilenet_v1", "mobilenet_v1", "mobilenet_v1_arg_scope", {}, [2, 128, 128, 3],
     {"is_training": False}, True),
    ("mobilenet_v1-train", "nets.mobilenet_v1", "mobilenet_v1", "mobilenet_v1_arg_scope", {}, [2, 128, 128, 3],
     {}, False),
    ("mobilenet_v1-global_pool", "nets.mobilenet_v1", "mobilenet_v1", "mobilenet_v1_arg_scope", {},
     [2, 96, 96, 3], {"is_training": False, "num_classes": 10, "global_pool": True, "spatial_squeeze": False}, True),
    ("mobilenet_v1-features", "nets.mobilenet_v1", "mobilenet_v1", "mobilenet_v1_arg_scope", {},
     [2, 96, 96, 3], {"is_training": False, "num_classes": 0}, True),
    ("mobilenet_v1_base-conv_defs", "nets.mobilenet_v1", "mobilenet_v1_base", "mobilenet_v1_arg_scope",
     {"is_training": False}, [2, 64, 64, 3], {"final_endpoint": "Conv2d_3", "conv_defs": [
         {"__type__": t, "fields": ["kernel", "stride", "depth"], "args": [k, s, d]}
         for t, k, s, d in (("Conv", [3, 3], 2, 16), ("DepthSepConv", [3, 3], 1, 32),
                            ("DepthSepConv", [5, 5], 2, 64), ("Conv", [1, 1], 1, 48))]}, True),
    ("mobilenet_v1_075", "nets.mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_arg_scope", {}, [2, 128, 128, 3],
     {"is_training": False}, True),
    ("mobilenet_v1_050", "nets.mobilenet_v1", "mobilenet_v1_050", "mobilenet_v1_arg_scope", {}, [2, 128, 128, 3],
     {"is_training": False}, True),
    ("mobilenet_v1_025", "nets.mobilenet_v1", "mobilenet_v1_025", "mobilenet_v1_arg_scope", {}, [2, 128, 128, 3],
     {"is_training": False}, True),
    ("mobilenet_v1_base", "nets.mobilenet_v1", "mobilenet_v1_base", "mobilenet_v1_arg_scope",
     {"is_training": False}, [2, 96, 96, 3], {}, True),
    ("mobilenet_v1_base-Conv2d_7", "nets.mobilenet_v1", "mobilenet_v1_base", "mobilenet_v1_arg_scope",
     {"is_training": False}, [2, 96, 96, 3], {"final_endpoint": "Conv2d_7_pointwise", "depth_multiplier": 0.5,
                                              "min_depth": 16}, True),
    ("mobilenet_v2", "nets.mobilenet.mobilenet_v2", "mobilenet", "training_scope", {"is_training": False},
     [2, 96, 96, 3], {}, True),
    ("mobilenet_v2-train", "nets.mobilenet.mobilenet_v2", "mobilenet", "training_scope", {}, [2, 96, 96, 3],
     {}, False),
    ("mobilenet_v2_140", "nets.mobilenet.mobilenet_v2", "mobilenet_v2_140", "training_scope",
     {"is_training": False}, [2, 96, 96, 3], {}, True),
    ("mobilenet_v2_035", "nets.mobilenet.mobilenet_v2", "mobilenet_v2_035", "training_scope",
     {"is_training": False}, [2, 96, 96, 3], {}, True),
    ("mobilenet_v2_base", "nets.mobilenet.mobilenet_v2", "mobilenet_base", "training_scope",
     {"is_training": False}, [2, 96, 96, 3], {}, True),
    ("mobilenet_v3_large", "nets.mobilenet.mobilenet_v3", "large", "training_scope", {"is_training": False},
     [2, 96, 96, 3], {}, True),
    ("mobilenet_v3_small", "nets.mobilenet.mobilenet_v3", "small", "training_scope", {"is_training": False},
     [2, 96, 96, 3], {}, True),
    ("mobilenet_v3_edge_tpu", "nets.mobilenet.mobilenet_v3", "edge_tpu", "training_scope",
     {"is_training": False}, [2, 96, 96, 3], {}, True),
    ("inception_v4", "nets.inception_v4", "inception_v4", "inception_v4_arg_scope", {}, [2, 107, 107, 3],
     {"is_training": False}, True),
    ("inception_v4-train", "nets.inception_v4", "inception_v4", "inception_v4_arg_scope", {}, [2, 107, 107, 3],
     {}, False),
    ("inception_v4_base", "nets.inception_v4", "inception_v4_base", "inception_v4_arg_scope", {},
     [2, 107, 107, 3], {"final_endpoint": "Mixed_6a"}, True),
    ("inception_resnet_v2", "nets.inception_resnet_v2", "inception_resnet_v2", "inception_resnet_v2_arg_scope",
     {}, [2, 107, 107, 3], {"is_training": False}, True),
    ("inception_resnet_v2-train", "nets.inception_resnet_v2", "inception_resnet_v2",
     "inception_resnet_v2_arg_scope", {}, [2, 107, 107, 3], {}, False),
    ("inception_resnet_v2_base-os8", "nets.inception_resnet_v2", "inception_resnet_v2_base",
     "inception_resnet_v2_arg_scope", {}, [2, 75, 75, 3],
     {"final_endpoint": "PreAuxLogits", "output_stride": 8, "align_feature_maps": True}, True),
    ("nasnet_cifar", "nets.nasnet.nasnet", "build_nasnet_cifar", "nasnet_cifar_arg_scope", {}, [2, 32, 32, 3],
     {"num_classes": 10, "is_training": False}, True),
    ("nasnet_cifar-train", "nets.nasnet.nasnet", "build_nasnet_cifar", "nasnet_cifar_arg_scope", {},
     [2, 32, 32, 3], {"num_classes": 10}, False),
    ("nasnet_mobile", "nets.nasnet.nasnet", "build_nasnet_mobile", "nasnet_mobile_arg_scope", {},
     [2, 96, 96, 3], {"num_classes": 1001, "is_training": False}, True),
    ("nasnet_large", "nets.nasnet.nasnet", "build_nasnet_large", "nasnet_large_arg_scope", {}, [1, 96, 96, 3],
     {"num_classes": 1001, "is_training": False}, True),
    ("pnasnet_mobile", "nets.nasnet.pnasnet", "build_pnasnet_mobile", "pnasnet_mobile_arg_scope", {},
     [2, 96, 96, 3], {"num_classes": 1001, "is_training": False}, True),
    ("pnasnet_large", "nets.nasnet.pnasnet", "build_pnasnet_large", "pnasnet_large_arg_scope", {},
     [1, 96, 96, 3], {"num_classes": 1001, "is_training": False}, True),
    ("dcgan_generator", "nets.dcgan", "generator", None, {}, [2, 16], {}, True),
    ("dcgan_generator-eval", "nets.dcgan", "generator", None, {}, [2, 16],
     {"is_training": False, "final_size": 16, "depth": 32}, True),
    ("dcgan_discriminator", "nets.dcgan", "discriminator", None, {}, [2, 32, 32, 3], {}, True),
    ("dcgan_discriminator-eval", "nets.dcgan", "discriminator", None, {}, [2, 16, 16, 3],
     {"is_training": False, "depth": 32}, True),
    # The default generator drops units in its decoder even at inference
    # (is_training=True there, as in the paper): values only without dropout.
    ("pix2pix_generator", "nets.pix2pix", "pix2pix_generator", "pix2pix_arg_scope", {}, [1, 128, 128, 3],
     {"num_outputs": 3}, False),
    ("pix2pix_generator-no_dropout", "nets.pix2pix", "pix2pix_generator", "pix2pix_arg_scope", {},
     [2, 32, 32, 3], {"num_outputs": 3, "blocks": [{"__type__": "Block", "args": [d, 0]}
                                                   for d in (64, 128, 256, 512, 512)]}, True),
    ("pix2pix_generator-conv2d_transpose", "nets.pix2pix", "pix2pix_generator", "pix2pix_arg_scope", {},
     [2, 16, 16, 3], {"num_outputs": 2, "upsample_method": "conv2d_transpose",
                      "blocks": [{"__type__": "Block", "args": [d, 0]} for d in (32, 64, 128, 128)]}, True),
    ("pix2pix_discriminator", "nets.pix2pix", "pix2pix_discriminator", "pix2pix_arg_scope", {},
     [2, 32, 32, 3], {"num_filters": [64, 128, 256, 512]}, True),
    ("cyclegan_generator", "nets.cyclegan", "cyclegan_generator_resnet", "cyclegan_arg_scope", {},
     [2, 32, 32, 3], {}, True),
    ("i3d", "nets.i3d", "i3d", "i3d_arg_scope", {}, [1, 16, 64, 64, 3], {"is_training": False}, True),
    ("s3dg", "nets.s3dg", "s3dg", "s3dg_arg_scope", {}, [1, 16, 64, 64, 3], {"is_training": False}, True),
    # the temporal kernels and self-gating starting later, a narrower net stopped early; and I3D's
    # separable variant (a spatial then a temporal convolution) with batch renormalization
    ("s3dg-startat", "nets.s3dg", "s3dg", "s3dg_arg_scope", {}, [1, 8, 32, 32, 3],
     {"first_temporal_kernel_size": 5, "temporal_conv_startat": "Mixed_3b", "gating_startat": "Mixed_3c",
      "final_endpoint": "Mixed_4b", "depth_multiplier": 0.5, "min_depth": 24, "num_classes": 10,
      "spatial_squeeze": False, "is_training": False}, True),
    ("i3d_base-separable", "nets.i3d", "i3d_base", "i3d_arg_scope", {"separable_conv3d": True, "use_renorm": True},
     [1, 8, 32, 32, 3], {"final_endpoint": "Mixed_3c"}, True),
]

CASE_FIELDS = ("id", "module", "function", "arg_scope", "arg_scope_kwargs", "input_shape", "kwargs",
               "record_values")


def reference_value(module, value):
    """A keyword argument as the reference takes it: {"__type__": "Block", "args": [64, 0]} is
    module.Block(64, 0) (a namedtuple)."""
    if isinstance(value, dict) and "__type__" in value:
        return getattr(module, value["__type__"])(*value["args"])
    if isinstance(value, list):
        return [reference_value(module, v) for v in value]
    return value


def slim_value(value):
    """The same argument for a .slim network: a namedtuple is passed as the plain tuple of its fields,
    or, where the case names the fields, as a dict of them with its type under "type"
    (mobilenet_v1's Conv(kernel, stride, depth) -> dict(type="Conv", kernel=..., stride=..., depth=...))."""
    if isinstance(value, dict) and "__type__" in value:
        if "fields" in value:
            return dict(zip(value["fields"], value["args"]), type=value["__type__"])
        return tuple(value["args"])
    if isinstance(value, list):
        return [slim_value(v) for v in value]
    return value


def build_reference(case: dict):
    """Build one case's reference network in a new graph: (graph, input, net, end_points)."""
    import importlib

    from slimlang.tfcompat import slim, tf

    module = importlib.import_module(case["module"])
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, case["input_shape"], name="inputs")
        fn = getattr(module, case["function"])
        kwargs = {k: reference_value(module, v) for k, v in case["kwargs"].items()}
        if case["arg_scope"]:
            with slim.arg_scope(getattr(module, case["arg_scope"])(**case["arg_scope_kwargs"])):
                net, end_points = fn(x, **kwargs)
        else:
            net, end_points = fn(x, **kwargs)
    return g, x, net, end_points


def facts(case: dict) -> dict:
    g, x, net, end_points = build_reference(case)
    out = dict(case)
    out.update(structure(g, net, end_points))
    if case["record_values"]:
        out["values"] = values(g, x, net, end_points, input_batch(case["input_shape"]))
    return out


def _dumps(data: dict) -> str:
    """JSON with one variable or end point per line: compact, and diffs show which one changed."""
    def one(v):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)

    items = []
    for k in sorted(data):
        v = data[k]
        if isinstance(v, list) and v and isinstance(v[0], (list, str)):
            body = ",\n".join("  " + one(e) for e in v)
            items.append(f"{one(k)}: [\n{body}\n]")
        elif isinstance(v, dict) and v and all(isinstance(e, dict) for e in v.values()):
            body = ",\n".join(f"  {one(n)}: {one(e)}" for n, e in sorted(v.items()))
            items.append(f"{one(k)}: {{\n{body}\n}}")
        else:
            items.append(f"{one(k)}: {one(v)}")
    return "{\n" + ",\n".join(items) + "\n}\n"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_dumps(data))
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="directory holding the reference's `nets` package")
    ap.add_argument("--out", required=True, help="fixture directory (tests/fixtures/zoo/)")
    ap.add_argument("--only", nargs="*", help="case ids or prefixes (default: all)")
    args = ap.parse_args(argv)
    ref = Path(args.reference).resolve()
    if not (ref / "nets").is_dir():
        ap.error(f"{ref} has no nets/ directory")
    commit_file = ref / "COMMIT"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    sys.path.insert(0, str(ref))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for row in CASES:
        case = dict(zip(CASE_FIELDS, row))
        if args.only and not any(case["id"] == o or case["id"].startswith(o) for o in args.only):
            continue
        try:
            data = facts(case)
        except ImportError as e:
            print(f"{case['id']}: reference not available ({e})", file=sys.stderr)
            failed.append(case["id"])
            continue
        data["reference"] = f"tensorflow/models@{commit} research/slim/{case['module'].replace('.', '/')}.py"
        data["format"] = FORMAT
        _write_json(out_dir / f"{case['id']}.json", data)
        print(f"{case['id']}: {len(data['global_variables'])} variables, {len(data['end_points'])} end points")
    if failed:
        print(f"not recorded: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
