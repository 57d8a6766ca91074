"""``python -m grader grade``: only the exercise modules of a submission are graded, with the
instructor's own checks; an instructor's secret seed changes the inputs, reproducibly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT, grader_command, write_unreadable_zips

REFERENCE = (ROOT / "solutions" / "conv.py").read_text()


def grade(*arguments):
    """Runs ``python -m grader grade ARGUMENTS``; returns the finished process."""
    return grader_command(*arguments, timeout=300)


def classroom_of(path):
    return json.loads(path.read_text())


def test_submission_folder_with_its_own_pytest_setup_is_graded_by_the_instructors_checks(tmp_path):
    submission = tmp_path / "student"
    (submission / "exercises").mkdir(parents=True)
    (submission / "exercises" / "conv.py").write_text(REFERENCE)
    # Everything here would change the grade if pytest read it: none of it may be read.
    (submission / "conftest.py").write_text("import pytest\n@pytest.hookimpl(tryfirst=True)\n"
                                            "def pytest_runtest_makereport(item, call):\n    raise SystemExit(0)\n")
    (submission / "pytest.ini").write_text("[pytest]\naddopts = -p no:grader --co\n")
    (submission / "checks").mkdir()
    (submission / "checks" / "test_conv.py").write_text("def test_nothing():\n    pass\n")
    (submission / "exercises" / "numpy.py").write_text("raise SystemExit('shadowed numpy')\n")
    result = tmp_path / "classroom.json"
    run = grade(submission, "--exercise", "conv", "--classroom-json", result)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert classroom_of(result)["score"] == classroom_of(result)["max_score"] == 25
    assert "exercises/conv.py" in run.stdout or "All checks pass" in run.stdout


def test_zip_of_flat_modules_and_partial_marks(tmp_path):
    archive = tmp_path / "upload.zip"
    broken_pool = REFERENCE.replace(".max(axis=(3, 4))", ".mean(axis=(3, 4))")
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("my-work/conv.py", broken_pool)  # one top folder, as zipping a folder makes
    result = tmp_path / "classroom.json"
    run = grade(archive, "--exercise", "conv", "--classroom-json", result)
    assert run.returncode == 1
    graded = classroom_of(result)
    assert 0 < graded["score"] < graded["max_score"], run.stdout[-2000:]
    assert graded["score"] == sum(t["score"] for t in graded["tests"])


def test_missing_module_broken_zip_and_links_are_reported(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    run = grade(broken)
    assert run.returncode == 2 and "error:" in run.stderr

    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(ROOT / "solutions" / "conv.py", linked / "conv.py")  # the answers, by a link
    result = tmp_path / "classroom.json"
    run = grade(linked, "--exercise", "conv", "--classroom-json", result)
    assert run.returncode == 1
    assert "a link" in run.stderr
    assert classroom_of(result)["score"] == 0
    assert "there is no file exercises/conv.py" in json.dumps(classroom_of(result))


@pytest.mark.parametrize("kind, why", [("corrupt-deflate", "does not decompress"),
                                       ("bad-utf8-name", "not valid UTF-8")])
def test_a_zip_that_fails_to_read_gets_result_files_saying_why(tmp_path, kind, why):
    """Python's zipfile raises zlib.error or UnicodeDecodeError for these: staging turns either into exit 2."""
    upload = write_unreadable_zips(tmp_path)[kind]
    results, classroom = tmp_path / "results.json", tmp_path / "classroom.json"
    run = grade(upload, "--exercise", "conv", "--gradescope-json", results, "--classroom-json", classroom)
    assert run.returncode == 2 and why in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
    gradescope, exercism = json.loads(results.read_text()), classroom_of(classroom)
    assert (gradescope["score"], gradescope["max_score"]) == (exercism["score"], exercism["max_score"]) == (0, 25)
    assert exercism["status"] == "error" and why in exercism["message"]
    assert "your submission could not be read" in gradescope["output"] and why in gradescope["output"]


def test_json_flags_take_one_submission(tmp_path):
    run = grade(tmp_path, tmp_path, "--classroom-json", tmp_path / "c.json")
    assert run.returncode == 2 and "one submission" in run.stderr


