"""The release's GitHub Classroom workflow: its grading step, run as GitHub runs it, hands the reporter
(classroom-resources/autograding-grading-reporter@v1) one runner per exercise, each the base64 of the compact
JSON in an environment variable of its own, small enough for Linux to start the reporter with all of them."""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader import course, results
from tests.conftest import COURSE_MAX, EXERCISE_MAX, ROOT
from tests.test_release import clean_environment
from tests.test_result_formats import book_with_checks, exercism_problems, finish

WORKFLOW = ROOT / "grader" / "instructor" / "autograder" / "classroom.yml"
GRADING_STEP = "convnets"  # the grading step's id
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
OUTPUT_LIMIT = 64 * 1024  # characters of one runner's base64: half of Linux's 128 KiB for one environment string
REFERENCE = (ROOT / "solutions" / "conv.py").read_text()
# max_pool2d not written yet: its three checks and the one that also calls it (7 points) read "not started".
WITHOUT_MAX_POOL = REFERENCE.replace(
    '    return extract_patches(x, (ph, pw), (sh, sw), "valid").max(axis=(3, 4))',
    '    raise NotImplementedError("max_pool2d: your code goes here")')
# What the reporter's main.js does with its `runners` input and the environment, in a child process of its own.
REPORTER_READS = """
import base64, json, os
runners = [runner.strip() for runner in os.environ["INPUT_RUNNERS"].split(",")]
encoded = {runner: os.environ[runner.upper() + "_RESULTS"] for runner in runners}
print(json.dumps({runner: json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
                  for runner, text in encoded.items()}))
"""


def steps(workflow: str) -> list[list[str]]:
    """The workflow's steps, each as its lines (a minimal reading of this one file's YAML: no PyYAML here)."""
    lines = workflow.splitlines()
    start = lines.index("    steps:") + 1
    found: list[list[str]] = []
    for line in lines[start:]:
        if line.startswith("      - "):
            found.append([line])
        elif found and (line.startswith("        ") or not line.strip()):
            found[-1].append(line)
        elif line.strip():
            break
    return found


def step_with(workflow: str, text: str) -> list[str]:
    """The one step that has a line equal to ``text`` once stripped (e.g. "id: convnets")."""
    matching = [step for step in steps(workflow) if any(line.strip().lstrip("- ") == text for line in step)]
    assert len(matching) == 1, f"{len(matching)} steps with {text!r}"
    return matching[0]


def block(step: list[str], key: str) -> list[str]:
    """The lines nested under ``key:`` (e.g. "env", "with", "run: |") in a step, as written."""
    index = next(i for i, line in enumerate(step) if line.strip() in (f"{key}:", f"{key}: |"))
    indent = len(step[index]) - len(step[index].lstrip())
    body = []
    for line in step[index + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return body


def run_block(step: list[str]) -> str:
    """The shell of a step's ``run: |`` block, dedented as YAML does."""
    return textwrap.dedent("\n".join(block(step, "run"))).strip() + "\n"


def mapping(step: list[str], key: str) -> dict[str, str]:
    """A step's ``env:`` or ``with:`` block as a dict (comments left out)."""
    lines = [line.strip() for line in block(step, key)]
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def evaluate(expression: str, outputs: dict[str, str]) -> str:
    """``${{ steps.ID.outputs.NAME }}`` as GitHub evaluates it: the grading step's output, "" when not set."""
    found = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outputs\.(\w+) \}\}", expression)
    assert found and found[1] == GRADING_STEP, expression
    return outputs.get(found[2], "")


def reporter_environment(outputs: dict[str, str]) -> dict[str, str]:
    """The environment GitHub starts the reporter with: its step's `env`, and its `runners` input as INPUT_RUNNERS."""
    report = step_with(WORKFLOW.read_text(), f"uses: {REPORTER}")
    environ = {name: evaluate(value, outputs) for name, value in mapping(report, "env").items()}
    environ["INPUT_RUNNERS"] = evaluate(mapping(report, "with")["runners"], outputs)
    return {"PATH": os.environ["PATH"], **environ}


