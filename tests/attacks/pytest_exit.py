"""Ends or short-circuits the pytest session from inside a check: ``pytest.exit(returncode=0)``, skip, xfail.

Tries: ``conv_output_length`` calls ``pytest.exit("all checks passed",
returncode=0)``; ``extract_patches`` calls ``pytest.skip``; ``conv2d``
``pytest.xfail``; ``max_pool2d`` raises pytest's ``Failed`` outcome with a
message claiming success.

On an in-process grader: ``pytest.exit`` stops the session at the first
check with exit status 0 ("success") and a partial result file; skips and
xfails are not failures to pytest. Here they arrive as exceptions the
learner's code raised, and each check fails.
Base: the stub (0 points).
"""

import numpy as np
import pytest


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    pytest.exit("all checks passed", returncode=0)


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    pytest.skip("not applicable on this platform")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    pytest.xfail("known difference with Keras")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise pytest.fail.Exception("passed")
