"""Shared helpers of the project's own tests: running the graded checks."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class GradingRun:
    returncode: int
    output: str
    classroom: dict
    gradescope: dict

    def statuses(self) -> dict[str, str]:
        """Check name -> status as the classroom file reports it."""
        return {t["name"]: t["status"] for t in self.classroom["tests"]}

    def messages(self) -> dict[str, str]:
        return {t["name"]: t["message"] or "" for t in self.classroom["tests"]}


_warm_runner = []  # one grading runner (grader/runner/server.py) for the whole test session

def run_checks(target, tmp_path: Path, *args: str, timeout: float = 900, cli: bool = False) -> GradingRun:
    """Grades ``target`` with the checks and returns what the run printed and wrote.

    Args:
        target: "solutions", "exercises" or a folder of modules.
        tmp_path: where the result files go.
        args: pytest arguments: check files (``checks/test_conv.py``), ``-k EXPR``,
            ``-x``, ``-q``, ``--check-timeout=S``, ``--show-traceback``.
        cli: run ``pytest checks`` in a subprocess, exactly as a student does.
            Otherwise (and if ``args`` allow it) one warm grading runner shared
            by the whole test session grades it: the same plugin and checks in
            a fresh pytest session, without paying TensorFlow's import again.
    """
    job = None if cli else _job_for(target, args)
    if job is None:
        return _run_checks_cli(target, tmp_path, *args, timeout=timeout)
    from grader.runner.client import RunnerProcess

    if not _warm_runner:
        _warm_runner.append(RunnerProcess())
    answer = _warm_runner[0].grade(job, timeout)
    assert answer.get("error") is None, f"the grading runner failed: {answer['error']}"
    for name, payload in (("classroom.json", answer["classroom"]), ("results.json", answer["gradescope"])):
        (tmp_path / name).write_text(json.dumps(payload))
    return GradingRun(answer["exit"], answer["output"], answer["classroom"] or {}, answer["gradescope"] or {})


def _job_for(target, args) -> dict | None:
    """The runner job equal to ``pytest ARGS --target=TARGET``, or None if ARGS need the real command line."""
    from grader import course

    exercises, options, rest = [], {}, list(args) or ["checks"]
    while rest:
        argument = rest.pop(0)
        if argument == "checks":
            exercises += course.EXERCISES
        elif argument.startswith("checks/test_") and argument.endswith(".py"):
            exercises.append(argument.removeprefix("checks/test_").removesuffix(".py"))
        elif argument.startswith("checks/test_") and ".py::" in argument:  # one check; run in the order given
            path, _, function = argument.partition("::")
            exercise = path.removeprefix("checks/test_").removesuffix(".py")
            exercises += [exercise] if exercise not in exercises else []
            options.setdefault("checks", []).append(f"{exercise}::{function}")
        elif argument == "-k" and rest:
            options["keyword"] = rest.pop(0)
        elif argument in ("-x", "--exitfirst"):
            options["exitfirst"] = True
        elif argument == "--show-traceback":
            options["show_traceback"] = True
        elif argument.startswith("--check-timeout="):
            options["check_timeout"] = float(argument.split("=", 1)[1])
        elif argument not in ("-q",):
            return None
    try:
        folder = course.resolve_target(str(target))
    except ValueError:
        return None
    modules = {path.stem: base64.b64encode(path.read_bytes()).decode()
               for path in folder.glob("*.py") if path.stem in course.EXERCISES}
    return {"id": str(target), "modules": modules, "exercises": exercises, "options": options,
            "label": course.relative_path(folder)}


def _run_checks_cli(target, tmp_path: Path, *args: str, timeout: float = 900) -> GradingRun:
    """Runs ``pytest checks`` on ``target`` in a subprocess, as a student would."""
    classroom, gradescope = tmp_path / "classroom.json", tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    command = [
        sys.executable, "-m", "pytest", *(args or ("checks",)), f"--target={target}",
        f"--classroom-json={classroom}", f"--gradescope-json={gradescope}", "-p", "no:cacheprovider",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    read = lambda p: json.loads(p.read_text()) if p.exists() else {}
    return GradingRun(run.returncode, run.stdout + run.stderr, read(classroom), read(gradescope))


@pytest.fixture
def grade(tmp_path):
    """``grade(target, *pytest_args)`` runs the checks and returns a ``GradingRun``."""
    return lambda target, *args, **kwargs: run_checks(target, tmp_path, *args, **kwargs)


# --------------------------------------------------------------------------
# One batch of submissions, graded once for the session (tests/test_grading.py)
# --------------------------------------------------------------------------


def _exercise_max() -> dict[str, float]:
    from grader import course

    declared = course.declared_points(["checks"], ROOT)
    if declared is None:
        pytest.exit("checks/catalog.json does not describe the checks as they are: run `python -m grader catalog`",
                    returncode=4)
    return declared


EXERCISE_MAX = _exercise_max()
COURSE_MAX = sum(EXERCISE_MAX.values())

# A few whole-exercise submissions with one bug each (tests/test_mutants.py proves every kept bug is caught).
CONV_MUTANTS_IN_BATCH = ("flipped-kernel", "bias-dropped", "valid-off-by-one", "strides-ignored")
# At import, tries to overwrite the instructor's checks and the grader; its conv2d ends its process.
HOSTILE_CONV = f"""
import pathlib
for target in ("checks/test_conv.py", "grader/results.py"):
    try:
        pathlib.Path({str(ROOT)!r}, target).write_text("PASS = True\\n")
    except OSError:
        pass
