"""Make tf_slim 1.1.0 (its last release) work on TensorFlow 2.21 / tf-keras 2.21.

Use it instead of importing TensorFlow and tf_slim directly::

    from slimlang.tfcompat import tf, slim

``tf`` is the ``tensorflow`` module and ``slim`` is ``tf_slim``: the real
modules, patched at runtime; nothing in site-packages is edited. Importing this
module applies the patches once; importing it again, or calling
:func:`apply_patches` again, changes nothing. :data:`APPLIED` lists what was
patched in this process.

Why patches are needed
----------------------
tf_slim (last released in 2020) reaches into TensorFlow's private
``tensorflow.python.*`` modules. Since then TensorFlow moved several of those
names to new modules and deleted the old names, and the lazy import behind the
TF1 batch-norm layer points at a tf_keras path that tf-keras does not ship.
Patches 1-6 below only *add back a missing name* (or re-point that one broken
lazy import): nothing that exists is replaced, so on a TensorFlow that still
has a name the patch is a no-op. Patch 7 is the one behaviour change: TF1
looper threads run in the graph they were created from (see below). Patch 8
is for speed and gives the same answers: a graph-mode fast path for
``executing_eagerly_outside_functions``, which Variable hashing calls; without
it, building a network with batch norm is quadratic in its variables
(resnet_v1_152: 15 s -> 9 s).

Graph mode
----------
tf_slim is TF1 code and needs graph mode. This module does **not** call
``tf.compat.v1.disable_eager_execution()``: that is a process-wide, in
practice one-way, switch that would change every other TensorFlow user in the
process (other slimlang code, tests, a user's program). Build inside a graph
instead::

    from tf_slim.nets import vgg

    with graph_mode() as g:          # a fresh tf.Graph, made the default
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3])
        with slim.arg_scope(vgg.vgg_arg_scope()):
            net, end_points = vgg.vgg_16(x, is_training=False)

Inside ``graph_mode()`` (or any ``tf.Graph().as_default()``) everything is
symbolic: placeholders, ``tf.compat.v1.Session``, the TF1 losses and metrics,
``slim.evaluation`` and ``slim.learning.train`` all work. (The last one needed
patch 7: its Supervisor's background threads would otherwise run eagerly,
because only the calling thread sees the graph.) A program that wants TF1
behaviour everywhere may still call ``tf.compat.v1.disable_eager_execution()``
itself, before building anything; the patches work either way.

Log noise
---------
A slimlang user should see slimlang's output and TensorFlow's real errors,
nothing else. Unless ``SLIMLANG_VERBOSE`` is set (to anything but ``0``) when
this module is first imported:

- ``TF_CPP_MIN_LOG_LEVEL`` is set to ``"2"`` (C++ info and warnings hidden,
  errors shown) before TensorFlow is first imported, unless the caller already
  set it;
- the lines TensorFlow's C++ runtime writes to standard error while it loads,
  before its logging honours that level (abseil's "All log messages before
  absl::InitializeLog() is called are written to STDERR", the oneDNN and
  "Could not find cuda drivers" notices; each shared library prints its own
  copy), are held back during ``import tensorflow`` and the ones below
  ``TF_CPP_MIN_LOG_LEVEL`` dropped; everything else written then is passed on
  unchanged, also when the import fails.  (``TF_CPP_MIN_LOG_LEVEL`` alone,
  even 3, does not hide them: measured on TensorFlow 2.21, six lines.)  The
  first look for GPUs is made then too, and on a machine without CUDA drivers
  its "failed call to cuInit" error, which says the same again, is dropped;
- the deprecation notices TF1 graph building through tf_slim triggers inside
  TensorFlow (``layer.apply``, ``tf.layers.flatten`` ... "is deprecated", as
  Python warnings and as TensorFlow log records) are filtered by their
  messages (:data:`DEPRECATION_MESSAGES`) and, for Python warnings, by the
  module that warns (TensorFlow's own, :data:`DEPRECATION_MODULE`); other
  warnings, and the same words warned from anywhere else, are left alone.

With ``SLIMLANG_VERBOSE=1`` (``slimlang --verbose``) none of this is done.

Dependencies: only tensorflow, tf_keras (imported lazily, on the first
``slim.batch_norm`` that needs it) and tf_slim, so generated code can import
this module without the rest of slimlang.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings

__all__ = ["APPLIED", "DEPRECATION_MESSAGES", "DEPRECATION_MODULE", "VERBOSE", "apply_patches", "graph_mode", "slim",
           "tf", "verbose"]


def verbose() -> bool:
    """True when ``SLIMLANG_VERBOSE`` asks to see everything TensorFlow prints."""
    return os.environ.get("SLIMLANG_VERBOSE", "").strip().lower() not in ("", "0", "false", "no", "off")


#: Whether this process shows TensorFlow's start-up notices and deprecation
#: chatter (read once, when this module is first imported).
VERBOSE = verbose()

# A line of abseil/TensorFlow C++ logging: severity letter, MMDD, time, thread
# id, file:line, `]`.
_CPP_LOG_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] ")
_ABSL_PRE_INIT = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
# Without CUDA drivers TensorFlow says so while it loads (an info line), and the
# first look for GPUs then logs "failed call to cuInit ... UNKNOWN ERROR (303)"
# as an error: the same fact, not a problem of a CPU-only machine.
_NO_CUDA_DRIVER = b"Could not find cuda drivers"
_CUINIT_FAILED = b"failed call to cuInit"


def _min_log_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _startup_lines_kept(data: bytes, min_level: int) -> bytes:
    """What of `data` (standard error written while TensorFlow loaded) to pass on:
    every line but C++ log lines below `min_level`, abseil's pre-init notice and,
    on a machine without CUDA drivers (TensorFlow said so in `data`), the error
    CUDA's first probe logs for the same reason."""
    if min_level <= 0:
        return data
    no_driver = _NO_CUDA_DRIVER in data
    kept = []
    for line in data.splitlines(keepends=True):
        m = _CPP_LOG_LINE.match(line)
        if m and _SEVERITY[m.group(1)] < min_level:
            continue
        if line.rstrip(b"\r\n") == _ABSL_PRE_INIT:
            continue
        if m and no_driver and _CUINIT_FAILED in line:
            continue
        kept.append(line)
    return b"".join(kept)


