"""Plugins: Python files that register custom losses, metrics and layers, loaded only when asked.

    slimlang train model.slim --plugin losses.py
    slimlang.load_plugin("losses.py")

A plugin is an ordinary Python file that calls `slimlang.register_loss`,
`slimlang.register_metric` or `slimlang.register_layer` when it runs.  It runs because the command line
(`--plugin`) or the program (`load_plugin`) names it, never because a .slim
file mentions something: a .slim file cannot make slimlang run code.  A file
is run once per process however often it is named.

A plugin that cannot be loaded (missing, not Python, raising) is E361,
located at the plugin's own line where Python can tell it.  Importing this
module imports nothing of TensorFlow.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pathlib
import sys
import traceback

from .diagnostics import SlimError, Source, Span, did_you_mean

_LOADED: dict[str, object] = {}  # resolved path -> module


def _span(path: pathlib.Path, text: str, line: int | None, col: int | None = None) -> Span | None:
    if not line:
        return None
    source = Source(str(path), text)
    width = len(source.line(line)) or 1
    start = max(1, col or 1)
    return Span(source, line, start, line, max(start + 1, width + 1) if col is None else start + 1)


def load_plugin(path) -> object:
    """Run the plugin file `path` (once per process); returns its module.  SlimError E361 if it cannot."""
    p = pathlib.Path(path).expanduser()
    if not p.is_file():
        notes = []
        if p.parent.is_dir():
            near = did_you_mean(p.name, [f.name for f in p.parent.iterdir() if f.suffix == ".py"])
            notes.append(near)
        what = "is a folder" if p.is_dir() else "not found"
        notes.append("note: --plugin takes a Python file that calls slimlang.register_loss or "
                     "slimlang.register_metric")
        raise SlimError.single("E361", f"plugin {path} {what}", None, notes)
    key = str(p.resolve())
    if key in _LOADED:
        return _LOADED[key]
    # A plugin registers TensorFlow code and usually imports it: slimlang's set-up (start-up
    # notices held back, known deprecation warnings filtered) must come first.
    from . import tfcompat  # noqa: F401
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SlimError.single("E361", f"plugin {path} cannot be read: {e}") from None
    try:
        code = compile(text, str(p), "exec")
    except SyntaxError as e:
        raise SlimError.single("E361", f"plugin {path} is not valid Python: {e.msg}",
                               _span(p, text, e.lineno, e.offset)) from None
    name = f"slimlang_plugin_{p.stem}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=key)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = key
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        exec(code, module.__dict__)  # noqa: S102 (running the file the user named is what a plugin is)
    except SlimError:
        sys.modules.pop(name, None)
        raise
    except BaseException as e:  # the plugin's own code: any error is reported at its line
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__)) if f.filename == str(p)),
                    None)
        raise SlimError.single("E361", f"plugin {path} failed while loading: {type(e).__name__}: {e}",
                               _span(p, text, line)) from None
    _LOADED[key] = module
    return module


# ------------------------------------------------------------ layers ---

_LAYER_FUNCTIONS: dict = {}  # name -> fn, what `plugins.NAME` in a layer table row calls


def register_layer(name: str, fn=None, *, params=None, positional=(), shape=None, doc: str = ""):
    """Make `NAME` a layer of .slim files: a row of the layer table (`slimlang.layers.LAYERS`).

    `fn(inputs, scope=..., **params)` builds it in the current graph (TF-Slim
    style: variables under `scope`) and returns the output tensor.  `params`:
    {name: default} of its keyword parameters (a default of
    `slimlang.layers.REQUIRED` makes one required); `positional`: the names a
    statement may give without `name=`, in order.  `shape(input_shape,
    **args) -> output shape` lets `check` and `summary` follow shapes before
    TensorFlow runs (default: the input's shape).  Usable as a decorator.
    """
    import keyword

    from .layers import LAYERS, REQUIRED, LayerKind, P

    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"layer name must be an identifier, got {name!r}")
    if name in LAYERS and not LAYERS[name].fn.startswith("plugins."):
        raise ValueError(f"`{name}` is a built-in layer; register yours under another name")
    params = dict(params or {})
    missing = [p for p in positional if p not in params]
    if missing:
        raise ValueError(f"positional {missing} are not among params {list(params)}")

    def rule(shapes, args):
        if shape is None:
            return tuple(shapes[0])
        return tuple(shape(tuple(shapes[0]), **{k: args.get(k) for k in params}))

    def add(f):
        if not callable(f):
            raise TypeError(f"register_layer({name!r}, ...) needs a callable, got {f!r}")
        _LAYER_FUNCTIONS[name] = f
        LAYERS[name] = LayerKind(
            name, f"plugins.{name}", tuple(P(k, "any", REQUIRED if v is REQUIRED else v) for k, v in params.items()),
            rule, positional=tuple(positional), default_scope=name, repeat_name=name, creates_variables=True,
            doc=doc or (getattr(f, "__doc__", None) or "a layer registered by a plugin").strip().split("\n")[0])
        return f

    return add if fn is None else add(fn)


def unregister_layer(name: str) -> None:
    from .layers import LAYERS

    if name in _LAYER_FUNCTIONS:
        _LAYER_FUNCTIONS.pop(name)
        LAYERS.pop(name, None)


def layer_function(name: str):
    """The function registered for layer `name` (lower_graph resolves `plugins.NAME` through it)."""
    return _LAYER_FUNCTIONS[name]
