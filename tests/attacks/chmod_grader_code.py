"""Changes the grader's files without writing to them: mode, times, owner and extended attributes.

Tries: finds the project from the grading process's ``--rootdir`` (in
``/proc/<ppid>/cmdline``), then on ``checks/test_conv.py``,
``grader/results.py`` and ``solutions/conv.py``: ``os.chmod(path, 0o604)``,
``os.utime`` to a fixed date (1 000 000 007 s), ``os.chown`` to the owner it
already has, and ``os.setxattr(path, "user.conv_attack", ...)``. Each is a
harmless, recognisable change the test undoes; a real attack would use
``chmod 000`` (the next run cannot read its checks), ``chmod 0666`` or
``chmod u+s`` on something worth it, or an owner of its choosing.

On an in-process grader: all of this works, as the grader's user. Here
the fence must refuse changes to anything outside the worker's folder,
not only writes to file contents.
Base: the stub (0 points).
"""

import os

import numpy as np

MODE = 0o604
TIMESTAMP = 1_000_000_007
TARGETS = ("checks/test_conv.py", "grader/results.py", "solutions/conv.py")
RESULTS = {}


def _root():
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as cmdline:
            for arg in cmdline.read().decode(errors="replace").split("\0"):
                if arg.startswith("--rootdir="):
                    return arg.split("=", 1)[1]
    except OSError:
        pass
    return "/work/main"


def _try(name, action):
    try:
        action()
        RESULTS[name] = "done"
    except OSError as error:
        RESULTS[name] = type(error).__name__


def _same_owner(path):
    info = os.stat(path)
    os.chown(path, info.st_uid, info.st_gid)


def _attack():
    root = _root()
    for relative in TARGETS:
        path = os.path.join(root, relative)
        _try(f"chmod {relative}", lambda: os.chmod(path, MODE))
        _try(f"utime {relative}", lambda: os.utime(path, (TIMESTAMP, TIMESTAMP)))
        _try(f"chown {relative}", lambda: _same_owner(path))
        _try(f"setxattr {relative}", lambda: os.setxattr(path, "user.conv_attack", b"chmod_grader_code"))


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
