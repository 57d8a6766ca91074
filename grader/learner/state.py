"""The learner's side: what each exercise scores, which one is next, hints, reset.

Shared by ``python -m grader watch``, ``list``, ``hint`` and ``reset``
(``grader/learner/watch.py``) and by ``grader.grade()`` in a notebook.

Grading goes to a warm runner (``grader/runner/server.py``): one process that has
imported TensorFlow and the checks, and grades each request in a pytest
session of its own. The learner's code still runs only in that session's
fenced workers; this process reads the learner's files as bytes and never
imports them.

What the learner's checkout keeps, in ``.grader/`` beside the graded folder
(ignored by git): ``state.json`` with the last result of each exercise (used
while neither the module nor the checks change) and the hint steps already
shown; ``backups/`` with the files ``reset`` replaced.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import course
from grader.course import EXERCISES, ROOT, RUN_SECONDS, course_fingerprint, relative_path
from grader.engine.verdicts import NotStarted
from grader.engine.workers import WHOLE_SOURCE
from grader.instructor import stubgen
from grader.results import CheckResult, first_failing
from grader.scratch import write_atomically

STATE_VERSION = 1
GRADING_SECONDS = RUN_SECONDS + 120  # the run's deadline and a margin: past it the runner is stopped
HINT_STEPS = ("a nudge", "the idea", "the API")


class LearnerError(ValueError):
    """A request the learner can fix (an unknown exercise, a missing file); its text says how."""


# --------------------------------------------------------------------------- results


@dataclass
class ExerciseResult:
    """One exercise as graded: its checks, or why grading it failed."""

    exercise: str
    checks: list[CheckResult]
    error: str | None = None  # the grading itself failed (not the learner's code)

    @property
    def points(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def done(self) -> bool:
        return bool(self.checks) and self.error is None and all(c.status == "passed" for c in self.checks)

    @property
    def state(self) -> str:
        if self.error:
            return "error"
        if self.done:
            return "done"
        if all(c.status == "not started" for c in self.checks):
            return "not started"
        return "in progress"

    def first_failing(self) -> CheckResult | None:
        return first_failing(self.checks)

    def current_task(self) -> str | None:
        check = self.first_failing()
        return check.task if check else None

    def tasks(self) -> list[tuple[str, float, float, str]]:
        """(task, points, max points, state) for each task, in the checks' order."""
        rows: dict[str, list[CheckResult]] = {}
        for check in self.checks:
            rows.setdefault(check.task or "(other)", []).append(check)
        result = []
        for task, checks in rows.items():
            got = sum(c.score for c in checks)
            best = sum(c.points for c in checks)
            state = ("done" if got == best else "not started" if all(c.status == "not started" for c in checks)
                     else "in progress")
            result.append((task, got, best, state))
        return result

    def records(self) -> list[dict]:
        """Its checks as plain data (``CheckResult.as_record``), as the state file keeps them."""
        return [check.as_record() for check in self.checks]


def graded_checks(answer: dict) -> list[dict]:
    """The check records of a runner's answer (none when it graded nothing)."""
    return (answer.get("result") or {}).get("checks") or []


def results_of(answer: dict, exercises) -> dict[str, ExerciseResult]:
    """Each exercise's result from a runner's answer (an error result for each if grading failed)."""
    results = {}
    for exercise in exercises:
        checks = [CheckResult.from_record(c) for c in graded_checks(answer) if c["exercise"] == exercise]
        error = answer.get("error") or (None if checks else "the grading run reported no checks for it")
        results[exercise] = ExerciseResult(exercise, checks, error)
    return results


# --------------------------------------------------------------------------- the checkout


