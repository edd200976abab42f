"""The layer table: every layer kind of the language, in one place.

Each `LayerKind` says what the DSL calls it, which TF-Slim / TensorFlow
function builds it, its parameters (types, TF-Slim's own defaults, the
keyword TF-Slim uses), how it changes a static shape and how many parameters
it creates.  The checker, the shape evaluator, both lowerings (graph and
emitted Python) and docs/language.md are driven by this table; adding a layer
is one entry here.  Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from .values import Op
from .values import show as _show

REQUIRED = object()


class ShapeError(Exception):
    """A static shape problem; the evaluator locates it at the layer."""


@dataclass(frozen=True, slots=True)
class P:
    """One parameter of a layer kind."""

    name: str
    type: str  # int, float, bool, str, size2, ints, padding, activation, initializer, regularizer, normalizer, dict, tensor, tensors, tensor_or_number, any
    default: object = REQUIRED
    py: str | None = None  # keyword in TF-Slim/TF when it differs (activation -> activation_fn)
    doc: str = ""
    check: str = ""  # a value constraint from CHECKS (positive, probability, ...); "" for none
    always: bool = False  # passed to the TF function even when not given: it has no default of its own

    def problem(self, value) -> str | None:
        """What is wrong with `value` under this parameter's constraint, or None."""
        return check_value(self.check, value) if self.check else None

    def hint(self, value) -> str:
        """A did-you-mean note for a value the constraint refused (a word of an enumerated
        parameter spelled another way), or ""."""
        return check_hint(self.check, value) if self.check else ""

    @property
    def py_name(self) -> str:
        return self.py or self.name


@dataclass(frozen=True)
class LayerKind:
    name: str
    fn: str  # Python spelling: slim.conv2d, tf.squeeze, ...
    params: tuple
    shape: Callable  # (input_shapes: list[tuple], args: dict) -> tuple
    count: Callable = lambda shapes, args, ctx: (0, 0)  # -> (trainable, non-trainable)
    positional: tuple = ()  # DSL params passed positionally to `fn`, in order
    inputs: str = "one"  # one: the current tensor; list: a `tensors` argument; none: no input
    outputs: str = "one"  # one: a tensor; list: a list of tensors (split), to be named: `parts = split 2`
    scope_kw: str | None = "scope"  # keyword that takes `as NAME`; "name" for plain TF ops
    default_scope: str = ""  # slim's scope name when `as` is omitted (Conv, fully_connected, ...)
    repeat_name: str = ""  # what slim.repeat / slim.stack call it when no scope is given
    creates_variables: bool = False
    doc: str = ""
    # Other names of the layer users bring from TF-Slim and Keras (`convolution2d`, `Dense`, `MaxPooling2D`):
    # an unknown layer spelled like one of these or like `fn`'s function, ignoring case and underscores
    # (`dense`, `max_pooling2d`, `fully_connected`), gets "did you mean" this layer (checker.py).
    aliases: tuple = ()
    # The function called is this parameter's value (an activation held in a parameter), not `fn`.
    call_param: str = ""
    # `fn` is not slim's but is decorated with slim.add_arg_scope (drop_path), so `defaults` may set it.
    arg_scope: bool = False
    param_map: dict = field(default_factory=dict)
    # Derived once from `params` (the evaluator's per-layer hot path reads these instead of looping):
    param_names: tuple = field(default=(), init=False, repr=False, compare=False)
    template: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # name -> table default
    required: tuple = field(default=(), init=False, repr=False, compare=False)  # names without a default

    def __post_init__(self):
        self.param_map.update({p.name: p for p in self.params})
        for p in self.params:
            if p.py and p.py != p.name:
                self.param_map.setdefault(p.py, p)
        object.__setattr__(self, "param_names", tuple(p.name for p in self.params))
        self.template.update({p.name: p.default for p in self.params})
        object.__setattr__(self, "required", tuple(p.name for p in self.params if p.default is REQUIRED))

    def param(self, name: str) -> P | None:
        return self.param_map.get(name)


# ------------------------------------------------------ value constraints ---
# A parameter's `check` names one of these.  Each takes a value that already has the parameter's
# type (the evaluator checks types first) and says what is wrong with it, or returns None.  The
# evaluator applies them to every argument a layer or a `defaults` rule sets, so checking is
# driven by this table, not by special cases per layer.


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _positive(v):
    if v is None:
        return "must be given (none is not a size here)"
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    bad = [x for x in items if _num(x) and x <= 0]
    if bad:
        return f"must be positive, got {_show(v)}"
    return None


def _positive_or_none(v):
    return None if v is None else _positive(v)


def _probability(v):
    if _num(v) and not 0 < v <= 1:
        return f"must be a probability in (0, 1], got {_show(v)}"
    return None


def _unit(v):
    if _num(v) and not 0 <= v <= 1:
        return f"must be between 0 and 1, got {_show(v)}"
    return None


def _dims(v):
    """A variable's shape: every dimension a positive integer."""
    if v is None:
        return "must be given, e.g. [10, 20]"
    items = [v] if isinstance(v, int) else list(v)
    bad = [x for x in items if not (isinstance(x, int) and not isinstance(x, bool) and x > 0)]
    if bad:
        return f"must list positive integer sizes, got {_show(v)}"
    return None


def _reshape_dims(v):
    """tf.reshape's shape: positive sizes and at most one -1 (the size to infer)."""
    items = [v] if isinstance(v, int) else list(v)
    if any(not (isinstance(x, int) and not isinstance(x, bool)) or x == 0 or x < -1 for x in items):
        return f"must list positive sizes (or -1 once, for the size to infer), got {_show(v)}"
    if items.count(-1) > 1:
        return f"may contain -1 only once (the one size to infer), got {_show(v)}"
    return None


def _paddings(v):
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    for pair_ in items:
        if not (isinstance(pair_, (list, tuple)) and len(pair_) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in pair_)):
            return f"must be one [before, after] pair of non-negative integers per axis, got {_show(v)}"
    return None


def _axes_check(v):
    if v is None:  # every axis (mean) or every axis of size 1 (squeeze)
        return None
    items = [v] if isinstance(v, int) else list(v)
    if any(not (isinstance(x, int) and not isinstance(x, bool)) for x in items):
        return f"must be an axis or a list of axes (integers), got {_show(v)}"
    return None


