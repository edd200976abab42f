"""slimlang: a small language for neural networks in the style of TF-Slim."""
__version__ = "0.1.0"
