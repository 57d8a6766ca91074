"""Runs a command as it would run on a machine that gives less: no capabilities, and system calls refused.

    python tests/machine_without.py [--capabilities] [--deny CALL,...] -- COMMAND ...

``--capabilities`` drops every capability for good (uid 0 then stands where a
user without root does: namespaces only through a user namespace, as in a
Docker container without CAP_SYS_ADMIN). ``--deny mount`` makes ``mount``
fail with EPERM (a host whose AppArmor lets user namespaces be made but
refuses mounts inside them, as Ubuntu 23.10 and later do); ``--deny unshare``
makes ``unshare`` fail (no namespaces at all); ``--deny landlock_create_ruleset``
stands for a kernel without Landlock (before 5.13, or not enabled). The limits hold for the
command and every process it starts, and end with them: nothing on the
machine changes. Linux only (x86_64 and aarch64).
"""

import argparse
import ctypes
import errno
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "grader" / "remote")]  # a copy of fence.py beside this file, or the project's
import fence  # noqa: E402 - the fence's own seccomp and capability helpers

SYSTEM_CALLS = {  # the numbers of the unified tables (include/uapi/asm-generic/unistd.h, arch/x86/.../syscall_64.tbl)
    "x86_64": {"mount": 165, "umount2": 166, "unshare": 272, "setns": 308, "landlock_create_ruleset": 444},
    "aarch64": {"mount": 40, "umount2": 39, "unshare": 97, "setns": 268, "landlock_create_ruleset": 444},
}


def refusing_program(audit_arch: int, numbers: list[int]) -> list[tuple[int, int, int, int]]:
    """A seccomp filter: each of ``numbers`` fails with EPERM, every other call is allowed."""
    program = [("ld", fence._SECCOMP_ARCH), ("jeq", audit_arch, None, "allow"), ("ld", fence._SECCOMP_NR)]
    program += [("jeq", number, "refuse", None) for number in numbers]
    program += [("label", "allow"), ("ret", fence.SECCOMP_RET_ALLOW),
                ("label", "refuse"), ("ret", fence.SECCOMP_RET_ERRNO | errno.EPERM)]
    return fence._assemble(program)


def refuse(calls: list[str]) -> None:
    machine = platform.machine().lower().replace("amd64", "x86_64").replace("arm64", "aarch64")
    numbers = [SYSTEM_CALLS[machine][call] for call in calls]
    program = refusing_program(fence._SECCOMP_ARCHES[machine].audit_arch, numbers)
    filters = (fence._SockFilter * len(program))(*[fence._SockFilter(*instruction) for instruction in program])
    fprog = fence._SockFprog(len(program), ctypes.cast(filters, ctypes.POINTER(fence._SockFilter)))
    fence.prctl(fence.PR_SET_SECCOMP, fence.SECCOMP_MODE_FILTER, ctypes.byref(fprog))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--capabilities", action="store_true", help="drop every capability")
    parser.add_argument("--deny", default="", help="system calls that fail with EPERM, comma-separated")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    fence.prctl(fence.PR_SET_NO_NEW_PRIVS, 1)  # a filter needs it; an exec then gains nothing either
    if options.capabilities:
        report = fence._new_report()
        report["no_new_privs"] = True
        fence._drop_capabilities(fence._last_cap(), report)
        if not report["capabilities_dropped"]:
            sys.exit(f"could not drop the capabilities: {report['problems']}")
    if options.deny:
        refuse([call.strip() for call in options.deny.split(",") if call.strip()])
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
