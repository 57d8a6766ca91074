"""Exercise 6 checks: smoothing and plotting training curves."""

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.harness import CheckFailure, expect, expect_raises
from grader.engine.described import DrawnFigure


# A short run where training and validation differ at every epoch, so that
# each line can be told apart by its values.
HISTORY = {
    "accuracy": [0.61, 0.72, 0.80, 0.86, 0.91, 0.95],
    "val_accuracy": [0.64, 0.70, 0.74, 0.73, 0.75, 0.72],
    "loss": [0.66, 0.55, 0.43, 0.33, 0.24, 0.15],
    "val_loss": [0.63, 0.58, 0.54, 0.56, 0.59, 0.66],
}
NO_LINE = ("None", "", " ", "none")


def smoothed(points, factor=0.8):
    """The exponential moving average, written out independently of solutions/."""
    out = [float(points[0])]
    for point in points[1:]:
        out.append(out[-1] * factor + float(point) * (1 - factor))
    return out


def smooth_call(exercise, points, factor=None):
    """Calls the learner's smooth_curve and checks the result's type (a list, tuple or array of numbers) and length."""
    what = f"smooth_curve({list(points)!r}{'' if factor is None else f', factor={factor!r}'})"
    args = (list(points),) if factor is None else (list(points), factor)  # a copy: the checks keep the original
    got = exercise.smooth_curve(*args)
    expect(isinstance(got, (list, tuple, np.ndarray)),
           f"{what} should return a list (or 1-D array) of the smoothed values, got {type(got).__name__}: "
           f"{repr(got)[:200]}")
    try:
        values = [float(v) for v in got]
    except (TypeError, ValueError):
        raise CheckFailure(f"{what} should return a list of numbers, got {repr(got)[:200]}") from None
    expect(len(values) == len(points),
           f"{what} returned {len(values)} values for {len(points)} points: the smoothed curve has one "
           "value per point.")
    return values, what


def rounding_slack(points):
    """How far a correct moving average computed in float32 may stray from the exact one.

    Each step rounds once (relative error eps32 of a value no larger than max |point|), and
    an earlier step's error is multiplied by factor < 1 at every later step, so the errors of
    n points add up to at most n * eps32 * max |point|; two more eps32 for rounding the inputs
    and the output. A wrong formula (weights swapped, first point dropped) is off by a sizeable
    fraction of the points, far more than this; in float64 the slack is never needed.
    """
    eps32 = float(np.finfo(np.float32).eps)
    return eps32 * (len(points) + 2) * (1 + max(abs(float(p)) for p in points))


def expect_values(got, expected, what, points, factor):
    if np.allclose(got, expected, rtol=1e-6, atol=rounding_slack(points)):
        return
    causes = []
    if np.allclose(got, smoothed(points, 1 - factor), rtol=1e-6, atol=rounding_slack(points)):
        causes.append("factor and 1 - factor swapped: the previous smoothed point is weighted by `factor`.")
    raw_previous = [float(points[0])] + [float(a) * factor + float(b) * (1 - factor) for a, b in zip(points, points[1:])]
    first_kept = math.isclose(got[0], points[0], rel_tol=1e-6, abs_tol=1e-12)
    if not first_kept and math.isclose(got[0], points[0] * (1 - factor), rel_tol=1e-6) and factor > 0:
        causes.append("the first point is not kept: the average starts from the first point, not from 0.")
    elif not first_kept:
        causes.append("the first point must be kept as it is.")
    elif len(points) > 2 and np.allclose(got, raw_previous, rtol=1e-6, atol=rounding_slack(points)):
        causes.append("each point is averaged with the previous *point*; use the previous *smoothed* value.")
    raise CheckFailure(
        f"{what}: expected {[round(v, 6) for v in expected]}, got {[round(v, 6) for v in got]}.\n"
        "Each point is previous_smoothed * factor + point * (1 - factor)."
        + "".join(f"\nLikely cause: {c}" for c in causes[:1])
    )


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
curves = st.lists(finite, min_size=1, max_size=40)
factors = st.floats(0, 1, exclude_max=True)


