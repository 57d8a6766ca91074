"""Exercise 6, written as a learner might: a plain loop, training values drawn with ax.scatter."""

import matplotlib.pyplot as plt


def smooth_curve(points, factor=0.8):
    if not 0 <= factor < 1:
        raise ValueError("factor must be in [0, 1)")
    if len(points) == 0:
        raise ValueError("cannot smooth an empty curve")
    smoothed_points = []
    for point in points:
        if smoothed_points:
            previous = smoothed_points[-1]
            smoothed_points.append(previous * factor + point * (1 - factor))
        else:
            smoothed_points.append(point)
    return [float(p) for p in smoothed_points]


def plot_history(history, smooth=False):
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, dict):
        raise ValueError("history must be a History or a dict")
    acc_key = "accuracy" if "accuracy" in history else "acc"
    for key in (acc_key, "val_" + acc_key, "loss", "val_loss"):
        if key not in history:
            raise ValueError(f"missing {key!r} in the history")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((ax1, acc_key, "Training and validation accuracy"),
                           (ax2, "loss", "Training and validation loss")):
        train = list(history[key])
        val = list(history["val_" + key])
        if len(train) != len(val) or not train:
            raise ValueError("training and validation curves differ in length")
        if smooth:
            train = smooth_curve(train)
            val = smooth_curve(val)
        epochs = range(1, len(train) + 1)
        ax.scatter(epochs, train, color="blue", label="Training")
        ax.plot(epochs, val, color="blue", label="Validation")
        ax.set_title(title)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(key)
        ax.legend()
    return fig
