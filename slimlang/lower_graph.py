"""Graph lowering: IR -> a tf.compat.v1 graph built with tf_slim's own layers.

`TFBackend` receives the same layer calls as the shape backend (see
evaluate.py) and makes each with the tf_slim / TensorFlow function the layer
table names, passing exactly the arguments the layer or its `defaults` set,
so tf_slim's own defaults (and any slim.arg_scope the caller opened around
the model) apply to the rest, as they would in hand-written TF-Slim.
TensorFlow is imported here and only here (plus training).
"""

from __future__ import annotations

import contextlib

from .evaluate import LayerCall, Tensor
from .layers import LAYERS
from .tfcompat import slim, tf
from .values import HELPERS, Op, helper_function

# A private collection used only to learn the alias tf_slim gives a layer's
# output (its scope name), which is what end points are keyed by.
_ALIAS_COLLECTION = "__slimlang_alias__"
_NO_OUTPUTS_COLLECTIONS = {"slim.softmax", "slim.variable", "slim.model_variable"}


def to_tf(value):
    """An evaluated DSL value as TensorFlow wants it."""
    if isinstance(value, Op):
        return value.to_tf(tf, slim)
    if isinstance(value, Tensor):
        return value.obj
    if isinstance(value, tuple):
        return [to_tf(v) for v in value]
    if isinstance(value, list):
        return [to_tf(v) for v in value]
    if isinstance(value, dict):
        return {k: to_tf(v) for k, v in value.items()}
    return value


def _resolve(path: str):
    root, *rest = path.split(".")
    if root == "plugins":  # a layer registered from Python (slimlang.register_layer)
        from .plugins import layer_function

        return layer_function(rest[0])
    if path in HELPERS:  # a builtin with its own Python source (hard_swish)
        return helper_function(path, tf, slim)
    obj = {"tf": tf, "slim": slim}[root]
    for part in rest:
        obj = getattr(obj, part)
    return obj


class TFBackend:
    """Builds layers into the current default graph."""

    @contextlib.contextmanager
    def variable_scope(self, name, default_name, reuse=None):
        with tf.compat.v1.variable_scope(name, default_name, reuse=reuse) as sc:
            yield sc.name

    def scope_name(self) -> str:
        return tf.compat.v1.get_variable_scope().name

    def shape(self, t) -> tuple:
        if t.shape.rank is None:
            return ()
        return tuple(t.shape.as_list())

    def alias(self, t) -> str:
        aliases = getattr(t, "aliases", None)
        if aliases:
            return aliases[-1]
        return t.op.name

    def layer(self, call: LayerCall):
        kind = call.kind
        fn = to_tf(call.full[kind.call_param]) if kind.call_param else _resolve(kind.fn)
        kwargs = {}
        for name, value in call.args.items():
            if name == kind.call_param:
                continue
            p = kind.param(name)
            if p.type in ("tensor", "tensors") or isinstance(value, Tensor):  # the layer's inputs
                continue
            kwargs[p.py_name] = to_tf(value)
        for p in kind.params:
            if p.always and p.name not in call.args:
                kwargs[p.py_name] = to_tf(call.full[p.name])
        if call.normalizer_params:
            # `defaults batch_norm: activation=...` reaches the normalizer as slim.arg_scope would carry it,
            # under TF-Slim's keyword (activation_fn)
            norm = LAYERS.get(getattr(call.full.get("normalizer"), "name", ""))
            params = {(norm.param(k).py_name if norm is not None and norm.param(k) is not None else k): v
                      for k, v in call.normalizer_params.items()}
            kwargs["normalizer_params"] = to_tf(params)
        if call.scope is not None and kind.scope_kw:
            kwargs[kind.scope_kw] = call.scope
        uses_alias = kind.fn.startswith("slim.") and kind.fn not in _NO_OUTPUTS_COLLECTIONS
        if uses_alias:
            kwargs["outputs_collections"] = _ALIAS_COLLECTION
        if kind.inputs == "none":
            name = kwargs.pop("name", None)
            if name is None:
                from .diagnostics import SlimError

                raise SlimError.single("E232", f"`{kind.name}` needs a name: add `as NAME`", call.span)
            out = fn(name, **kwargs)
        elif kind.inputs == "list":
            out = fn(call.inputs, **kwargs)
        else:
            out = fn(*call.inputs, **kwargs)
        if uses_alias:
            tf.compat.v1.get_default_graph().clear_collection(_ALIAS_COLLECTION)
        return out


def build_model(program, model: str, inputs, params: dict | None = None, *, scope=None, reuse=None,
                defaults="uses"):
    """Build `model` of a checked program on `inputs` in the default graph: (net, end_points)."""
    from .evaluate import Evaluator

    return Evaluator(program, TFBackend()).run_model(model, inputs, params or {}, scope=scope, reuse=reuse,
                                                     defaults=defaults)


def graph_def_text(program, model: str, input_shape, params: dict | None = None) -> str:
    """The GraphDef of one model, as protobuf text (`build --emit pbtxt`)."""
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, list(input_shape), name="inputs")
        build_model(program, model, x, params)
    return str(g.as_graph_def())
