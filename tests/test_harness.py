"""The grading harness: what a learner sees when their code misbehaves, and the
result files courses read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_checks

CONV = (ROOT / "solutions" / "conv.py").read_text()
CONV_CHECKS = "checks/test_conv.py"
FIRST_LENGTH_LINE = "    for name, value in ((\"input_length\", input_length), (\"kernel_size\", kernel_size),\n"


def target_with(tmp_path, source: str):
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    (target / "conv.py").write_text(source)
    return target


def with_length_body(body: str) -> str:
    """The reference conv.py with ``body`` run first in conv_output_length."""
    assert FIRST_LENGTH_LINE in CONV
    return CONV.replace(FIRST_LENGTH_LINE, body + FIRST_LENGTH_LINE)


def test_syntax_error_fails_only_that_exercise_and_is_shown_once(tmp_path):
    target = target_with(tmp_path, CONV.replace("def conv2d(", "def conv2d((", 1))
    run = run_checks(target, tmp_path, CONV_CHECKS)
    assert run.returncode == 1
    assert set(run.statuses().values()) == {"fail"}
    assert run.output.count("SyntaxError") == 1, run.output
    assert "could not be imported" in run.output
    assert "Traceback" not in run.output
    assert run.classroom["score"] == 0 and run.classroom["max_score"] > 0


POOL_START = '    """\n    ### BEGIN SOLUTION\n    x = _as_images(x)\n    (ph, pw)'
# Two checks of max_pool2d, then one that never calls it: what follows a failure must still be graded.
POOL_THEN_CONV = ("checks/test_conv.py::test_max_pool_by_hand", "checks/test_conv.py::test_max_pool_matches_keras",
                  "checks/test_conv.py::test_conv2d_by_hand")


def with_pool_body(body: str) -> str:
    """The reference conv.py with ``body`` run first in max_pool2d."""
    source = CONV.replace(POOL_START, '    """\n' + body + POOL_START.removeprefix('    """\n'))
    assert source != CONV
    return source


def test_endless_loop_times_out_and_grading_goes_on(tmp_path):
    target = target_with(tmp_path, with_pool_body("    while True:\n        pass\n"))
    started = time.monotonic()
    run = run_checks(target, tmp_path, *POOL_THEN_CONV, "--check-timeout=2")
    assert time.monotonic() - started < 120
    statuses, messages = run.statuses(), run.messages()
    timed_out = [name for name, message in messages.items() if message.startswith("timed out after 2 s")]
    assert len(timed_out) == 2 and all("max_pool2d" in name for name in timed_out), messages
    assert statuses["conv: conv2d on a 3x3 image and a 2x2 kernel gives the values worked out by hand"] == "pass", (
        "a check after the endless loop must still run, in a fresh worker")


def test_sys_exit_costs_only_that_function(tmp_path):
    source = CONV.replace(POOL_START, '    """\n    import sys\n    sys.exit(3)\n' + POOL_START.removeprefix('    """\n'))
    assert source != CONV
    run = run_checks(target_with(tmp_path, source), tmp_path, CONV_CHECKS)
    statuses, messages = run.statuses(), run.messages()
    pool = [n for n in statuses if "max_pool" in n]
    assert pool and all(statuses[n] == "fail" and "sys.exit(3)" in messages[n] for n in pool), messages
    assert statuses["conv: conv2d on a 3x3 image and a 2x2 kernel gives the values worked out by hand"] == "pass"
    assert "TOTAL" in run.output


def test_huge_allocation_fails_the_check_not_the_run(tmp_path):
    source = with_pool_body("    import numpy\n    numpy.ones((40_000, 40_000))  # 12.8 GB\n")
    run = run_checks(target_with(tmp_path, source), tmp_path, *POOL_THEN_CONV)
    statuses, messages = run.statuses(), run.messages()
    pool_checks = [n for n in messages if "max_pool2d" in n]
    assert len(pool_checks) == 2 and all("ran out of memory" in messages[n] for n in pool_checks), messages
    assert statuses["conv: conv2d on a 3x3 image and a 2x2 kernel gives the values worked out by hand"] == "pass"


def test_exit_at_import_is_an_import_error(tmp_path):
    run = run_checks(target_with(tmp_path, "import sys\nsys.exit('bye')\n" + CONV), tmp_path, CONV_CHECKS)
    assert set(run.statuses().values()) == {"fail"}
    first = run.classroom["tests"][0]["message"]
    assert "could not be imported" in first and "sys.exit('bye')" in first


def test_exception_in_student_code_points_at_their_line(tmp_path):
    source = with_length_body("    [][input_length]\n")
    run = run_checks(target_with(tmp_path, source), tmp_path, CONV_CHECKS, "-k", "output_length_by_hand")
    message = run.classroom["tests"][0]["message"]
    assert message.startswith("failed: your code raised IndexError: list index out of range"), message
    assert "target/conv.py, line" in message and "[][input_length]" in message


def test_os_exit_costs_only_the_checks_it_hits(tmp_path):
    source = CONV.replace(POOL_START, '    """\n    import os\n    os._exit(7)\n' + POOL_START.removeprefix('    """\n'))
    assert source != CONV
    run = run_checks(target_with(tmp_path, source), tmp_path, CONV_CHECKS)
    assert run.returncode == 1
    messages, statuses = run.messages(), run.statuses()
    pool = [n for n in messages if "max_pool" in n]
    assert pool and all("exit status 7" in messages[n] for n in pool), messages
    # A Hypothesis check replays a failing example while shrinking: it stops after three ended workers.
    searched = [n for n in pool if "equals keras" in n]
    assert searched and all("3 times in this check" in messages[n] for n in searched), messages
    assert sum(status == "pass" for status in statuses.values()) >= 8, messages
    assert run.classroom["status"] == "fail" and run.classroom["message"] is None
    assert 0 < run.classroom["score"] == run.gradescope["score"] < run.classroom["max_score"]


