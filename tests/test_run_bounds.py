"""What one run can cost the next, and what bounds a run whatever blocks it.

- A runner grades one submission after another in one process: whatever a
  session leaves in that process (Keras' settings, random states, NumPy's and
  Matplotlib's options, warnings filters, the environment, the working
  directory, a timer) is put back before the next one.
- An outside watchdog kills a grading process that is still running past its
  run's deadline and a short grace (here: one stopped with SIGSTOP, so that
  neither its own timers nor the engine's deadlines can act), with everything
  below it, and the results say why; nothing is left in the temporary folder.
- The grading process has an address-space limit of its own (Linux).
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.course import GRADER_MEMORY_GB, WATCHDOG_GRACE_SECONDS
from grader.engine.workers import descendants_of
from grader.runner.client import RunnerProcess
from tests.conftest import ROOT

CURVES = (ROOT / "solutions" / "curves.py").read_text()

# A runner that, around each session, prints the state the session starts from and then poisons the process.
POISONING_RUNNER = r'''
import json, os, random, signal, socket, sys, warnings
import grader.runner.server as runner

def observed():
    import keras, matplotlib, numpy as np
    return {
        "keras": [keras.config.epsilon(), keras.config.floatx(), keras.config.image_data_format(),
                  keras.config.max_steps_per_epoch(), keras.config.dtype_policy().name, keras.layers.Dense(1).name],
        "numpy": [np.geterr(), np.get_printoptions()["precision"], float(np.random.random_sample())],
        "random": random.random(), "figsize": list(matplotlib.rcParams["figure.figsize"]),
        "environ": os.environ.get("POISONED"), "cwd": os.getcwd(), "timer": signal.getitimer(signal.ITIMER_REAL)[0],
        "warnings_are_errors": any(f[0] == "error" for f in warnings.filters),
        "socket_timeout": socket.getdefaulttimeout(),
    }

def poison():
    import keras, matplotlib, numpy as np
    keras.config.set_epsilon(0.5)
    keras.config.set_floatx("float16")
    keras.config.set_image_data_format("channels_first")
    keras.config.set_max_steps_per_epoch(1)
    keras.config.set_dtype_policy("mixed_float16")
    keras.config.enable_unsafe_deserialization()
    keras.layers.Dense(1)
    np.seterr(all="raise")
    np.set_printoptions(precision=1)
    np.random.seed(666)
    random.seed(666)
    matplotlib.rcParams["figure.figsize"] = (1.0, 1.0)
    warnings.simplefilter("error")
    os.environ["POISONED"] = "yes"
    os.chdir("/")
    socket.setdefaulttimeout(0.001)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 1.0)  # SIGALRM's default action ends the process

session = runner._run_session

def observing_session(arguments, plugins=()):
    print("STATE " + json.dumps(observed()), flush=True)
    try:
        return session(arguments, plugins)
    finally:
        poison()

runner._run_session = observing_session
runner.serve(int(sys.argv[1]))
'''


def test_nothing_a_session_leaves_in_its_runner_reaches_the_next():
    runner = RunnerProcess([sys.executable, "-c", POISONING_RUNNER])
    job = {"modules": {"curves": base64.b64encode(CURVES.encode()).decode()}, "exercises": ["curves"],
           "options": {"grader_memory_gb": 8}}
    try:
        answers = [runner.grade({**job, "id": str(number)}, 300) for number in (1, 2)]
    finally:
        runner.stop()
    for answer in answers:
        assert answer["error"] is None, answer["error"]
    states = [json.loads(re.search(r"^STATE (.*)$", a["output"], re.M).group(1)) for a in answers]
    first, second = states
    assert first["keras"][:2] == [1e-7, "float32"] and first["environ"] is None, "the first session starts clean"
    assert second == first, "the second session must start from the same state as the first"
    verdicts = [{c["nodeid"]: c["status"] for c in answer["result"]["checks"]} for answer in answers]
    assert verdicts[1] == verdicts[0] and set(verdicts[0].values()) == {"passed"}


def loops_forever(source: str) -> str:
    """``source`` with every top-level function starting in an endless loop."""
    return re.sub(r"(\ndef [^\n]*:\n)", r"\1    while True:\n        pass\n", source)


RUN_SECONDS = 4


def start_grading(tmp_path: Path, *arguments) -> tuple[subprocess.Popen, Path, float]:
    """Starts ``python -m grader grade SUBMISSION ARGUMENTS`` with a TMPDIR of its own; returns it, the TMPDIR
    and its start time."""
    submission = tmp_path / "submission"
    (submission / "exercises").mkdir(parents=True)
    (submission / "exercises" / "curves.py").write_text(loops_forever(CURVES))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    command = [sys.executable, "-m", "grader", "grade", str(submission), "--exercise", "curves",
               "--run-timeout", str(RUN_SECONDS), "--check-timeout", "2", *map(str, arguments)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(tmpdir)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, tmpdir, time.monotonic()


def freeze_once_configured(runs: dict[str, tuple[subprocess.Popen, str, Path, str]]) -> dict[str, dict]:
    """Stops each run's grading process with SIGSTOP as soon as it has configured itself.

    Args:
        runs: by name, the command's process, a text in the grading process's command line (it is one of the
            command's descendants), and a folder and glob of the placeholder results it writes as it configures.

    Returns:
        By name, the grading process's ``pid`` and ``limits`` (/proc/PID/limits, as it set them).
    """
    frozen: dict[str, dict] = {}
    deadline = time.monotonic() + 120
    while len(frozen) < len(runs) and time.monotonic() < deadline:
        for name, (process, marker, folder, pattern) in runs.items():
            graders = [pid for pid in descendants_of(process.pid) if marker in _command_line(pid)]
            if name not in frozen and graders and list(folder.glob(pattern)):
                limits = Path(f"/proc/{graders[0]}/limits").read_text()
                os.kill(graders[0], signal.SIGSTOP)
                frozen[name] = {"pid": graders[0], "limits": limits}
            assert name in frozen or process.poll() is None, process.communicate()
        time.sleep(0.02)
    assert len(frozen) == len(runs), f"only {sorted(frozen)} configured themselves"
    return frozen


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def address_space_limit(limits: str) -> str:
    return re.search(r"^Max address space\s+(\S+)", limits, re.M).group(1)


def processes_mentioning(text: str) -> list[str]:
    """The command lines of live processes that mention ``text`` (a run's workers hold its TMPDIR in theirs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and text in _command_line(int(entry.name)):
            found.append(_command_line(int(entry.name)))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_grading_process_that_blocks_is_killed_at_its_deadline_and_says_so(tmp_path):
    """`python -m grader grade` alone and in a batch (--out), run side by side: each grading process is frozen."""
    results = tmp_path / "one" / "results.json"
    (tmp_path / "one").mkdir()
    one, one_tmp, one_started = start_grading(tmp_path / "one", "--gradescope-json", results)
    (tmp_path / "batch").mkdir()
    batch, batch_tmp, batch_started = start_grading(tmp_path / "batch", "--out", tmp_path / "batch" / "out")
    frozen = freeze_once_configured({
        "one": (one, " -m pytest ", tmp_path / "one", "results.json"),
        "batch": (batch, " -m grader.runner.server ", batch_tmp, "grader-runner-*/batch-job-*/results.json")})
    one_output, batch_output = one.communicate(timeout=300), batch.communicate(timeout=300)
    one_seconds, batch_seconds = time.monotonic() - one_started, time.monotonic() - batch_started
    # The runner's clock starts once it is ready (it imports TensorFlow first): allow for that, not for more.
    allowed = RUN_SECONDS + WATCHDOG_GRACE_SECONDS + 15

    assert one.returncode == 2 and one_seconds < allowed, (one_seconds, one_output)
    assert "did not finish within" in one_output[1]
    gradescope = json.loads(results.read_text())
    assert gradescope["score"] == 0 and gradescope["max_score"] == 13
    assert "grading did not finish within" in gradescope["output"]

    assert batch.returncode == 2 and batch_seconds < allowed + 30, (batch_seconds, batch_output)
    with open(tmp_path / "batch" / "out" / "gradebook.csv", newline="") as table:
        row = next(csv.DictReader(table))
    assert row["status"] == "error" and row["error"].startswith("grading did not finish within"), row

    for grader in frozen.values():
        assert address_space_limit(grader["limits"]) == str(int(GRADER_MEMORY_GB * 2**30))
        assert not Path(f"/proc/{grader['pid']}").exists()
    assert processes_mentioning(str(tmp_path)) == [], "the grading processes' workers must be killed with them"
    assert list(one_tmp.iterdir()) == [] and list(batch_tmp.iterdir()) == []


KILLED_OWNER = r'''
import sys, time
from grader.runner.client import RunnerProcess
runner = RunnerProcess()
runner.start()
print(runner.tmpdir, flush=True)
time.sleep(120)
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and the runner's PDEATHSIG")
def test_the_folder_of_a_killed_watch_goes_when_the_next_one_starts(tmp_path):
    """A watch (the runner's client) killed outright leaves its runner's folder; the next runner started removes
    it, and never a folder whose owner still runs or that is not a grading folder."""
    from grader import scratch

    notes = tmp_path / "grader-notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("not the grader's")
    live = scratch.new_folder("grader-live-", tmp_path)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKS_", "PYTEST_"))}
    environ["TMPDIR"] = str(tmp_path)
    client = subprocess.Popen([sys.executable, "-c", KILLED_OWNER], cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                              text=True)
    left = Path(client.stdout.readline().strip())
    client.kill()  # its runner dies with it (PR_SET_PDEATHSIG)
    client.wait()
    assert left.is_dir() and (left / scratch.OWNER_FILE).is_file()

    after = subprocess.run([sys.executable, "-c", KILLED_OWNER.replace("time.sleep(120)", "runner.stop()")],
                           cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0, after.stderr
    assert not left.exists(), "the killed watch's runner folder is still there"
    assert (notes / "mine.txt").read_text() == "not the grader's" and live.is_dir()
    assert not Path(after.stdout.strip()).exists(), "a runner that stops removes its own folder"
