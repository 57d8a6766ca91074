"""The grader's side of the two-process design: workers, calls, deadlines.

The grader never imports a learner's module. For each exercise module it
starts a worker process (``grader/remote/worker.py``) that fences itself and imports
the module; the checks reach it through ``RemoteModule``, whose attribute
calls travel to the worker as plain data (``grader.remote.transport``) and come back
as a value, the arguments the call changed in place, or the exception raised.

Deadlines are the grader's: a call waits for its answer at most until the
check's time limit (and the run's deadline), and then the worker's whole
process group is killed with SIGKILL. Whatever the learner's code does to its
own process (endless loops, disabled timers, ``os._exit``, signals, forks,
segfaults) costs only the checks that hit it; the next call gets a fresh
worker. Processes a worker started, even in sessions of their own, are
found (the grader is their subreaper) and killed.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from grader import course, remote, scratch
from grader.engine import objects
from grader.engine.verdicts import (
    CheckFailure,
    CheckTimeout,
    ExerciseImportError,
    FenceRefused,
    MissingName,
    NotStarted,
    RunDeadline,
    WorkerEnded,
    WorkerKeepsEnding,
    clean_described,
    student_exception,
)
from grader.remote import transport

ROOT = course.ROOT
# What the zygote imports before it forks workers (never the learner's code).
PRELOADED = ("numpy", "tensorflow", "keras", "matplotlib", "matplotlib.figure", "matplotlib.pyplot", "PIL.Image")

DEFAULT_WORKER_MEMORY_GB = 8.0
# After this many of a check's calls ended their worker, the check ends (WorkerKeepsEnding).
WORKER_ENDS_PER_CHECK = 3
IMPORT_SECONDS = 60.0
# Environment variables a check may set for a call (a Keras cache folder, a
# home folder); every other variable of the grader stays out of the worker.
SYNCED_ENVIRON = ("KERAS_HOME", "HOME")
if TYPE_CHECKING:
    from grader.engine.handles import Judge

TF_LOG_PREFIXES = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")


# What a check that reads a module's text records among the names it used (the watch then
# grades it again after any change of that text).
WHOLE_SOURCE = "*"
FENCE_ATTEMPTS = 3  # workers started before an incomplete fence fails the check
SWEEP_SECONDS = 10.0  # the sweep goes on while anything a worker left keeps running, up to this
# Where a worker cannot inherit a socket (Windows), or a run asks for it (the test mode of a machine without
# the POSIX-only pieces), it connects back to the grader on loopback, naming itself by a token read from stdin.
PORTABLE_CHANNEL = sys.platform == "win32" or os.environ.get("CHECKS_PROCESS_LAYER") == "portable"
TOKEN_LENGTH = 32


class Engine:
    """Starts, feeds and kills the workers of one grading run.

    Args:
        shared_dirs: folders the checks hand to student code (pytest's
            temporary folders): the workers may read and write there.
        memory_gb: each worker's address-space limit.
        run_seconds: the whole run's deadline, from now.
    """

    live: list["Engine"] = []  # engines of this process, for the internal-error hook
    # A batch runner grades many submissions one after the other: it keeps one
    # zygote for all of them (it holds no learner code, only imported libraries).
    keep_zygote = False
    _kept_zygote: "Zygote | None" = None
    # Which namespaces this machine gives a worker, {"network": bool, "mounts": bool} (probed once per
    # process). Where it gives mounts, a worker that did not get one (seen, rarely, under load) never imports
    # the learner's module: without its read-only mount of the project, root could change its modes and times.
    namespaces_available: "dict | None" = None

    def __init__(self, *, shared_dirs=(), memory_gb: float | None = None, run_seconds: float | None = None,
                 required_fence: tuple[str, ...] = ()):
        Engine.live.append(self)
        self.root = scratch.new_folder("grader-")
        self.runtime = _copy_runtime(self.root / "runtime")
        self.shared_dirs = [str(Path(d).resolve()) for d in shared_dirs]
        self.memory_gb = memory_gb or float(os.environ.get("CHECKS_WORKER_MEMORY_GB", DEFAULT_WORKER_MEMORY_GB))
        self.run_seconds = run_seconds or course.RUN_SECONDS
        self.run_deadline = time.monotonic() + self.run_seconds
        self.check_deadline: float | None = None
        self.check_seconds = course.CHECK_SECONDS
        self.worker_ends_in_check = 0
        self.check_seed, self.calls_in_check = 0, 0
        # The run's grading seed: a secret one changes the weights of the models checks build in the judge too.
        self.recipe_salt = 0
        self.names_used: set[tuple[str, str]] = set()  # (module, name) the current check looked up
        self.environ_at_start = {name: os.environ.get(name) for name in SYNCED_ENVIRON}
        self.workers: dict[tuple, Worker] = {}
        self.import_errors: dict[tuple, ExerciseImportError] = {}
        self.fence_report: dict | None = None
        # Parts of the fence (fence.FENCE_PARTS) without which a worker imports nothing of the learner's.
        self.required_fence = tuple(required_fence)
        self.fence_refusal: str | None = None
        self.plan: list[RemoteModule] = []
        self.zygote: Zygote | None = None
        self.rendezvous: Rendezvous | None = None
        self._judge: "Judge | None" = None
        self._ended_workers: list[Worker] = []
        _become_subreaper()

    # ---------------------------------------------------------------- deadlines
    def begin_check(self, seconds: float, seed: int = 0) -> None:
        self.check_seconds = seconds
        self.check_deadline = time.monotonic() + seconds
        self.worker_ends_in_check = 0
        self.check_seed, self.calls_in_check = seed, 0
        self.names_used = set()

    def call_seed(self) -> int:
        """The seed of the check's next call: the learner's code starts each call from a state the check fixes."""
        self.calls_in_check += 1
        return (self.check_seed * 1_000_003 + self.calls_in_check) % 2**32

    def end_check(self) -> None:
        self.check_deadline = None  # the judge's reset below is the grader's, not the check's: not under its deadline
        if self._judge is not None:
            self._judge.end_check()

    @property
    def judge(self) -> "Judge":
        """The process where the checks' Keras objects live and learners' models run (started on first use)."""
        if self._judge is None:
            from grader.engine.handles import Judge

            self._judge = Judge(self)
        return self._judge

    def deadline(self) -> tuple[float, BaseException]:
        """The moment the current call must end by, and what to raise then."""
        check = self.check_deadline or time.monotonic() + self.check_seconds
        if self.run_deadline <= check:
            return self.run_deadline, RunDeadline(self.run_seconds)
        return check, CheckTimeout(self.check_seconds)

    # ---------------------------------------------------------------- modules
    def module(self, target_dir: Path, name: str, shown_path: str, blocked_packages=()) -> "RemoteModule":
        return RemoteModule(self, Path(target_dir), name, shown_path, tuple(blocked_packages))

    def prepare(self, modules: list["RemoteModule"]) -> None:
        """The modules the run will grade, in order: the first starts now, each next one while the one before is graded.

        A worker that imports TensorFlow takes seconds to start; starting it
        while the previous exercise is graded hides that wait.
        """
        self.plan = list(modules)
        if any(not m.blocked_packages for m in self.plan):
            self.warm_up()
        if self.plan:
            self._start(self.plan[0])

    def warm_up(self) -> None:
        """Starts the template process now, if it is wanted and not started yet.

        It imports TensorFlow (seconds): started while pytest imports the checks,
        the two imports run side by side.
        """
        if (self.zygote is None and sys.platform.startswith("linux") and not PORTABLE_CHANNEL
                and os.environ.get("CHECKS_ZYGOTE", "1") != "0"):
            self.zygote = self._zygote()

    def namespaces(self) -> dict:
        """Which namespaces this machine gives a worker, ``{"network": bool, "mounts": bool}`` (probed once per process).

        A worker tries only those, and where the machine gives mounts it must get its read-only mount of the
        project or run nothing.
        """
        if Engine.namespaces_available is None:
            Engine.namespaces_available = _probe_namespaces(self.runtime)
        return Engine.namespaces_available

    def _zygote(self) -> "Zygote":
        if not Engine.keep_zygote:
            return Zygote(self.root / "zygote", self.runtime)
        kept = Engine._kept_zygote
        if kept is None or not kept.alive():
            Engine.drop_kept_zygote()
            root = scratch.new_folder("grader-zygote-")
            kept = Engine._kept_zygote = Zygote(root / "home", _copy_runtime(root / "runtime"))
        return kept

    @staticmethod
    def drop_kept_zygote() -> None:
        """Stops the zygote kept for many runs, if any, and removes its folder (a runner does, as it stops)."""
        kept, Engine._kept_zygote = Engine._kept_zygote, None
        if kept is not None:
            kept.stop()
            shutil.rmtree(kept.home.parent, ignore_errors=True)

    def start_early(self, module: "RemoteModule") -> None:
        """Starts ``module``'s worker before the plan is known (it is the first to grade)."""
        self._start(module)

    def _start(self, module: "RemoteModule") -> None:
        worker = self.workers.get(module.key)
        if module.key not in self.import_errors and (worker is None or not worker.alive()):
            self.workers[module.key] = Worker(self, module)

    def _start_after(self, module: "RemoteModule") -> None:
        """Starts the worker of the module planned after ``module``, unless that would wait for the template."""
        keys = [m.key for m in self.plan]
        if module.key in keys and keys.index(module.key) + 1 < len(keys):
            after = self.plan[keys.index(module.key) + 1]
            if after.blocked_packages or self.zygote is None or self.zygote.started():
                self._start(after)

    def worker_for(self, module: "RemoteModule") -> "Worker":
        """The live worker holding ``module``, started (and its import awaited) if needed."""
        key = module.key
        if key in self.import_errors:
            raise self.import_errors[key]
        worker = self.workers.get(key)
        if worker is None or not worker.alive():
            worker = self.workers[key] = Worker(self, module)
        self._start_after(module)
        deadline, late = self.deadline()
        try:
            for attempt in range(FENCE_ATTEMPTS):
                try:
                    worker.await_ready(max(deadline, time.monotonic() + 1.0) if worker.fresh else deadline)
                    break
                except FenceIncomplete as incomplete:
                    self.retire(worker)
                    if attempt + 1 == FENCE_ATTEMPTS:
                        raise ExerciseImportError(module.shown_path, (
                            f"the grader could not fence the process that runs {module.shown_path} "
                            f"({incomplete}), so none of it ran. Grade again; if this goes on, tell your "
                            "instructor.")) from None
                    worker = self.workers[key] = Worker(self, module)
        except ExerciseImportError as error:
            self.import_errors[key] = error
            self.retire(worker)
            raise
        except BaseException:
            self.retire(worker)
            raise
        return worker

    def retire(self, worker: "Worker", respawn: bool = False) -> None:
        """Kills ``worker`` and every process it started; optionally starts its replacement now."""
        worker.kill()
        self.sweep()
        key = worker.module.key
        if self.workers.get(key) is worker:
            del self.workers[key]
            if respawn and key not in self.import_errors:
                self.workers[key] = Worker(self, worker.module)  # warms up while the checks go on

    def printed(self) -> str:
        """What the learner's code printed during the current check (workers' stdout and stderr).

        The judge's output (Keras' own notes while the checks run a model) is not the learner's: dropped.
        """
        printed = []
        for worker in [*self.workers.values(), *self._ended_workers]:
            text = worker.take_output()  # read even the judge's, so that it never piles up
            if worker.module.target_dir != self.runtime:
                printed.append(text)
        return "".join(printed)

    def shutdown(self) -> None:
        for worker in list(self.workers.values()):
            worker.kill()
        self.workers.clear()
        if self.zygote is not None and self.zygote is not Engine._kept_zygote:
            self.zygote.stop()
        if self.rendezvous is not None:
            self.rendezvous.close()
        self.sweep()
        if self in Engine.live:
            Engine.live.remove(self)
        shutil.rmtree(self.root, ignore_errors=True)

    # ---------------------------------------------------------------- processes
    def sweep(self) -> None:
        """Kills every process a worker left behind, wherever it went.

        Workers run in sessions of their own. A process of the grader's tree
        in a session that is neither the grader's nor a live worker's was
        started by student code (a fork, or one that called setsid to
        escape): it is killed, as many rounds as it takes.
        """
        if PORTABLE_CHANNEL or not sys.platform.startswith("linux"):  # no /proc, or no sessions: psutil
            self._sweep_tree()
            return
        own_session = os.getsid(0)
        live = {w.process.pid for w in self.workers.values() if w.alive()}
        if self.zygote is not None and self.zygote.alive():
            live.add(self.zygote.process.pid)
        give_up, quiet_rounds = time.monotonic() + SWEEP_SECONDS, 0
        while time.monotonic() < give_up:
            # Orphans come to this process (a subreaper): killing its own children first, from one
            # short file, keeps up with a chain that forks and exits faster than /proc can be listed.
            _kill_children(lambda pid: pid not in live and _session(pid) not in (own_session, *live))
            table = _process_table()
            if table is None:
                return
            targets = [pid for pid in _descendants(table, os.getpid())
                       if table[pid][1] not in (own_session, *live) and pid not in live]
            running = [pid for pid in targets if table[pid][2] != "Z"]
            for pid in targets:
                _kill(pid)
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            # Listing /proc is not atomic: a chain member born after the listing began and whose
            # parent has exited is missed once. Only a few quiet rounds in a row end the sweep.
            quiet_rounds = 0 if running else quiet_rounds + 1
            if quiet_rounds >= 3:
                return
            if not running:
                time.sleep(0.002)

    def _sweep_tree(self) -> None:
        """The sweep without sessions or /proc (psutil): kills this process's descendants but the live workers'.

        An orphan comes back to this process only where it is a subreaper (Linux); elsewhere a process
        whose worker has ended is out of its reach once that worker is gone.
        """
        kill_descendants(os.getpid(), spare={w.process.pid for w in self.workers.values() if w.alive()})

    def read_dirs(self, blocked_packages) -> tuple[list[str], list[str]]:
        """What a worker may read: Python and its packages (less ``blocked_packages``), never the project.

        Worked out once per set of blocked packages and kept (0.1-0.4 s each time for a NumPy-only exercise,
        whose blocked packages make site-packages a list of its entries), until a package folder changes: a
        package the learner installs meanwhile becomes readable at the next check.
        """
        from grader.remote import fence

        granted = tuple(fence.system_read_dirs())
        packages = tuple((folder, _modified(folder)) for folder in _package_folders(tuple(map(Path, granted))))
        dirs, files = _readable(granted, tuple(blocked_packages), packages)
        return list(dirs), list(files)


