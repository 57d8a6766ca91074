"""Speaks the worker protocol itself: forged and malformed replies, hoping the grader trusts or chokes on them.

Tries: replaces the worker's ``_answer`` (the runner is ``__main__`` in the
worker's ``sys.modules``) with one that writes straight to its socket, a
different reply on each call: a header length of 2**62; a header that is
not JSON, or not an object; a value nested 100,000 lists deep; a
reference to an argument that does not exist; a ``.npy`` buffer that is
not one; a ``$keras`` archive that is not a zip; a raised
``KeyboardInterrupt``; an in-place "change" that reshapes the check's
array; a ``dataset`` request for a dataset never passed; a 4 GiB buffer
announced and never sent; a truncated message left hanging.

On an in-process grader: there is no protocol to forge, but the same
values returned directly. Here every reply must end as one failed check,
never as a grader crash, a hang, or a passed check.
Base: the stub (0 points).
"""

import io
import json
import os
import struct
import sys

import numpy as np

LENGTH = struct.Struct(">Q")


def _message(header, buffers=()):
    header = dict(header, buffers=[len(b) for b in buffers])
    body = json.dumps(header).encode()
    return LENGTH.pack(len(body)) + body + b"".join(buffers)


def _npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


REPLIES = [
    LENGTH.pack(2**62),
    LENGTH.pack(12) + b"{not json!!}",
    LENGTH.pack(6) + b"[1, 2]",
    LENGTH.pack(200_002) + b"[" * 100_001 + b"]" * 100_001,
    _message({"op": "returned", "value": {"$argument": ["arg", 99]}}),
    _message({"op": "returned", "value": {"$array": 0}}, [b"\x93NUMPY garbage"]),
    _message({"op": "returned", "value": {"$keras": {"archive": 0, "embedded": [], "class": "Model"}}},
             [b"PK\x03\x04 not a zip"]),
    _message({"op": "raised", "error": {"type": "KeyboardInterrupt", "bases": ["KeyboardInterrupt", "BaseException"],
                                        "message": "stop", "frames": []}}),
    _message({"op": "returned", "value": 3, "changed": [[["arg", 0], {"$array": 0}]]},
             [_npy(np.zeros((1, 1), np.float32))]),
    _message({"op": "dataset", "handle": 0, "action": "open"}),
    LENGTH.pack(60) + json.dumps({"op": "returned", "value": 0, "buffers": [2**32]}).encode().ljust(60),
    LENGTH.pack(1000) + b'{"op": "returned", "val',
]
_calls = [os.getpid() % len(REPLIES)]


def _forged_answer(module, header, buffers):
    runner = sys.modules["__main__"]
    index = _calls[0] % len(REPLIES)
    _calls[0] += 1
    runner.SOCKET.sendall(REPLIES[index])


if hasattr(sys.modules.get("__main__"), "_answer"):
    sys.modules["__main__"]._answer = _forged_answer


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
