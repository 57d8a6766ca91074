"""What the graded checks use: loading the code under test safely, and failing
with a message written for the learner.

Check modules never import an exercise themselves. They take the ``exercise``
fixture (see ``checks/conftest.py``), which is the module under test wrapped
so that every call into it is guarded: a stub's ``NotImplementedError`` reads
"not started", ``sys.exit`` and running out of memory cost only that check,
and a syntax error in the module fails only that exercise's checks.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import linecache
import os
import resource
import sys
import traceback
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# Exercise modules in course order; the score table and the result files number
# exercises by their place here.
EXERCISES = ("conv", "mnist", "dataset", "convnet", "transfer", "curves", "visualize")

# Headroom of address space a single call into student code may grow by before
# it gets a MemoryError instead of taking the whole machine (and the grading
# run) down with it. Large enough for any correct answer in this course.
DEFAULT_MEMORY_HEADROOM_GB = 6.0


class CheckFailure(AssertionError):
    """A check's verdict on the learner's code, already worded for them."""


class MissingName(AttributeError):
    """The module under test lacks a name the checks call.

    An ``AttributeError``, so that ``hasattr`` (which tools such as Hypothesis
    use to probe objects) still answers False.
    """


class GradingInterrupt(BaseException):
    """Ends a check at once.

    Derived from ``BaseException`` so that neither Hypothesis (which would
    otherwise go on shrinking, calling the same stub or endless loop again and
    again) nor a student's ``except Exception`` can swallow it.
    """


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


class ExerciseImportError(GradingInterrupt):
    """The module under test could not be imported."""

    def __init__(self, module_path: str, details: str):
        self.module_path = module_path
        self.details = details
        super().__init__(f"{module_path} could not be imported:\n{details}")


# --------------------------------------------------------------------------
# Loading the code under test
# --------------------------------------------------------------------------


def resolve_target(target: str) -> Path:
    """Returns the folder holding the modules to grade.

    Args:
        target: "exercises", "solutions", or a path to any folder with modules
            of the same names (used for the project's mutant tests).
    """
    path = Path(target)
    if not path.is_absolute():
        path = ROOT / path if (ROOT / path).is_dir() else Path.cwd() / path
    if not path.is_dir():
        raise ValueError(
            f"--target {target!r}: no such folder. Use 'exercises' (your work), "
            "'solutions' (the reference) or a path to a folder of modules."
        )
    return path.resolve()


def relative_path(path: Path | str) -> str:
    """A path as the learner sees it: relative to the project root if inside."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


@functools.cache
def _import_exercise(target_dir: Path, name: str):
    """Imports ``name`` from ``target_dir`` once; returns the module or the error."""
    file = target_dir / f"{name}.py"
    shown = relative_path(file)
    if not file.is_file():
        return ExerciseImportError(shown, f"there is no file {shown}.")
    if target_dir.parent == ROOT and (target_dir / "__init__.py").is_file():
        module_name = f"{target_dir.name}.{name}"
    else:
        module_name = f"_graded_{abs(hash(str(target_dir)))}.{name}"
    try:
        with guarded(f"importing {shown}", shown):
            if module_name.startswith("_graded_"):
                spec = importlib.util.spec_from_file_location(module_name, file)
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(module_name)
    except GradingInterrupt as interrupt:
        if isinstance(interrupt, CheckTimeout):
            raise
        return ExerciseImportError(shown, str(interrupt))
    except SyntaxError as error:
        return ExerciseImportError(shown, _format_syntax_error(error))
    except Exception as error:  # noqa: BLE001 - any error in student code is a verdict
        return ExerciseImportError(shown, describe_exception(error))
    return module


def _format_syntax_error(error: SyntaxError) -> str:
    lines = [f"SyntaxError: {error.msg} ({relative_path(error.filename or '?')}, line {error.lineno})"]
    if error.text:
        lines.append("    " + error.text.rstrip())
        if error.offset:
            lines.append("    " + " " * (error.offset - 1) + "^")
    return "\n".join(lines)


def load_exercise(target_dir: Path, name: str) -> "GuardedModule":
    """Returns the module ``name`` of ``target_dir`` with every call guarded."""
    return GuardedModule(name, target_dir, _import_exercise(target_dir, name))


class GuardedModule:
    """The module under test, seen through ``guarded`` calls.

    Attribute access returns the module's own values, except that functions
    come back wrapped so that calling them is guarded. If the module failed to
    import, any attribute access raises the import error instead.
    """

    def __init__(self, name: str, target_dir: Path, module_or_error):
        self._name = name
        self._path = relative_path(target_dir / f"{name}.py")
        self._module_or_error = module_or_error

    def __repr__(self) -> str:
        return f"<{self._path}>"

    @property
    def module(self) -> types.ModuleType:
        if isinstance(self._module_or_error, ExerciseImportError):
            raise self._module_or_error
        return self._module_or_error

    @property
    def path(self) -> str:
        return self._path

    def __getattr__(self, attribute: str):
        module = self.module
        if not hasattr(module, attribute):
            raise MissingName(
                f"{self._path} has no `{attribute}`. Keep the names and signatures "
                "of the stub: the checks call them."
            )
        value = getattr(module, attribute)
        if callable(value) and not isinstance(value, type):
            return _guard_function(value, attribute, self._path)
        return value


def _guard_function(function, name: str, shown_path: str):
    @functools.wraps(function)
    def guarded_call(*args, **kwargs):
        with guarded(f"`{name}`", shown_path):
            return function(*args, **kwargs)

    return guarded_call


class guarded:
    """Context manager around a call into student code.

    Turns what student code can do to a grading run into a verdict on one
    check: ``NotImplementedError`` becomes ``NotStarted``; ``SystemExit``, a
    ``MemoryError`` (with address space capped for the call) and ``input()``
    waiting on a closed stdin become a ``CheckFailure``. Other exceptions pass
    through unchanged, so a check can expect a ``ValueError``.
    """

    def __init__(self, what: str, shown_path: str):
        self.what = what
        self.shown_path = shown_path
        self._saved_limit = None

    def __enter__(self):
        headroom_gb = float(os.environ.get("CHECKS_MEMORY_HEADROOM_GB", DEFAULT_MEMORY_HEADROOM_GB))
        if headroom_gb > 0 and _guard_depth[0] == 0:
            self._saved_limit = _cap_address_space(headroom_gb)
        _guard_depth[0] += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        _guard_depth[0] -= 1
        if self._saved_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, self._saved_limit)
        if exc is None or isinstance(exc, GradingInterrupt):
            return False
        if isinstance(exc, NotImplementedError):
            function_name = self.what.strip("`")
            if function_name.startswith("importing"):
                return False
            raise NotStarted(function_name, self.shown_path) from None
        if isinstance(exc, SystemExit):
            raise CheckFailure(
                f"{self.what} called sys.exit({exc.code!r}) (or exit()/quit()). "
                "Functions here return their result; they never end the program."
            ) from None
        if isinstance(exc, MemoryError):
            raise CheckFailure(
                f"{self.what} ran out of memory (it tried to allocate more than the "
                f"{os.environ.get('CHECKS_MEMORY_HEADROOM_GB', DEFAULT_MEMORY_HEADROOM_GB)} GB "
                "a call may use). Look for an array far larger than the output, "
                "for example broadcasting two big arrays against each other."
            ) from None
        if isinstance(exc, EOFError):
            raise CheckFailure(f"{self.what} called input(): functions here take arguments, not typed input.") from None
        return False