class Worker:
    """One worker process: the learner's module under test, behind a socket."""

    def __init__(self, engine: Engine, module: "RemoteModule"):
        self.engine = engine
        self.module = module
        self.fresh = True
        self.names: dict[str, str] | None = None
        self.archives_sent: set[str] = set()  # digests of the model archives this worker keeps
        self.workdir = Path(tempfile.mkdtemp(prefix=f"worker-{module.name}-", dir=engine.root))
        (self.workdir / "module").mkdir()
        module_file = self.workdir / "module" / f"{module.name}.py"
        source = module.target_dir / f"{module.name}.py"
        if source.is_file():
            shutil.copyfile(source, module_file)
        self.output_path = engine.root / f"{self.workdir.name}.out"
        self.output_offset = 0
        read_dirs, read_files = engine.read_dirs(module.blocked_packages)
        namespaces = engine.namespaces()
        config = {
            "require_mounts": namespaces["mounts"],
            "workdir": str(self.workdir),
            "module_file": str(module_file),
            "module_name": module.name,
            "blocked_packages": list(module.blocked_packages),
            "synced_environ": list(SYNCED_ENVIRON),
            "required_fence": list(engine.required_fence),
            "environ_defaults": {"HOME": str(self.workdir)},
            "fence": {
                "read_dirs": [*read_dirs, str(engine.runtime), *engine.shared_dirs,
                              *([str(engine.zygote.home), str(engine.zygote.runtime)]
                                if engine.zygote and not module.blocked_packages else [])],
                "read_files": read_files + ["/dev/null", "/dev/urandom", "/dev/zero"],
                # /dev/shm: multiprocessing's locks (Keras' directory listing uses a thread pool).
                "write_dirs": [str(self.workdir), *engine.shared_dirs, *_existing("/dev/shm")],
                "write_files": ["/dev/null"],
                "memory_bytes": int(engine.memory_gb * 2**30),
                "cpu_seconds": int(engine.run_seconds) + 60,
                "file_bytes": 2**30,
                "extra_processes": 512,
                "deny_network": True,
                # Metadata (chmod, utime, xattrs) is beyond Landlock: the project is mounted read-only.
                "readonly_paths": [str(ROOT)],
                "private_tmpfs": _existing("/dev/shm"),
                "network_namespace": namespaces["network"],
                "mount_namespace": namespaces["mounts"],
            },
        }
        if PORTABLE_CHANNEL:
            self._spawn_connecting_back(config)
            return
        parent, child = socket.socketpair()
        self.socket = parent
        with open(self.output_path, "wb") as output:
            zygote = engine.zygote if not module.blocked_packages else None
            self.process = zygote.fork(config, child, output, _worker_environ(self.workdir)) if zygote else None
            if self.process is None:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-B", str(engine.runtime / "worker.py"), str(child.fileno()),
                     json.dumps(config)],
                    pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    cwd=self.workdir, env=_worker_environ(self.workdir), start_new_session=True,
                )
        child.close()

    def _spawn_connecting_back(self, config: dict) -> None:
        """Starts the worker as a process that connects back to the engine's rendezvous (no inherited socket)."""
        import secrets

        if self.engine.rendezvous is None:
            self.engine.rendezvous = Rendezvous()
        self.token = secrets.token_hex(TOKEN_LENGTH // 2)
        self.engine.rendezvous.expect(self.token)
        self.socket = None  # the connection comes in await_ready
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", str(self.engine.runtime / "worker.py"), "connect",
                 str(self.engine.rendezvous.port), json.dumps(config)],
                stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT, cwd=self.workdir,
                env=_worker_environ(self.workdir), **new_process_group())
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(self.token.encode() + b"\n")  # never on the command line: others can read it
            self.process.stdin.close()
        except OSError:
            pass  # it ended at once: await_ready says how

    def alive(self) -> bool:
        return self.process.poll() is None

    def await_ready(self, deadline: float) -> None:
        """Waits for the module's import to finish; raises ExerciseImportError if it failed."""
        if not self.fresh:
            return
        shown = self.module.shown_path
        if not (self.module.target_dir / f"{self.module.name}.py").is_file():
            raise ExerciseImportError(shown, f"there is no file {shown}.")
        started = time.monotonic()
        try:
            if self.socket is None:
                self.socket = self.engine.rendezvous.connection(self, min(deadline, started + IMPORT_SECONDS))
            header, _ = transport.receive(self.socket, min(deadline, started + IMPORT_SECONDS))
            if header.get("op") == transport.FENCED:  # sent before the learner's module is imported: the report to trust
                report = header.get("fence") if isinstance(header.get("fence"), dict) else {}
                self.engine.fence_report = report
                header, _ = transport.receive(self.socket, min(deadline, started + IMPORT_SECONDS))
            else:
                report = {}
        except transport.ChannelTimeout:
            waited = time.monotonic() - started
            raise ExerciseImportError(shown, f"importing {shown} did not finish within {waited:.0f} s "
                                             "(is there an endless loop at the top level of the file?).") from None
        except (transport.ChannelClosed, transport.ProtocolError, OSError):
            raise ExerciseImportError(shown, f"importing {shown} ended the process that runs it "
                                             f"({self.exit_description()}).{self.output_note()}") from None
        if header.get("op") == transport.FENCE_INCOMPLETE:
            problems = report.get("problems") or ["no mount namespace"]
            raise FenceIncomplete("; ".join(str(p) for p in problems)[:500])
        if header.get("op") == transport.FENCE_REFUSED:
            self.engine.fence_refusal = fence_refused_message(report, header.get("missing"))
            raise FenceRefused(shown, self.engine.fence_refusal)
        self.fresh = False
        if header.get("op") == transport.IMPORT_ERROR:
            raise ExerciseImportError(shown, describe_import_error(header.get("error") or {}, shown))
        if header.get("op") != transport.READY or not isinstance(header.get("names"), dict):
            raise ExerciseImportError(shown, f"importing {shown} did not report back as it should.")
        self.names = {str(k): str(v) for k, v in header["names"].items()}

    def call(self, function: str, args: tuple, kwargs: dict, options: dict):
        """Runs ``function(*args, **kwargs)`` in the worker; returns the decoded reply."""
        handles = objects.DatasetHandles()
        seed = self.engine.call_seed()
        deadline, late = self.engine.deadline()
        try:
            for attempt in range(2):
                # A model archive the worker already keeps is named by its digest, not sent again; a judge's
                # model it can build is sent as its recipe (the second attempt sends models themselves).
                buffers: list[bytes] = []
                encode = lambda v, b: objects.encode_argument(v, b, handles, self.engine, self.archives_sent,  # noqa: E731
                                                              recipes=not attempt)
                header = {
                    "op": transport.CALL, "function": function, "options": options, "seed": seed,
                    "args": transport.encode(tuple(args), buffers, encode),
                    "kwargs": transport.encode(dict(kwargs), buffers, encode),
                    "environ": {name: os.environ.get(name) for name in SYNCED_ENVIRON
                                if os.environ.get(name) != self.engine.environ_at_start[name]},
                }
                transport.send(self.socket, header, buffers)
                while True:
                    reply, data = transport.receive(self.socket, deadline)
                    if reply.get("op") == transport.SERVE_DATASET:
                        handles.serve(self.socket, reply)
                        continue
                    break
                if reply.get("op") != transport.MISSING_ARCHIVE or attempt:
                    return reply, data
                self.archives_sent.clear()  # the worker let one go: send them all again
        except transport.ChannelTimeout:
            self.engine.retire(self, respawn=True)
            raise late from None
        except (transport.ChannelClosed, BrokenPipeError, ConnectionResetError):
            self.process.wait()
            self.engine._ended_workers.append(self)
            self.engine.retire(self, respawn=True)
            self.engine.worker_ends_in_check += 1
            message = (f"`{function}` ended the process that runs your code ({self.exit_description()}). "
                       "Functions here return their result: they never exit, kill or crash the program.")
            if self.engine.worker_ends_in_check >= WORKER_ENDS_PER_CHECK:
                # Hypothesis replays a failing example while it shrinks; each replay would start a worker again.
                raise WorkerKeepsEnding(f"{message} It did so {WORKER_ENDS_PER_CHECK} times in this check; "
                                        "the check stopped there."
                                        + self.output_note()) from None
            raise WorkerEnded(message + self.output_note()) from None
        except transport.MessageTooLarge as error:
            self.engine.retire(self, respawn=True)
            if self.module.target_dir == self.engine.runtime:  # the judge, running what the learner's code returned
                raise CheckFailure(f"running what your code returned gave {error}: the model (or figure) makes "
                                   "outputs far larger than the exercise's.") from None
            raise CheckFailure(f"`{function}` sent back {error}: return only what the function promises "
                               "(a result far larger than its input is a bug, for example broadcasting two "
                               "arrays against each other).") from None
        except transport.ProtocolError as error:
            self.engine.retire(self, respawn=True)
            raise CheckFailure(f"`{function}`: the process that runs your code sent back something that is not "
                               f"an answer ({error}).") from None
        except BaseException:
            self.engine.retire(self, respawn=True)  # interrupted mid-call: its state is unknown
            raise

    def exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            cause = {"SIGSEGV": "a crash in native code", "SIGKILL": "killed, perhaps out of memory",
                     "SIGABRT": "aborted"}.get(name, "a signal")
            return f"signal {name}: {cause}"
        return f"exit status {code}: os._exit() or a crash"

    def take_output(self) -> str:
        """What the worker printed since the last call of this method."""
        try:
            with open(self.output_path, "rb") as output:
                output.seek(self.output_offset)
                raw = output.read(64_000)
                self.output_offset = output.tell()
                output.seek(0, os.SEEK_END)
                skipped = output.tell() - self.output_offset
                self.output_offset = output.tell()
        except OSError:
            return ""
        text = raw.decode("utf-8", "replace")
        lines = [line for line in text.splitlines(keepends=True) if not line.startswith(TF_LOG_PREFIXES)]
        text = "".join(lines)
        if skipped > 0:
            text += f"\n... [{skipped:,} more bytes of output cut]"
        return text

    def output_note(self) -> str:
        printed = transport.clean_text(self.take_output().strip(), 1000)
        return f"\nIt printed:\n{_indent(printed)}" if printed else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                if PORTABLE_CHANNEL or not sys.platform.startswith("linux"):
                    kill_descendants(self.process.pid)  # its tree as psutil sees it (a setsid'd child too)
                if not PORTABLE_CHANNEL and sys.platform != "win32":  # its group: what it started there too
                    os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.socket is not None:
            self.socket.close()


