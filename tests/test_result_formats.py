"""The result files, each checked against its format's own rules.

- exercism's test-runner interface, version 3 (exercism/docs,
  building/tooling/test-runners/interface.md), as GitHub Classroom's reporter
  (classroom-resources/autograding-grading-reporter, src/*.js) reads it: it
  sums ``tests[].score``, takes ``max_score`` from the top level (no grade at
  all when it is 0), prints "name - line {line_no}" unless ``line_no`` is 0,
  prints ``test_code`` when it is not empty, and for a test whose status is
  "error" prints only its ``message``.
- Gradescope's autograder specification (gradescope/autograder_samples,
  docs/specs.md): results.json with optional ``output_format``,
  ``test_output_format``, ``test_name_format`` ("text", "html",
  "simple_format", "md", "ansi") and per-test ``name_format`` and
  ``output_format``.

The rules are written below as small field tables rather than with
``jsonschema``, which the project does not depend on. Most cases build a
``Gradebook`` by hand (milliseconds); one runs the conv checks on the
reference through pytest and also watches the placeholders the run writes
on its way.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

from grader import course, results
from grader.engine.verdicts import ExerciseImportError
from tests.conftest import EXERCISE_MAX, ROOT

# --------------------------------------------------------------------------
# The formats' rules
# --------------------------------------------------------------------------

NUMBER = "number"  # int or float, never bool (JSON true is not a number)
OPTIONAL, REQUIRED = False, True
FORMATS = ("text", "html", "simple_format", "md", "ansi")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

# field: (required?, type, allowed values or a predicate or None)
EXERCISM_TOP = {
    "version": (REQUIRED, int, (3,)),
    "status": (REQUIRED, str, ("pass", "fail", "error")),
    "message": (OPTIONAL, (str, type(None)), None),
    "tests": (REQUIRED, list, None),
    # Not in exercism's spec; GitHub Classroom's reporter reads them.
    "score": (REQUIRED, NUMBER, lambda v: v >= 0),
    "max_score": (REQUIRED, NUMBER, lambda v: v >= 0),
}
EXERCISM_TEST = {
    "name": (REQUIRED, str, lambda v: v.strip() != ""),
    "status": (REQUIRED, str, ("pass", "fail", "error")),
    "message": (OPTIONAL, (str, type(None)), None),
    "test_code": (REQUIRED, str, None),  # "SHOULD be present"; the brief makes it required here
    "task_id": (OPTIONAL, int, lambda v: v >= 1),  # a number when present: never null
    "output": (OPTIONAL, str, lambda v: len(v) <= 500),
    # The reporter's: without line_no it prints "line undefined"; 0 means "no line".
    "line_no": (REQUIRED, int, lambda v: v >= 0),
    "score": (REQUIRED, NUMBER, lambda v: v >= 0),
    "max_score": (REQUIRED, NUMBER, lambda v: v >= 0),
}
GRADESCOPE_TOP = {
    "score": (REQUIRED, NUMBER, lambda v: v >= 0),
    "max_score": (REQUIRED, NUMBER, lambda v: v >= 0),  # not Gradescope's; kept for people reading the file
    "execution_time": (OPTIONAL, NUMBER, lambda v: v >= 0),
    "output": (OPTIONAL, str, None),
    "output_format": (OPTIONAL, str, FORMATS),
    "test_output_format": (OPTIONAL, str, FORMATS),
    "test_name_format": (OPTIONAL, str, FORMATS),
    "visibility": (OPTIONAL, str, VISIBILITIES),
    "stdout_visibility": (OPTIONAL, str, VISIBILITIES),
    "extra_data": (OPTIONAL, dict, None),
    "tests": (OPTIONAL, list, None),
    "leaderboard": (OPTIONAL, list, None),
}
GRADESCOPE_TEST = {
    "score": (REQUIRED, NUMBER, lambda v: v >= 0),
    "max_score": (REQUIRED, NUMBER, lambda v: v >= 0),
    "status": (REQUIRED, str, ("passed", "failed")),
    "name": (REQUIRED, str, lambda v: v.strip() != ""),
    "name_format": (OPTIONAL, str, FORMATS),
    "number": (REQUIRED, str, None),
    "output": (REQUIRED, str, None),
    "output_format": (OPTIONAL, str, FORMATS),
    "tags": (OPTIONAL, list, None),
    "visibility": (OPTIONAL, str, VISIBILITIES),
    "extra_data": (OPTIONAL, dict, None),
}


def field_problems(record: dict, table: dict, where: str) -> list[str]:
    """What in ``record`` breaks ``table``: unknown or missing fields, wrong types, values not allowed."""
    if not isinstance(record, dict):
        return [f"{where}: expected an object, got {type(record).__name__}"]
    problems = [f"{where}: field {key!r} is not in the format" for key in record.keys() - table.keys()]
    for key, (required, kind, allowed) in table.items():
        if key not in record:
            if required:
                problems.append(f"{where}: field {key!r} is missing")
            continue
        value = record[key]
        if kind == NUMBER:
            right_type = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            right_type = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not right_type:
            problems.append(f"{where}: {key} = {value!r} has the wrong type")
        elif isinstance(allowed, tuple) and value not in allowed:
            problems.append(f"{where}: {key} = {value!r} is not one of {allowed}")
        elif callable(allowed) and not allowed(value):
            problems.append(f"{where}: {key} = {value!r} is not allowed")
    return problems


def exercism_problems(data: dict) -> list[str]:
    """Every way ``data`` breaks exercism v3 (and what GitHub Classroom's reporter needs)."""
    problems = field_problems(data, EXERCISM_TOP, "classroom")
    if problems:
        return problems
    for index, test in enumerate(data["tests"]):
        problems += field_problems(test, EXERCISM_TEST, f"classroom tests[{index}]")
    if problems:
        return problems
    statuses = {t["status"] for t in data["tests"]}
    if data["status"] == "error" and not data.get("message"):
        problems.append("classroom: status 'error' needs the error in the top-level message")
    if data["status"] != "error" and data.get("message") is not None:
        problems.append(f"classroom: message must be null unless status is 'error', got {data['message']!r}")
    if data["status"] == "pass" and statuses != {"pass"}:
        problems.append(f"classroom: status 'pass' but the tests' statuses are {sorted(statuses)}")
    if data["status"] == "fail" and statuses <= {"pass"}:
        problems.append("classroom: status 'fail' but no test failed")
    for test in data["tests"]:
        if test["status"] != "pass" and not test.get("message"):
            problems.append(f"classroom: {test['name']!r} did not pass but has no message")
    return problems + total_problems(data, "classroom")


def gradescope_problems(data: dict) -> list[str]:
    """Every way ``data`` breaks Gradescope's specification (and this project's choices for it)."""
    problems = field_problems(data, GRADESCOPE_TOP, "gradescope")
    if problems:
        return problems
    for index, test in enumerate(data["tests"]):
        problems += field_problems(test, GRADESCOPE_TEST, f"gradescope tests[{index}]")
    if problems:
        return problems
    numbers = [t["number"] for t in data["tests"]]
    if len(set(numbers)) != len(numbers):
        problems.append(f"gradescope: test numbers repeat: {numbers}")
    for test in data["tests"]:
        # Gradescope's own rule without "status": passed when the score is the maximum.
        if (test["status"] == "passed") != (test["score"] == test["max_score"] and test["max_score"] > 0):
            problems.append(f"gradescope: {test['name']!r} is {test['status']} at {test['score']}/{test['max_score']}")
    if data.get("output_format") == "md":
        fences = [line for line in data["output"].splitlines() if "```" in line]
        if any(line != "```" for line in fences) or len(fences) % 2:
            problems.append(f"gradescope: the md output's code fences do not pair up: {fences}")
    return problems + total_problems(data, "gradescope")


def total_problems(data: dict, where: str) -> list[str]:
    """The totals: score is the tests' sum; max_score too, unless no check is listed (a run that died early)."""
    problems = []
    scores = math.fsum(t["score"] for t in data["tests"])
    if data["score"] != scores:
        problems.append(f"{where}: score {data['score']} but the tests' scores add up to {scores}")
    checks = [t for t in data["tests"] if t["name"] != "grading run"]
    maxima = math.fsum(t["max_score"] for t in data["tests"])
    if checks and data["max_score"] != maxima:
        problems.append(f"{where}: max_score {data['max_score']} but the tests' max_score add up to {maxima}")
    for test in data["tests"]:
        if test["score"] > test["max_score"]:
            problems.append(f"{where}: {test['name']!r} scores {test['score']} of {test['max_score']}")
        if test["name"] == "grading run" and (test["score"], test["max_score"]) != (0, 0):
            problems.append(f"{where}: the crash entry must be worth 0 of 0, got {test['score']}/{test['max_score']}")
    return problems


def assert_valid(gradescope: dict, classroom: dict) -> None:
    """Both files follow their formats' rules; the failure lists every broken rule."""
    problems = gradescope_problems(gradescope) + exercism_problems(classroom)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# Hand-made grade books
# --------------------------------------------------------------------------

CONV_TASKS = ("conv_output_length", "extract_patches", "conv2d", "max_pool2d")


def book_with_checks(tmp_path: Path) -> results.Gradebook:
    """Five checks: three in conv (two tasks), two in mnist (one with no task), 10 points in all."""
    book = results.Gradebook(target="exercises", outputs={"gradescope_json": str(tmp_path / "results.json"),
                                                          "classroom_json": str(tmp_path / "classroom.json")})
    rows = [("conv", "a", 1, "conv_output_length", 11), ("conv", "b", 2, "conv_output_length", 20),
            ("conv", "c", 3, "conv2d", 31), ("mnist", "d", 2, None, 12), ("mnist", "e", 2, "load", 25)]
    for exercise, name, points, task, line in rows:
        book.add_check(nodeid=f"checks/test_{exercise}.py::test_{name}", exercise=exercise, name=f"check {name}",
                       points=float(points), task=task, tasks=CONV_TASKS if exercise == "conv" else ("load",),
                       line_no=line, test_code=f"def test_{name}(exercise):\n    ...")
    return book


def finish(book: results.Gradebook, statuses: dict[str, tuple[str, str]]) -> None:
    """Records ``{check letter: (status, message)}`` as the plugin would."""
    for letter, (status, message) in statuses.items():
        nodeid = next(n for n in book.checks if n.endswith(f"::test_{letter}"))
        book.record(nodeid, status, message)


def written(book: results.Gradebook) -> tuple[dict, dict]:
    """The two files as they are on disk now: (Gradescope, classroom)."""
    return (json.loads(Path(book.outputs["gradescope_json"]).read_text()),
            json.loads(Path(book.outputs["classroom_json"]).read_text()))


def by_name(classroom: dict) -> dict[str, dict]:
    return {t["name"]: t for t in classroom["tests"]}


def summary(classroom: dict) -> tuple:
    """The classroom file's top level: (status, message, score, max_score)."""
    return classroom["status"], classroom["message"], classroom["score"], classroom["max_score"]


def code_blocks(output: str) -> list[str]:
    """The texts of the fenced code blocks of Gradescope's md output."""
    return re.findall(r"^```\n(.*?)\n```$", output, flags=re.S | re.M)


# --------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------


def test_full_marks(tmp_path):
    book = book_with_checks(tmp_path)
    finish(book, {letter: ("passed", "") for letter in "abcde"})
    book.write(crash=None, duration=1.234)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert summary(classroom) == ("pass", None, 10, 10)
    assert (gradescope["score"], gradescope["max_score"], gradescope["execution_time"]) == (10, 10, 1.23)
    tests = by_name(classroom)
    assert [tests[f"conv: check {x}"].get("task_id") for x in "abc"] == [1, 1, 3]
    assert "task_id" not in tests["mnist: check d"], "a check with no task has no task_id (never null)"
    assert tests["mnist: check e"]["task_id"] == 1
    assert [t["line_no"] for t in classroom["tests"]] == [11, 20, 31, 12, 25]
    assert tests["conv: check a"]["test_code"] == "def test_a(exercise):\n    ..."


def test_gradescope_output_is_the_table_in_a_code_block(tmp_path):
    """Gradescope renders the top-level output (HTML by default): the table's columns survive in a code block."""
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("passed", ""), "b": ("failed", "expected <b>3</b>, got ```2```")})
    book.write(crash=None, duration=0.0)
    gradescope, _ = written(book)
    assert (gradescope["output_format"], gradescope["test_output_format"], gradescope["test_name_format"]) == (
        "md", "text", "text")
    table = "\n".join(book.table_lines()).replace("```", "'''")
    assert gradescope["output"] == f"```\n{table}\n```"
    assert "\n      expected <b>3</b>, got '''2'''\n" in code_blocks(gradescope["output"])[0], (
        "a learner's ``` must not end the code block")


