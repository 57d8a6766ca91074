"""The client of a grading runner (``grader/runner/server.py``): starts one, sends it jobs, reads its answers.

The batch (``grader/instructor/batch.py``), the learner's watch and ``grade()``
in a notebook (``grader/learner/state.py``) reach a runner through ``RunnerProcess``.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref

from grader.course import ROOT
from grader.engine.workers import PORTABLE_CHANNEL, descendants_of, kill_descendants, new_process_group
from grader.runner.server import deadline_message, grading_environ
from grader.scratch import new_folder

RUNNER_START_SECONDS = 300.0  # for a runner to import TensorFlow and be ready (about 5 s on an idle machine)
_STARTED_RUNNERS: "weakref.WeakSet[RunnerProcess]" = weakref.WeakSet()


class RunnerProcess:
    """One ``grader/runner/server.py`` process, started on first use and again after it ends.

    It runs with a temporary folder of its own (``TMPDIR``), removed when it
    is stopped, so that nothing it or its workers wrote outlives it, even
    when it had to be killed.

    Args:
        command: how to start it (the project's tests start a runner that
            does more); the reply descriptor is added to it.
    """

    def __init__(self, command: list[str] | None = None):
        self.command = command or [sys.executable, "-m", "grader.runner.server"]
        self.process: subprocess.Popen | None = None
        self.replies = None
        self.reply_lines: queue.Queue | None = None  # the runner's answers, where a thread reads them
        self.pending = b""  # bytes read from the runner past the last whole line
        self.ready = False  # it said so, once its imports were done
        self.tmpdir: str | None = None

    def grade(self, job: dict, seconds: float, on_event=None) -> dict:
        """Sends ``job``; returns the runner's answer, or an error answer if it died or overran ``seconds``.

        Past ``seconds`` (counted from when the runner is ready), the runner and
        everything below it are killed: this is the watchdog of a batch job.

        Args:
            job: the job (``grader/runner/server.py`` documents its fields).
            seconds: how long the answer may take.
            on_event: called with each check event of a job that asks for them (``"events": true``).
        """
        self.start()
        line = None
        try:
            if not self.ready:
                self.ready = self._ready_within(RUNNER_START_SECONDS)
            deadline = time.monotonic() + seconds
            if self.ready:
                self.process.stdin.write(json.dumps(job) + "\n")
                self.process.stdin.flush()
                while True:
                    line = self._reply_within(deadline - time.monotonic())
                    reply = json.loads(line) if line is not None else None
                    if reply is None or "event" not in reply:
                        break
                    if on_event is not None:
                        on_event(reply)
        except (OSError, ValueError):  # ValueError: stopped from another thread (the watch's new save)
            line = None
        if line is None:
            return error_answer(job["id"], self._stop_for(seconds))
        answer = reply
        if answer.get("retire"):
            self.stop()
        return answer

    def start(self) -> None:
        """Starts the runner unless it is running (it then imports TensorFlow and the checks, about 5 s)."""
        if self.process is None or self.process.poll() is not None:
            self._start()

    def _start(self) -> None:
        self.tmpdir = str(new_folder("grader-runner-"))
        if PORTABLE_CHANNEL:
            self._start_replying_on_stdout(self.tmpdir)
        else:
            self._start_replying_on_a_pipe(self.tmpdir)
        self.pending = b""
        self.ready = False
        _STARTED_RUNNERS.add(self)

    def _start_replying_on_a_pipe(self, tmpdir: str) -> None:
        """Starts a runner that answers on a pipe it inherits (POSIX), read here with ``select``."""
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [*self.command, str(write_end)], cwd=ROOT, env={**grading_environ(), "TMPDIR": tmpdir},
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=[write_end],
            text=True, start_new_session=True,
        )
        os.close(write_end)
        self.replies = os.fdopen(read_end, "rb", buffering=0)

    def _start_replying_on_stdout(self, tmpdir: str) -> None:
        """Starts a runner that answers on its stdout, read by a thread (no inherited pipe, no ``select``).

        For machines where a process inherits no descriptor but its standard streams (Windows): the runner
        keeps its stdout for its answers and points its own output elsewhere.
        """
        self.process = subprocess.Popen(
            [*self.command, "stdout"], cwd=ROOT, env={**grading_environ(), "TMPDIR": tmpdir},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            **new_process_group())
        self.replies = self.process.stdout
        lines: queue.Queue = queue.Queue()
        self.reply_lines = lines

        def read(stream) -> None:
            for line in stream:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=read, args=(self.process.stdout,), daemon=True).start()

    def _ready_within(self, seconds: float) -> bool:
        """Whether the runner says it is ready (``{"ready": true}``) within ``seconds``."""
        line = self._reply_within(seconds)
        try:
            return line is not None and json.loads(line).get("ready") is True
        except (ValueError, AttributeError):
            return False

    def _stop_for(self, seconds: float) -> str:
        """Stops the runner that gave no answer; returns why, for the submission's error."""
        running = self.process.poll() is None
        ready = self.ready
        self.stop()
        if not running:
            return f"the grading process ended unexpectedly (exit status {self.process.returncode})"
        if not ready:
            return f"the grading process was not ready within {RUNNER_START_SECONDS:.0f} s, so it was stopped"
        return deadline_message(seconds)

    def _reply_within(self, seconds: float) -> str | None:
        """The runner's next line, or None if it ends or ``seconds`` pass first.

        Reads the pipe's bytes itself: a buffered reader may hold several lines
        (check events come in bursts) while ``select`` sees an empty pipe.
        """
        if self.reply_lines is not None:
            try:
                return self.reply_lines.get(timeout=max(seconds, 0.0))
            except queue.Empty:
                return None
        deadline = time.monotonic() + max(seconds, 0.0)
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.replies], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                return None
            chunk = os.read(self.replies.fileno(), 1 << 16)
            if not chunk:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode()

    def stop(self) -> None:
        """Kills the runner and every process below it (its workers, and anything they started), and removes
        its temporary folder."""
        if self.process is None:
            return
        if self.process.poll() is None:  # once reaped, its pid may be another process's
            kill_tree(self.process.pid)
        self.process.wait()
        for stream in (self.process.stdin, self.replies):
            try:
                stream.close()
            except OSError:
                pass
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


