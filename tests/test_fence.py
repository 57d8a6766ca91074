"""Tests of grader/remote/fence.py: each fence is applied in a fresh ``python -I`` child.

The child loads fence.py by path (as the worker does), applies a FenceSpec,
runs a small body and prints one ``RESULT {json}`` line; the parent checks it.
Tests needing a Landlock feature skip, naming it, when the kernel lacks it.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import stat as stat_module
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE_PATH = ROOT / "grader" / "remote" / "fence.py"
MiB = 1 << 20


def _load_fence():
    """Loads fence.py by path, as the worker does (no package import)."""
    spec = importlib.util.spec_from_file_location("fence_under_test", FENCE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fence = _load_fence()
ABI = fence.landlock_abi()

# Elsewhere apply() only reports what it could not do (see the "darwin" test).
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fence targets Linux")

# Runs in the child: load the fence, let ``setup`` patch it, apply, run ``body``.
CHILD_TEMPLATE = """
import importlib.util, json, os, sys
_spec = importlib.util.spec_from_file_location("fence", sys.argv[1])
fence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fence)
spec_kwargs = json.loads(sys.argv[2])
args = json.loads(sys.argv[3])
if spec_kwargs.get("read_dirs") is None:
    spec_kwargs["read_dirs"] = fence.system_read_dirs()
result = {{}}

def outcome(function, *a):
    try:
        function(*a)
        return "ok"
    except BaseException as exc:
        return type(exc).__name__

{setup}
report = fence.apply(fence.FenceSpec(**spec_kwargs))
{body}
print("RESULT " + json.dumps({{"report": report, "result": result}}), flush=True)
"""


def fenced_command(body, spec, args=None, *, setup="", python=sys.executable, fence_path=FENCE_PATH):
    """The command line of a fenced child (see ``run_fenced`` for the arguments).

    Returns:
        The argument list for ``subprocess``.
    """
    source = CHILD_TEMPLATE.format(setup=textwrap.dedent(setup), body=textwrap.dedent(body))
    return [python, "-I", "-c", source, str(fence_path), json.dumps(spec), json.dumps(args or {})]


def run_fenced(body, spec, args=None, *, setup="", python=sys.executable, fence_path=FENCE_PATH,
               timeout=60, **popen):
    """Applies a fence in a ``python -I`` child and runs ``body`` after it.

    Args:
        body: Python source run after ``apply``; it fills the dict ``result``
            and may use ``args``, ``report`` and ``outcome(function, *args)``.
        spec: FenceSpec keyword arguments (JSON); ``read_dirs`` None means
            the child's own ``system_read_dirs()``.
        args: JSON data handed to the body as ``args``.
        setup: Python source run before ``apply`` (to patch the fence).
        python: the interpreter of the child.
        fence_path: the fence.py the child loads.
        timeout: seconds before the child is killed.
        **popen: more ``subprocess.run`` arguments (cwd, env, user...).

    Returns:
        ``(report, result, completed_process)``; ``report`` and ``result``
        are None when the child printed no RESULT line.
    """
    command = fenced_command(body, spec, args, setup=setup, python=python, fence_path=fence_path)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **popen)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            data = json.loads(line[len("RESULT "):])
            return data["report"], data["result"], done
    return None, None, done


def require(report, result, done):
    """Fails with the child's output when it printed no result."""
    assert report is not None and result is not None, (
        f"child exited {done.returncode} without a result\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")


def require_abi(minimum):
    """Skips unless the kernel offers Landlock ABI ``minimum`` or newer."""
    if ABI is None:
        pytest.skip(f"Landlock not usable here: {fence._landlock_version()[1]}")
    if ABI < minimum:
        pytest.skip(f"needs Landlock ABI >= {minimum}, this kernel offers {ABI}")


def basic_spec(work, **more):
    """The usual fence: system read dirs, ``work`` writable, /dev/null and /dev/urandom."""
    return {"read_dirs": None, "write_dirs": [str(work)], "read_files": ["/dev/urandom"],
            "write_files": ["/dev/null"], **more}