def test_partial_run(tmp_path):
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("passed", ""), "b": ("failed", "expected 3, got 2"),
                  "c": ("timed out", "timed out after 60 s."),
                  "d": ("passed", ""), "e": ("error", "the check did not run.")})
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert summary(classroom) == ("fail", None, 3, 10)
    tests = by_name(classroom)
    assert [tests[f"conv: check {x}"]["status"] for x in "abc"] == ["pass", "fail", "fail"]
    assert tests["mnist: check e"]["status"] == "error"
    assert tests["conv: check b"]["message"] == "failed: expected 3, got 2"
    assert tests["conv: check a"]["message"] is None
    assert [t["status"] for t in gradescope["tests"]] == ["passed", "failed", "failed", "passed", "failed"]
    assert [t["number"] for t in gradescope["tests"]] == ["1.1", "1.2", "1.3", "2.1", "2.2"]


def test_unfinished_checks_read_not_run(tmp_path):
    """A run stopped early (``--exitfirst``, a deadline) leaves checks that never ran: they say so."""
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("failed", "expected 3, got 2")})
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert by_name(classroom)["conv: check b"]["message"] == results.NOT_RUN


def test_syntax_error_in_one_exercise_of_several(tmp_path):
    """conv cannot be imported, mnist passes: "error" with the file and line, and mnist keeps its points."""
    book = book_with_checks(tmp_path)
    error = "exercises/conv.py could not be imported:\nSyntaxError: invalid syntax (exercises/conv.py, line 7)"
    for letter in "abc":
        nodeid = f"checks/test_conv.py::test_{letter}"
        first = book.import_failed(nodeid, "exercises/conv.py", error)
        book.record(nodeid, "failed", error if first else "exercises/conv.py could not be imported (see above).")
    finish(book, {"d": ("passed", ""), "e": ("passed", "")})
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert (classroom["status"], classroom["score"], classroom["max_score"]) == ("error", 4, 10)
    assert classroom["message"] == (f"{error}\nNone of its 3 checks could run; they score 0. "
                                    "The other 2 checks ran, and their scores count.")
    # "fail", not "error": the reporter prints an "error" test's message alone, without its name and line.
    assert [t["status"] for t in classroom["tests"]] == ["fail", "fail", "fail", "pass", "pass"]
    assert by_name(classroom)["conv: check a"]["message"] == error, "no 'failed:': the check did not run"
    assert gradescope["score"] == 4
    assert gradescope["tests"][0]["output"] == error
    assert ("Next: fix exercises/conv.py: it could not be imported, so none of its checks ran (the error is under "
            "its first check).") in code_blocks(gradescope["output"])[0]


