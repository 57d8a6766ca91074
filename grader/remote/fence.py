"""Locks a grading worker process down before it runs untrusted student code.

The worker's runner calls ``apply(spec)`` once at start-up, while the process is
still single-threaded and before NumPy or any student code is imported.  It
combines what a Linux process can do to itself, in this order:

1. ``PR_SET_NO_NEW_PRIVS`` and ``PR_SET_PDEATHSIG`` (dies with its parent);
2. namespaces: a fresh network namespace (only a down loopback) and a private
   mount namespace, through a user namespace when not root.  In the mount
   namespace each of ``readonly_paths`` is bind-mounted read-only (so that not
   even its owner may chmod, chown, touch or set attributes on it), and each
   of ``private_tmpfs`` gets an empty tmpfs of its own (a ``/dev/shm`` that
   nobody else sees and that vanishes with the worker);
3. resource limits (address space, CPU time, file size, processes);
4. a Landlock domain: reads only beneath the given directories (in /proc only
   the worker's own ``/proc/<pid>`` and system-wide files, in /dev only the
   harmless character devices), writes only beneath the writable ones, no
   signals to (and no ptrace of) processes outside the domain, no connection
   to abstract UNIX sockets outside it; Landlock's TCP rules when there is no
   network namespace;
5. a seccomp filter: ``socket(AF_UNIX, ...)`` fails with EACCES (UNIX sockets
   reached by path, such as ``/var/run/docker.sock``, are covered neither by
   the network namespace nor by Landlock before its pathname-socket scope),
   and so do
   ``socketpair(AF_UNIX, SOCK_DGRAM)`` (a datagram socket may ``sendto`` any
   path) and ``io_uring_setup`` (io_uring makes sockets without a system
   call); stream ``socketpair`` and every other call are left alone;
6. every capability dropped (bounding, ambient, effective, permitted and
   inheritable sets), with securebits that keep uid 0 from regaining them
   through an exec.

Every step is best effort: a step the kernel (or the OS) does not offer is
skipped and named in the report's ``problems``; ``apply`` never raises.

Known limits, reported rather than fixed here:

* the kernel never applies RLIMIT_NPROC to uid 0 of the initial user
  namespace, capabilities or not: a root worker's forks are limited only by
  whoever kills its process group;
* uid 0 without capabilities still owns root-owned files, so their mode,
  times and extended attributes stay changeable unless they lie beneath one
  of ``readonly_paths`` (or Landlock hides them);
* a process the worker forks cannot read its own ``/proc/<pid>`` (only the
  worker's is granted): ``/proc/self`` works in the worker, not in its
  children.

This file is copied on its own and imported with ``python -I``: it must only
use the standard library.  ``python -m grader fence`` prints what works here
(``grader/instructor/fence_probe.py``).
"""

import ctypes
import dataclasses
import errno
import os
import platform
import signal
import site
import stat
import re
import sys
import sysconfig

try:
    import resource
except ImportError:  # pragma: no cover - Windows has no resource module
    resource = None


# --- Kernel constants (include/uapi/linux/landlock.h, prctl.h, sched.h) ----

# Same numbers on every architecture with the unified syscall table (all but
# alpha): a wrong number on an unknown architecture could run another syscall,
# so Landlock is only used on these.
_LANDLOCK_MACHINES = {
    "x86_64", "amd64", "i386", "i686", "aarch64", "arm64", "armv7l", "armv8l",
    "riscv64", "ppc64le", "ppc64", "s390x", "loongarch64",
}
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446

LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RULE_PATH_BENEATH = 1
# Restricts every thread of the process at once; only newer kernels know it.
LANDLOCK_RESTRICT_SELF_TSYNC = 1 << 3

ACCESS_FS_EXECUTE = 1 << 0
ACCESS_FS_WRITE_FILE = 1 << 1
ACCESS_FS_READ_FILE = 1 << 2
ACCESS_FS_READ_DIR = 1 << 3
ACCESS_FS_REMOVE_DIR = 1 << 4
ACCESS_FS_REMOVE_FILE = 1 << 5
ACCESS_FS_MAKE_CHAR = 1 << 6
ACCESS_FS_MAKE_DIR = 1 << 7
ACCESS_FS_MAKE_REG = 1 << 8
ACCESS_FS_MAKE_SOCK = 1 << 9
ACCESS_FS_MAKE_FIFO = 1 << 10
ACCESS_FS_MAKE_BLOCK = 1 << 11
ACCESS_FS_MAKE_SYM = 1 << 12
ACCESS_FS_REFER = 1 << 13  # ABI 2
ACCESS_FS_TRUNCATE = 1 << 14  # ABI 3
ACCESS_FS_IOCTL_DEV = 1 << 15  # ABI 5

ACCESS_NET_BIND_TCP = 1 << 0  # ABI 4
ACCESS_NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6
# Newer than ABI 7; asked for only when the kernel accepts it.
SCOPE_PATHNAME_UNIX_SOCKET = 1 << 2

# add_rule rejects (EINVAL) directory-only rights on a rule for a single file.
_FILE_RIGHTS = (ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE
                | ACCESS_FS_TRUNCATE | ACCESS_FS_IOCTL_DEV)
_READ_RIGHTS = ACCESS_FS_EXECUTE | ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR

PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
PR_SET_SECCOMP = 22
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_GET_SECUREBITS = 27
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

# --- Mounts (include/uapi/linux/mount.h) ----------------------------------------

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1 << 10
MS_NODIRATIME = 1 << 11
MS_BIND = 1 << 12
MS_REC = 1 << 14
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
# A remount must repeat these: inside a user namespace they are locked, and a
# remount that would change one fails with EPERM.  statvfs's ST_* flags have
# the same values, except ST_RELATIME (MS_BIND's value).
_KEPT_MOUNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME
_ST_RELATIME = 1 << 12

