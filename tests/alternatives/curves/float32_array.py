"""Exercise 6 in NumPy float32, returning an array; the legend named by ax.legend([...])."""

import numpy as np
from matplotlib.figure import Figure


def smooth_curve(points, factor=0.8):
    if factor < 0 or factor >= 1:
        raise ValueError(f"factor {factor} is not in [0, 1)")
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 1 or points.size == 0:
        raise ValueError("points must be a non-empty 1-D sequence")
    out = np.empty_like(points)
    out[0] = points[0]
    f = np.float32(factor)
    for i in range(1, len(points)):
        out[i] = out[i - 1] * f + points[i] * (np.float32(1) - f)
    return out


def plot_history(history, smooth=False):
    metrics = history.history if hasattr(history, "history") else history
    if not isinstance(metrics, dict):
        raise ValueError("expected a keras History or its .history dict")
    try:
        acc_name = next(name for name in ("accuracy", "acc") if name in metrics)
        curves = {name: (np.asarray(metrics[name], np.float32), np.asarray(metrics["val_" + name], np.float32))
                  for name in (acc_name, "loss")}
    except (StopIteration, KeyError) as error:
        raise ValueError(f"the history lacks a curve: {error!r}") from None
    fig = Figure(figsize=(12, 5))
    axes = fig.subplots(ncols=2)
    for ax, (name, (train, val)) in zip(axes, curves.items()):
        if smooth:
            train, val = smooth_curve(train), smooth_curve(val)
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, linestyle="none", marker="o", color="tab:blue")
        ax.plot(epochs, val, "-", color="tab:orange")
        ax.set_title(("Smoothed " if smooth else "") + name + " per epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend(["training " + name, "validation " + name])
    return fig
