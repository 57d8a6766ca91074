"""``python -m grader check-course``: the course's parts agree with each other.

As ``rustlings dev check`` validates ``info.toml`` against the exercise files,
this reads every part of the course that names an exercise or a task and
reports each disagreement with the file it is in:

- the manifest, ``course.toml`` (its exercises in order), against ``checks/test_NAME.py``,
  ``exercises/NAME.py`` and ``solutions/NAME.py`` (absent from a learner's release);
- each exercise's tasks and hints in the manifest against its checks' ``@pytest.mark.points(n,
  task=...)`` marks and the functions the solution and the stub define (a hint ladder of three
  steps per task: nudge, idea, API);
- ``exercises/NAME.py`` against what ``python -m grader stubgen`` makes of the solution;
- ``tests/mutants/NAME.py`` (each mutant applies to the solution and names a check of
  ``checks/test_NAME.py``) and ``tests/alternatives/NAME/*.py`` (each defines every task);
- ``notebooks/chapter5.ipynb``: one grade cell per exercise, in course order;
- the release's Classroom workflow (``grader/instructor/autograder/classroom.yml``): its ``EXERCISES``;
- ``checks/catalog.json`` against the checks files (``python -m grader catalog`` wrote it from them).

The manifest is read as TOML, the catalog as JSON (against the digests of the checks files), and everything
else from the files' syntax (``ast``), never imported, except the mutants (``tests/mutants/`` builds them in
code). Parts a learner's release does not ship (solutions, tests, notebook) are checked where they exist.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import CATALOG, MANIFEST, ROOT, Exercise, ManifestError, read_manifest
from grader.instructor import catalog

NOTEBOOK = Path("notebooks") / "chapter5.ipynb"
CLASSROOM_WORKFLOW = Path("grader") / "instructor" / "autograder" / "classroom.yml"
HINT_STEPS = 3  # nudge, idea, API


@dataclass
class CourseReport:
    """What ``check_course`` found: disagreements, and what it counted where all agree."""

    problems: list[str] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def count(self, what: str, n: int = 1) -> None:
        self.counted[what] = self.counted.get(what, 0) + n

    def summary(self) -> str:
        if self.problems:
            return "\n".join([f"check-course: {len(self.problems)} disagreement(s)", *(f"  {p}" for p in self.problems)])
        counts = ", ".join(f"{n} {what}" for what, n in self.counted.items())
        return f"check-course: the course agrees with itself ({counts})."


def check_course(root: Path = ROOT) -> CourseReport:
    """Reads every part of the course under ``root`` and reports where they disagree.

    Args:
        root: the course repository (or a learner's release of it).
    Returns:
        A ``CourseReport``; no problems means every part agrees.
    """
    report = CourseReport()
    try:
        course = read_manifest(root)
    except ManifestError as error:  # every other part is read against it: nothing more to say
        report.problem(MANIFEST, str(error).removeprefix(f"{MANIFEST}: "))
        return report
    exercises = tuple(exercise.name for exercise in course)
    tasks_of: dict[str, tuple[str, ...]] = {}
    checks_of: dict[str, set[str]] = {}
    for path in sorted((root / "checks").glob("test_*.py")):
        if path.stem.removeprefix("test_") not in exercises:
            report.problem(_shown(path, root), f"no exercise {path.stem.removeprefix('test_')!r} in {MANIFEST}: add "
                                               "an [[exercise]] there (in course order) or rename the file")
    for exercise in course:
        report.count("exercises")
        checks = _check_exercise(root, exercise, report)
        _check_entry(exercise, report)
        tasks_of[exercise.name], checks_of[exercise.name] = tuple(exercise.tasks), checks
    for path in catalog.stale_files(root, exercises):
        report.problem(CATALOG, f"does not describe {path} as it is now: run `python -m grader catalog`")
    _check_mutants(root, exercises, checks_of, report)
    _check_alternatives(root, tasks_of, report)
    _check_notebook(root, exercises, report)
    _check_classroom_workflow(root, exercises, report)
    return report


def _check_exercise(root: Path, exercise: Exercise, report: CourseReport) -> set[str]:
    """One exercise of the manifest against its checks file, stub and solution; returns its check names."""
    name, tasks = exercise.name, tuple(exercise.tasks)
    checks_path = root / exercise.checks_file
    shown = _shown(checks_path, root)
    report.count("tasks", len(tasks))
    if not checks_path.is_file():
        report.problem(shown, f"missing: {MANIFEST} names the exercise {name!r}, which has no checks")
        return set()
    tree = _parse(checks_path, report, root)
    if tree is None:
        return set()

    graded: dict[str, int] = {task: 0 for task in tasks}
    checks = set()
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test")):
            continue
        checks.add(node.name)
        task = _marked_task(node)
        where = f"{shown}:{node.lineno}"
        if task is _NOT_MARKED:
            report.problem(where, f"{node.name} has no @pytest.mark.points(n, task=...): it would earn nothing")
        elif task not in graded:
            report.problem(where, f"{node.name} grades task {task!r}, which is not a task of {name!r} in "
                                  f"{MANIFEST} {tasks}")
        else:
            graded[task] += 1
    report.count("checks", len(checks))
    for task, n in graded.items():
        if not n:
            report.problem(shown, f"task {task!r} of {MANIFEST} has no check (no @pytest.mark.points(n, "
                                  f"task={task!r}))")

    for folder in ("solutions", "exercises"):
        module = root / folder / f"{name}.py"
        if folder == "solutions" and not (root / folder).is_dir():
            continue  # a learner's release has no solutions
        if not module.is_file():
            report.problem(_shown(module, root), f"missing: the module of exercise {name!r}")
            continue
        module_tree = _parse(module, report, root)
        defined = {n.name for n in getattr(module_tree, "body", ()) if isinstance(n, ast.FunctionDef)}
        for task in tasks:
            if task not in defined:
                report.problem(_shown(module, root), f"no function {task!r}, a task of {name!r} in {MANIFEST} "
                                                     "(renamed? the checks call the tasks by these names)")
    _check_stub(root, name, report)
    return checks


def _check_entry(exercise: Exercise, report: CourseReport) -> None:
    """The manifest's entry itself: a hint, and three hint steps per task."""
    where = f"{MANIFEST}, exercise {exercise.name!r}"
    if not exercise.hint.strip():
        report.problem(where, "the hint is empty (python -m grader list shows it)")
    for task, steps in exercise.tasks.items():
        if len(steps) != HINT_STEPS or not all(step.strip() for step in steps):
            report.problem(where, f"task {task!r} should have {HINT_STEPS} hint steps (nudge, idea, API)")
        else:
            report.count("hint ladders")


def _check_stub(root: Path, name: str, report: CourseReport) -> None:
    from grader.instructor import stubgen

    solution, stub = root / "solutions" / f"{name}.py", root / "exercises" / f"{name}.py"
    if not (solution.is_file() and stub.is_file()):
        return
    if stub.read_text(encoding="utf-8") != stubgen.make_stub(solution.read_text(encoding="utf-8"), name):
        report.problem(_shown(stub, root), f"differs from what `python -m grader stubgen {name}` makes of "
                                           f"solutions/{name}.py: run it")


def _check_mutants(root: Path, exercises: tuple[str, ...], checks_of: dict[str, set[str]],
                   report: CourseReport) -> None:
    folder = root / "tests" / "mutants"
    if not folder.is_dir() or not (root / "solutions").is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        if path.stem == "__init__":
            continue
        shown = _shown(path, root)
        if path.stem not in exercises:
            report.problem(shown, f"mutants of {path.stem!r}, which is not an exercise of {MANIFEST}")
            continue
        try:
            mutants = _load_mutants(root, path.stem)
        except Exception as error:  # noqa: BLE001 - any error of the module is the course's to fix
            report.problem(shown, f"cannot be loaded: {type(error).__name__}: {error}")
            continue
        solution = (root / "solutions" / f"{path.stem}.py").read_text(encoding="utf-8")
        for mutant in mutants:
            if mutant.check not in checks_of.get(path.stem, set()):
                report.problem(shown, f"mutant {mutant.name!r} names check {mutant.check!r}, which "
                                      f"checks/test_{path.stem}.py does not have")
            try:
                mutant.apply(solution)
            except ValueError as error:
                report.problem(shown, f"{error} (the solution changed: update the mutant)")
            report.count("mutants")


def _load_mutants(root: Path, exercise: str) -> list:
    """``MUTANTS`` of ``tests/mutants/EXERCISE.py`` under ``root`` (run: mutants are built in code).

    The file runs under a name of its own, so that a process that imported another course's
    ``tests.mutants`` (a test run) reads this course's file all the same.
    """
    if str(root) not in sys.path:
        sys.path.append(str(root))  # for its `from tests.mutants import Mutant`, where tests/ is not importable yet
    spec = importlib.util.spec_from_file_location(f"_course_mutants_{exercise}",
                                                  root / "tests" / "mutants" / f"{exercise}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.MUTANTS)


def _check_alternatives(root: Path, tasks_of: dict[str, tuple[str, ...]], report: CourseReport) -> None:
    folder = root / "tests" / "alternatives"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*/*.py")):
        exercise = path.parent.name
        shown = _shown(path, root)
        if exercise not in tasks_of:
            report.problem(shown, f"an alternative for {exercise!r}, which is not an exercise of {MANIFEST}")
            continue
        tree = _parse(path, report, root)
        defined = {n.name for n in getattr(tree, "body", ()) if isinstance(n, ast.FunctionDef)}
        missing = [task for task in tasks_of[exercise] if task not in defined]
        if missing:
            report.problem(shown, f"an alternative is a whole {exercise}.py: it defines no {', '.join(missing)}")
        report.count("alternatives")


def _check_notebook(root: Path, exercises: tuple[str, ...], report: CourseReport) -> None:
    path = root / NOTEBOOK
    if not path.is_file():
        return
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        graded = ["".join(cell["source"]) for cell in cells if "grade" in cell.get("metadata", {}).get("tags", [])]
    except (ValueError, KeyError, TypeError) as error:
        report.problem(_shown(path, root), f"cannot be read as a notebook: {error}")
        return
    wanted = [f'grade("{name}")' for name in exercises]
    if graded != wanted:
        report.problem(_shown(path, root), f"its grade cells should be {wanted} (one per exercise, in course "
                                           f"order), not {graded}: edit notebooks/make_chapter5.py")


def _check_classroom_workflow(root: Path, exercises: tuple[str, ...], report: CourseReport) -> None:
    """The exercises the release's Classroom workflow grades by default: the course's, in its order."""
    path = root / CLASSROOM_WORKFLOW
    if not path.is_file():
        return
    import re

    found = re.search(r'^\s*EXERCISES:\s*"([^"]*)"', path.read_text(encoding="utf-8"), re.MULTILINE)
    listed = tuple(found.group(1).split()) if found else None
    if listed != exercises:
        report.problem(_shown(path, root), f"EXERCISES should be \"{' '.join(exercises)}\" (the course, in its "
                                           f"order), not {listed!r}")


_NOT_MARKED = object()


def _marked_task(node: ast.FunctionDef):
    """The ``task=`` of the check's points mark; ``_NOT_MARKED`` without a points mark."""
    for decorator in node.decorator_list:
        if _mark_name(decorator) == "points" and isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "task":
                    try:
                        return ast.literal_eval(keyword.value)
                    except ValueError:
                        return None
            return None
    return _NOT_MARKED


def _mark_name(decorator: ast.expr) -> str | None:
    """The mark's name ("points" for ``@pytest.mark.points(...)`` or ``@mark.points``); None if not a mark."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute) and target.value.attr == "mark":
        return target.attr
    if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "mark":
        return target.attr
    return None


def _parse(path: Path, report: CourseReport, root: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError) as error:
        report.problem(_shown(path, root), f"cannot be read: {error}")
        return None


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def add_command(commands) -> None:
    import argparse

    parser = commands.add_parser(
        "check-course",
        help="check that the course's parts agree (exercises, checks, tasks, hints, stubs, mutants, notebook)",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the course repository (default: this checkout)")
    parser.set_defaults(run=_run)


def _run(args) -> int:
    report = check_course(args.root.resolve())
    print(report.summary())
    return 1 if report.problems else 0
