"""``python -m grader release``: the learner's starter repository holds the stubs, checks, grader and data,
no answers, installs offline into a fresh environment, and grades the stubs as "not started"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.instructor import release, stubgen
from tests.conftest import ROOT

# What a release may hold at its top level, and what it must never hold.
RELEASED_TOP = {".github", ".gitignore", "README.md", "checks", "course.toml", "data", "exercises", "grader", "lab",
                "notebooks", "pyproject.toml"}
NEVER_RELEASED = ("solutions/", "tests/", ".ci/", "data/convert.py", "data/pretrain_base.py", "lab/demo_training.py",
                  "lab/benchmark_engine.py", "lab/benchmark_watch.py", "notebooks/make_chapter5.py")


def run_grader(*arguments, cwd=ROOT, timeout=120):
    """Runs ``python -m grader ARGUMENTS`` in ``cwd``; returns the finished process."""
    return subprocess.run([sys.executable, "-m", "grader", *map(str, arguments)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=clean_environment())


def clean_environment(**extra) -> dict:
    """This process's environment less what would change a grade (a target, a seed, pytest's own options)."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHECKS_", "PYTEST_")) and k != "PYTHONPATH"}
    environ.update(extra)
    return environ


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """One release of this repository, made with the command a instructor runs."""
    dest = tmp_path_factory.mktemp("release") / "convnets"
    run = run_grader("release", dest)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"wrote {dest}" in run.stdout
    return dest


def released_paths(dest: Path) -> set[str]:
    return {path.relative_to(dest).as_posix() for path in dest.rglob("*") if path.is_file()}


def test_release_holds_fresh_stubs_checks_grader_and_data_and_nothing_else(released):
    paths = released_paths(released)
    assert {path.split("/")[0] for path in paths} - {"docs"} == RELEASED_TOP
    pictures = set(release.PICTURE.findall((released / "README.md").read_text()))
    assert {path for path in paths if path.startswith("docs/")} == pictures, "docs/: only what the README shows"
    for forbidden in NEVER_RELEASED:
        assert not [path for path in paths if path.startswith(forbidden)], forbidden
    for name in stubgen.solution_names():
        stub = (released / "exercises" / f"{name}.py").read_text()
        assert stub == stubgen.make_stub((ROOT / "solutions" / f"{name}.py").read_text(), name)
        assert stubgen.is_untouched(stub)
        assert (released / "grader" / "stubs" / f"{name}.py").read_text() == stub  # for `python -m grader reset`
    assert (released / "notebooks" / "chapter5.ipynb").read_bytes() == (ROOT / "notebooks" / "chapter5.ipynb").read_bytes()
    for source in [*(ROOT / "checks").glob("*.py"), *(ROOT / "grader").rglob("*.py"), ROOT / "course.toml"]:
        assert (released / source.relative_to(ROOT)).read_bytes() == source.read_bytes(), source
    for data in ("mnist_5k.npz", "animals.npz", "pretrained_base.npz", "cam_model.weights.npz", "LICENSES.md"):
        assert (released / "data" / data).read_bytes() == (ROOT / "data" / data).read_bytes()
    assert (released / ".github" / "workflows" / "classroom.yml").read_bytes() == (
        ROOT / "grader" / "instructor" / "autograder" / "classroom.yml").read_bytes()
    assert not [path for path in paths if "__pycache__" in path or path.endswith(".pyc")]


def test_release_readme_is_the_learners_part(released):
    readme = (released / "README.md").read_text()
    assert "pytest checks" in readme
    for instructor_only in ("## For instructors", "python -m grader grade", "python -m grader release",
                            release.INSTRUCTOR_BEGIN):
        assert instructor_only not in readme
    for picture in release.PICTURE.findall(readme):
        assert (released / picture).is_file(), picture


def test_released_files_hold_no_solution_text(released):
    """Only the acknowledged overlap (the checks' own frozen model) is found; the stubs hold no marked line."""
    files = {path: (released / path).read_bytes() for path in released_paths(released)}
    blocks, public = release.solution_text(ROOT / "solutions")
    leaks = release.find_solution_text(files, blocks, public)
    assert {(leak.path, leak.block.label) for leak in leaks} <= set(release.ACKNOWLEDGED)
    marked = {line for block in blocks for line in block.lines if len(line) >= release.TELLING_CHARS} - public
    for name in stubgen.solution_names():
        stub_lines = {line.strip() for line in (released / "exercises" / f"{name}.py").read_text().splitlines()}
        assert not stub_lines & marked, name