@contextlib.contextmanager
def _startup_notices_held(enabled: bool):
    """Hold back file descriptor 2 inside the block; then write out what
    `_startup_lines_kept` keeps (in the order it was written)."""
    held = saved = None
    if enabled:
        try:
            held = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `with held` below
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no temporary file or no usable fd 2: nothing held
            if held is not None:
                held.close()
            held = None
    if held is None:
        yield
        return
    with held:
        try:
            os.dup2(held.fileno(), 2)
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            data = _startup_lines_kept(held.read(), _min_log_level())
            if data:
                os.write(2, data)


#: The deprecation notices TensorFlow gives for the TF1 APIs tf_slim is built
#: on; slimlang's users cannot act on them.
DEPRECATION_MESSAGES = (
    r"`layer\.apply` is deprecated",
    r"`tf\.layers\.[A-Za-z_.]+` is deprecated",
)
#: Where those warnings come from (the `module` of `warnings.filterwarnings`):
#: TensorFlow's legacy layers (tensorflow.python.keras.engine.base_layer_v1,
#: tensorflow.python.keras.legacy_tf_layers.core) warn with stacklevel 1.
DEPRECATION_MODULE = r"tensorflow\."


class _DeprecationRecords(logging.Filter):
    """Drops TensorFlow's "... is deprecated and will be removed" log records."""

    _pattern = re.compile("|".join(("is deprecated and will be removed", *DEPRECATION_MESSAGES)))

    def filter(self, record):
        try:
            return not self._pattern.search(record.getMessage())
        except (TypeError, ValueError):  # a record whose message cannot be formatted: not ours to judge
            return True


_DEPRECATION_RECORDS = _DeprecationRecords()


def _quiet_python_notices():
    """Install the message-scoped warnings filters and the log-record filter (again: a no-op)."""
    for message in DEPRECATION_MESSAGES:
        warnings.filterwarnings("ignore", message=message, category=UserWarning, module=DEPRECATION_MODULE)
    tf.get_logger().addFilter(_DEPRECATION_RECORDS)


if not VERBOSE:
    # Must happen before the first `import tensorflow` anywhere in the process;
    # a caller's explicit setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_HOLD = "tensorflow" not in sys.modules and not VERBOSE
with _startup_notices_held(_HOLD):
    import tensorflow as tf

    if _HOLD:
        # CUDA's first probe (0.5 ms; it would otherwise come with the first session),
        # made while standard error is held so that _startup_lines_kept sees it.
        tf.config.list_physical_devices("GPU")

if not VERBOSE:
    _quiet_python_notices()

#: Human-readable record of the patches applied in this process ("module.name").
APPLIED: list[str] = []

_done = False


def _add_missing(module, name, value):
    """Set ``module.name = value`` only if ``module`` lacks ``name``."""
    if not hasattr(module, name):
        setattr(module, name, value)
        APPLIED.append(f"{module.__name__}.{name}")