def _int_list(v) -> list | None:
    items = [v] if isinstance(v, int) else list(v) if isinstance(v, (list, tuple)) else None
    if items is None or any(not (isinstance(x, int) and not isinstance(x, bool)) for x in items):
        return None
    return items


def _slice_begin(v):
    items = _int_list(v)
    if items is None or any(x < 0 for x in items):
        return f"must list a non-negative start index per axis, got {_show(v)}"
    return None


def _slice_size(v):
    items = _int_list(v)
    if items is None or any(x < 1 and x != -1 for x in items):
        return f"must list a positive size per axis (or -1 for the rest of the axis), got {_show(v)}"
    return None


def _slice_bounds(v):
    items = [v] if v is None or isinstance(v, int) else list(v) if isinstance(v, (list, tuple)) else None
    if items is None or any(not (x is None or isinstance(x, int) and not isinstance(x, bool)) for x in items):
        return (f"must list an index per axis (negative counts from the end, `none` for the whole axis), "
                f"got {_show(v)}")
    return None


def _strides(v):
    if v is None:
        return None
    items = _int_list(v)
    if items is None or 0 in items:
        return f"must list a non-zero step per axis (negative steps go backwards), got {_show(v)}"
    return None


def _split_parts(v):
    """tf.split's num_or_size_splits: a number of equal parts, or the parts' sizes (-1 once, for the rest)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return None if v >= 1 else f"must be a positive number of parts or a list of sizes, got {_show(v)}"
    items = _int_list(v)
    if not items or any(x == 0 or x < -1 for x in items):
        return f"must be a positive number of parts or a list of positive sizes (-1 once for the rest), got {_show(v)}"
    if items.count(-1) > 1:
        return f"may contain -1 only once (the one size to infer), got {_show(v)}"
    return None


def _not_kernel(v):
    """An initializer of a vector (biases): `center_identity` makes kernels only."""
    if isinstance(v, Op) and v.name == "center_identity":
        return "cannot be `center_identity`, which makes kernels (rank 2 or more): biases are a vector"
    return None


CHECKS: dict[str, Callable] = {
    "vector_initializer": _not_kernel,
    "positive": _positive,  # ints or pairs, every part >= 1, none not allowed
    "positive_or_none": _positive_or_none,
    "probability": _probability,  # (0, 1]
    "unit": _unit,  # [0, 1]
    "dims": _dims,
    "dims_or_none": lambda v: None if v is None else _dims(v),
    "reshape_dims": _reshape_dims,
    "paddings": _paddings,
    "axes": _axes_check,
    "slice_begin": _slice_begin,
    "dtype": lambda v: None if v in DTYPES else f"must be one of {', '.join(DTYPES)}, got {_show(v)}",
    "given": lambda v: "must be given: `none` applies nothing (write `if fn { activation fn }`)" if v is None else None,
    "slice_size": _slice_size,
    "slice_bounds": _slice_bounds,
    "strides": _strides,
    "split_parts": _split_parts,
    "non_negative": lambda v: f"must not be negative, got {_show(v)}" if _num(v) and v < 0 else None,
    # tf.pad upper-cases its mode; tf.image.resize compares its method as written
    "pad_mode": lambda v: _one_of(v, ENUMS["pad_mode"], ignore_case=True),
    "resize_method": lambda v: _one_of(v, ENUMS["resize_method"]),
}

# How docs/language.md words each constraint (after the parameter's type).
CHECK_WORDS: dict[str, str] = {
    "vector_initializer": "not center_identity",
    "positive": "positive", "positive_or_none": "positive or none", "probability": "in (0, 1]",
    "unit": "in [0, 1]", "dims": "positive sizes", "dims_or_none": "positive sizes or none",
    "reshape_dims": "positive sizes, -1 once", "paddings": "non-negative pairs", "axes": "integers",
    "slice_begin": "non-negative", "slice_size": "positive or -1",
    "slice_bounds": "integers or none", "strides": "non-zero",
    "split_parts": "positive, or sizes with -1 once", "dtype": "a type name", "given": "not none",
    "non_negative": "non-negative",
    "pad_mode": "any case", "resize_method": "as listed",
}

# The element types a variable may have (TensorFlow's names, as tf.as_dtype reads them).
DTYPES = ("float32", "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")

# Parameters whose values are a few words (SAME, VALID): a value that matches one but for case
# gets a did-you-mean with the right spelling.
# Keyed by the parameter's type (padding) or its check (pad_mode, resize_method).
ENUMS: dict[str, tuple] = {"padding": ("SAME", "VALID"), "pad_mode": ("CONSTANT", "REFLECT", "SYMMETRIC"),
                           "resize_method": ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                                             "gaussian", "mitchellcubic")}


def _one_of(v, words, ignore_case=False):
    if isinstance(v, str) and (v.upper() if ignore_case else v) in words:
        return None
    return f"must be one of {', '.join(repr(w) for w in words)}, got {_show(v)}"


def check_value(check: str, value) -> str | None:
    return CHECKS[check](value)


def check_hint(check: str, value) -> str:
    """`help: did you mean 'nearest'?` for a string close to a word of an enumerated check."""
    import difflib

    words = ENUMS.get(check)
    if not words or not isinstance(value, str):
        return ""
    lower = {w.lower(): w for w in words}
    close = difflib.get_close_matches(value.lower(), list(lower), 1, 0.6)
    return f"help: did you mean {lower[close[0]]!r}?" if close else ""


# ------------------------------------------------------------ shape rules ---


def pair(v) -> tuple:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ShapeError(f"expected a pair like 3x3 or [3, 3], got {list(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _rank(shape, n, what):
    if len(shape) != n:
        layout = {4: " (batch, height, width, channels)", 5: " (batch, depth, height, width, channels)"}.get(n, "")
        raise ShapeError(f"{what} expects a rank-{n} input{layout}, got shape {fmt_shape(shape)}")


def _window_out(size, k, s, padding, what):
    if size is None:
        return None
    if padding == "SAME":
        return math.ceil(size / s)
    if size < k:
        raise ShapeError(f"{what} {k} is larger than the input ({size}) with VALID padding")
    return math.ceil((size - k + 1) / s)


def _conv_shape(shapes, a):
    (shape,) = shapes
    _rank(shape, 4, "conv")
    kh, kw = pair(a["kernel_size"])
    sh, sw = pair(a["stride"])
    rh, rw = pair(a["rate"])
    eh, ew = kh + (kh - 1) * (rh - 1), kw + (kw - 1) * (rw - 1)
    n, h, w, _ = shape
    out = a["num_outputs"]
    return (n, _window_out(h, eh, sh, a["padding"], "kernel"), _window_out(w, ew, sw, a["padding"], "kernel"), out)


def triple(v) -> tuple:
    """A 3-D size: an int for all three axes, or [depth, height, width]."""
    if isinstance(v, (list, tuple)):
        if len(v) != 3:
            raise ShapeError(f"expected three sizes like [3, 3, 3] (depth, height, width) or one int, got {list(v)}")
        return int(v[0]), int(v[1]), int(v[2])
    return int(v), int(v), int(v)


def _conv3d_shape(shapes, a):
    (shape,) = shapes
    _rank(shape, 5, "conv3d")
    ks, ss, rs = triple(a["kernel_size"]), triple(a["stride"]), triple(a["rate"])
    dims = [_window_out(d, k + (k - 1) * (r - 1), st, a["padding"], "kernel")
            for d, k, st, r in zip(shape[1:4], ks, ss, rs)]
    return (shape[0], *dims, a["num_outputs"])


def _pool3d_shape(shapes, a):
    (shape,) = shapes
    _rank(shape, 5, "3-D pooling")
    dims = [_window_out(d, k, st, a["padding"], "window")
            for d, k, st in zip(shape[1:4], triple(a["kernel_size"]), triple(a["stride"]))]
    return (shape[0], *dims, shape[4])


def _conv_t_shape(shapes, a):
    (shape,) = shapes
    _rank(shape, 4, "conv_t")
    kh, kw = pair(a["kernel_size"])
    sh, sw = pair(a["stride"])

    def up(size, k, s):
        if size is None:
            return None
        return size * s if a["padding"] == "SAME" else size * s + max(k - s, 0)

    n, h, w, _ = shape
    return (n, up(h, kh, sh), up(w, kw, sw), a["num_outputs"])


def _sep_conv_shape(shapes, a):
    (shape,) = shapes
    out = _conv_shape(shapes, {**a, "num_outputs": a["num_outputs"]})
    if a["num_outputs"] is None:
        c = shape[3]
        return out[:3] + (None if c is None else c * a["depth_multiplier"],)
    return out


def _pool_shape(shapes, a):
    (shape,) = shapes
    _rank(shape, 4, "pooling")
    kh, kw = pair(a["kernel_size"])
    sh, sw = pair(a["stride"])
    n, h, w, c = shape
    return (n, _window_out(h, kh, sh, a["padding"], "window"), _window_out(w, kw, sw, a["padding"], "window"), c)


def _fc_shape(shapes, a):
    (shape,) = shapes
    if len(shape) < 2:
        raise ShapeError(f"fc expects an input of rank 2 or more, got {fmt_shape(shape)}")
    return shape[:-1] + (a["num_outputs"],)


def _same(shapes, a):
    return shapes[0]


def _flatten(shapes, a):
    (shape,) = shapes
    rest = shape[1:]
    return (shape[0], None if any(d is None for d in rest) else math.prod(rest))


def _axes(a, rank):
    axis = a["axis"]
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [x + rank if x < 0 else x for x in axes]


def _squeeze(shapes, a):
    (shape,) = shapes
    if a["axis"] is None:
        return tuple(d for d in shape if d != 1)
    axes = _axes(a, len(shape))
    for x in axes:
        if not 0 <= x < len(shape):
            raise ShapeError(f"squeeze axis {x} is out of range for shape {fmt_shape(shape)}")
        if shape[x] not in (1, None):
            raise ShapeError(f"cannot squeeze axis {x} of size {shape[x]} in shape {fmt_shape(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _mean(shapes, a):
    (shape,) = shapes
    axes = _axes(a, len(shape)) if a["axis"] is not None else list(range(len(shape)))
    for given, x in zip([a["axis"]] if isinstance(a["axis"], int) else list(a["axis"] or ()), axes):
        if not 0 <= x < len(shape):
            raise ShapeError(f"mean axis {given} is out of range for shape {fmt_shape(shape)} "
                             f"(axes run from {-len(shape)} to {len(shape) - 1})")
    if len(set(axes)) != len(axes):
        raise ShapeError(f"mean names an axis twice: {list(a['axis'])} for shape {fmt_shape(shape)}")
    if a["keepdims"]:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _pad(shapes, a):
    (shape,) = shapes
    pads = a["paddings"]
    if len(pads) != len(shape):
        raise ShapeError(f"pad needs one [before, after] pair per dimension: {len(shape)}, got {len(pads)}")
    return tuple(None if d is None else d + int(p[0]) + int(p[1]) for d, p in zip(shape, pads))


def _concat(shapes, a):
    if not shapes:
        raise ShapeError("concat needs at least one tensor")
    rank = len(shapes[0])
    axis = a["axis"] + rank if a["axis"] < 0 else a["axis"]
    if not 0 <= axis < rank:
        raise ShapeError(f"concat axis {a['axis']} is out of range for rank {rank}")
    for s in shapes[1:]:
        if len(s) != rank:
            raise ShapeError(f"concat of tensors of different ranks: {fmt_shape(shapes[0])} and {fmt_shape(s)}")
        for i, (x, y) in enumerate(zip(shapes[0], s)):
            if i != axis and x is not None and y is not None and x != y:
                raise ShapeError(
                    f"concat along axis {axis} needs equal sizes elsewhere: "
                    + ", ".join(fmt_shape(t) for t in shapes))
    total = 0
    for s in shapes:
        if s[axis] is None:
            total = None
            break
        total += s[axis]
    return shapes[0][:axis] + (total,) + shapes[0][axis + 1:]


def _add(shapes, a):
    if len(shapes) == 1:  # plus a number
        return shapes[0]
    x, y = shapes
    if len(x) != len(y) or any(p is not None and q is not None and p != q for p, q in zip(x, y)):
        raise ShapeError(f"add needs equal shapes, got {fmt_shape(x)} and {fmt_shape(y)}")
    return tuple(p if p is not None else q for p, q in zip(x, y))


def _broadcast(shapes, a):
    """NumPy's broadcasting, as tf.multiply applies it; a number (no second shape) keeps the shape."""
    if len(shapes) == 1:
        return shapes[0]
    x, y = shapes
    n = max(len(x), len(y))
    px, py = (1,) * (n - len(x)) + tuple(x), (1,) * (n - len(y)) + tuple(y)
    out = []
    for p, q in zip(px, py):
        if p is not None and q is not None and p != q and 1 not in (p, q):
            raise ShapeError(f"shapes {fmt_shape(x)} and {fmt_shape(y)} do not broadcast: each axis needs equal "
                             "sizes or a size of 1")
        out.append(q if p == 1 else p if q == 1 else p if p is not None else q)
    return tuple(out)


