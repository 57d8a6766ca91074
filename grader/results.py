"""The grade: per-check results, the score table, and the result files.

Result files (their fields are documented in README.md, "Result files", and
checked against each format's rules by tests/test_result_formats.py):

- Gradescope's ``results.json``: ``score``, ``max_score``, ``execution_time``,
  ``output`` (the score table in a fenced code block: ``output_format`` "md"),
  ``test_output_format`` and ``test_name_format`` ("text") and ``tests``, each
  with ``name``, ``number``, ``score``, ``max_score``, ``status``
  ("passed"/"failed"), ``output`` and ``visibility``.
- exercism's test-runner format, version 3, which GitHub Classroom's reporter
  (classroom-resources/autograding-grading-reporter) reads: ``version``,
  ``status`` ("pass"/"fail"/"error"), ``message``, ``max_score``, ``score`` and
  ``tests``, each with ``name``, ``status``, ``message``, ``score``,
  ``max_score``, ``line_no``, ``test_code`` and, when the check belongs to a
  task, ``task_id``.

In both, ``score`` is the sum of the tests' scores and ``max_score`` the sum of
their ``max_score`` (a "grading run" entry that reports a crash is worth 0 of
0). Both files are first written as a failing placeholder: when the run starts
(its ``max_score`` then is what the checks declare, read from their catalog
without importing them: ``course.declared_points``) and again once the checks
are collected (with every check, not run). A run that dies half-way (killed,
out of memory) thus leaves a file that reads 0 of the real maximum instead of
a stale or missing one.

For GitHub Classroom the exercism file can also be written one exercise at a
time (``--classroom-json-dir``: ``DIR/NAME.json``), each cut to fit a step output
that its reporter reads from one environment variable (``classroom_part``).
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import os
import re
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader import course
from grader.course import EXERCISES, relative_path
from grader.scratch import write_atomically

PLACEHOLDER_CRASH = "the grading run started but did not finish (it crashed or was killed)."
NOT_RUN = "not run: the grading run stopped before this check ran."
TEST_CODE_LIMIT = 4_000  # characters of a check's source in the classroom file (the longest check has ~3,300)
_DEF_LINE = re.compile(r"\s*(async\s+)?def\s")
# Bytes of compact JSON in one exercise's classroom file: its base64 (4/3 as long) is at most 64 KiB, half the
# 128 KiB that Linux allows one environment string (MAX_ARG_STRLEN), through which GitHub Classroom's reporter
# reads it.
CLASSROOM_PART_LIMIT = 48 * 1024
CUT_NOTE = " [... cut to fit GitHub Classroom: the whole message is in the grading step's log]"


@dataclass
class CheckResult:
    """One check as graded: what every writer (result files, batch, terminal, watch, notebook) reads.

    It crosses from a runner to the watch and the notebook, and is kept in the learner's state file, as its
    ``as_record()``: the ``RECORD_FIELDS``, plain data.
    """

    nodeid: str
    exercise: str
    name: str
    points: float
    task: str | None
    task_id: int | None  # the task's number in the exercise's manifest entry, from 1 (None: no task)
    status: str = "not run"
    message: str = ""
    line_no: int = 0  # the check function's `def` line in its checks file (0: unknown)
    test_code: str = ""  # the check function's source
    import_error: str | None = None  # the module whose failed import kept this check from running
    calls: list[str] = field(default_factory=list)  # the learner's functions the check looked up; "*": its text

    RECORD_FIELDS = ("nodeid", "exercise", "name", "points", "task", "status", "message", "import_error", "calls")

    @property
    def score(self) -> float:
        return self.points if self.status == "passed" else 0.0

    def as_record(self) -> dict:
        """The check as plain data (``RECORD_FIELDS``): a runner's answer and the learner's state file hold these."""
        return {name: getattr(self, name) for name in self.RECORD_FIELDS}

    @classmethod
    def from_record(cls, record: dict) -> "CheckResult":
        """The check an ``as_record()`` was made from (its source and line, which records leave out, unknown)."""
        fields = {name: record.get(name) for name in cls.RECORD_FIELDS}
        fields["calls"] = list(fields["calls"] or [])
        fields["message"] = fields["message"] or ""
        entry = course.exercise(fields["exercise"])
        return cls(**fields, task_id=task_number(fields["task"], entry.tasks if entry is not None else ()))


def exercise_number(exercise: str) -> int:
    """The exercise's number in the course (1 for the first; 0 for a name that is not one of its exercises)."""
    return EXERCISES.index(exercise) + 1 if exercise in EXERCISES else 0