# --------------------------------------------------------------------------
# Task 1: smooth_curve
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="smooth_curve")
def test_smooth_by_hand(exercise):
    """smooth_curve([1, 2, 3], 0.5) is [1, 1.5, 2.25], and the default factor is 0.8"""
    got, what = smooth_call(exercise, [1.0, 2.0, 3.0], 0.5)
    expect_values(got, [1.0, 1.5, 2.25], what, [1.0, 2.0, 3.0], 0.5)
    got, what = smooth_call(exercise, [0.0, 10.0])
    expect_values(got, [0.0, 2.0], what + " (default factor 0.8: 0 * 0.8 + 10 * 0.2)", [0.0, 10.0], 0.8)
    # The docstring takes any flat sequence of numbers and averages them as real numbers: integer input must not be
    # averaged in integers (np.empty_like of an int array truncates 1.5 to 1). Judged by the values, whatever the
    # container (a list, as the book builds it, or an array).
    for points, name in ((np.array([1, 2, 3]), "an int64 array"), ((1, 2, 3), "a tuple of ints"),
                         (np.array([1, 2, 3], np.float32), "a float32 array")):
        what = f"smooth_curve({name} [1, 2, 3], 0.5)"
        got = exercise.smooth_curve(points, 0.5)
        try:
            values = [float(v) for v in got]
        except (TypeError, ValueError):
            raise CheckFailure(f"{what} should return a list (or 1-D array) of numbers, got {repr(got)[:200]}") from None
        expect(len(values) == 3 and np.allclose(values, [1.0, 1.5, 2.25], rtol=1e-6, atol=0),
               f"{what}: expected [1.0, 1.5, 2.25], got {values}."
               + ("\nLikely cause: the average is kept in the input's integer dtype (np.empty_like or np.zeros_like of "
                  "an int array); build the result as floats." if values[1:2] == [1.0] else ""))


@pytest.mark.points(2, task="smooth_curve")
@given(points=curves, factor=factors)
def test_smooth_matches_formula(exercise, points, factor):
    """smooth_curve equals the moving average for any curve and any factor in [0, 1)"""
    got, what = smooth_call(exercise, points, factor)
    expect_values(got, smoothed(points, factor), what, points, factor)


@pytest.mark.points(1, task="smooth_curve")
@given(points=curves, factor=factors)
def test_smooth_properties(exercise, points, factor):
    """smooth_curve keeps the first point and stays between the curve's min and max"""
    got, what = smooth_call(exercise, points, factor)
    expect(math.isclose(got[0], points[0], rel_tol=1e-6, abs_tol=1e-12), f"{what}: the first point should be kept as it is ({points[0]}), got {got[0]}.")
    low, high = min(points), max(points)
    slack = rounding_slack(points)
    outside = [v for v in got if not low - slack <= v <= high + slack]
    expect(not outside,
           f"{what}: smoothed values {outside[:3]} lie outside the curve's range [{low}, {high}]; "
           "an average of the points can never leave it. Are the weights factor and 1 - factor?")


class SmoothCall:
    """One call of smooth_curve, shown as the call itself.

    Hypothesis' falsifying example then names the very input the failure
    message names (``smooth_curve([1.0], factor=0.5)``), not the values it
    was made from.
    """

    def __init__(self, points, factor):
        self.points, self.factor = points, factor

    def __repr__(self) -> str:
        return f"smooth_curve({self.points!r}, factor={self.factor!r})"


@st.composite
def unchanged_calls(draw):
    """A call whose result is its input: any curve with factor=0, or a constant curve with any factor."""
    if draw(st.booleans()):
        return SmoothCall(draw(curves), 0.0)
    return SmoothCall([draw(finite)] * draw(st.integers(1, 30)), draw(factors))


@pytest.mark.points(1, task="smooth_curve")
@given(call=unchanged_calls())
def test_smooth_identity_and_constant(exercise, call):
    """factor=0 returns the curve unchanged, and a constant curve stays constant"""
    got, what = smooth_call(exercise, call.points, call.factor)
    if call.factor == 0:
        expect(np.allclose(got, call.points, rtol=1e-6, atol=1e-12),
               f"{what}: with factor=0 nothing is smoothed, expected {call.points}, got {got}.")
    else:
        expect(np.allclose(got, call.points, rtol=1e-9, atol=rounding_slack(call.points)),
               f"{what}: a constant curve must stay constant, got {got}.\n"
               "Likely cause: the weights do not add up to 1 (use factor and 1 - factor), or the first point "
               "is not kept.")