@pytest.fixture
def dirs(tmp_path):
    """``(work, outside)``: the writable folder and one outside every allowed folder."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    return work, outside


# --- Filesystem -----------------------------------------------------------------

def test_writes_only_inside_write_dirs(dirs):
    require_abi(1)
    work, outside = dirs
    (outside / "existing.txt").write_text("original")
    body = """
    def write(path, text="x"):
        with open(path, "w") as handle:
            handle.write(text)
    work, outside = args["work"], args["outside"]
    result["write_inside"] = outcome(write, os.path.join(work, "a.txt"))
    result["mkdir_inside"] = outcome(os.makedirs, os.path.join(work, "sub", "deeper"))
    result["rename_inside"] = outcome(os.rename, os.path.join(work, "a.txt"), os.path.join(work, "sub", "b.txt"))
    result["truncate_inside"] = outcome(os.truncate, os.path.join(work, "sub", "b.txt"), 0)
    result["remove_inside"] = outcome(os.remove, os.path.join(work, "sub", "b.txt"))
    result["write_outside"] = outcome(write, os.path.join(outside, "new.txt"))
    result["overwrite_outside"] = outcome(write, os.path.join(outside, "existing.txt"), "changed")
    result["remove_outside"] = outcome(os.remove, os.path.join(outside, "existing.txt"))
    result["mkdir_outside"] = outcome(os.mkdir, os.path.join(outside, "d"))
    result["write_dev_null"] = outcome(write, "/dev/null")
    result["write_in_system_dir"] = outcome(write, os.path.join(os.path.dirname(os.__file__), "fence-x.py"))
    """
    report, result, done = run_fenced(body, basic_spec(work), {"work": str(work), "outside": str(outside)})
    require(report, result, done)
    assert report["filesystem"], report["problems"]
    for name in ("write_inside", "mkdir_inside", "rename_inside", "truncate_inside", "remove_inside",
                 "write_dev_null"):
        assert result[name] == "ok", f"{name}: {result[name]}"
    for name in ("write_outside", "overwrite_outside", "remove_outside", "mkdir_outside",
                 "write_in_system_dir"):
        assert result[name] == "PermissionError", f"{name} should be denied: {result[name]}"
    assert sorted(p.name for p in outside.iterdir()) == ["existing.txt"]
    assert (outside / "existing.txt").read_text() == "original"


def test_reads_only_beneath_read_dirs(dirs):
    require_abi(1)
    work, outside = dirs
    solutions = outside / "solutions"  # stands in for the project's solutions/
    solutions.mkdir()
    (solutions / "conv.py").write_text("ANSWER = 42\n")
    body = """
    result["read_solution"] = outcome(lambda: open(os.path.join(args["solutions"], "conv.py")).read())
    result["list_solutions"] = outcome(os.listdir, args["solutions"])
    result["import_solution"] = outcome(lambda: (sys.path.insert(0, args["solutions"]), __import__("conv")))
    result["read_stdlib"] = outcome(lambda: open(os.__file__).read())
    result["read_urandom"] = outcome(lambda: open("/dev/urandom", "rb").read(8))
    result["import_stdlib"] = outcome(__import__, "decimal")
    """
    report, result, done = run_fenced(body, basic_spec(work), {"solutions": str(solutions)})
    require(report, result, done)
    assert result["read_solution"] == "PermissionError", result
    assert result["list_solutions"] == "PermissionError", result
    assert result["import_solution"] != "ok", result
    for name in ("read_stdlib", "read_urandom", "import_stdlib"):
        assert result[name] == "ok", f"{name}: {result[name]}"


def test_missing_paths_are_skipped_and_reported(dirs):
    require_abi(1)
    work, outside = dirs
    missing_dir, missing_file = str(outside / "nope"), str(outside / "nope.txt")
    spec = basic_spec(work, read_dirs=[*fence.system_read_dirs(), missing_dir], read_files=[missing_file])
    report, result, done = run_fenced("result['fine'] = True", spec)
    require(report, result, done)
    assert report["filesystem"], report["problems"]
    assert {missing_dir, missing_file} <= set(report["skipped_paths"]), report["skipped_paths"]
    assert json.loads(json.dumps(report)) == report


# --- Signals, ptrace and the network ------------------------------------------

def test_signals_to_processes_outside_are_denied(dirs):
    require_abi(6)
    work, _ = dirs
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        body = """
        import signal
        result["signal_0_parent"] = outcome(os.kill, os.getppid(), 0)
        result["sigterm_victim"] = outcome(os.kill, args["victim"], signal.SIGTERM)
        result["sigkill_victim"] = outcome(os.kill, args["victim"], signal.SIGKILL)
        result["signal_0_self"] = outcome(os.kill, os.getpid(), 0)
        """
        report, result, done = run_fenced(body, basic_spec(work), {"victim": victim.pid})
        require(report, result, done)
        assert report["signals_scoped"], report["problems"]
        assert result["signal_0_parent"] == "PermissionError", result
        assert result["sigterm_victim"] == "PermissionError", result
        assert result["sigkill_victim"] == "PermissionError", result
        assert result["signal_0_self"] == "ok", "the worker may still signal itself"
        assert victim.poll() is None, "the process outside the fence must survive"
    finally:
        victim.kill()
        victim.wait()


def test_ptrace_of_parent_is_denied(dirs):
    require_abi(1)
    work, _ = dirs
    body = """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PTRACE_ATTACH = 16
    result["attach"] = libc.ptrace(ctypes.c_long(PTRACE_ATTACH), ctypes.c_long(os.getppid()), None, None)
    result["errno"] = ctypes.get_errno()
    result["read_parent_mem"] = outcome(lambda: open(f"/proc/{os.getppid()}/mem", "rb").read(1))
    """
    report, result, done = run_fenced(body, basic_spec(work))
    require(report, result, done)
    assert result["attach"] == -1 and result["errno"] == 1, f"ptrace attach must fail with EPERM: {result}"
    assert result["read_parent_mem"] in ("PermissionError", "OSError"), result


def test_tcp_connect_to_a_local_listener_fails(dirs):
    work, _ = dirs
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        body = """
        import socket
        def connect():
            with socket.create_connection(("127.0.0.1", args["port"]), timeout=5):
                pass
        result["connect"] = outcome(connect)
        """
        report, result, done = run_fenced(body, basic_spec(work), {"port": port})
        require(report, result, done)
        if report["network"] is None:
            assert any(p.startswith("network") for p in report["problems"]), "network left open silently"
            pytest.skip(f"no way to deny the network here: {report['problems']}")
        assert result["connect"] in ("ConnectionRefusedError", "OSError", "PermissionError"), result
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()  # the child's connection never arrived
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # while the parent itself still can connect


@pytest.mark.parametrize("fake_abi", [1, 2, 3, 4, 5, 6])
def test_older_abis_and_the_landlock_tcp_fallback(dirs, fake_abi):
    """Pretends the kernel is older and the namespaces fail: masks must fit the ABI."""
    require_abi(fake_abi)
    work, outside = dirs
    setup = f"""
    fence._landlock_version = lambda: ({fake_abi}, None)
    fence._enter_namespaces = lambda want_network, want_mounts, report: (False, False)
    """
    body = """
    import socket
    def connect():
        with socket.create_connection(("127.0.0.1", args["port"]), timeout=5):
            pass
    result["connect"] = outcome(connect)
    result["write_outside"] = outcome(lambda: open(os.path.join(args["outside"], "x"), "w").close())
    result["write_inside"] = outcome(lambda: open(os.path.join(args["work"], "x"), "w").close())
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        args = {"port": listener.getsockname()[1], "work": str(work), "outside": str(outside)}
        report, result, done = run_fenced(body, basic_spec(work), args, setup=setup)
    require(report, result, done)
    assert report["filesystem"], report["problems"]
    assert result["write_inside"] == "ok" and result["write_outside"] == "PermissionError", result
    expected_fs = {1: 0x1FFF, 2: 0x3FFF, 3: 0x7FFF, 4: 0x7FFF, 5: 0xFFFF, 6: 0xFFFF}[fake_abi]
    assert report["handled_access_fs"] == expected_fs
    assert report["signals_scoped"] == (fake_abi >= 6)
    if fake_abi >= 4:
        assert report["network"] == "landlock-tcp", report["problems"]
        assert result["connect"] == "PermissionError", result
    else:
        assert report["network"] is None
        assert any("network" in problem for problem in report["problems"]), report["problems"]


