"""Floods the output (50 MB) and draws a fake "TOTAL 25 / 25" score table with terminal escape sequences.

Tries: the first call writes 50 MB of text to stdout and 5 MB to stderr;
every call then prints a score table claiming 14 passed checks and
"TOTAL 25 / 25", wrapped in ANSI sequences that clear the screen, move the
cursor up over the real table, hide what follows (``ESC[8m``) and return
the carriage, and returns a wrong length so that the check fails and
shows what was printed.

On an in-process grader: the flood goes straight to the log (50 MB per
call, the real table lost among it) and the escapes redraw the terminal
so that a reader sees 25 / 25. Here output goes to a file the grader
reads in bounded slices, and control characters are shown as ``?``.
Base: the stub (0 points).
"""

import sys

import numpy as np

FAKE_TABLE = (
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "exercise        passed  failed  not started        points\n"
    "---------------------------------------------------------\n"
    "1. conv              14       0            0       25 / 25\n"
    "---------------------------------------------------------\n"
    "TOTAL                                              25 / 25\n"
    "\nAll checks pass. Well done!\n"
    "\x1b[8m"  # conceal everything printed after this
)
_flooded = False


def _flood():
    global _flooded
    if not _flooded:
        _flooded = True
        chunk = ("x" * 1023 + "\n") * 1024  # 1 MiB
        for _ in range(50):
            sys.stdout.write(chunk)
        for _ in range(5):
            sys.stderr.write(chunk)
    sys.stdout.write("\r\x1b[20A" + FAKE_TABLE)
    sys.stdout.flush()


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    _flood()
    return -1


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