@pytest.fixture
def plugin():
    """grader.engine.plugin, imported without leaving its Hypothesis profile loaded for the project's other tests."""
    from hypothesis import settings

    before = settings.get_current_profile_name()
    from grader.engine import plugin

    yield plugin
    settings.load_profile(before)


def test_plugin_reports_an_import_error_to_the_book(tmp_path, plugin):
    """The plugin's verdict marks every check of a module that cannot be imported, and shows the error once."""
    book = book_with_checks(tmp_path)
    error = ExerciseImportError("exercises/conv.py", "SyntaxError: invalid syntax (exercises/conv.py, line 7)")
    verdicts = [plugin.verdict(types.SimpleNamespace(value=error), book, types.SimpleNamespace(nodeid=nodeid))
                for nodeid in ["checks/test_conv.py::test_a", "checks/test_conv.py::test_b"]]
    assert verdicts[0] == ("failed", str(error))
    assert "error is shown under the first check" in verdicts[1][1]
    assert [book.checks[f"checks/test_conv.py::test_{x}"].import_error for x in "abc"] == [
        "exercises/conv.py", "exercises/conv.py", None]
    assert book.import_errors == {"exercises/conv.py": str(error)}


def test_every_module_fails_to_import(tmp_path):
    book = book_with_checks(tmp_path)
    for nodeid, check in book.checks.items():
        module = f"exercises/{check.exercise}.py"
        book.import_failed(nodeid, module, f"{module} could not be imported:\nthere is no file {module}.")
        book.record(nodeid, "failed", f"{module} could not be imported:\nthere is no file {module}.")
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert (classroom["status"], classroom["score"], classroom["max_score"]) == ("error", 0, 10)
    assert classroom["message"].split("\n\n") == [
        "exercises/conv.py could not be imported:\nthere is no file exercises/conv.py.\n"
        "None of its 3 checks could run; they score 0. The other 2 checks ran, and their scores count.",
        "exercises/mnist.py could not be imported:\nthere is no file exercises/mnist.py.\n"
        "None of its 2 checks could run; they score 0. The other 3 checks ran, and their scores count."]