def task_number(task: str | None, tasks) -> int | None:
    """``task``'s number among ``tasks`` (from 1), or None: the ``task_id`` of the classroom file."""
    return list(tasks).index(task) + 1 if task in tasks else None


@dataclass
class Gradebook:
    target: str
    # Where each result file goes: a ``RESULT_FORMATS`` entry's option name -> its path (a folder for
    # ``classroom_json_dir``: one classroom file per exercise, DIR/NAME.json, each within the part limit).
    outputs: dict[str, str] = field(default_factory=dict)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    # Points the checks files declare, known before collection; the maximum while no check is registered.
    expected_max_score: float | None = None
    expected_points: dict[str, float] = field(default_factory=dict)  # the same per exercise (for classroom_json_dir)
    import_errors: dict[str, str] = field(default_factory=dict)  # module path -> its import error, as shown
    _import_errors_shown: dict[str, str] = field(default_factory=dict)
    fence: dict | None = None  # what held around the learner's code (``fence_held``); None: no worker ran it
    fence_refused: bool = False  # the run required a fence this machine did not give: no learner code ran
    crash: str | None = None  # why the run did not finish, once ``write`` wrote it for good

    live = []  # books of this process not yet written for good, for the internal-error hook

    def __post_init__(self):
        Gradebook.live.append(self)

    def as_record(self) -> dict:
        """The grade as plain data, as a runner answers it: ``from_record`` reads it back for the batch's writers."""
        finished = not any(book is self for book in Gradebook.live)  # ``write`` took it off when it wrote for good
        return {"target": self.target, "checks": [check.as_record() for check in self.checks.values()],
                "expected_points": dict(self.expected_points), "import_errors": dict(self.import_errors),
                "fence": self.fence, "fence_refused": self.fence_refused,
                "crash": self.crash if finished else PLACEHOLDER_CRASH}

    @classmethod
    def from_record(cls, record: dict) -> "Gradebook":
        """The grade an ``as_record()`` was made from, to write from (it writes no file of its own)."""
        checks = [CheckResult.from_record(check) for check in record.get("checks") or []]
        book = cls(target=str(record.get("target") or ""), checks={check.nodeid: check for check in checks},
                   import_errors=dict(record.get("import_errors") or {}), fence=record.get("fence"),
                   fence_refused=bool(record.get("fence_refused")), crash=record.get("crash"))
        Gradebook.live = [other for other in Gradebook.live if other is not book]  # no files: nothing to rewrite
        if record.get("expected_points"):
            book.expect(record["expected_points"])
        return book

    def expect(self, points: dict[str, float] | None) -> None:
        """Notes the points each exercise's checks declare (``course.declared_points``), known before collection."""
        self.expected_max_score = None if points is None else math.fsum(points.values())
        self.expected_points = dict(points or {})

    # ---------------------------------------------------------------- recording
    def add_check(self, *, nodeid, exercise, name, points, task, tasks, line_no=0, test_code=""):
        self.checks[nodeid] = CheckResult(nodeid, exercise, name, points, task, task_number(task, tasks),
                                          line_no=line_no, test_code=test_code)

    def record(self, nodeid: str, status: str, message: str) -> None:
        check = self.checks[nodeid]
        # The first verdict stands, except that a teardown error fails a passed check.
        if check.status in ("not run", "passed"):
            check.status, check.message = status, message

    def first_import_error_shown(self, module_path: str, nodeid: str) -> bool:
        return self._import_errors_shown.setdefault(module_path, nodeid) == nodeid

    def import_failed(self, nodeid: str, module_path: str, message: str) -> bool:
        """Notes that a check could not run because ``module_path`` could not be imported.

        Returns True for the first such check of that module, which shows the error in full.
        """
        if nodeid in self.checks:
            self.checks[nodeid].import_error = module_path
        self.import_errors.setdefault(module_path, message)
        return self.first_import_error_shown(module_path, nodeid)

    # ---------------------------------------------------------------- summary
    def exercises(self) -> list[str]:
        names = {c.exercise for c in self.checks.values()}
        return sorted(names, key=lambda n: (EXERCISES.index(n) if n in EXERCISES else len(EXERCISES), n))

    def of(self, exercise: str) -> list[CheckResult]:
        return [c for c in self.checks.values() if c.exercise == exercise]

    # fsum: exact, so the total equals the sum of the tests' scores in whatever order a reader adds them.
    @property
    def score(self) -> float:
        return math.fsum(c.score for c in self.checks.values())

    @property
    def max_score(self) -> float:
        """The points of the registered checks; before collection, what the checks files declare (or 0)."""
        if not self.checks:
            return float(self.expected_max_score or 0.0)
        return math.fsum(c.points for c in self.checks.values())

    def points_of(self, exercise: str) -> tuple[float, float]:
        """(points earned, points available) over the exercise's registered checks."""
        checks = self.of(exercise)
        return math.fsum(c.score for c in checks), math.fsum(c.points for c in checks)

    def table_lines(self) -> list[str]:
        lines = [f"Grading {self.target}/", ""]
        header = f"{'exercise':<14}{'passed':>8}{'failed':>8}{'not started':>13}{'points':>14}"
        lines += [header, "-" * len(header)]
        for exercise in self.exercises():
            checks = self.of(exercise)
            passed = sum(c.status == "passed" for c in checks)
            not_started = sum(c.status == "not started" for c in checks)
            failed = len(checks) - passed - not_started
            got, best = self.points_of(exercise)
            label = f"{exercise_number(exercise)}. {exercise}"
            lines.append(f"{label:<14}{passed:>8}{failed:>8}{not_started:>13}{_points(got, best):>14}")
        lines.append("-" * len(header))
        lines.append(f"{'TOTAL':<43}{_points(self.score, self.max_score):>14}")
        lines.append("")
        lines += self.next_step_lines()
        return lines

    def current_exercise(self) -> str | None:
        """The first exercise (in course order) with a check that does not pass, or None."""
        for exercise in self.exercises():
            if any(c.status != "passed" for c in self.of(exercise)):
                return exercise
        return None

    def next_step_lines(self) -> list[str]:
        exercise = self.current_exercise()
        if exercise is None:
            return ["All checks pass. Well done!"]
        return [*next_step_lines(exercise, f"{self.target}/{exercise}.py", self.of(exercise),
                                 fence_refused=self.fence_refused, detail=True),
                f"Run only this exercise: pytest checks/test_{exercise}.py"]

    # ---------------------------------------------------------------- files
    def write_placeholder(self) -> None:
        """Writes both files as a run that crashed: every registered check not run, 0 of the maximum."""
        self._write(crash=PLACEHOLDER_CRASH, duration=0.0, placeholder=True)

    def write(self, crash: str | None, duration: float) -> None:
        """Writes both files for good (the internal-error hook no longer rewrites them)."""
        self.crash = crash
        self._write(crash=crash, duration=duration)
        # So that a batch runner's later session cannot rewrite this one's files. A new list, not an
        # in-place change: the internal-error hook may be looping over the old one, writing each book.
        Gradebook.live = [book for book in Gradebook.live if book is not self]

    def _write(self, crash: str | None, duration: float, placeholder: bool = False) -> None:
        for result_format in RESULT_FORMATS:
            path = self.outputs.get(result_format.option)
            if path:
                result_format.write(self, str(path), crash, duration, placeholder)

    def numbered(self) -> list[tuple[str, CheckResult]]:
        """Every check with its number, "exercise.check" (e.g. "1.5"), in course order."""
        rows = []
        for exercise in self.exercises():
            for index, check in enumerate(self.of(exercise), start=1):
                rows.append((f"{exercise_number(exercise)}.{index}", check))
        return rows

    def gradescope(self, crash: str | None, duration: float, placeholder: bool = False) -> dict:
        """Gradescope's results.json. The tests' names and outputs are plain text (``test_name_format`` and
        ``test_output_format`` "text": shown as written, in a <pre> for outputs, never rendered)."""
        tests = []
        for number, check in self.numbered():
            tests.append({
                "name": f"{check.exercise}: {check.name}",
                "number": number,
                "score": check.score,
                "max_score": check.points,
                "status": "passed" if check.status == "passed" else "failed",
                "output": check_output(check),
                "visibility": "visible",
            })
        if crash:
            tests.append({"name": "grading run", "number": "0", "score": 0.0, "max_score": 0.0,
                          "status": "failed", "output": crash, "visibility": "visible"})
        extra: dict = {
            "exercises": {exercise: list(self.points_of(exercise)) for exercise in self.exercises()},
            "next_steps": self.next_step_lines() if self.checks and not placeholder else [],
        }
        if self.fence is not None:
            extra["fence"] = self.fence
        return {
            "extra_data": extra,
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(duration, 2),
            "output": self.output_markdown(crash, table=bool(self.checks) and not placeholder),
            "output_format": "md",
            "test_output_format": "text",
            "test_name_format": "text",
            "visibility": "visible",
            "stdout_visibility": "visible",
            "tests": tests,
        }

    def output_markdown(self, crash: str | None, table: bool = True) -> str:
        """The top-level Gradescope output: the crash, if any, then the score table, each in a fenced code block.

        Gradescope's default for this field ("simple_format") renders HTML and
        collapses the table's runs of spaces; a code block keeps its columns
        and shows the learner's text quoted in it as text, never as markup.
        The crash comes first. Nothing reads this text back: ``extra_data`` holds the same facts as data.
        """
        parts = []
        if crash:
            parts += ["**The grading run did not finish:**", "", _fenced(crash), ""]
        if table:
            parts.append(_fenced("\n".join(self.table_lines())))
        return "\n".join(parts).strip("\n")

    def classroom(self, crash: str | None, exercise: str | None = None) -> dict:
        """exercism's results.json, version 3, as GitHub Classroom's reporter reads it.

        The top-level status is "error", with the reason in ``message``, when
        the run crashed or a module under test could not be imported (a syntax
        error, a missing file): the spec's "the tests did not run correctly".
        Every check is still listed with its score, so that in a run of several
        exercises the ones that could be imported keep their points.

        Args:
            crash: why the run did not finish, or None.
            exercise: only this exercise's checks (a crash concerns them all, so each part reports it);
                None: every check.
        """
        checks = [check for _, check in self.numbered() if exercise in (None, check.exercise)]
        tests = [self._classroom_test(check) for check in checks]
        if crash:
            # line_no 0: the reporter prints no line for it; an empty test_code is not printed at all.
            tests.append({"name": "grading run", "status": "error", "message": crash, "test_code": "",
                          "line_no": 0, "score": 0.0, "max_score": 0.0})
        problems = ([crash] if crash else []) + self.import_error_messages(exercise)
        if not problems and not checks:
            problems = ["no checks were collected, so nothing was graded."]
        if problems:
            status, message = "error", "\n\n".join(problems)
        else:
            status = "pass" if all(c.status == "passed" for c in checks) else "fail"
            message = None
        if exercise is None:
            score, max_score = self.score, self.max_score
        else:
            score, max_score = self.points_of(exercise)
            if not checks:
                max_score = self.expected_points.get(exercise, 0.0)
        return {
            "version": 3,
            "status": status,
            "message": message,
            "score": score,
            "max_score": max_score,
            "tests": tests,
        }

    def classroom_part(self, crash: str | None, exercise: str) -> dict:
        """One exercise's classroom results, cut to ``CLASSROOM_PART_LIMIT`` (``fit_classroom``)."""
        return fit_classroom(self.classroom(crash, exercise), CLASSROOM_PART_LIMIT)

    def _classroom_test(self, check: CheckResult) -> dict:
        """One check in the classroom file; ``task_id`` only when the check belongs to a task."""
        # A check stopped by its module's import error reads "fail", not "error": for an "error" test the
        # reporter prints the message alone, without the check's name and line.
        status = "pass" if check.status == "passed" else ("error" if check.status == "error" else "fail")
        test = {
            "name": f"{check.exercise}: {check.name}",
            "status": status,
            "message": None if check.status == "passed" else check_output(check),
            "test_code": check.test_code,
            "line_no": check.line_no,
            "score": check.score,
            "max_score": check.points,
        }
        if check.task_id is not None:
            test["task_id"] = check.task_id
        return test

    def import_error_messages(self, exercise: str | None = None) -> list[str]:
        """One paragraph per module that could not be imported: its error and what that cost.

        Args:
            exercise: only the modules that kept this exercise's checks from running; None: every module.
        """
        messages = []
        graded = [c for c in self.checks.values() if exercise in (None, c.exercise)]
        for module_path, error in self.import_errors.items():
            stopped = [c for c in graded if c.import_error == module_path]
            if exercise is not None and not stopped:
                continue
            others = len(graded) - len(stopped)
            cost = f"None of its {len(stopped)} checks could run; they score 0."
            if others:
                cost += f" The other {others} checks ran, and their scores count."
            messages.append(f"{error}\n{cost}")
        return messages


