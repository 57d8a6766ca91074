"""The stub as ``conv.py``, and ``exercises/conv.py`` a symbolic link to the reference ``solutions/conv.py``.

Tries: the grader looks for ``exercises/conv.py`` first; here it is a link
to the project's reference (see EXTRA_FILES in tests/test_attacks.py), so a
grader that opens the path it found would grade the reference.

On an in-process grader that reads the file through the link: 25 points. Here links
are refused, and this stub (the next candidate, ``conv.py``) is graded.
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
