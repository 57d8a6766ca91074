"""The grade: per-check results, the score table, and the result files.

Result files (their schemas are documented in README.md, "Result files"):

- Gradescope's ``results.json``: ``score``, ``max_score``, ``output``,
  ``execution_time`` and ``tests``, each with ``name``, ``number``, ``score``,
  ``max_score``, ``status`` ("passed"/"failed"), ``output`` and ``visibility``.
- exercism's test-runner format, version 3, which GitHub Classroom reads:
  ``version``, ``status`` ("pass"/"fail"/"error"), ``message``, ``max_score``,
  ``score`` and ``tests``, each with ``name``, ``status``, ``message``,
  ``score``, ``max_score`` and ``task_id``.

Both files are first written as a failing placeholder when the run starts, so
that a run that dies half-way (killed, out of memory) still leaves a file that
says so instead of a stale or missing one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import EXERCISES

STATUSES = ("passed", "failed", "not started", "timed out", "error", "skipped", "not run")


@dataclass
class CheckResult:
    nodeid: str
    exercise: str
    name: str
    points: float
    task: str | None
    task_id: int | None
    status: str = "not run"
    message: str = ""

    @property
    def score(self) -> float:
        return self.points if self.status == "passed" else 0.0


@dataclass
class Gradebook:
    target: str
    gradescope_path: str | None = None
    classroom_path: str | None = None
    checks: dict[str, CheckResult] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    _import_errors_shown: dict[str, str] = field(default_factory=dict)

    live = []  # books of this process, for the internal-error hook

    def __post_init__(self):
        Gradebook.live.append(self)

    # ---------------------------------------------------------------- recording
    def add_check(self, *, nodeid, exercise, name, points, task, tasks, hint):
        task_id = (list(tasks).index(task) + 1) if task in tasks else None
        self.checks[nodeid] = CheckResult(nodeid, exercise, name, points, task, task_id)
        if hint:
            self.hints[exercise] = hint

    def record(self, nodeid: str, status: str, message: str) -> None:
        check = self.checks[nodeid]
        # The first verdict stands, except that a teardown error fails a passed check.
        if check.status in ("not run", "passed"):
            check.status, check.message = status, message

    def first_import_error_shown(self, module_path: str, nodeid: str) -> bool:
        return self._import_errors_shown.setdefault(module_path, nodeid) == nodeid

    # ---------------------------------------------------------------- summary
    def exercises(self) -> list[str]:
        names = {c.exercise for c in self.checks.values()}
        return sorted(names, key=lambda n: (EXERCISES.index(n) if n in EXERCISES else len(EXERCISES), n))

    def of(self, exercise: str) -> list[CheckResult]:
        return [c for c in self.checks.values() if c.exercise == exercise]

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks.values())

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks.values())

    def exercise_number(self, exercise: str) -> int:
        return EXERCISES.index(exercise) + 1 if exercise in EXERCISES else 0

    def table_lines(self) -> list[str]:
        lines = [f"Grading {self.target}/", ""]
        header = f"{'exercise':<14}{'passed':>8}{'failed':>8}{'not started':>13}{'points':>14}"
        lines += [header, "-" * len(header)]
        for exercise in self.exercises():
            checks = self.of(exercise)
            passed = sum(c.status == "passed" for c in checks)
            not_started = sum(c.status == "not started" for c in checks)
            failed = len(checks) - passed - not_started
            got, best = sum(c.score for c in checks), sum(c.points for c in checks)
            label = f"{self.exercise_number(exercise)}. {exercise}"
            lines.append(f"{label:<14}{passed:>8}{failed:>8}{not_started:>13}{_points(got, best):>14}")
        lines.append("-" * len(header))
        lines.append(f"{'TOTAL':<43}{_points(self.score, self.max_score):>14}")
        lines.append("")
        lines += self.next_step_lines()
        return lines

    def next_step_lines(self) -> list[str]:
        for exercise in self.exercises():
            pending = [c for c in self.of(exercise) if c.status != "passed"]
            if not pending:
                continue
            check = pending[0]
            path = f"{self.target}/{exercise}.py"
            what = f"`{check.task}`" if check.task else "it"
            if all(c.status == "not started" for c in self.of(exercise)):
                lines = [f"Next: exercise {self.exercise_number(exercise)}, {path}: not started. Start with {what}."]
            else:
                lines = [f"Next: {path}, {what}: \"{check.name}\" is {check.status}.",
                         f"      {check.message.splitlines()[0] if check.message else ''}"]
            if exercise in self.hints:
                lines.append(f"Hint: {self.hints[exercise]}")
            lines.append(f"Run only this exercise: pytest checks/test_{exercise}.py")
            return lines
        return ["All checks pass. Well done!"]

    # ---------------------------------------------------------------- files
    def write_placeholder(self) -> None:
        self._write(crash="the grading run started but did not finish (it crashed or was killed).", duration=0.0,
                    placeholder=True)

    def write(self, crash: str | None, duration: float) -> None:
        self._write(crash=crash, duration=duration)

    def _write(self, crash: str | None, duration: float, placeholder: bool = False) -> None:
        if self.gradescope_path:
            _write_json(self.gradescope_path, self.gradescope(crash, duration, placeholder))
        if self.classroom_path:
            _write_json(self.classroom_path, self.classroom(crash, placeholder))

    def _ordered(self) -> list[tuple[str, CheckResult]]:
        """Every check with its number, "exercise.check" (e.g. "1.5"), in course order."""
        rows = []
        for exercise in self.exercises():
            for index, check in enumerate(self.of(exercise), start=1):
                rows.append((f"{self.exercise_number(exercise)}.{index}", check))
        return rows

    def gradescope(self, crash: str | None, duration: float, placeholder: bool = False) -> dict:
        tests = []
        if not placeholder:
            for number, check in self._ordered():
                tests.append({
                    "name": f"{check.exercise}: {check.name}",
                    "number": number,
                    "score": check.score,
                    "max_score": check.points,
                    "status": "passed" if check.status == "passed" else "failed",
                    "output": _output(check),
                    "visibility": "visible",
                })
        if crash:
            tests.append({"name": "grading run", "number": "0", "score": 0.0, "max_score": 0.0,
                          "status": "failed", "output": crash, "visibility": "visible"})
        return {
            "score": 0.0 if placeholder else self.score,
            "max_score": self.max_score,
            "execution_time": round(duration, 2),
            "output": "\n".join(self.table_lines()) if not placeholder else crash,
            "visibility": "visible",
            "stdout_visibility": "visible",
            "tests": tests,
        }

    def classroom(self, crash: str | None, placeholder: bool = False) -> dict:
        tests = []
        if not placeholder:
            for _, check in self._ordered():
                tests.append({
                    "name": f"{check.exercise}: {check.name}",
                    "status": "pass" if check.status == "passed" else ("error" if check.status == "error" else "fail"),
                    "message": None if check.status == "passed" else _output(check),
                    "score": check.score,
                    "max_score": check.points,
                    "task_id": check.task_id,
                })
        if crash:
            tests.append({"name": "grading run", "status": "error", "message": crash,
                          "score": 0.0, "max_score": 0.0, "task_id": None})
        if crash:
            status = "error"
        else:
            status = "pass" if all(c.status == "passed" for c in self.checks.values()) else "fail"
        return {
            "version": 3,
            "status": status,
            "message": crash,
            "score": 0.0 if placeholder else self.score,
            "max_score": self.max_score,
            "tests": tests,
        }


def _output(check: CheckResult) -> str:
    if check.status == "passed":
        return "passed"
    if check.message.startswith(check.status):
        return check.message
    return f"{check.status}: {check.message}" if check.message else check.status


def _points(got: float, best: float) -> str:
    return f"{got:g} / {best:g}"


def _write_json(path: str, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(temporary, path)