# --- Capabilities, read-only mounts, private tmpfs, /proc, UNIX sockets ----------

def _foreign_file(folder, name="foreign.txt"):
    """A file owned by another uid (nobody), as root; None otherwise."""
    if os.getuid() != 0:
        return None
    path = folder / name
    path.write_text("theirs")
    os.chown(path, 65534, 65534)
    path.chmod(0o644)
    return path


CAPGET = """
import ctypes
class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
libc = ctypes.CDLL(None, use_errno=True)
data = (Data * 2)()
assert libc.capget(ctypes.byref(Header(0x20080522, 0)), data) == 0
print(sum(d.effective | d.permitted | d.inheritable for d in data))
"""


def test_capabilities_are_dropped(dirs):
    work, _ = dirs
    foreign = _foreign_file(work)
    (work / "mine.txt").write_text("mine")
    body = """
    import ctypes, resource, socket, subprocess
    with open("/proc/self/status") as status:
        result["caps"] = {k: v.strip() for k, v in (l.split(":", 1) for l in status) if k.startswith("Cap")}
    libc = ctypes.CDLL(None, use_errno=True)
    result["securebits"] = libc.prctl(27, 0, 0, 0, 0)
    result["sethostname_same"] = outcome(socket.sethostname, socket.gethostname())
    def raise_hard():
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard + 1))
    result["raise_hard_limit"] = outcome(raise_hard)
    mine = os.path.join(args["work"], "mine.txt")
    result["chown_to_other_uid"] = outcome(os.chown, mine, 12345, -1)
    result["setxattr_trusted"] = outcome(os.setxattr, mine, "trusted.fence", b"x")
    if args["foreign"]:
        result["chmod_foreign"] = outcome(os.chmod, args["foreign"], 0o666)
        result["utime_foreign"] = outcome(os.utime, args["foreign"], (1, 1))
    exec_child = subprocess.run([sys.executable, "-I", "-c", args["capget"]], capture_output=True, text=True)
    result["exec_caps"] = exec_child.stdout.strip() or exec_child.stderr[-300:]
    """
    args = {"work": str(work), "foreign": foreign and str(foreign), "capget": CAPGET}
    report, result, done = run_fenced(body, basic_spec(work, file_bytes=64 * MiB), args)
    require(report, result, done)
    assert report["capabilities_dropped"], report["problems"]
    caps = result["caps"]
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(caps[name], 16) == 0, caps
    if os.getuid() == 0 or report["user_namespace"]:
        assert int(caps["CapBnd"], 16) == 0, caps
        assert result["securebits"] & 0xEF == 0xEF, result["securebits"]
    assert result["exec_caps"] == "0", f"an exec must not regain capabilities: {result['exec_caps']}"
    assert result["sethostname_same"] == "PermissionError", result
    assert result["raise_hard_limit"] == "ValueError", result
    assert result["chown_to_other_uid"] == "PermissionError", result
    assert result["setxattr_trusted"] == "PermissionError", result
    if foreign:
        assert result["chmod_foreign"] == "PermissionError", result
        assert result["utime_foreign"] == "PermissionError", result
        assert foreign.stat().st_mode & 0o777 == 0o644
    assert (work / "mine.txt").stat().st_uid == os.getuid()


# Tries every change of a protected file and folder; results are errno names.
READONLY_BODY = """
import errno
def attempt(function, *a):
    try:
        function(*a)
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
def create(path):
    with open(path, "x") as handle:
        handle.write("x")
def overwrite(path):
    with open(path, "w") as handle:
        handle.write("changed")
def same_owner(path):
    info = os.stat(path)
    os.chown(path, info.st_uid, info.st_gid)
project = args["project"]
target = os.path.join(project, "grader.py")
result["chmod"] = attempt(os.chmod, target, 0o600)
result["utime"] = attempt(os.utime, target, (1_000_000_007, 1_000_000_007))
result["setxattr"] = attempt(os.setxattr, target, "user.x", b"attack")
result["chown_same_owner"] = attempt(same_owner, target)
result["chmod_folder"] = attempt(os.chmod, project, 0o700)
result["create"] = attempt(create, os.path.join(project, "new.py"))
result["overwrite"] = attempt(overwrite, target)
result["rename"] = attempt(os.rename, target, os.path.join(project, "moved.py"))
result["remove"] = attempt(os.remove, target)
result["mkdir_nested"] = attempt(os.mkdir, os.path.join(project, "nested", "deeper"))
result["write_in_scratch"] = attempt(create, os.path.join(project, "scratch", "note.txt"))
result["cwd_relative_create"] = attempt(create, "relative.txt")
if args.get("shm"):
    result["shm_listing"] = os.listdir(args["shm"])
    result["shm_write"] = attempt(create, os.path.join(args["shm"], "drop.txt"))
"""


def _readonly_project(base):
    """A folder standing for the project: a file, a subfolder, and a writable scratch folder."""
    project = base / "project"
    (project / "nested").mkdir(parents=True)
    (project / "scratch").mkdir()
    (project / "grader.py").write_text("GRADE = 'honest'\n")
    for folder in (base, project, project / "nested", project / "scratch"):
        folder.chmod(0o777 if folder != base else 0o755)
    (project / "grader.py").chmod(0o644)
    return project