_guard_depth = [0]


def _cap_address_space(headroom_gb: float):
    """Caps this process's address space at its current size plus a headroom."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: no cap
        return None
    cap = current + int(headroom_gb * 2**30)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        return None
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return (soft, hard)


# --------------------------------------------------------------------------
# Describing what went wrong
# --------------------------------------------------------------------------


def describe_exception(error: BaseException, student_dirs: tuple[Path, ...] = ()) -> str:
    """An exception from student code as a learner reads it.

    The type and message, then the innermost lines of the learner's own files
    (not NumPy's or pytest's internals) where it happened.
    """
    header = f"{type(error).__name__}: {error}"
    frames = traceback.extract_tb(error.__traceback__)
    dirs = student_dirs or _student_dirs()
    own = [f for f in frames if _is_student_file(f.filename, dirs)]
    if not own:
        return header
    lines = [header, "  raised here:"]
    for frame in own[-3:]:
        lines.append(f"    {relative_path(frame.filename)}, line {frame.lineno}, in {frame.name}")
        code = frame.line or linecache.getline(frame.filename, frame.lineno).strip()
        if code:
            lines.append(f"        {code}")
    return "\n".join(lines)


_STUDENT_DIRS: list[Path] = []


def set_student_dir(path: Path) -> None:
    """Records the folder graded in this run (for tracebacks)."""
    _STUDENT_DIRS[:] = [path]


def _student_dirs() -> tuple[Path, ...]:
    return tuple(_STUDENT_DIRS)


def _is_student_file(filename: str, dirs: tuple[Path, ...]) -> bool:
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return False
    return any(path.is_relative_to(d) for d in dirs)


def format_array(array, max_items: int = 8) -> str:
    """A short, one-line view of an array: shape, dtype and a few values."""
    try:
        array = np.asarray(array)
    except Exception:  # noqa: BLE001
        return repr(array)[:200]
    flat = array.ravel()
    shown = np.array2string(flat[:max_items], precision=4, separator=", ", max_line_width=10_000)
    more = ", ...]" if flat.size > max_items else ""
    if more:
        shown = shown[:-1] + more
    return f"shape {array.shape}, dtype {array.dtype}, values {shown}"


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """CS231n's relative error: max |a - b| / max(|a| + |b|), safe at zero."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.maximum(np.abs(got) + np.abs(expected), 1e-8)
    return float(np.max(np.abs(got - expected) / scale)) if got.size else 0.0


