"""Loops forever inside a bare ``except:``, swallowing whatever the grader raises to stop it.

Tries: ``conv_output_length`` loops in ``while True`` (sleeping, to leave
the CPU to the other runs) wrapped in ``try: ... except: continue``, so a
timeout exception (pytest-timeout's, or a ``KeyboardInterrupt``) raised
into it is caught and the loop resumes.

On an in-process grader: the timeout's exception is raised inside the loop
and swallowed; the run hangs until killed from outside, with no result
file. Here the worker is killed with SIGKILL, which no ``except`` catches.
Base: the stub (0 points).
"""

import time

import numpy as np


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    while True:
        try:
            while True:
                time.sleep(0.01)
        except:  # noqa: E722 - the point of the attack
            continue


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
