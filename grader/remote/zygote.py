"""A template process that forks workers with TensorFlow already imported.

Importing TensorFlow and Keras takes seconds; every exercise but the NumPy
one needs them. The template imports them once (and nothing of the
learner's), then forks a worker for each request, so a fresh worker (the
first of an exercise, or the one after a timeout killed its predecessor) is
ready in milliseconds.

Each worker is forked twice so that it becomes the grader's own child (the
grader is a subreaper): the grader then waits for it, kills it, and reads
its exit status like any child. A forked worker has a single thread, so its
fence (``fence.apply``, applied by ``worker.run``) binds all of it.

Protocol on the template's socket: the grader sends a JSON config with two
file descriptors (the worker's channel and its output file); the template
answers ``{"pid": PID}`` of the worker.
"""

from __future__ import annotations

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True


def main() -> None:
    if not sys.platform.startswith("linux"):
        sys.exit("the template process forks workers on Linux only")
    template = socket.socket(fileno=int(sys.argv[1]))
    for name in json.loads(sys.argv[2]):
        __import__(name)
    import worker  # noqa: F401 - imported before any fork, so each worker starts with it

    template.sendall(b'{"ready": true}\n')
    while True:
        message, fds, _, _ = socket.recv_fds(template, 1 << 20, 2)
        if not message:
            return
        config = json.loads(message)
        pid = _fork_worker(template, fds, config)
        for fd in fds:
            os.close(fd)
        template.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _fork_worker(template, fds, config) -> int:
    """Forks the worker as a grandchild, so that it is reparented to the grader; returns its pid."""
    if not sys.platform.startswith("linux"):
        return -1
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_end)
            worker_pid = os.fork()
            if worker_pid == 0:
                os.close(write_end)
                _become_worker(template, fds, config, parent=os.getppid())
            os.write(write_end, str(worker_pid).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(middle, 0)
    return int(text) if text.isdigit() else -1


def _become_worker(template, fds, config, parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    import time

    import worker

    template.close()
    channel, output = fds
    os.setsid()
    deadline = time.monotonic() + 5
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.001)  # until the middle process has exited and the grader adopted this one
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.environ.clear()
    os.environ.update(config.pop("environ"))
    import tempfile

    tempfile.tempdir = None  # the template's TMPDIR was cached at import; this worker has its own
    try:
        worker.run(socket.socket(fileno=channel), config)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