def read_as_the_reporter_does(outputs: dict[str, str]) -> dict[str, dict]:
    """Each runner's results, read by a child process started with every output in its environment.

    Linux refuses to start a process with an environment string over 128 KiB, so this fails as the
    reporter would (E2BIG) if one runner's output is too large.
    """
    run = subprocess.run([sys.executable, "-c", REPORTER_READS], env=reporter_environment(outputs),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def reporter_points(runners: dict[str, dict]) -> tuple[float, float]:
    """(total, max) as the reporter's NotifyClassroom adds them up: a runner with no max_score counts nothing."""
    counted = [results for results in runners.values() if results["max_score"]]
    return (sum(test["score"] for results in counted for test in results["tests"]),
            sum(results["max_score"] for results in counted))


def step_outputs(output_file: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)


def test_workflow_hands_one_runner_per_exercise_to_the_reporter():
    workflow = WORKFLOW.read_text()
    grading = step_with(workflow, f"id: {GRADING_STEP}")
    assert not any("continue-on-error" in line for line in grading)
    assert "shell: bash" in [line.strip() for line in grading]
    assert mapping(grading, "env")["EXERCISES"] == '"' + " ".join(course.EXERCISES) + '"', "every exercise by default"
    report = step_with(workflow, f"uses: {REPORTER}")
    assert "if: always()" in [line.strip() for line in report], "a failing grade must never skip the report"
    # The reporter reads runner R from the variable R.toUpperCase() + "_RESULTS" and accepts letters and digits only.
    assert all(re.fullmatch(r"[a-zA-Z0-9]+", name) for name in course.EXERCISES)
    assert mapping(report, "env") == {
        f"{name.upper()}_RESULTS": f"${{{{ steps.{GRADING_STEP}.outputs.{name} }}}}" for name in course.EXERCISES}
    assert mapping(report, "with") == {"runners": f"${{{{ steps.{GRADING_STEP}.outputs.runners }}}}"}
    assert steps(workflow).index(report) == len(steps(workflow)) - 1
    assert 'python -m pip install -e ".[tensorflow]"' in workflow, "a runner has no TensorFlow: the extra adds it"


@pytest.fixture(scope="module")
def grading_script() -> str:
    return run_block(step_with(WORKFLOW.read_text(), f"id: {GRADING_STEP}"))


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("classroom") / "release"
    run = subprocess.run([sys.executable, "-m", "grader", "release", str(dest)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (dest / ".github" / "workflows" / "classroom.yml").read_text() == WORKFLOW.read_text()
    return dest


def run_grading_step(script: str, repository: Path, tmp_path: Path, modules: dict[str, str],
                     exercises: str) -> tuple[int, dict[str, str], str]:
    """Runs the step as GitHub's ``shell: bash`` does, in a learner's repository holding ``modules``.

    Args:
        modules: exercise name -> the text of its exercises/NAME.py.
        exercises: the step's EXERCISES (e.g. "conv").
    Returns:
        The step's exit status, its outputs (name -> value) and its log.
    """
    work = tmp_path / "repository"
    shutil.copytree(repository, work)
    for name, text in modules.items():
        (work / "exercises" / f"{name}.py").write_text(text)
    (tmp_path / "step.sh").write_text(script)
    output = tmp_path / "github_output"
    output.write_text("")
    environ = clean_environment(GITHUB_OUTPUT=str(output), EXERCISES=exercises,
                                PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")], cwd=work,
                         capture_output=True, text=True, timeout=900, env=environ)
    return run.returncode, step_outputs(output), run.stdout + run.stderr


def assert_runner_valid(name: str, runner: dict, outputs: dict[str, str]) -> None:
    """One runner's results: exercism v3, compact JSON as the Classroom runners write it, within the limit."""
    assert not exercism_problems(runner), exercism_problems(runner)
    compact = base64.b64decode(outputs[name]).decode("utf-8")
    assert compact == json.dumps(runner, separators=(",", ":"))
    assert len(outputs[name]) <= OUTPUT_LIMIT, f"{name}: {len(outputs[name])} characters"


def test_the_whole_course_reports_full_marks_for_the_reference(grading_script, released, tmp_path):
    """The course's own reference in every exercise: 7 runners, full marks, each output far below the limit."""
    solutions = {name: (ROOT / "solutions" / f"{name}.py").read_text() for name in course.EXERCISES}
    status, outputs, log = run_grading_step(grading_script, released, tmp_path, solutions, " ".join(course.EXERCISES))
    assert status == 0, log[-3000:]
    assert outputs["runners"] == ",".join(course.EXERCISES)
    runners = read_as_the_reporter_does(outputs)
    failing = [f"{test['name']}: {test['message']}" for runner in runners.values() for test in runner["tests"]
               if test["status"] != "pass"]
    assert not failing, "the reference lost points:\n" + "\n".join(failing)[-5000:]
    assert "exited with status 0" in log
    assert list(runners) == list(course.EXERCISES)
    for name, runner in runners.items():
        assert_runner_valid(name, runner, outputs)
        assert (runner["status"], runner["score"], runner["max_score"]) == ("pass", EXERCISE_MAX[name],
                                                                            EXERCISE_MAX[name])
        assert {test["name"].split(":")[0] for test in runner["tests"]} == {name}
    assert reporter_points(runners) == (COURSE_MAX, COURSE_MAX)
    # The whole course in one variable, as this workflow did before, is too large for Linux to start the reporter.
    whole = sum(len(json.dumps(runner, separators=(",", ":"))) for runner in runners.values()) * 4 / 3
    assert whole > 128 * 1024, f"{whole:.0f}: the split is no longer needed?"


def test_partial_work_reports_the_points_earned(grading_script, released, tmp_path):
    status, outputs, log = run_grading_step(grading_script, released, tmp_path, {"conv": WITHOUT_MAX_POOL}, "conv")
    assert status == 0, log[-3000:]
    assert "exited with status 1" in log, "below full marks: the grader's status says so, the step does not fail"
    assert outputs["runners"] == "conv", "only the exercises the step grades are handed to the reporter"
    runner = read_as_the_reporter_does(outputs)["conv"]
    assert reporter_points({"conv": runner}) == (18, 25)
    assert runner["status"] == "fail"
    failed = [(test["task_id"], test["max_score"]) for test in runner["tests"] if test["status"] != "pass"]
    # max_pool2d is task 4 of exercise 1; the check that inputs are left unmodified (task 3) calls it too.
    assert failed == [(3, 1), (4, 1), (4, 3), (4, 2)]
    assert all(test["message"].startswith("not started") for test in runner["tests"] if test["status"] != "pass")


def test_a_grader_that_cannot_start_still_reports_an_error(grading_script, released, tmp_path):
    """No result file at all (the grader is broken): the reporter still gets, for each runner, a result it reads."""
    broken = tmp_path / "broken"
    shutil.copytree(released, broken)
    (broken / "grader" / "__main__.py").write_text("raise SystemExit('the grader is broken')\n")
    status, outputs, log = run_grading_step(grading_script, broken, tmp_path, {"conv": REFERENCE}, "conv curves")
    assert status == 0, log[-3000:]
    runners = read_as_the_reporter_does(outputs)
    assert list(runners) == ["conv", "curves"]
    for runner in runners.values():
        assert runner["status"] == "error" and "wrote no result" in runner["message"]
        assert not exercism_problems(runner), exercism_problems(runner)
    assert reporter_points(runners) == (0, 0)


# --------------------------------------------------------------------------
# One exercise's part of the grade book (grader/results.py), without grading
# --------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAX_ARG_STRLEN is Linux's")
def test_the_limit_is_real_here():
    """So that the tests above can fail: Linux refuses a child with one environment string over 128 KiB."""
    with pytest.raises(OSError) as refused:
        subprocess.run([sys.executable, "-c", "pass"], env={"CONV_RESULTS": "A" * (128 * 1024)}, timeout=60)
    assert refused.value.errno == errno.E2BIG


def test_the_parts_add_up_to_the_whole(tmp_path):
    """Each exercise's part holds its checks only; scores, maxima and the pass/fail/error status add up."""
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("passed", ""), "b": ("failed", "expected 3, got 2"), "c": ("passed", ""),
                  "d": ("passed", ""), "e": ("passed", "")})
    book.import_failed("checks/test_conv.py::test_b", "exercises/conv.py", "exercises/conv.py could not be imported")
    whole = book.classroom(None)
    parts = {name: book.classroom_part(None, name) for name in ("conv", "mnist")}
    assert [t for part in parts.values() for t in part["tests"]] == whole["tests"]
    assert sum(part["score"] for part in parts.values()) == whole["score"] == 8
    assert sum(part["max_score"] for part in parts.values()) == whole["max_score"] == 10
    assert (parts["conv"]["status"], parts["mnist"]["status"]) == ("error", "pass"), "the import error is conv's"
    assert parts["conv"]["message"].startswith("exercises/conv.py could not be imported")
    assert parts["mnist"]["message"] is None
    for part in parts.values():
        assert not exercism_problems(part), exercism_problems(part)


def test_a_crash_before_collection_leaves_each_part_at_zero_of_its_declared_points(tmp_path):
    book = results.Gradebook(target="exercises", outputs={"classroom_json_dir": str(tmp_path / "parts")},
                             expected_points=course.declared_points(["checks"], ROOT))
    book.write_placeholder()
    parts = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "parts").glob("*.json")}
    assert set(parts) == set(course.EXERCISES)
    for name, part in parts.items():
        assert (part["status"], part["score"], part["max_score"]) == ("error", 0, EXERCISE_MAX[name])
        assert part["message"] == results.PLACEHOLDER_CRASH


