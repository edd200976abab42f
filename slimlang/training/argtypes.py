"""Train stage, value types: what each setting argument accepts and how it is normalised.

A `Type` is a one-line doc (shown in docs/training.md) and a converter that
returns the normalised value or raises `BadValue` saying why the value does
not fit; the checker turns that into E305 at the argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import values


class BadValue(Exception):
    """A value does not fit an argument's type; the message says why."""


@dataclass(frozen=True, slots=True)
class Type:
    doc: str
    convert: Callable


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(v, what="a number"):
    if not is_num(v):
        raise BadValue(f"expected {what}, got {show(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise BadValue(f"expected a finite number, got {v}")
    return v


def show(v) -> str:
    """A setting's value in a message, with its type where the .slim spelling does not say it:
    `int 3`, `list [1, 2]`, `'adam'`, `true`."""
    if v is None or isinstance(v, (bool, str)):
        return values.show(v)
    return f"{type(v).__name__} {values.show(v)}"


def _int(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise BadValue(f"expected an integer, got {show(v)}")
    return v


def _pos_int(v):
    v = _int(v)
    if v <= 0:
        raise BadValue(f"expected an integer > 0, got {v}")
    return v


def _nonneg_int(v):
    v = _int(v)
    if v < 0:
        raise BadValue(f"expected an integer >= 0, got {v}")
    return v


def _float(v):
    return float(_num(v))


def _pos_float(v):
    v = float(_num(v))
    if v <= 0:
        raise BadValue(f"expected a number > 0, got {v:g}")
    return v


def _nonneg_float(v):
    v = float(_num(v))
    if v < 0:
        raise BadValue(f"expected a number >= 0, got {v:g}")
    return v


def _fraction(v):
    v = float(_num(v))
    if not 0.0 <= v < 1.0:
        raise BadValue(f"expected a fraction in [0, 1), got {v:g}")
    return v


def _bool(v):
    if not isinstance(v, bool):
        raise BadValue(f"expected true or false, got {show(v)}")
    return v


def _str(v):
    if not isinstance(v, str):
        raise BadValue(f"expected a string, got {show(v)}")
    return v


def _nonempty_str(v):
    v = _str(v)
    if not v:
        raise BadValue("expected a non-empty string")
    return v


def seq(v):
    if isinstance(v, (list, tuple)):
        return tuple(v)
    raise BadValue(f"expected a list, got {show(v)}")


def _str_list(v):
    if isinstance(v, str):
        return (v,)
    return tuple(_str(x) for x in seq(v))


def _num_list(v):
    return tuple(_float(x) for x in seq(v))


def _int_list(v):
    return tuple(_int(x) for x in seq(v))


def _hw(v):
    if is_num(v):
        n = _pos_int(v)
        return (n, n)
    items = seq(v)
    if len(items) != 2:
        raise BadValue(f"expected [height, width], got {show(v)}")
    return tuple(_pos_int(x) for x in items)


def _hwc(v):
    items = seq(v)
    if len(items) not in (2, 3):
        raise BadValue(f"expected [height, width, channels], got {show(v)}")
    return tuple(_pos_int(x) for x in items)


def _scale(v):
    if is_num(v):
        return float(_num(v))
    items = seq(v)
    if len(items) != 2:
        raise BadValue(f"expected a factor like 1/255 or a range (lo, hi), got {show(v)}")
    lo, hi = (_float(x) for x in items)
    if lo == hi:
        raise BadValue("the range (lo, hi) needs lo != hi")
    return (lo, hi)


def _shuffle(v):
    if isinstance(v, bool):
        return v
    return _pos_int(v)


def label_field(v):
    if isinstance(v, str):
        return v
    return _int(v)


def _label_fields(v):
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return (label_field(v),)
    items = tuple(label_field(x) for x in seq(v))
    if not items:
        raise BadValue("expected at least one label field")
    return items


def _dtype_name(v):
    v = _str(v)
    allowed = ("uint8", "int8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64")
    if v not in allowed:
        raise BadValue(f"expected one of {', '.join(allowed)}, got {v!r}")
    return v


def _rename(v):
    """[("regex", "replacement"), ...] or one pair or dict(regex=repl)."""
    if isinstance(v, dict):
        pairs = tuple(v.items())
    else:
        items = seq(v)
        if len(items) == 2 and all(isinstance(x, str) for x in items):
            items = (items,)
        pairs = tuple(seq(p) for p in items)
    out = []
    for p in pairs:
        if len(p) != 2 or not all(isinstance(x, str) for x in p):
            raise BadValue(f"expected (\"regex\", \"replacement\") pairs, got {show(p)}")
        try:
            re.compile(p[0])
        except re.error as e:
            raise BadValue(f"bad regular expression {p[0]!r}: {e}") from None
        out.append((p[0], p[1]))
    return tuple(out)


def choice(*options):
    def conv(v):
        if v not in options:
            raise BadValue(f"expected one of {', '.join(map(str, options))}, got {show(v)}")
        return v
    return conv


def optional(t: Type) -> Type:
    def conv(v):
        return None if v is None else t.convert(v)
    return Type(f"{t.doc} or none", conv)


def _any(v):
    return v


INT = Type("integer", _int)
POS_INT = Type("integer > 0", _pos_int)
NONNEG_INT = Type("integer >= 0", _nonneg_int)
FLOAT = Type("number", _float)
POS_FLOAT = Type("number > 0", _pos_float)
NONNEG_FLOAT = Type("number >= 0", _nonneg_float)
FRACTION = Type("fraction in [0, 1)", _fraction)
BOOL = Type("true/false", _bool)
STR = Type("string", _str)
PATH = Type("path string", _nonempty_str)
STR_LIST = Type("string or list of strings", _str_list)
INT_LIST = Type("list of integers", _int_list)
NUM_LIST = Type("list of numbers", _num_list)
HW = Type("[height, width] or one integer", _hw)
HWC = Type("[height, width, channels]", _hwc)
SCALE = Type("factor (1/255) or range (lo, hi)", _scale)
SHUFFLE = Type("true/false or buffer size", _shuffle)
LABEL_FIELDS = Type("field name or list of names", _label_fields)
LABEL_FIELD = Type("label field name", label_field)
DTYPE = Type("dtype name", _dtype_name)
RENAME = Type('[("regex", "replacement"), ...]', _rename)
ANY = Type("any value", _any)
CHANNELS = Type("1, 3 or 4", choice(1, 3, 4))

IDENTIFIER = Type("identifier", _nonempty_str)
COLUMNS = Type("list of column names or indices", lambda v: tuple(label_field(x) for x in seq(v)))
COMPRESSION = Type('"", "GZIP" or "ZLIB"', choice("", "GZIP", "ZLIB"))


def _histograms(v):
    kinds = tuple(seq(v))
    for k in kinds:
        if k not in ("activations", "variables"):
            raise BadValue(f"expected `activations` or `variables`, got {show(k)}")
    return kinds


METRIC = Type("metric name", _nonempty_str)
MODE = Type('"min" or "max" or none', lambda v: None if v is None else choice("min", "max")(v))
HISTOGRAMS = Type("list of activations, variables", _histograms)


def _nonpos_float(v):
    v = float(_num(v))
    if v > 0:
        raise BadValue(f"expected a number <= 0, got {v:g}")
    return v


NONPOS_FLOAT = Type("number <= 0", _nonpos_float)
