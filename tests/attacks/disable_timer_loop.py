"""Switches off the time limit (``setitimer(ITIMER_REAL, 0)``, SIGALRM ignored, CPU limit lifted) and loops forever.

Tries: in ``conv_output_length``, cancels any interval timer, ignores
SIGALRM, SIGTERM, SIGINT and SIGXCPU, raises its own RLIMIT_CPU as far as
it may, then spins in ``while True: pass``.

On an in-process grader: pytest-timeout's SIGALRM timer is the only thing
that ends a check; with it cancelled the run hangs forever and no result
is written. Here the grader's own deadline ends the worker with SIGKILL
from outside; three checks time out.
Base: the stub (0 points).
"""

import resource
import signal

import numpy as np


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    signal.setitimer(signal.ITIMER_REAL, 0)
    for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        pass
    while True:
        pass


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
