"""Exercise 6 with itertools.accumulate and a tuple, dots drawn with scatter on a pyplot figure."""

import itertools

import matplotlib.pyplot as plt


def smooth_curve(points, factor=0.8):
    points = list(points)
    if not points:
        raise ValueError("empty curve")
    if not (0.0 <= factor < 1.0):
        raise ValueError("factor must lie in [0, 1)")
    return tuple(itertools.accumulate((float(p) for p in points),
                                      lambda prev, p: prev * factor + p * (1 - factor)))


def _get(metrics, *names):
    for name in names:
        if name in metrics and "val_" + name in metrics:
            return metrics[name], metrics["val_" + name]
    raise ValueError(f"no {names[0]} / val_{names[0]} in {sorted(metrics)}")


def plot_history(history, smooth=False):
    metrics = getattr(history, "history", history)
    if not isinstance(metrics, dict):
        raise ValueError("plot_history needs a History or a dict")
    panels = {"accuracy": _get(metrics, "accuracy", "acc"), "loss": _get(metrics, "loss")}
    fig = plt.figure(figsize=(11, 4))
    for i, (name, (train, val)) in enumerate(panels.items(), start=1):
        ax = fig.add_subplot(1, 2, i)
        if smooth:
            train, val = smooth_curve(train), smooth_curve(val)
        epochs = list(range(1, len(train) + 1))
        ax.plot(epochs, val, "b", label=f"Validation {name}")
        ax.scatter(epochs, train, c="b", marker="o", label=f"Training {name}")
        ax.set(title=f"Training and validation {name}", xlabel="Epochs", ylabel=name)
        ax.legend(loc="best")
    return fig
