"""Smuggles a fake "TOTAL 25 / 25" line and terminal escapes into the grader's report through an exception message.

Tries: the worker cleans exception messages with ``transport.clean_text``
before sending them; this module replaces that function (the worker's
modules are in ``sys.modules``) with one that returns the text as it is,
then raises a ``ValueError`` whose message clears the screen and holds,
on lines of their own, a passing score table ending in "TOTAL 25 / 25";
the exception's class name carries escapes, and a line break followed by
its own "TOTAL 25 / 25" line (a message's later lines may be marked as
the learner's, but a class name is printed as it is).

On an in-process grader: the message is printed under the failing check,
so the log has a second, fake TOTAL line (and a terminal shows 25 / 25).
Here the grader must clean what a worker sends, since nothing in the
worker is trusted.
Base: the stub, with functions that raise ValueError (1 point without the
escapes: "rejects bad input" only asks for a ValueError).
"""

import sys

import numpy as np

FAKE = (
    "\x1b[2J\x1b[H\n"
    "exercise        passed  failed  not started        points\n"
    "1. conv              14       0            0       25 / 25\n"
    "TOTAL                                              25 / 25\n"
    "\nAll checks pass. Well done!\x1b[8m"
)


def _verbatim(text, limit=2000):
    return str(text)


for _name in ("transport", "__main__"):
    _module = sys.modules.get(_name)
    if _module is not None and hasattr(_module, "clean_text"):
        _module.clean_text = _verbatim
    elif _module is not None and hasattr(_module, "transport"):
        _module.transport.clean_text = _verbatim

FAKE_TOTAL = "TOTAL                                              25 / 25"
Shiny = type(f"\x1b[32mPASSED\x1b[0m\n{FAKE_TOTAL}\n", (ValueError,), {})


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise Shiny(FAKE)


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise ValueError(FAKE)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