def test_untouched_stubs_read_not_started(tmp_path):
    """The stubs run fine and raise NotImplementedError: the tests ran, so "fail", not "error"."""
    book = book_with_checks(tmp_path)
    finish(book, {x: ("not started", "not started: `f` in exercises/m.py still raises NotImplementedError.")
                  for x in "abcde"})
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert summary(classroom) == ("fail", None, 0, 10)
    assert {t["message"] for t in classroom["tests"]} == {
        "not started: `f` in exercises/m.py still raises NotImplementedError."}
    assert "Next: exercise 1, exercises/conv.py: not started." in code_blocks(gradescope["output"])[0]


def test_crash_after_some_checks(tmp_path):
    """An internal error half-way: the checks that passed keep their points; a 0-of-0 entry says why."""
    book = book_with_checks(tmp_path)
    finish(book, {"a": ("passed", ""), "b": ("passed", "")})
    book.write(crash="internal error: KeyError: 'x'", duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert summary(classroom) == (
        "error", "internal error: KeyError: 'x'", 3, 10)
    assert classroom["tests"][-1] == {"name": "grading run", "status": "error",
                                      "message": "internal error: KeyError: 'x'", "test_code": "", "line_no": 0,
                                      "score": 0.0, "max_score": 0.0}
    assert code_blocks(gradescope["output"]) == ["internal error: KeyError: 'x'", "\n".join(book.table_lines())]
    assert gradescope["output"].startswith("**The grading run did not finish:**\n\n```\n")
    assert book not in results.Gradebook.live, "a book written for good must not be rewritten by a later internal error"


def test_internal_error_writes_every_open_book_once(tmp_path, monkeypatch):
    """The plugin's internal-error hook loops over ``Gradebook.live``, and each write drops its book from it."""
    monkeypatch.setattr(results.Gradebook, "live", [])
    done = results.Gradebook(target="x", outputs={"classroom_json": str(tmp_path / "done.json")})
    done.write(crash=None, duration=0.0)  # an earlier session of a batch runner, finished
    open_books = [results.Gradebook(target="x", outputs={"classroom_json": str(tmp_path / f"{i}.json")}) for i in range(3)]
    for book in results.Gradebook.live:  # as plugin.pytest_internalerror does
        book.write(crash="internal error: boom", duration=0.0)
    message = lambda name: json.loads((tmp_path / f"{name}.json").read_text())["message"]  # noqa: E731
    assert [message(i) for i in range(3)] == ["internal error: boom"] * 3
    assert message("done") == "no checks were collected, so nothing was graded.", "a finished book is not rewritten"
    assert results.Gradebook.live == [] and len(open_books) == 3


def test_placeholder_at_start_reads_zero_of_the_declared_maximum(tmp_path):
    book = results.Gradebook(target="exercises", outputs={"gradescope_json": str(tmp_path / "results.json"),
                                                          "classroom_json": str(tmp_path / "classroom.json")},
                             expected_max_score=163.0)
    book.write_placeholder()
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert summary(classroom) == (
        "error", results.PLACEHOLDER_CRASH, 0, 163)
    assert [t["name"] for t in classroom["tests"]] == ["grading run"]
    assert (gradescope["score"], gradescope["max_score"]) == (0, 163)
    assert code_blocks(gradescope["output"]) == [results.PLACEHOLDER_CRASH], "no score table before any check ran"


def test_placeholder_after_collection_lists_every_check_not_run(tmp_path):
    book = book_with_checks(tmp_path)
    book.write_placeholder()
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert (classroom["status"], classroom["score"], classroom["max_score"]) == ("error", 0, 10)
    assert {t["message"] for t in classroom["tests"][:-1]} == {results.NOT_RUN}
    assert (gradescope["score"], gradescope["max_score"]) == (0, 10)


def test_totals_are_exact_with_fractional_points(tmp_path):
    """Ten checks of 0.1 points: adding them one by one in floating point gives 0.9999999999999999, not 1."""
    book = results.Gradebook(target="exercises", outputs={"gradescope_json": str(tmp_path / "results.json"),
                                                          "classroom_json": str(tmp_path / "classroom.json")})
    for index in range(10):
        book.add_check(nodeid=f"t::{index}", exercise="conv", name=f"c{index}", points=0.1, task=None, tasks=(),
                       line_no=index + 1, test_code="...")
        book.record(f"t::{index}", "passed", "")
    book.write(crash=None, duration=0.0)
    gradescope, classroom = written(book)
    assert_valid(gradescope, classroom)
    assert classroom["score"] == classroom["max_score"] == gradescope["score"] == 1.0


def test_the_rules_catch_broken_files():
    """The validators fail on the mistakes this file guards against (else every test above proves nothing)."""
    test = {"name": "conv: x", "status": "fail", "message": "failed: no", "test_code": "", "line_no": 3,
            "score": 0.0, "max_score": 1.0}
    good = {"version": 3, "status": "fail", "message": None, "score": 0.0, "max_score": 1.0, "tests": [test]}
    assert exercism_problems(good) == []
    assert exercism_problems({**good, "tests": [{**test, "task_id": None}]}) == [
        "classroom tests[0]: task_id = None has the wrong type"]
    assert exercism_problems({**good, "tests": [{k: v for k, v in test.items() if k != "line_no"}]}) == [
        "classroom tests[0]: field 'line_no' is missing"]
    assert exercism_problems({**good, "status": "error"}) == [
        "classroom: status 'error' needs the error in the top-level message"]
    assert exercism_problems({**good, "max_score": 2.0}) == [
        "classroom: max_score 2.0 but the tests' max_score add up to 1.0"]
    check = {"name": "conv: x", "number": "1.1", "score": 1.0, "max_score": 1.0, "status": "failed", "output": "x"}
    crash = {"name": "grading run", "number": "0", "score": 0.0, "max_score": 1.0, "status": "failed", "output": "x"}
    assert gradescope_problems({"score": 1.0, "max_score": 1.0, "output": "```\na ``` b\n```", "output_format": "md",
                                "tests": [check, crash]}) == [
        "gradescope: 'conv: x' is failed at 1.0/1.0",
        "gradescope: the md output's code fences do not pair up: ['```', 'a ``` b', '```']",
        "gradescope: max_score 1.0 but the tests' max_score add up to 2.0",
        "gradescope: the crash entry must be worth 0 of 0, got 0.0/1.0"]


# --------------------------------------------------------------------------
# What the plugin reads from the checks files
# --------------------------------------------------------------------------


SAMPLE_CHECKS = '''
import pytest
from hypothesis import given, strategies as st


class Holder:
    @pytest.mark.points(2, task="a")
    @given(n=st.integers(1, 3),
           m=st.integers(1, 3))
    def test_sample(self, exercise, n, m):
        """A Hypothesis check, indented, under a decorator of two lines: its line is the `def`."""
        return exercise
'''


def function_from(path: Path, source: str, name: str):
    """Function ``name`` (a dotted path) of ``source``, run as the file ``path`` (where inspect finds its lines)."""
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    first, *rest = name.split(".")
    function = namespace[first]
    for part in rest:
        function = getattr(function, part)
    return function


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the sample's points mark
def test_check_source_gives_the_def_line_and_the_code(tmp_path):
    function = function_from(tmp_path / "test_sample.py", SAMPLE_CHECKS, "Holder.test_sample")
    assert hasattr(function, "hypothesis"), "the sample should be wrapped by Hypothesis, as the real checks are"
    line_no, code = results.check_source(function)
    lines = SAMPLE_CHECKS.splitlines()
    assert lines[line_no - 1] == "    def test_sample(self, exercise, n, m):", f"line {line_no}: {lines[line_no - 1]!r}"
    assert code == textwrap.dedent("\n".join(lines[line_no - 4:])).rstrip(), "decorators to the end, dedented"


def test_check_source_cuts_a_long_check(tmp_path):
    source = "def test_long():\n" + "".join(f"    x = {i}\n" for i in range(1000))
    module = tmp_path / "long_check.py"
    line_no, code = results.check_source(function_from(module, source, "test_long"))
    assert line_no == 1
    assert len(code) <= results.TEST_CODE_LIMIT
    assert code.endswith(f"\n# ... cut here: the whole check is in {module}, line 1.")
    assert code.splitlines()[-2].startswith("    x = "), "the cut falls at the end of a line"


def test_declared_points_come_from_the_catalog_while_it_describes_the_checks(tmp_path):
    declared = course.declared_points(["checks"], ROOT)
    assert declared == EXERCISE_MAX and declared["conv"] == 25
    assert course.declared_points(["checks/test_conv.py", "checks/test_mnist.py"], ROOT) == {"conv": 25, "mnist": 19}
    assert course.declared_points([str(ROOT / "checks")], tmp_path) == declared, "an absolute path stays as it is"
    assert course.declared_points(["checks/test_conv.py::test_numpy_only"], ROOT) is None, "a node id selects"
    assert course.declared_points(["checks/no_such_file.py"], ROOT) is None
    assert course.declared_points([str(tmp_path)], ROOT) is None, "checks that are not this course's"
    conv = course.declared_checks("conv")
    assert [c["nodeid"] for c in conv][:2] == ["checks/test_conv.py::test_output_length_by_hand",
                                               "checks/test_conv.py::test_output_length_matches_keras"]
    assert {c["task"] for c in conv} == set(course.exercise("conv").tasks)

    # A checks file changed since the catalog was written: unknown, never the old numbers.
    copy = tmp_path / "course"
    shutil.copytree(ROOT / "checks", copy / "checks")
    assert course.declared_checks("conv", copy) == conv
    (copy / "checks" / "test_conv.py").write_text((copy / "checks" / "test_conv.py").read_text() + "\n")
    assert course.declared_checks("conv", copy) is None
    assert course.declared_checks("mnist", copy) == course.declared_checks("mnist")
    crlf = copy / "checks" / "test_mnist.py"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))  # as a Windows checkout may write it
    assert course.declared_checks("mnist", copy) == course.declared_checks("mnist")
    (copy / "checks" / "catalog.json").write_text("{not json")
    assert course.declared_checks("mnist", copy) is None


