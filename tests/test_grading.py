"""The whole grading run: the reference earns full marks, the untouched stubs
earn nothing and read "not started", and exercises/ is what the generator makes."""

from __future__ import annotations

import pytest

from grader import stubgen
from tests.conftest import run_checks


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    return run_checks("solutions", tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def stub_run(tmp_path_factory):
    return run_checks("exercises", tmp_path_factory.mktemp("stubs"))


def test_reference_gets_full_marks(reference_run):
    failing = {name: message for name, message in reference_run.messages().items()
               if reference_run.statuses()[name] != "pass"}
    assert not failing, f"checks failing on the reference: {failing}\n{reference_run.output[-4000:]}"
    assert reference_run.returncode == 0, reference_run.output[-4000:]
    assert reference_run.classroom["score"] == reference_run.classroom["max_score"] > 0
    assert reference_run.gradescope["score"] == reference_run.gradescope["max_score"]


def test_every_exercise_is_graded(reference_run):
    graded = {name.split(":")[0] for name in reference_run.statuses()}
    assert graded == set(stubgen.solution_names()), "every solution module needs graded checks"


def test_untouched_stubs_score_zero_and_read_not_started(stub_run):
    assert stub_run.returncode == 1
    assert stub_run.classroom["score"] == 0 and stub_run.classroom["max_score"] > 0
    not_started = [name for name, message in stub_run.messages().items() if not message.startswith("not started")]
    assert not not_started, f"checks that do not read 'not started' on the stubs: {not_started}"
    assert "Traceback" not in stub_run.output


def test_stub_run_prints_score_table_and_next_step(stub_run):
    assert "TOTAL" in stub_run.output
    assert "Next: exercise 1, exercises/conv.py: not started. Start with `conv_output_length`." in stub_run.output


def test_same_checks_on_both_sides(reference_run, stub_run):
    assert reference_run.statuses().keys() == stub_run.statuses().keys()
    assert reference_run.classroom["max_score"] == stub_run.classroom["max_score"]


def test_exercises_match_the_generator():
    messages = []
    assert stubgen.generate(check=True, log=messages.append) == 0, "\n".join(messages)
