"""The records of the kind tables: `Arg`, `Kind`, and `Call`, a TensorFlow call described once.

A `Kind` is one choice of a setting's first argument (`optimizer adam`,
`loss huber`, `data csv`): its options (names, types, defaults, docs), and
how it becomes TensorFlow.  Where that is one call, the kind gives a `Call`:
the engine builds it (`Call.build`) and `--emit py --train` writes it
(`Call.code`) from the same description, so the two cannot differ.  A call
may name a function of `slimlang.training.helpers` instead of TensorFlow's;
the emitted program then holds that function's source.

Nothing here imports TensorFlow: `Call.build` is handed the `tf` module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...values import py_literal
from ..argtypes import Type

REQUIRED = object()  # default marking a required argument


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: Type
    default: object = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of a setting: its options and how it builds and is emitted.

    `call(options) -> Call` gives the TensorFlow call of optimizers,
    schedules and losses.  Data sources and metrics have more than one call;
    `build` names their TF builder ("module:function", imported when first
    used) and `emit` their code writer (data sources).
    """

    name: str
    args: tuple  # keyword Args of this kind
    doc: str
    aliases: tuple = ()
    call: Callable | None = None
    build: str = ""
    emit: Callable | None = None
    task: str = ""  # losses and metrics: classification | multilabel | regression

    def builder(self) -> Callable:
        """The function `build` names (importing its module, and so TensorFlow, now)."""
        import importlib

        module, _, name = self.build.partition(":")
        return getattr(importlib.import_module(module), name)


def kinds(*entries: Kind) -> dict:
    return {k.name: k for k in entries}


# ------------------------------------------------------------ calls ---


@dataclass(frozen=True, slots=True)
class Ref:
    """A value known only when the graph is built (the step, the predictions):
    the value handed to `Call.build`, a name or expression in the emitted code."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """`fn(*args, **kwargs)`: `fn` is a path under `tf` ("compat.v1.train.AdamOptimizer")
    or `helpers.NAME`; arguments are plain values, `Ref`s or other `Call`s."""

    fn: str
    args: tuple = ()
    kwargs: tuple = ()  # ((name, value), ...), in order

    def build(self, tf, refs: dict):
        """Call it: `refs` maps each Ref's name to its tensor."""
        if self.fn.startswith("helpers."):
            from .. import helpers as target

            path = self.fn.split(".")[1:]
        else:
            target, path = tf, self.fn.split(".")
        for part in path:
            target = getattr(target, part)

        def value(v):
            if isinstance(v, Ref):
                return refs[v.name]
            if isinstance(v, Call):
                return v.build(tf, refs)
            return v

        return target(*[value(a) for a in self.args], **{k: value(v) for k, v in self.kwargs})

    def code(self, refs: dict | None = None) -> str:
        """Python source of the call; `refs` maps a Ref's name to its code (default: the name)."""
        refs = refs or {}

        def text(v):
            if isinstance(v, Ref):
                return refs.get(v.name, v.name)
            if isinstance(v, Call):
                return v.code(refs)
            return py_literal(v)

        fn = self.fn.removeprefix("helpers.") if self.fn.startswith("helpers.") else f"tf.{self.fn}"
        parts = [text(a) for a in self.args] + [f"{k}={text(v)}" for k, v in self.kwargs]
        return f"{fn}({', '.join(parts)})"

    def helpers(self) -> set:
        """Names of the `helpers` functions the call uses (the emitted program needs their source)."""
        found = {self.fn.split(".", 1)[1]} if self.fn.startswith("helpers.") else set()
        for v in list(self.args) + [v for _, v in self.kwargs]:
            if isinstance(v, Call):
                found |= v.helpers()
        return found
