"""The stub, in a folder that also holds a root ``conftest.py``, ``pytest.ini``, ``pyproject.toml``, ``tox.ini`` and ``setup.cfg``.

Tries: the extra files (see EXTRA_FILES in tests/test_attacks.py) configure
pytest when it runs in or above the submission folder: the conftest marks
every report as passed and rewrites the result files with full marks at
the session's end; the ini files add ``-p conftest`` and point
``python_files`` and ``testpaths`` away from the real checks.

On an in-process grader run from the submission folder: pytest loads the
root conftest first, so every check passes (25 points). Here only
``conv.py`` is taken from the submission; the rest is never read.
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
