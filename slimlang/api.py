"""Python API: `slimlang.load(path)` mirrors tf_slim.nets.

    import slimlang
    nets = slimlang.load("examples/nets/vgg.slim")
    net, end_points = nets.vgg_16(images, num_classes=10, is_training=False)
    net, end_points = nets.vgg_16(images, arg_scope=nets.vgg_arg_scope(weight_decay=0.01))
    with nets.vgg_arg_scope():          # a real slim.arg_scope, for hand-written TF-Slim code
        ...

Loading parses and checks the file (no TensorFlow); calling a model builds it
into the current default graph with tf_slim (TensorFlow is imported then).
Its convolutions get slimlang's faster gradient formulations
(slimlang/gradients.py) unless `gradients="tensorflow"` is given to `load` or
to the call.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from . import ast
from .checker import Program, check_file, check_text
from .diagnostics import SlimError, did_you_mean
from .evaluate import Defaults, Evaluator

_USES = object()


class Model:
    """A model of a .slim file as a callable: `(inputs, **params) -> (net, end_points)`."""

    def __init__(self, program: Program, node: ast.Model, gradients: str | None = None):
        self._program = program
        self._node = node
        self._gradients = gradients
        self.__name__ = node.name
        self.__qualname__ = node.name
        # (an imported model's line is in the file that defines it)
        where = node.span.filename if node.span.source is not None else program.source_name
        self.__doc__ = f"Model `{node.name}` of {where} (line {node.span.line})."
        shape = program.input_shape(node.name)
        if shape and len(shape) >= 2:
            self.default_image_size = shape[0]
        self.params = {p.name: p for p in node.params[1:]}

    def __repr__(self):
        return f"<slimlang model {self.__name__} from {self._program.source_name}>"

    @property
    def __signature__(self):
        params = [inspect.Parameter(self._node.params[0].name if self._node.params else "inputs",
                                    inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        ev = Evaluator(self._program, None)
        defaults = ev.bind_params(self._node, {}, self._node.span, skip_first=True) if all(
            p.default is not None for p in self._node.params[1:]) else {}
        for p in self._node.params[1:]:
            default = defaults.get(p.name, inspect.Parameter.empty)
            params.append(inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default))
        if "scope" not in self.params:
            params.append(inspect.Parameter("scope", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=self.__name__))
        params.append(inspect.Parameter("arg_scope", inspect.Parameter.KEYWORD_ONLY, default="uses"))
        params.append(inspect.Parameter("gradients", inspect.Parameter.KEYWORD_ONLY, default=None))
        return inspect.Signature(params)

    def __call__(self, inputs, *args, scope=None, arg_scope=_USES, gradients=None, **params):
        from . import gradients as grads
        from .lower_graph import TFBackend

        names = [p.name for p in self._node.params[1:]]
        if len(args) > len(names):
            raise SlimError.single("E203", f"`{self.__name__}` takes at most {len(names)} positional parameters "
                                   f"after the input, got {len(args)}", self._node.name_span)
        for n, v in zip(names, args):
            if n in params:
                raise SlimError.single("E204", f"`{self.__name__}` got parameter `{n}` twice", self._node.name_span)
            params[n] = v
        for k in params:
            if k not in names:
                raise SlimError.single("E206", f"`{self.__name__}` has no parameter `{k}`", self._node.name_span,
                                       [did_you_mean(k, names + ["scope", "arg_scope"]),
                                        f"note: its parameters are {', '.join(names)}"])
        reuse = params.get("reuse") if "reuse" in names else None
        if "scope" in names:
            scope = params.get("scope", scope)
        if arg_scope is _USES:
            defaults = "uses"
        elif arg_scope is None:
            defaults = Defaults()
        elif isinstance(arg_scope, DefaultsValue):
            defaults = arg_scope.defaults
        else:
            raise SlimError.single("E208", "arg_scope= takes a defaults block of the file (e.g. "
                                   "module.vgg_arg_scope()) or None", self._node.name_span)
        _gradients_arg(gradients)
        # The call's choice, else an enclosing train graph's (gradients.scope), else load()'s, else the default.
        mode = gradients or (None if grads.current() else self._gradients or grads.default())
        ev = Evaluator(self._program, TFBackend())
        with grads.scope(mode):
            return ev.run_model(self.__name__, inputs, params, scope=scope, reuse=reuse, defaults=defaults,
                                call_span=self._node.name_span)


class DefaultsValue:
    """A resolved `defaults` block: pass it as `arg_scope=`, or use it as `with` for hand-written TF-Slim."""

    def __init__(self, name: str, defaults: Defaults):
        self.name = name
        self.defaults = defaults
        self._cm = None

    def __repr__(self):
        kinds = ", ".join(sorted(self.defaults.by_kind))
        return f"<slimlang defaults {self.name}: {kinds}>"

    def as_dict(self) -> dict:
        """kind -> {argument: value} in DSL names (values are slimlang values)."""
        return {k: self.defaults.values(k) for k in self.defaults.by_kind}

    def arg_scope(self):
        """The equivalent tf_slim arg_scope dict (for `with slim.arg_scope(...)`)."""
        from .layers import LAYERS
        from .lower_graph import _resolve, to_tf
        from .tfcompat import slim

        ops = {}
        for kind_name, args in self.as_dict().items():
            kind = LAYERS.get(kind_name)
            if kind is None or not (kind.fn.startswith("slim.") or kind.arg_scope):
                continue
            kwargs = {kind.param(k).py_name: to_tf(v) for k, v in args.items()}
            ops[slim.arg_scope_func_key(_resolve(kind.fn))] = kwargs
        return ops

    def __enter__(self):
        from .tfcompat import slim

        self._cm = slim.arg_scope(self.arg_scope())
        return self._cm.__enter__()

    def __exit__(self, *exc):
        cm, self._cm = self._cm, None
        return cm.__exit__(*exc)


class SlimModule:
    """A loaded .slim file: its models and defaults blocks as attributes."""

    def __init__(self, program: Program, gradients: str | None = None):
        self.program = program
        self.models = {name: Model(program, node, gradients) for name, node in program.models.items()}
        self.defaults = {name: self._defaults_fn(node) for name, node in program.defaults.items()}
        self.train_specs = program.train_specs
        # sections whose losses nobody registered (--plugin): name -> the SlimError using one raises
        self.train_errors = dict(getattr(program, "train_errors", {}))

    def _defaults_fn(self, node: ast.DefaultsDef):
        program = self.program

        def make(*args, **kwargs):
            names = [p.name for p in node.params]
            given = dict(zip(names, args))
            for k in kwargs:
                if k not in names:
                    raise SlimError.single("E206", f"defaults `{node.name}` has no parameter `{k}`", node.name_span,
                                           [did_you_mean(k, names)])
            given.update(kwargs)
            return DefaultsValue(node.name, Evaluator(program, None).apply_named_defaults(node, given, Defaults()))

        make.__name__ = node.name
        where = node.span.filename if node.span.source is not None else program.source_name
        make.__doc__ = f"Defaults `{node.name}` of {where} (line {node.span.line})."
        return make

    def __getattr__(self, name):
        d = self.__dict__
        if name in d.get("models", {}):
            return d["models"][name]
        if name in d.get("defaults", {}):
            return d["defaults"][name]
        known = list(d.get("models", {})) + list(d.get("defaults", {}))
        hint = did_you_mean(name, known)
        raise AttributeError(f"{self.program.source_name} defines no model or defaults `{name}`"
                             + (f" ({hint})" if hint else ""))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.models) | set(self.defaults))

    def __repr__(self):
        return f"<slimlang module {self.program.source_name}: {', '.join(self.models)}>"


def _gradients_arg(gradients):
    from .gradients import MODES

    if gradients is not None and gradients not in MODES:
        raise ValueError(f"gradients= takes {' or '.join(map(repr, MODES))}, not {gradients!r}")
    return gradients


def load(path, *, gradients: str | None = None) -> SlimModule:
    """Parse and check a .slim file; its models become callables like tf_slim.nets functions.

    `gradients="tensorflow"` builds them with TensorFlow's own convolution gradients instead of
    slimlang's faster formulations (the default, "fast"; see docs/training.md, "Gradients")."""
    return SlimModule(check_file(Path(path)), _gradients_arg(gradients))


def loads(text: str, filename: str = "<string>", *, gradients: str | None = None) -> SlimModule:
    """Like `load`, from source text."""
    return SlimModule(check_text(text, filename), _gradients_arg(gradients))