def first_failing(checks: list[CheckResult]) -> CheckResult | None:
    """The first check that does not pass, preferring one that ran and failed over one not started."""
    pending = [c for c in checks if c.status != "passed"]
    started = [c for c in pending if c.status != "not started"]
    return (started or pending or [None])[0]


def next_step_lines(exercise: str, shown: str, checks: list[CheckResult], *, fence_refused: bool = False,
                    error: str | None = None, detail: bool = False) -> list[str]:
    """What to do next on ``exercise``, an exercise not at full marks: the one ``Next:`` line every command writes.

    Args:
        exercise: the exercise's name.
        shown: its module as the learner sees it ("exercises/conv.py").
        checks: its checks as graded.
        fence_refused: the run required a fence this machine did not give, so no learner code ran.
        error: why grading the exercise failed (not the learner's code), if it did.
        detail: also the first line of the check's message and the first step of its task's hint (the score
            table and ``feedback.md``, which show every message above); without it (``list``, which shows no
            message), an import error is said to be shown by the watch.
    Returns:
        The lines. The check is the first that ran and did not pass, else the first not started (as the watch
        shows it): an exercise under way whose checks that ran all pass reads "start with" its next task.
    """
    check = first_failing(checks)
    where = f"exercise {exercise_number(exercise)}, {shown}"
    shown_by = f"`python -m grader watch {exercise}` shows it"  # where no message is shown beside this line
    if error or check is None:
        return [f"Next: {where}."]
    what = f"`{check.task}`" if check.task else "it"
    if all(c.status == "not started" for c in checks):
        lines = [f"Next: {where}: not started. Start with {what}."]
    elif check.status == "not started":  # every check that ran passes
        lines = [f"Next: {where}: start with {what}."]
    elif check.import_error and fence_refused:
        lines = ["Next: nothing to fix in your code: this grading run requires a fence this machine did not "
                 f"give, so none of it ran ({'the reason is under the first check' if detail else shown_by})."]
    elif check.import_error:
        # Not the error again: it is shown once, under the exercise's first check.
        lines = [f"Next: fix {check.import_error}: it could not be imported, so none of its checks ran "
                 f"({'the error is under its first check' if detail else shown_by})."]
    else:
        lines = [f"Next: {shown}, {what}: \"{check.name}\" is {check.status}."]
    if detail and check.status != "not started" and not check.import_error:
        lines.append(f"      {check.message.splitlines()[0] if check.message else ''}")
    hint = "" if check.import_error or not detail else course.hint_steps(exercise, check.task)[0]
    if hint:
        lines.append(f"Hint: {hint}")
    return lines