class Rendezvous:
    """A loopback socket that workers started without an inherited channel connect back to.

    Each worker first sends the token it read from its stdin; a connection
    that sends no awaited worker's token within a second is closed.
    """

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.awaited: set[str] = set()
        self.arrived: dict[str, socket.socket] = {}

    def expect(self, token: str) -> None:
        self.awaited.add(token)

    def connection(self, worker: "Worker", deadline: float) -> socket.socket:
        """The connection of ``worker`` (waiting for it until ``deadline``, or until it ends)."""
        while worker.token not in self.arrived:
            if not worker.alive():
                raise transport.ChannelClosed("the worker ended before it connected")
            remaining = min(deadline - time.monotonic(), 0.5)
            if deadline <= time.monotonic():
                raise transport.ChannelTimeout("the worker did not connect")
            self.listener.settimeout(max(remaining, 0.01))
            try:
                connection, _ = self.listener.accept()
            except (socket.timeout, BlockingIOError):
                continue
            try:
                token = transport._read_exactly(connection, TOKEN_LENGTH, time.monotonic() + 1.0).decode("ascii")
            except (transport.ChannelTimeout, transport.ChannelClosed, OSError, UnicodeDecodeError):
                connection.close()
                continue
            if token not in self.awaited:
                connection.close()
                continue
            connection.settimeout(None)
            self.awaited.discard(token)
            self.arrived[token] = connection
        return self.arrived.pop(worker.token)

    def close(self) -> None:
        for connection in self.arrived.values():
            connection.close()
        self.listener.close()