def _slice(shapes, a):
    (shape,) = shapes
    begin, size = list(a["begin"]), list(a["size"])
    if len(begin) != len(shape) or len(size) != len(shape):
        raise ShapeError(f"slice needs one begin and one size per axis of {fmt_shape(shape)}: got "
                         f"{len(begin)} and {len(size)}")
    out = []
    for i, (d, b, n) in enumerate(zip(shape, begin, size)):
        if d is not None and (b > d or n != -1 and b + n > d):
            end = "the end" if n == -1 else b + n
            raise ShapeError(f"slice of axis {i} from {b} to {end} is outside its size {d} in {fmt_shape(shape)}")
        out.append(None if n == -1 and d is None else d - b if n == -1 else n)
    return tuple(out)


def _strided_slice(shapes, a):
    """Python's slicing, which tf.strided_slice follows: bounds clamp to the axis, negative ones count
    from its end, `none` is an omitted bound; axes after the lists' are kept whole."""
    (shape,) = shapes
    begin, end = list(a["begin"]), list(a["end"])
    strides = [1] * len(begin) if a["strides"] is None else list(a["strides"])
    if not len(begin) == len(end) == len(strides):
        raise ShapeError(f"strided_slice needs as many ends and strides as begins (one per axis sliced): got "
                         f"{len(begin)} begins, {len(end)} ends and {len(strides)} strides")
    if len(begin) > len(shape):
        raise ShapeError(f"strided_slice of {len(begin)} axes, but the input {fmt_shape(shape)} has rank {len(shape)}")
    out = []
    for d, b, e, s in zip(shape, begin, end, strides):
        out.append(None if d is None else len(range(d)[slice(b, e, s)]))
    out.extend(shape[len(begin):])
    if any(n == 0 for n in out[:len(begin)]):
        i = out.index(0)
        raise ShapeError(f"strided_slice keeps nothing of axis {i} (size {shape[i]}): "
                         f"{_slice_text(begin[i], end[i], strides[i])} is empty")
    return tuple(out)


