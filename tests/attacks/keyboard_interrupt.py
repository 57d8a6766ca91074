"""Raises what pytest treats as "stop": KeyboardInterrupt, SystemExit, GeneratorExit, and look-alikes of the grader's own interrupts.

Tries: ``conv_output_length`` raises ``KeyboardInterrupt``; ``extract_patches``
``SystemExit(0)``; ``conv2d`` ``GeneratorExit``; ``max_pool2d`` a
``BaseException`` subclass named ``NotStarted``/``GradingInterrupt`` like
the grader's verdict classes.

On an in-process grader: ``KeyboardInterrupt`` ends the session as
"interrupted" (and the run's files say so), ``SystemExit`` may end it with
status 0. Here they are exceptions the learner's code raised.
Base: the stub (0 points).
"""

import numpy as np


class GradingInterrupt(BaseException):
    pass


class NotStarted(GradingInterrupt):
    pass


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise KeyboardInterrupt


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise SystemExit(0)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise GeneratorExit


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotStarted("max_pool2d")
