"""Allocates far more memory than the machine has, lifts its own memory limit, and returns a 64 MiB result.

Tries: ``conv_output_length`` reserves 1 TiB with ``np.empty`` (address
space only: no page is touched, so the machine is safe whatever the
limits), allocates and fills one array just over the worker's address-space
limit (only while that limit is in force, so the fill can only fail), then
asks for an unlimited RLIMIT_AS (root may raise hard limits) and reserves
1 TiB again; ``extract_patches`` returns a 64 MiB array for the grader to
read back.

On an in-process grader: the allocation happens in pytest itself: a
MemoryError mid-check, or the kernel's OOM killer ending the run with no
result. Here the worker's own limit refuses it and the grader reads
replies within its message bounds.
Base: the stub (0 points).
"""

import resource

import numpy as np

TIB = 2**40


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    try:
        np.empty(TIB, np.uint8)
    except MemoryError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft <= 16 * 2**30:
        try:
            np.ones(soft // 8 + 1, np.float64)
        except MemoryError:
            pass
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        np.empty(TIB, np.uint8)
    except (OSError, ValueError, MemoryError):
        pass
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    return np.zeros(2**26, np.uint8)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
