"""The learner's commands: ``python -m grader watch``, ``list``, ``hint`` and ``reset``.

``watch`` is the loop a learner keeps open in a terminal, as with rustlings:
it grades the exercise they are on every time a file in ``exercises/`` is
saved, shows one line per check and the first failure in full, and moves on
when an exercise reaches full marks. TensorFlow and the checks stay loaded in
one warm runner (``grader/runner.py``), so a save of a quick exercise is
graded in a second or two.
"""

from __future__ import annotations

import queue
import shutil
import sys
import textwrap
import threading
import time
from pathlib import Path

from grader.course import EXERCISES
from grader.learner import (
    HINT_STEPS,
    Checkout,
    ExerciseResult,
    LearnerGrader,
    check_exercise,
    current_exercise,
    declared_max_points,
    exercise_hint,
    find_current,
)

SYMBOLS = {"passed": "✓", "failed": "✗", "not started": "·", "timed out": "⧗", "error": "!", "not run": "-",
           "skipped": "-"}
ASCII_SYMBOLS = {"passed": "+", "failed": "x", "not started": ".", "timed out": "T", "error": "!", "not run": "-",
                 "skipped": "-"}
MESSAGE_LINES = 30  # of the first failure's message shown in the watch


# --------------------------------------------------------------------------- text


def symbol(status: str, stream=None) -> str:
    encoding = (getattr(stream or sys.stdout, "encoding", None) or "").lower()
    table = SYMBOLS if encoding.startswith("utf") else ASCII_SYMBOLS
    return table.get(status, "?")


def points(value: float) -> str:
    return f"{value:g}"


def progress_line(results: dict[str, ExerciseResult], width: int = 28) -> str:
    """``Progress: [#####---] 2/7 exercises done · 44/166 points`` (exercises not graded yet count as 0)."""
    done = sum(result.done for result in results.values())
    got = sum(result.points for result in results.values())
    best = sum(results[e].max_points if e in results else declared_max_points(e) for e in EXERCISES)
    filled = round(width * done / len(EXERCISES))
    known = f" · {points(got)}/{points(best)} points" if best else ""
    return f"Progress: [{'#' * filled}{'-' * (width - filled)}] {done}/{len(EXERCISES)} exercises done{known}"


def exercise_lines(checkout: Checkout, result: ExerciseResult, stream=None) -> list[str]:
    """The exercise's heading and one line per check."""
    number = EXERCISES.index(result.exercise) + 1
    lines = [f"Exercise {number}: {result.exercise} ({checkout.shown(result.exercise)}) · {result.state} · "
             f"{points(result.points)}/{points(result.max_points)} points"]
    if result.error:
        return [*lines, f"  grading failed: {result.error}"]
    width = max((len(c["name"]) for c in result.checks), default=0)
    width = min(width, max(shutil.get_terminal_size((100, 24)).columns - 24, 30))
    for check in result.checks:
        name = check["name"] if len(check["name"]) <= width else check["name"][: width - 1] + "…"
        lines.append(f"  {symbol(check['status'], stream)} {name:<{width}}  {check['status']:<11} "
                     f"{points(check['points'] if check['status'] == 'passed' else 0)}/{points(check['points'])}")
    return lines


def failure_lines(result: ExerciseResult, limit: int = MESSAGE_LINES) -> list[str]:
    """The first failing check's whole message, and the exercise's hint."""
    check = result.first_failing()
    if check is None or result.error:
        return []
    message = check["message"].splitlines() or [""]
    if len(message) > limit:
        message = [*message[:limit], f"… ({len(message) - limit} more lines: pytest checks/test_{result.exercise}.py)"]
    task = f" (task `{check['task']}`)" if check["task"] else ""
    lines = [f"First to fix{task}: \"{check['name']}\" {check['status']}", *("  " + line for line in message)]
    hint = result.hint or exercise_hint(result.exercise)
    if hint:
        lines += ["", f"Hint: {hint}"]
    return lines


def list_lines(checkout: Checkout, results: dict[str, ExerciseResult]) -> list[str]:
    """Every exercise and task with its state and points, then the next step."""
    lines = [progress_line(results), ""]
    headings = {exercise: f"{EXERCISES.index(exercise) + 1}. {exercise} ({checkout.shown(exercise)})"
                for exercise in results}
    width = max([len(h) for h in headings.values()] + [len(t) + 5 for r in results.values() for t, *_ in r.tasks()])
    for exercise, result in results.items():
        lines.append(f"{headings[exercise]:<{width}}  {result.state:<13}{points(result.points):>4} / "
                     f"{points(result.max_points)}")
        if result.error:
            lines.append(f"     grading failed: {result.error}")
            continue
        for task, got, best, state in result.tasks():
            lines.append(f"{'     ' + task:<{width}}  {state:<13}{points(got):>4} / {points(best)}")
    lines.append("")
    lines += next_step_lines(checkout, results)
    return lines