def test_long_messages_are_cut_to_fit_and_points_stay(tmp_path):
    """21 failing checks, each with 4,000 characters of code and 2,000 of printed emoji (12 bytes each in JSON)."""
    book = results.Gradebook(target="exercises", outputs={"classroom_json_dir": str(tmp_path / "parts")})
    for index in range(21):
        book.add_check(nodeid=f"checks/test_visualize.py::test_{index}", exercise="visualize", name=f"check {index}",
                       points=2.0, task=None, tasks=(), line_no=index + 1, test_code="x = 1\n" * 666)
        book.record(f"checks/test_visualize.py::test_{index}", "passed" if index % 3 else "failed", "🐈" * 2_000)
    crash = "boom " * 5_000
    book.write(crash=crash, duration=0.0)
    part = json.loads((tmp_path / "parts" / "visualize.json").read_text())
    assert len(json.dumps(part, separators=(",", ":")).encode()) <= results.CLASSROOM_PART_LIMIT
    assert (part["score"], part["max_score"], part["status"]) == (28, 42, "error")
    whole = book.classroom(crash)
    assert [(t["name"], t["status"], t["score"]) for t in part["tests"]] == [
        (t["name"], t["status"], t["score"]) for t in whole["tests"]]
    assert all(t["message"].endswith(results.CUT_NOTE) for t in part["tests"] if t["status"] != "pass")
    encoded = base64.b64encode(json.dumps(part, separators=(",", ":")).encode()).decode()
    assert read_as_the_reporter_does({"visualize": encoded, "runners": "visualize"})["visualize"] == part
    assert not exercism_problems(part), exercism_problems(part)


def test_a_part_that_fits_is_left_whole(tmp_path):
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("failed", "expected 3, got 2")})
    assert book.classroom_part(None, "conv") == book.classroom(None, "conv")
    assert book.classroom_part(None, "conv")["tests"][0]["test_code"] == "def test_a(exercise):\n    ..."