# --- Capabilities (include/uapi/linux/capability.h, securebits.h) ---------------

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SECBIT_NOROOT = 1 << 0
SECBIT_NOROOT_LOCKED = 1 << 1
SECBIT_NO_SETUID_FIXUP = 1 << 2
SECBIT_NO_SETUID_FIXUP_LOCKED = 1 << 3
SECBIT_KEEP_CAPS_LOCKED = 1 << 5  # with SECBIT_KEEP_CAPS (1 << 4) left off
SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6
SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 7
# uid 0 gains nothing from an exec, a setuid() keeps nothing, and none of
# this can be undone.
_SECUREBITS = (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP
               | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED
               | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

# --- Seccomp and classic BPF (include/uapi/linux/seccomp.h, filter.h, audit.h) ---

SECCOMP_MODE_FILTER = 2
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
_BPF_LD_W_ABS = 0x20   # BPF_LD | BPF_W | BPF_ABS
_BPF_ALU_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
_BPF_JEQ_K = 0x15      # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35      # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06      # BPF_RET | BPF_K
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
# (little endian: the low 32 bits of args[i] at 16 + 8 * i).
_SECCOMP_NR, _SECCOMP_ARCH, _SECCOMP_ARG0, _SECCOMP_ARG1 = 0, 4, 16, 24
AF_UNIX = 1
SOCK_DGRAM = 2
_SOCK_TYPE_MASK = 0xF
_X32_SYSCALL_BIT = 0x40000000


@dataclasses.dataclass(frozen=True)
class _SeccompArch:
    """What the filter needs to know of one architecture."""

    audit_arch: int
    socket: int
    socketpair: int
    io_uring_setup: int
    seccomp: int
    x32: bool  # x86_64 also takes x32 calls (numbers with _X32_SYSCALL_BIT)


_X86_64 = _SeccompArch(0xC000003E, 41, 53, 425, 317, True)
_AARCH64 = _SeccompArch(0xC00000B7, 198, 199, 425, 277, False)
_SECCOMP_ARCHES = {"x86_64": _X86_64, "amd64": _X86_64, "aarch64": _AARCH64, "arm64": _AARCH64}

# --- What apply() grants by itself ------------------------------------------------

# Character devices that hold nothing (unlike /dev/vda or /dev/kmsg, which
# uid 0 could otherwise read past Landlock's folder rules).
SAFE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# System-wide /proc entries Python, NumPy, TensorFlow and Matplotlib read.
# /proc/self, /proc/thread-self, /proc/mounts and /proc/net are links into the
# worker's own /proc/<pid>, granted separately.
SYSTEM_PROC_ENTRIES = ("cpuinfo", "meminfo", "stat", "loadavg", "uptime", "version", "filesystems",
                       "swaps", "vmstat", "cgroups", "pressure", "sys")
# O_PATH descriptors of /proc/<pid>, kept open: procfs makes a new inode (so a
# Landlock rule would be lost) whenever the dentry is evicted and looked up again.
_PINNED_FDS: list[int] = []


@dataclasses.dataclass
class FenceSpec:
    """What the worker may still do once fenced.

    Paths need not exist: missing ones are skipped and reported.
    """

    read_dirs: list[str]          # read (and execute) allowed beneath each
    write_dirs: list[str]         # read, write, create, remove, rename, truncate beneath each
    memory_bytes: int | None = None     # RLIMIT_AS, soft and hard
    cpu_seconds: int | None = None      # RLIMIT_CPU, soft and hard (soft = hard)
    file_bytes: int | None = None       # RLIMIT_FSIZE, soft and hard
    extra_processes: int | None = None  # RLIMIT_NPROC = tasks the real uid has + this
    deny_network: bool = True
    read_files: list[str] = dataclasses.field(default_factory=list)  # single readable files
    write_files: list[str] = dataclasses.field(default_factory=list)  # single writable files
    # Bind-mounted read-only in a private mount namespace (e.g. the project
    # root): no write, chmod, chown, utime or setxattr beneath them, whoever
    # owns the files.  A write dir strictly beneath one stays writable.
    readonly_paths: list[str] = dataclasses.field(default_factory=list)
    # An empty tmpfs of the worker's own over each (e.g. /dev/shm): what it
    # writes there nobody else sees, and it vanishes with the worker.
    private_tmpfs: list[str] = dataclasses.field(default_factory=list)
    tmpfs_bytes: int = 256 << 20
    # In /proc, read only the worker's own /proc/<pid> and SYSTEM_PROC_ENTRIES
    # (not other processes' environ and cmdline); False grants all of /proc.
    own_proc_only: bool = True
    block_unix_sockets: bool = True  # the seccomp filter (see the module docstring)
    drop_capabilities: bool = True
    # Whether to try each namespace at all: False where the grader's probe (``probe_namespaces``) found that
    # this machine gives none, so that a worker does not spend retries on a refusal known in advance.
    network_namespace: bool = True
    mount_namespace: bool = True


class _RulesetAttr(ctypes.Structure):
    """struct landlock_ruleset_attr; the kernel reads only the ABI's prefix."""

    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    """struct landlock_path_beneath_attr, packed to 12 bytes as in the uapi."""

    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc_handle = None


# --- Low-level helpers --------------------------------------------------------

def _libc():
    """Loads the C library once, with errno kept for ``ctypes.get_errno``.

    Returns:
        The ``ctypes.CDLL`` of the running process, or None off Linux.
    """
    global _libc_handle
    if _libc_handle is None and sys.platform.startswith("linux"):
        try:
            _libc_handle = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc_handle = None
    return _libc_handle


def _arg(value):
    """Widens an argument of a variadic C call to a full machine word.

    Args:
        value: an int, None (NULL) or a ctypes pointer/byref.

    Returns:
        Something ctypes passes as one 64-bit register: a plain Python int
        would be passed as a C ``int`` whose upper bits the kernel may read.
    """
    if value is None:
        return ctypes.c_void_p(None)
    if isinstance(value, int):
        return ctypes.c_long(value)
    return value


def _check(result, what):
    """Turns a C ``-1``/errno return into an OSError.

    Args:
        result: the C function's return value.
        what: the call's name, for the error message.

    Returns:
        ``result`` when it is not negative.
    """
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _syscall(number, *args):
    """Calls ``syscall(2)`` directly (Python has no Landlock bindings).

    Args:
        number: the syscall number.
        *args: ints, None or ctypes pointers.

    Returns:
        The syscall's non-negative result; raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, "no C library")
    libc.syscall.restype = ctypes.c_long
    return _check(libc.syscall(ctypes.c_long(number), *map(_arg, args)), f"syscall {number}")


def prctl(option, *args):
    """Calls ``prctl(option, *args)``, the missing arguments being 0.

    Args:
        option: a PR_* constant.
        *args: up to four arguments (ints or ctypes pointers).

    Returns:
        prctl's result; raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, f"prctl is Linux-only ({sys.platform})")
    libc.prctl.restype = ctypes.c_int
    args = [_arg(value) for value in args] + [ctypes.c_ulong(0)] * (4 - len(args))
    return _check(libc.prctl(ctypes.c_int(option), *args), f"prctl({option})")


def _unshare(flags):
    """Calls ``unshare(2)``: ``os.unshare`` only exists from Python 3.12.

    Args:
        flags: CLONE_* flags.

    Returns:
        None; raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, f"unshare is Linux-only ({sys.platform})")
    _check(libc.unshare(ctypes.c_int(flags)), "unshare")


def _write_proc(path, text):
    """Writes a /proc control file in a single write, as the kernel requires.

    Args:
        path: the file, e.g. ``/proc/self/uid_map``.
        text: what to write.

    Returns:
        None; raises OSError on failure.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mount(source, target, fstype, flags, data=None):
    """Calls ``mount(2)``.

    Args:
        source, target, fstype, data: strings or None (NULL).
        flags: MS_* flags.

    Returns:
        None; raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, f"mount is Linux-only ({sys.platform})")
    libc.mount.restype = ctypes.c_int

    def text(value):
        return ctypes.c_char_p(None if value is None else os.fsencode(value))

    _check(libc.mount(text(source), text(target), text(fstype), ctypes.c_ulong(flags), text(data)),
           f"mount {target}")


def _mount_flags(path):
    """The flags of the mount holding ``path``, as a remount must repeat them.

    Args:
        path: a file or folder.

    Returns:
        MS_* flags: read-only, nosuid, nodev, noexec and the atime mode
        (MS_STRICTATIME when neither noatime nor relatime).
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    found = os.statvfs(path).f_flag
    flags = found & _KEPT_MOUNT_FLAGS
    if found & _ST_RELATIME:
        flags |= MS_RELATIME
    elif not found & MS_NOATIME:
        flags |= MS_STRICTATIME
    return flags


def _mount_points_beneath(path):
    """The mount points strictly beneath ``path``, from /proc/self/mountinfo.

    Args:
        path: an absolute, resolved folder.

    Returns:
        Paths, without duplicates, in mountinfo's order (parents first).
    """
    prefix = path.rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo", "rb") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if len(fields) < 5:
                continue
            point = os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4]))
            if point.startswith(prefix) and point not in found:
                found.append(point)
    return found


