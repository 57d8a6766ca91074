"""``python -m grader check-course``: passes on this course, and names the file and what disagrees otherwise."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.instructor.check_course import check_course
from tests.conftest import ROOT

PARTS = ("course.toml", "grader/instructor/autograder/classroom.yml", "checks", "solutions", "exercises",
         "tests/__init__.py", "tests/mutants",
         "tests/alternatives", "notebooks/chapter5.ipynb")


def check_course_command(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "check-course", "--root", str(root)],
                          capture_output=True, text=True, timeout=120, cwd=root.parent)


def copy_of_the_course(folder: Path) -> Path:
    for part in PARTS:
        source, target = ROOT / part, folder / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new))


def test_this_course_agrees_with_itself():
    run = check_course_command(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the course agrees with itself (7 exercises" in run.stdout, run.stdout


def test_the_catalog_is_what_pytest_collects():
    """``checks/catalog.json`` lists every check with the name, points and task the plugin registers."""
    run = subprocess.run([sys.executable, "-m", "grader", "catalog", "--check"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "checks/catalog.json matches the checks (110 checks)." in run.stdout, run.stdout


def test_each_disagreement_is_named_with_its_file(tmp_path):
    from tests.mutants import all_mutants

    all_mutants()  # as in a test run that graded them: this checkout's tests.mutants.* are imported
    course = copy_of_the_course(tmp_path / "course")
    assert not check_course(course).problems, "the copy should agree before it is edited"
    edit(course / "solutions" / "conv.py", "def conv2d(", "def convolve2d(")  # a function renamed in one place
    # a hint for a task that does not exist, and one with two steps
    edit(course / "course.toml", "\nsmooth_curve = [", '\nsmooth = ["a", "b", "c"]\nsmooth_curve = [')
    edit(course / "course.toml", "\nbuild_activation_model = [",
         '\nearly_look = ["a nudge?", "the idea"]\nbuild_activation_model = [')
    (course / "checks" / "test_extra.py").write_text("def test_nothing():\n    pass\n")
    edit(course / "tests" / "mutants" / "mnist.py", 'check="test_mnist_model_parameter_count"),\n]', 'check="test_mnist_model_parameters"),\n]')
    edit(course / "course.toml", "\nplot_history = [", "\nplot_histories = [")  # a task renamed in the manifest
    edit(course / "grader" / "instructor" / "autograder" / "classroom.yml", ' curves visualize"', ' visualize curves"')
    (course / "checks" / "test_dataset.py").write_text((course / "checks" / "test_dataset.py").read_text() + "\n")

    run = check_course_command(course)
    assert run.returncode == 1, run.stdout + run.stderr
    shown = run.stdout
    for expected in (
        "solutions/conv.py: no function 'conv2d', a task of 'conv' in course.toml",
        "exercises/conv.py: differs from what `python -m grader stubgen conv` makes of solutions/conv.py",
        "checks/test_curves.py: task 'smooth' of course.toml has no check",
        "solutions/curves.py: no function 'smooth', a task of 'curves' in course.toml",
        "course.toml, exercise 'visualize': task 'early_look' should have 3 hint steps (nudge, idea, API)",
        "checks/test_extra.py: no exercise 'extra' in course.toml",
        "which checks/test_mnist.py does not have",
        "names check 'test_mnist_model_parameters'",
        "checks/test_curves.py: task 'plot_histories' of course.toml has no check",
        "solutions/curves.py: no function 'plot_histories'",
        "grader/instructor/autograder/classroom.yml: EXERCISES should be \"conv mnist dataset convnet transfer "
        "curves visualize\" (the course, in its order)",
        "checks/catalog.json: does not describe checks/test_dataset.py as it is now: run `python -m grader catalog`",
    ):
        assert expected in shown, f"{expected!r} not in:\n{shown}"
    # each check of the old name, with its line
    assert re.search(r"checks/test_curves.py:\d+: test_plot_history_panels grades task 'plot_history', which is not "
                     r"a task of 'curves' in course.toml \('smooth', 'smooth_curve', 'plot_histories'\)", shown), shown
    assert shown.splitlines()[0].startswith("check-course: ") and "disagreement" in shown.splitlines()[0]


def test_a_manifest_that_cannot_be_read_is_named_and_nothing_grades(tmp_path):
    """A broken ``course.toml``: check-course says where; the commands and ``pytest checks`` refuse to start."""
    course = copy_of_the_course(tmp_path / "course")
    edit(course / "course.toml", '[[exercise]]\nname = "mnist"', '[[exercise]]\nname = "mnist"\nname = "mnist2"')
    run = check_course_command(course)
    assert run.returncode == 1 and "course.toml: Cannot overwrite a value (at line" in run.stdout, run.stdout
    assert len(run.stdout.strip().splitlines()) == 2, run.stdout  # the summary and that line: nothing else to say
    shutil.copytree(ROOT / "grader", course / "grader", ignore=shutil.ignore_patterns("__pycache__"),
                    dirs_exist_ok=True)
    shutil.copy2(ROOT / "pyproject.toml", course / "pyproject.toml")
    listing = subprocess.run([sys.executable, "-m", "grader", "list"], capture_output=True, text=True, timeout=120,
                             cwd=course)
    assert listing.returncode == 2 and "error: course.toml: Cannot overwrite a value" in listing.stderr, listing
    graded = subprocess.run([sys.executable, "-m", "pytest", "checks", "-q"], capture_output=True, text=True,
                            timeout=120, cwd=course)
    assert graded.returncode != 0 and "the course cannot be graded without it" in graded.stdout + graded.stderr, graded


@pytest.mark.parametrize(("old", "new", "said"), [
    ('name = "conv"\n', 'name = "conv"\nblocked-packages = ["scipy"]\n',
     "keys this course does not know: blocked-packages"),
    ('blocked_packages = ["tensorflow", "keras", "tf_keras", "torch", "jax", "jaxlib", "scipy"]',
     'blocked_packages = "scipy"', "blocked_packages of 'conv' is a list of package names, not 'scipy'"),
    ('[[exercise]]\nname = "conv"', 'title = "convnets"\n\n[[exercise]]\nname = "conv"',
     "keys this course does not know: title"),
])
def test_a_manifest_entry_of_the_wrong_shape_is_refused_with_the_reason(tmp_path, old, new, said):
    from grader.course import ManifestError, read_manifest

    (tmp_path / "course.toml").write_text((ROOT / "course.toml").read_text().replace(old, new, 1))
    with pytest.raises(ManifestError, match=re.escape(said)):
        read_manifest(tmp_path)


def test_a_learners_release_is_checked_for_what_it_ships(tmp_path):
    """Without solutions/, tests/ and the notebook (a learner's release), the rest is still checked."""
    course = copy_of_the_course(tmp_path / "course")
    for part in ("solutions", "tests", "notebooks"):
        shutil.rmtree(course / part)
    assert not check_course(course).problems
    (course / "exercises" / "dataset.py").unlink()
    assert check_course(course).problems == ["exercises/dataset.py: missing: the module of exercise 'dataset'"]
