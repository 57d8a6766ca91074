"""Writes into the grader's own code: appends to the checks and the gradebook, adds a check file, renames, links.

Tries: finds the project from the grading process's ``--rootdir`` (in
``/proc/<ppid>/cmdline``; ``/work/main`` and ``/autograder/source`` as
guesses), then on ``checks/test_conv.py``, ``checks/harness.py``,
``checks/conftest.py``, ``grader/results.py``, ``grader/engine/plugin.py``,
``grader/engine/workers.py`` and ``solutions/conv.py``: appends a comment line
(``open(..., "a")`` and ``os.open(O_WRONLY | O_APPEND)``), truncates to the
file's own size (a no-op if it were allowed, but the right to truncate is
what a real attack needs), renames it away and back; creates
``checks/test_zz_conv_attack.py``, ``grader/zz_conv_attack.py`` and a root
``conftest.py``, and a symbolic link in ``checks/``. Everything written is
a harmless comment carrying MARKER, so the test can find and undo it.

On an in-process grader: the next run (or the rest of this one) grades
with checks the learner wrote. Here the project is outside what the worker
may write (or even read).
Base: the stub (0 points).
"""

import os

import numpy as np

MARKER = "# conv-attack:write_grader_code"
TARGETS = ("checks/test_conv.py", "checks/harness.py", "checks/conftest.py", "grader/results.py",
           "grader/engine/plugin.py", "grader/engine/workers.py", "solutions/conv.py")
NEW_FILES = ("checks/test_zz_conv_attack.py", "grader/zz_conv_attack.py", "conftest.py")
RESULTS = {}


def _roots():
    roots = []
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as cmdline:
            roots += [arg.split("=", 1)[1] for arg in cmdline.read().decode(errors="replace").split("\0")
                      if arg.startswith("--rootdir=")]
    except OSError:
        pass
    return roots + ["/work/main", "/autograder/source"]


def _try(name, action):
    try:
        action()
        RESULTS[name] = "done"
    except OSError as error:
        RESULTS[name] = type(error).__name__


def _append(path):
    with open(path, "a") as handle:
        handle.write("\n" + MARKER + "\n")


def _append_fd(path):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, ("\n" + MARKER + "\n").encode())
    finally:
        os.close(fd)


def _rename_and_back(path):
    os.rename(path, path + ".conv-attack")
    os.rename(path + ".conv-attack", path)


def _create(path):
    with open(path, "x") as handle:
        handle.write(MARKER + "\n")


def _attack():
    for root in dict.fromkeys(_roots()):
        for relative in TARGETS:
            path = os.path.join(root, relative)
            _try(f"append {path}", lambda: _append(path))
            _try(f"append_fd {path}", lambda: _append_fd(path))
            _try(f"truncate {path}", lambda: os.truncate(path, os.stat(path).st_size))
            _try(f"rename {path}", lambda: _rename_and_back(path))
        for relative in NEW_FILES:
            path = os.path.join(root, relative)
            _try(f"create {path}", lambda: _create(path))
        _try(f"symlink {root}", lambda: os.symlink(os.path.join(root, "solutions", "conv.py"),
                                                   os.path.join(root, "checks", "zz_conv_attack_link.py")))


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    _attack()
    print("succeeded:", [name for name, outcome in RESULTS.items() if outcome == "done"], flush=True)
    return -1


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