def next_step_lines(checkout: Checkout, results: dict[str, ExerciseResult]) -> list[str]:
    current = current_exercise(results)
    if current is None:
        return ["All exercises are done: every check passes. Well done!"]
    result = results[current]
    check = result.first_failing()
    where = f"exercise {EXERCISES.index(current) + 1}, {checkout.shown(current)}"
    if result.state == "not started":
        step = f"Next: {where}: start with `{result.current_task()}`."
    elif check is not None:
        step = f"Next: {where}, task `{check['task']}`: \"{check['name']}\" is {check['status']}."
    else:
        step = f"Next: {where}."
    return [step, "Keep `python -m grader watch` open while you work; `python -m grader hint` gives a hint."]


# --------------------------------------------------------------------------- list, hint, reset


def list_command(args) -> int:
    checkout = Checkout.open(args.target)
    grader = LearnerGrader(checkout)
    try:
        stale = [e for e in EXERCISES if checkout.cached(e, grader.course) is None]
        if stale:
            print(f"grading {', '.join(stale)} (saved since the last grade)…", file=sys.stderr, flush=True)
        results = grader.results(EXERCISES)
    finally:
        grader.stop()
    for line in list_lines(checkout, results):
        print(line)
    return 0


def hint_command(args) -> int:
    checkout = Checkout.open(args.target)
    grader = LearnerGrader(checkout)
    try:
        if args.exercise:
            exercise = check_exercise(args.exercise)
            result = grader.results([exercise])[exercise]
        else:
            exercise, results = find_current(grader)
            if exercise is None:
                print("Every exercise is done: no hint needed. Well done!")
                return 0
            result = results[exercise]
    finally:
        grader.stop()
    task = result.current_task()
    if result.done:
        print(f"Exercise {exercise} is done: every check passes.")
        return 0
    step, steps, text = checkout.next_hint(exercise, task)
    kind = HINT_STEPS[step - 1] if steps == len(HINT_STEPS) else "hint"
    print(f"Hint {step} of {steps} ({kind}) for `{task}`, exercise {EXERCISES.index(exercise) + 1} "
          f"({checkout.shown(exercise)}):")
    print(f"  {text}")
    if step < steps:
        print("Run `python -m grader hint` again for the next step.")
    else:
        print("That is the last step of this hint.")
    return 0


def reset_command(args) -> int:
    checkout = Checkout.open(args.target)
    exercise = check_exercise(args.exercise)
    shown = checkout.shown(exercise)
    backup = checkout.reset(exercise)
    if backup is None:
        print(f"{shown} is already the stub: nothing changed.")
    elif backup == checkout.path_of(exercise):
        print(f"{shown} was missing: wrote the stub.")
    else:
        print(f"{shown} is the stub again. Your file is kept in {backup}")
        print(f"(to bring it back: cp {backup} {checkout.path_of(exercise)})")
    return 0


def wrapped(lines: list[str], width: int) -> list[str]:
    """``lines`` fitted to ``width`` columns, broken between words; a continued line is indented two more."""
    fitted = []
    for line in lines:
        if len(line) <= width:
            fitted.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        fitted += textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_on_hyphens=False) or [line]
    return fitted


# --------------------------------------------------------------------------- watch