def _variable(
    initial_value=None,
    trainable=None,
    collections=None,
    validate_shape=True,
    caching_device=None,
    name=None,
    dtype=None,
    constraint=None,
    use_resource=None,
    synchronization=None,
    aggregation=None,
    shape=None,
):
    """Stand-in for the deleted ``variable_scope.variable`` (a TF1 Variable).

    The old function forwarded its arguments to ``VariableV1``; so does this.
    ``VariableV1`` goes through the graph's variable-creator stack, exactly as
    the old function did.
    """
    from tensorflow.python.ops import variable_v1, variables

    if synchronization is None:
        synchronization = variables.VariableSynchronization.AUTO
    if aggregation is None:
        aggregation = variables.VariableAggregation.NONE
    return variable_v1.VariableV1(
        initial_value=initial_value,
        trainable=trainable,
        collections=collections,
        validate_shape=validate_shape,
        caching_device=caching_device,
        name=name,
        dtype=dtype,
        constraint=constraint,
        use_resource=use_resource,
        synchronization=synchronization,
        aggregation=aggregation,
        shape=shape,
    )


def apply_patches():
    """Apply every patch (once). Safe to call again; returns :data:`APPLIED`."""
    global _done
    if _done:
        return APPLIED
    from tensorflow.python.framework import indexed_slices, ops
    from tensorflow.python.framework import tensor as tensor_lib
    from tensorflow.python.layers import normalization as tf_normalization
    from tensorflow.python.ops import (
        array_ops,
        array_ops_stack,
        cond,
        control_flow_assert,
        control_flow_case,
        control_flow_ops,
        variable_scope,
        while_loop,
    )
    from tensorflow.python.util import lazy_loader

    # 1. ops.Tensor: the Tensor class moved to framework/tensor.py in the
    #    TF 2.13/2.14 refactors and TF 2.21's `ops` no longer re-exports it.
    #    tf_slim does `isinstance(x, ops.Tensor)` in layers/utils.constant_value,
    #    which every utils.smart_cond goes through (tf_slim's own batch-norm
    #    code: 2-D inputs, zero_debias_moving_mean, updates_collections other
    #    than UPDATE_OPS, batch_weights), in learning.multiply_gradients
    #    (create_train_op's gradient_multipliers) and in optimize_loss.
    _add_missing(ops, "Tensor", tensor_lib.Tensor)

    # 2. ops.IndexedSlices: lives in framework/indexed_slices.py; TF 2.21's
    #    `ops` no longer re-exports it. Used by slim.learning.clip_gradient_norms,
    #    multiply_gradients and add_gradients_summaries (create_train_op with
    #    clip_gradient_norm / summarize_gradients).
    _add_missing(ops, "IndexedSlices", indexed_slices.IndexedSlices)

    # 3. array_ops.stack / unstack: moved to ops/array_ops_stack.py in the
    #    TF 2.13/2.14 refactors; TF 2.21's array_ops no longer has them. Used by slim.metrics
    #    (streaming_concat, streaming_curve_points, the *_at_thresholds family),
    #    slim.layers.legacy_fully_connected and slim.tfexample_decoder.
    _add_missing(array_ops, "stack", array_ops_stack.stack)
    _add_missing(array_ops, "unstack", array_ops_stack.unstack)

    # 4. control_flow_ops.cond / Assert / case / while_loop: split out into
    #    ops/cond.py, control_flow_assert.py, control_flow_case.py and
    #    while_loop.py (TF 2.13/2.14); TF 2.21's control_flow_ops lacks all four
    #    (`case` was already reported missing on TF 2.15, tensorflow#63515).
    #    `cond` is used by slim's utils.smart_cond, i.e.
    #    batch_norm / dropout with a *tensor* is_training, and by slim.metrics;
    #    `Assert` by histogram_ops; `case` by tfexample_decoder; `while_loop`
    #    by slim.losses.metric_learning.
    _add_missing(control_flow_ops, "cond", cond.cond)
    _add_missing(control_flow_ops, "Assert", control_flow_assert.Assert)
    _add_missing(control_flow_ops, "case", control_flow_case.case)
    _add_missing(control_flow_ops, "while_loop", while_loop.while_loop)

    # 5. variable_scope.variable: gone from TF 2.21 (VariableV1 now lives in
    #    ops/variable_v1.py). tf_slim's slim.local_variable and
    #    slim.global_variable call it.
    _add_missing(variable_scope, "variable", _variable)

    # 6. TF1 batch-norm layer: tensorflow/python/layers/normalization.py
    #    lazily imports 'tf_keras.legacy_tf_layers.normalization', but
    #    tf-keras 2.21 ships that module only as
    #    'tf_keras.src.legacy_tf_layers.normalization' (Keras moved its code
    #    under src/; the same break hit 'keras.legacy_tf_layers' on TF 2.14,
    #    conda-forge/tensorflow-feedstock#356). slim.batch_norm takes that
    #    path in the common case (4-D input, UPDATE_OPS collection, no
    #    zero-debias), fused or not, so every network using batch norm
    #    (inception, resnet) failed with ModuleNotFoundError. Re-point the still-unloaded lazy loader; tf_keras
    #    is still imported only when batch_norm is first used.
    bad = "tf_keras.legacy_tf_layers.normalization"
    loader = tf_normalization.__dict__.get("normalization")
    if isinstance(loader, lazy_loader.LazyLoader) and loader.__name__ == bad:
        tf_normalization.normalization = lazy_loader.LazyLoader(
            "normalization",
            tf_normalization.__dict__,
            "tf_keras.src.legacy_tf_layers.normalization",
        )
        APPLIED.append(
            f"{tf_normalization.__name__}.normalization -> "
            "tf_keras.src.legacy_tf_layers.normalization"
        )

    # 7. Background threads of TF1 training (not a removal; a TF2 default).
    #    In TF2 eager execution is the process default and the default graph
    #    is thread-local, so a thread started from inside
    #    `with tf.Graph().as_default():` runs *eagerly*. slim.learning.train
    #    uses tf.compat.v1.train.Supervisor, whose looper threads (step
    #    counter, summaries, timed checkpoints) then call
    #    training_util.global_step / Saver.save on graph tensors eagerly and
    #    die with "tf.Tensor 'global_step:0' ... is out of scope". Only a
    #    process-wide tf.compat.v1.disable_eager_execution() avoided it. Make
    #    coordinator.LooperThread remember the graph that was the default (in
    #    graph mode) where the thread object was created, and run inside it.
    from tensorflow.python.eager import context
    from tensorflow.python.training import coordinator

    looper = coordinator.LooperThread
    if not getattr(looper, "_slimlang_tfcompat", False):
        orig_init, orig_run = looper.__init__, looper.run

        def __init__(self, *args, **kwargs):
            orig_init(self, *args, **kwargs)
            self._slimlang_graph = (
                None if context.executing_eagerly() else ops.get_default_graph()
            )

        def run(self):
            graph = getattr(self, "_slimlang_graph", None)
            if graph is None:
                return orig_run(self)
            with graph.as_default():
                return orig_run(self)

        __init__.__wrapped__, run.__wrapped__ = orig_init, orig_run
        looper.__init__, looper.run = __init__, run
        looper._slimlang_tfcompat = True
        APPLIED.append(
            f"{coordinator.__name__}.LooperThread runs in its creator's graph"
        )

    # 8. Speed, same results: ops.executing_eagerly_outside_functions.
    #    TF 2.21 answers it by entering the outermost graph-or-eager context
    #    (a stack of context managers, ~15 us), and Variable.__hash__ asks it
    #    on every hash. tf-keras's legacy layers (behind slim.batch_norm) build
    #    `set(tf.compat.v1.global_variables())` in every add_weight, so a
    #    network with batch norm hashes every earlier variable again for each
    #    new one: resnet_v1_152 made 300,080 such calls, 60% of its build
    #    (15 s -> 9 s of CPU here with this patch). When the process is not
    #    executing eagerly and the default graph is not building a function,
    #    that graph is itself the outermost context (Graph.as_default pushes
    #    it on both of the stacks the original walks), so the answer is False
    #    without entering anything; every other case asks the original.
    #    tests/test_tfcompat.py compares the two in eager, graph, nested and
    #    tf.function contexts.
    eager_outside = ops.executing_eagerly_outside_functions
    if not getattr(eager_outside, "_slimlang_tfcompat", False):
        executing_eagerly = context.executing_eagerly
        get_default_graph = ops.get_default_graph

        def executing_eagerly_outside_functions():
            if executing_eagerly():
                return True
            if not get_default_graph().building_function:
                return False
            return eager_outside()

        executing_eagerly_outside_functions.__wrapped__ = eager_outside
        executing_eagerly_outside_functions.__doc__ = eager_outside.__doc__
        executing_eagerly_outside_functions._slimlang_tfcompat = True
        ops.executing_eagerly_outside_functions = executing_eagerly_outside_functions
        APPLIED.append(
            f"{ops.__name__}.executing_eagerly_outside_functions answers graph mode without "
            "entering contexts"
        )

    _done = True
    return APPLIED


@contextlib.contextmanager
def graph_mode(graph=None):
    """Build TF1-style: make ``graph`` (default: a new ``tf.Graph``) the default.

    Yields the graph. Does not touch the process-wide eager setting.
    """
    g = graph if graph is not None else tf.Graph()
    with g.as_default():
        yield g


apply_patches()

# Patched before tf_slim is imported, so its module-level `from ... import`
# statements see the restored names too.
import tf_slim as slim