@pytest.mark.points(1, task="smooth_curve")
def test_smooth_rejects_bad_input(exercise):
    """smooth_curve raises ValueError for an empty or 2-D curve or a factor outside [0, 1), and leaves its input alone"""
    for factor, why in ((1.0, "with factor 1 the curve never moves from its first point"),
                        (1.5, "a factor above 1 makes the average diverge"),
                        (-0.2, "a negative factor is not a moving average")):
        expect_raises(ValueError, exercise.smooth_curve, [1.0, 2.0], factor,
                      what=f"smooth_curve([1.0, 2.0], factor={factor})", why=why)
    expect_raises(ValueError, exercise.smooth_curve, [], what="smooth_curve([])",
                  why="an empty curve has no first point to keep")
    # A 2-D "curve" must be refused, not smoothed row by row into a list of arrays. The docstring says ValueError;
    # a TypeError raised on the way is accepted too, since the type of the input is what is wrong.
    what = "smooth_curve([[0.1, 0.2], [0.3, 0.4]])"
    try:
        result = exercise.smooth_curve([[0.1, 0.2], [0.3, 0.4]])
    except (ValueError, TypeError):
        pass
    except Exception as error:  # noqa: BLE001
        raise CheckFailure(f"{what} should raise ValueError (points must be a flat sequence of numbers), got "
                           f"{type(error).__name__}: {error}") from None
    else:
        raise CheckFailure(f"{what} should raise ValueError: points must be a flat sequence of numbers, but it "
                           f"returned {repr(result)[:200]}.\nLikely cause: no check that the points are 1-D "
                           "(np.asarray(points).ndim == 1).")
    points = np.array([0.5, 0.7, 0.6])
    as_list = [0.5, 0.7, 0.6]
    exercise.smooth_curve(points)
    points_after = exercise.argument_after(0)
    exercise.smooth_curve(as_list)
    list_after = exercise.argument_after(0)
    expect(np.array_equal(points_after, [0.5, 0.7, 0.6]) and list_after == [0.5, 0.7, 0.6],
           "smooth_curve modified the curve it was given; build a new list instead.")


# --------------------------------------------------------------------------
# Task 2: plot_history
# --------------------------------------------------------------------------


def make_figure(exercise, history, smooth=None, what=None):
    """Calls the learner's plot_history and returns ``(figure, {"accuracy": ax, "loss": ax})``.

    The figure comes back as what it shows (``DrawnFigure``): the worker drew it and described every panel.
    """
    what = what or f"plot_history(history{'' if smooth is None else f', smooth={smooth}'})"
    fig = exercise.plot_history(history) if smooth is None else exercise.plot_history(history, smooth=smooth)
    expect(isinstance(fig, DrawnFigure),
           f"{what} should return a matplotlib Figure (from Figure(...) or plt.subplots), "
           f"got {type(fig).__name__}. Return the figure; do not call plt.show().")
    expect(fig.too_large is None, f"{what}: the figure is too large to grade: {fig.too_large}. The default size "
                                  "(or figsize=(10, 4) for two panels side by side) is plenty.")
    expect(fig.drawing_error is None, f"{what}: the figure could not be drawn: {fig.drawing_error}")
    axes = fig.axes
    expect(len(axes) == 2, f"{what}: expected 2 panels (accuracy and loss), the figure has {len(axes)}.")
    panels = {}
    for name, words in (("accuracy", ("acc",)), ("loss", ("loss",))):
        found = [ax for ax in axes if any(w in ax.title.lower() for w in words)]
        expect(len(found) == 1,
               f"{what}: expected one panel titled with '{name}' (the titles are "
               f"{[ax.title for ax in axes]}). Title each panel, e.g. 'Training and validation {name}'.")
        panels[name] = found[0]
    return fig, panels


