"""Ends the program at import: prints a fake score table, then ``sys.exit(0)``.

Tries: at the top level, prints a passing "TOTAL 25 / 25" table and calls
``sys.exit(0)`` before any function exists.

On an in-process grader: the collection of the checks imports the module
and pytest stops with exit status 0, with only the fake table on screen.
Here the import fails in the worker, and every check fails.
Base: the stub (0 points).
"""

import sys

import numpy as np

print("exercise        passed  failed  not started        points")
print("1. conv              14       0            0       25 / 25")
print("TOTAL" + " " * 38 + "25 / 25")
sys.exit(0)


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