def conv_check(task: str, status: str, message: str = "", import_error: str | None = None) -> results.CheckResult:
    return results.CheckResult.from_record({"nodeid": f"checks/test_conv.py::test_{task}_{status}", "exercise": "conv",
                                            "name": f"{task} {status}", "points": 1.0, "task": task,
                                            "status": status, "message": message, "import_error": import_error})


def test_the_next_step_is_the_first_check_that_ran_and_failed_else_the_next_task():
    """One writer for the score table (with the message and hint) and for ``list`` (without)."""
    shown = "exercises/conv.py"
    started = [conv_check("conv_output_length", "passed"), conv_check("extract_patches", "not started", "not started: x")]
    assert results.next_step_lines("conv", shown, started) == [
        "Next: exercise 1, exercises/conv.py: start with `extract_patches`."]
    table = results.next_step_lines("conv", shown, started, detail=True)
    assert table[:1] == ["Next: exercise 1, exercises/conv.py: start with `extract_patches`."]
    assert table[1] == f"Hint: {course.hint_steps('conv', 'extract_patches')[0]}"
    failed = [conv_check("extract_patches", "not started"), conv_check("conv2d", "failed", "expected 1, got 2\nmore")]
    assert results.next_step_lines("conv", shown, failed, detail=True)[:2] == [
        'Next: exercises/conv.py, `conv2d`: "conv2d failed" is failed.', "      expected 1, got 2"]
    broken = [conv_check("conv_output_length", "failed", "could not be imported", import_error=shown)]
    assert results.next_step_lines("conv", shown, broken, detail=True) == [
        "Next: fix exercises/conv.py: it could not be imported, so none of its checks ran (the error is under its "
        "first check)."]
    assert results.next_step_lines("conv", shown, broken) == [
        "Next: fix exercises/conv.py: it could not be imported, so none of its checks ran (`python -m grader watch "
        "conv` shows it)."]
    assert results.next_step_lines("conv", shown, [], error="the runner stopped") == ["Next: exercise 1, exercises/conv.py."]