def test_killed_grading_run_leaves_placeholder_files_and_no_worker(tmp_path):
    target = target_with(tmp_path, with_length_body("    while True:\n        pass\n"))
    classroom, gradescope = tmp_path / "classroom.json", tmp_path / "results.json"
    run = subprocess.Popen([sys.executable, "-m", "pytest", CONV_CHECKS, f"--target={target}", "-q",
                            f"--classroom-json={classroom}", f"--gradescope-json={gradescope}"],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not worker_pids_of(run.pid):
        time.sleep(0.2)
    workers = worker_pids_of(run.pid)
    assert workers, "the grading run never started a worker"
    run.kill()  # the grader dies, as on a machine that runs out of memory
    run.wait()
    assert "did not finish" in json.loads(classroom.read_text())["message"]
    assert "did not finish" in json.loads(gradescope.read_text())["tests"][-1]["output"]
    time.sleep(1)
    assert not [pid for pid in workers if process_state(pid) not in (None, "Z")], "a worker outlived its grader"


def process_state(pid: int) -> str | None:
    """The process's state letter (``Z`` for a zombie), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def worker_pids_of(parent: int) -> list[int]:
    """Worker processes (``runtime/worker.py``) whose parent is ``parent``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"runtime/worker.py" in command:
            found.append(int(entry))
    return found


def test_result_files_schemas_and_numbers(tmp_path):
    broken_pool = CONV.replace(".max(axis=(3, 4))", ".mean(axis=(3, 4))")
    run = run_checks(target_with(tmp_path, broken_pool), tmp_path, CONV_CHECKS)
    gradescope, classroom = run.gradescope, run.classroom

    assert set(gradescope) >= {"score", "max_score", "output", "execution_time", "tests"}
    for test in gradescope["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
        assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0)
        assert test["number"].startswith("1.")
    assert gradescope["score"] == sum(t["score"] for t in gradescope["tests"])
    assert gradescope["max_score"] == sum(t["max_score"] for t in gradescope["tests"])
    failed = [t["name"] for t in gradescope["tests"] if t["status"] == "failed"]
    assert failed and all("max_pool2d" in name or "TensorFlow" in name for name in failed), failed
    assert 0 < gradescope["score"] < gradescope["max_score"]

    assert classroom["version"] == 3 and classroom["status"] == "fail" and classroom["message"] is None
    assert classroom["score"] == gradescope["score"] and classroom["max_score"] == gradescope["max_score"]
    for test in classroom["tests"]:
        assert set(test) >= {"name", "status", "message", "score", "task_id"}
        assert test["status"] in ("pass", "fail", "error")
        assert (test["message"] is None) == (test["status"] == "pass")
        assert test["task_id"] in (1, 2, 3, 4)
    pool_tasks = {t["task_id"] for t in classroom["tests"] if t["status"] == "fail"}
    assert pool_tasks == {4}
    # The hint under the table is the failing task's (max_pool2d's), not the exercise's general one.
    assert "padding value can never win a maximum" in run.output


def test_full_marks_result_files(tmp_path):
    run = run_checks("solutions", tmp_path, CONV_CHECKS)
    assert run.classroom["status"] == "pass"
    assert run.classroom["score"] == run.classroom["max_score"] == run.gradescope["score"] > 0
    assert "All checks pass" in run.output


def test_target_from_environment_and_bad_target(tmp_path):
    env = dict(os.environ, CHECKS_TARGET="solutions")
    run = subprocess.run([sys.executable, "-m", "pytest", CONV_CHECKS, "-q", "-k", "by_hand"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0 and "Grading solutions/" in run.stdout, run.stdout[-2000:]
    bad = run_checks(tmp_path / "no-such-folder", tmp_path, CONV_CHECKS)
    assert bad.returncode == 4 and "no such folder" in bad.output


def test_show_traceback_flag_adds_pytest_traceback(tmp_path):
    source = with_length_body("    [][input_length]\n")
    target = target_with(tmp_path, source)
    plain = run_checks(target, tmp_path, CONV_CHECKS, "-k", "output_length_by_hand")
    full = run_checks(target, tmp_path, CONV_CHECKS, "-k", "output_length_by_hand", "--show-traceback")
    assert "IndexError" in plain.output and "exercise = <" not in plain.output
    assert "your code raised IndexError" in full.output and "def test_output_length_by_hand" in full.output


def test_worker_without_its_read_only_mount_imports_nothing(tmp_path, monkeypatch):
    """Where workers get a mount namespace, one whose read-only mount of the project is missing runs nothing.

    The fence is made to miss it (the project path it should mount does not exist); the learner's module
    would leave a file at import. It is retried, then the exercise's checks fail with a message.
    """
    from grader.engine import workers as engine_module
    from grader.engine.verdicts import ExerciseImportError

    monkeypatch.setattr(engine_module.Engine, "namespaces_available", {"network": True, "mounts": True})
    monkeypatch.setattr(engine_module, "ROOT", tmp_path / "no-such-project")
    marker = tmp_path / "shared" / "imported"
    (tmp_path / "shared").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "conv.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                                "def conv_output_length(*args):\n    return 1\n")
    engine = engine_module.Engine(shared_dirs=[tmp_path / "shared"], run_seconds=120)
    try:
        module = engine.module(tmp_path / "target", "conv", "exercises/conv.py", blocked_packages=("tensorflow",))
        with pytest.raises(ExerciseImportError, match="could not fence"):
            module.conv_output_length(5, 3)
    finally:
        engine.shutdown()
    assert not marker.exists(), "the learner's module was imported without its fence"
