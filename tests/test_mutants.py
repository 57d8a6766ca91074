"""The checks judge correctly: every kept bug fails a check, every correct alternative earns full marks.

``tests/mutants/NAME.py`` keeps realistic student bugs as edits of the
reference, each naming the check that catches it: only that check grades
it, and it must fail there (a mutant that only breaks the run does not
count). ``tests/alternatives/NAME/STYLE.py`` is a whole ``NAME.py`` that does
what the exercise asks in a way a learner reasonably would and the reference
does not (a scatter instead of a line, per-layer freezing, a list instead of
a tuple where the contract allows it, float32 instead of float64): it must
earn full marks on its exercise, or a check judges form, not behaviour.

All of them are graded in one batch (``grader.instructor.batch``, two runners, TensorFlow
imported once per runner).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.course import EXERCISES
from grader.instructor.batch import BatchOptions, grade_batch
from tests.conftest import ROOT
from tests.mutants import all_mutants

MUTANTS = all_mutants()
ALTERNATIVES_DIR = Path(__file__).parent / "alternatives"
ALTERNATIVES = sorted((path.parent.name, path) for path in ALTERNATIVES_DIR.glob("*/*.py")
                      if path.parent.name in EXERCISES)


def mutant_id(exercise: str, mutant) -> str:
    return f"{exercise}-{mutant.name}"


def alternative_id(exercise: str, path: Path) -> str:
    return f"alternative-{exercise}-{path.stem}"


@pytest.fixture(scope="session")
def judged_gradebook(tmp_path_factory):
    """Grades every mutant with the check that should catch it, and every alternative on its exercise."""
    base = tmp_path_factory.mktemp("judged")
    submissions = base / "submissions"
    overrides = {}
    for exercise, mutant in MUTANTS:
        folder = submissions / mutant_id(exercise, mutant)
        folder.mkdir(parents=True)
        (folder / f"{exercise}.py").write_text(mutant.apply((ROOT / "solutions" / f"{exercise}.py").read_text()))
        overrides[folder.name] = BatchOptions(exercises=(exercise,), checks=(f"{exercise}::{mutant.check}",),
                                              check_timeout=mutant.check_timeout)
    for exercise, path in ALTERNATIVES:
        folder = submissions / alternative_id(exercise, path)
        folder.mkdir(parents=True)
        (folder / f"{exercise}.py").write_bytes(path.read_bytes())
        overrides[folder.name] = BatchOptions(exercises=(exercise,))
    out = base / "gradebook"
    grade_batch([submissions], out, BatchOptions(jobs=2, progress=False), overrides)
    return out


@pytest.mark.parametrize(("exercise", "mutant"), MUTANTS, ids=[mutant_id(e, m) for e, m in MUTANTS])
def test_mutant_is_caught(exercise, mutant, judged_gradebook):
    assert mutant.check, f"the mutant {mutant.name!r} names no check that catches it"
    folder = judged_gradebook / mutant_id(exercise, mutant)
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


@pytest.mark.parametrize(("exercise", "path"), ALTERNATIVES, ids=[alternative_id(e, p) for e, p in ALTERNATIVES])
def test_alternative_earns_full_marks(exercise, path, judged_gradebook):
    folder = judged_gradebook / alternative_id(exercise, path)
    record = json.loads((folder / "grading.json").read_text())
    assert record["status"] == "graded", f"{path.name} could not be graded: {record['error']}"
    lost = [f"{t['name']}: {t['message']}" for t in json.loads((folder / "classroom.json").read_text())["tests"]
            if t["status"] != "pass"]
    assert not lost and record["score"] == record["max_score"] > 0, (
        f"the correct solution tests/alternatives/{exercise}/{path.name} lost points:\n" + "\n\n".join(lost))


def test_every_exercise_has_three_alternatives():
    counts = {name: sum(1 for e, _ in ALTERNATIVES if e == name) for name in EXERCISES}
    assert all(count >= 3 for count in counts.values()), f"alternatives per exercise: {counts}"


def test_every_graded_check_is_named_by_a_mutant():
    """A check that no kept bug fails is unproven: each graded check is the named catch of at least one mutant."""
    import ast

    named = {(exercise, mutant.check) for exercise, mutant in MUTANTS}
    unproven = []
    for path in sorted((ROOT / "checks").glob("test_*.py")):
        exercise = path.stem.removeprefix("test_")
        for node in ast.parse(path.read_text()).body:
            graded = isinstance(node, ast.FunctionDef) and any(
                "points" in ast.unparse(decorator) for decorator in node.decorator_list)
            if graded and (exercise, node.name) not in named:
                unproven.append(f"{exercise}::{node.name}")
    assert not unproven, f"graded checks that no mutant in tests/mutants/ names (check=...): {unproven}"