def test_a_grade_survives_its_record(tmp_path):
    """What a runner answers is the grade itself: the batch's writers read the same numbers from the record."""
    book = book_with_checks(tmp_path)
    book.record("checks/test_conv.py::test_a", "passed", "")
    book.record("checks/test_conv.py::test_c", "failed", "expected 1, got 2")
    book.import_failed("checks/test_mnist.py::test_d", "exercises/mnist.py", "exercises/mnist.py: SyntaxError")
    book.fence = {"platform": "Linux"}
    book.expect({"conv": 6.0, "mnist": 4.0})
    assert book.as_record()["crash"] == results.PLACEHOLDER_CRASH, "not written for good: it reads as the placeholder"
    book.write(crash=None, duration=1.0)
    copy = results.Gradebook.from_record(json.loads(json.dumps(book.as_record())))
    assert not any(other is copy for other in results.Gradebook.live), "a book read from a record writes no file"
    assert (copy.score, copy.max_score, copy.crash, copy.fence) == (book.score, book.max_score, None, book.fence)
    assert [copy.points_of(e) for e in copy.exercises()] == [book.points_of(e) for e in book.exercises()]
    assert copy.next_step_lines() == book.next_step_lines()
    assert [(n, c.name, c.status, c.message, c.import_error) for n, c in copy.numbered()] == [
        (n, c.name, c.status, c.message, c.import_error) for n, c in book.numbered()]
    crashed = results.Gradebook.from_record({"checks": [], "crash": "killed", "expected_points": {"conv": 25.0}})
    assert (crashed.max_score, crashed.expected_points) == (25.0, {"conv": 25.0}), "0 of the declared maximum"


