"""The stub as ``conv.py`` in a zip that also holds the reference under ``../`` and absolute paths (zip slip).

Tries: entries named ``../conv.py``, ``../../conv.py``,
``exercises/../../conv.py``, ``..\\conv.py`` and an absolute path in the
run's temporary folder, each holding the reference with a marker line
(see EXTRA_FILES in tests/test_attacks.py). An extractor that joins entry
names onto its target folder writes them outside it, next to (or over)
files the grader later reads.

On an in-process grader that extracts the whole zip: files written outside the
submission's folder, and possibly a module graded from there. Here only
``conv.py`` and ``exercises/conv.py`` are read, by name, and nothing is
extracted.
Base: the stub (0 points).
"""

import numpy as np


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