class _CapHeader(ctypes.Structure):
    """struct __user_cap_header_struct."""

    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    """struct __user_cap_data_struct; version 3 takes two (capabilities 0-31, 32-63)."""

    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _capget():
    """This process's capability sets.

    Returns:
        ``{"effective": int, "permitted": int, "inheritable": int}`` bit masks;
        raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, f"capget is Linux-only ({sys.platform})")
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capget(ctypes.byref(header), data), "capget")
    return {name: getattr(data[0], name) | getattr(data[1], name) << 32
            for name in ("effective", "permitted", "inheritable")}


def _capset_none():
    """Empties the effective, permitted and inheritable sets (always allowed).

    Returns:
        None; raises OSError on failure.
    """
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, f"capset is Linux-only ({sys.platform})")
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


def _last_cap():
    """The highest capability number this kernel knows.

    Returns:
        /proc/sys/kernel/cap_last_cap, or 63 when unreadable (dropping stops
        at the first number the kernel calls invalid).
    """
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63


def _thread_count():
    """Counts this process's threads.

    Returns:
        The number of threads, 1 when it cannot be known.
    """
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading
        return threading.active_count()


def _tasks_of_uid(uid):
    """Counts the processes and threads whose real uid is ``uid``.

    Args:
        uid: a real user id.

    Returns:
        The number of tasks visible in /proc (RLIMIT_NPROC counts threads).
    """
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:  # the task ended while we looked
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


# --- Public helpers -----------------------------------------------------------

def _landlock_version():
    """Asks the kernel for its best Landlock ABI.

    Returns:
        ``(abi, None)``, or ``(None, reason)`` when Landlock is not usable.
    """
    if not sys.platform.startswith("linux"):
        return None, f"Landlock is Linux-only ({sys.platform})"
    if platform.machine().lower() not in _LANDLOCK_MACHINES:
        return None, f"Landlock syscall numbers not known for {platform.machine()}"
    try:
        return _syscall(_SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION), None
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            return None, "kernel without Landlock (needs Linux >= 5.13 built with it)"
        if exc.errno == errno.EOPNOTSUPP:
            return None, "Landlock is disabled at boot (add landlock to the lsm= list)"
        return None, f"Landlock unavailable: {exc}"


def landlock_abi() -> int | None:
    """The best Landlock ABI version the running kernel offers.

    Returns:
        The version (1, 2, ...), or None when Landlock cannot be used.
    """
    return _landlock_version()[0]


def system_read_dirs() -> list[str]:
    """Directories a Python + NumPy + TensorFlow + Matplotlib process must read.

    The interpreter's prefixes, the real folder of its executable, the standard
    library, the site-packages folders on ``sys.path`` (never other ``sys.path``
    entries: the project folder would make the solutions readable), and the
    system folders ``/usr /lib /lib64 /etc /sys /opt``.  Not ``/proc`` (other
    processes' environment and command line) nor ``/dev`` (uid 0 could read
    a disk's blocks): ``apply`` grants the worker's own ``/proc/<pid>``, the
    ``SYSTEM_PROC_ENTRIES`` and the ``SAFE_DEVICES`` by itself.

    Returns:
        The existing ones, resolved with realpath, without duplicates; never
        ``/`` itself, which would make the whole filesystem readable.
    """
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                  getattr(sys, "base_exec_prefix", sys.exec_prefix),
                  os.path.dirname(os.path.realpath(sys.executable))]
    paths = sysconfig.get_paths()
    candidates += [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    try:
        candidates += site.getsitepackages()
    except AttributeError:  # some old virtualenvs' site module lacks it
        pass
    candidates += [entry for entry in sys.path
                   if os.path.basename(entry.rstrip("/")) in ("site-packages", "dist-packages")]
    candidates += ["/usr", "/lib", "/lib64", "/etc", "/sys", "/opt"]
    result = []
    for path in candidates:
        if not path or not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if real != "/" and real not in result:
            result.append(real)
    return result


# --- The steps of apply() -----------------------------------------------------

def _set_process_flags(report):
    """No new privileges (no setuid gain) and death with the parent.

    Args:
        report: the report being built; gets ``no_new_privs`` and ``pdeathsig``.
    """
    if not sys.platform.startswith("linux"):
        report["problems"].append(f"no_new_privs and pdeathsig: Linux only ({sys.platform})")
        return
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        report["no_new_privs"] = True
    except OSError as exc:
        report["problems"].append(f"no_new_privs: {exc}")
    try:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        report["pdeathsig"] = True
    except OSError as exc:
        report["problems"].append(f"pdeathsig: {exc}")


def _keep_pdeathsig(report):
    """Sets PDEATHSIG again if a credential change cleared it.

    Entering a user namespace commits new credentials, which in some kernels
    resets the parent-death signal.

    Args:
        report: the report being built.
    """
    if not sys.platform.startswith("linux"):
        return
    if not report.get("pdeathsig"):
        return
    current = ctypes.c_int(0)
    try:
        prctl(PR_GET_PDEATHSIG, ctypes.byref(current))
        if current.value != signal.SIGKILL:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except OSError as exc:
        report["pdeathsig"] = False
        report["problems"].append(f"pdeathsig: {exc}")


def _limit_processes(extra, report):
    """RLIMIT_NPROC = the tasks the real uid already has + ``extra``.

    Runs before the user namespace is made: a new user namespace records the
    creator's RLIMIT_NPROC as the cap for the user's tasks outside it, while
    inside it the count starts again from this one process.

    For uid 0 the limit is set too, but the kernel does not enforce it: fork()
    exempts the initial user namespace's root user (INIT_USER) even without
    CAP_SYS_RESOURCE and CAP_SYS_ADMIN.  The entry then says ``"enforced":
    False`` and a problem line says why.

    Args:
        extra: how many more processes or threads are allowed.
        report: the report being built; gets ``rlimits["RLIMIT_NPROC"]``.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    entry = report["rlimits"]["RLIMIT_NPROC"] = {"extra": extra}
    try:
        uid = os.getuid()
        entry["existing"] = existing = _tasks_of_uid(uid)
        _set_rlimit("RLIMIT_NPROC", existing + extra, entry)
        if "limit" in entry:
            entry["enforced"] = uid != 0
            if uid == 0:
                entry["note"] = "the kernel exempts uid 0 from RLIMIT_NPROC, capabilities or not"
                report["problems"].append(f"RLIMIT_NPROC: not enforced for uid 0 ({entry['note']})")
    except Exception as exc:  # noqa: BLE001 - a report, never a crash
        entry["error"] = repr(exc)
    if "error" in entry:
        report["problems"].append(f"RLIMIT_NPROC: {entry['error']}")


def _set_rlimit(name, value, entry):
    """Sets soft = hard = ``value`` (or the current hard limit if lower).

    Args:
        name: e.g. ``"RLIMIT_AS"``.
        value: the wanted limit.
        entry: the report's dict for this limit; gets ``limit`` or ``error``.
    """
    if sys.platform == "win32" or resource is None or not hasattr(resource, name):
        entry["error"] = f"{name} not available on {sys.platform}"
        return
    which = getattr(resource, name)
    try:
        _, hard = resource.getrlimit(which)
        # Only root may raise a hard limit: keep the lower one.
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
        entry["limit"] = value
    except (OSError, ValueError) as exc:
        entry["error"] = repr(exc)


def _set_rlimits(spec, report):
    """Address space, CPU seconds and file size limits.

    Args:
        spec: the FenceSpec.
        report: the report being built; gets ``rlimits``.
    """
    for field, name in (("memory_bytes", "RLIMIT_AS"), ("cpu_seconds", "RLIMIT_CPU"),
                        ("file_bytes", "RLIMIT_FSIZE")):
        value = getattr(spec, field)
        if value is None:
            continue
        entry = report["rlimits"][name] = {}
        _set_rlimit(name, int(value), entry)
        if "error" in entry:
            report["problems"].append(f"{name}: {entry['error']}")


def _unshare_maybe_as_user(flags, report):
    """Unshares ``flags`` directly, or else inside a new user namespace.

    Root may unshare directly; others first enter a new user namespace that
    maps their uid and gid onto themselves, so files keep their owners and
    access.

    Args:
        flags: CLONE_* flags (without CLONE_NEWUSER).
        report: the report being built; gets ``user_namespace``.

    Returns:
        None when the process is now in the new namespaces, else the OSError.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    try:
        _unshare(flags)
        return None
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return exc
    uid, gid = os.getuid(), os.getgid()
    try:
        _unshare(CLONE_NEWUSER | flags)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            exc.strerror = f"{exc.strerror} (a process with threads cannot enter a user namespace)"
        return exc
    report["user_namespace"] = True
    try:
        try:
            _write_proc("/proc/self/setgroups", "deny")
        except FileNotFoundError:  # kernels before 3.19 have no such file
            pass
        _write_proc("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_proc("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:
        report["problems"].append(f"user namespace id map: {exc} (files may now look unowned)")
    return None


def _enter_namespaces(want_network, want_mounts, report):
    """Moves the process into a new network and/or mount namespace.

    The network namespace holds only a down loopback.  When the two cannot be
    had together, the network namespace alone is tried.

    Args:
        want_network: make a network namespace.
        want_mounts: make a mount namespace.
        report: the report being built.

    Returns:
        ``(network, mounts)``: which namespaces the process is now in.
    """
    import time

    flags = (CLONE_NEWNET if want_network else 0) | (CLONE_NEWNS if want_mounts else 0)
    for attempt in range(5):
        # Seen failing now and then while other workers' namespaces come and go: try again briefly.
        error = _unshare_maybe_as_user(flags, report)
        if error is None:
            return want_network, want_mounts
        time.sleep(0.05 * (attempt + 1))
    if not want_network:
        report["problems"].append(f"mount namespace: {error}")
        return False, False
    if want_mounts:
        report["problems"].append(f"network + mount namespace: {error}")
        error = _unshare_maybe_as_user(CLONE_NEWNET, report)
        if error is None:
            return True, False
    report["problems"].append(f"network namespace: {error}")
    return False, False


def _set_up_mounts(spec, report):
    """Read-only binds and private tmpfs mounts, in the new mount namespace.

    First every mount becomes private (nothing done here propagates back to
    the parent's namespace); then each readonly path is bind-mounted onto
    itself and remounted read-only (its submounts too), each write dir or
    file strictly beneath one is bind-mounted writable again, and each
    private_tmpfs folder gets an empty tmpfs.  Finally the working directory
    is entered again, so that it is reached through the new mounts.

    Args:
        spec: the FenceSpec.
        report: the report being built; gets ``readonly``,
            ``writable_in_readonly`` and ``private_tmpfs``.
    """
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    # Without this, a bind mount made here could show up in the grader's namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    readonly = []
    for path in spec.readonly_paths:
        real = os.path.realpath(path)
        if not os.path.exists(real):
            report["skipped_paths"].append(path)
            continue
        try:
            _mount(real, real, None, MS_BIND | MS_REC)
            _mount(None, real, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(real))
        except OSError as exc:
            report["problems"].append(f"read-only {path}: {exc}")
            continue
        readonly.append(real)
        report["readonly"].append(path)
        for point in _mount_points_beneath(real) if os.path.isdir(real) else []:
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(point))
            except OSError as exc:
                report["problems"].append(f"read-only {point} (beneath {path}): {exc}")
    for path in spec.write_dirs + spec.write_files:
        real = os.path.realpath(path)
        if not os.path.exists(real) or not any(real.startswith(ro.rstrip("/") + "/") for ro in readonly):
            continue
        try:
            _mount(real, real, None, MS_BIND | MS_REC)
            _mount(None, real, None, MS_REMOUNT | MS_BIND | (_mount_flags(real) & ~MS_RDONLY))
            report["writable_in_readonly"].append(path)
        except OSError as exc:
            report["problems"].append(f"writable {path} beneath a read-only path: {exc}")
    for path in spec.private_tmpfs:
        real = os.path.realpath(path)
        if not os.path.isdir(real):
            report["skipped_paths"].append(path)
            continue
        try:
            _mount("tmpfs", real, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(spec.tmpfs_bytes)},mode=1777")
            report["private_tmpfs"].append(path)
        except OSError as exc:
            report["problems"].append(f"private tmpfs {path}: {exc}")
    if cwd is not None:
        try:
            os.chdir(cwd)
        except OSError as exc:
            report["problems"].append(f"working directory {cwd}: {exc}")


def mounts_held(spec, report):
    """Whether every one of ``spec.readonly_paths`` is mounted read-only in the process's own mount namespace.

    Args:
        spec: the FenceSpec applied.
        report: the report ``apply`` (or ``probe_namespaces``) made.

    Returns:
        True when the mount part of the fence holds.
    """
    mounted = {os.path.realpath(path) for path in report.get("readonly") or ()}
    wanted = {os.path.realpath(path) for path in spec.readonly_paths}
    return bool(report.get("mount_namespace")) and wanted <= mounted


FENCE_PARTS = {
    "filesystem": "reads and writes only where allowed (Landlock)",
    "network": "no network (a network namespace, or Landlock's TCP rules)",
    "limits": "memory and CPU time limits",
}


def unheld(report, parts):
    """The parts of the fence (keys of ``FENCE_PARTS``) that ``report`` says did not hold.

    Args:
        report: the report ``apply`` made.
        parts: the parts required.

    Returns:
        ``[(part, what it is), ...]`` for each required part that did not hold.
    """
    rlimits = report.get("rlimits") or {}

    def enforced(name):
        entry = rlimits.get(name)
        return isinstance(entry, dict) and entry.get("limit") is not None and entry.get("enforced", True)

    held = {
        "filesystem": bool(report.get("filesystem")),
        "network": report.get("network") in ("namespace", "landlock-tcp"),
        "limits": enforced("RLIMIT_AS") and enforced("RLIMIT_CPU"),
    }
    return [(part, FENCE_PARTS.get(part, part)) for part in parts if not held.get(part, False)]


def probe_namespaces(readonly_paths, private_tmpfs):
    """Which namespaces this machine gives a worker, found by doing what a worker does, in this process.

    Call it in a throwaway process: it enters a network and a mount namespace
    (as a user namespace when not root) and mounts ``readonly_paths``
    read-only and ``private_tmpfs`` as a worker would.  A host that allows
    user namespaces but not mounts inside them (AppArmor's restriction of
    unprivileged user namespaces) answers ``mounts: False``.

    Args:
        readonly_paths: the paths a worker mounts read-only (the project).
        private_tmpfs: the folders a worker gives a tmpfs of its own.

    Returns:
        ``{"network": bool, "mounts": bool, "problems": [...]}``.
    """
    report = _new_report()
    spec = FenceSpec(read_dirs=[], write_dirs=[], readonly_paths=list(readonly_paths),
                     private_tmpfs=list(private_tmpfs))
    network, mounts = _step(report, "namespaces", _enter_namespaces, True, True, report) or (False, False)
    report["mount_namespace"] = mounts
    if mounts:
        _step(report, "mounts", _set_up_mounts, spec, report)
    return {"network": bool(network), "mounts": mounts_held(spec, report), "problems": report["problems"]}


def _handled_rights(abi, deny_tcp, scopes):
    """The access rights a ruleset handles, masked to what the ABI knows.

    Args:
        abi: the kernel's Landlock ABI.
        deny_tcp: handle TCP bind/connect (with no rule, so both are denied).
        scopes: the scope bits wanted, used from ABI 6.

    Returns:
        ``(handled_access_fs, handled_access_net, scoped)``.
    """
    fs = (1 << 13) - 1  # the 13 rights of ABI 1
    if abi >= 2:
        fs |= ACCESS_FS_REFER
    if abi >= 3:
        fs |= ACCESS_FS_TRUNCATE
    if abi >= 5:
        fs |= ACCESS_FS_IOCTL_DEV
    net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0
    return fs, net, scopes if abi >= 6 else 0


def _ruleset_size(abi):
    """The size of struct landlock_ruleset_attr that the ABI knows.

    Args:
        abi: the kernel's Landlock ABI.

    Returns:
        8 (fs only), 16 (+ net, ABI 4) or 24 (+ scoped, ABI 6) bytes.
    """
    return 8 if abi < 4 else 16 if abi < 6 else 24


def _create_ruleset(abi, fs, net, scoped):
    """Creates a ruleset, first trying the newer pathname-socket scope.

    Args:
        abi: the kernel's Landlock ABI.
        fs, net, scoped: the handled rights from ``_handled_rights``.

    Returns:
        ``(ruleset_fd, scoped)`` with the scope bits the kernel accepted.
    """
    if scoped:
        attr = _RulesetAttr(fs, net, scoped | SCOPE_PATHNAME_UNIX_SOCKET)
        try:
            fd = _syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), _ruleset_size(abi), 0)
            return fd, scoped | SCOPE_PATHNAME_UNIX_SOCKET
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    attr = _RulesetAttr(fs, net, scoped)
    return _syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), _ruleset_size(abi), 0), scoped


def _add_path_rule(ruleset_fd, path, access, handled_fs):
    """Allows ``access`` beneath ``path`` (or on it, for a single file).

    Args:
        ruleset_fd: the ruleset.
        path: a directory or a file.
        access: the rights wanted; masked to the handled ones, and to file
            rights when ``path`` is not a directory.
        handled_fs: the ruleset's handled filesystem rights.

    Returns:
        None; raises OSError (FileNotFoundError when missing).
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        access &= handled_fs
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= _FILE_RIGHTS
        rule = _PathBeneathAttr(access, fd)
        _syscall(_SYS_LANDLOCK_ADD_RULE, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


def _restrict_self(ruleset_fd, report):
    """Enforces the ruleset on the process.

    Landlock binds only the calling thread; when other threads exist, the
    TSYNC flag of newer kernels binds them all, else it is reported.

    Args:
        ruleset_fd: the ruleset.
        report: the report being built.
    """
    threads = report.get("threads", 1)
    if threads > 1:
        try:
            _syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset_fd, LANDLOCK_RESTRICT_SELF_TSYNC)
            return
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        report["problems"].append(f"landlock: {threads} threads, only the calling one is fenced")
    _syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset_fd, 0)


def _implicit_read_paths(spec, report):
    """The read rules ``apply`` adds by itself: devices and /proc.

    Args:
        spec: the FenceSpec.
        report: the report being built; gets ``proc``.

    Returns:
        Existing paths: the SAFE_DEVICES, and either the worker's own
        ``/proc/<pid>`` (kept pinned) with the SYSTEM_PROC_ENTRIES, or all of
        ``/proc``.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    paths = [path for path in SAFE_DEVICES if os.path.exists(path)]
    if not spec.own_proc_only:
        report["proc"] = "all"
        return paths + ["/proc"]
    own = f"/proc/{os.getpid()}"
    try:
        _PINNED_FDS.append(os.open(own, os.O_PATH | os.O_CLOEXEC))
    except OSError as exc:
        report["problems"].append(f"/proc: cannot pin {own}: {exc}")
    report["proc"] = "own"
    return paths + [own] + [f"/proc/{name}" for name in SYSTEM_PROC_ENTRIES
                            if os.path.exists(f"/proc/{name}")]


def _apply_landlock(spec, abi, deny_tcp, report):
    """Builds and enforces the Landlock domain.

    With ``own_proc_only`` a ``/proc`` among the read dirs is ignored (and
    listed in ``ignored_paths``): ``/proc/<pid>`` is granted for this process
    only, as it is when the fence is applied, so a process it forks later
    cannot read its own ``/proc/<pid>`` (``/proc/self`` fails there).

    Args:
        spec: the FenceSpec.
        abi: the kernel's Landlock ABI (not None).
        deny_tcp: also deny TCP bind/connect (no network namespace).
        report: the report being built.
    """
    fs, net, scoped = _handled_rights(abi, deny_tcp, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    read_dirs = spec.read_dirs
    if spec.own_proc_only:
        read_dirs = [path for path in spec.read_dirs if os.path.realpath(path) != "/proc"]
        report["ignored_paths"] += [path for path in spec.read_dirs if path not in read_dirs]
    ruleset_fd, scoped = _create_ruleset(abi, fs, net, scoped)
    try:
        reads = list(dict.fromkeys(read_dirs + spec.read_files + _implicit_read_paths(spec, report)))
        groups = [("read", reads, _READ_RIGHTS), ("write", spec.write_dirs + spec.write_files, fs)]
        for kind, paths, access in groups:
            for path in paths:
                try:
                    _add_path_rule(ruleset_fd, path, access, fs)
                    report["allowed"][kind].append(path)
                except FileNotFoundError:
                    report["skipped_paths"].append(path)
                except OSError as exc:
                    report["skipped_paths"].append(path)
                    report["problems"].append(f"landlock rule for {path}: {exc}")
        _restrict_self(ruleset_fd, report)
    finally:
        os.close(ruleset_fd)
    report.update(filesystem=True, handled_access_fs=fs, handled_access_net=net, scoped=scoped,
                  signals_scoped=bool(scoped & SCOPE_SIGNAL),
                  abstract_unix_scoped=bool(scoped & SCOPE_ABSTRACT_UNIX_SOCKET),
                  pathname_unix_scoped=bool(scoped & SCOPE_PATHNAME_UNIX_SOCKET))
    if net:
        report["network"] = "landlock-tcp"


def _assemble(program):
    """Classic BPF from instructions with symbolic (forward) jump targets.

    Args:
        program: a list of ``("label", name)``, ``("ld", offset)``,
            ``("and", k)``, ``("ret", k)``, ``("jeq" | "jge", k, if_true,
            if_false)`` where the targets are label names or None (next).

    Returns:
        ``(code, jt, jf, k)`` tuples.
    """
    labels, index = {}, 0
    for item in program:
        if item[0] == "label":
            labels[item[1]] = index
        else:
            index += 1
    codes = {"ld": _BPF_LD_W_ABS, "and": _BPF_ALU_AND_K, "ret": _BPF_RET_K, "jeq": _BPF_JEQ_K,
             "jge": _BPF_JGE_K}
    result = []
    for item in program:
        if item[0] == "label":
            continue
        here = len(result)
        if item[0] in ("jeq", "jge"):
            op, k, if_true, if_false = item
            jumps = [0 if target is None else labels[target] - here - 1 for target in (if_true, if_false)]
            assert all(0 <= jump < 256 for jump in jumps), item
            result.append((codes[op], jumps[0], jumps[1], k))
        else:
            result.append((codes[item[0]], 0, 0, item[1]))
    return result


def seccomp_program(arch: _SeccompArch) -> list[tuple[int, int, int, int]]:
    """The filter: no AF_UNIX sockets, no datagram UNIX pairs, no io_uring.

    ``socket(AF_UNIX, ...)`` and ``socketpair(AF_UNIX, SOCK_DGRAM, ...)`` fail
    with EACCES; ``io_uring_setup`` with ENOSYS (callers fall back to plain
    system calls).  Calls of another architecture's table (i386 through
    ``int 0x80``, x32 numbers) fail with ENOSYS: their numbers differ, so
    they could open a socket past the checks.  Everything else is allowed.

    Args:
        arch: the running architecture's numbers.

    Returns:
        ``(code, jt, jf, k)`` instructions (struct sock_filter).
    """
    eacces, enosys = SECCOMP_RET_ERRNO | errno.EACCES, SECCOMP_RET_ERRNO | errno.ENOSYS
    program = [("ld", _SECCOMP_ARCH), ("jeq", arch.audit_arch, None, "enosys"), ("ld", _SECCOMP_NR)]
    if arch.x32:
        program.append(("jge", _X32_SYSCALL_BIT, "enosys", None))
    program += [
        ("jeq", arch.io_uring_setup, "enosys", None),
        ("jeq", arch.socket, "socket", None),
        ("jeq", arch.socketpair, "socketpair", "allow"),
        ("label", "socket"),
        ("ld", _SECCOMP_ARG0), ("jeq", AF_UNIX, "eacces", "allow"),
        ("label", "socketpair"),
        ("ld", _SECCOMP_ARG0), ("jeq", AF_UNIX, None, "allow"),
        ("ld", _SECCOMP_ARG1), ("and", _SOCK_TYPE_MASK), ("jeq", SOCK_DGRAM, "eacces", "allow"),
        ("label", "allow"), ("ret", SECCOMP_RET_ALLOW),
        ("label", "eacces"), ("ret", eacces),
        ("label", "enosys"), ("ret", enosys),
    ]
    return _assemble(program)


class _SockFilter(ctypes.Structure):
    """struct sock_filter."""

    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    """struct sock_fprog."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _install_seccomp(report):
    """Installs ``seccomp_program`` (after no_new_privs, which it needs).

    Args:
        report: the report being built; gets ``seccomp``,
            ``unix_sockets_blocked``, ``unix_dgram_socketpair_blocked`` and
            ``io_uring_blocked``.
    """
    if not sys.platform.startswith("linux"):
        report["problems"].append(f"seccomp: Linux-only ({sys.platform}); UNIX sockets stay reachable")
        return
    machine = platform.machine().lower()
    arch = _SECCOMP_ARCHES.get(machine)
    if arch is None or sys.byteorder != "little":
        report["problems"].append(f"seccomp: system call numbers not known for {machine} ({sys.byteorder} "
                                  "endian); UNIX sockets stay reachable")
        return
    program = seccomp_program(arch)
    filters = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    fprog = _SockFprog(len(program), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    if report.get("threads", 1) > 1:
        # Every thread at once; returns the id of a thread it could not bind.
        failed = _syscall(arch.seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog))
        if failed:
            raise OSError(errno.EBUSY, f"seccomp: thread {failed} could not be synchronised")
    else:
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog))
    report.update(seccomp=True, unix_sockets_blocked=True, unix_dgram_socketpair_blocked=True,
                  io_uring_blocked=True)