# --------------------------------------------------------------------------
# End to end: the conv checks on the reference, through pytest
# --------------------------------------------------------------------------


def watch_run(tmp_path: Path, *args: str, timeout: float = 300) -> tuple[int, str, list[dict], dict]:
    """Runs pytest with both result files; returns its status, output, every distinct classroom file
    seen while it ran (the placeholders), and the final Gradescope file."""
    classroom, gradescope = tmp_path / "classroom.json", tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    command = [sys.executable, "-m", "pytest", *args, f"--classroom-json={classroom}",
               f"--gradescope-json={gradescope}", "-p", "no:cacheprovider"]
    seen: list[dict] = []
    log = tmp_path / "output.txt"  # a file, not a pipe: a pipe nobody reads until the end can fill and block the run
    with log.open("w") as sink, subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink,
                                                 stderr=subprocess.STDOUT) as process:
        # The files are replaced atomically (os.replace), so every read is one whole version.
        deadline = time.monotonic() + timeout
        last_stat = None
        while process.poll() is None and time.monotonic() < deadline:
            try:
                stat = os.stat(classroom)
            except FileNotFoundError:
                stat = None
            # A new version is a new file (inode); reading only then keeps this loop off the run's CPU.
            if stat is not None and (stat.st_ino, stat.st_mtime_ns) != last_stat:
                last_stat = (stat.st_ino, stat.st_mtime_ns)
                version = json.loads(classroom.read_text())
                if not seen or version != seen[-1]:
                    seen.append(version)
            time.sleep(0.01)
        if process.poll() is None:
            process.kill()
    output = log.read_text(errors="replace")
    final = json.loads(classroom.read_text())
    if not seen or final != seen[-1]:
        seen.append(final)
    return process.returncode, output, seen, json.loads(gradescope.read_text())


