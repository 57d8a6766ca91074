"""``python -m grader catalog``: writes ``checks/catalog.json``, the checks as pytest collects them.

The grader needs to know an exercise's checks before any pytest session
collects them: the watch's first screen shows an untouched stub's checks as
"not started" without grading, the progress line counts the points of
exercises not graded yet, and the result files a run writes as it starts
(before collection, in case it is killed) read 0 of the real maximum. The
catalog holds, for each exercise, the digest of its checks file and, for
each check, its function, its name (its docstring's first line), its points
and its task, as the plugin registers them. Where a checks file no longer
has the digest the catalog recorded, the grader does without (the watch
grades the stub, a placeholder reads 0 of 0), so a stale catalog costs time,
never a wrong grade. ``check-course`` names a stale one; ``--check``
collects again and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.course import CATALOG, EXERCISES, ROOT, checks_digest, declared_checks
from grader.scratch import write_atomically

COLLECT_SECONDS = 600.0
ABOUT = ("The checks as pytest collects them, for the grader to know without importing them. Written by "
         "`python -m grader catalog`; `python -m grader check-course` says when a checks file changed since.")


def collected() -> dict:
    """The catalog of the checks as they are now: collected by pytest in a process of its own (nothing runs).

    Returns:
        ``{"about": ..., "exercises": {name: {"file", "sha256", "checks": [{"function", "name", "points",
        "task"}, ...]}}}``, in course order.
    Raises:
        RuntimeError: pytest could not collect the checks (its output says why).
    """
    with tempfile.TemporaryDirectory(prefix="grader-catalog-") as folder:
        out = Path(folder) / "checks.json"
        code = "import sys; from grader.instructor.catalog import _collect; sys.exit(_collect(sys.argv[1]))"
        run = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True,
                             timeout=COLLECT_SECONDS)
        if run.returncode != 0 or not out.exists():
            raise RuntimeError(f"pytest could not collect the checks (exit {run.returncode}):\n"
                               f"{(run.stdout + run.stderr)[-3000:]}")
        checks = json.loads(out.read_text(encoding="utf-8"))
    exercises = {}
    for name in EXERCISES:
        path = ROOT / "checks" / f"test_{name}.py"
        exercises[name] = {
            "file": f"checks/{path.name}",
            "sha256": checks_digest(path),
            "checks": [{"function": check["nodeid"].rsplit("::", 1)[-1], "name": check["name"],
                        "points": check["points"], "task": check["task"]}
                       for check in checks if check["exercise"] == name],
        }
    return {"about": ABOUT, "exercises": exercises}


def _collect(out: str) -> int:
    """In the collecting process: every check the plugin registers, as records, into ``out``."""
    import pytest

    from grader.engine.plugin import GRADEBOOK

    class Collector:
        checks: list[dict] = []

        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session):
            book = session.config.stash[GRADEBOOK]
            Collector.checks = [check.as_record() for check in book.checks.values()]

    code = pytest.main([*(f"checks/test_{name}.py" for name in EXERCISES), "--collect-only", "-q",
                        "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
                        f"--target={ROOT / 'exercises'}"], plugins=[Collector()])
    Path(out).write_text(json.dumps(Collector.checks), encoding="utf-8")
    return int(code)


def text(catalog: dict) -> str:
    """The catalog as JSON with one line per check, so that a change to the checks reads as a short diff."""
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    entries = []
    for name, entry in catalog["exercises"].items():
        checks = "".join(f"\n   {dump(check)}," for check in entry["checks"]).rstrip(",")
        end = "\n  " if checks else ""
        entries.append(f'  {dump(name)}: {{"file": {dump(entry["file"])}, "sha256": {dump(entry["sha256"])}, '
                       f'"checks": [{checks}{end}]}}')
    return f'{{\n "about": {dump(catalog["about"])},\n "exercises": {{\n' + ",\n".join(entries) + "\n }\n}\n"


def stale_files(root: Path = ROOT, exercises=EXERCISES) -> list[str]:
    """The checks files of ``exercises`` the catalog does not describe as they are now (``declared_checks``)."""
    return [f"checks/test_{name}.py" for name in exercises
            if (root / "checks" / f"test_{name}.py").exists() and declared_checks(name, root) is None]


def add_command(commands) -> None:
    """Adds ``catalog`` to the ``python -m grader`` subcommands."""
    parser = commands.add_parser("catalog", help=f"write {CATALOG} from the checks as pytest collects them",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help=f"write nothing; exit 1 if {CATALOG} differs")
    parser.set_defaults(run=_run)


def _run(args) -> int:
    try:
        catalog = collected()
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"catalog: {error}", file=sys.stderr)
        return 2
    wanted, count = text(catalog), sum(len(entry["checks"]) for entry in catalog["exercises"].values())
    path = ROOT / CATALOG
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != wanted:
            print(f"{CATALOG} differs from the checks as pytest collects them: run `python -m grader catalog`.")
            return 1
        print(f"{CATALOG} matches the checks ({count} checks).")
        return 0
    if current == wanted:
        print(f"{CATALOG} is up to date ({count} checks).")
        return 0
    write_atomically(path, wanted)
    print(f"wrote {CATALOG} ({count} checks).")
    return 0
