"""Writes full-marks result files from an ``atexit`` handler, after the grader would have written its own.

Tries: reads the result files' paths from the grading process's command
line (``--classroom-json=`` / ``--gradescope-json=`` in
``/proc/<ppid>/cmdline``, which every process may read), registers an
``atexit`` handler that writes a forged "25 / 25" into both, and makes the
worker exit normally (its ``transport.receive`` is replaced by one that
raises ``SystemExit``), so that the handler runs.

On an in-process grader: ``atexit`` runs after pytest's session end, so the
forged files would replace the real ones (25 points in the files). Here
the worker may not write outside its folder.
Base: the stub (0 points).
"""

import atexit
import json
import os
import sys

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


atexit.register(_forge)
_forge()


def _exit_cleanly(*args, **kwargs):
    raise SystemExit(0)


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    transport = sys.modules.get("transport")
    if transport is not None:
        transport.receive = _exit_cleanly
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