def test_conv_on_the_reference_end_to_end(tmp_path):
    returncode, output, seen, gradescope = watch_run(tmp_path, "checks/test_conv.py", "--target=solutions")
    assert returncode == 0, output[-3000:]
    *placeholders, classroom = seen
    assert_valid(gradescope, classroom)
    assert (classroom["status"], classroom["score"], classroom["max_score"]) == ("pass", 25, 25)
    assert (gradescope["score"], gradescope["max_score"]) == (25, 25)
    assert len(classroom["tests"]) == 14
    # exercism: tests in the order of the tests file, each pointing at its own `def`.
    lines = (ROOT / "checks" / "test_conv.py").read_text().splitlines()
    line_numbers = [t["line_no"] for t in classroom["tests"]]
    assert line_numbers == sorted(line_numbers)
    for test in classroom["tests"]:
        assert lines[test["line_no"] - 1].startswith("def test_"), f"{test['name']}: line {test['line_no']}"
        assert test["test_code"].count("\ndef test_") == 1 and "@pytest.mark.points(" in test["test_code"]
    assert {t["task_id"] for t in classroom["tests"]} == {1, 2, 3, 4}
    assert "All checks pass. Well done!" in code_blocks(gradescope["output"])[0]

    # The placeholders a run killed at that moment would have left: 0 of the real 25, and valid.
    assert placeholders, "no placeholder was seen before the final file"
    for placeholder in placeholders:
        assert exercism_problems(placeholder) == []
        assert (placeholder["status"], placeholder["score"], placeholder["max_score"]) == ("error", 0, 25)
    assert [len(p["tests"]) for p in placeholders] in ([1, 15], [15]), "at start: the crash entry; then every check"


def test_the_fence_line_says_what_did_not_hold():
    """Where the machine allows no fence (macOS, say), the summary and its line say so, not that it held."""
    from grader.results import fence_held, fence_line

    report = {"platform": "darwin", "kernel": "23.6", "filesystem": False, "network": None,
              "rlimits": {"RLIMIT_AS": {"limit": 8 * 2**30, "enforced": False}, "RLIMIT_CPU": {"limit": 1860}},
              "problems": ["landlock: not available on darwin"]}
    held = fence_held(report)
    assert held["filesystem"] is None and held["memory_bytes"] is None and held["cpu_seconds"] == 1860
    line = fence_line(held)
    for said in ("no filesystem fence", "network open", "no memory limit", "CPU 1860 s",
                 "Not held: landlock: not available on darwin"):
        assert said in line, line
    assert fence_held(None) is None and "no worker ran" in fence_line(None)


def test_a_forged_fence_report_is_cut_to_size():
    """The report comes from the worker after the learner's module ran there: it cannot bloat or draw."""
    from grader.results import FENCE_PROBLEMS, fence_held, fence_line

    held = fence_held({"platform": "\x1b[2J" + "x" * 10_000, "problems": ["\x1b[31mred" * 1000] * 10_000,
                       "network": ["not", "text"], "filesystem": True, "landlock_abi": "9" * 500,
                       "rlimits": {"RLIMIT_AS": {"limit": "8 GB"}, "RLIMIT_CPU": {"limit": [1]}}})
    assert len(held["platform"]) <= 100 and "\x1b" not in held["platform"]
    assert len(held["problems"]) == FENCE_PROBLEMS and all(len(p) <= 300 and "\x1b" not in p for p in held["problems"])
    assert len(held["filesystem"]) <= 40 and isinstance(held["network"], str)
    assert held["memory_bytes"] is None and held["cpu_seconds"] is None and "Fence (" in fence_line(held)