def _matches(got: np.ndarray, candidate, rtol: float, atol: float) -> bool:
    try:
        candidate = np.asarray(candidate)
    except Exception:  # noqa: BLE001
        return False
    return candidate.shape == got.shape and bool(np.allclose(got, candidate, rtol=rtol, atol=atol))


def expect(condition: bool, message: str) -> None:
    """Fails the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailure(message)


def expect_array(got, *, what: str, shape=None, dtype=None) -> np.ndarray:
    """Checks that ``got`` is a NumPy array (of ``shape`` / ``dtype``) and returns it."""
    if not isinstance(got, np.ndarray):
        raise CheckFailure(f"{what} should return a NumPy array, got {type(got).__name__}: {repr(got)[:200]}")
    if shape is not None and got.shape != tuple(shape):
        raise CheckFailure(f"{what}: expected shape {tuple(shape)}, got {got.shape}.")
    if dtype is not None and got.dtype != np.dtype(dtype):
        raise CheckFailure(f"{what}: expected dtype {np.dtype(dtype)}, got {got.dtype}.")
    return got


def expect_close(
    got,
    expected,
    *,
    what: str,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    likely_causes=(),
    shape_hint: str = "",
) -> None:
    """Checks that ``got`` equals ``expected`` up to float32 rounding.

    Args:
        got: what the learner's code returned.
        expected: the reference (a Keras layer, or values worked out by hand).
        what: names the call, e.g. "conv2d(x, kernel, strides=2)".
        rtol, atol: tolerances that a correct float32 answer meets.
        likely_causes: pairs ``(candidate, explanation)``. A candidate is what a
            typical bug would return (an array, or a function of no arguments
            returning one); when ``got`` matches it, the explanation is given.
        shape_hint: said when the shapes differ.
    """
    got = expect_array(got, what=what)
    expected = np.asarray(expected)
    causes = [
        explanation
        for candidate, explanation in likely_causes
        if _matches(got, candidate() if callable(candidate) else candidate, rtol, atol)
    ]
    if got.shape != expected.shape:
        message = f"{what}: expected shape {expected.shape}, got {got.shape}."
        lines = [message, *(f"Likely cause: {c}" for c in causes[:1])]
        if shape_hint and not causes:
            lines.append(f"Hint: {shape_hint}")
        raise CheckFailure("\n".join(lines))
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        raise CheckFailure(f"{what}: expected numbers, got an array of dtype {got.dtype}.")
    if np.isnan(got.astype(np.float64)).any() and not np.isnan(expected.astype(np.float64)).any():
        raise CheckFailure(f"{what}: the result contains NaN.\n  got: {format_array(got)}")
    if np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    lines = [
        f"{what}: values differ from the expected result.",
        f"  expected: {format_array(expected)}",
        f"  got:      {format_array(got)}",
        f"  largest difference at index {tuple(int(i) for i in worst)}: expected "
        f"{float(expected[worst]):.6g}, got {float(got[worst]):.6g} "
        f"(relative error {relative_error(got, expected):.2e})",
    ]
    lines += [f"Likely cause: {c}" for c in causes[:2]]
    raise CheckFailure("\n".join(lines))


def expect_raises(exception_type, function, *args, what: str, why: str, **kwargs) -> BaseException:
    """Checks that ``function(*args, **kwargs)`` raises ``exception_type``.

    Args:
        what: the call as the learner would write it.
        why: what is wrong with the input, e.g. "the kernel has 3 input channels
            but the images have 2".
    Returns:
        the exception raised, for further checks of its message.
    """
    name = exception_type.__name__
    try:
        result = function(*args, **kwargs)
    except exception_type as error:
        if not str(error).strip():
            raise CheckFailure(f"{what} raised {name} with an empty message; say what was wrong ({why}).") from None
        return error
    except GradingInterrupt:
        raise
    except Exception as error:  # noqa: BLE001
        raise CheckFailure(
            f"{what} should raise {name} because {why}, but raised "
            f"{describe_exception(error)}"
        ) from None
    raise CheckFailure(
        f"{what} should raise {name} because {why}, but returned "
        f"{format_array(result) if isinstance(result, np.ndarray) else repr(result)[:200]}.\n"
        f"Hint: check the input at the top of the function and `raise {name}(\"...\")` "
        "with a message saying what was expected."
    )


def expect_unmodified(before, after, *, what: str, argument: str) -> None:
    """Checks that an input array was left as it was."""
    if not np.array_equal(before, after, equal_nan=True):
        raise CheckFailure(
            f"{what} modified its argument `{argument}` in place. Work on a copy "
            "(or build a new array): callers do not expect their data to change."
        )


def first_line(text: str | None) -> str:
    return (inspect.cleandoc(text or "").splitlines() or [""])[0]


def reference(name: str) -> types.ModuleType:
    """The reference solution module ``solutions/NAME.py``, unguarded.

    For checks that compare the learner's result with the reference's on the
    same input (where no Keras layer or hand-made vector can be the judge).
    """
    return importlib.import_module(f"solutions.{name}")
