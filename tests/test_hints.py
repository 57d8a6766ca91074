"""The hint ladders of the manifest (``course.toml``): one per task, three steps each, and no solution text.

The solutions' marked blocks come from ``grader.instructor.release``, the
same reading the release's leak check makes. That each exercise's tasks are
those its checks mark is ``python -m grader check-course``'s (tests/test_check_course.py).
"""

from __future__ import annotations

import pytest

from grader.course import COURSE, EXERCISES, MANIFEST, ROOT
from grader.instructor import release

HINTS = {exercise.name: exercise.tasks for exercise in COURSE}
MANIFEST_FILE = ROOT / MANIFEST
MAX_LINE = 100
# A solution line at least this long is a paste even without its trailing comma
# (`optimizer=keras.optimizers.RMSprop(learning_rate=1e-5),`); shorter ones
# (`keras.layers.Flatten(),`) are the single calls a hint may name.
PASTE_CHARS = 40


def all_steps():
    for exercise, tasks in HINTS.items():
        for task, steps in tasks.items():
            for number, step in enumerate(steps, start=1):
                yield f"{exercise}.{task} step {number}", step


@pytest.mark.parametrize("exercise", EXERCISES)
def test_three_distinct_non_empty_steps(exercise):
    for task, steps in HINTS[exercise].items():
        where = f"{exercise}.{task}"
        assert isinstance(steps, tuple) and len(steps) == 3, f"{where}: (nudge, idea, api)"
        assert all(isinstance(step, str) and step.strip() for step in steps), f"{where}: an empty step"
        assert len({step.strip() for step in steps}) == 3, f"{where}: two steps are the same"


def test_steps_are_plain_text_and_the_first_asks():
    for where, step in all_steps():
        assert step == step.strip() and "\n" not in step and "  " not in step, f"{where}: {step!r}"
    for exercise, tasks in HINTS.items():
        for task, (nudge, _, _) in tasks.items():
            assert nudge.endswith("?"), f"{exercise}.{task}: the nudge asks a question: {nudge!r}"


def test_source_lines_fit():
    long = [(n, len(line)) for n, line in enumerate(MANIFEST_FILE.read_text().splitlines(), start=1)
            if len(line) > MAX_LINE]
    assert not long, f"{MANIFEST} lines over {MAX_LINE} characters (line, length): {long}"


def test_no_step_holds_a_line_of_a_solution():
    """No step holds a telling line of a marked solution block; the release finds no leak in the file."""
    blocks, public = release.solution_text(ROOT / "solutions")
    telling = {}
    for block in blocks:
        for line in block.lines:
            if len(line) >= release.TELLING_CHARS and line not in public:
                telling[line] = block.label
                bare = line.rstrip(",")
                if len(bare) >= PASTE_CHARS:
                    telling[bare] = block.label
    assert len(telling) > 100, "the solutions' marked blocks were not read"
    found = [f"{where} holds {line!r} from {label}"
             for where, step in all_steps() for line, label in telling.items() if line in step]
    assert not found, "\n".join(found)
    leaks = release.find_solution_text({MANIFEST: MANIFEST_FILE.read_bytes()}, blocks, public)
    assert not leaks, "\n".join(leak.describe(excerpt=120) for leak in leaks)
