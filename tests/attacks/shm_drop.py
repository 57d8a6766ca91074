"""Leaves files in /dev/shm, which outlive the run: a drop box between submissions graded on the same machine.

Tries: at import, writes this module's own source to
``/dev/shm/conv-attack-shm_drop-<pid>`` and reads back whatever earlier
submissions left under ``/dev/shm/conv-attack-*`` (a working solution
shared by one learner, picked up by the next), then behaves like the stub.

On an in-process grader: the same, and anywhere else it can write. Here
/dev/shm is writable for multiprocessing's locks; anything left there
after the run is a channel from one graded submission to the next (and
memory the machine does not get back).
Base: the stub (0 points).
"""

import glob
import os

import numpy as np

try:
    with open(__file__) as _source, open(f"/dev/shm/conv-attack-shm_drop-{os.getpid()}", "w") as _drop:
        _drop.write(_source.read())
except OSError:
    pass
LEFT_BY_OTHERS = []
for _path in glob.glob("/dev/shm/conv-attack-*"):
    try:
        with open(_path) as _found:
            LEFT_BY_OTHERS.append(_found.read()[:100])
    except OSError:
        pass


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
