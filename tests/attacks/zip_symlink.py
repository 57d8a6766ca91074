"""The stub as ``conv.py`` in a zip whose ``exercises/conv.py`` entries are symbolic links to the reference.

Tries: the zip (see EXTRA_FILES and PACKAGING in tests/test_attacks.py)
holds ``exercises/conv.py`` and ``top/exercises/conv.py`` as symlink
entries (mode S_IFLNK in the entry's external attributes, the target path
as content) pointing at the project's ``solutions/conv.py``; a grader that
extracts the zip with links would grade the reference.

On an in-process grader that unzips and follows links: 25 points. Here link entries
are refused and the stub is graded.
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