@dataclass(frozen=True)
class ResultFormat:
    """A kind of result file: the grading option that says where to write it, and its writer.

    A new format is a writer and an entry in ``RESULT_FORMATS``, with its option in ``grader/options.py``.

    Args:
        option: the option's name in ``grader/options.py`` (``--gradescope-json`` is ``gradescope_json``).
        write: ``write(book, path, crash, duration, placeholder)`` writes the file (or folder) at ``path``.
    """

    option: str
    write: Callable[["Gradebook", str, "str | None", float, bool], None]


def _write_gradescope(book: Gradebook, path: str, crash: str | None, duration: float, placeholder: bool) -> None:
    _write_json(path, book.gradescope(crash, duration, placeholder))


def _write_classroom(book: Gradebook, path: str, crash: str | None, duration: float, placeholder: bool) -> None:
    _write_json(path, book.classroom(crash))


def _write_classroom_parts(book: Gradebook, folder: str, crash: str | None, duration: float,
                           placeholder: bool) -> None:
    for exercise in book.exercises() or list(book.expected_points):
        _write_json(os.path.join(folder, f"{exercise}.json"), book.classroom_part(crash, exercise))


RESULT_FORMATS = (
    ResultFormat("gradescope_json", _write_gradescope),
    ResultFormat("classroom_json", _write_classroom),
    ResultFormat("classroom_json_dir", _write_classroom_parts),
)