def _check_readonly(project, report, result, done, before):
    require(report, result, done)
    assert report["mount_namespace"], report["problems"]
    assert report["readonly"] == [str(project)], report
    assert report["writable_in_readonly"] == [str(project / "scratch")], report
    for name in ("chmod", "utime", "setxattr", "chown_same_owner", "chmod_folder", "create", "overwrite",
                 "rename", "remove", "mkdir_nested", "cwd_relative_create"):
        assert result[name] == "EROFS", f"{name}: {result[name]} (expected EROFS)"
    assert result["write_in_scratch"] == "ok", "a write dir beneath a read-only path stays writable"
    target = project / "grader.py"
    after = target.stat()
    assert (after.st_mode, after.st_mtime_ns, after.st_uid) == (before.st_mode, before.st_mtime_ns, before.st_uid)
    assert target.read_text() == "GRADE = 'honest'\n"
    assert os.listxattr(target) == []
    assert sorted(p.name for p in project.iterdir()) == ["grader.py", "nested", "scratch"]
    assert (project / "scratch" / "note.txt").read_text() == "x"
    with open("/proc/self/mountinfo") as mountinfo:
        assert str(project) not in mountinfo.read(), "the worker's bind mounts leaked into this namespace"


def test_readonly_paths_refuse_every_change(tmp_path):
    """Even a Landlock write grant and file ownership cannot get past the read-only bind mount."""
    project = _readonly_project(tmp_path)
    before = (project / "grader.py").stat()
    spec = basic_spec(project, readonly_paths=[str(project)],
                      write_dirs=[str(project), str(project / "scratch")])
    report, result, done = run_fenced(READONLY_BODY, spec, {"project": str(project)}, cwd=project)
    _check_readonly(project, report, result, done, before)


def test_readonly_paths_in_a_user_namespace(unprivileged):
    """As an ordinary user the mounts happen in a user namespace, whose mount flags are locked."""
    python, fence_path, work, popen = unprivileged
    project = _readonly_project(work)
    if os.getuid() == 0:
        for path in (project, project / "grader.py", project / "nested", project / "scratch"):
            os.chown(path, 65534, 65534)
    shm = work / "shm"  # stands in for /dev/shm
    shm.mkdir()
    shm.chmod(0o1777)
    (shm / "left-by-another-run").write_text("answers")
    before = (project / "grader.py").stat()
    spec = basic_spec(project, readonly_paths=[str(project)], private_tmpfs=[str(shm)],
                      write_dirs=[str(project), str(project / "scratch"), str(shm)])
    report, result, done = run_fenced(READONLY_BODY, spec, {"project": str(project), "shm": str(shm)},
                                      python=python, fence_path=fence_path, **{**popen, "cwd": str(project)})
    if report is not None and not report["mount_namespace"]:
        pytest.skip(f"no user namespace here: {report['problems']}")
    _check_readonly(project, report, result, done, before)
    assert report["capabilities_dropped"], report["problems"]
    assert report["private_tmpfs"] == [str(shm)], report["problems"]
    assert result["shm_listing"] == [] and result["shm_write"] == "ok", result
    assert sorted(os.listdir(shm)) == ["left-by-another-run"]


