"""Batch grading on a Dask cluster as README.md ("More than one machine") tells an instructor to run it: the course
installed with pip into an environment of its own, a real `dask scheduler` and a real `dask worker` started as
separate processes from a folder that is not the course's, and `python -m grader grade ... --dask ADDRESS`."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine.workers import descendants_of
from grader.instructor.batch import dask_failure
from tests.conftest import EXERCISE_MAX, ROOT
from tests.test_release import clean_environment, fresh_environment

pytest.importorskip("distributed", reason="--dask needs pip install -e '.[cluster]'")
psutil = pytest.importorskip("psutil", reason="installed with distributed")
if not sys.platform.startswith("linux"):  # process groups, and /proc to find what a worker left
    pytest.skip("Linux only", allow_module_level=True)

START_SECONDS = 60  # for the scheduler to write its address


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory) -> Path:
    """The python of a new environment where this checkout is installed as the README says (`pip install -e .`)."""
    python = fresh_environment(tmp_path_factory.mktemp("dask") / "venv")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--quiet", "-e", str(ROOT)],
        capture_output=True, text=True, timeout=180, env=clean_environment(PIP_NO_INPUT="1"))
    assert install.returncode == 0, install.stdout + install.stderr
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list, folder: Path, log: Path) -> subprocess.Popen:
    """Starts ``command`` in ``folder``, in a process group of its own (to stop it and its children at the end)."""
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT,
                                env=clean_environment(), start_new_session=True)


def stop(process: subprocess.Popen) -> list[int]:
    """Asks the process group to end (a Dask worker then closes its runner), and kills what is left after 20 s.

    The processes below it are held as ``psutil.Process`` objects, which know their start time: by the end of the
    wait a pid of one that ended may belong to an unrelated process (another test's), which must not be killed.

    Returns:
        The processes below it (its runner and the runner's own) that outlived it by 20 s; killed now.
    """
    below = [psutil.Process(pid) for pid in descendants_of(process.pid) if psutil.pid_exists(pid)]
    for sent, seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(seconds)
            break
        except subprocess.TimeoutExpired:
            continue
    deadline = time.monotonic() + 20
    while (left := [child for child in below if running(child)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for child in left:
        try:
            child.kill()  # psutil checks that the pid still names the process it was
        except psutil.NoSuchProcess:
            pass
    return [child.pid for child in left]


def running(process: psutil.Process) -> bool:
    """Whether ``process`` is still alive (not a zombie waiting for its parent, nor a new process on its pid)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def scheduler_info(path: Path, process: subprocess.Popen, log: Path) -> dict:
    """The scheduler file's contents, once the scheduler has written all of it.

    Dask creates the file before it writes the JSON, so an empty or partial file means "not yet".
    """
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        assert process.poll() is None, f"ended with status {process.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not ready after {START_SECONDS} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def test_a_scheduler_and_a_worker_started_elsewhere_grade_submissions(installed_python, tmp_path):
    """The README's commands, on loopback: nothing relies on the folder the processes start in or on PYTHONPATH."""
    elsewhere = tmp_path / "elsewhere"  # where the instructor happens to be: not the course
    elsewhere.mkdir()
    submissions = tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    (submissions / "alice" / "curves.py").write_text((ROOT / "solutions" / "curves.py").read_text())
    (submissions / "bob" / "exercises").mkdir(parents=True)
    (submissions / "bob" / "exercises" / "curves.py").write_text((ROOT / "exercises" / "curves.py").read_text())
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler_file = tmp_path / "scheduler.json"
    python = str(installed_python)
    scheduler = start([python, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                       "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                      elsewhere, tmp_path / "scheduler.log")
    worker, outlived = None, []
    try:
        assert scheduler_info(scheduler_file, scheduler, tmp_path / "scheduler.log")["address"] == address
        worker = start([python, "-m", "dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
                        "--host", "127.0.0.1", "--no-dashboard"], elsewhere, tmp_path / "worker.log")
        run = subprocess.run([python, "-m", "grader", "grade", str(submissions), "--out", str(tmp_path / "gradebook"),
                              "--exercise", "curves", "--dask", address], cwd=elsewhere, capture_output=True,
                             text=True, timeout=600, env=clean_environment())
    finally:
        for process in (worker, scheduler):
            if process is not None:
                outlived += stop(process)
    logs = "\n".join((tmp_path / f"{name}.log").read_text()[-2000:] for name in ("scheduler", "worker")
                     if (tmp_path / f"{name}.log").exists())
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:] + logs
    with (tmp_path / "gradebook" / "gradebook.csv").open(newline="") as table:
        rows = {row["id"]: row for row in csv.DictReader(table)}
    assert {i: (row["status"], float(row["curves"])) for i, row in rows.items()} == {
        "alice": ("graded", EXERCISE_MAX["curves"]), "bob": ("graded", 0.0)}, logs
    assert outlived == [], "the worker's runner must end with the worker"


def test_a_task_the_cluster_cannot_read_says_what_to_install():
    """What the scheduler says when it cannot import the grader (the course not installed there)."""
    reason = dask_failure(RuntimeError("Error during deserialization of the task graph. This frequently ..."))
    assert reason.startswith("the Dask task failed: RuntimeError: Error during deserialization")
    assert "pip install -e '.[tensorflow,cluster]'" in reason
    assert "pip install" not in dask_failure(OSError("the worker was lost")), "only where it is the cause"
