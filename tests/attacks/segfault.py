"""Crashes the process running it: a NULL read, abort(), SIGSEGV to itself, a C stack overflow.

Tries: ``conv_output_length`` reads address 0 with ``ctypes.string_at(0)``;
``extract_patches`` sends itself SIGSEGV, then calls ``os.abort()``;
``max_pool2d`` recurses with the recursion limit lifted until the C stack
overflows. (``conv2d``, which seven checks call, stays the stub: every
crash costs a fresh worker, and the run's time is shared.)

On an in-process grader: pytest dies on the first call, leaving no result
file (or a stale one) and an exit status that is a signal, not a grade.
Here each crash ends one worker; the grader counts the check as failed and
starts another.
Base: the stub (0 points).
"""

import ctypes
import os
import signal
import sys

import numpy as np


def _deeper(n):
    # Through map(), every level is a C call too: the C stack overflows within a second.
    return list(map(_deeper, [n + 1]))


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    ctypes.string_at(0)
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    os.kill(os.getpid(), signal.SIGSEGV)
    os.abort()


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    sys.setrecursionlimit(10**9)
    return _deeper(0)
