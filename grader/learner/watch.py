"""The learner's commands: ``python -m grader watch``, ``list``, ``hint`` and ``reset``.

``watch [EXERCISE]`` is the loop a learner keeps open in a terminal, as with
rustlings: it shows the exercise they are on (or the one they name), grades
it every time its file in ``exercises/`` is saved, shows one line per check
and the first failure in full, and moves on when the exercise reaches full
marks. Its first screen needs no grading when the exercise is an untouched
stub or was graded as it is before; the other exercises are graded
afterwards, in the background, whenever the learner is not waiting for a
grade. TensorFlow and the checks stay loaded in one warm runner
(``grader/runner/server.py``), so a save of a quick exercise is graded in a second
or two.
"""

from __future__ import annotations

import queue
import shutil
import sys
import textwrap
import threading
import time
from pathlib import Path

from grader import course, options
from grader.course import EXERCISES
from grader.learner.state import (
    HINT_STEPS,
    Checkout,
    ExerciseResult,
    LearnerGrader,
    check_exercise,
    current_exercise,
    find_current,
)
from grader.results import exercise_number as number
from grader.results import next_step_lines

SYMBOLS = {"passed": "✓", "failed": "✗", "not started": "·", "timed out": "⧗", "error": "!", "not run": "-",
           "skipped": "-"}
ASCII_SYMBOLS = {"passed": "+", "failed": "x", "not started": ".", "timed out": "T", "error": "!", "not run": "-",
                 "skipped": "-"}
MESSAGE_LINES = 30  # of the first failure's message shown in the watch
WATCHER_READY_SECONDS = 5.0  # the longest the first screen waits for the file watcher


# --------------------------------------------------------------------------- text


def symbol(status: str, stream=None) -> str:
    encoding = (getattr(stream or sys.stdout, "encoding", None) or "").lower()
    table = SYMBOLS if encoding.startswith("utf") else ASCII_SYMBOLS
    return table.get(status, "?")


def points(value: float) -> str:
    return f"{value:g}"


def progress_line(results: dict[str, ExerciseResult], width: int = 28, grading=()) -> str:
    """``Progress: [#####---] 2/7 exercises done · 44/166 points`` (exercises not graded yet count as 0).

    Args:
        grading: the exercises still being graded in the background, named at the end.
    """
    done = sum(result.done for result in results.values())
    got = sum(result.points for result in results.values())
    best = sum(results[e].max_points if e in results else sum(c["points"] for c in course.declared_checks(e) or [])
               for e in EXERCISES)
    filled = round(width * done / len(EXERCISES))
    known = f" · {points(got)}/{points(best)} points" if best else ""
    pending = f" ({', '.join(grading)}: grading in the background)" if grading else ""
    return f"Progress: [{'#' * filled}{'-' * (width - filled)}] {done}/{len(EXERCISES)} exercises done{known}{pending}"


def exercise_lines(checkout: Checkout, result: ExerciseResult, stream=None) -> list[str]:
    """The exercise's heading and one line per check."""
    lines = [f"Exercise {number(result.exercise)}: {result.exercise} ({checkout.shown(result.exercise)}) · "
             f"{result.state} · {points(result.points)}/{points(result.max_points)} points"]
    if result.error:
        return [*lines, f"  grading failed: {result.error}"]
    width = max((len(c.name) for c in result.checks), default=0)
    width = min(width, max(shutil.get_terminal_size((100, 24)).columns - 24, 30))
    for check in result.checks:
        name = check.name if len(check.name) <= width else check.name[: width - 1] + "…"
        lines.append(f"  {symbol(check.status, stream)} {name:<{width}}  {check.status:<11} "
                     f"{points(check.score)}/{points(check.points)}")
    return lines