class Watch:
    """The watch loop: events (saves, keys, grades) go through one queue, the screen is redrawn per grade."""

    def __init__(self, checkout: Checkout, out=None, interactive: bool | None = None):
        self.checkout = checkout
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.grader = LearnerGrader(checkout)
        self.events: "queue.Queue[tuple[str, object]]" = queue.Queue()
        self.stop_watching = threading.Event()
        self.results: dict[str, ExerciseResult] = {}
        self.current: str | None = None
        self.notes: list[str] = []
        self.status = ""
        self.ticking = False  # while a grading's status line is kept up to date

    # ------------------------------------------------------------- output
    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show_status(self, text: str) -> None:
        """One line that is rewritten in place on a terminal (which check runs, for how long)."""
        if self.tty:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            self.out.write("\r\x1b[K" + text[:width])
            self.out.flush()
        self.status = text

    def clear_status(self) -> None:
        if self.tty and self.status:
            self.out.write("\r\x1b[K")
            self.out.flush()
        self.status = ""

    def redraw(self) -> None:
        if self.tty:
            self.out.write("\x1b[2J\x1b[H")
        lines = [progress_line(self.results), ""]
        if self.current is None:
            lines += ["Every exercise is done: all checks pass. Well done!", ""]
        else:
            result = self.results[self.current]
            lines += exercise_lines(self.checkout, result, self.out)
            failure = failure_lines(result)
            if failure:
                lines += ["", *failure]
            lines.append("")
        lines += self.notes
        self.notes = []
        keys = " · h: next hint · l: list · r: grade again · q: quit (then Enter)" if self.interactive else ""
        lines.append(f"Watching {self.checkout.label}/: save a file to grade it again{keys}. Ctrl-C leaves.")
        if self.tty:  # the terminal would break long lines mid-word
            lines = wrapped(lines, shutil.get_terminal_size((100, 24)).columns - 1)
        self.write("\n".join(lines))

    # ------------------------------------------------------------- grading
    def grade(self, exercise: str) -> ExerciseResult | None:
        """Grades ``exercise`` now, showing which check runs.

        Returns None, without a result, when a new save of the same file
        arrives meanwhile: the grading is stopped (its runner with it, a new
        one starts) and the save, left in the queue, is graded next.
        """
        outcome: dict[str, ExerciseResult] = {}
        # Started here, not in the thread: a runner dies with the thread that started it (PR_SET_PDEATHSIG).
        self.grader.start()
        thread = threading.Thread(target=lambda: outcome.update(self._grade(exercise)), daemon=True)
        thread.start()
        others = []
        cancelled = False
        while thread.is_alive():
            try:
                kind, value = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            others.append((kind, value))
            if kind == "saved" and exercise in value and not cancelled:
                cancelled = True
                self.grader.stop()
        thread.join()
        for event in others:
            self.events.put(event)
        if cancelled:
            self.notes.append(f"{self.checkout.shown(exercise)} was saved again while it was graded: "
                              "grading the new version.")
            return None
        return outcome[exercise]

    def _grade(self, exercise: str) -> dict[str, ExerciseResult]:
        started = time.monotonic()
        running = {"name": "", "index": 0, "count": 0, "since": started}

        def on_event(event: dict) -> None:
            if event["event"] == "start":
                running.update(name=event["name"], index=event["index"], count=event["count"],
                               since=time.monotonic())
            self.show_status(self._status_text(exercise, running, started))

        ticker = threading.Thread(target=self._tick, args=(exercise, running, started), daemon=True)
        self.ticking = True
        ticker.start()
        try:
            self.show_status(f"grading {self.checkout.shown(exercise)}…")
            result = self.grader.grade([exercise], on_event=on_event)[exercise]
        finally:
            self.ticking = False
            ticker.join()
            self.clear_status()
        self.results[exercise] = result
        return {exercise: result}

    def _status_text(self, exercise: str, running: dict, started: float) -> str:
        now = time.monotonic()
        if not running["count"]:
            return f"grading {self.checkout.shown(exercise)}… {now - started:.0f} s"
        return (f"grading {self.checkout.shown(exercise)}: check {running['index']}/{running['count']} "
                f"\"{running['name']}\" {now - running['since']:.0f} s")

    def _tick(self, exercise: str, running: dict, started: float) -> None:
        """Keeps the status line's seconds moving while a long check runs."""
        while self.ticking:
            time.sleep(0.5)
            if self.ticking and time.monotonic() - running["since"] >= 2:
                self.show_status(self._status_text(exercise, running, started))

    def locate(self) -> None:
        """Sets the exercise the learner is on, grading in course order only what changed since its last grade."""
        self.current, found = find_current(self.grader)
        self.results.update(found)

    def settle(self) -> None:
        """Finds the exercise the learner is on and shows it."""
        self.locate()
        if self.current is not None and self.checkout.cached(self.current, self.grader.course) is None:
            self.grade(self.current)
        self.redraw()

    def on_saved(self, exercises: list[str]) -> None:
        for exercise in exercises:
            if exercise == self.current or self.current is None or EXERCISES.index(exercise) < EXERCISES.index(self.current):
                if self.grade(exercise) is None:
                    return  # saved again meanwhile: that save is next in the queue
        previous = self.current
        if previous is not None and previous in self.results and self.results[previous].done:
            self.notes.append(f"Exercise {EXERCISES.index(previous) + 1} ({previous}) is done: full marks! "
                              "On to the next one.")
        later = [e for e in exercises if self.current is not None and EXERCISES.index(e) > EXERCISES.index(self.current)]
        for exercise in later:
            self.notes.append(f"Saved {self.checkout.shown(exercise)}: it will be graded when you reach it "
                              f"(`pytest checks/test_{exercise}.py` grades it now).")
        self.locate()
        self.redraw()

    def on_key(self, key: str) -> bool:
        """Handles a line typed in the watch; returns False to quit."""
        key = key.strip().lower()
        if key in ("q", "quit", "exit"):
            return False
        if key in ("h", "hint") and self.current is not None:
            result = self.results[self.current]
            task = result.current_task()
            step, steps, text = self.checkout.next_hint(self.current, task)
            self.notes.append(f"Hint {step} of {steps} for `{task}`: {text}")
            self.redraw()
        elif key in ("l", "list"):
            self.results.update(self.grader.results(EXERCISES))
            self.write("\n".join(list_lines(self.checkout, self.results)))
        elif key in ("r", ""):
            if self.current is not None:
                self.grade(self.current)
            self.locate()
            self.redraw()
        return True

    # ------------------------------------------------------------- the loop
    def run(self) -> int:
        self.write("Starting the grader (TensorFlow and the checks load once, a few seconds)…")
        self.grader.start()
        threading.Thread(target=self._watch_files, daemon=True).start()
        if self.interactive:
            threading.Thread(target=self._read_keys, daemon=True).start()
        try:
            self.settle()
            while True:
                kind, value = self.events.get()
                if kind == "saved":
                    saved = set(value)
                    # Editors save in bursts (a temporary file, then the file): take what queued meanwhile.
                    while not self.events.empty():
                        kind, more = self.events.get_nowait()
                        if kind == "saved":
                            saved |= set(more)
                        else:
                            self.events.put((kind, more))
                            break
                    self.on_saved([e for e in EXERCISES if e in saved])
                elif kind == "key" and not self.on_key(value):
                    return 0
                elif kind == "stdin closed":
                    self.interactive = False
                elif kind == "watcher failed":
                    self.write(f"error: watching {self.checkout.label}/ failed: {value}")
                    return 1
        except KeyboardInterrupt:
            self.clear_status()
            self.write("\nStopped watching. Your files are saved; run `python -m grader watch` to go on.")
            return 0
        finally:
            self.stop_watching.set()
            self.grader.stop()

    def _watch_files(self) -> None:
        import watchfiles

        def exercise_file(change, path: str) -> bool:
            path = Path(path)
            return path.parent == self.checkout.folder and path.suffix == ".py" and path.stem in EXERCISES

        try:
            for changes in watchfiles.watch(self.checkout.folder, watch_filter=exercise_file, debounce=300,
                                            step=50, stop_event=self.stop_watching, raise_interrupt=False,
                                            recursive=False):
                saved = sorted({Path(path).stem for change, path in changes
                                if change != watchfiles.Change.deleted})
                if saved:
                    self.events.put(("saved", saved))
        except Exception as error:  # noqa: BLE001 - reported by the loop, which then ends
            self.events.put(("watcher failed", f"{type(error).__name__}: {error}"))

    def _read_keys(self) -> None:
        for line in sys.stdin:
            self.events.put(("key", line))
        self.events.put(("stdin closed", None))


