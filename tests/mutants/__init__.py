"""Realistic student bugs, kept as edits of the reference solutions.

Each ``tests/mutants/NAME.py`` holds ``MUTANTS``, a list of ``Mutant`` for the
exercise ``NAME``. ``tests/test_mutants.py`` applies each one to
``solutions/NAME.py``, grades the result, and requires at least one check to
fail: a bug no check catches is a hole in the grading.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    """One realistic bug.

    Attributes:
        name: a short id, used in test ids (``conv-flipped-kernel``).
        bug: what the student did wrong, in a sentence.
        edits: ``(old, new)`` text replacements on the solution file; each
            ``old`` must occur exactly once, so a mutant cannot silently stop
            applying when the solution changes.
        check_timeout: a short time limit for a mutant that loops forever.
        check: the check (a function of ``checks/test_NAME.py``) that
            catches it. Only that check grades it, so 150 mutants take
            minutes, not half an hour; when a change of the checks moves
            the catch elsewhere, ``python -m grader grade FOLDER --out DIR -x``
            on the mutant shows the first check that fails now.
    """

    name: str
    bug: str
    edits: tuple[tuple[str, str], ...]
    check_timeout: float | None = None
    check: str = ""

    def apply(self, source: str) -> str:
        for old, new in self.edits:
            count = source.count(old)
            if count != 1:
                raise ValueError(f"mutant {self.name}: {old!r} occurs {count} times in the solution, not once")
            source = source.replace(old, new)
        return source


def all_mutants() -> list[tuple[str, Mutant]]:
    """Every ``(exercise, mutant)`` pair under ``tests/mutants/``."""
    found = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        module = importlib.import_module(f"tests.mutants.{info.name}")
        found += [(info.name, mutant) for mutant in module.MUTANTS]
    return found