def test_solution_text_planted_in_a_released_file_stops_the_release(tmp_path):
    """A copy of the course whose lab/ holds a pasted answer: the release is refused and writes nothing."""
    course = tmp_path / "course"
    for name in ("solutions", "checks", "grader", "data", "lab"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "course.toml", "pyproject.toml", ".gitignore"):
        shutil.copy2(ROOT / name, course / name)
    answer = next(block for block in release.solution_text(ROOT / "solutions")[0] if block.label == "conv.conv2d")
    pasted = "\n".join("    " + line for line in answer.lines)
    (course / "lab" / "figures.py").write_text((ROOT / "lab" / "figures.py").read_text()
                                               + f"\n\ndef my_conv2d(x, kernel, bias=None, strides=1, padding='valid',"
                                                 f" dilation=1):\n{pasted}\n")
    dest = tmp_path / "release"
    run = run_grader("release", dest, cwd=course)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "lab/figures.py" in run.stderr and "conv.conv2d" in run.stderr and "nothing was written" in run.stderr
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["course"], "no half-written release left behind"


def test_release_refuses_a_folder_that_is_not_empty_and_a_file(tmp_path):
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    run = run_grader("release", dest)
    assert run.returncode == 2 and "is not empty" in run.stderr
    assert [p.name for p in dest.iterdir()] == ["notes.txt"] and (dest / "notes.txt").read_text() == "mine"
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    run = run_grader("release", a_file)
    assert run.returncode == 2 and "not a folder" in run.stderr and a_file.read_text() == "mine"


def test_a_release_cannot_make_a_release(released, tmp_path):
    run = run_grader("release", tmp_path / "again", cwd=released)
    assert run.returncode == 2 and "holds no solutions" in run.stderr


def test_readme_instructor_parts_are_cut_at_the_markers():
    text = ("# Course\n\nStart here.\n\n<!-- instructor -->\nRun `pytest` on the tests.\n<!-- /instructor -->\n\n"
            "## Exercises\n\nThe exercises.\n\n<!-- instructor -->\n## Grading\n\npython -m grader grade\n")
    assert release.student_readme(text, log=lambda note: None) == (
        "# Course\n\nStart here.\n\n## Exercises\n\nThe exercises.\n")
    notes = []
    assert release.student_readme("# Course\n\n## For instructors\n\nsecret\n", log=notes.append) == "# Course\n"
    assert notes and "## For instructors" in notes[0]


def fresh_environment(folder: Path) -> Path:
    """A new venv that sees this one's packages through a .pth file (nothing is downloaded); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=60)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))  # once each, in order
    Path(site, "course-dependencies.pth").write_text("".join(f"{folder}\n" for folder in ours))
    return python


def test_release_installs_offline_in_a_fresh_environment_and_grades_the_stubs(released, tmp_path):
    work = tmp_path / "convnets"
    shutil.copytree(released, work)  # the learner's clone, so that installing it leaves the shared release alone
    python = fresh_environment(tmp_path / "venv")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--quiet", "-e", str(work)],
        capture_output=True, text=True, timeout=180, env=clean_environment(PIP_NO_INPUT="1"))
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=work,
                           capture_output=True, text=True, env=clean_environment())
    assert Path(where.stdout.strip()) == work / "grader" / "__init__.py", where.stderr

    results = tmp_path / "classroom.json"
    grading = subprocess.run([str(python), "-m", "pytest", "checks/test_conv.py", f"--classroom-json={results}"],
                             cwd=work, capture_output=True, text=True, timeout=300, env=clean_environment())
    assert grading.returncode == 1, grading.stdout[-3000:] + grading.stderr[-2000:]
    graded = json.loads(results.read_text())
    assert (graded["score"], graded["max_score"], graded["status"]) == (0, 25, "fail")
    assert len(graded["tests"]) == 14
    assert all(test["message"].startswith("not started") for test in graded["tests"])
    assert "0 / 25" in grading.stdout

    stub = (work / "exercises" / "conv.py").read_text()
    (work / "exercises" / "conv.py").write_text(stub + "\nmy_work = 1\n")
    reset = subprocess.run([str(python), "-m", "grader", "reset", "conv"], cwd=work, capture_output=True, text=True,
                           timeout=60, env=clean_environment())
    assert reset.returncode == 0, reset.stderr
    assert (work / "exercises" / "conv.py").read_text() == stub  # from grader/stubs/: a release has no solutions
    backups = list((work / ".grader" / "backups").glob("conv.*.py"))
    assert [backup.read_text() for backup in backups] == [stub + "\nmy_work = 1\n"]

    reference = subprocess.run([str(python), "-m", "pytest", "checks/test_conv.py", "--target=solutions"],
                               cwd=work, capture_output=True, text=True, timeout=120, env=clean_environment())
    assert reference.returncode == 4  # pytest's usage error
    assert "not part of this release" in reference.stderr