def compact_json(payload: dict) -> str:
    """The compact JSON that GitHub Classroom's runners hand to its reporter (in base64)."""
    return json.dumps(payload, separators=(",", ":"))


def fit_classroom(result: dict, limit: int) -> dict:
    """``result`` (an exercism v3 dict) with its texts cut until its compact JSON takes at most ``limit`` bytes.

    Scores, statuses, names and line numbers never change. What goes first is
    what the learner needs least: the code of the checks that passed, then
    the code of every check (the reporter prints a check's code only when
    there is some), then the messages, cut shorter and shorter (the grading
    step prints each one whole in its log).

    Returns:
        ``result`` itself when it fits, otherwise a cut copy.
    """
    def fits(payload: dict) -> bool:
        return len(compact_json(payload).encode("utf-8")) <= limit

    if fits(result):
        return result
    cut = copy.deepcopy(result)
    for keep_code in (lambda test: test["status"] != "pass", lambda test: False):
        for test in cut["tests"]:
            if not keep_code(test):
                test["test_code"] = ""
        if fits(cut):
            return cut
    for room in (2_000, 1_000, 400, 100, 0):
        for holder in (cut, *cut["tests"]):
            if holder["message"] and len(holder["message"]) > room:
                holder["message"] = holder["message"][:room] + CUT_NOTE
        if fits(cut):
            return cut
    return cut  # names and numbers only: the checks' own names, far below any limit here