def test_private_tmpfs_is_invisible_outside_and_vanishes(dirs, tmp_path):
    work, _ = dirs
    shm = tmp_path / "shm"  # stands in for /dev/shm
    shm.mkdir()
    shm.chmod(0o1777)
    (shm / "left-by-another-run").write_text("answers")
    body = """
    shm = args["shm"]
    result["seen_at_start"] = os.listdir(shm)
    with open(os.path.join(shm, "drop.txt"), "w") as handle:
        handle.write("for the next submission")
    result["read_back"] = open(os.path.join(shm, "drop.txt")).read()
    info = os.statvfs(shm)
    result["size"] = info.f_blocks * info.f_frsize
    print("WRITTEN", flush=True)
    sys.stdin.readline()  # until the parent has looked
    """
    spec = basic_spec(work, write_dirs=[str(work), str(shm)], private_tmpfs=[str(shm)], tmpfs_bytes=8 * MiB)
    child = subprocess.Popen(fenced_command(body, spec, {"shm": str(shm)}), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        seen_outside_while_running = sorted(os.listdir(shm))
        stdout, stderr = child.communicate("go\n", timeout=30)
    finally:
        child.kill()
        child.wait()
    report, result = None, None
    for text in (stdout or "").splitlines():
        if text.startswith("RESULT "):
            data = json.loads(text[len("RESULT "):])
            report, result = data["report"], data["result"]
    assert line == "WRITTEN\n" and report is not None, f"{line!r}\n{stdout}\n{stderr}"
    assert report["private_tmpfs"] == [str(shm)], report["problems"]
    assert result["seen_at_start"] == [], "an earlier run's files must not show through"
    assert result["read_back"] == "for the next submission"
    assert result["size"] == 8 * MiB, result
    assert seen_outside_while_running == ["left-by-another-run"], "the drop must be invisible outside"
    assert sorted(os.listdir(shm)) == ["left-by-another-run"], "nothing may be left behind"


def _block_device():
    """A block device node in /dev (a disk a root worker could read past Landlock), or None."""
    for entry in sorted(os.listdir("/dev")):
        path = os.path.join("/dev", entry)
        try:
            if stat_module.S_ISBLK(os.lstat(path).st_mode):
                return path
        except OSError:
            continue
    return None


def test_proc_shows_only_the_worker_itself(dirs):
    require_abi(1)
    work, _ = dirs
    body = """
    parent = os.getppid()
    def read(path):
        with open(path, "rb") as handle:
            return handle.read()
    for name in ("environ", "cmdline", "status"):
        result[f"parent_{name}"] = outcome(read, f"/proc/{parent}/{name}")
    result["list_proc"] = outcome(os.listdir, "/proc")
    result["init_cmdline"] = outcome(read, "/proc/1/cmdline")
    for path in ("/proc/self/status", "/proc/self/environ", "/proc/thread-self/status", "/proc/self/maps",
                 "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/mounts", "/proc/sys/kernel/cap_last_cap",
                 f"/proc/{os.getpid()}/cmdline"):
        result[path] = outcome(read, path)
    result["list_own_fds"] = outcome(os.listdir, "/proc/self/fd")
    result["cpu_count"] = os.cpu_count()
    import numpy
    result["numpy"] = float(numpy.ones(3).sum())
    if args["block_device"]:
        result["read_block_device"] = outcome(read, args["block_device"])
    result["read_kmsg"] = outcome(lambda: os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, outcome(read, "/proc/self/status").encode())
        os._exit(0)
    os.close(write_end)
    result["forked_child_own_status"] = os.read(read_end, 100).decode()
    os.waitpid(pid, 0)
    """
    args = {"block_device": _block_device()}
    spec = basic_spec(work, read_dirs=[*fence.system_read_dirs(), "/proc"])
    report, result, done = run_fenced(body, spec, args)
    require(report, result, done)
    assert report["proc"] == "own" and report["ignored_paths"] == ["/proc"], report
    assert "/proc" not in report["allowed"]["read"] and "/dev" not in report["allowed"]["read"]
    for name in ("parent_environ", "parent_cmdline", "parent_status", "list_proc", "init_cmdline"):
        assert result[name] == "PermissionError", f"{name}: {result[name]}"
    for path in ("/proc/self/status", "/proc/self/environ", "/proc/thread-self/status", "/proc/self/maps",
                 "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/mounts", "/proc/sys/kernel/cap_last_cap",
                 "list_own_fds"):
        assert result[path] == "ok", f"{path}: {result[path]}"
    assert isinstance(result["cpu_count"], int) and result["cpu_count"] >= 1
    assert result["numpy"] == 3.0
    if args["block_device"]:
        assert result["read_block_device"] == "PermissionError", result
    assert result["read_kmsg"] in ("PermissionError", "FileNotFoundError"), result
    # Documented limit: /proc/<pid> is granted for the fenced process only.
    assert result["forked_child_own_status"] == "PermissionError", result


def test_all_of_proc_when_asked(dirs):
    require_abi(1)
    work, _ = dirs
    body = """
    result["parent_cmdline"] = outcome(lambda: open(f"/proc/{os.getppid()}/cmdline", "rb").read())
    """
    report, result, done = run_fenced(body, basic_spec(work, own_proc_only=False))
    require(report, result, done)
    assert report["proc"] == "all" and "/proc" in report["allowed"]["read"]
    assert result["parent_cmdline"] == "ok", result


def test_unix_sockets_by_path_are_blocked(dirs, tmp_path):
    work, _ = dirs
    path = str(tmp_path / "service.sock")  # stands in for /var/run/docker.sock
    body = """
    import ctypes, errno, socket
    def connect_unix(kind):
        with socket.socket(socket.AF_UNIX, kind) as sock:
            sock.settimeout(2)
            sock.connect(args["path"])
    result["connect_unix_stream"] = outcome(connect_unix, socket.SOCK_STREAM)
    result["connect_unix_dgram"] = outcome(connect_unix, socket.SOCK_DGRAM)
    def pair(kind):
        left, right = socket.socketpair(socket.AF_UNIX, kind)
        with left, right:
            left.sendall(b"ping")
            assert right.recv(4) == b"ping"
    result["socketpair"] = outcome(lambda: pair(socket.SOCK_STREAM))
    result["socketpair_default"] = outcome(lambda: [s.close() for s in socket.socketpair()])
    result["socketpair_dgram"] = outcome(lambda: pair(socket.SOCK_DGRAM))
    def tcp():
        with socket.create_connection(("127.0.0.1", args["port"]), timeout=2):
            pass
    result["tcp"] = outcome(tcp)
    result["inet_socket"] = outcome(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # io_uring_setup(1, NULL): EFAULT without the filter, ENOSYS with it
    number = {"x86_64": 425, "aarch64": 425}.get(os.uname().machine)
    if number:
        libc.syscall(ctypes.c_long(number), ctypes.c_long(1), None)
        result["io_uring_errno"] = errno.errorcode.get(ctypes.get_errno())
    """
    with socket.socket(socket.AF_UNIX) as unix_listener, socket.socket() as tcp_listener:
        unix_listener.bind(path)
        unix_listener.listen(4)
        tcp_listener.bind(("127.0.0.1", 0))
        tcp_listener.listen(4)
        args = {"path": path, "port": tcp_listener.getsockname()[1]}
        report, result, done = run_fenced(body, basic_spec(work), args)
        require(report, result, done)
        if not report["unix_sockets_blocked"]:
            pytest.skip(f"no seccomp filter here: {report['problems']}")
        unix_listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            unix_listener.accept()
    assert report["seccomp"] and report["unix_dgram_socketpair_blocked"] and report["io_uring_blocked"]
    assert result["connect_unix_stream"] == "PermissionError", result
    assert result["connect_unix_dgram"] == "PermissionError", result
    assert result["socketpair"] == "ok" and result["socketpair_default"] == "ok", result
    assert result["socketpair_dgram"] == "PermissionError", "a datagram pair could sendto() any path"
    assert result["tcp"] in ("ConnectionRefusedError", "OSError", "PermissionError"), result
    assert result["inet_socket"] == "ok", "other socket families are left alone"
    if "io_uring_errno" in result:
        assert result["io_uring_errno"] == "ENOSYS", result


def _run_bpf(program, nr, arch, args=(0,) * 6):
    """Interprets the filter's classic BPF for one system call (little endian)."""
    import struct
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == 0x20:
            accumulator = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:
            accumulator &= k
        elif code == 0x06:
            return k
        elif code in (0x15, 0x35):
            taken = accumulator == k if code == 0x15 else accumulator >= k
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_program_decisions(machine):
    arch = fence._SECCOMP_ARCHES[machine]
    program = fence.seccomp_program(arch)
    allow, eacces, enosys = 0x7FFF0000, 0x50000 | 13, 0x50000 | 38
    nr_read = 0 if machine == "x86_64" else 63

    def run(nr, *args, audit_arch=arch.audit_arch):
        return _run_bpf(program, nr, audit_arch, (*args, *(0,) * (6 - len(args))))

    assert run(arch.socket, socket.AF_UNIX, socket.SOCK_STREAM) == eacces
    assert run(arch.socket, socket.AF_UNIX | (1 << 32), socket.SOCK_STREAM) == eacces, "the kernel reads an int"
    assert run(arch.socket, socket.AF_INET, socket.SOCK_STREAM) == allow
    assert run(arch.socket, socket.AF_INET6, socket.SOCK_DGRAM) == allow
    assert run(arch.socket, socket.AF_NETLINK, 3) == allow
    assert run(arch.socketpair, socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) == allow
    assert run(arch.socketpair, socket.AF_UNIX, socket.SOCK_SEQPACKET) == allow
    assert run(arch.socketpair, socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK) == eacces
    assert run(arch.io_uring_setup, 8, 0) == enosys
    assert run(nr_read, 0, 0) == allow
    assert run(arch.socket, socket.AF_UNIX, audit_arch=0x40000003) == enosys, "i386 calls (int 0x80)"
    if arch.x32:
        assert run(arch.socket | 0x40000000, socket.AF_UNIX) == enosys, "x32 calls"


# --- Resource limits ------------------------------------------------------------

def test_memory_limit_raises_memory_error(dirs):
    work, _ = dirs
    limit = 512 * MiB
    body = """
    result["twice_the_limit"] = outcome(bytearray, 2 * args["limit"])
    result["small"] = outcome(bytearray, 32 << 20)
    """
    report, result, done = run_fenced(body, basic_spec(work, memory_bytes=limit), {"limit": limit})
    require(report, result, done)
    assert report["rlimits"]["RLIMIT_AS"] == {"limit": limit}, report["rlimits"]
    assert result["twice_the_limit"] == "MemoryError", result
    assert result["small"] == "ok", "the limit must leave room for ordinary work"


def test_file_size_limit(dirs):
    work, _ = dirs
    body = """
    def write():
        with open(os.path.join(args["work"], "big.bin"), "wb") as handle:
            handle.write(b"x" * (2 << 20))
    result["write_2_MiB"] = outcome(write)
    result["size"] = os.path.getsize(os.path.join(args["work"], "big.bin"))
    """
    report, result, done = run_fenced(body, basic_spec(work, file_bytes=MiB), {"work": str(work)})
    require(report, result, done)
    assert result["write_2_MiB"] == "OSError", f"EFBIG expected (Python ignores SIGXFSZ): {result}"
    assert result["size"] <= MiB


def test_cpu_limit_kills_a_busy_loop(dirs):
    work, _ = dirs
    setup = "import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file"
    body = """
    print("RESULT " + json.dumps({"report": report, "result": {}}), flush=True)
    while True:
        pass
    """
    report, result, done = run_fenced(body, basic_spec(work, cpu_seconds=1), setup=setup, cwd=work, timeout=30)
    require(report, result, done)
    assert report["rlimits"]["RLIMIT_CPU"] == {"limit": 1}, report["rlimits"]
    assert done.returncode in (-signal.SIGXCPU, -signal.SIGKILL), f"returncode {done.returncode}"


@pytest.fixture
def unprivileged(tmp_path):
    """``(python, fence_path, work, popen)`` for a child under another, unprivileged uid.

    As root the child runs as nobody (65534) with the system Python, from a
    copy of fence.py and a work folder that nobody may use; otherwise as the
    current user.
    """
    if os.getuid() != 0:
        yield sys.executable, FENCE_PATH, tmp_path, {}
        return
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin")
    if python is None or not os.access(python, os.X_OK) or (os.stat(python).st_mode & 0o001) == 0:
        pytest.skip("no Python that the user nobody may run")
    base = Path(tempfile.mkdtemp(prefix="fence-test-"))
    try:
        base.chmod(0o755)
        shutil.copy(FENCE_PATH, base / "fence.py")
        (base / "fence.py").chmod(0o644)
        work = base / "work"
        work.mkdir()
        work.chmod(0o777)
        yield python, base / "fence.py", work, {"user": 65534, "group": 65534, "extra_groups": [], "cwd": "/"}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unprivileged_worker_gets_namespaces_and_a_process_limit(unprivileged):
    python, fence_path, work, popen = unprivileged
    extra, attempts = 3, 12
    body = """
    import time
    read_end, write_end = os.pipe()
    children, error = [], None
    for _ in range(args["attempts"]):
        try:
            pid = os.fork()
        except OSError as exc:
            error = type(exc).__name__
            break
        if pid == 0:
            os.close(write_end)
            os.read(read_end, 1)  # wait for the parent to close the pipe
            os._exit(0)
        children.append(pid)
    os.close(write_end)
    for pid in children:
        os.waitpid(pid, 0)
    result.update(forks=len(children), error=error, uid=os.getuid(), gid=os.getgid())
    with open(os.path.join(args["work"], "mine.txt"), "w") as handle:
        handle.write("x")
    """
    report, result, done = run_fenced(body, basic_spec(work, extra_processes=extra),
                                      {"attempts": attempts, "work": str(work)},
                                      python=python, fence_path=fence_path, **popen)
    require(report, result, done)
    nproc = report["rlimits"]["RLIMIT_NPROC"]
    assert "limit" in nproc and nproc["limit"] == nproc["existing"] + extra and nproc["enforced"], nproc
    assert report["capabilities_dropped"], report["problems"]
    assert result["error"] == "BlockingIOError", f"RLIMIT_NPROC not enforced: {result}"
    assert 1 <= result["forks"] <= extra + 1, result
    assert report["network"] in ("namespace", "landlock-tcp"), report["problems"]
    if report["user_namespace"]:
        # the uid maps onto itself: files keep their real owner
        assert (result["uid"], result["gid"]) == (os.stat(work / "mine.txt").st_uid, os.stat(work / "mine.txt").st_gid)
    assert result["uid"] == (65534 if os.getuid() == 0 else os.getuid())


# Starts the fenced worker, waits until it is fenced, prints its pid and exits.
INTERMEDIATE = """
import subprocess, sys, json
worker = subprocess.Popen(json.loads(sys.argv[1]), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
worker.stdout.readline()
print(worker.pid, flush=True)
"""


def _is_gone(pid):
    """True once ``pid`` has exited (or is a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _assert_dies_with_parent(python, fence_path, work, popen):
    """Runs a fenced worker under a short-lived parent and waits for it to die too."""
    body = """
    print("READY", flush=True)
    import time
    time.sleep(30)
    """
    command = fenced_command(body, basic_spec(work), python=python, fence_path=fence_path)
    parent = subprocess.run([python, "-I", "-c", INTERMEDIATE, json.dumps(command)],
                            capture_output=True, text=True, timeout=30, **popen)
    assert parent.returncode == 0 and parent.stdout.strip().isdigit(), parent.stderr
    pid = int(parent.stdout.strip())
    deadline = time.monotonic() + 10
    while not _is_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _is_gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the fenced worker outlived its parent (PR_SET_PDEATHSIG lost)")


def test_worker_dies_with_its_parent(dirs):
    _assert_dies_with_parent(sys.executable, FENCE_PATH, dirs[0], {})


def test_unprivileged_worker_dies_with_its_parent(unprivileged):
    """The user namespace commits new credentials: the death signal must survive it."""
    _assert_dies_with_parent(*unprivileged)


def test_root_process_limit_is_set_but_reported_as_not_enforced(dirs):
    """fork() exempts uid 0 of the initial user namespace, capabilities or not: the report must say so."""
    if os.getuid() != 0:
        pytest.skip("only root is exempt from RLIMIT_NPROC")
    work, _ = dirs
    body = """
    pids = []
    for _ in range(args["forks"]):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    result["forks"] = len(pids)
    """
    report, result, done = run_fenced(body, basic_spec(work, extra_processes=2), {"forks": 4})
    require(report, result, done)
    nproc = report["rlimits"]["RLIMIT_NPROC"]
    assert nproc["existing"] >= 1 and nproc["limit"] == nproc["existing"] + 2, nproc
    assert nproc["enforced"] is False, nproc
    assert any(p.startswith("RLIMIT_NPROC: not enforced for uid 0") for p in report["problems"]), report["problems"]
    assert report["capabilities_dropped"], report["problems"]
    assert result["forks"] == 4, "the report is right: the limit does not bind uid 0"


# --- A working Python after the fence --------------------------------------------

def test_numpy_and_matplotlib_work_after_the_fence(dirs):
    work, _ = dirs
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    body = """
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 64))
    result["inverse_ok"] = bool(np.allclose(a @ np.linalg.inv(a), np.eye(64), atol=1e-6))
    result["convolve"] = np.convolve([1, 2, 3], [0, 1, 0.5]).tolist()
    np.save(os.path.join(args["work"], "a.npy"), a)
    result["roundtrip"] = bool((np.load(os.path.join(args["work"], "a.npy")) == a).all())
    if args["matplotlib"]:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        figure, axes = plt.subplots()
        axes.plot([0, 1], [1, 0])
        figure.savefig(os.path.join(args["work"], "plot.png"))
        result["plot"] = os.path.getsize(os.path.join(args["work"], "plot.png")) > 0
    """
    env = {**os.environ, "MPLCONFIGDIR": str(work / "mpl"), "HOME": str(work), "TMPDIR": str(work)}
    report, result, done = run_fenced(body, basic_spec(work, memory_bytes=2048 * MiB),
                                      {"work": str(work), "matplotlib": has_matplotlib}, env=env)
    require(report, result, done)
    assert result["inverse_ok"] and result["roundtrip"], result
    assert result["convolve"] == [0.0, 1.0, 2.5, 4.0, 1.5]
    if has_matplotlib:
        assert result["plot"], "matplotlib must save a figure into the write dir"


def test_tensorflow_imports_after_the_fence(dirs):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    work, _ = dirs
    body = """
    import tensorflow as tf
    result["sum"] = float(tf.reduce_sum(tf.constant([1.0, 2.0, 3.0]) * 2))
    result["plus_one"] = int(tf.constant(1) + 1)
    result["parent_environ"] = outcome(lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(work), "TMPDIR": str(work),
           "KERAS_HOME": str(work / "keras"), "MPLCONFIGDIR": str(work / "mpl")}
    report, result, done = run_fenced(body, basic_spec(work, private_tmpfs=["/dev/shm"]), env=env, timeout=180)
    require(report, result, done)
    assert report["proc"] == "own" and report["capabilities_dropped"], report["problems"]
    assert result["sum"] == 12.0 and result["plus_one"] == 2
    assert result["parent_environ"] == "PermissionError", result