def new_process_group() -> dict:
    """Popen arguments that start a process in a group of its own (killed as one)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class Zygote:
    """The template process that forks workers with TensorFlow already imported (``grader/remote/zygote.py``).

    Its workers are the grader's children (it forks them twice, and the
    grader is their subreaper). If it cannot start or dies, workers are
    started the slow way, each its own ``python`` process.
    """

    def __init__(self, home: Path, runtime: Path):
        self.home, self.runtime = home, runtime
        self.home.mkdir()
        parent, child = socket.socketpair()
        self.socket = parent
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", str(runtime / "zygote.py"), str(child.fileno()),
             json.dumps(PRELOADED)],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=self.home, env=_worker_environ(self.home), start_new_session=True,
        )
        child.close()
        self.ready = False
        self.reader = parent.makefile("rb")

    def alive(self) -> bool:
        return self.process.poll() is None

    def started(self) -> bool:
        """Whether the template has said it is ready, or has ended (a fork then returns at once); never waits."""
        if self.ready or not self.alive():
            return True
        readable, _, _ = select.select([self.socket], [], [], 0)
        return bool(readable)

    def fork(self, config: dict, channel: socket.socket, output, environ: dict) -> "ForkedProcess | None":
        """A new worker forked from the template, or None if the template cannot make one."""
        if not sys.platform.startswith("linux"):
            return None  # forking after TensorFlow is imported is safe on Linux only: elsewhere, workers are spawned
        try:
            if not self.ready:
                self.ready = json.loads(self.reader.readline() or b"{}").get("ready", False)
                if not self.ready:
                    raise OSError("the zygote did not start")
            message = json.dumps(dict(config, environ=environ)).encode()
            socket.send_fds(self.socket, [message], [channel.fileno(), output.fileno()])
            pid = json.loads(self.reader.readline() or b"{}").get("pid", -1)
        except (OSError, ValueError):
            self.stop()
            return None
        return ForkedProcess(pid) if pid > 0 else None

    def stop(self) -> None:
        if self.process.poll() is None:
            _kill(self.process.pid)
            self.process.wait()
        self.socket.close()


class ForkedProcess:
    """A worker forked by the zygote and adopted by the grader: the parts of ``Popen`` the engine uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if sys.platform == "win32":  # never forked there
            return self.returncode
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not adopted yet, or already reaped by a sweep
                return None if _process_exists(self.pid) else self._set(0)
            if pid == self.pid:
                self._set(os.waitstatus_to_exitcode(status))
        return self.returncode

    def _set(self, code: int) -> int:
        self.returncode = code
        return code

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.005)
        return self.returncode

    def kill(self) -> None:
        _kill(self.pid)


