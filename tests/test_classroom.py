"""The release's GitHub Classroom workflow: its grading step, run as GitHub runs it, hands the reporter
(classroom-resources/autograding-grading-reporter@v1) the base64 of the compact JSON it decodes."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader import stubgen
from tests.conftest import ROOT

WORKFLOW = ROOT / "grader" / "autograder" / "classroom.yml"
RUNNER = "convnets"  # the grading step's id, and the reporter's runner
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
REFERENCE = (ROOT / "solutions" / "conv.py").read_text()
STUB = stubgen.make_stub(REFERENCE, "conv")
# max_pool2d not written yet: its three checks and the one that also calls it (7 points) read "not started".
WITHOUT_MAX_POOL = REFERENCE.replace(
    '    return extract_patches(x, (ph, pw), (sh, sw), "valid").max(axis=(3, 4))',
    '    raise NotImplementedError("max_pool2d: your code goes here")')


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


def run_block(step: list[str]) -> str:
    """The shell of a step's ``run: |`` block, dedented as YAML does."""
    index = next(i for i, line in enumerate(step) if line.strip() == "run: |")
    indent = len(step[index]) - len(step[index].lstrip())
    body = []
    for line in step[index + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return textwrap.dedent("\n".join(body)).strip() + "\n"


def decode_as_the_reporter_does(output_file: Path) -> dict:
    """The runner's results as the reporter reads them: base64 of JSON in the step output `result`."""
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
    text = base64.b64decode(outputs["result"], validate=True).decode("utf-8")
    results = json.loads(text)
    assert text == json.dumps(results, separators=(",", ":")), "compact JSON, as the Classroom runners write it"
    return results


def reporter_points(results: dict) -> tuple[float, float]:
    """(total, max) as the reporter's NotifyClassroom adds them: the sum of tests[].score, and max_score."""
    return sum(test["score"] for test in results["tests"]), results["max_score"]


def test_workflow_hands_the_grading_steps_result_to_the_reporter():
    workflow = WORKFLOW.read_text()
    grading = step_with(workflow, f"id: {RUNNER}")
    assert re.fullmatch(r"[a-zA-Z0-9]+", RUNNER), "the reporter accepts only letters and digits in runner names"
    assert not any("continue-on-error" in line for line in grading)
    assert "shell: bash" in [line.strip() for line in grading]
    report = step_with(workflow, f"uses: {REPORTER}")
    report_lines = [line.strip() for line in report]
    assert "if: always()" in report_lines, "a failing grade must never skip the report"
    assert f"{RUNNER.upper()}_RESULTS: ${{{{ steps.{RUNNER}.outputs.result }}}}" in report_lines
    assert f"runners: {RUNNER}" in report_lines
    assert steps(workflow).index(report) == len(steps(workflow)) - 1
    assert "python -m pip install -e ." in workflow


@pytest.fixture(scope="module")
def grading_script() -> str:
    return run_block(step_with(WORKFLOW.read_text(), f"id: {RUNNER}"))


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("classroom") / "release"
    run = subprocess.run([sys.executable, "-m", "grader", "release", str(dest)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (dest / ".github" / "workflows" / "classroom.yml").read_text() == WORKFLOW.read_text()
    return dest


def run_grading_step(script: str, repository: Path, tmp_path: Path, conv: str) -> tuple[int, dict, str]:
    """Runs the step as GitHub's ``shell: bash`` does, in a learner's repository whose exercises/conv.py is ``conv``.

    Returns:
        The step's exit status, the results the reporter would decode, and the step's output.
    """
    work = tmp_path / "repository"
    shutil.copytree(repository, work)
    (work / "exercises" / "conv.py").write_text(conv)
    (tmp_path / "step.sh").write_text(script)
    output = tmp_path / "github_output"
    output.write_text("")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKS_", "PYTEST_")) and k != "PYTHONPATH"}
    environ.update(GITHUB_OUTPUT=str(output), EXERCISES="conv",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}")
    run = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")], cwd=work,
                         capture_output=True, text=True, timeout=300, env=environ)
    return run.returncode, decode_as_the_reporter_does(output), run.stdout + run.stderr


def test_reference_reports_full_marks(grading_script, released, tmp_path):
    status, results, log = run_grading_step(grading_script, released, tmp_path, REFERENCE)
    assert status == 0, log[-3000:]
    assert reporter_points(results) == (25, 25)
    assert results["status"] == "pass" and results["version"] == 3
    assert [test["status"] for test in results["tests"]] == ["pass"] * 14
    assert "exited with status 0" in log


def test_stubs_report_zero_without_failing_the_step(grading_script, released, tmp_path):
    status, results, log = run_grading_step(grading_script, released, tmp_path, STUB)
    assert status == 0, log[-3000:]
    assert reporter_points(results) == (0, 25)
    assert results["status"] == "fail"
    assert [test["status"] for test in results["tests"]] == ["fail"] * 14
    assert "exited with status 1" in log


def test_partial_work_reports_the_points_earned(grading_script, released, tmp_path):
    status, results, log = run_grading_step(grading_script, released, tmp_path, WITHOUT_MAX_POOL)
    assert status == 0, log[-3000:]
    assert reporter_points(results) == (18, 25)
    assert results["status"] == "fail"
    failed = [(test["task_id"], test["max_score"]) for test in results["tests"] if test["status"] != "pass"]
    # max_pool2d is task 4 of exercise 1; the check that inputs are left unmodified (task 3) calls it too.
    assert failed == [(3, 1), (4, 1), (4, 3), (4, 2)]
    assert all(test["message"].startswith("not started") for test in results["tests"] if test["status"] != "pass")


def test_a_grader_that_cannot_start_still_reports_an_error(grading_script, released, tmp_path):
    """No result file at all (the grader is broken): the reporter still gets a result it can read."""
    broken = tmp_path / "broken"
    shutil.copytree(released, broken)
    (broken / "grader" / "__main__.py").write_text("raise SystemExit('the grader is broken')\n")
    status, results, log = run_grading_step(grading_script, broken, tmp_path, REFERENCE)
    assert status == 0, log[-3000:]
    assert results["status"] == "error" and reporter_points(results) == (0, 0)
    assert "wrote no result" in results["message"]