# --- Helpers, diagnostics and other systems --------------------------------------

def test_system_read_dirs_are_real_and_exclude_the_project():
    found = fence.system_read_dirs()
    assert found, "no read dirs at all"
    for path in found:
        assert os.path.isabs(path) and os.path.realpath(path) == path and os.path.isdir(path), path
        assert path != "/", "/ would make everything readable"
    solutions = os.path.realpath(ROOT / "solutions")
    beneath = [p for p in found if solutions == p or solutions.startswith(p.rstrip("/") + "/")]
    assert not beneath, f"the solutions would be readable through {beneath}"
    assert os.path.realpath(os.path.dirname(os.__file__)) in found, "the stdlib must be readable"
    assert "/proc" not in found, "other processes' environ and cmdline"
    assert "/dev" not in found, "a disk's blocks"


def test_what_a_worker_reads_is_kept_until_a_package_is_installed(tmp_path, monkeypatch):
    """The engine works out a worker's readable folders once per set of blocked packages, not per worker;
    a package installed meanwhile is readable by the next worker, a blocked one never."""
    from grader.engine.workers import Engine
    from grader.remote import fence as engine_fence  # the engine's import of it, not this file's copy

    packages = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    for name in ("numpy", "tensorflow", "keras"):
        (packages / name).mkdir(parents=True)
    monkeypatch.setattr(engine_fence, "system_read_dirs", lambda: [str(tmp_path / "env")])
    engine = Engine.__new__(Engine)  # read_dirs reads no state of the engine
    blocked = ("tensorflow", "keras")
    dirs, _ = engine.read_dirs(blocked)
    assert str(packages.resolve() / "numpy") in dirs and not any("tensorflow" in d or "keras" in d for d in dirs), dirs
    assert engine.read_dirs(blocked) == (dirs, [])
    time.sleep(0.01)  # a later modification time than the folder's first one, on a coarse clock too
    (packages / "scipy").mkdir()
    (packages / "tensorflow_io").mkdir()
    dirs, _ = engine.read_dirs(blocked)
    assert str(packages.resolve() / "scipy") in dirs, dirs
    assert not any("tensorflow" in d for d in dirs), dirs