def test_secret_seed_changes_the_inputs_reproducibly(tmp_path):
    """Submissions that report a digest of what they were given: the public inputs, or the secret ones.

    Graded in batches of two identical submissions: the public batch on two runners (two processes),
    the secret one by one runner, one after the other (two sessions of one process). A seed must
    give the same inputs to every submission, whichever process or session grades it.
    """
    probe = REFERENCE.replace(
        '    """\n    ### BEGIN SOLUTION\n    x = _as_images(x)\n    (ph, pw)',
        '    """\n    import hashlib\n    raise ValueError("inputs " + hashlib.sha256(x.tobytes()).hexdigest()[:16])\n'
        '    ### BEGIN SOLUTION\n    x = _as_images(x)\n    (ph, pw)')
    for name in ("first", "second"):
        (tmp_path / "probes" / name).mkdir(parents=True)
        (tmp_path / "probes" / name / "conv.py").write_text(probe)
    seed_file = tmp_path / "seed"

    def digests(out: str, seed: str | None = None, jobs: int = 1) -> list[str]:
        arguments = [tmp_path / "probes", "--out", tmp_path / out, "--exercise", "conv", "-k", "inputs_left_unmodified",
                     "--jobs", jobs]
        if seed is not None:
            seed_file.write_text(seed)
            arguments += ["--grading-seed-file", seed_file]
        run = grader_command(*arguments)
        found = []
        for name in ("first", "second"):
            messages = [t["message"] or "" for t in classroom_of(tmp_path / out / name / "classroom.json")["tests"]]
            assert messages and "inputs " in messages[0], run.stderr[-2000:]
            found.append(messages[0].split("inputs ", 1)[1][:16])
        return found

    public = digests("public", jobs=2)
    assert public[0] == public[1], "the public grade must be deterministic"
    secret = digests("secret", "course-2026-secret")
    assert secret[0] == secret[1] != public[0], "a secret seed must change the generated inputs, the same for all"


