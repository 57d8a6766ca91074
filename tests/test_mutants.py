"""Every realistic bug kept in tests/mutants/ is caught by a check.

All mutants are graded in one batch (``grader.batch``, two runners, TensorFlow
imported once per runner), each by the check its entry names: a mutant that
check no longer catches fails here, and so does a mutant that only breaks the
run instead of failing a check.
"""

from __future__ import annotations

import json

import pytest

from grader.batch import BatchOptions, grade_batch
from tests.conftest import ROOT
from tests.mutants import all_mutants

MUTANTS = all_mutants()


def submission_id(exercise: str, mutant) -> str:
    return f"{exercise}-{mutant.name}"


@pytest.fixture(scope="session")
def mutant_gradebook(tmp_path_factory):
    """Grades every mutant (a submission holding only its module) with the check that should catch it."""
    base = tmp_path_factory.mktemp("mutants")
    submissions = base / "submissions"
    overrides = {}
    for exercise, mutant in MUTANTS:
        folder = submissions / submission_id(exercise, mutant)
        folder.mkdir(parents=True)
        (folder / f"{exercise}.py").write_text(mutant.apply((ROOT / "solutions" / f"{exercise}.py").read_text()))
        overrides[folder.name] = BatchOptions(exercises=(exercise,), checks=(f"{exercise}::{mutant.check}",),
                                              check_timeout=mutant.check_timeout)
    out = base / "gradebook"
    grade_batch([submissions], out, BatchOptions(jobs=2, progress=False), overrides)
    return out


@pytest.mark.parametrize(("exercise", "mutant"), MUTANTS, ids=[submission_id(e, m) for e, m in MUTANTS])
def test_mutant_is_caught(exercise, mutant, mutant_gradebook):
    assert mutant.check, f"the mutant {mutant.name!r} names no check that catches it"
    folder = mutant_gradebook / submission_id(exercise, mutant)
    record = json.loads((folder / "grading.json").read_text())
    assert record["status"] == "graded", f"the mutant {mutant.name!r} could not be graded: {record['error']}"
    tests = json.loads((folder / "classroom.json").read_text())["tests"]
    assert len(tests) == 1, f"checks/test_{exercise}.py has no check {mutant.check!r} (the mutant names it)"
    check = tests[0]
    output = (folder / "output.txt").read_text()
    assert check["status"] == "fail", (
        f"{mutant.check} no longer catches the mutant {mutant.name!r} ({mutant.bug}): it {check['status']}ed.\n"
        f"Find the check that catches it now with -x (see tests/mutants/__init__.py).\n{output[-3000:]}")
    assert not (check["message"] or "").startswith("not started"), "a mutant is finished code, never 'not started'"
