"""The kind tables of the train stage, one module per family.

Each entry is one kind (`optimizer adam`, `schedule cosine`, `loss huber`,
`data csv`, the `accuracy` metric): its options with types, defaults and
docs (read by the checker and docs/training.md), how it builds in
TensorFlow and how `--emit py --train` writes it.  Importing them imports
no TensorFlow.
"""
