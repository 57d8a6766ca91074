"""The stub, next to a ``numpy.py`` that shadows NumPy and to ``sitecustomize.py``, ``usercustomize.py`` and a ``.pth`` file.

Tries: the extra files (see EXTRA_FILES in tests/test_attacks.py) run code
whenever Python starts with the submission folder on ``sys.path`` or as
a site folder: the fake ``numpy`` makes ``allclose``/``array_equal``
always true and re-exports the real NumPy; ``sitecustomize`` and the
``.pth`` patch the real NumPy the same way at start-up. This module then
imports ``numpy`` hoping to get the fake one.

On an in-process grader with the submission on ``sys.path`` (or the
working directory): the checks' own comparisons would use the patched
NumPy and pass. Here only ``conv.py`` is taken from the submission and the
worker runs ``python -I`` (no user site, no working directory on the path).
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
