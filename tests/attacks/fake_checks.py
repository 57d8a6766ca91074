"""The stub, shipped with its own ``checks/`` folder whose ``test_conv.py`` passes everything.

Tries: the submission holds ``checks/__init__.py``, ``checks/conftest.py``
and a ``checks/test_conv.py`` with fourteen always-passing checks carrying
the real ones' names and points (see EXTRA_FILES in tests/test_attacks.py),
hoping that the grader runs the checks it finds in the submission.

On an in-process grader that copies the submission over the project (a
common autograder set-up): the instructor's checks are replaced and all pass
(25 points). Here only ``conv.py`` is taken; the checks are the project's.
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