def test_landlock_abi_is_an_int_or_none():
    assert ABI is None or (isinstance(ABI, int) and ABI >= 1), ABI


def test_non_linux_degrades_without_crashing(dirs):
    work, _ = dirs
    setup = """
    sys.platform = "darwin"
    fence._libc_handle = None
    """
    report, result, done = run_fenced("", basic_spec(work, memory_bytes=1024 * MiB), setup=setup)
    require(report, result, done)
    assert report["landlock_abi"] is None and not report["filesystem"]
    assert not report["no_new_privs"] and report["network"] is None
    assert not report["mount_namespace"] and not report["capabilities_dropped"]
    assert not report["unix_sockets_blocked"] and report["proc"] is None
    assert any("Linux-only" in problem for problem in report["problems"]), report["problems"]
    assert json.loads(json.dumps(report)) == report


def test_probe_command_prints_its_findings():
    """``python -m grader fence``, as Gradescope's setup.sh runs it: one JSON line of what held."""
    done = subprocess.run([sys.executable, "-m", "grader", "fence"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert "report" in found and "checks" in found, found
    assert found.get("numpy_imported_before") is False, found  # the fenced child imports NumPy itself
    if ABI is not None:
        checks = found["checks"]
        assert checks["write_inside"] == "ok" and checks["write_outside"] == "PermissionError", checks
        assert checks["read_outside"] == "PermissionError", checks
        assert found["parent_can_connect"] == "ok" and checks["tcp_connect_to_parent"] != "ok", found
        for name in ("read_parent_environ", "read_parent_cmdline"):
            assert checks[name] == "PermissionError", checks
        assert checks["read_own_status"] == "ok" and checks["read_cpuinfo"] == "ok", checks
    report = found["report"]
    if report["mount_namespace"]:
        for name in ("write_readonly", "chmod_readonly", "utime_readonly", "setxattr_readonly"):
            assert found["checks"][name] == "OSError(EROFS)", found["checks"]
        assert found["checks"]["write_in_private_tmpfs"] == "ok", found["checks"]
        assert found["protected_unchanged"] and found["shm_left_behind"] == [], found
    if report["unix_sockets_blocked"]:
        assert found["checks"]["unix_connect_to_parent"] == "PermissionError", found["checks"]
    assert found["checks"]["socketpair"] == "ok", found["checks"]
    if report["capabilities_dropped"]:
        assert found["checks"]["sethostname_same"] == "PermissionError", found["checks"]
        assert found["checks"]["raise_hard_limit"] == "ValueError", found["checks"]
    if ABI is not None and ABI >= 6:
        assert found["checks"]["signal_parent"] == "PermissionError", found["checks"]


MACHINE_WITHOUT = ROOT / "tests" / "machine_without.py"
PROBE = ("import json, sys; sys.path.insert(0, sys.argv[1]); import fence; "
         "print(json.dumps(fence.probe_namespaces([sys.argv[2]], [])))")


@pytest.mark.parametrize("refused, expected", [
    ([], {"network": True, "mounts": True}),
    (["--deny", "mount"], {"network": True, "mounts": False}),
    (["--deny", "unshare"], {"network": False, "mounts": False}),
], ids=["user-namespaces", "mounts-refused", "no-namespaces"])
def test_the_namespace_probe_does_what_a_worker_does(unprivileged, refused, expected):
    """As a user without root: mounts count only where the read-only mount itself works, not just unshare.

    Mounts refused inside a user namespace stand for AppArmor's restriction (Ubuntu 23.10 and later); the
    refusal is a seccomp filter on the probe's own process tree (``tests/machine_without.py``).
    """
    python, fence_path, work, popen = unprivileged
    if popen:  # another user: the helper sits beside the copy of fence.py that user may read
        shutil.copy(MACHINE_WITHOUT, fence_path.parent / MACHINE_WITHOUT.name)
        (fence_path.parent / MACHINE_WITHOUT.name).chmod(0o644)
    helper = fence_path.parent / MACHINE_WITHOUT.name if popen else MACHINE_WITHOUT
    done = subprocess.run([python, "-I", str(helper), *refused, "--", python, "-I", "-c", PROBE,
                           str(fence_path.parent), str(work)], capture_output=True, text=True, timeout=60, **popen)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    if expected["network"] and not answer["network"]:
        pytest.skip(f"this machine gives an unprivileged user no namespaces: {answer['problems']}")
    assert {part: answer[part] for part in expected} == expected, answer