class Series:
    """One drawn series of a panel, whether ax.plot made it (a line) or ax.scatter (a collection of dots)."""

    def __init__(self, x, y, label, dots, line, how):
        self.x, self.y, self.label = np.asarray(x, dtype=float), np.asarray(y, dtype=float), str(label)
        self.dots, self.line, self.how = dots, line, how  # markers drawn? a line drawn? how it was drawn, for messages


def series_in(ax):
    """Every visible series the panel shows: lines (ax.plot) and scatter collections (ax.scatter)."""
    found = []
    for line in ax.lines:
        if not line.visible:
            continue
        dots, drawn = line.marker not in NO_LINE, line.linestyle not in NO_LINE
        how = ("dots and a line" if dots and drawn else "dots" if dots else "a line" if drawn else "nothing visible")
        found.append(Series(line.x, line.y, line.label, dots, drawn,
                            f"ax.plot with marker {line.marker!r} and line style {line.linestyle!r} ({how})"))
    for collection in ax.collections:
        if not collection.visible:
            continue
        offsets = collection.offsets
        dots = offsets.size > 0 and (collection.sizes.size == 0 or collection.sizes.max() > 0)
        found.append(Series(offsets[:, 0], offsets[:, 1], collection.label, dots, False, "ax.scatter (dots)"))
    return found


def series_carrying(ax, values):
    """The panel's series whose y values are ``values``, one per epoch, in order."""
    return [s for s in series_in(ax)
            if s.y.shape == (len(values),) and np.allclose(s.y, values, rtol=1e-6, atol=1e-9)]


def describe_series(ax):
    return "; ".join(
        f"{s.label!r} ({s.how}): {np.round(s.y, 4).tolist()}" for s in series_in(ax)
    ) or "nothing (no ax.plot or ax.scatter in this panel)"


def expect_curves(ax, panel, history, what, smooth):
    """The panel shows training as dots (ax.plot 'bo' or ax.scatter) and validation as a line, with the history's values.

    What is judged is what the panel shows: the values of each series against the epoch numbers,
    and whether they appear as dots or as a line; not which matplotlib call drew them.
    """
    key = panel if panel in history else {"accuracy": "acc"}[panel]
    epochs = np.arange(1, len(history[key]) + 1)
    for kind, values in (("training", history[key]), ("validation", history["val_" + key])):
        expected = smoothed(values) if smooth else list(values)
        carrying = series_carrying(ax, expected)
        if not carrying:
            cause = ""
            if smooth and series_carrying(ax, values):
                cause = "\nLikely cause: the curves were not smoothed (smooth=True: pass each curve through smooth_curve)."
            elif not smooth and series_carrying(ax, smoothed(values)):
                cause = "\nLikely cause: the curves were smoothed although smooth=False."
            raise CheckFailure(
                f"{what}: the {panel} panel shows no {kind} values {np.round(expected, 4).tolist()}"
                f"{' (smoothed, factor 0.8)' if smooth else ''}, neither as dots nor as a line.\n"
                f"  the panel shows: {describe_series(ax)}{cause}"
            )
        on_epochs = [s for s in carrying if np.array_equal(s.x, epochs)]
        if not on_epochs:
            x = carrying[0].x
            raise CheckFailure(
                f"{what}: the {kind} {panel} is drawn against x = {x.tolist()}; expected the epoch numbers "
                f"{epochs.tolist()} (range(1, len(values) + 1)).")
        if kind == "training":
            expect(any(s.dots and not s.line for s in on_epochs),
                   f"{what}: the training {panel} should be drawn as dots only (ax.plot(..., 'bo') or ax.scatter), "
                   f"got {on_epochs[0].how}.")
        else:
            expect(any(s.line for s in on_epochs),
                   f"{what}: the validation {panel} should be drawn as a line (ax.plot(..., 'b')), got "
                   f"{on_epochs[0].how}.")