class FenceIncomplete(Exception):
    """A worker reported that its fence lacks a part this machine provides; it imported nothing."""


# Does in a throwaway process what a worker's fence does with namespaces and mounts (fence.probe_namespaces).
_NAMESPACE_PROBE = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import fence; "
    "print(json.dumps(fence.probe_namespaces(json.loads(sys.argv[2]), json.loads(sys.argv[3]))))"
)


def _probe_namespaces(runtime: Path) -> dict:
    """Which namespaces a worker will get here: ``{"network": bool, "mounts": bool}`` (both False off Linux)."""
    none = {"network": False, "mounts": False}
    if not sys.platform.startswith("linux"):
        return none
    try:
        probe = subprocess.run(
            [sys.executable, "-I", "-B", "-c", _NAMESPACE_PROBE, str(runtime),
             json.dumps([str(ROOT)]), json.dumps(_existing("/dev/shm"))],
            capture_output=True, text=True, timeout=20, env=_worker_environ(runtime))
        answer = json.loads(probe.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return none
    return {part: answer.get(part) is True for part in none} if isinstance(answer, dict) else none


def _copy_runtime(folder: Path) -> Path:
    """A private copy of the files a worker runs (the learner cannot read the project, so not from there)."""
    folder.mkdir()
    for name in remote.FILES:
        shutil.copyfile(remote.FOLDER / name, folder / name)
    return folder


def _process_exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class RemoteModule:
    """The learner's module as the checks see it: every call runs in the worker.

    ``exercise.conv2d(x, kernel)`` sends the call, waits for the answer within
    the check's time limit, and returns the value: NumPy arrays and other plain
    data, a dataset, figure or History as the data it holds
    (``grader/engine/described.py``), a Keras model as a handle to its copy in the
    judge (``grader/engine/handles.py``), never a live object made here. What the
    call did to its arguments in place is kept apart (``argument_after``);
    only a model's trainable flags and compilation are applied to the check's
    own model. A ``NotImplementedError`` reads "not started"; other
    exceptions come back as the builtin type they derive from.
    """

    def __init__(self, engine: Engine, target_dir: Path, name: str, shown_path: str, blocked_packages: tuple):
        self._engine = engine
        self.target_dir = target_dir
        self.name = name
        self.shown_path = shown_path
        self.blocked_packages = blocked_packages

    @property
    def key(self) -> tuple:
        return (str(self.target_dir), self.name, self.blocked_packages)

    @property
    def path(self) -> str:
        return self.shown_path

    def __repr__(self) -> str:
        return f"<{self.shown_path}>"

    def source(self) -> str:
        """The module's text, read as text (never executed here), for checks of its imports."""
        self._engine.names_used.add((self.name, WHOLE_SOURCE))
        return (self.target_dir / f"{self.name}.py").read_text(encoding="utf-8", errors="replace")

    def argument_after(self, key: int | str):
        """An argument of the last call as the learner's code left it (position or keyword name).

        The check's own objects are never changed by a call (so no answer can
        be planted in them), except a model's trainable flags and compilation,
        which the course's functions exist to change.
        """
        originals, changed = getattr(self, "_last_call", (None, {}))
        reference = ("arg", key) if isinstance(key, int) else ("kwarg", key)
        if reference in changed:
            return changed[reference]
        if originals is None:
            raise RuntimeError("argument_after() needs a call first")
        return originals.get(list(reference))

    def ensure_imported(self) -> None:
        """Raises the module's import error, if it has one."""
        self._engine.worker_for(self)

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._engine.names_used.add((self.name, attribute))
        kind = self._engine.worker_for(self).names.get(attribute)
        if kind is None:
            raise MissingName(f"{self.shown_path} has no `{attribute}`. Keep the names and signatures "
                              "of the stub: the checks call them.")
        if kind != "function":
            raise MissingName(f"{self.shown_path}: `{attribute}` should be a function, but it is a {kind}.")
        return RemoteFunction(self, attribute)

    @property
    def judge(self):
        """Builds objects for the learner's functions in the judge: ``exercise.judge.keras.applications.VGG16(...)``."""
        from grader.engine.handles import JudgeNamespace

        return JudgeNamespace(self._engine.judge)

    def call(self, function: str, *args, options: dict | None = None, **kwargs):
        """Calls ``function`` with explicit transport ``options``.

        ``dataset_passes`` and ``dataset_elements``: how much of a returned dataset the worker records;
        ``model_weights``: the names of the layers whose weights a returned model brings (the check reads no
        other; they hold zeros in the judge).
        """
        self._engine.names_used.add((self.name, function))
        worker = self._engine.worker_for(self)
        if function not in worker.names:
            raise MissingName(f"{self.shown_path} has no `{function}`.")
        reply, data = worker.call(function, args, kwargs, options or {})
        originals = objects.Originals(args, kwargs)
        changed = objects.apply_changes(reply.get("changed") or [], data, originals, function, self._engine)
        self._last_call = (originals, changed)
        if reply.get("op") == transport.RETURNED:
            try:
                return objects.decode_result(reply["value"], data, originals, self._engine, options)
            except transport.ProtocolError as error:
                raise CheckFailure(f"`{function}` returned something that cannot be read back ({error}).") from None
        if reply.get("op") == transport.RAISED:
            raise exception_from(reply.get("error") or {}, function, self.shown_path)
        raise CheckFailure(f"`{function}` could not be called: {transport.clean_text(reply.get('why', '?'))}")


class RemoteFunction:
    """A function of the learner's module; calling it runs it in the worker."""

    def __init__(self, module: RemoteModule, name: str):
        self._module = module
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<function {self.__name__} of {self._module.shown_path}>"

    def __call__(self, *args, **kwargs):
        return self._module.call(self.__name__, *args, **kwargs)


def exception_from(described: dict, function: str, shown_path: str) -> BaseException:
    """The grader-side exception for what the learner's code raised."""
    described = clean_described(described)
    kind = described.get("type", "Exception")
    bases = described.get("bases") or []
    if "NotImplementedError" in bases:
        return NotStarted(function, shown_path)
    if "SystemExit" in bases:
        return CheckFailure(f"`{function}` called sys.exit({described.get('code', '')}) (or exit()/quit()). "
                            "Functions here return their result; they never end the program.")
    if "MemoryError" in bases:
        limit = os.environ.get("CHECKS_WORKER_MEMORY_GB", DEFAULT_WORKER_MEMORY_GB)
        return CheckFailure(f"`{function}` ran out of memory (its process may use {limit} GB). Look for an array "
                            "far larger than the output, for example broadcasting two big arrays against each other.")
    if "EOFError" in bases:
        return CheckFailure(f"`{function}` called input(): functions here take arguments, not typed input.")
    if "Exception" not in bases:
        return CheckFailure(f"`{function}` raised {kind}: {described.get('message', '')}")
    return student_exception(described, shown_path)


def fence_refused_message(report: dict, missing) -> str:
    """Why a worker imported nothing: the grading run requires parts of the fence this machine did not give."""
    from grader.remote import fence

    parts = [str(part) for part in (missing if isinstance(missing, list) else [])][:len(fence.FENCE_PARTS)]
    wanted = "; ".join(f"{part} ({fence.FENCE_PARTS.get(part, '?')})" for part in parts)
    problems = "; ".join(str(problem) for problem in (report.get("problems") or [])[:5])[:600]
    return (f"this grading run requires a fence this machine did not give: {wanted}. None of your code ran; "
            f"the grade is 0 for that reason, not for your code. Tell your instructor"
            + (f" (the machine said: {problems})." if problems else "."))


def describe_import_error(described: dict, shown: str) -> str:
    described = clean_described(described)
    if described.get("type") == "SyntaxError":
        lines = [f"SyntaxError: {described.get('message')} ({shown}, line {described.get('lineno')})"]
        text = str(described.get("text") or "").rstrip()
        if text:
            lines.append("    " + text.strip())
            offset = described.get("offset")
            if isinstance(offset, int) and offset > 0:
                lines.append("    " + " " * (offset - 1 - (len(text) - len(text.lstrip()))) + "^")
        return "\n".join(lines)
    if "SystemExit" in (described.get("bases") or []):
        return f"the module called sys.exit({described.get('code', '')}) while being imported."
    error = student_exception(described, shown) if "Exception" in (described.get("bases") or []) else None
    from grader.engine.verdicts import describe_student_error

    return describe_student_error(error) if error is not None else f"{described.get('type')}: {described.get('message')}"


# --------------------------------------------------------------------------
# Static reading of a module's imports
# --------------------------------------------------------------------------


def imported_modules(source: str) -> list[tuple[int, str]]:
    """Every module a source imports, with its line: ``import``, ``from``, ``__import__`` and importlib calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("__import__", "import_module", "find_spec", "spec_from_file_location", "exec", "eval",
                        "compile"):
                argument = node.args[0] if node.args else None
                literal = argument.value if isinstance(argument, ast.Constant) else None
                found.append((node.lineno, str(literal) if literal is not None else f"<{name}(...)>"))
    return found


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------


def _worker_environ(workdir: Path) -> dict[str, str]:
    environ = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONHASHSEED": "0",
        "CUDA_VISIBLE_DEVICES": "", "KERAS_BACKEND": "tensorflow",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if name in os.environ:  # machine-specific settings some BLAS builds need to compute right
            environ[name] = os.environ[name]
    if sys.platform == "win32":  # Python there cannot start its sockets or randomness without them
        environ.update({name: os.environ[name] for name in ("SYSTEMROOT", "WINDIR", "PATH") if name in os.environ})
        environ["TEMP"] = environ["TMP"] = str(workdir)
    return environ


def _become_subreaper() -> None:
    """Makes orphans of the grader's descendants its own children, so that none escapes the sweep."""
    if not sys.platform.startswith("linux"):
        return
    from grader.remote import fence

    try:
        fence.prctl(fence.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


def _kill_children(chosen) -> None:
    """SIGKILLs (and reaps) this process's direct children for which ``chosen(pid)`` is true (Linux: from /proc)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as listing:
                children = [int(pid) for pid in listing.read().split()]
        except (OSError, ValueError):
            continue
        for pid in children:
            if chosen(pid):
                _kill(pid)
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def _session(pid: int) -> int | None:
    if sys.platform == "win32":
        return None
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _process_table() -> dict[int, tuple[int, int, str]] | None:
    """``{pid: (parent pid, session id, state)}`` of every process, from /proc (None elsewhere)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    table = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def descendants_of(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc; none elsewhere)."""
    table = _process_table()
    return _descendants(table, pid) if table else []


def _descendants(table, ancestor: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(ancestor, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += children.get(pid, [])
    return found


def kill_descendants(pid: int, spare: set[int] | None = None) -> None:
    """Kills every process below ``pid`` (psutil: on every OS), but those of ``spare`` and the processes below them."""
    import psutil

    def below(parent: int) -> list:
        try:
            return psutil.Process(parent).children(recursive=True)
        except psutil.Error:
            return []

    doomed = below(pid)
    spared = set(spare or ())
    for kept in spare or ():
        spared.update(child.pid for child in below(kept))
    for process in doomed:
        if process.pid not in spared:
            try:
                process.kill()
            except psutil.Error:
                pass


def _kill(pid: int) -> None:
    try:
        if sys.platform == "win32":
            os.kill(pid, signal.SIGTERM)  # TerminateProcess
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@functools.lru_cache(maxsize=16)
def _readable(granted: tuple[str, ...], blocked_packages: tuple[str, ...],
              packages: tuple[tuple[Path, int], ...]) -> tuple[tuple, tuple]:
    """``Engine.read_dirs``'s answer, kept per granted folders, blocked packages and package folders with their
    modification times (``packages``: an install or removal changes one, and with it the key)."""
    forbidden = [ROOT.resolve()]
    for folder, _ in packages:
        forbidden += [entry.resolve() for entry in folder.iterdir() if _is_blocked(entry.name, blocked_packages)]
    dirs, files = [], []
    for folder in granted:
        for kept, is_file in _expand_without(Path(folder), forbidden):
            (files if is_file else dirs).append(str(kept))
    return tuple(sorted(set(dirs))), tuple(sorted(set(files)))


def _modified(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=16)
def _package_folders(granted: tuple[Path, ...]) -> list[Path]:
    """Every site-packages or dist-packages folder inside the granted folders (or one of them)."""
    patterns = ("lib*/python3*/site-packages", "lib*/python3*/dist-packages", "local/lib*/python3*/*-packages",
                "*/lib*/python3*/site-packages", "lib*/site-packages")
    found = set()
    for folder in granted:
        if folder.name in ("site-packages", "dist-packages"):
            found.add(folder.resolve())
        for pattern in patterns:
            found.update(p.resolve() for p in folder.glob(pattern) if p.is_dir())
    return sorted(found)


def _is_blocked(entry_name: str, blocked_packages) -> bool:
    top = entry_name.split(".")[0].split("-")[0].lower()
    return any(top.startswith(b) for b in blocked_packages)


def _expand_without(folder: Path, forbidden: list[Path]):
    """``folder`` as (path, is_file) rules that reach nothing forbidden.

    A folder holding a forbidden one (the project root, a blocked package)
    is replaced by its other entries, recursively. A Python environment
    inside the project (a ``.venv`` there) stays readable: it is one of the
    folders asked for, not the project.
    """
    folder = folder.resolve()
    if folder in forbidden:
        return []
    if not any(folder in f.parents for f in forbidden):
        return [(folder, False)]
    kept = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() and entry.resolve() in forbidden:
            continue
        if entry.is_dir():
            kept += _expand_without(entry, forbidden)
        elif entry.is_file():
            kept.append((entry.resolve(), True))
    return kept


def _existing(*paths: str) -> list[str]:
    return [p for p in paths if os.path.isdir(p)]


def _indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.splitlines())
