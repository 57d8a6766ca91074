"""Generates the student stubs in ``exercises/`` from ``solutions/``.

Each solution is written once. Inside a function, the part a student writes
is marked::

    ### BEGIN SOLUTION
    ...reference code...
    ### END SOLUTION

and becomes ``raise NotImplementedError(...)`` in the stub. A block between
``### BEGIN SOLUTION ONLY`` and ``### END SOLUTION ONLY`` is left out of the
stub entirely. Everything else (docstrings, imports, helpers given to the
student) is copied as it is.

Usage::

    python -m grader stubgen            # write missing or untouched stubs
    python -m grader stubgen --check    # exit 1 if exercises/ differ (CI)
    python -m grader stubgen --force conv   # reset an edited stub (backed up first)

A stub records a fingerprint of its own text. A file whose text no longer
matches its fingerprint has been edited by a student, and is never
overwritten without ``--force``; with it, the old file is first copied to
``exercises/.backup/``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import time
from pathlib import Path

from grader.course import ROOT

SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "exercises"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_ONLY, END_ONLY = "### BEGIN SOLUTION ONLY", "### END SOLUTION ONLY"
FINGERPRINT = "# stub fingerprint: "
DEF = re.compile(r"^\s*def\s+(\w+)\s*\(")


class StubError(ValueError):
    """A solution file whose markers do not pair up."""


def make_stub(source: str, name: str) -> str:
    """Returns the stub text for the solution module ``name`` with ``source``."""
    out: list[str] = []
    function = None
    skipping = None  # the marker whose END we are waiting for
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        match = DEF.match(line)
        if match and skipping is None:
            function = match.group(1)
        if stripped == BEGIN_ONLY or stripped == BEGIN:
            if skipping:
                raise StubError(f"solutions/{name}.py:{number}: {stripped} inside another marked block")
            skipping = stripped
            if stripped == BEGIN:
                if function is None:
                    raise StubError(f"solutions/{name}.py:{number}: {BEGIN} outside a function")
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f'{indent}raise NotImplementedError("{function}: your code goes here")')
            continue
        if stripped in (END, END_ONLY):
            expected = END if skipping == BEGIN else END_ONLY
            if stripped != expected:
                raise StubError(f"solutions/{name}.py:{number}: {stripped} without a matching begin marker")
            skipping = None
            continue
        if skipping is None:
            out.append(line)
    if skipping:
        raise StubError(f"solutions/{name}.py: {skipping} is never closed")
    body = "\n".join(out).rstrip() + "\n"
    header = (
        f"# Exercise file: write your code where it says NotImplementedError, then run\n"
        f"#   pytest checks/test_{name}.py\n"
        f"# (Generated from solutions/{name}.py by `python -m grader stubgen`.)\n"
    )
    text = header + body
    return f"{FINGERPRINT}{fingerprint(text)}\n{text}"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_untouched(stub_text: str) -> bool:
    """True if a stub's text still matches the fingerprint it was written with."""
    first, _, rest = stub_text.partition("\n")
    return first.startswith(FINGERPRINT) and first[len(FINGERPRINT):].strip() == fingerprint(rest)


def solution_names(solutions: Path = SOLUTIONS) -> list[str]:
    return sorted(p.stem for p in solutions.glob("*.py") if p.stem != "__init__")


def generate(names=None, *, check=False, force=False, solutions=SOLUTIONS, exercises=STUBS, log=print) -> int:
    """Writes (or with ``check``, compares) the stubs; returns an exit code."""
    names = names or solution_names(solutions)
    unknown = [n for n in names if not (solutions / f"{n}.py").is_file()]
    if unknown:
        log(f"no solution named {', '.join(unknown)}; known: {', '.join(solution_names(solutions))}")
        return 2
    exercises.mkdir(exist_ok=True)
    init = exercises / "__init__.py"
    if not init.exists() and not check:
        init.write_text("")
    status = 0
    for name in names:
        wanted = make_stub((solutions / f"{name}.py").read_text(), name)
        target = exercises / f"{name}.py"
        current = target.read_text() if target.exists() else None
        if current == wanted:
            continue
        if check:
            log(f"exercises/{name}.py differs from what `python -m grader stubgen` makes from solutions/{name}.py")
            status = 1
            continue
        if current is not None and not is_untouched(current):
            if not force:
                log(f"kept exercises/{name}.py: it has your edits. To start it again from the stub, "
                    f"run `python -m grader stubgen --force {name}` (your file is backed up first).")
                status = 1
                continue
            backup = exercises / ".backup" / f"{name}.{time.strftime('%Y%m%d-%H%M%S')}.py"
            backup.parent.mkdir(exist_ok=True)
            shutil.copy2(target, backup)
            log(f"backed up exercises/{name}.py to {backup.relative_to(exercises.parent)}")
        target.write_text(wanted)
        log(f"wrote exercises/{name}.py")
    return status


def add_command(commands) -> None:
    """Adds ``stubgen`` to the ``python -m grader`` subcommands."""
    parser = commands.add_parser("stubgen", help="write exercises/ from solutions/ (never over an edited stub)",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="exercise names (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a stub differs")
    parser.add_argument("--force", action="store_true", help="overwrite edited stubs, after a backup")
    parser.set_defaults(run=_run)


def _run(args) -> int:
    try:
        return generate(args.names, check=args.check, force=args.force)
    except StubError as error:
        print(error, file=sys.stderr)
        return 2
