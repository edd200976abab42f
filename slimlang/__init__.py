"""slimlang: a small language for neural networks in the style of TF-Slim.

    import slimlang
    nets = slimlang.load("examples/nets/vgg.slim")      # parse + check, no TensorFlow yet
    net, end_points = nets.vgg_16(images, num_classes=10)  # builds with tf_slim

Importing slimlang does not import TensorFlow; building a model does.
"""

from .api import DefaultsValue, Model, SlimModule, load, loads
from .diagnostics import SlimError

__version__ = "0.1.0"
__all__ = ["load", "loads", "SlimError", "SlimModule", "Model", "DefaultsValue", "register_loss", "register_metric",
           "register_layer", "load_plugin", "__version__"]


def register_loss(name, fn):
    """Register a custom loss usable as `loss NAME` in train sections (the primer's slim.losses.add_loss)."""
    from .training import register_loss as _register

    return _register(name, fn)


def register_metric(name, fn=None, *, tasks=("classification",)):
    """Register a metric `slimlang eval` (and validation) reports for heads of `tasks`.
    See `slimlang.training.registry.register_metric`."""
    from .training.registry import register_metric as _register

    return _register(name, fn, tasks=tasks)


def load_plugin(path):
    """Run a plugin file (it registers losses and metrics); once per process.  See `slimlang.plugins`."""
    from .plugins import load_plugin as _load

    return _load(path)


def register_layer(name, fn=None, *, params=None, positional=(), shape=None, doc=""):
    """Add a layer to the layer table from Python.  See `slimlang.plugins.register_layer`."""
    from .plugins import register_layer as _register

    return _register(name, fn, params=params, positional=positional, shape=shape, doc=doc)