"""


def grader_command(*arguments, timeout: float = 900, tmpdir: Path | None = None) -> subprocess.CompletedProcess:
    """Runs ``python -m grader grade ARGUMENTS`` (batch options or not) as an instructor would.

    Args:
        tmpdir: its ``TMPDIR`` (to see what it leaves there), if not this process's.
    """
    env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None
    return subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, arguments)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def write_unreadable_zips(folder: Path, module: str = "conv") -> dict[str, Path]:
    """Two zips that hold exercises/MODULE.py but that Python's zipfile cannot read through.

    Returns:
        ``corrupt-deflate``: the module's compressed data is damaged (zlib.error on reading it);
        ``bad-utf8-name``: a member's name is flagged UTF-8 but is not (UnicodeDecodeError on opening the zip).
    """
    import io
    import zipfile

    source = (ROOT / "solutions" / f"{module}.py").read_text()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as upload:
        upload.writestr(f"exercises/{module}.py", source)
    data = bytearray(buffer.getvalue())
    start = 30 + int.from_bytes(data[26:28], "little") + int.from_bytes(data[28:30], "little")  # after the header
    data[start:start + 2] = b"\xff\xff"  # "invalid block type"
    corrupt = folder / "corrupt-deflate.zip"
    corrupt.write_bytes(bytes(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as upload:
        upload.writestr(f"exercises/{module}.py", source)
        upload.writestr("notes-\u00e9.txt", "")  # zipfile flags a non-ASCII name as UTF-8
    named = buffer.getvalue().replace("notes-\u00e9".encode(), b"notes-\xff\xfe")  # same length, not UTF-8
    bad_name = folder / "bad-utf8-name.zip"
    bad_name.write_bytes(named)
    return {"corrupt-deflate": corrupt, "bad-utf8-name": bad_name}


@dataclass
class CourseGradebook:
    submissions: Path
    out: Path
    ids: list[str]
    returncode: int
    log: str
    checks_digest: str
    left_in_tmpdir: list[str]  # what the batch left in its TMPDIR


def build_course_submissions(folder: Path) -> list[str]:
    """Twelve submissions as students hand them in; returns their ids."""
    import zipfile

    from tests.mutants import all_mutants

    solutions = {p.stem: p.read_text() for p in (ROOT / "solutions").glob("*.py") if not p.stem.startswith("_")}
    stubs = {p.stem: p.read_text() for p in (ROOT / "exercises").glob("*.py") if p.stem in solutions}

    def submission(name: str, modules: dict[str, str], extra: dict[str, str] = {}) -> None:
        for relative, text in {**{f"exercises/{m}.py": t for m, t in modules.items()}, **extra}.items():
            (folder / name / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / name / relative).write_text(text)

    submission("reference", solutions)
    submission("stubs", stubs)
    submission("partial", {"conv": solutions["conv"], "curves": solutions["curves"]})
    submission("syntax-error", {"conv": solutions["conv"].replace("def conv2d(", "def conv2d(((", 1),
                                "curves": solutions["curves"]})
    hostile = HOSTILE_CONV + solutions["conv"].replace("def conv2d(", "def _unused_conv2d(", 1) + (
        "\n\ndef conv2d(*args, **kwargs):\n    import os\n    os._exit(7)\n")
    submission("hostile", {"conv": hostile}, {
        "conftest.py": "import pytest\ndef pytest_collection_modifyitems(items):\n    items.clear()\n",
        "checks/test_conv.py": "def test_everything():\n    pass\n",
        "pytest.ini": "[pytest]\naddopts = -p no:grader\n",
    })
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 this upload was cut short")
    write_unreadable_zips(folder)
    (folder / "empty").mkdir()
    (folder / "empty" / "README.md").write_text("I did not finish.\n")
    mutants = dict(m for e, m in [(e, (m.name, m)) for e, m in all_mutants()] if e == "conv")
    with zipfile.ZipFile(folder / "flat-upload.zip", "w") as upload:
        upload.writestr("my-work/conv.py", mutants["pool-mean"].apply(solutions["conv"]))
    for name in CONV_MUTANTS_IN_BATCH:
        (folder / f"mutant-{name}").mkdir()
        (folder / f"mutant-{name}" / "conv.py").write_text(mutants[name].apply(solutions["conv"]))
    return sorted(p.stem if p.suffix == ".zip" else p.name for p in folder.iterdir())


@pytest.fixture(scope="session")
def course_gradebook(tmp_path_factory) -> CourseGradebook:
    import hashlib

    base = tmp_path_factory.mktemp("course-batch")
    submissions = base / "submissions"
    submissions.mkdir()
    ids = build_course_submissions(submissions)
    digest = hashlib.sha256()
    for path in sorted((ROOT / "checks").glob("*.py")):
        digest.update(path.read_bytes())
    tmpdir = base / "tmp"  # the batch's own TMPDIR: whatever its runners and workers leave there shows
    tmpdir.mkdir()
    run = grader_command(submissions, "--out", base / "out", "--jobs", "2", tmpdir=tmpdir)
    return CourseGradebook(submissions, base / "out", ids, run.returncode, run.stderr, digest.hexdigest(),
                           sorted(str(path) for path in tmpdir.iterdir()))
