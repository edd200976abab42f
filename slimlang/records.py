"""Frozen, slotted records: `@record` is `@dataclass(frozen=True, slots=True)`, cheaper to define.

dataclasses compiles each generated method of a class with its own `exec`:
six for a frozen class, hundreds for the AST module alone, the largest single
cost of a command's start-up.  `@record` compiles a class's `__init__`, `__repr__`,
`__eq__` and `__hash__` in one `exec` and shares the rest.  The behaviour is
the dataclass one: positional or keyword construction, defaults, equality
and hashing over the compared fields between instances of the same class,
frozen (dataclasses.FrozenInstanceError), `__match_args__`, picklable and
copyable.  A field declared `= hidden(default)` takes no part in equality,
hash or repr (spans).  `fields`, `compared_fields` and `replace` stand in for
their dataclasses namesakes.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError


class _Hidden:
    """A field default for a field outside equality, hash and repr (spans)."""

    __slots__ = ("default",)

    def __init__(self, default):
        self.default = default


def hidden(default):
    return _Hidden(default)


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self):
    return tuple(getattr(self, f) for f in self._fields)


def _setstate(self, state):
    for f, v in zip(self._fields, state):
        object.__setattr__(self, f, v)


def record(cls):
    """Make `cls` (annotated fields, optional defaults) a frozen, slotted record."""
    names = tuple(cls.__dict__.get("__annotations__", {}))
    defaults, compared, shown = {}, [], []
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Hidden):
            value = value.default
        else:
            compared.append(name)
            shown.append(name)
        if value is not _MISSING:
            defaults[name] = value
        elif defaults:
            raise TypeError(f"{cls.__name__}.{name}: a field without a default follows one with a default")
    params = ", ".join(f"{n}=_d_{n}" if n in defaults else n for n in names)
    sets = "".join(f"\n    _set(self, {n!r}, {n})" for n in names) or "\n    pass"

    def fields_of(obj):
        return "(" + "".join(f"{obj}.{n}, " for n in compared) + ")"

    reprs = ", ".join(f"{n}={{self.{n}!r}}" for n in shown)
    source = (f"def __init__(self, {params}):{sets}\n"
              f"def __repr__(self):\n    return f'{cls.__qualname__}({reprs})'\n"
              f"def __eq__(self, other):\n"
              f"    if other.__class__ is self.__class__:\n"
              f"        return {fields_of('self')} == {fields_of('other')}\n"
              f"    return NotImplemented\n"
              f"def __hash__(self):\n    return hash({fields_of('self')})\n")
    namespace = {"_set": object.__setattr__, **{f"_d_{n}": v for n, v in defaults.items()}}
    exec(source, namespace)  # noqa: S102  (field names are this module's identifiers, not input)
    body = {k: v for k, v in cls.__dict__.items() if k not in names and k not in ("__dict__", "__weakref__")}
    body.update(__slots__=names, _fields=names, _compared=tuple(compared), __match_args__=names, __setattr__=_frozen_setattr,
                __delattr__=_frozen_delattr, __getstate__=_getstate, __setstate__=_setstate,
                **{k: namespace[k] for k in ("__init__", "__repr__", "__eq__", "__hash__")})
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    for fn in ("__init__", "__repr__", "__eq__", "__hash__"):
        namespace[fn].__qualname__ = f"{cls.__qualname__}.{fn}"
    return new


_MISSING = object()


def fields(n) -> tuple:
    """The names of a node's fields, in order."""
    return n._fields


def compared_fields(n) -> tuple:
    """The names of the fields that take part in equality (all but spans)."""
    return n._compared


def replace(n, **changes):
    """A copy of node `n` with some fields changed (as dataclasses.replace)."""
    return type(n)(**{f: changes.pop(f) if f in changes else getattr(n, f) for f in n._fields}, **changes)


def is_record(x) -> bool:
    """An instance of a @record class."""
    return not isinstance(x, type) and "_compared" in type(x).__dict__
