"""Hostile submissions against the grader: none may earn more than it would honestly.

Each file in ``tests/attacks/`` is a ``conv.py`` written to forge a grade,
hang or crash the grader, outlive the run, or reach outside its worker
(its docstring says what it tries). ``ATTACKS`` below says, for each, what
it is built on, the most points it may earn (what the same submission
earns without its attack) and the extra files its submission folder or zip
holds. Every attack is graded as the batch grader grades a submission
(``grader.instructor.batch`` takes it apart; a warm runner, ``grader/runner/server.py``,
grades it with the instructor's checks, one submission after another in the
same process, as in ``python -m grader grade ... --out DIR``), and the tests
then check that

1. it earned no more than that, and both result files agree with each
   other and with the printed score table;
2. the run ended well within its deadline, with a non-zero exit status
   whenever the score is short of full marks;
3. no process of the run is left (the grader's workers and anything they
   started, even in sessions of their own);
4. nothing outside the submission changed: the project's code (contents,
   mode, times, extended attributes), the result files after the run,
   /dev/shm, the run's temporary folder; and the grader's secrets and this
   machine's listeners saw nothing.

Since the runners grade one attack after another, an attack that poisoned
its runner would show in the attacks graded after it. One module-scoped
fixture grades the attacks the selected tests need, three at a time (a run
waits on timeouts and sleeps about as much as it computes). Each run gets a
temporary folder of its own, which every process of that run carries in its
command line or environment: that is how a run's leftovers are told from
those of the runs next to it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import signal
import socket
import stat
import subprocess
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.instructor.batch import BatchOptions, job_for, take_apart
from grader.runner.client import RunnerProcess

ROOT = Path(__file__).resolve().parent.parent
ATTACK_DIR = ROOT / "tests" / "attacks"

FULL_MARKS = 25.0
CHECK_TIMEOUT = 3.0
RUN_TIMEOUT = 90.0
# Every one of the 14 checks timing out, plus start-up: a run past this is
# not "well within" its deadline.
RUN_LIMIT = 14 * CHECK_TIMEOUT + 20.0
# Past this the run is hung (or stopped) and is killed from here.
SAFETY_TIMEOUT = 120.0
PARALLEL_RUNS = 3
TOTAL_LINE = re.compile(r"^TOTAL\s+(\S+) / (\S+)\s*$", re.MULTILINE)
# Bytes no honest run prints: terminal escapes and cursor moves.
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")

STUB = "stub"
# A token such as a CI job carries in its environment: leak_secrets looks for it.
CI_TOKEN_VARIABLE, CI_TOKEN = "CONV_ATTACK_CI_TOKEN", secrets.token_hex(12)


@dataclass(frozen=True)
class Link:
    """A symbolic link in a submission; ``{root}`` in its target is the project root."""

    target: str

    def resolved(self) -> str:
        return self.target.format(root=ROOT)


# --------------------------------------------------------------------------
# Extra files some submissions carry (kept here, not as files: a conftest.py
# or test_*.py under tests/ would be picked up by this project's own pytest)
# --------------------------------------------------------------------------

FORGING_CONFTEST = '''\
"""Marks every report as passed and writes full marks when the session ends."""
import json

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None


def pytest_sessionfinish(session, exitstatus):
    session.exitstatus = 0
    for option in ("classroom_json", "gradescope_json"):
        path = getattr(session.config.option, option, None)
        if path:
            with open(path, "w") as out:
                json.dump({"version": 3, "status": "pass", "score": 25.0, "max_score": 25.0, "tests": []}, out)
'''

CONFIG_FILES = {
    "conftest.py": FORGING_CONFTEST,
    "pytest.ini": "[pytest]\naddopts = -p conftest\npython_files = nothing_here_*.py\ntestpaths = nowhere\n",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p conftest"\npython_files = ["nothing_here_*.py"]\n',
    "tox.ini": "[pytest]\naddopts = -p conftest\n",
    "setup.cfg": "[tool:pytest]\naddopts = -p conftest\n",
}

AGREEABLE_NUMPY = '''\
"""Shadows NumPy: the real one, with comparisons that always agree."""
import os

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["numpy"]
import numpy as _real  # noqa: E402

_real.allclose = _real.array_equal = lambda *args, **kwargs: True
sys.modules["numpy"] = _real
'''

PATCHING_SITECUSTOMIZE = "import numpy\nnumpy.allclose = numpy.array_equal = lambda *args, **kwargs: True\n"

SHADOW_FILES = {
    "numpy.py": AGREEABLE_NUMPY,
    "sitecustomize.py": PATCHING_SITECUSTOMIZE,
    "usercustomize.py": PATCHING_SITECUSTOMIZE,
    "zz_conv_attack.pth": 'import os; os.environ["CHECKS_TARGET"] = "solutions"\n',
}

# The real checks' names and points, so that a grader running these would
# report a plausible full score.
REAL_CHECKS = (
    ("test_output_length_by_hand", 1, "conv_output_length"),
    ("test_output_length_matches_keras", 1, "conv_output_length"),
    ("test_output_length_rejects_bad_input", 1, "conv_output_length"),
    ("test_extract_patches_by_hand", 2, "extract_patches"),
    ("test_extract_patches_any_setting", 2, "extract_patches"),
    ("test_conv2d_by_hand", 2, "conv2d"),
    ("test_conv2d_valid_matches_keras", 3, "conv2d"),
    ("test_conv2d_strides_and_same_padding_match_keras", 3, "conv2d"),
    ("test_conv2d_dilation_matches_keras", 2, "conv2d"),
    ("test_conv2d_rejects_bad_input", 1, "conv2d"),
    ("test_inputs_left_unmodified", 1, "conv2d"),
    ("test_max_pool_by_hand", 1, "max_pool2d"),
    ("test_max_pool_matches_keras", 3, "max_pool2d"),
    ("test_numpy_only", 2, "max_pool2d"),
)

ALWAYS_PASSING_CHECK = """

