"""The whole grading run, as an instructor's batch re-grading does it.

One batch of 14 submissions (the reference, the stubs, a partial one, a
syntax error, a hostile one, three broken zips, an empty folder, a zipped
upload and four with one bug each) is graded once for the session with
``python -m grader grade SUBMISSIONS --out DIR --jobs 2`` (``course_gradebook``
in ``tests/conftest.py``). The tests read its gradebook: the reference earns
full marks, the untouched stubs earn nothing and read "not started", every
row is exact; and exercises/ is what the generator makes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys

import pytest

from grader.instructor import stubgen
from tests.conftest import COURSE_MAX, EXERCISE_MAX, ROOT, GradingRun, grader_command

def graded(course_gradebook, identifier: str) -> GradingRun:
    """A submission of the session's course batch (``tests/conftest.py``) as a ``GradingRun``."""
    import json

    folder = course_gradebook.out / identifier
    record = json.loads((folder / "grading.json").read_text())
    read = lambda name: json.loads((folder / name).read_text())
    return GradingRun(record["exit_status"], (folder / "output.txt").read_text(), read("classroom.json"), read("results.json"))


@pytest.fixture(scope="module")
def reference_run(course_gradebook):
    return graded(course_gradebook, "reference")


@pytest.fixture(scope="module")
def stub_run(course_gradebook):
    return graded(course_gradebook, "stubs")


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


# --------------------------------------------------------------------------
# The gradebook
# --------------------------------------------------------------------------


def rows_of(out) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as table:
        return {row["id"]: row for row in csv.DictReader(table)}


def test_gradebook_has_one_exact_row_per_submission(course_gradebook):
    rows = rows_of(course_gradebook.out)
    assert sorted(rows) == sorted(course_gradebook.ids), course_gradebook.log[-3000:]
    reference = rows["reference"]
    assert reference["status"] == "graded" and reference["error"] == ""
    assert {name: float(reference[name]) for name in EXERCISE_MAX} == EXERCISE_MAX
    assert float(reference["total"]) == float(reference["max_score"]) == COURSE_MAX
    stubs = rows["stubs"]
    assert stubs["status"] == "graded" and float(stubs["total"]) == 0 and float(stubs["max_score"]) == COURSE_MAX
    partial = rows["partial"]
    assert (float(partial["conv"]), float(partial["curves"]), float(partial["total"])) == (
        EXERCISE_MAX["conv"], EXERCISE_MAX["curves"], EXERCISE_MAX["conv"] + EXERCISE_MAX["curves"])
    broken_syntax = rows["syntax-error"]
    assert (float(broken_syntax["conv"]), float(broken_syntax["curves"])) == (0, EXERCISE_MAX["curves"])
    assert float(rows["flat-upload"]["conv"]) == 21  # average pooling: the max-pool value checks fail, only they
    for identifier in course_gradebook.ids:
        if identifier.startswith("mutant-"):
            assert rows[identifier]["status"] == "graded"
            assert 0 <= float(rows[identifier]["conv"]) < EXERCISE_MAX["conv"], identifier


def test_unreadable_submissions_are_error_rows_and_the_batch_goes_on(course_gradebook):
    rows = rows_of(course_gradebook.out)
    assert rows["broken"]["status"] == "error" and "not a zip archive" in rows["broken"]["error"]
    assert float(rows["broken"]["total"]) == 0 and float(rows["broken"]["max_score"]) == COURSE_MAX
    assert rows["empty"]["status"] == "error" and "no exercise module" in rows["empty"]["error"]
    # Python's zipfile raises zlib.error and UnicodeDecodeError for these: each is its own row, never the batch's end.
    assert rows["corrupt-deflate"]["status"] == "error" and "does not decompress" in rows["corrupt-deflate"]["error"]
    assert rows["bad-utf8-name"]["status"] == "error" and "not valid UTF-8" in rows["bad-utf8-name"]["error"]
    assert course_gradebook.returncode == 2, "some submissions could not be graded: exit status 2"
    feedback = (course_gradebook.out / "broken" / "feedback.md").read_text()
    assert "could not be graded" in feedback


