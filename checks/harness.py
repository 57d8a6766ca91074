"""What the graded checks share: failing with a message written for the learner.

Check modules never import an exercise. They take the ``exercise`` fixture
(``grader/engine/plugin.py``): the module under test, running in a worker process,
whose calls come back as plain values or as the exception the learner's code
raised. A stub's ``NotImplementedError`` reads "not started"; what the code
does to its own process (exits, crashes, endless loops) costs only the checks
it hits.
"""

from __future__ import annotations

import numpy as np

from grader.course import SECRET_SEED
from grader.engine.verdicts import CheckFailure, GradingInterrupt, describe_student_error


# --------------------------------------------------------------------------
# Describing what went wrong
# --------------------------------------------------------------------------


def check_rng(seed: int) -> np.random.Generator:
    """The random generator of a check's inputs.

    With the public seed, ``seed`` alone: a learner gets the same inputs on
    every run. With an instructor's secret seed, ``seed`` mixed with it:
    other inputs, the same for every run with that seed, so a table of the
    public inputs' answers earns nothing.
    """
    secret = SECRET_SEED[0]
    return np.random.default_rng(seed if secret is None else [seed, secret])


def describe_exception(error: BaseException) -> str:
    """An exception from student code as a learner reads it (type, message, where in their file)."""
    return describe_student_error(error)


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
