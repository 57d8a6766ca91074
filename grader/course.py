"""The course: its exercises in order, and where the code under test lives."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Exercise modules in course order; the score table and the result files number
# exercises by their place here.
EXERCISES = ("conv", "mnist", "dataset", "convnet", "transfer", "curves", "visualize")

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
    """A short hash of the checks and the grading engine: two checkouts that grade alike share it."""
    import hashlib

    digest = hashlib.sha256()
    for folder in ("checks", "grader"):
        for path in sorted((ROOT / folder).glob("*.py")):
            digest.update(f"{folder}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