def test_batch_leaves_nothing_in_its_temporary_folder(course_gradebook):
    """Each runner's folder (its zygote's, its workers', pytest's) goes when the runner stops."""
    assert course_gradebook.left_in_tmpdir == []


def test_hostile_submission_costs_only_its_own_checks(course_gradebook):
    rows = rows_of(course_gradebook.out)
    hostile = rows["hostile"]
    assert hostile["status"] == "graded"
    # conv2d ends its process: the conv2d checks fail, the rest of conv passes; its conftest.py and
    # checks/ are never read, and nothing it wrote reached the project.
    assert 0 < float(hostile["conv"]) < EXERCISE_MAX["conv"]
    assert float(hostile["total"]) == float(hostile["conv"])
    assert course_gradebook.checks_digest == checks_digest()
    classroom = json.loads((course_gradebook.out / "hostile" / "classroom.json").read_text())
    ended = [t for t in classroom["tests"] if "conv2d" in t["name"] and t["status"] == "fail"]
    assert ended and "ended the process" in ended[0]["message"]


def test_each_submission_gets_result_files_that_agree(course_gradebook):
    for identifier in ("reference", "partial", "flat-upload", "hostile"):
        folder = course_gradebook.out / identifier
        gradescope = json.loads((folder / "results.json").read_text())
        classroom = json.loads((folder / "classroom.json").read_text())
        record = json.loads((folder / "grading.json").read_text())
        assert gradescope["score"] == classroom["score"] == record["score"] == sum(
            t["score"] for t in gradescope["tests"])
        assert float(rows_of(course_gradebook.out)[identifier]["total"]) == gradescope["score"]
        assert "TOTAL" in (folder / "output.txt").read_text()
        # What held around the submission's code is in both files: the same plain fields.
        assert record["fence"] == gradescope["extra_data"]["fence"], identifier
        assert {"filesystem", "network", "memory_bytes", "problems"} <= record["fence"].keys()


def test_feedback_lists_failures_with_hint_and_next_step(course_gradebook):
    feedback = (course_gradebook.out / "flat-upload" / "feedback.md").read_text()
    assert f"**Score: 21 / {COURSE_MAX:g}**" in feedback
    assert "| 1. conv | 21 / 25 |" in feedback
    assert "max_pool2d on small images" in feedback and "values differ" in feedback
    assert "Next: exercises/conv.py" in feedback and "Hint:" in feedback
    assert "## Every check passed" in (course_gradebook.out / "reference" / "feedback.md").read_text()


def test_progress_is_reported_per_submission(course_gradebook):
    assert "10 to grade, 0 already graded" in course_gradebook.log
    assert course_gradebook.log.count("about") >= 10  # "[3/10, about 40 s left] ..."
    assert "Gradebook:" in course_gradebook.log


def test_rerun_skips_what_is_graded_and_force_grades_again(course_gradebook):
    out = course_gradebook.out
    before = (out / "reference" / "grading.json").read_text()
    again = grader_command(course_gradebook.submissions, "--out", out, "--jobs", "2")
    assert "0 to grade, 10 already graded" in again.stderr, again.stderr[-2000:]
    assert (out / "reference" / "grading.json").read_text() == before
    assert sorted(rows_of(out)) == sorted(course_gradebook.ids)
    forced = grader_command(course_gradebook.submissions / "flat-upload.zip", "--out", out, "--force")
    assert "1 to grade" in forced.stderr, forced.stderr[-2000:]
    assert json.loads((out / "flat-upload" / "grading.json").read_text())["score"] == 21
    assert sorted(rows_of(out)) == sorted(course_gradebook.ids), "a partial re-grade keeps every other row"


def test_an_output_folder_that_is_not_a_gradebook_is_refused(tmp_path, course_gradebook):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "essay.txt").write_text("mine")
    run = grader_command(course_gradebook.submissions / "partial", "--out", out)
    assert run.returncode == 2 and "not a gradebook folder" in run.stderr
    assert [p.name for p in out.iterdir()] == ["essay.txt"]


def test_batch_options_need_out():
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "x", "--jobs", "2"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--jobs needs --out" in run.stderr


def checks_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "checks").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()