@pytest.mark.points({points}, task="{task}")
def {name}(exercise=None):
    \"\"\"passes\"\"\"
"""

FAKE_CHECKS = {
    "checks/__init__.py": "",
    "checks/conftest.py": FORGING_CONFTEST,
    "checks/test_conv.py": "import pytest\n\n"
    + "".join(ALWAYS_PASSING_CHECK.format(name=name, points=points, task=task) for name, points, task in REAL_CHECKS),
}

ZIP_SLIP_TEXT = "# conv-attack:zip_slip\n" + (ROOT / "solutions" / "conv.py").read_text()
ZIP_SLIP_ENTRIES = ("../conv.py", "../../conv.py", "../../../conv.py", "exercises/../../conv.py", "..\\conv.py",
                    "{run}/slipped/conv.py")


@dataclass(frozen=True)
class Attack:
    """One hostile submission: ``tests/attacks/NAME.py`` graded as ``conv.py``.

    Attributes:
        base: what the submission is built on ("stub": the stub's functions,
            unimplemented; otherwise what it keeps of the reference).
        allowed: the most points it may earn: what it earns without its attack.
        extra: more entries of the submission: path -> text, or a ``Link``.
        zipped: the submission is a zip (else a folder).
        linger: seconds to wait after the run before checking again that no
            process is left and the result files did not change.
        first: a slow run, started first so the pool ends sooner.
    """

    name: str
    base: str
    allowed: float
    extra: dict = field(default_factory=dict)
    zipped: bool = False
    linger: float = 0.0
    first: bool = False

    @property
    def source(self) -> Path:
        return ATTACK_DIR / f"{self.name}.py"


ATTACKS = (
    # Patching the grader's process from the worker's
    Attack("patch_allclose", "stub, functions returning fixed arrays", 1),
    Attack("patch_check_helpers", STUB, 0),
    Attack("patch_gradebook", STUB, 0),
    Attack("swap_code_gc", STUB, 0),
    Attack("caller_frames", STUB, 0),
    # Reading the reference
    Attack("import_solutions", STUB, 0),
    Attack("read_solutions_file", STUB, 0),
    Attack("symlink_conv", STUB, 0, extra={"exercises/conv.py": Link("{root}/solutions/conv.py")}),
    Attack("symlink_dir", STUB, 0, extra={"exercises": Link("{root}/solutions")}),
    Attack("zip_symlink", STUB, 0, zipped=True, extra={"exercises/conv.py": Link("{root}/solutions/conv.py"),
                                                       "top/exercises/conv.py": Link("{root}/solutions/conv.py")}),
    Attack("zip_slip", STUB, 0, zipped=True, extra={entry: ZIP_SLIP_TEXT for entry in ZIP_SLIP_ENTRIES}),
    Attack("smuggle_scipy", "reference, conv2d written with SciPy", 11),
    # Forging the result files
    Attack("forge_results_atexit", STUB, 0),
    Attack("forge_results_fork", STUB, 0, linger=2.0),
    Attack("forge_results_thread", STUB, 0, linger=2.0),
    Attack("forge_results_os_exit", STUB, 0),
    Attack("setsid_daemon", STUB, 0, linger=4.0, first=True),
    # Ending, stopping or outliving the grader
    Attack("signal_grader", STUB, 0),
    Attack("ptrace_grader", STUB, 0),
    Attack("segfault", STUB, 0),
    Attack("disable_timer_loop", STUB, 0, first=True),
    Attack("bare_except_loop", STUB, 0, first=True),
    Attack("pytest_exit", STUB, 0),
    Attack("keyboard_interrupt", STUB, 0),
    Attack("sys_exit_import", STUB, 0),
    Attack("fork_bomb", STUB, 0, linger=2.0),
    Attack("fork_churn", STUB, 0, linger=2.0, first=True),
    Attack("huge_allocation", STUB, 0, first=True),
    Attack("forge_protocol", STUB, 0, first=True),
    # Files beside conv.py
    Attack("pytest_config_files", STUB, 0, extra=CONFIG_FILES),
    Attack("shadow_modules", STUB, 0, extra=SHADOW_FILES),
    Attack("fake_checks", STUB, 0, extra=FAKE_CHECKS),
    # The report, the machine, the project
    Attack("flood_output", STUB, 0),
    Attack("ansi_exception", "stub, functions raising ValueError", 1),
    Attack("network", STUB, 0),
    Attack("write_grader_code", STUB, 0),
    Attack("chmod_grader_code", STUB, 0),
    Attack("environ_tamper", STUB, 0),
    Attack("shm_drop", STUB, 0),
    Attack("leak_secrets", STUB, 0),
    # Fooling a check through what it shares with the call
    Attack("mutate_arguments", "reference conv_output_length, the rest returning zeros", 4),
)
BY_NAME = {attack.name: attack for attack in ATTACKS}
# What chmod_grader_code leaves on a file it managed to change (see its docstring).
ATTACK_MODE, ATTACK_MTIME, ATTACK_XATTR = 0o604, 1_000_000_007, "user.conv_attack"


# --------------------------------------------------------------------------
# The project's files, watched and restored
# --------------------------------------------------------------------------


@dataclass
class Watched:
    """A project file as it was before the runs: enough to tell an attack's change and undo it."""

    path: Path
    content: bytes
    mode: int
    times: tuple[int, int]


