"""What a check can conclude about the learner's code, as exceptions.

``CheckFailure`` is an ordinary failed check. The others derive from
``GradingInterrupt`` (a ``BaseException``), so that nothing between the call
and the verdict, neither Hypothesis (which would otherwise go on shrinking,
calling the same stub or endless loop again and again) nor a check's own
``except Exception``, can swallow them.
"""

from __future__ import annotations


class CheckFailure(AssertionError):
    """A check's verdict on the learner's code, already worded for them."""


class MissingName(AttributeError):
    """The module under test lacks a name the checks call.

    An ``AttributeError``, so that ``hasattr`` (which tools such as Hypothesis
    use to probe objects) still answers False.
    """


class GradingInterrupt(BaseException):
    """Ends a check at once."""


class NotStarted(GradingInterrupt):
    """The learner has not written this function yet (the stub raised)."""

    def __init__(self, function_name: str, module_path: str):
        self.function_name = function_name
        self.module_path = module_path
        super().__init__(
            f"not started: `{function_name}` in {module_path} still raises "
            "NotImplementedError. Replace the `raise NotImplementedError(...)` "
            "line with your code."
        )


class CheckTimeout(GradingInterrupt):
    """The check ran past its time limit."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(
            f"timed out after {seconds:g} s. Is there a loop that never ends, or a "
            "Python loop over every pixel? (NumPy code here should take well "
            "under a second.)"
        )


class RunDeadline(GradingInterrupt):
    """The whole grading run is past its deadline: no more calls into student code."""

    def __init__(self, seconds: float):
        super().__init__(f"not run: the grading run's deadline ({seconds:g} s) had passed.")


class ExerciseImportError(GradingInterrupt):
    """The module under test could not be imported."""

    headline = "could not be imported"

    def __init__(self, module_path: str, details: str):
        self.module_path = module_path
        self.details = details
        super().__init__(f"{module_path} {self.headline}:\n{details}")


class FenceRefused(ExerciseImportError):
    """The module under test was not imported: the run requires a fence this machine did not give."""

    headline = "was not run"


class WorkerEnded(CheckFailure):
    """The worker process running the learner's code ended in the middle of a call."""


class WorkerKeepsEnding(GradingInterrupt):
    """The worker ended in several calls of one check: the check ends without trying more inputs."""


class StudentRaised:
    """Mixed into the builtin exception a learner's code raised, as the grader re-raises it.

    Attributes:
        student: the worker's description: ``type`` (the learner's own class
            name), ``message``, ``frames`` ([line, function, code] in their file).
        shown_path: the learner's file as the learner sees it.
    """

    student: dict
    shown_path: str


_STUDENT_CLASSES: dict[type, type] = {}


def clean_described(described) -> dict:
    """The worker's description of an exception, rebuilt here from cleaned fields only.

    The worker runs the learner's code, which may have replaced the worker's
    own cleaning: every string is cut and stripped of control characters
    again, and names and code lines are kept to one line.
    """
    from grader.remote.transport import clean_text

    if not isinstance(described, dict):
        described = {}
    line = lambda value, limit: clean_text(str(value), limit).replace("\n", " ")  # noqa: E731
    frames = []
    for frame in described.get("frames") or []:
        if isinstance(frame, (list, tuple)) and len(frame) == 3 and isinstance(frame[0], int):
            frames.append([frame[0], line(frame[1], 100), line(frame[2], 300)])
    cleaned = {
        "type": line(described.get("type", "Exception"), 100),
        "bases": [str(b) for b in described.get("bases") or [] if isinstance(b, str) and b.isidentifier()],
        "message": clean_text(str(described.get("message", ""))),
        "frames": frames[-3:],
    }
    for key, limit in (("code", 200), ("text", 300), ("filename", 300)):
        if key in described:
            cleaned[key] = line(described[key], limit)
    for key in ("lineno", "offset"):
        if isinstance(described.get(key), int):
            cleaned[key] = described[key]
    return cleaned


def student_exception(described: dict, shown_path: str) -> BaseException:
    """A grader-side exception standing for one the learner's code raised.

    It is an instance of the nearest builtin class of the learner's exception
    (a ``class MyError(ValueError)`` comes back as a ValueError), so checks can
    catch it by type; ``describe_student_error`` tells what it really was.
    """
    import builtins

    described = clean_described(described)
    base = Exception
    for name in described.get("bases", ()):
        candidate = getattr(builtins, str(name), None)
        if isinstance(candidate, type) and issubclass(candidate, Exception):
            base = candidate
            break
    cls = _STUDENT_CLASSES.get(base)
    if cls is None:
        cls = type(base.__name__, (base, StudentRaised), {"__module__": "builtins"})
        _STUDENT_CLASSES[base] = cls
    error = cls(described.get("message", ""))
    error.student = described
    error.shown_path = shown_path
    return error


def describe_student_error(error: BaseException) -> str:
    """An exception from the learner's code as they read it: type, message, and where in their file."""
    described = getattr(error, "student", None)
    if described is None:
        return f"{type(error).__name__}: {error}"
    first, *rest = str(described.get("message", "")).splitlines() or [""]
    # Lines of the learner's text are marked, so that none can pass for the grader's own (a score table).
    header = "\n".join([f"{described.get('type', type(error).__name__)}: {first}", *(f"    | {r}" for r in rest)])
    frames = described.get("frames") or []
    if not frames:
        return header
    lines = [header, "  raised here:"]
    for line, function, code in frames:
        lines.append(f"    {error.shown_path}, line {line}, in {function}")
        if code:
            lines.append(f"        {code}")
    return "\n".join(lines)