def _slice_text(b, e, s) -> str:
    text = f"{'' if b is None else b}:{'' if e is None else e}"
    return text if s == 1 else f"{text}:{s}"


def _split(shapes, a):
    """The parts' shapes, one per tensor tf.split returns."""
    (shape,) = shapes
    axis = a["axis"] + len(shape) if a["axis"] < 0 else a["axis"]
    if not 0 <= axis < len(shape):
        raise ShapeError(f"split axis {a['axis']} is out of range for shape {fmt_shape(shape)} "
                         f"(axes run from {-len(shape)} to {len(shape) - 1})")
    d = shape[axis]
    parts = a["num_or_size_splits"]
    if isinstance(parts, int):
        if axis == 0 and d is not None and d % parts:
            # the batch: `check` elaborates with a batch of 1, the graph is built with the real one
            d = None
        if d is not None and d % parts:
            fits = sorted(sorted((n for n in range(2, d + 1) if d % n == 0), key=lambda n: abs(n - parts))[:3])
            even = [d // parts + (i < d % parts) for i in range(parts)]
            raise ShapeError(f"split of axis {axis} (size {d}) into {parts} equal parts: {d} is not a multiple of "
                             f"{parts}" + (f"; it splits into {_words(fits)} equal parts" if fits else "")
                             + (f", or give the sizes, e.g. `split {even}`" if parts <= d else ""))
        sizes = [None if d is None else d // parts] * parts
    else:
        sizes = list(parts)
        known = sum(x for x in sizes if x != -1)
        if axis == 0 and d is not None and (known > d if -1 in sizes else known != d):
            d = None  # the batch, as above
        if d is not None:
            if -1 in sizes:
                if known > d:
                    raise ShapeError(f"split sizes {sizes} add up to more than axis {axis}'s size {d}")
                sizes[sizes.index(-1)] = d - known
            elif known != d:
                raise ShapeError(f"split sizes {sizes} add up to {known}, not axis {axis}'s size {d} "
                                 f"in {fmt_shape(shape)}")
        else:
            sizes = [None if x == -1 else x for x in sizes]
    return [shape[:axis] + (n,) + shape[axis + 1:] for n in sizes]


def _words(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _resize(shapes, a):
    (shape,) = shapes
    _rank(shape, 4, "resize")
    h, w = pair(a["size"])
    return (shape[0], h, w, shape[3])


def _reshape(shapes, a):
    (shape,) = shapes
    target = list(a["shape"]) if isinstance(a["shape"], (list, tuple)) else [a["shape"]]
    if any(d is None for d in shape):
        return tuple(None if d == -1 else d for d in target)
    have = math.prod(shape)
    rest = math.prod(d for d in target if d != -1)
    if -1 in target:
        if rest <= 0 or have % rest:
            raise ShapeError(f"cannot reshape {fmt_shape(shape)} ({have:,} elements) to {list(a['shape'])}: "
                             f"{have:,} is not a multiple of {rest:,}")
        target[target.index(-1)] = have // rest
    else:
        # A fixed size that is a multiple of one example's size fits some batch size; only a size
        # that fits none is certainly wrong (the check elaborates with a batch of 1).
        per = have // shape[0] if shape and shape[0] else have
        if rest != have and (per == 0 or rest % per):
            raise ShapeError(f"cannot reshape {fmt_shape(shape)} ({have:,} elements) to {list(a['shape'])} "
                             f"({rest:,} elements)")
    return tuple(target)


def _variable_shape(shapes, a):
    init = a.get("initializer")
    if isinstance(init, Op) and init.name == "center_identity" and (isinstance(a["shape"], int) or len(a["shape"]) < 2):
        raise ShapeError(f"`center_identity` makes kernels (rank 2 or more); this variable's shape is "
                         f"{_show(a['shape'])}")
    return tuple(a["shape"])


# ------------------------------------------------------- parameter counts ---


def _normalizer_count(channels, a, ctx):
    norm = a.get("normalizer")
    if not isinstance(norm, Op):
        return 0, 0
    params = ctx.normalizer_args(norm.name, a.get("normalizer_params") or {})
    if norm.name == "batch_norm":
        t = channels * (int(bool(params.get("center", True))) + int(bool(params.get("scale", False))))
        return t, 2 * channels
    if norm.name == "instance_norm":
        return channels * (int(bool(params.get("center", True))) + int(bool(params.get("scale", True)))), 0
    if norm.name == "layer_norm":
        return channels * (int(bool(params.get("center", True))) + int(bool(params.get("scale", True)))), 0
    return 0, 0


def _bias(out, a):
    if isinstance(a.get("normalizer"), Op) or a.get("biases_initializer") is None:
        return 0
    return out


def _trainable(total, a):
    return (total, 0) if a.get("trainable", True) else (0, total)


def _conv_count(shapes, a, ctx):
    cin = shapes[0][3]
    kh, kw = pair(a["kernel_size"])
    out = a["num_outputs"]
    weights = kh * kw * cin * out if cin is not None else 0
    t, n = _normalizer_count(out, a, ctx)
    tt, nn = _trainable(weights + _bias(out, a) + t, a)
    return tt, nn + n


def _sep_conv_count(shapes, a, ctx):
    cin = shapes[0][3] or 0
    kh, kw = pair(a["kernel_size"])
    dm = a["depth_multiplier"]
    out = a["num_outputs"]
    depthwise = kh * kw * cin * dm
    pointwise = cin * dm * out if out is not None else 0
    channels = out if out is not None else cin * dm
    t, n = _normalizer_count(channels, a, ctx)
    tt, nn = _trainable(depthwise + pointwise + _bias(channels, a) + t, a)
    return tt, nn + n


def _conv3d_count(shapes, a, ctx):
    cin = shapes[0][4]
    out = a["num_outputs"]
    weights = math.prod(triple(a["kernel_size"])) * cin * out if cin is not None else 0
    t, n = _normalizer_count(out, a, ctx)
    tt, nn = _trainable(weights + _bias(out, a) + t, a)
    return tt, nn + n


def _fc_count(shapes, a, ctx):
    cin = shapes[0][-1] or 0
    out = a["num_outputs"]
    t, n = _normalizer_count(out, a, ctx)
    tt, nn = _trainable(cin * out + _bias(out, a) + t, a)
    return tt, nn + n


def _bn_count(shapes, a, ctx):
    c = shapes[0][-1] or 0
    t = c * (int(bool(a["center"])) + int(bool(a["scale"])))
    return _trainable(t, a)[0], 2 * c + _trainable(t, a)[1]


def _ln_count(shapes, a, ctx):
    c = shapes[0][-1] or 0
    return _trainable(c * (int(bool(a["center"])) + int(bool(a["scale"]))), a)


def _layer_norm_shape(shapes, a):
    """slim.layer_norm normalizes over axes begin_norm_axis.. and makes its parameters of the shape
    of axes begin_params_axis..; both name an axis of the input (negative from the end)."""
    (shape,) = shapes
    for name in ("begin_norm_axis", "begin_params_axis"):
        axis = a[name]
        if not -len(shape) <= axis < len(shape):
            raise ShapeError(f"layer_norm {name} {axis} is out of range for shape {fmt_shape(shape)} "
                             f"(axes run from {-len(shape)} to {len(shape) - 1})")
    return shape


def _layer_norm_count(shapes, a, ctx):
    axis = a["begin_params_axis"]
    params = shapes[0][axis:]
    n = 0 if any(d is None for d in params) else math.prod(params)
    return _trainable(n * (int(bool(a["center"])) + int(bool(a["scale"]))), a)


def _variable_count(shapes, a, ctx):
    return _trainable(math.prod(a["shape"]) if a["shape"] else 1, a)


# ------------------------------------------------------------- the table ---

_ACT = P("activation", "activation", Op("relu"), "activation_fn", "activation applied last; `none` for linear")
_NORM = P("normalizer", "normalizer", None, "normalizer_fn", "normalizer instead of biases, e.g. `batch_norm`")
_NORM_P = P("normalizer_params", "dict", None, None, "arguments for the normalizer, e.g. dict(decay=0.997)")
_W_INIT = P("weights_initializer", "initializer", Op("xavier"), None, "initializer of the weights")
_W_REG = P("weights_regularizer", "regularizer", None, None, "regularizer of the weights, e.g. l2(0.0005)")
_B_INIT = P("biases_initializer", "initializer", Op("zeros"), None, "initializer of the biases; `none` for no biases",
            check="vector_initializer")
_B_REG = P("biases_regularizer", "regularizer", None, None, "regularizer of the biases")
_TRAINABLE = P("trainable", "bool", True, None, "add the variables to TRAINABLE_VARIABLES")
_REUSE = P("reuse", "bool", None, None, "reuse the layer's variables")
_STRIDE1 = P("stride", "size2", 1, None, "stride, an int or a pair", check="positive")
_PADDING = P("padding", "padding", "SAME", None, "SAME or VALID")
# max_pool3d and avg_pool3d take the same arguments, with TF-Slim's defaults
_POOL3D_PARAMS = (P("kernel_size", "ints", REQUIRED, None, "window: [depth, height, width] or an int", check="positive"),
                  P("stride", "ints", 2, None, "stride", check="positive"),
                  P("padding", "padding", "VALID", None, "SAME or VALID"))
_RATE = P("rate", "size2", 1, None, "atrous (dilation) rate", check="positive")
_KERNEL = P("kernel_size", "size2", REQUIRED, None, "kernel size: 3x3, [3, 3] or 3", check="positive")
_OUT = P("num_outputs", "int", REQUIRED, None, "number of output channels", check="positive")
_CONV_COMMON = (_ACT, _NORM, _NORM_P, _W_INIT, _W_REG, _B_INIT, _B_REG, _TRAINABLE, _REUSE)


# slim.variable and slim.model_variable take the same arguments.
_VARIABLE_PARAMS = (
    P("shape", "ints", REQUIRED, None, "the variable's shape", check="dims"),
    P("initializer", "initializer", None, None, "initializer"),
    P("regularizer", "regularizer", None, None, "regularizer"),
    P("trainable", "bool", True, None, "trainable"),
    P("device", "str", None, None, "device, e.g. \"/CPU:0\""),
    P("dtype", "str", "float32", None, "element type: \"float32\", \"float16\", \"int64\", ... (a step counter, "
      "a mask)", check="dtype"),
)


def _activation(name: str, doc: str, fn: str = "") -> LayerKind:
    """An activation as a layer; `fn` names a builtin's own function (values.HELPERS) where tf.nn has none."""
    return LayerKind(name, fn or f"tf.nn.{name}", (), _same, scope_kw="name",
                     default_scope="".join(w.capitalize() for w in name.split("_")), repeat_name=name, doc=doc)


LAYERS: dict[str, LayerKind] = {k.name: k for k in [
    LayerKind("conv", "slim.conv2d", (_OUT, _KERNEL, _STRIDE1, _PADDING, _RATE) + _CONV_COMMON,
              _conv_shape, _conv_count, positional=("num_outputs", "kernel_size"),
              default_scope="Conv", repeat_name="convolution2d", creates_variables=True,
              aliases=("convolution2d", "convolution", "Conv2D"),
              doc="2-D convolution (slim.conv2d); `conv [(32, 3x3), (64, 1x1)]` is a stack"),
    LayerKind("conv_t", "slim.conv2d_transpose", (_OUT, _KERNEL, _STRIDE1, _PADDING) + _CONV_COMMON,
              _conv_t_shape, _conv_count, positional=("num_outputs", "kernel_size"),
              default_scope="Conv2d_transpose", repeat_name="convolution2d_transpose", creates_variables=True,
              aliases=("convolution2d_transpose", "Conv2DTranspose"),
              doc="transposed convolution (slim.conv2d_transpose)"),
    LayerKind("sep_conv", "slim.separable_conv2d",
              (P("num_outputs", "int", REQUIRED, None, "output channels; `none` for depthwise only", check="positive_or_none"), _KERNEL,
               P("depth_multiplier", "int", 1, None, "depthwise channels per input channel", check="positive"),
               _STRIDE1, _PADDING, _RATE,
               P("pointwise_initializer", "initializer", None, None, "initializer of the pointwise weights"))
              + _CONV_COMMON,
              _sep_conv_shape, _sep_conv_count, positional=("num_outputs", "kernel_size"),
              default_scope="SeparableConv2d", repeat_name="separable_convolution2d", creates_variables=True,
              aliases=("separable_convolution2d", "SeparableConv2D"),
              doc="depthwise-separable convolution (slim.separable_conv2d)"),
    LayerKind("fc", "slim.fully_connected", (_OUT,) + _CONV_COMMON, _fc_shape, _fc_count,
              positional=("num_outputs",), default_scope="fully_connected", repeat_name="fully_connected",
              creates_variables=True, aliases=("Dense",),
              doc="fully connected layer (slim.fully_connected); `fc [32, 64]` is a stack"),
    LayerKind("pool", "slim.max_pool2d",
              (_KERNEL, P("stride", "size2", 2, None, "stride", check="positive"), P("padding", "padding", "VALID", None, "SAME or VALID")),
              _pool_shape, positional=("kernel_size",), default_scope="MaxPool2D", repeat_name="max_pool2d",
              aliases=("max_pool", "MaxPool2D", "MaxPooling2D"),
              doc="max pooling (slim.max_pool2d): `pool 2` is a 2x2 window with stride 2"),
    LayerKind("avg_pool", "slim.avg_pool2d",
              (_KERNEL, P("stride", "size2", 2, None, "stride", check="positive"), P("padding", "padding", "VALID", None, "SAME or VALID")),
              _pool_shape, positional=("kernel_size",), default_scope="AvgPool2D", repeat_name="avg_pool2d",
              aliases=("AveragePooling2D",),
              doc="average pooling (slim.avg_pool2d)"),
    LayerKind("dropout", "slim.dropout",
              (P("keep_prob", "float", 0.5, None, "probability of keeping a unit", check="probability"),
               P("noise_shape", "ints", None, None, "shape of the random keep/drop mask", check="dims_or_none"),
               P("is_training", "bool", True, None, "drop only while training")),
              _same, positional=("keep_prob",), default_scope="Dropout", repeat_name="dropout",
              doc="dropout (slim.dropout)"),
    LayerKind("flatten", "slim.flatten", (), _flatten, default_scope="Flatten", repeat_name="flatten",
              doc="flatten all but the batch dimension (slim.flatten)"),
    LayerKind("batch_norm", "slim.batch_norm",
              (P("decay", "float", 0.999, None, "moving-average decay", check="unit"),
               P("center", "bool", True, None, "add a learned offset (beta)"),
               P("scale", "bool", False, None, "add a learned scale (gamma)"),
               P("epsilon", "float", 0.001, None, "added to the variance", check="positive"),
               P("activation", "activation", None, "activation_fn", "activation after normalizing"),
               P("is_training", "bool", True, None, "use batch statistics and update the moving ones"),
               P("updates_collections", "any", Op("UPDATE_OPS"), None, "where the moving-average updates go; `none` to run them in place"),
               P("fused", "bool", None, None, "use the fused kernel"),
               _TRAINABLE, _REUSE),
              _same, _bn_count, default_scope="BatchNorm", repeat_name="batch_norm", creates_variables=True,
              aliases=("BatchNormalization",),
              doc="batch normalization (slim.batch_norm)"),
    LayerKind("layer_norm", "slim.layer_norm",
              (P("center", "bool", True, None, "add a learned offset"), P("scale", "bool", True, None, "add a learned scale"),
               P("activation", "activation", None, "activation_fn", "activation after normalizing"),
               P("begin_norm_axis", "int", 1, None, "first axis normalized over"),
               P("begin_params_axis", "int", -1, None, "first axis of the parameters' shape"),
               _TRAINABLE, _REUSE),
              _layer_norm_shape, _layer_norm_count, default_scope="LayerNorm", repeat_name="layer_norm",
              creates_variables=True,
              aliases=("LayerNormalization",),
              doc="layer normalization (slim.layer_norm)"),
    LayerKind("softmax", "slim.softmax", (), _same, default_scope="softmax", repeat_name="softmax",
              doc="softmax over the last axis (slim.softmax)"),
    LayerKind("squeeze", "tf.squeeze", (P("axis", "ints", None, None, "axes of size 1 to remove", check="axes"),),
              _squeeze, positional=("axis",), scope_kw="name", default_scope="Squeeze", repeat_name="squeeze",
              doc="remove axes of size 1 (tf.squeeze): `squeeze [1, 2] as fc8/squeezed`"),
    LayerKind("mean", "tf.reduce_mean",
              (P("axis", "ints", None, None, "axes to average over", check="axes"), P("keepdims", "bool", False, None, "keep them as size 1")),
              _mean, positional=("axis",), scope_kw="name", default_scope="Mean", repeat_name="mean",
              doc="average over axes (tf.reduce_mean): `mean [1, 2] keepdims=true as pool5` is global pooling"),
    LayerKind("pad", "tf.pad",
              (P("paddings", "ints", REQUIRED, None, "[[before, after], ...] for each axis", check="paddings"),
               P("mode", "str", "CONSTANT", None, "CONSTANT, REFLECT or SYMMETRIC", check="pad_mode"),
               P("constant_values", "float", 0, None, "fill value for CONSTANT")),
              _pad, positional=("paddings",), scope_kw="name", default_scope="Pad", repeat_name="pad",
              doc="pad a tensor (tf.pad)"),
    LayerKind("concat", "tf.concat",
              (P("values", "tensors", REQUIRED, None, "the tensors, e.g. [branch_0, branch_1]"),
               P("axis", "int", 3, None, "axis to join along (3: channels)", always=True)),
              _concat, positional=("values", "axis"), inputs="list", scope_kw="name", default_scope="concat",
              repeat_name="concat", aliases=("Concatenate",), doc="join tensors along an axis (tf.concat)"),
    LayerKind("add", "tf.add", (P("other", "tensor_or_number", REQUIRED, "y",
                                  "the tensor (of the same shape) or the number to add to the current one"),),
              _add, positional=("other",), scope_kw="name", default_scope="Add", repeat_name="add",
              doc="element-wise sum with another tensor, the residual join, or with a number (tf.add): "
                  "`add shortcut`, `add 3`"),
    LayerKind("reshape", "tf.reshape", (P("shape", "ints", REQUIRED, None, "the new shape; -1 once to infer", check="reshape_dims"),),
              _reshape, positional=("shape",), scope_kw="name", default_scope="Reshape", repeat_name="reshape",
              doc="reshape (tf.reshape)"),
    LayerKind("variable", "slim.variable", _VARIABLE_PARAMS, _variable_shape, _variable_count, inputs="none", scope_kw="name", creates_variables=True,
              doc="a regular variable (slim.variable): `variable shape=[20, 1] initializer=zeros as my_var`"),
    LayerKind("model_variable", "slim.model_variable", _VARIABLE_PARAMS, _variable_shape, _variable_count, inputs="none", scope_kw="name", creates_variables=True,
              doc="a model variable (slim.model_variable), listed by slim.get_model_variables()"),
    LayerKind("mul", "tf.multiply",
              (P("other", "tensor_or_number", REQUIRED, "y",
                 "a tensor (broadcast as NumPy does) or a number to multiply the current tensor by"),),
              _broadcast, positional=("other",), scope_kw="name", default_scope="Mul", repeat_name="mul",
              aliases=("multiply", "Multiply", "scale"),
              doc="element-wise product with a tensor or a number (tf.multiply): `mul gate` gates, "
                  "`mul scale` scales a residual"),
    LayerKind("clip", "tf.clip_by_value",
              (P("min", "float", REQUIRED, "clip_value_min", "smallest value kept"),
               P("max", "float", REQUIRED, "clip_value_max", "largest value kept")),
              _same, positional=("min", "max"), scope_kw="name", default_scope="clip_by_value", repeat_name="clip",
              aliases=("clip_by_value",), doc="limit values to [min, max] (tf.clip_by_value): `clip -1 1`"),
    LayerKind("lrn", "tf.nn.local_response_normalization",
              (P("depth_radius", "int", 5, None, "half-width of the channel window", check="positive"),
               P("bias", "float", 1.0, None, "added to the sum of squares"),
               P("alpha", "float", 1.0, None, "scale of the sum of squares"),
               P("beta", "float", 0.5, None, "exponent")),
              _same, positional=("depth_radius",), scope_kw="name", default_scope="LRN", repeat_name="lrn",
              aliases=("local_response_normalization", "LocalResponseNormalization"),
              doc="local response normalization over channels (tf.nn.local_response_normalization): "
                  "`lrn 4 bias=1.0 alpha=0.001 / 9.0 beta=0.75 as norm1`"),
    LayerKind("instance_norm", "slim.instance_norm",
              (P("center", "bool", True, None, "add a learned offset (beta)"),
               P("scale", "bool", True, None, "add a learned scale (gamma)"),
               P("epsilon", "float", 1e-6, None, "added to the variance", check="positive"),
               P("activation", "activation", None, "activation_fn", "activation after normalizing"),
               _TRAINABLE, _REUSE),
              _same, _ln_count, default_scope="InstanceNorm", repeat_name="instance_norm", creates_variables=True,
              aliases=("InstanceNormalization",),
              doc="instance normalization (slim.instance_norm): each example and channel over its height and "
                  "width; also a `normalizer=`"),
    LayerKind("resize", "tf.image.resize",
              (P("size", "size2", REQUIRED, None, "the new [height, width]", check="positive"),
               P("method", "str", "bilinear", None, "bilinear, nearest, bicubic, area, lanczos3, lanczos5, "
                 "gaussian or mitchellcubic", check="resize_method"),
               P("preserve_aspect_ratio", "bool", False, None, "fit inside size, keeping the aspect ratio"),
               P("antialias", "bool", False, None, "filter when downsampling")),
              _resize, positional=("size",), scope_kw="name", default_scope="resize", repeat_name="resize",
              aliases=("resize_images", "resize_bilinear", "resize_nearest_neighbor", "UpSampling2D", "Resizing"),
              doc="resize images (tf.image.resize): `resize [2 * h, 2 * w] method=\"nearest\"`"),
    LayerKind("slice", "tf.slice",
              (P("begin", "ints", REQUIRED, None, "first index kept on each axis", check="slice_begin"),
               P("size", "ints", REQUIRED, None, "how many kept on each axis; -1 for the rest", check="slice_size")),
              _slice, positional=("begin", "size"), scope_kw="name", default_scope="Slice", repeat_name="slice",
              aliases=("crop", "Cropping2D"),
              doc="a slice (tf.slice): `slice [0, 1, 1, 0] [-1, -1, -1, -1]` is `net[:, 1:, 1:, :]`"),
    LayerKind("strided_slice", "strided_slice",
              (P("begin", "ints", REQUIRED, None, "first index on each axis sliced; `none` from the axis' start "
                 "(its end for a negative step)", check="slice_bounds"),
               P("end", "ints", REQUIRED, None, "index past the last on each axis; `none` to the axis' end "
                 "(its start for a negative step)", check="slice_bounds"),
               P("strides", "ints", None, None, "step on each axis (1 for each when not given); negative "
                 "goes backwards", check="strides")),
              _strided_slice, positional=("begin", "end", "strides"), scope_kw="name",
              default_scope="strided_slice", repeat_name="strided_slice",
              aliases=("StridedSlice",),
              doc="Python's slicing (tf.strided_slice): `strided_slice [none, none, 1] [none, none, none] "
                  "[1, 2, 1]` is `net[:, ::2, 1:]`"),
    LayerKind("split", "tf.split",
              (P("num_or_size_splits", "ints", REQUIRED, None, "a number of equal parts, or the parts' sizes "
                 "(-1 once for the rest)", check="split_parts"),
               P("axis", "int", 3, None, "axis to split (3: channels, as concat joins)", always=True)),
              _split, positional=("num_or_size_splits", "axis"), scope_kw="name", default_scope="split",
              repeat_name="split", outputs="list", aliases=("Split", "tf_split", "chunk"),
              doc="split a tensor into a list of parts along an axis (tf.split): `parts = split 2` halves the "
                  "channels, `parts[0]` is the first"),
    LayerKind("conv3d", "slim.conv3d",
              (_OUT, P("kernel_size", "ints", REQUIRED, None, "kernel size: [depth, height, width] or an int",
                       check="positive"),
               P("stride", "ints", 1, None, "stride, an int or three", check="positive"), _PADDING,
               P("rate", "ints", 1, None, "atrous (dilation) rate", check="positive")) + _CONV_COMMON,
              _conv3d_shape, _conv3d_count, positional=("num_outputs", "kernel_size"),
              default_scope="Conv", repeat_name="convolution3d", creates_variables=True,
              aliases=("convolution3d", "Conv3D"),
              doc="3-D convolution over (depth or time, height, width) of a rank-5 tensor (slim.conv3d)"),
    LayerKind("pool3d", "slim.max_pool3d",
              _POOL3D_PARAMS,
              _pool3d_shape, positional=("kernel_size",), default_scope="MaxPool3D", repeat_name="max_pool3d",
              aliases=("max_pool3d", "MaxPool3D", "MaxPooling3D"),
              doc="3-D max pooling of a rank-5 tensor (slim.max_pool3d)"),
    LayerKind("avg_pool3d", "slim.avg_pool3d",
              _POOL3D_PARAMS,
              _pool3d_shape, positional=("kernel_size",), default_scope="AvgPool3D", repeat_name="avg_pool3d",
              aliases=("AveragePooling3D",),
              doc="3-D average pooling of a rank-5 tensor (slim.avg_pool3d)"),
    LayerKind("drop_path", "drop_path",
              (P("keep_prob", "float", REQUIRED, None, "probability of keeping an example", check="probability"),
               P("burn_in_steps", "int", 0, None, "global steps over which the drop probability ramps in "
                 "(0: from the start)", check="non_negative"),
               P("is_training", "bool", True, None, "drop only while training")),
              _same, positional=("keep_prob",), default_scope="DropPath", repeat_name="drop_path", arg_scope=True,
              aliases=("DropPath", "stochastic_depth"),
              doc="drop path (NASNet): keep each example whole with probability keep_prob, scaled by 1 / "
                  "keep_prob, or zero it: `drop_path 0.7 burn_in_steps=250000`; the identity when not training"),
    LayerKind("activation", "tf.nn.<activation>", (P("fn", "activation", REQUIRED, None,
                                             "the activation: `relu`, or a parameter holding one", check="given"),),
              # (no `name=`: not every activation takes one, tf.nn.swish does not; `as` names the end point)
              _same, positional=("fn",), scope_kw=None, default_scope="Activation", repeat_name="activation",
              call_param="fn",
              doc="apply an activation held in a value: `activation activation_fn` is `activation_fn(net)`"),
    _activation("relu", "ReLU (tf.nn.relu)"),
    _activation("relu6", "ReLU capped at 6 (tf.nn.relu6)"),
    _activation("elu", "ELU (tf.nn.elu)"),
    _activation("tanh", "tanh (tf.nn.tanh)"),
    _activation("sigmoid", "sigmoid (tf.nn.sigmoid)"),
    _activation("hard_swish", "x * relu6(x + 3) / 6, MobileNetV3's swish (the builtin `hard_swish`)", "hard_swish"),
    _activation("hard_sigmoid", "relu6(x + 3) / 6, MobileNetV3's gate (the builtin `hard_sigmoid`)",
                "hard_sigmoid"),
    LayerKind("identity", "tf.identity", (), _same, scope_kw="name", default_scope="Identity",
              repeat_name="identity", doc="the same tensor under a new name (tf.identity)"),
]}


def canonical_arg(kinds, name: str) -> str:
    """The DSL name of argument `name` for a `defaults` rule over `kinds`:
    TF-Slim spellings (activation_fn) become the DSL's (activation)."""
    for k in kinds:
        kind = LAYERS.get(k)
        if kind is not None and kind.param(name) is not None:
            return kind.param(name).name
    return name


def fmt_shape(shape, brackets: str = "()") -> str:
    """The one way a shape is shown to a user: `(1, 224, 224, 3)`, `?` for an unknown size
    (`brackets="[]"` where the text speaks of a list, as TensorFlow's own messages do)."""
    if shape is None:
        return "?"
    return brackets[0] + ", ".join("?" if d is None else str(d) for d in shape) + brackets[1]