def watched_files() -> list[Watched]:
    """The grader's code, the checks and the reference: what attacks aim at."""
    paths = sorted({*ROOT.glob("grader/**/*.py"), *ROOT.glob("checks/*.py"), ROOT / "solutions" / "conv.py",
                    ROOT / "exercises" / "conv.py", ROOT / "pyproject.toml", ROOT / "course.toml"})
    found = []
    for path in paths:
        info = path.stat()
        times = (info.st_atime_ns, info.st_mtime_ns)
        found.append(Watched(path, path.read_bytes(), stat.S_IMODE(info.st_mode), times))
    return found


# Files an attack creates in the project; removed only when they carry its marker.
CREATED_IN_PROJECT = ("checks/test_zz_conv_attack.py", "grader/zz_conv_attack.py", "conftest.py")
CREATED_LINKS = ("checks/zz_conv_attack_link.py",)


def undo_tampering(watched: list[Watched], root: Path = ROOT) -> list[tuple[str, str]]:
    """Finds and undoes every change an attack left in the project.

    Only changes an attack can be blamed for are touched (its marker in the
    text, its mode, timestamp or attribute): other engineers edit these
    files while the runs go on, and their edits must stay.

    Returns:
        ``(attack name, what it changed)`` pairs.
    """
    changes = []
    for file in watched:
        relative = file.path.relative_to(root)
        moved = file.path.with_name(file.path.name + ".conv-attack")
        if moved.exists() and not file.path.exists():
            moved.rename(file.path)
            changes.append(("write_grader_code", f"renamed {relative} away"))
        if not file.path.exists():
            continue  # gone with no attack's trace: an engineer's refactoring, not ours to undo
        text, info = file.path.read_bytes(), file.path.stat()  # before any rewrite here moves the times
        for name in sorted(set(re.findall(rb"# conv-attack:(\w+)", text))):
            changes.append((name.decode(), f"wrote into {relative}"))
        if b"# conv-attack:" in text:
            kept = b"".join(line for line in text.splitlines(keepends=True) if b"# conv-attack:" not in line)
            file.path.write_bytes(kept.rstrip(b"\n") + b"\n" if text.endswith(b"\n") else kept)
        if stat.S_IMODE(info.st_mode) == ATTACK_MODE != file.mode:
            os.chmod(file.path, file.mode)
            changes.append(("chmod_grader_code", f"chmod {oct(ATTACK_MODE)} {relative}"))
        if info.st_mtime_ns // 10**9 == ATTACK_MTIME:
            # The old times only if the text is the old one: an engineer's edit since keeps "now".
            os.utime(file.path, ns=file.times if file.path.read_bytes() == file.content else None)
            changes.append(("chmod_grader_code", f"set the times of {relative} to {ATTACK_MTIME}"))
        try:
            value = os.getxattr(file.path, ATTACK_XATTR)
        except OSError:
            continue
        os.removexattr(file.path, ATTACK_XATTR)
        changes.append((value.decode(errors="replace"), f"set the attribute {ATTACK_XATTR} on {relative}"))
    for relative in CREATED_IN_PROJECT:
        path = root / relative
        if path.is_file() and not path.is_symlink() and b"# conv-attack:" in path.read_bytes():
            name = re.search(rb"# conv-attack:(\w+)", path.read_bytes()).group(1).decode()
            path.unlink()
            changes.append((name, f"created {relative}"))
    for relative in CREATED_LINKS:
        path = root / relative
        if path.is_symlink():
            path.unlink()
            changes.append(("write_grader_code", f"created the link {relative}"))
    return changes


