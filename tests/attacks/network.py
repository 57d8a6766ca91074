"""Reaches the test's listeners on this machine: TCP and UDP on 127.0.0.1 and ::1, a UNIX socket by path, an abstract one.

Tries: connects to the TCP port the test listens on at 127.0.0.1 (and the
same port on ::1), sends a UDP datagram there, connects to the test's
UNIX socket by its path in the file system, and to its abstract UNIX
socket (the test writes the three addresses into the LISTENER_* lines
below before grading); each sends "conv-attack". Any of these would let
the code reach services of the grading machine (a Docker socket, a
database, the grader's own ports) or send data out.

On an in-process grader: every connection succeeds. Here the worker has a
network namespace of its own and a fence that scopes UNIX sockets; the
test's listeners must see nothing.
Base: the stub (0 points).
"""

import socket

import numpy as np

LISTENER_PORT = 0
LISTENER_PATH = ""
LISTENER_ABSTRACT = ""
ATTEMPTS = {}


def _try(name, action):
    try:
        action()
        ATTEMPTS[name] = "connected"
    except OSError as error:
        ATTEMPTS[name] = type(error).__name__


def _tcp(family, host):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        sock.connect((host, LISTENER_PORT))
        sock.sendall(b"conv-attack")


def _udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"conv-attack", ("127.0.0.1", LISTENER_PORT))


def _unix(address):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        sock.connect(address)
        sock.sendall(b"conv-attack")


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    _try("tcp4", lambda: _tcp(socket.AF_INET, "127.0.0.1"))
    _try("tcp6", lambda: _tcp(socket.AF_INET6, "::1"))
    _try("udp", _udp)
    _try("unix_path", lambda: _unix(LISTENER_PATH))
    _try("unix_abstract", lambda: _unix("\0" + LISTENER_ABSTRACT))
    print(ATTEMPTS, flush=True)
    raise NotImplementedError("conv_output_length: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    raise NotImplementedError("max_pool2d: your code goes here")