def check_source(function) -> tuple[int, str]:
    """A check function's ``def`` line in its file (1-based; 0 if unknown) and its source, dedented.

    The source keeps the decorators (the points, and for Hypothesis checks the
    inputs they draw) and is cut to at most ``TEST_CODE_LIMIT`` characters.
    """
    try:
        lines, start = inspect.getsourcelines(function)
        shown = relative_path(inspect.getsourcefile(function) or "")
    except (OSError, TypeError):
        return 0, ""
    offset = next((index for index, line in enumerate(lines) if _DEF_LINE.match(line)), 0)
    line_no = start + offset
    code = textwrap.dedent("".join(lines)).rstrip()
    if len(code) > TEST_CODE_LIMIT:
        note = f"\n# ... cut here: the whole check is in {shown}, line {line_no}."
        room = max(TEST_CODE_LIMIT - len(note), 0)
        cut = code.rfind("\n", 0, room)
        code = (code[: cut if cut > 0 else room] + note)[:TEST_CODE_LIMIT]  # at a line's end when there is one
    return line_no, code


def write_failed_run(reason: str, checks: list[str], base: Path, outputs: dict) -> None:
    """Result files for a run that graded nothing: 0 of what ``checks`` declare, with ``reason`` as its crash.

    Written by ``python -m grader grade`` when a submission cannot be read, or
    when its run was killed past its deadline (before or after the run wrote
    its own placeholder).

    Args:
        reason: why, for the learner.
        checks: the checks files the run was to grade (pytest's arguments), relative to ``base``.
        base: the folder ``checks`` are relative to.
        outputs: where each result file goes (``Gradebook.outputs``).
    """
    book = Gradebook(target="", outputs=outputs)
    book.expect(course.declared_points(checks, base))
    book.write(crash=reason, duration=0.0)