def test_an_empty_or_missing_seed_file_is_refused_everywhere_before_anything_is_graded(tmp_path):
    """An instructor's seed file that is empty or missing never falls back to the public inputs unseen."""
    submission = tmp_path / "reference"
    submission.mkdir()
    (submission / "conv.py").write_text(REFERENCE)
    empty, missing = tmp_path / "empty-seed", tmp_path / "no-such-seed"
    empty.write_text("\n")
    for seed_file, said in ((empty, f"{empty} is empty"), (missing, "No such file")):
        for command in (("grade", submission, "--exercise", "conv"),
                        ("grade", submission, "--exercise", "conv", "--out", tmp_path / "out"),
                        ("gradescope", tmp_path / "autograder.zip")):
            run = subprocess.run([sys.executable, "-m", "grader", *map(str, command), "--grading-seed-file",
                                  str(seed_file)], capture_output=True, text=True, timeout=120, cwd=ROOT)
            assert run.returncode == 2 and "--grading-seed-file" in run.stderr and said in run.stderr, (
                command, run.stdout[-1000:], run.stderr[-1000:])
        run = subprocess.run([sys.executable, "-m", "pytest", "checks/test_conv.py", "--target=solutions",
                              f"--grading-seed-file={seed_file}", "-p", "no:cacheprovider"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert run.returncode == 4 and said in run.stderr, (run.stdout[-1000:], run.stderr[-1000:])
    assert not (tmp_path / "out").exists() and not (tmp_path / "autograder.zip").exists()


@pytest.mark.parametrize("seed", ["another secret"])
def test_reference_keeps_full_marks_under_a_secret_seed(tmp_path, seed):
    submission = tmp_path / "reference"
    submission.mkdir()
    (submission / "conv.py").write_text(REFERENCE)
    seed_file = tmp_path / "seed"
    seed_file.write_text(seed)
    run = grade(submission, "--exercise", "conv", "--grading-seed-file", seed_file)
    assert run.returncode == 0, run.stdout[-3000:]


def test_what_held_around_the_code_is_in_the_results_and_shown_on_request(tmp_path):
    """``--show-fence`` prints the fence's line under the table; results.json's ``extra_data`` always has it."""
    from grader.engine.workers import DEFAULT_WORKER_MEMORY_GB
    from grader.remote import fence
    from grader.results import fence_line

    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "conv.py").write_text(REFERENCE)
    result = tmp_path / "results.json"
    run = grade(submission, "--exercise", "conv", "--gradescope-json", result, "--show-fence")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    held = json.loads(result.read_text())["extra_data"]["fence"]
    assert fence_line(held) in run.stdout
    if fence.landlock_abi():
        assert held["filesystem"].startswith("Landlock ABI ")
    assert held["memory_bytes"] == DEFAULT_WORKER_MEMORY_GB * 2**30 and isinstance(held["problems"], list)
    quiet = grade(submission, "--exercise", "conv")
    assert "Fence (" not in quiet.stdout, "the line is printed only on request"


# Sends, while the module is imported, a "ready" whose fence report says that everything held.
FORGED_REPORT = '''
import gc, json, socket, struct
for channel in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
    try:
        import transport
        transport.send(channel, {"op": "ready", "names": {}, "fence": {"filesystem": True, "landlock_abi": 99,
                                                                      "network": "namespace", "problems": []}})
    except Exception:
        pass
'''


def without_landlock(*arguments):
    """``python -m grader grade ARGUMENTS`` on this machine with Landlock refused (a kernel without it)."""
    import subprocess

    return subprocess.run([sys.executable, str(ROOT / "tests" / "machine_without.py"), "--deny",
                           "landlock_create_ruleset", "--", sys.executable, "-m", "grader", "grade",
                           *map(str, arguments)], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Landlock and seccomp are Linux's")
def test_require_fence_grades_zero_with_the_reason_where_the_fence_does_not_hold(tmp_path):
    """``--require-fence`` where Landlock is missing: nothing of the submission runs, 0 points, and why."""
    from grader.remote import fence

    submission = tmp_path / "student"
    submission.mkdir()
    marker = tmp_path / "imported"
    (submission / "conv.py").write_text(f"open({str(marker)!r}, 'w').close()\n" + REFERENCE)
    result = tmp_path / "results.json"
    run = without_landlock(submission, "--exercise", "conv", "--gradescope-json", result, "--require-fence")
    graded = json.loads(result.read_text())
    assert graded["score"] == 0 and run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "requires a fence this machine did not give: filesystem" in graded["output"], graded["output"][:2000]
    assert "not for your code" in graded["tests"][0]["output"], graded["tests"][0]["output"]
    checks = [test for test in graded["tests"] if test["name"] != "grading run"]  # the run's entry says why
    assert len(checks) == 14 and all("was not run" in test["output"] and "could not be imported" not in test["output"]
                                     for test in checks), [test["output"][:100] for test in graded["tests"]]
    assert graded["extra_data"]["fence"]["filesystem"] is None
    assert not marker.exists(), "the submission's module was imported although the fence did not hold"
    assert "Next: nothing to fix in your code: this grading run requires a fence" in run.stdout, run.stdout[-2000:]
    assert "could not be imported" not in run.stdout, run.stdout[-2000:]
    if fence.landlock_abi():  # where it holds, the same option grades as usual
        (submission / "conv.py").write_text(REFERENCE)
        run = grade(submission, "--exercise", "conv", "--gradescope-json", result, "--require-fence")
        assert json.loads(result.read_text())["score"] == 25, run.stdout[-3000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Landlock and seccomp are Linux's")
def test_the_fence_recorded_is_the_one_reported_before_the_submission_ran(tmp_path):
    """A module that sends a report of its own as it is imported does not change what results.json records."""
    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "conv.py").write_text(FORGED_REPORT + REFERENCE)
    result = tmp_path / "results.json"
    run = without_landlock(submission, "--exercise", "conv", "--gradescope-json", result)
    held = json.loads(result.read_text())["extra_data"]["fence"]
    assert held["filesystem"] is None, (held, run.stdout[-2000:])
    assert any("Landlock unavailable" in problem for problem in held["problems"]), held
    assert "but without a filesystem fence. Your grade is the same" in run.stdout, run.stdout[-2000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Landlock and seccomp are Linux's")
def test_a_batch_that_requires_the_fence_gives_each_submission_an_error_row_saying_why(tmp_path):
    """``--out DIR --require-fence`` where Landlock is missing: every row is 0, "error", with the reason."""
    for name in ("alice", "bob"):
        (tmp_path / "submissions" / name).mkdir(parents=True)
        (tmp_path / "submissions" / name / "conv.py").write_text(REFERENCE)
    run = without_landlock(tmp_path / "submissions", "--exercise", "conv", "--out", tmp_path / "out",
                           "--require-fence", "--no-progress")
    rows = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()
    assert len(rows) == 3, run.stdout[-2000:] + run.stderr[-2000:]
    for row in rows[1:]:
        assert row.startswith(("alice,0,0,25,error,", "bob,0,0,25,error,")), row
        assert "requires a fence this machine did not give: filesystem" in row, row
