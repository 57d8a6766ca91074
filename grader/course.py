"""The course: its exercises in order (the manifest, ``course.toml``), its default limits, where the code lives."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib  # novermin: from Python 3.11 on, guarded above
else:  # pragma: no cover - Python 3.10 reads TOML with the backport
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "course.toml"
CATALOG = "checks/catalog.json"  # the checks as pytest collects them, written by `python -m grader catalog`


@dataclass(frozen=True)
class Exercise:
    """One exercise of the manifest.

    Args:
        name: its module, ``exercises/NAME.py``; its checks are ``checks/test_NAME.py``.
        hint: one line for the whole exercise, shown where a task has no hint.
        tasks: its tasks in order, each with its hint's steps (a nudge, the idea, the API).
        blocked_packages: what its workers may not import.
    """

    name: str
    hint: str
    tasks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blocked_packages: tuple[str, ...] = ()

    @property
    def checks_file(self) -> str:
        """Its checks file, relative to the course's root."""
        return f"checks/test_{self.name}.py"


class ManifestError(ValueError):
    """``course.toml`` is missing, is not TOML, or does not describe exercises as it should."""


def read_manifest(root: Path = ROOT) -> tuple[Exercise, ...]:
    """The exercises of ``root/course.toml``, in course order.

    Raises:
        ManifestError: the file is missing or unreadable, or an entry lacks a name, a hint or tasks.
    """
    path = root / MANIFEST
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"{MANIFEST}: {error}") from None
    unknown = sorted(set(manifest) - {"exercise"})
    if unknown:
        raise ManifestError(f"{MANIFEST}: keys this course does not know: {', '.join(unknown)} (only [[exercise]] "
                            "tables)")
    entries = manifest.get("exercise")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise ManifestError(f"{MANIFEST}: no [[exercise]] tables")
    exercises = []
    for number, entry in enumerate(entries, start=1):
        exercises.append(_exercise(number, entry))
    if len({exercise.name for exercise in exercises}) != len(exercises):
        raise ManifestError(f"{MANIFEST}: an exercise is named twice")
    return tuple(exercises)


def _exercise(number: int, entry: dict) -> Exercise:
    """One ``[[exercise]]`` table as an ``Exercise``; a missing, misspelt or mistyped key is a ``ManifestError``."""
    name, hint, tasks = entry.get("name"), entry.get("hint"), entry.get("tasks")
    blocked = entry.get("blocked_packages", [])
    if not isinstance(name, str) or not name.isidentifier():
        raise ManifestError(f"{MANIFEST}: exercise {number} has no name that can be a module's ({name!r})")
    unknown = sorted(set(entry) - {"name", "hint", "tasks", "blocked_packages"})
    if unknown:
        raise ManifestError(f"{MANIFEST}: exercise {name!r} has keys this course does not know: {', '.join(unknown)} "
                            "(name, hint, blocked_packages and [exercise.tasks] are)")
    if not isinstance(hint, str) or not isinstance(tasks, dict) or not tasks:
        raise ManifestError(f"{MANIFEST}: exercise {name!r} needs a hint and a [exercise.tasks] table")
    if not all(isinstance(steps, list) and all(isinstance(s, str) for s in steps) for steps in tasks.values()):
        raise ManifestError(f"{MANIFEST}: each task of {name!r} is a list of hint steps (strings)")
    if not isinstance(blocked, list) or not all(isinstance(package, str) and package for package in blocked):
        raise ManifestError(f"{MANIFEST}: blocked_packages of {name!r} is a list of package names, not {blocked!r}")
    return Exercise(name, hint, {task: tuple(steps) for task, steps in tasks.items()}, tuple(blocked))


try:
    COURSE = read_manifest()
    MANIFEST_ERROR: ManifestError | None = None
except ManifestError as error:  # said by every command (check-course reports it with the rest)
    COURSE, MANIFEST_ERROR = (), error

# Exercise modules in course order; the score table and the result files number
# exercises by their place here.
EXERCISES = tuple(exercise.name for exercise in COURSE)
_BY_NAME = {exercise.name: exercise for exercise in COURSE}


def exercise(name: str) -> Exercise | None:
    """The manifest's entry for ``name``; None for a name that is not an exercise of the course."""
    return _BY_NAME.get(name)


def hint_steps(name: str, task: str | None) -> tuple[str, ...]:
    """The steps of ``task``'s hint (a nudge, the idea, the API); the exercise's one hint where the task has none.

    Always at least one step: ``("",)`` for a name that is not an exercise of the course.
    """
    entry = _BY_NAME.get(name)
    if entry is None:
        return ("",)
    return entry.tasks.get(task or "") or (entry.hint,)


# --------------------------------------------------------------------------- the checks, known without importing