def _drop_capabilities(last_cap, report):
    """Drops every capability, for good.

    Clears the bounding set (needs CAP_SETPCAP, so first) and the ambient set,
    sets the securebits (uid 0 gains nothing from an exec, locked), then
    empties the effective, permitted and inheritable sets.  Without a user
    namespace an ordinary user cannot clear its bounding set, which is then
    harmless: no_new_privs keeps an exec from gaining anything.

    Args:
        last_cap: the highest capability number (read before Landlock).
        report: the report being built; gets ``capabilities`` and
            ``capabilities_dropped``.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"Linux only ({sys.platform})")
    entry = report["capabilities"]
    for cap in range(last_cap + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # past the kernel's last capability
                break
    bounding = []
    for cap in range(last_cap + 1):
        try:
            if prctl(PR_CAPBSET_READ, cap):
                bounding.append(cap)
        except OSError:
            break
    entry["bounding"] = bounding
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        entry["ambient"] = "cleared"
    except OSError as exc:  # kernels before 4.3 have no ambient set
        entry["ambient"] = str(exc)
    try:
        old = prctl(PR_GET_SECUREBITS)
        if old & _SECUREBITS != _SECUREBITS:
            prctl(PR_SET_SECUREBITS, old | _SECUREBITS)
        entry["securebits"] = prctl(PR_GET_SECUREBITS)
    except OSError as exc:
        entry["securebits_error"] = str(exc)
    _capset_none()
    entry.update(_capget())
    empty = not (entry["effective"] or entry["permitted"] or entry["inheritable"])
    bounded = not bounding or report["no_new_privs"]
    report["capabilities_dropped"] = empty and bounded
    if not empty:
        report["problems"].append(f"capabilities: some remain: {entry}")
    elif not bounded:
        report["problems"].append(f"capabilities: the bounding set keeps {bounding} and no_new_privs is off")
    if os.getuid() == 0 and "securebits_error" in entry:
        report["problems"].append(f"securebits: {entry['securebits_error']}")


def _new_report():
    """The report with every key present, as if nothing had been applied.

    Returns:
        A dict of plain JSON values.
    """
    return {"platform": sys.platform, "kernel": platform.release(), "threads": _thread_count(),
            "landlock_abi": None, "no_new_privs": False, "pdeathsig": False,
            "network": None, "user_namespace": False, "mount_namespace": False,
            "readonly": [], "writable_in_readonly": [], "private_tmpfs": [], "rlimits": {},
            "filesystem": False, "proc": None, "signals_scoped": False, "abstract_unix_scoped": False,
            "pathname_unix_scoped": False, "allowed": {"read": [], "write": []},
            "seccomp": False, "unix_sockets_blocked": False, "unix_dgram_socketpair_blocked": False,
            "io_uring_blocked": False, "capabilities_dropped": False, "capabilities": {},
            "skipped_paths": [], "ignored_paths": [], "problems": []}


def _step(report, name, function, *args):
    """Runs one step; an unexpected error becomes a problem line.

    Args:
        report: the report being built.
        name: the step's name in the problem line.
        function: the step.
        *args: its arguments.

    Returns:
        The step's result, or None when it raised.
    """
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the fence must never crash the worker
        report["problems"].append(f"{name}: {exc!r}")
        return None


def apply(spec: FenceSpec) -> dict:
    """Applies every part of the fence it can, in the current process.

    Call it while the process is single-threaded (before NumPy): user
    namespaces refuse threaded processes, and a network namespace or a
    Landlock domain would bind only the calling thread.  The order matters:
    namespaces and mounts (which need privileges), resource limits, Landlock,
    the seccomp filter (both need no_new_privs), and the capabilities last.

    Args:
        spec: what stays allowed.

    Returns:
        A plain JSON-able report, e.g. ``{"landlock_abi": 7, "filesystem":
        True, "network": "namespace", "mount_namespace": True, "readonly":
        [...], "private_tmpfs": [...], "proc": "own", "signals_scoped": True,
        "unix_sockets_blocked": True, "capabilities_dropped": True, "rlimits":
        {...}, "no_new_privs": True, "problems": []}``; ``problems`` names
        every part that could not be applied.
    """
    report = _new_report()
    if report["threads"] > 1:
        report["problems"].append(f"{report['threads']} threads: namespaces and Landlock bind one thread")
    _step(report, "process flags", _set_process_flags, report)
    last_cap = _last_cap()  # while all of /proc is readable
    if spec.extra_processes is not None:
        _step(report, "RLIMIT_NPROC", _limit_processes, int(spec.extra_processes), report)
    want_network = spec.deny_network and spec.network_namespace
    want_mounts = bool(spec.deny_network or spec.readonly_paths or spec.private_tmpfs) and spec.mount_namespace
    for wanted, tried, name in ((spec.deny_network, want_network, "network"),
                                (spec.readonly_paths or spec.private_tmpfs, want_mounts, "mount")):
        if wanted and not tried:
            report["problems"].append(f"{name} namespace: not tried (this machine gave none to the grader's probe)")
    in_namespace = False
    if want_network or want_mounts:
        in_namespace, mounts = _step(report, "namespaces", _enter_namespaces, want_network, want_mounts,
                                     report) or (False, False)
        if in_namespace:
            report["network"] = "namespace"
        report["mount_namespace"] = mounts
        _keep_pdeathsig(report)
        if mounts:
            _step(report, "mounts", _set_up_mounts, spec, report)
    if (spec.readonly_paths or spec.private_tmpfs) and not report["mount_namespace"]:
        report["problems"].append("mounts: no mount namespace, so no readonly_paths and no private_tmpfs")
    shared = {os.path.realpath(p) for p in spec.private_tmpfs if p not in report["private_tmpfs"]}
    if shared:
        # A folder meant to be private but still shared is not left writable: it would be a
        # drop box from one graded submission to the next.
        spec = dataclasses.replace(spec, write_dirs=[d for d in spec.write_dirs if os.path.realpath(d) not in shared])
        report["problems"].append(f"private tmpfs not mounted, so not writable: {sorted(shared)}")
    _step(report, "rlimits", _set_rlimits, spec, report)
    abi, reason = _landlock_version()
    report["landlock_abi"] = abi
    if abi is None:
        report["problems"].append(f"filesystem: {reason}")
    else:
        _step(report, "landlock", _apply_landlock, spec, abi, spec.deny_network and not in_namespace, report)
    if spec.block_unix_sockets:
        _step(report, "seccomp", _install_seccomp, report)
    if spec.drop_capabilities:
        _step(report, "capabilities", _drop_capabilities, last_cap, report)
        _keep_pdeathsig(report)
    if spec.deny_network and report["network"] is None:
        report["problems"].append("network: neither a network namespace nor Landlock TCP rules (ABI >= 4)")
    return report
