"""The stub as ``conv.py``, and ``exercises`` a symbolic link to the project's ``solutions/`` folder.

Tries: the link is not on the module itself but on the folder above it
(see EXTRA_FILES in tests/test_attacks.py): ``exercises/conv.py`` is then a
regular file, the reference, for any check that looks only at the last
path component (``lstat`` follows links in the folders on the way).

On an in-process grader, or one that checks only the module's own entry:
the reference is graded (25 points). A grader that refuses links anywhere
on the path grades this stub (0 points).
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
