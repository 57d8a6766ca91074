"""Exercise 6 as the book writes it: smooth_curve's loop keeps the first point as given (an int stays an int),
and the figure comes from plt.subplots with the loss panel on the left."""

import matplotlib.pyplot as plt
import numpy as np


def smooth_curve(points, factor=0.8):
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor < 1:
        raise ValueError(f"factor must be a number in [0, 1), got {factor!r}")
    if np.ndim(points) != 1 or len(points) == 0:
        raise ValueError("points must be a non-empty flat sequence of numbers")
    smoothed_points = []
    for point in points:
        if smoothed_points:
            previous = smoothed_points[-1]
            smoothed_points.append(previous * factor + point * (1 - factor))
        else:
            smoothed_points.append(point)
    return smoothed_points


def plot_history(history, smooth=False):
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, dict):
        raise ValueError("plot_history takes a History or its .history dict")
    acc = "acc" if "acc" in history else "accuracy"
    for key in (acc, "val_" + acc, "loss", "val_loss"):
        if key not in history:
            raise ValueError(f"the history has no {key!r}")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, name in ((loss_ax, "loss", "loss"), (acc_ax, acc, "accuracy")):
        train, val = list(history[key]), list(history["val_" + key])
        if len(train) != len(val) or not train:
            raise ValueError(f"{key} and val_{key} differ in length")
        if smooth:
            train, val = smooth_curve(train), smooth_curve(val)
        epochs = range(1, len(train) + 1)
        ax.plot(epochs, train, "bo", label="Training " + name)
        ax.plot(epochs, val, "b", label="Validation " + name)
        ax.set_title("Training and validation " + name)
        ax.set_xlabel("Epochs")
        ax.set_ylabel(name)
        ax.legend()
    return fig