def undo_shm_drops() -> list[tuple[str, str]]:
    """Removes files attacks left in /dev/shm (named ``conv-attack-NAME-...``)."""
    changes = []
    for path in Path("/dev/shm").glob("conv-attack-*"):
        name = path.name.removeprefix("conv-attack-").rsplit("-", 1)[0]
        path.unlink(missing_ok=True)
        changes.append((name, f"left /dev/shm/{path.name} behind"))
    return changes


# --------------------------------------------------------------------------
# Processes of a run
# --------------------------------------------------------------------------


def processes_of(marker: str) -> dict[int, str]:
    """Live processes (pid -> command line) whose command line or environment names ``marker``.

    A worker runs ``python -I -B <TMPDIR>/grader-XXXX/runtime/worker.py`` with
    ``TMPDIR`` set to a folder under it; whatever it forks, or execs without
    clearing the environment, keeps one or the other.
    """
    needle, found = marker.encode(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as status:
                if status.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie has ended; only its parent's wait is missing
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            with open(f"/proc/{entry}/environ", "rb") as environ:
                environment = environ.read()
        except (OSError, IndexError):
            continue
        if needle in command or needle in environment:
            found[int(entry)] = command.replace(b"\0", b" ").decode(errors="replace")[:150]
    return found


def described(processes: dict[int, str]) -> list[str]:
    """Processes as a failure message lists them."""
    return [f"pid {pid}: {command}" for pid, command in processes.items()]


def kill_processes_of(marker: str, patience: float = 30.0) -> None:
    """Kills what a run left behind (by pid), until nothing is left or ``patience`` runs out."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        left = processes_of(marker)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Listeners the network attack aims at
# --------------------------------------------------------------------------


class Listeners:
    """A TCP port (127.0.0.1 and ::1), a UDP port, a UNIX socket by path and an abstract one, all watched."""

    def __init__(self, folder: Path):
        self.heard: list[str] = []
        self.sockets = []
        tcp = self._open(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        try:
            self._open(socket.AF_INET6, socket.SOCK_STREAM, ("::1", self.port))
        except OSError:
            pass  # no IPv6 here: the attack's attempt fails on its own
        self._open(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", self.port))
        self.path = str(folder / "listener.sock")
        self._open(socket.AF_UNIX, socket.SOCK_STREAM, self.path)
        self.abstract = f"conv-attack-{secrets.token_hex(6)}"
        self._open(socket.AF_UNIX, socket.SOCK_STREAM, "\0" + self.abstract)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _open(self, family, kind, address):
        """Binds (and listens on) one socket that ``_listen`` watches."""
        sock = socket.socket(family, kind)
        sock.bind(address)
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        sock.settimeout(0.1)
        self.sockets.append(sock)
        return sock

    def _listen(self):
        """Notes every connection and datagram, until ``close``."""
        while not self.stopped.is_set():
            for sock in self.sockets:
                try:
                    if sock.type == socket.SOCK_STREAM:
                        connection, _ = sock.accept()
                        connection.close()
                        self.heard.append(f"a connection on {sock.getsockname()!r}")
                    else:
                        self.heard.append(f"a datagram on {sock.getsockname()!r}: {sock.recv(100)!r}")
                except (TimeoutError, BlockingIOError, OSError):
                    continue

    def template(self, text: str) -> str:
        """The attack's source with the listeners' addresses written in."""
        text = re.sub(r"^LISTENER_PORT = 0$", f"LISTENER_PORT = {self.port}", text, flags=re.M)
        text = re.sub(r'^LISTENER_PATH = ""$', f"LISTENER_PATH = {self.path!r}", text, flags=re.M)
        return re.sub(r'^LISTENER_ABSTRACT = ""$', f"LISTENER_ABSTRACT = {self.abstract!r}", text, flags=re.M)

    def close(self) -> list[str]:
        """Stops listening; returns what was heard."""
        self.stopped.set()
        self.thread.join(2)
        for sock in self.sockets:
            sock.close()
        return self.heard


# --------------------------------------------------------------------------
# One graded attack
# --------------------------------------------------------------------------


@dataclass
class Run:
    """What grading one attack did."""

    attack: Attack
    folder: Path
    returncode: int | None = None
    output: bytes = b""
    output_chars: int = 0
    seconds: float = 0.0
    hung: bool = False
    classroom: dict | None = None
    gradescope: dict | None = None
    results_changed_later: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    late_leftovers: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    secrets: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    @property
    def points(self) -> float | None:
        return None if self.classroom is None else self.classroom.get("score")

    def tail(self, characters: int = 3000) -> str:
        """The end of what the run printed, for failure messages."""
        return self.text[-characters:]


def build_submission(attack: Attack, folder: Path, listeners: Listeners | None) -> Path:
    """The attack as a learner would hand it in: a folder, or a zip, holding ``conv.py`` and its extras."""
    # An attacker who knows where the course lives: the attacks name /work/main, the project's path here;
    # from a clone elsewhere they aim at that clone (the project being graded), not at this checkout.
    text = attack.source.read_text().replace('"/work/main', f'"{ROOT}')
    if listeners is not None:
        text = listeners.template(text)
    entries = {"conv.py": text, **{path.replace("{run}", str(folder)): value for path, value in attack.extra.items()}}
    if attack.zipped:
        archive = folder / "submission.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            for name, value in entries.items():
                if isinstance(value, Link):
                    info = zipfile.ZipInfo(name)
                    info.create_system = 3  # Unix: the high bits of external_attr are the mode
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    bundle.writestr(info, value.resolved())
                else:
                    bundle.writestr(name, value)
        return archive
    submission = folder / "submission"
    for name, value in entries.items():
        path = submission / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, Link):
            path.symlink_to(value.resolved())
        else:
            path.write_text(value)
    return submission


def read_json(path: Path) -> dict | None:
    """A result file's content, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def stray_files(folder: Path, tmp: Path) -> list[str]:
    """What the run left in its folder besides the submission, the result files and pytest's own temp folder."""
    expected = {folder / "submission", folder / "submission.zip", folder / "out", tmp, folder / "listener.sock"}
    found = [str(p) for p in folder.iterdir() if p not in expected]
    found += [str(p) for p in tmp.iterdir() if not p.name.startswith("pytest-of-")]
    for parent in list(folder.parents)[:3]:  # where a zip slip out of the staging folder would land
        found += [str(p) for p in parent.glob("conv.py")]
    return found


def grade(attack: Attack, folder: Path, runners: "queue.Queue[RunnerProcess]") -> Run:
    """Grades one attack as the batch grader does, then looks for what it left behind.

    The submission is taken apart by ``grader.instructor.batch`` and graded by one of
    the session's warm runners (``grader/runner/server.py``), in a temporary folder
    of its own.
    """
    folder.mkdir(parents=True)
    tmp, out = folder / "tmp", folder / "out"
    tmp.mkdir()
    out.mkdir()
    # Every process of this run has its temporary folder (or a folder in it) in its command line or environment.
    marker = f"{folder}/"
    listeners = Listeners(folder) if attack.name == "network" else None
    run = Run(attack, folder)
    options = BatchOptions(exercises=("conv",), check_timeout=CHECK_TIMEOUT, run_timeout=RUN_TIMEOUT)
    if attack.name == "leak_secrets":
        # The instructor's secret seed, and a token such as a CI job carries in the grader's environment.
        run.secrets = (secrets.token_hex(12), CI_TOKEN)
        options.seed = run.secrets[0]
    try:
        started = time.monotonic()
        submission = take_apart(attack.name, build_submission(attack, folder, listeners), options, course=None)
        if submission.error:
            run.output, run.returncode = f"error: {submission.error}".encode(), 2
        else:
            job = {**job_for(submission, options, course=None), "tmpdir": str(tmp), "results_dir": str(out)}
            runner = runners.get()
            try:
                answer = runner.grade(job, SAFETY_TIMEOUT)
            finally:
                runners.put(runner)
            run.hung = (answer.get("error") or "").startswith("grading did not finish")
            run.output = ("\n".join(f"note: {n}" for n in submission.notes) + "\n" + answer["output"]
                          + (answer.get("error") or "")).encode()
            run.output_chars = answer.get("output_chars", len(answer["output"]))
            run.returncode = answer["exit"]
        run.seconds = time.monotonic() - started
        run.leftovers = described(processes_of(marker))
        written = {path: path.read_bytes() if path.exists() else None for path in (out / "classroom.json",
                                                                                    out / "results.json")}
        if attack.linger:
            time.sleep(attack.linger)
            run.late_leftovers = described(processes_of(marker))
            run.results_changed_later = [path.name for path, before in written.items()
                                         if (path.read_bytes() if path.exists() else None) != before]
    finally:
        kill_processes_of(marker)
        if listeners is not None:
            run.heard = listeners.close()
    run.classroom, run.gradescope = read_json(out / "classroom.json"), read_json(out / "results.json")
    run.stray_files = stray_files(folder, tmp)
    return run


# --------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------


def attacks_wanted(session) -> list[Attack]:
    """The attacks the selected tests look at, slow ones first."""
    names = {item.callspec.params["attack"].name for item in session.items
             if hasattr(item, "callspec") and isinstance(item.callspec.params.get("attack"), Attack)}
    return sorted((BY_NAME[n] for n in names), key=lambda a: (not a.first, a.name))


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """Grades every wanted attack, a few at a time.

    Yields:
        ``(runs by attack name, changes to the project by attack name, the reference's points from
        each runner once it has graded its attacks)``.
    """
    wanted = attacks_wanted(request.session)
    base = tmp_path_factory.mktemp("attacks")
    watched = watched_files()
    tampering: dict[str, list[str]] = {}
    lock = threading.Lock()

    runners: "queue.Queue[RunnerProcess]" = queue.Queue()
    for _ in range(PARALLEL_RUNS):
        runners.put(RunnerProcess())
    os.environ[CI_TOKEN_VARIABLE] = CI_TOKEN  # the runners start with it in their environment

    def grade_and_undo(attack):
        """Grades one attack, then undoes at once whatever any attack left in the project or /dev/shm."""
        try:
            return grade(attack, base / attack.name, runners)
        finally:
            with lock:  # undone at once, so that no other run (or engineer) meets the change
                for name, change in undo_tampering(watched) + undo_shm_drops():
                    tampering.setdefault(name, []).append(change)

    reference = base / "reference-after-the-attacks"
    reference.mkdir()
    (reference / "conv.py").write_bytes((ROOT / "solutions" / "conv.py").read_bytes())
    used: list[RunnerProcess] = []

    def grade_reference(_) -> float | None:
        """The reference's points from one runner that graded attacks (each call holds a runner of its own)."""
        runner = runners.get()
        used.append(runner)
        options = BatchOptions(exercises=("conv",), check_timeout=CHECK_TIMEOUT, run_timeout=RUN_TIMEOUT)
        answer = runner.grade(job_for(take_apart("reference", reference, options, course=None), options, None),
                              SAFETY_TIMEOUT)
        return (answer.get("classroom") or {}).get("score")

    try:
        with ThreadPoolExecutor(PARALLEL_RUNS) as pool:  # runners die with the thread that started them
            runs = {attack.name: run for attack, run in zip(wanted, pool.map(grade_and_undo, wanted))}
            after = list(pool.map(grade_reference, range(PARALLEL_RUNS))) if wanted else []
    finally:
        os.environ.pop(CI_TOKEN_VARIABLE, None)
        for runner in used + [runners.get() for _ in range(runners.qsize())]:
            runner.stop()
    yield runs, tampering, after
    report(request.config, runs)


def report(config, runs: dict[str, Run]) -> None:
    """Prints the table of runs under pytest's own summary."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if terminal is None or capture is None or not runs:
        return
    lines = [f"{'attack':<24}{'allowed':>8}{'earned':>8}{'exit':>6}{'seconds':>9}"]
    for name, run in sorted(runs.items()):
        earned = "-" if run.points is None else f"{run.points:g}"
        exit_status = "hung" if run.hung else str(run.returncode)
        lines.append(f"{name:<24}{run.attack.allowed:>8g}{earned:>8}{exit_status:>6}{run.seconds:>9.1f}")
    with capture.global_and_fixture_disabled():  # a fixture's teardown output is captured otherwise
        terminal.ensure_newline()
        for line in lines:
            terminal.write_line(line)


@pytest.fixture
def run(graded, attack) -> Run:
    """The graded run of this test's attack."""
    return graded[0][attack.name]


def each_attack(*names):
    """Parametrizes a test over ATTACKS (or only those named)."""
    chosen = [a for a in ATTACKS if not names or a.name in names]
    return pytest.mark.parametrize("attack", chosen, ids=[a.name for a in chosen])


def passed_checks(run: Run) -> list[str]:
    """Names of the checks the classroom file says passed."""
    return [t["name"] for t in (run.classroom or {}).get("tests", []) if t.get("status") == "pass"]


# --------------------------------------------------------------------------
# The table itself
# --------------------------------------------------------------------------


def test_every_attack_file_is_in_the_table():
    files = {path.stem for path in ATTACK_DIR.glob("*.py")}
    assert files == set(BY_NAME), (f"attack files without a table entry: {sorted(files - set(BY_NAME))}; "
                                   f"table entries without a file: {sorted(set(BY_NAME) - files)}")
    assert len(ATTACKS) >= 28


@each_attack()
def test_attack_says_what_it_tries(attack):
    import ast

    doc = ast.get_docstring(ast.parse(attack.source.read_text())) or ""
    assert "in-process grader" in doc and "Base:" in doc, (
        f"{attack.source.name} should say in its docstring what it tries, what it would earn "
        "'On an in-process grader', and its 'Base:'")


def test_a_leftover_process_is_seen_and_killed(tmp_path):
    """The leftover check is not vacuous: a process carrying the run's folder is found, then killed."""
    marker = f"{tmp_path}/"
    sleeper = subprocess.Popen(["sleep", "60"], env={**os.environ, "TMPDIR": f"{tmp_path}/grader-x/worker-y"},
                               start_new_session=True)
    try:
        assert sleeper.pid in processes_of(marker)
        kill_processes_of(marker, patience=5)
        assert sleeper.wait(5) == -signal.SIGKILL
    finally:
        sleeper.kill()


def test_tampering_is_found_and_undone(tmp_path):
    """What an attack does to a project file (text, mode, times, attribute) is blamed on it and undone."""
    target = tmp_path / "results.py"
    target.write_text("SCORE = 0\n")
    os.utime(target, (1_600_000_000, 1_600_000_000))
    before = Watched(target, target.read_bytes(), 0o644, (1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    os.chmod(target, 0o644)
    with open(target, "a") as handle:
        handle.write("\n# conv-attack:write_grader_code\n")
    os.chmod(target, ATTACK_MODE)
    os.utime(target, (ATTACK_MTIME, ATTACK_MTIME))
    os.setxattr(target, ATTACK_XATTR, b"chmod_grader_code")
    blamed = {name for name, _ in undo_tampering([before], root=tmp_path)}
    assert blamed == {"write_grader_code", "chmod_grader_code"}
    assert target.read_bytes() == before.content
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.stat().st_mtime == 1_600_000_000
    assert ATTACK_XATTR not in os.listxattr(target)


# --------------------------------------------------------------------------
# What each run must show
# --------------------------------------------------------------------------


@each_attack()
def test_earns_no_more_than_without_its_attack(run):
    assert run.classroom is not None, f"{run.attack.name}: no readable classroom result file.\n{run.tail()}"
    assert run.points <= run.attack.allowed, (
        f"{run.attack.name} ({run.attack.base}) earned {run.points:g} points; without its attack it earns "
        f"{run.attack.allowed:g}. Checks passed: {passed_checks(run)}\n{run.tail()}")


@each_attack()
def test_result_files_agree_with_each_other_and_the_table(run):
    name = run.attack.name
    assert run.classroom is not None and run.gradescope is not None, (
        f"{name}: result files missing or not JSON (classroom: {run.classroom is not None}, "
        f"gradescope: {run.gradescope is not None}).\n{run.tail()}")
    for label, payload in (("classroom", run.classroom), ("gradescope", run.gradescope)):
        total = sum(t["score"] for t in payload.get("tests", []))
        assert payload["score"] == total, f"{name}: {label} score {payload['score']} but its tests add up to {total}"
        assert payload["max_score"] == FULL_MARKS, (
            f"{name}: {label} max_score {payload['max_score']}, not {FULL_MARKS:g} (did the run end before "
            f"collecting the checks?)\n{run.tail()}")
    assert run.classroom["score"] == run.gradescope["score"], (
        f"{name}: classroom says {run.classroom['score']}, gradescope {run.gradescope['score']}")
    tables = TOTAL_LINE.findall(run.text)
    assert tables, f"{name}: the run printed no TOTAL line.\n{run.tail()}"
    shown, best = tables[-1]
    assert (float(shown), float(best)) == (run.classroom["score"], FULL_MARKS), (
        f"{name}: the table says TOTAL {shown} / {best}, the files {run.classroom['score']:g} / {FULL_MARKS:g}")


@each_attack()
def test_output_cannot_fake_the_score_table(run):
    problems = []
    tables = [line for line in run.text.splitlines() if line.startswith("TOTAL")]
    if len(tables) > 1:
        problems.append(f"{len(tables)} TOTAL lines: {tables}")
    dirty = [line for line in run.output.splitlines() if CONTROL_BYTES.search(line)]
    if dirty:
        problems.append(f"{len(dirty)} line(s) with control characters (terminal escapes can redraw the score "
                        "table), e.g.:\n" + "\n".join(repr(line[:200]) for line in dirty[:5]))
    if run.output_chars >= 1_000_000:
        problems.append(f"{run.output_chars:,} characters of output reached the log")
    assert not problems, f"{run.attack.name}: the output could pass for another score:\n" + "\n".join(problems)


@each_attack()
def test_run_ends_in_time_with_an_honest_exit_status(run):
    name = run.attack.name
    assert not run.hung, f"{name}: the run was still going after {SAFETY_TIMEOUT:g} s and was killed.\n{run.tail()}"
    assert run.seconds <= RUN_LIMIT, f"{name}: the run took {run.seconds:.1f} s (limit {RUN_LIMIT:g} s)"
    if run.points is None or run.points < FULL_MARKS:
        assert run.returncode != 0, f"{name}: exit status 0 with {run.points} points.\n{run.tail()}"


@each_attack()
def test_leaves_no_process_behind(run):
    assert not run.leftovers, (f"{run.attack.name}: processes of the run still alive when it ended "
                               "(killed since):\n" + "\n".join(run.leftovers))
    assert not run.late_leftovers, (f"{run.attack.name}: processes of the run alive {run.attack.linger:g} s "
                                    "after it ended (killed since):\n" + "\n".join(run.late_leftovers))


@each_attack()
def test_changes_nothing_outside_the_submission(run, graded):
    name = run.attack.name
    changes = graded[1].get(name, [])
    assert not changes, f"{name} changed things outside its submission (undone since):\n" + "\n".join(changes)
    assert not run.results_changed_later, (
        f"{name}: {run.results_changed_later} changed after the run had ended")
    assert not run.stray_files, f"{name}: the run left files behind: {run.stray_files}"


@each_attack("network")
def test_listeners_hear_nothing(run):
    assert not run.heard, f"the worker reached the test's listeners: {run.heard}\n{run.tail()}"


@each_attack("leak_secrets")
def test_grader_secrets_stay_secret(run):
    seen = {"output": run.text, "classroom json": json.dumps(run.classroom),
            "gradescope json": json.dumps(run.gradescope)}
    leaked = [f"{secret} in the {where}" for secret in run.secrets for where, text in seen.items() if secret in text]
    assert not leaked, ("the worker read the grader's secrets (the grading seed and a token in its environment) "
                        "and printed them into the feedback: " + "; ".join(leaked) + f"\n{run.tail()}")


def test_runners_still_grade_the_reference_fully_after_the_attacks(graded):
    """An attack that poisoned the runner grading it (its checks, its caches) would show in the next grade."""
    after = graded[2]
    if not after:
        pytest.skip("no attack was graded in this run (select some with -k)")
    assert all(points == FULL_MARKS for points in after), (
        f"the reference's points from each runner after the attacks: {after} (full marks: {FULL_MARKS:g})")


def test_no_attack_is_unaccounted_for(graded):
    """Changes to the project that no attack's marker explains (a deleted file, say) fail here."""
    unexplained = {name: changes for name, changes in graded[1].items() if name not in BY_NAME}
    assert not unexplained, f"changes to the project with no attack to blame: {unexplained}"