def declared_checks(name: str, root: Path = ROOT) -> list[dict] | None:
    """``name``'s checks as the plugin registers them, from the catalog (``checks/catalog.json``).

    The catalog is what pytest collected, written by ``python -m grader catalog``: knowing the checks from it
    takes milliseconds, where importing them takes seconds (TensorFlow) and may fail.

    Returns:
        One dict per check, in collection order: ``nodeid``, ``exercise``, ``name`` (the first line of its
        docstring), ``points``, ``task`` and ``function``. None when the catalog does not describe the checks
        file as it is now: no entry, or the file changed since it was written (only collection can tell then).
    """
    entry = _catalog(root).get(name)
    path = root / "checks" / f"test_{name}.py"
    try:
        current = checks_digest(path)
    except OSError:
        return None
    if not isinstance(entry, dict) or entry.get("sha256") != current:
        return None
    try:
        checks = [{"nodeid": f"checks/{path.name}::{check['function']}", "exercise": name, "name": str(check["name"]),
                   "points": float(check["points"]), "task": check["task"], "function": str(check["function"])}
                  for check in entry["checks"]]
    except (KeyError, TypeError, ValueError):
        return None
    return checks if all(check["task"] is None or isinstance(check["task"], str) for check in checks) else None


def checks_digest(path: Path) -> str:
    """The sha256 of a checks file with its line endings as LF (a Windows checkout may have made them CRLF).

    Raises:
        OSError: the file cannot be read.
    """
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def declared_points(arguments: list[str], base: Path) -> dict[str, float] | None:
    """The points each exercise's checks declare, for pytest's file and folder ``arguments`` (``declared_checks``).

    Args:
        arguments: what pytest was given: ``checks``, ``checks/test_NAME.py``..., relative to ``base``.
    Returns:
        exercise -> points; None when that may differ from what collection will find: a node id argument,
        a path that is not this course's ``checks/`` or one of its files, a checks file the catalog does not
        describe as it is now.
    """
    checks = (ROOT / "checks").resolve()
    names: list[str] = []
    for argument in arguments:
        path = (base / argument).resolve()  # an absolute argument stays as it is
        if "::" in argument:
            return None
        if path == checks:
            names += EXERCISES
        elif path.parent == checks and path.stem.removeprefix("test_") in EXERCISES and path.suffix == ".py":
            names.append(path.stem.removeprefix("test_"))
        else:
            return None
    points = {}
    for name in dict.fromkeys(names):
        declared = declared_checks(name)
        if declared is None:
            return None
        points[name] = math.fsum(check["points"] for check in declared)
    return points


def _catalog(root: Path) -> dict:
    """The catalog's entries by exercise; empty when it is missing or unreadable."""
    try:
        catalog = json.loads((root / CATALOG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    exercises = catalog.get("exercises") if isinstance(catalog, dict) else None
    return exercises if isinstance(exercises, dict) else {}


# The default limits of a grading run, wherever it starts (pytest, grade, a batch, a runner, Gradescope):
CHECK_SECONDS = 60.0  # each check (more for the checks that train: their own ``timeout=``)
RUN_SECONDS = 1800.0  # the whole run; the checks after it read "not run"
# Of the grading process itself (not its workers: each has its own limit), for `python -m grader grade` and
# batch runners. The grading process of a full reference run (2a754e3, `python -m grader grade solutions`)
# peaked at 3.4 GiB of address space (TensorFlow reserves much it never touches) and 2.0 GiB resident.
GRADER_MEMORY_GB = 8.0
# Beyond a run's deadline (--run-timeout), the time its grading process has to write the results before an
# outside watchdog kills it (`python -m grader grade`, each batch job).
WATCHDOG_GRACE_SECONDS = 20.0

# The instructor's secret seed of this run (``--grading-seed``), or None for
# the public inputs a learner sees; set by the plugin, read by the checks.
SECRET_SEED: list[int | None] = [None]


def read_seed_file(path: Path | str) -> str:
    """The secret seed held in ``path`` (``--grading-seed-file``), stripped.

    Raises:
        ValueError: the file cannot be read, or is empty (grading with the public inputs instead would go unseen).
    """
    try:
        seed = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--grading-seed-file: {error}") from None
    if not seed:
        raise ValueError(f"--grading-seed-file: {path} is empty; write the secret seed in it.")
    return seed


def resolve_target(target: str) -> Path:
    """Returns the folder holding the modules to grade.

    Args:
        target: "exercises", "solutions", or a path to any folder with modules
            of the same names (used for the project's mutant tests).
    Raises:
        ValueError: no such folder; for "solutions" in a learner's release
            (which has none), a message that says so.
    """
    path = Path(target)
    if not path.is_absolute():
        path = ROOT / path if (ROOT / path).is_dir() else Path.cwd() / path
    if not path.is_dir() and Path(target).parts == ("solutions",):
        raise ValueError(
            "--target 'solutions': the reference solutions are not part of this release of the course. "
            "Grade your own work with `pytest checks` (the default, --target=exercises)."
        )
    if not path.is_dir():
        raise ValueError(
            f"--target {target!r}: no such folder. Use 'exercises' (your work), "
            "'solutions' (the reference) or a path to a folder of modules."
        )
    return path.resolve()


def relative_path(path: Path | str) -> str:
    """A path as the learner sees it: relative to the project root if inside."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def course_fingerprint() -> str:
    """A short hash of the manifest, the checks and the grading engine: two checkouts that grade alike share it."""
    import hashlib

    digest = hashlib.sha256()
    for path in [ROOT / MANIFEST, *sorted((ROOT / "checks").glob("*.py")), *sorted((ROOT / "grader").rglob("*.py"))]:
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
