"""Runs Python as a machine without the POSIX-only pieces would: ``python tests/without_posix.py -m pytest ...``
(or ``-c CODE``).

Before the command runs, this process loses ``os.fork``, ``os.getsid``,
``os.killpg``, ``signal.SIGALRM``, ``signal.setitimer``, ``socket.send_fds``
and ``socket.recv_fds``; ``subprocess.Popen`` refuses ``pass_fds`` and
``select.select`` refuses anything but sockets, as on Windows. The grader
then runs with ``CHECKS_PROCESS_LAYER=portable`` (workers connect back over
loopback instead of inheriting a socket). Its workers, started with
``python -I``, use none of these pieces.
"""

import os
import runpy
import select
import signal
import socket
import stat
import subprocess
import sys

REMOVED = {os: ("fork", "forkpty", "getsid", "killpg"), signal: ("SIGALRM", "setitimer", "ITIMER_REAL"),
           socket: ("send_fds", "recv_fds")}


def _refuse_pass_fds(popen_init):
    def init(self, *args, **kwargs):
        if kwargs.get("pass_fds"):
            raise AssertionError("pass_fds: not on this platform")
        return popen_init(self, *args, **kwargs)
    return init


def _sockets_only(original):
    def only_sockets(readable, writable, exceptional, *timeout):
        for item in (*readable, *writable, *exceptional):
            fd = item if isinstance(item, int) else item.fileno()
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise OSError("select: only sockets on this platform")
        return original(readable, writable, exceptional, *timeout)
    return only_sockets


def take_away() -> None:
    for module, names in REMOVED.items():
        for name in names:
            if hasattr(module, name):
                delattr(module, name)
    subprocess.Popen.__init__ = _refuse_pass_fds(subprocess.Popen.__init__)
    select.select = _sockets_only(select.select)


if __name__ == "__main__":
    os.environ["CHECKS_PROCESS_LAYER"] = "portable"
    take_away()
    if sys.argv[1:2] == ["-c"]:
        code, sys.argv = sys.argv[2], ["-c", *sys.argv[3:]]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
    elif sys.argv[1:2] == ["-m"]:
        sys.argv = [sys.argv[2], *sys.argv[3:]]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.exit("usage: python tests/without_posix.py -m MODULE [ARGUMENTS ...] | -c CODE [ARGUMENTS ...]")
