"""``python -m grader fence``: what the workers' fence enforces on this machine, as one JSON line.

It fences a throwaway child process as a worker is fenced (``grader/remote/fence.py``)
and tries, from inside, what a hostile submission would: reading the project, writing
outside its folders, reaching the network, signalling its parent, growing past its
limits. Gradescope's ``setup.sh`` ends its log with it.
"""

import errno
import json
import os
import platform
import sys

from grader.remote.fence import FenceSpec, apply, landlock_abi, resource, system_read_dirs


def _outcome(function):
    """Runs a check and names how it ended.

    Args:
        function: a callable without arguments.

    Returns:
        ``"ok"`` or the exception's class name (e.g. ``"PermissionError"``);
        for a plain OSError its errno's name too (``"OSError(EROFS)"``).
    """
    try:
        function()
        return "ok"
    except BaseException as exc:  # noqa: BLE001 - MemoryError is an outcome too
        if type(exc) is OSError and exc.errno in errno.errorcode:
            return f"OSError({errno.errorcode[exc.errno]})"
        return type(exc).__name__


def _probe_checks(places, port):
    """What the fenced probe child tries; runs after ``apply``.

    Args:
        places: the probe's folders and files (see ``probe``).
        port: a TCP port the parent listens on at 127.0.0.1.

    Returns:
        Check name -> outcome (see ``_outcome``).
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    import socket

    def connect():
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass

    def connect_unix():
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(places["unix_socket"])

    def socketpair():
        left, right = socket.socketpair()
        with left, right:
            left.sendall(b"x")
            assert right.recv(1) == b"x"

    def write(folder, name="probe.txt"):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write("x")

    def numpy():
        import numpy as np
        assert float(np.arange(4).sum()) == 6.0

    def raise_hard_limit():
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard + 1, hard + 1))

    def shm_is_private():
        assert os.listdir(places["shm"]) == [], "the folder under the private tmpfs shows through"
        write(places["shm"], "dropped.txt")

    protected = places["protected"]
    parent = os.getppid()
    checks = {
        "write_inside": lambda: write(places["work"]),
        "write_outside": lambda: write(places["outside"]),
        "read_outside": lambda: open(places["secret"]).read(),
        "write_readonly": lambda: write(places["readonly"]),
        "chmod_readonly": lambda: os.chmod(protected, 0o600),
        "utime_readonly": lambda: os.utime(protected, (1, 1)),
        "setxattr_readonly": lambda: os.setxattr(protected, "user.fence_probe", b"x"),
        "write_in_private_tmpfs": shm_is_private,
        "signal_parent": lambda: os.kill(parent, 0),
        "read_parent_environ": lambda: open(f"/proc/{parent}/environ", "rb").read(),
        "read_parent_cmdline": lambda: open(f"/proc/{parent}/cmdline", "rb").read(),
        "read_own_status": lambda: open("/proc/self/status").read(),
        "read_cpuinfo": lambda: open("/proc/cpuinfo").read(),
        "tcp_connect_to_parent": connect,
        "unix_connect_to_parent": connect_unix,
        "socketpair": socketpair,
        "sethostname_same": lambda: socket.sethostname(socket.gethostname()),
        "raise_hard_limit": raise_hard_limit,
        "allocate_1_GiB": lambda: bytearray(1 << 30),
        "import_numpy": numpy,
    }
    return {name: _outcome(check) for name, check in checks.items()}


def _probe_child(write_end, places, port):
    """Body of the forked probe child: fence, check, send the JSON back.

    Args:
        write_end: the pipe to the parent.
        places, port: see ``_probe_checks``.
    """
    result = {}
    try:
        spec = FenceSpec(read_dirs=system_read_dirs(), write_dirs=[places["work"], places["shm"]],
                         read_files=["/dev/urandom"], write_files=["/dev/null"],
                         readonly_paths=[places["readonly"]], private_tmpfs=[places["shm"]],
                         memory_bytes=_vm_size() + (512 << 20), cpu_seconds=60,
                         file_bytes=1 << 20, extra_processes=16)
        result["report"] = apply(spec)
        result["checks"] = _probe_checks(places, port)
    except BaseException as exc:  # noqa: BLE001 - the parent must get an answer
        result["error"] = repr(exc)
    os.write(write_end, json.dumps(result).encode())
    os.close(write_end)


def _vm_size():
    """This process's virtual memory size, to set RLIMIT_AS above it.

    Returns:
        Bytes of address space in use (0 when unknown).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def probe() -> dict:
    """Applies a small fence in a forked child and reports what works.

    The child's folders: ``work`` (writable), ``outside`` (unreadable),
    ``readonly`` (standing for the project: read-only, with a file in it),
    ``shm`` (standing for /dev/shm: a private tmpfs over it); the parent
    listens on TCP at 127.0.0.1 and on a UNIX socket file.

    Returns:
        ``{"landlock_abi", "report": apply's report, "checks": name ->
        "ok" or the exception raised, "parent_can_connect", "protected_unchanged",
        "shm_left_behind"}``; for the README and diagnostics. Off Linux: apply's
        report of an empty fence, no checks, and a ``note``.
    """
    if not sys.platform.startswith("linux"):
        return {"landlock_abi": None, "report": apply(FenceSpec(read_dirs=[], write_dirs=[], deny_network=False)),
                "checks": {}, "note": f"the fence is Linux's: on {sys.platform} a worker gets only its limits"}
    import shutil
    import socket
    import tempfile

    result = {"python": sys.version.split()[0], "machine": platform.machine(),
              # Imported already, "import_numpy" would prove nothing about reading NumPy behind the fence.
              "numpy_imported_before": "numpy" in sys.modules,
              "landlock_abi": landlock_abi()}
    if not hasattr(os, "fork"):
        return {**result, "error": "no fork on this system"}
    base = tempfile.mkdtemp(prefix="fence-probe-")
    places = {name: os.path.join(base, name) for name in ("outside", "work", "readonly", "shm")}
    for folder in places.values():
        os.mkdir(folder)
    places["secret"] = os.path.join(places["outside"], "secret.txt")
    places["protected"] = os.path.join(places["readonly"], "grader.py")
    places["unix_socket"] = os.path.join(base, "listener.sock")
    for path in (places["secret"], places["protected"]):
        with open(path, "w") as handle:
            handle.write("secret")
    os.chmod(places["protected"], 0o644)
    before = os.stat(places["protected"])
    listener, unix_listener = socket.socket(), socket.socket(socket.AF_UNIX)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        unix_listener.bind(places["unix_socket"])
        unix_listener.listen(4)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(read_end)
                _probe_child(write_end, places, listener.getsockname()[1])
            finally:
                os._exit(0)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        os.waitpid(pid, 0)
        child = json.loads(b"".join(chunks) or b'{"error": "probe child sent nothing"}')
        result.update(child)
        result["parent_can_connect"] = _outcome(
            lambda: socket.create_connection(listener.getsockname(), timeout=5).close())
        after = os.stat(places["protected"])
        result["protected_unchanged"] = (before.st_mode, before.st_mtime_ns) == (after.st_mode, after.st_mtime_ns)
        result["shm_left_behind"] = os.listdir(places["shm"])
    finally:
        listener.close()
        unix_listener.close()
        shutil.rmtree(base, ignore_errors=True)
    return result


HELP = "print, as JSON, what the workers' fence enforces on this machine"


def add_command(commands) -> None:
    """Adds ``fence`` to the ``python -m grader`` subcommands (for their list; ``run`` runs it)."""
    commands.add_parser("fence", help=HELP, description=__doc__.split("\n\n")[0])


def run(argv: list[str]) -> int:
    """``python -m grader fence``, started before the other commands import anything (NumPy, the manifest)."""
    import argparse

    argparse.ArgumentParser(prog="python -m grader fence", description=__doc__.split("\n\n")[0]).parse_args(argv)
    print(json.dumps(probe()))
    return 0