def fence_held(report: dict | None) -> dict | None:
    """What held around a worker, from its fence report (``grader/remote/fence.py``), in a few plain fields.

    The report comes from the worker after the learner's module was imported there: its text is cut
    and stripped of control characters, and at most ``FENCE_PROBLEMS`` problems are kept.

    Args:
        report: the report the worker sent as it started (None: no worker ran the learner's code).
    Returns:
        ``platform``, ``filesystem`` (Landlock's ABI, or None), ``project_read_only``, ``network`` ("namespace",
        "landlock-tcp" or None), ``seccomp``, ``capabilities_dropped``, ``signals_scoped``, ``memory_bytes``,
        ``cpu_seconds``, ``processes_limited`` and ``problems`` (what the machine did not allow), or None.
    """
    if not isinstance(report, dict):
        return None
    limits = report.get("rlimits") if isinstance(report.get("rlimits"), dict) else {}

    def limit(name):
        entry = limits.get(name)
        value = entry.get("limit") if isinstance(entry, dict) and entry.get("enforced", True) else None
        return value if type(value) is int and value >= 0 else None

    return {
        "platform": _plain_text(f"{report.get('platform', '?')} {report.get('kernel', '')}".strip(), 100),
        "filesystem": _plain_text(f"Landlock ABI {report.get('landlock_abi')}", 40) if report.get("filesystem") else None,
        "project_read_only": bool(report.get("mount_namespace") and report.get("readonly")),
        "network": _plain_text(report.get("network"), 40) if report.get("network") else None,
        "seccomp": bool(report.get("seccomp")),
        "capabilities_dropped": bool(report.get("capabilities_dropped")),
        "signals_scoped": bool(report.get("signals_scoped")),
        "memory_bytes": limit("RLIMIT_AS"),
        "cpu_seconds": limit("RLIMIT_CPU"),
        "processes_limited": limit("RLIMIT_NPROC") is not None,
        "problems": [_plain_text(problem, 300) for problem in list(report.get("problems") or [])[:FENCE_PROBLEMS]],
    }


FENCE_PROBLEMS = 20


def _plain_text(value, limit: int) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(value)[:limit + 1])
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fence_line(held: dict | None) -> str:
    """``fence_held``'s fields as one line for the terminal."""
    if held is None:
        return "Fence: no worker ran code of this submission."
    parts = [
        f"filesystem ({held['filesystem']})" if held["filesystem"] else "no filesystem fence",
        "project read-only" if held["project_read_only"] else "project not mounted read-only",
        {"namespace": "no network (namespace)", "landlock-tcp": "no TCP (Landlock)"}.get(
            held["network"], f"network: {held['network']}") if held["network"] else "network open",
        *(["seccomp"] if held["seccomp"] else []),
        *(["capabilities dropped"] if held["capabilities_dropped"] else []),
        *([f"memory {held['memory_bytes'] / 2**30:g} GB"] if held["memory_bytes"] else ["no memory limit"]),
        *([f"CPU {held['cpu_seconds']} s"] if held["cpu_seconds"] else []),
        "processes limited" if held["processes_limited"] else "processes not limited",
    ]
    line = f"Fence ({held['platform']}): " + ", ".join(parts) + "."
    if held["problems"]:
        line += " Not held: " + "; ".join(held["problems"]) + "."
    return line


def fence_note(held: dict | None) -> str | None:
    """One calm line for a run whose workers lacked a main part of the fence (None when every one held)."""
    if held is None:
        return None
    missing = [what for what, present in (("a filesystem fence", held["filesystem"]),
                                          ("a network block", held["network"]),
                                          ("a memory limit", held["memory_bytes"])) if not present]
    if not missing:
        return None
    return (f"Note: on this machine your code ran in a process of its own, with its time limits, but without "
            f"{' or '.join(missing)}. Your grade is the same; --show-fence says what held.")


def check_output(check: CheckResult) -> str:
    """What a check's test says in the result files and feedback.md: "passed", or its status and message."""
    if check.status == "passed":
        return "passed"
    if check.status == "not run" and not check.message:
        return NOT_RUN
    if check.import_error:
        return check.message  # "... could not be imported": a "failed:" before it would say the check ran
    if check.message.startswith(check.status):
        return check.message
    return f"{check.status}: {check.message}" if check.message else check.status


def _fenced(text: str) -> str:
    """``text`` in a fenced code block; a ``` inside (from a learner's message) would end it, so it becomes '''."""
    return "```\n" + text.replace("```", "'''") + "\n```"


def _points(got: float, best: float) -> str:
    return f"{got:g} / {best:g}"


def _write_json(path: str, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(payload, indent=2) + "\n")