def watch_command(args) -> int:
    return Watch(Checkout.open(args.target)).run()


# --------------------------------------------------------------------------- commands


def add_commands(commands) -> None:
    """Adds ``watch``, ``list``, ``hint`` and ``reset`` to ``python -m grader``."""
    target_help = "the folder of your modules (default: exercises, or CHECKS_TARGET)"
    watch = commands.add_parser(
        "watch", help="grade the exercise you are on every time you save a file (keep it open while you work)",
        description="Grades the exercise you are on (the first one not at full marks) every time a file in "
        "exercises/ is saved: one line per check, the first failure in full, and a hint. It moves on when "
        "an exercise reaches full marks. Type h, l, r or q and Enter for a hint, the list, a new grade, or "
        "to quit.")
    watch.add_argument("--target", metavar="FOLDER", help=target_help)
    watch.set_defaults(run=_guarded(watch_command))
    listing = commands.add_parser("list", help="every exercise and task with its state and points, and the next step")
    listing.add_argument("--target", metavar="FOLDER", help=target_help)
    listing.set_defaults(run=_guarded(list_command))
    hint = commands.add_parser(
        "hint", help="the next hint for the task you are on (a nudge, then the idea, then the API)",
        description="Shows one step of the hint for the task you are on; run it again for the next step.")
    hint.add_argument("exercise", nargs="?", metavar="EXERCISE",
                      help=f"an exercise ({', '.join(EXERCISES)}); default: the one you are on")
    hint.add_argument("--target", metavar="FOLDER", help=target_help)
    hint.set_defaults(run=_guarded(hint_command))
    reset = commands.add_parser(
        "reset", help="start an exercise again from its stub (your file is backed up first)")
    reset.add_argument("exercise", metavar="EXERCISE", help=f"one of {', '.join(EXERCISES)}")
    reset.add_argument("--target", metavar="FOLDER", help=target_help)
    reset.set_defaults(run=_guarded(reset_command))


def _guarded(command):
    def run(args) -> int:
        try:
            return command(args)
        except ValueError as error:  # a LearnerError, or resolve_target's "no such folder"
            print(f"error: {error}", file=sys.stderr)
            return 2
    return run