_STARTED_RUNNERS: "weakref.WeakSet[RunnerProcess]" = weakref.WeakSet()


@atexit.register
def _stop_started_runners() -> None:
    """Whoever started a runner (a test session, a Dask worker) may end without stopping it: it stops then,
    and its folder goes."""
    for runner in list(_STARTED_RUNNERS):
        runner.stop()


def kill_tree(pid: int) -> None:
    """SIGKILLs process ``pid`` and every process below it.

    Each is stopped (SIGSTOP) before any is killed, round after round until
    no new one appears: a stopped process cannot fork, so none escapes by
    being born after the listing, or by being reparented when its parent dies.
    """
    if not sys.platform.startswith("linux") or PORTABLE_CHANNEL:  # no /proc to read, or no SIGSTOP: psutil
        kill_descendants(pid)
        _signal(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        return
    stopped: list[int] = []
    for _ in range(20):
        new = [p for p in [pid, *descendants_of(pid)] if p not in stopped]
        if not new:
            break
        for process in new:
            _signal(process, signal.SIGSTOP)
        stopped += new
    for process in stopped:
        _signal(process, signal.SIGKILL)


def _signal(pid: int, signal_number: int) -> None:
    try:
        os.kill(pid, signal_number)
    except (ProcessLookupError, PermissionError):
        pass


def error_answer(identifier: str, reason: str) -> dict:
    return {"id": identifier, "exit": 3, "gradescope": None, "classroom": None, "output": "", "error": reason,
            "seconds": 0.0}