@pytest.mark.points(2, task="plot_history")
def test_plot_history_panels(exercise):
    """plot_history returns a Figure with an accuracy and a loss panel, each titled, labelled and with a legend

    Every plot_history check reads the figure as drawn in your code's process: it must draw without error and
    stay within 40 million pixels (figsize times dpi, squared), far above any figure of two panels.
    """
    fig, panels = make_figure(exercise, dict(HISTORY))
    for name, ax in panels.items():
        expect(ax.xlabel.strip() != "" and ax.ylabel.strip() != "",
               f"plot_history: the {name} panel needs axis labels (ax.set_xlabel('Epochs'), "
               f"ax.set_ylabel('{name.capitalize()}')); got x label {ax.xlabel!r}, y label {ax.ylabel!r}.")
        texts = [] if ax.legend is None else [text.strip() for text in ax.legend]
        named = [t for t in texts if t]
        expect(len(set(named)) >= 2,
               f"plot_history: the {name} panel needs a legend naming the training and the validation curve, "
               f"each with its own name (label=... on each series, then ax.legend()); got "
               f"{'no legend' if ax.legend is None else f'a legend with the entries {texts}'}.")


@pytest.mark.points(2, task="plot_history")
def test_plot_history_lines(exercise):
    """plot_history draws training as dots and validation as a line, with exactly the history's values per epoch, and leaves the history alone"""
    fig, panels = make_figure(exercise, copy.deepcopy(HISTORY))
    expect(exercise.argument_after(0) == HISTORY,
           "plot_history modified the history it was given; read it, never change it.")
    for name, ax in panels.items():
        expect_curves(ax, name, HISTORY, "plot_history(history)", smooth=False)


@pytest.mark.points(1, task="plot_history")
def test_plot_history_smoothed(exercise):
    """plot_history(history, smooth=True) draws the smoothed curves (factor 0.8)"""
    fig, panels = make_figure(exercise, dict(HISTORY), smooth=True)
    for name, ax in panels.items():
        expect_curves(ax, name, HISTORY, "plot_history(history, smooth=True)", smooth=True)


@pytest.mark.points(1, task="plot_history")
def test_plot_history_accepts_history_object(exercise):
    """plot_history takes what model.fit returns (a History), and the book's Keras 2.0 names acc / val_acc"""
    import keras

    history = keras.callbacks.History()
    history.history = copy.deepcopy(HISTORY)
    history.epoch = list(range(len(HISTORY["loss"])))
    fig, panels = make_figure(exercise, history, what="plot_history(model.fit(...))")
    for name, ax in panels.items():
        expect_curves(ax, name, HISTORY, "plot_history(a keras History)", smooth=False)
    legacy = {"acc": HISTORY["accuracy"], "val_acc": HISTORY["val_accuracy"],
              "loss": HISTORY["loss"], "val_loss": HISTORY["val_loss"]}
    fig, panels = make_figure(exercise, legacy, what="plot_history({'acc': ..., 'val_acc': ..., 'loss': ..., 'val_loss': ...})")
    expect_curves(panels["accuracy"], "accuracy", legacy, "plot_history with the names 'acc' and 'val_acc'", smooth=False)


@pytest.mark.points(1, task="plot_history")
def test_plot_history_rejects_missing_validation(exercise):
    """plot_history raises ValueError when a validation curve or a metric is missing, or the curves differ in length"""
    no_validation = {k: v for k, v in HISTORY.items() if k != "val_loss"}
    expect_raises(ValueError, exercise.plot_history, no_validation,
                  what="plot_history({'accuracy', 'val_accuracy', 'loss'})",
                  why="there is no 'val_loss' (the model was trained without validation data for it)")
    no_accuracy = {k: v for k, v in HISTORY.items() if "acc" not in k}
    expect_raises(ValueError, exercise.plot_history, no_accuracy, what="plot_history({'loss', 'val_loss'})",
                  why="there is no accuracy (the model was compiled without metrics=['accuracy'])")
    expect_raises(ValueError, exercise.plot_history, [0.5, 0.6], what="plot_history([0.5, 0.6])",
                  why="a list is neither a History nor its .history dict")
    short = dict(HISTORY, val_accuracy=HISTORY["val_accuracy"][:-1])
    expect_raises(ValueError, exercise.plot_history, short, what="plot_history(history with 5 val_accuracy values for 6 epochs)",
                  why="the curves must hold one value per epoch, the same number for training and validation")
