# stub fingerprint: e1f960f86e3280cd
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_curves.py
# (Generated from solutions/curves.py by `python -m grader stubgen`.)
"""Exercise 6: reading training curves.

Every training run in this course ends with the same two pictures: accuracy
and loss per epoch, on the training data and on the validation data. They
tell you when a model starts to overfit (training accuracy keeps climbing
while validation accuracy stalls and validation loss turns up), and so how
many epochs to train and whether dropout or data augmentation helped.

Validation curves of small datasets are noisy. The chapter smooths them with
an exponential moving average before comparing runs: each smoothed point is
``previous_smoothed * factor + point * (1 - factor)``, and the first point is
kept as it is. A larger ``factor`` (closer to 1) smooths more.

Tasks, in order (run ``pytest checks/test_curves.py`` after each):

1. ``smooth_curve``: the exponential moving average of a list of numbers.
2. ``plot_history``: the two-panel figure of a training run, optionally
   smoothed.

Then ``python -m lab.figures`` saves these figures for real training runs
(see the README).

Keras 3 vs the 2019 book: ``model.fit`` returns a ``History`` whose
``.history`` dict names the accuracy ``"accuracy"`` and ``"val_accuracy"``;
the book's Keras 2.0 named them ``"acc"`` and ``"val_acc"``. Both spellings
are accepted here. Make the figure with ``matplotlib.figure.Figure`` (or
``plt.subplots``) and return it; never call ``plt.show()`` here: the checks
run without a screen.
"""

import numbers

import numpy as np
from matplotlib.figure import Figure

# The metrics plot_history draws, with the names Keras 3 and Keras 2.0 use.
_METRIC_NAMES = {"accuracy": ("accuracy", "acc"), "loss": ("loss",)}


def smooth_curve(points, factor=0.8):
    """Smooths a curve with an exponential moving average.

    The first point is kept; every later point becomes
    ``smoothed[i] = smoothed[i - 1] * factor + points[i] * (1 - factor)``.
    ``factor=0`` returns the points unchanged.

    Args:
        points: a non-empty sequence (list, tuple or 1-D array) of numbers,
            such as ``history.history["val_accuracy"]``. It is only read.
        factor: float in [0, 1): how much of the previous smoothed point
            each new point keeps.

    Returns:
        The smoothed values, one per point, in a new list (as the book
        builds it; a 1-D NumPy array is as good). Integer points are
        averaged as real numbers: ``smooth_curve([1, 2, 3], 0.5)`` is
        ``[1, 1.5, 2.25]``, never rounded to ints.

    Raises:
        ValueError: ``points`` is empty or not a flat sequence of numbers, or
            ``factor`` is not a number in [0, 1).
    """
    raise NotImplementedError("smooth_curve: your code goes here")


def _curve(metrics, name):
    """Returns the values of metric ``name`` (any of its spellings) as floats."""
    for key in _METRIC_NAMES[name]:
        if key in metrics:
            return key, [float(v) for v in metrics[key]]
    raise ValueError(
        f"the history has no {name!r} entry (looked for {', '.join(map(repr, _METRIC_NAMES[name]))}); "
        f"it has {sorted(metrics)}. Compile the model with metrics=['accuracy']."
    )


def plot_history(history, smooth=False):
    """Plots a training run: an accuracy panel and a loss panel.

    In each panel the training values are drawn as dots only (blue ``"bo"``
    in the book, or ``ax.scatter``) and the validation values as a line
    (``"b"``), against the epoch numbers 1, 2, ..., with a title naming the
    metric ("Training and validation accuracy", "Training and validation
    loss"), both axis labels, and a legend in which each curve has its own
    name. With ``smooth=True`` both curves of both panels are smoothed with
    ``smooth_curve`` (default factor) before plotting.

    Args:
        history: a ``keras.callbacks.History`` (what ``model.fit`` returns)
            or its ``.history`` dict. It must hold the accuracy (``"accuracy"``
            or ``"acc"``) and ``"loss"``, and their validation twins with a
            ``"val_"`` prefix, one value per epoch. It is only read.
        smooth: whether to smooth the curves.

    Returns:
        A ``matplotlib.figure.Figure`` with two axes: the accuracy panel
        and the loss panel, each found by its title (the book puts accuracy
        on the left). The checks draw it: keep it an ordinary size (they
        refuse one of over 40 million pixels).

    Raises:
        ValueError: ``history`` is neither a History nor a dict, a metric or
            its validation twin is missing, or the curves are empty or of
            different lengths.
    """
    raise NotImplementedError("plot_history: your code goes here")
