"""``grade()``: grading an exercise from a notebook cell (Jupyter, Colab) or a Python prompt.

The notebook's kernel runs the learner's code (they call their own
functions in it), so it is not where a grade is decided: ``grade`` sends the
learner's *saved* module to a warm grading runner (``grader/runner/server.py``),
which runs it in fenced workers and returns plain data. The runner stays up
for the kernel's life, so the second grade skips TensorFlow's import.
"""

from __future__ import annotations

import html
import sys
import time

from grader.course import EXERCISES
from grader.learner.state import Checkout, ExerciseResult, LearnerGrader, check_exercise, find_current
from grader.results import exercise_number

_graders: dict[str, LearnerGrader] = {}  # one warm runner per graded folder, for the kernel's life


class Report:
    """What ``grade()`` returns: shown as a table in a notebook, as text elsewhere."""

    def __init__(self, checkout: Checkout, result: ExerciseResult, seconds: float):
        self.checkout, self.result, self.seconds = checkout, result, seconds

    @property
    def score(self) -> float:
        return self.result.points

    @property
    def max_score(self) -> float:
        return self.result.max_points

    @property
    def checks(self) -> list[dict]:
        """Each check as plain data: ``nodeid``, ``exercise``, ``name``, ``points``, ``task``, ``status``, ``message``..."""
        return self.result.records()

    def __str__(self) -> str:
        from grader.learner.watch import exercise_lines, failure_lines

        lines = exercise_lines(self.checkout, self.result)
        failure = failure_lines(self.result)
        if failure:
            lines += ["", *failure]
        elif self.result.done:
            lines += ["", "Full marks: every check passes."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from grader.learner.watch import failure_lines

        result = self.result
        number = exercise_number(result.exercise)
        colours = {"passed": "#1a7f37", "not started": "#6e7781"}
        rows = "".join(
            f"<tr><td style='color:{colours.get(c.status, '#cf222e')}'>{html.escape(c.status)}</td>"
            f"<td style='text-align:left'>{html.escape(c.name)}</td>"
            f"<td>{c.score:g} / {c.points:g}</td></tr>"
            for c in result.checks)
        failure = "\n".join(failure_lines(result))
        detail = (f"<pre style='white-space:pre-wrap'>{html.escape(failure)}</pre>" if failure
                  else "<p>Full marks: every check passes.</p>" if result.done else "")
        error = f"<p style='color:#cf222e'>grading failed: {html.escape(result.error)}</p>" if result.error else ""
        return (f"<div><b>Exercise {number}: {html.escape(result.exercise)}</b> "
                f"({html.escape(self.checkout.shown(result.exercise))}): "
                f"<b>{result.points:g} / {result.max_points:g}</b> points, {html.escape(result.state)} "
                f"<small>({self.seconds:.1f} s)</small>{error}"
                f"<table><tr><th>status</th><th style='text-align:left'>check</th><th>points</th></tr>{rows}</table>"
                f"{detail}</div>")


def grade(exercise: str | None = None, *, target: str | None = None) -> Report:
    """Grades one exercise as its file is saved, and returns the report.

    Args:
        exercise: "conv", "mnist", ... (default: the first exercise not at full marks).
        target: the folder of modules (default: CHECKS_TARGET, or ``exercises``).

    Returns:
        A ``Report`` (a table in a notebook; ``.score``, ``.max_score`` and ``.checks`` in code).
    """
    checkout = Checkout.open(target)
    key = str(checkout.folder)
    if key not in _graders:
        _graders[key] = LearnerGrader(checkout)
    grader = _graders[key]
    grader.checkout.state = checkout.state
    started = time.monotonic()
    with _Progress() as progress:
        if exercise is None:
            # Finding it grades it (or reads its result for this very file from the state file).
            exercise, found = find_current(grader, on_event=progress.on_event)
            result = found[exercise or EXERCISES[-1]]
        else:
            result = grader.grade([check_exercise(exercise)], on_event=progress.on_event)[exercise]
    return Report(grader.checkout, result, time.monotonic() - started)


class _Progress:
    """Which check runs, and for how long: a line updated in place (a notebook output, or stderr)."""

    def __init__(self):
        self.handle = None
        self.shown = False

    def __enter__(self):
        return self

    def on_event(self, event: dict) -> None:
        if event["event"] != "start":
            return
        text = f"grading {event['exercise']}: check {event['index']}/{event['count']}: {event['name']}"
        if _in_notebook():
            from IPython.display import display

            if self.handle is None:
                self.handle = display({"text/plain": text}, raw=True, display_id=True)
            else:
                self.handle.update({"text/plain": text}, raw=True)
        elif sys.stderr.isatty():  # not in a log: a line per check would bury the report
            sys.stderr.write("\r\x1b[K" + text[:100])
            sys.stderr.flush()
        self.shown = True

    def __exit__(self, *exc_info):
        if self.handle is not None:
            self.handle.update({"text/plain": ""}, raw=True)
        elif self.shown and sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        return False


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in sys.modules
