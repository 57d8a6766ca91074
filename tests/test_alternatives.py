"""Correct solutions written in other styles than the reference earn full marks.

``tests/alternatives/NAME/STYLE.py`` is a whole ``NAME.py`` that does what the
exercise asks in a way a learner reasonably would and the reference does not
(a scatter instead of a line, per-layer freezing, a list instead of a tuple
where the contract allows it, float32 instead of float64). All of them are
graded in one batch (``grader.batch``, two runners), each on its own exercise;
a check that takes points from any of them judges form, not behaviour.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.batch import BatchOptions, grade_batch
from grader.course import EXERCISES

ALTERNATIVES_DIR = Path(__file__).parent / "alternatives"
ALTERNATIVES = sorted((path.parent.name, path) for path in ALTERNATIVES_DIR.glob("*/*.py")
                      if path.parent.name in EXERCISES)


def submission_id(exercise: str, path: Path) -> str:
    return f"{exercise}-{path.stem}"


@pytest.fixture(scope="session")
def alternatives_gradebook(tmp_path_factory):
    base = tmp_path_factory.mktemp("alternatives")
    overrides = {}
    for exercise, path in ALTERNATIVES:
        folder = base / "submissions" / submission_id(exercise, path)
        folder.mkdir(parents=True)
        shutil.copyfile(path, folder / f"{exercise}.py")
        overrides[folder.name] = BatchOptions(exercises=(exercise,))
    out = base / "gradebook"
    if ALTERNATIVES:
        grade_batch([base / "submissions"], out, BatchOptions(jobs=2, progress=False), overrides)
    return out


@pytest.mark.parametrize(("exercise", "path"), ALTERNATIVES, ids=[submission_id(e, p) for e, p in ALTERNATIVES])
def test_alternative_earns_full_marks(exercise, path, alternatives_gradebook):
    folder = alternatives_gradebook / submission_id(exercise, path)
    record = json.loads((folder / "grading.json").read_text())
    assert record["status"] == "graded", f"{path.name} could not be graded: {record['error']}"
    lost = [f"{t['name']}: {t['message']}" for t in json.loads((folder / "classroom.json").read_text())["tests"]
            if t["status"] != "pass"]
    assert not lost and record["score"] == record["max_score"] > 0, (
        f"the correct solution tests/alternatives/{exercise}/{path.name} lost points:\n" + "\n\n".join(lost))