@dataclass
class Checkout:
    """The learner's folder of modules and the state kept beside it."""

    folder: Path
    state: dict = field(default_factory=dict)

    @classmethod
    def open(cls, target: str | os.PathLike | None = None) -> "Checkout":
        """The checkout of ``target`` (default: CHECKS_TARGET or ``exercises``), with its saved state."""
        from grader.course import resolve_target

        folder = resolve_target(str(target or os.environ.get("CHECKS_TARGET") or "exercises"))
        checkout = cls(folder)
        checkout.state = checkout._load_state()
        return checkout

    @property
    def label(self) -> str:
        return relative_path(self.folder)

    @property
    def state_dir(self) -> Path:
        return self.folder.parent / ".grader"

    def path_of(self, exercise: str) -> Path:
        return self.folder / f"{exercise}.py"

    def shown(self, exercise: str) -> str:
        return f"{self.label}/{exercise}.py"

    def source(self, exercise: str) -> bytes | None:
        """The module's bytes as saved now, or None if there is no such file."""
        try:
            return self.path_of(exercise).read_bytes()
        except OSError:
            return None

    def digest(self, exercise: str) -> str | None:
        return source_digest(self.source(exercise))

    # ------------------------------------------------------------- state file
    def _load_state(self) -> dict:
        try:
            state = json.loads((self.state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {"version": STATE_VERSION, "results": {}, "hint_steps": {}}
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            return {"version": STATE_VERSION, "results": {}, "hint_steps": {}}
        state.setdefault("results", {})
        state.setdefault("hint_steps", {})
        return state

    def save_state(self) -> None:
        """Writes the state atomically (a watch and a ``hint`` may run at the same time)."""
        self.state_dir.mkdir(exist_ok=True)
        ignore = self.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# the grader's own state: last results, hint steps, backups\n*\n")
        write_atomically(self.state_dir / "state.json", json.dumps(self.state, indent=1))

    def cached(self, exercise: str, course: str) -> ExerciseResult | None:
        """The last result of ``exercise``, if neither its module nor the checks have changed since."""
        entry = self.state["results"].get(exercise)
        if not entry or entry.get("module") != self.digest(exercise) or entry.get("course") != course:
            return None
        return ExerciseResult(exercise, [CheckResult.from_record(check) for check in entry["checks"]])

    def untouched_stub_result(self, exercise: str) -> ExerciseResult | None:
        """The result of a module that is still the untouched stub, made here: every check "not started".

        The plugin reads such a module the same way without running it
        (``--grade-untouched-stubs`` is off for the learner), so no runner is
        needed. None when the file was edited, or when the catalog of the checks
        (``course.declared_checks``) does not describe them as they are (then the runner grades it).
        """
        source = self.source(exercise)
        if source is None or not stubgen.is_untouched(source.decode("utf-8", errors="replace")):
            return None
        checks = course.declared_checks(exercise)
        if not checks:
            return None
        shown = self.shown(exercise)
        return ExerciseResult(exercise, [
            CheckResult.from_record({**check, "status": "not started",
                                     "message": str(NotStarted(check["task"] or check["function"], shown))})
            for check in checks])

    def remember(self, result: ExerciseResult, digest: str | None, course: str, functions=None) -> None:
        if result.error is None and digest is not None:
            self.state["results"][result.exercise] = {"module": digest, "course": course, "functions": functions,
                                                      "checks": result.records()}

    def forget_checks(self, exercise: str) -> None:
        """Its next grade runs every check of ``exercise``, not only those a save changed (the watch's ``r``)."""
        entry = self.state["results"].get(exercise)
        if entry is not None:
            entry["functions"] = None

    # ------------------------------------------------------------- reset
    def stub_text(self, exercise: str) -> str:
        """The stub as first handed out: made from ``solutions/`` in the course, kept in a release."""
        solution = ROOT / "solutions" / f"{exercise}.py"
        if solution.is_file():
            return stubgen.make_stub(solution.read_text(), exercise)
        kept = ROOT / "grader" / "stubs" / f"{exercise}.py"
        if kept.is_file():
            return kept.read_text()
        raise LearnerError(f"no stub of {exercise} to reset to: this checkout has neither "
                           f"solutions/{exercise}.py nor grader/stubs/{exercise}.py.")

    def reset(self, exercise: str) -> Path | None:
        """Puts the stub back in place of the learner's file, after copying that to ``.grader/backups/``.

        Returns:
            The backup's path; the module's own path when there was no file to back up; None when the
            file already was the stub (nothing changes then).
        """
        check_exercise(exercise)
        stub = self.stub_text(exercise)
        target = self.path_of(exercise)
        if target.is_file() and target.read_text(errors="replace") == stub:
            return None
        backup = None
        if target.exists():
            backups = self.state_dir / "backups"
            backups.mkdir(parents=True, exist_ok=True)
            backup = backups / f"{exercise}.{time.strftime('%Y%m%d-%H%M%S')}.py"
            suffix = 1
            while backup.exists():
                backup = backups / f"{exercise}.{time.strftime('%Y%m%d-%H%M%S')}-{suffix}.py"
                suffix += 1
            shutil.copy2(target, backup)
        write_atomically(target, stub)
        self.state["results"].pop(exercise, None)
        self.state["hint_steps"] = {key: step for key, step in self.state["hint_steps"].items()
                                    if not key.startswith(f"{exercise}/")}
        self.save_state()
        return backup or target

    # ------------------------------------------------------------- hints
    def hint_reached(self, exercise: str, task: str | None) -> tuple[int, int, str]:
        """The step of ``task``'s hint ladder the learner has reached (the nudge before any ``hint``).

        Returns:
            (step, number of steps, text), as ``next_hint`` does, without moving on.
        """
        ladder = course.hint_steps(exercise, task)
        step = min(max(self.state["hint_steps"].get(f"{exercise}/{task}", 1), 1), len(ladder))
        return step, len(ladder), ladder[step - 1]

    def next_hint(self, exercise: str, task: str | None) -> tuple[int, int, str]:
        """The next step of the hint ladder of ``task`` (remembered in the state file).

        Returns:
            (step, number of steps, text); the last step again once all are shown.
        """
        ladder = course.hint_steps(exercise, task)
        key = f"{exercise}/{task}"
        step = min(self.state["hint_steps"].get(key, 0) + 1, len(ladder))
        self.state["hint_steps"][key] = step
        self.save_state()
        return step, len(ladder), ladder[step - 1]


def source_digest(source: bytes | None) -> str | None:
    return None if source is None else hashlib.sha256(source).hexdigest()


# Names through which a function can reach the module's others without naming them (``globals()[name]``,
# ``getattr(sys.modules[__name__], name)``, ``eval``): such a function depends on the whole module.
DYNAMIC_NAMES = frozenset({"globals", "locals", "vars", "eval", "exec", "compile", "__import__", "importlib", "sys",
                           "inspect", "__name__"})
DYNAMIC_ATTRIBUTES = frozenset({"__dict__", "modules", "__globals__"})


def function_digests(source: bytes | None, module_name: str = "") -> dict[str, str] | None:
    """A digest of each top-level function of a module, to tell which ones a save changed.

    A function's digest covers its own code (comments and layout aside), the
    code of every top-level function it names (and those they name), and the
    module's other top-level statements (imports, constants, classes) with
    every function those name or that is decorated (a table or a decorator can
    reach a function without the caller naming it): a change to any of these
    changes it. A function that names a way to reach others dynamically
    (``globals``, ``eval``, ``sys``, an import of its own module...) depends
    on the whole module. ``WHOLE_SOURCE`` gives the text's own digest (a check
    that reads the text sees every change, comments too). None for a module
    that does not parse.
    """
    import ast

    try:
        tree = ast.parse(source or b"")
    except (SyntaxError, ValueError):
        return None
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    whole = hashlib.sha256(ast.dump(tree).encode()).hexdigest()
    named = {name: _names_in(node) | _attributes_in(node) for name, node in functions.items()}
    dynamic = {name for name, node in functions.items()
               if _names_in(node) & DYNAMIC_NAMES or _attributes_in(node) & DYNAMIC_ATTRIBUTES
               or _reaches_itself(node, module_name)}
    statements = [node for node in tree.body if node not in functions.values()]
    # Functions the module's other statements can reach, or that a decorator may have put anywhere.
    from_statements = set().union(*(_names_in(node) | _attributes_in(node) for node in statements)) & functions.keys()
    from_statements |= {name for name, node in functions.items() if node.decorator_list}
    shared_functions = _reached(from_statements, named, functions)
    if shared_functions & dynamic:
        return {**{name: whole for name in functions}, WHOLE_SOURCE: source_digest(source)}
    shared = hashlib.sha256("\n".join([ast.dump(node) for node in statements]
                                      + [ast.dump(functions[name]) for name in sorted(shared_functions)]).encode())
    digests = {WHOLE_SOURCE: source_digest(source)}
    for name in functions:
        reached = _reached({name}, named, functions)
        if reached & dynamic:
            digests[name] = whole
            continue
        parts = [shared.hexdigest()] + [ast.dump(functions[other]) for other in sorted(reached - shared_functions)]
        digests[name] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return digests


def _names_in(node) -> set[str]:
    """Every name ``node`` mentions."""
    import ast

    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def _attributes_in(node) -> set[str]:
    """Every attribute ``node`` reads (``self.helper``, ``module.name``): a way to reach a function too."""
    import ast

    return {child.attr for child in ast.walk(node) if isinstance(child, ast.Attribute)}


def _reaches_itself(node, module_name: str) -> bool:
    """Whether ``node`` imports its own module (reaching its functions by attribute)."""
    import ast

    for child in ast.walk(node):
        if isinstance(child, ast.Import) and any(alias.name.split(".")[0] == module_name for alias in child.names):
            return True
        if isinstance(child, ast.ImportFrom) and (child.level or (child.module or "").split(".")[0] == module_name):
            return True
    return False


def _reached(start: set[str], named: dict[str, set[str]], functions: dict) -> set[str]:
    """``start`` and every top-level function they name, and those they name, and so on."""
    reached, queue = set(start), list(start)
    while queue:
        for other in named[queue.pop()] & functions.keys() - reached:
            reached.add(other)
            queue.append(other)
    return reached


def checks_to_run(entry: dict | None, digests: dict[str, str] | None, course: str) -> list[dict] | None:
    """The checks of a saved exercise whose verdict may differ from its last grade (None: all of them).

    A check is run again when a function it looked up changed (``function_digests``),
    or when it did not end as passed, failed or not started (a timeout, a crash: the
    machine's state may have mattered), or when it is not known which functions it
    used. The others keep their verdict: every check starts from its own fixed
    seed, so the same functions earn the same verdict.
    """
    if not entry or entry.get("course") != course or digests is None or not isinstance(entry.get("functions"), dict):
        return None
    before = entry["functions"]
    changed = {name for name in before.keys() | digests.keys() if before.get(name) != digests.get(name)}
    checks = entry.get("checks") or []
    rerun = [check for check in checks
             if check.get("status") not in ("passed", "failed", "not started") or not check.get("calls")
             or changed & set(check["calls"])]
    return None if len(rerun) == len(checks) else rerun


def check_exercise(name: str) -> str:
    if name not in EXERCISES:
        raise LearnerError(f"no exercise named {name!r}; the exercises are {', '.join(EXERCISES)}.")
    return name


# --------------------------------------------------------------------------- grading


class LearnerGrader:
    """Grades the learner's saved modules on a warm runner, and keeps each result in the state file."""

    def __init__(self, checkout: Checkout):
        from grader.runner.client import RunnerProcess

        self.checkout = checkout
        self.runner = RunnerProcess()
        self.course = course_fingerprint()
        self.graded = 0

    def start(self) -> None:
        """Starts the runner now (it takes a few seconds), so that the first grade does not wait for it."""
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()

    def results(self, exercises=EXERCISES, *, fresh: bool = False, on_event=None) -> dict[str, ExerciseResult]:
        """Each exercise's result: known without grading (``known``) unless ``fresh``, else graded now."""
        results = {} if fresh else self.known(exercises)
        stale = [exercise for exercise in exercises if exercise not in results]
        if stale:
            results.update(self.grade(stale, on_event=on_event))
        return {exercise: results[exercise] for exercise in exercises}

    def known(self, exercises=EXERCISES) -> dict[str, ExerciseResult]:
        """The results that need no grading: an untouched stub's, and those in the state file for the file as saved."""
        known = {}
        for exercise in exercises:
            result = self.checkout.untouched_stub_result(exercise) or self.checkout.cached(exercise, self.course)
            if result is not None:
                known[exercise] = result
        return known

    def grade(self, exercises, on_event=None) -> dict[str, ExerciseResult]:
        """Grades ``exercises`` now, as their files are saved; the results go to the state file too.

        An untouched stub needs no runner: its checks read "not started" (``Checkout.untouched_stub_result``).
        """
        results = {}
        for exercise in exercises:
            stub = self.checkout.untouched_stub_result(exercise)
            if stub is not None:
                results[exercise] = stub
        others = [exercise for exercise in exercises if exercise not in results]
        if others:
            results.update(self._grade_on_runner(others, on_event))
        return {exercise: results[exercise] for exercise in exercises}

    def _grade_on_runner(self, exercises, on_event) -> dict[str, ExerciseResult]:
        """Grades ``exercises`` on the runner: of an exercise graded before, only the checks a save may change."""
        modules, digests, functions, kept = {}, {}, {}, {}
        for exercise in exercises:
            # Read once: the result is remembered under the digest of exactly what was graded.
            source = self.checkout.source(exercise)
            digests[exercise], functions[exercise] = source_digest(source), function_digests(source, exercise)
            if source is not None:
                modules[exercise] = base64.b64encode(source).decode()
            entry = self.checkout.state["results"].get(exercise)
            rerun = checks_to_run(entry, functions[exercise], self.course)
            if rerun is not None:
                kept[exercise] = (entry, {check["nodeid"] for check in rerun})
        selection = self._selection(exercises, kept)
        if selection is None:
            kept = {}
        answer: dict = {"result": None}
        if selection != []:
            self.graded += 1
            job = {"id": f"learner-{self.graded}", "modules": modules, "exercises": list(exercises),
                   "options": {"run_untouched_stubs": False, "checks": selection}, "events": on_event is not None,
                   "course": self.course, "label": self.checkout.label}
            answer = self.runner.grade(job, GRADING_SECONDS, on_event=on_event)
        results = results_of(answer, [e for e in exercises if e not in kept])
        for exercise, (entry, rerun) in kept.items():
            results[exercise] = merged(exercise, entry, rerun, answer)
        # A fresh state: another process (a `hint`, a second watch) may have written it meanwhile.
        self.checkout.state = self.checkout._load_state()
        for exercise, result in results.items():
            self.checkout.remember(result, digests[exercise], self.course, functions[exercise])
        self.checkout.save_state()
        return {exercise: results[exercise] for exercise in exercises}

    @staticmethod
    def _selection(exercises, kept: dict) -> list[str] | None:
        """The runner's ``checks`` option: every check of the exercises graded whole, the chosen ones of the others.

        None (grade every check) when no exercise keeps verdicts, or when an exercise graded whole has checks
        the catalog does not describe as they are (``course.declared_checks``).
        """
        if not kept:
            return None
        selection = []
        for exercise in exercises:
            if exercise in kept:
                selection += [f"{exercise}::{nodeid.rsplit('::', 1)[-1]}" for nodeid in sorted(kept[exercise][1])]
                continue
            declared = course.declared_checks(exercise)
            if not declared:
                return None
            selection += [f"{exercise}::{check['function']}" for check in declared]
        return selection


def merged(exercise: str, entry: dict, rerun: set[str], answer: dict) -> ExerciseResult:
    """An exercise's last result with the checks graded again replaced by their new verdicts."""
    if answer.get("error"):
        return ExerciseResult(exercise, [], answer["error"])
    fresh = {check["nodeid"]: check for check in graded_checks(answer) if check["exercise"] == exercise}
    if not rerun <= fresh.keys():
        return ExerciseResult(exercise, [], "the grading run did not report every check it was asked to run")
    checks = [fresh.get(check["nodeid"], check) for check in entry.get("checks") or []]
    return ExerciseResult(exercise, [CheckResult.from_record(check) for check in checks])


def current_exercise(results: dict[str, ExerciseResult]) -> str | None:
    """The first exercise in course order that is not done, or None when all are."""
    for exercise in EXERCISES:
        if exercise in results and not results[exercise].done:
            return exercise
    return None


def find_current(grader: LearnerGrader, on_event=None) -> tuple[str | None, dict[str, ExerciseResult]]:
    """The exercise the learner is on, grading in course order only as far as needed.

    An exercise whose result is in the state file costs nothing; the first
    one that needs grading is graded, and the search stops at the first
    exercise that is not done.
    """
    results: dict[str, ExerciseResult] = {}
    for exercise in EXERCISES:
        results.update(grader.results([exercise], on_event=on_event))
        if not results[exercise].done:
            return exercise, results
    return None, results