def failure_lines(result: ExerciseResult, hint: str | None = None, label: str = "Hint",
                  limit: int = MESSAGE_LINES) -> list[str]:
    """The first failing check's whole message, and the hint for its task.

    Args:
        hint: the hint to show; by default the first step of the task's ladder (``python -m grader hint``'s
            first answer), or the exercise's hint if the task has no ladder.
        label: what the hint line starts with ("Hint 2 of 3").
    """
    check = result.first_failing()
    if check is None or result.error:
        return []
    message = check.message.splitlines() or [""]
    if len(message) > limit:
        message = [*message[:limit], f"… ({len(message) - limit} more lines: pytest checks/test_{result.exercise}.py)"]
    task = f" (task `{check.task}`)" if check.task else ""
    lines = [f"First to fix{task}: \"{check.name}\" {check.status}", *("  " + line for line in message)]
    hint = hint if hint is not None else course.hint_steps(result.exercise, check.task)[0]
    if hint:
        lines += ["", f"{label}: {hint}"]
    return lines


def list_lines(checkout: Checkout, results: dict[str, ExerciseResult]) -> list[str]:
    """Every exercise and task with its state and points, then the next step."""
    lines = [progress_line(results), ""]
    headings = {exercise: f"{number(exercise)}. {exercise} ({checkout.shown(exercise)})"
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
    current = current_exercise(results)
    if current is None:
        return [*lines, "All exercises are done: every check passes. Well done!"]
    result = results[current]
    return [*lines, *next_step_lines(current, checkout.shown(current), result.checks, error=result.error),
            "Keep `python -m grader watch` open while you work; `python -m grader hint` gives a hint."]


# --------------------------------------------------------------------------- list, hint, reset


def list_command(args) -> int:
    checkout = Checkout.open(args.target)
    grader = LearnerGrader(checkout)
    try:
        known = grader.known(EXERCISES)
        stale = [e for e in EXERCISES if e not in known]
        if stale:
            print(f"grading {', '.join(stale)} (not graded since the last change to the file or the checks)…",
                  file=sys.stderr, flush=True)
        results = grader.results(EXERCISES)  # in course order
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
    print(f"Hint {step} of {steps} ({kind}) for `{task}`, exercise {number(exercise)} "
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
    """The watch loop: events (saves, keys, grades) go through one queue, the screen is redrawn per grade.

    What the learner waits for comes first: the exercise on screen is graded
    (or read from the state file) before the screen is drawn; the other
    exercises that need grading are graded afterwards, one at a time, while
    the queue is empty, and any save or key stops such a background grade
    (it is taken up again later).
    """

    def __init__(self, checkout: Checkout, out=None, interactive: bool | None = None):
        self.checkout = checkout
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.grader = LearnerGrader(checkout)
        self.events: "queue.Queue[tuple[str, object]]" = queue.Queue()
        self.stop_watching = threading.Event()
        self.watching = threading.Event()  # set once the file watcher is in place: no save is missed after it
        self.results: dict[str, ExerciseResult] = {}
        self.current: str | None = None
        self.background: list[str] = []  # exercises to grade while the learner waits for nothing, first first
        self.notes: list[str] = []
        self.status = ""
        self.grading_ended = threading.Event()  # set when a grading ends: its status line stops ticking at once

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
        lines = [progress_line(self.results, grading=self.background), "", *self.exercise_screen(), ""]
        lines += self.notes
        self.notes = []
        keys = " · h: next hint · l: list · r: grade again · q: quit (then Enter)" if self.interactive else ""
        lines.append(f"Watching {self.checkout.label}/: save a file to grade it again{keys}. Ctrl-C leaves.")
        if self.tty:  # the terminal would break long lines mid-word
            lines = wrapped(lines, shutil.get_terminal_size((100, 24)).columns - 1)
        self.write("\n".join(lines))

    def exercise_screen(self) -> list[str]:
        """The exercise on screen: its checks, then its first failure and hint (or that it is done)."""
        if self.current is None:
            return [f"Every exercise is done: all {len(EXERCISES)} are at full marks, every check passes. Well done!"]
        result = self.results.get(self.current)
        if result is None:  # its grading was stopped by a new save, which is graded next
            return [f"Exercise {number(self.current)}: {self.current} ({self.checkout.shown(self.current)}) · grading…"]
        lines = exercise_lines(self.checkout, result, self.out)
        check = result.first_failing()
        if check is not None and not result.error:
            step, steps, hint = self.checkout.hint_reached(self.current, check.task)
            kind = f", {HINT_STEPS[step - 1]}" if steps == len(HINT_STEPS) else ""
            more = " (h: the next step)" if step < steps and self.interactive else ""
            label = f"Hint {step} of {steps}{kind}{more}" if steps > 1 else "Hint"
            return [*lines, "", *failure_lines(result, hint, label)]
        if result.done:
            return [*lines, "", "Full marks: every check passes."]
        return lines

    # ------------------------------------------------------------- grading
    def grade(self, exercise: str, background: bool = False) -> ExerciseResult | None:
        """Grades ``exercise`` now, showing which check runs.

        Returns None, without a result, when it is stopped: by a new save of
        the same file (the save, left in the queue, is graded next), or for a
        background grade, by any save or key (the exercise goes back to the
        front of the background queue). Stopping a grade stops its runner; a
        new one starts.
        """
        outcome: dict[str, ExerciseResult] = {}
        if exercise in self.background:
            self.background.remove(exercise)
        # Started here, not in the thread: a runner dies with the thread that started it (PR_SET_PDEATHSIG).
        self.grader.start()
        thread = threading.Thread(target=lambda: outcome.update(self._grade(exercise, background)), daemon=True)
        thread.start()
        others = []
        cancelled = False
        while thread.is_alive():
            try:
                kind, value = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            others.append((kind, value))
            wanted = kind in ("saved", "key") if background else kind == "saved" and exercise in value
            if wanted and not cancelled:
                cancelled = True
                self.grader.stop()
        thread.join()
        for event in others:
            self.events.put(event)
        if cancelled:  # its answer is the stopped runner's error: not a result of the learner's file
            if background:
                self.background.insert(0, exercise)
            else:
                self.notes.append(f"{self.checkout.shown(exercise)} was saved again while it was graded: "
                                  "grading the new version.")
            return None
        self.results[exercise] = outcome[exercise]
        return outcome[exercise]

    def _grade(self, exercise: str, background: bool) -> dict[str, ExerciseResult]:
        started = time.monotonic()
        running = {"name": "", "index": 0, "count": 0, "since": started}
        where = f"{self.checkout.shown(exercise)}{' (in the background)' if background else ''}"

        def on_event(event: dict) -> None:
            if event["event"] == "start":
                running.update(name=event["name"], index=event["index"], count=event["count"],
                               since=time.monotonic())
            self.show_status(self._status_text(where, running, started))

        ticker = threading.Thread(target=self._tick, args=(where, running, started), daemon=True)
        self.grading_ended.clear()
        ticker.start()
        try:
            self.show_status(f"grading {where}…")
            result = self.grader.grade([exercise], on_event=on_event)[exercise]
        finally:
            self.grading_ended.set()
            ticker.join()
            self.clear_status()
        return {exercise: result}

    @staticmethod
    def _status_text(where: str, running: dict, started: float) -> str:
        now = time.monotonic()
        if not running["count"]:
            return f"grading {where}… {now - started:.0f} s"
        return f"grading {where}: check {running['index']}/{running['count']} \"{running['name']}\" " \
               f"{now - running['since']:.0f} s"

    def _tick(self, where: str, running: dict, started: float) -> None:
        """Keeps the status line's seconds moving while a long check runs."""
        while not self.grading_ended.wait(0.5):
            if time.monotonic() - running["since"] >= 2:
                self.show_status(self._status_text(where, running, started))

    def result_of(self, exercise: str) -> ExerciseResult | None:
        """``exercise``'s result: known already, or graded now (None if a new save stopped that)."""
        return self.results.get(exercise) or self.grade(exercise)

    # ------------------------------------------------------------- where the learner is
    def settle(self, start: str | None = None) -> None:
        """Shows ``start``, or else the first exercise not at full marks; queues the others' grading.

        Only what the first screen shows is graded before it: the exercise on
        screen, if neither an untouched stub nor in the state file as saved.
        """
        self.results.update(self.grader.known(EXERCISES))
        self.current = start or next((e for e in EXERCISES if e not in self.results or not self.results[e].done),
                                     None)
        self.background = [e for e in EXERCISES if e not in self.results and e != self.current]
        if self.current is not None:
            result = self.result_of(self.current)
            if result is not None and result.done and start is None:
                self.move_on(announce=False)
        self.redraw()

    def move_on(self, announce: bool = True) -> None:
        """After the exercise on screen reached full marks: the next one after it (in course order) that is not.

        Exercises not graded yet are graded on the way; when every exercise
        is at full marks, the screen says so.
        """
        done = self.current
        after = EXERCISES.index(done) + 1
        for exercise in (*EXERCISES[after:], *EXERCISES[:after - 1]):
            result = self.result_of(exercise)
            if result is None:
                return  # a new save stopped its grading: that save comes next
            if not result.done:
                self.current = exercise
                if announce:
                    self.notes.append(f"Exercise {number(done)} ({done}) is done: full marks! "
                                      f"On to exercise {number(exercise)} ({exercise}).")
                return
        self.current = None
        if announce:
            self.notes.append(f"Exercise {number(done)} ({done}) is done: full marks! That was the last one.")

    def on_saved(self, exercises: list[str]) -> None:
        """Grades the saved exercises: the one on screen first; another one saved alone comes on screen."""
        if self.current in exercises:
            before = self.results.get(self.current)
            result = self.grade(self.current)
            if result is None:
                return  # saved again meanwhile: that save is next in the queue
            for exercise in reversed([e for e in exercises if e != self.current]):
                if exercise in self.background:
                    self.background.remove(exercise)
                self.background.insert(0, exercise)
            if result.done and not (before is not None and before.done):
                self.move_on()
        else:
            graded = []
            for exercise in exercises:
                result = self.grade(exercise)
                if result is None:
                    return
                graded.append(result)
            unfinished = [result.exercise for result in graded if not result.done]
            if unfinished:
                self.current = unfinished[0]
                self.notes.append(f"You saved {self.checkout.shown(self.current)}: it is on screen now.")
            else:
                self.notes += [f"Saved {self.checkout.shown(r.exercise)}: full marks." for r in graded]
        self.redraw()

    def grade_in_background(self) -> None:
        """Grades the first exercise of the background queue; redraws (the progress line) when the queue empties."""
        if self.grade(self.background[0], background=True) is not None and not self.background:
            self.redraw()

    # ------------------------------------------------------------- keys
    def on_key(self, key: str) -> bool:
        """Handles a line typed in the watch; returns False to quit."""
        key = key.strip().lower()
        if key in ("q", "quit", "exit"):
            return False
        if key in ("h", "hint"):
            note = self.hint_note()
            self.notes += [note] if note else []
            self.redraw()
        elif key in ("l", "list"):
            for exercise in EXERCISES:
                if self.result_of(exercise) is None:
                    return True  # a new save stopped the grading: it comes next, the list can wait
            self.write("\n".join(list_lines(self.checkout, {e: self.results[e] for e in EXERCISES})))
        elif key in ("r", ""):
            if self.current is None:
                self.redraw()
            else:
                self.checkout.forget_checks(self.current)
                self.on_saved([self.current])
        return True

    def hint_note(self) -> str | None:
        """Moves the hint of the task on screen one step on (its Hint line shows it), or says why it cannot."""
        if self.current is None:
            return "Every exercise is at full marks: no hint needed. Well done!"
        result = self.results.get(self.current)
        if result is None:
            return f"{self.checkout.shown(self.current)} is being graded: ask again once its checks are on screen."
        if result.done:
            return (f"Exercise {number(self.current)} ({self.current}) is done: every check passes, no hint needed. "
                    f"`python -m grader hint EXERCISE` gives one for another exercise.")
        task = result.current_task()
        shown, steps, _ = self.checkout.hint_reached(self.current, task)
        if shown >= steps:
            return f"The Hint line shows the last step of the hint for `{task}`."
        step = 0
        while step <= shown:  # the first step is on screen before any is asked for
            step, steps, _ = self.checkout.next_hint(self.current, task)
        return None

    # ------------------------------------------------------------- the loop
    def run(self, start: str | None = None) -> int:
        self.write("Starting the watch (the grader loads TensorFlow and the checks once, in the background)…")
        self.grader.start()
        threading.Thread(target=self._watch_files, daemon=True).start()
        if self.interactive:
            threading.Thread(target=self._read_keys, daemon=True).start()
        self.watching.wait(WATCHER_READY_SECONDS)  # the first screen says "save a file": a save must count then
        try:
            self.settle(start)
            while True:
                if self.background and self.events.empty():
                    self.grade_in_background()
                    continue
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
            # Every 0.1 s without a change it yields an empty set: the first yield tells that it is watching.
            for changes in watchfiles.watch(self.checkout.folder, watch_filter=exercise_file, debounce=300,
                                            step=50, stop_event=self.stop_watching, raise_interrupt=False,
                                            recursive=False, rust_timeout=100, yield_on_timeout=True):
                self.watching.set()
                saved = sorted({Path(path).stem for change, path in changes
                                if change != watchfiles.Change.deleted})
                if saved:
                    self.events.put(("saved", saved))
        except Exception as error:  # noqa: BLE001 - reported by the loop, which then ends
            self.events.put(("watcher failed", f"{type(error).__name__}: {error}"))
            self.watching.set()

    def _read_keys(self) -> None:
        for line in sys.stdin:
            self.events.put(("key", line))
        self.events.put(("stdin closed", None))


def watch_command(args) -> int:
    start = check_exercise(args.exercise) if args.exercise else None  # an unknown name stops here: exit status 2
    return Watch(Checkout.open(args.target)).run(start)


# --------------------------------------------------------------------------- commands


def add_commands(commands) -> None:
    """Adds ``watch``, ``list``, ``hint`` and ``reset`` to ``python -m grader``."""
    watch = commands.add_parser(
        "watch", help="grade the exercise you are on every time you save a file (keep it open while you work)",
        description="Shows EXERCISE (default: the first one not at full marks) and grades it every time its "
        "file in exercises/ is saved: one line per check, the first failure in full, and a hint. It moves on "
        "when the exercise reaches full marks; a save of another exercise's file brings that one on screen. "
        "Type h, l, r or q and Enter for a hint, the list, a new grade, or to quit.")
    watch.add_argument("exercise", nargs="?", metavar="EXERCISE",
                       help=f"the exercise to start on ({', '.join(EXERCISES)}); default: the one you are on")
    options.add_to_parser(watch, ("target",))
    watch.set_defaults(run=_guarded(watch_command))
    listing = commands.add_parser("list", help="every exercise and task with its state and points, and the next step")
    options.add_to_parser(listing, ("target",))
    listing.set_defaults(run=_guarded(list_command))
    hint = commands.add_parser(
        "hint", help="the next hint for the task you are on (a nudge, then the idea, then the API)",
        description="Shows one step of the hint for the task you are on; run it again for the next step.")
    hint.add_argument("exercise", nargs="?", metavar="EXERCISE",
                      help=f"an exercise ({', '.join(EXERCISES)}); default: the one you are on")
    options.add_to_parser(hint, ("target",))
    hint.set_defaults(run=_guarded(hint_command))
    reset = commands.add_parser(
        "reset", help="start an exercise again from its stub (your file is backed up first)")
    reset.add_argument("exercise", metavar="EXERCISE", help=f"one of {', '.join(EXERCISES)}")
    options.add_to_parser(reset, ("target",))
    reset.set_defaults(run=_guarded(reset_command))


def _guarded(command):
    def run(args) -> int:
        try:
            return command(args)
        except ValueError as error:  # a LearnerError, or resolve_target's "no such folder"
            print(f"error: {error}", file=sys.stderr)
            return 2
    return run
