"""Saves the chapter's figures, made with your code (or the reference's).

    python -m lab.figures                       # from exercises/, into figures/
    python -m lab.figures --target solutions    # the reference's figures
    python -m lab.figures --out /tmp/figs       # somewhere else

The figures, as PNG files:

* ``curves_from_scratch.png`` / ``..._smoothed.png``: accuracy and loss of a
  small convnet trained from scratch on 400 cat and dog silhouettes (it
  overfits), drawn by your ``curves.plot_history``;
* ``curves_augmented.png`` / ``..._smoothed.png``: the same convnet with
  data augmentation and dropout;
* ``activations.png``: the first layers' activations for one held-out cat
  (``visualize.build_activation_model`` and ``feature_map_grid``);
* ``filter_patterns.png``: what a few filters of each layer respond to
  (``generate_filter_pattern``);
* ``cam_overlays.png``: CAM and Grad-CAM over held-out cats and dogs
  (``class_activation_map``, ``grad_cam``, ``overlay_heatmap``).

The models are small and trained on the embedded data (about a minute of CPU
in all); the CAM model's weights come from ``data/cam_model.weights.npz``.
A figure whose functions you have not written yet is skipped, and the script
says which function it waits for. Only the files named above are written
(and rewritten on the next run); anything else in the folder is left alone.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # TF 2.21's oneDNN Conv2D is wrong for some strided kernels

import matplotlib

matplotlib.use("Agg")  # files only: never open a window

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "figures"
SEED = 20240607
CURVE_EPOCHS = 30
TRAIN_PER_CLASS = 200
PATTERN_FILTERS = 8
OVERLAY_SIDE = 168


class Skipped(Exception):
    """A figure that could not be made; the message says why."""


# --------------------------------------------------------------------------
# The code to draw with
# --------------------------------------------------------------------------


def resolve_target(target: str) -> Path:
    path = Path(target)
    if not path.is_absolute():
        path = ROOT / path if (ROOT / path).is_dir() else Path.cwd() / path
    if not path.is_dir():
        raise SystemExit(f"--target {target!r}: no such folder. Use 'exercises', 'solutions' or a folder of modules.")
    return path.resolve()


def load_module(target_dir: Path, name: str):
    """Imports ``name`` from ``target_dir``; raises Skipped if it cannot be imported."""
    file = target_dir / f"{name}.py"
    if not file.is_file():
        raise Skipped(f"there is no {shown(file)}")
    try:
        if target_dir.parent == ROOT and (target_dir / "__init__.py").is_file():
            return importlib.import_module(f"{target_dir.name}.{name}")
        spec = importlib.util.spec_from_file_location(f"_figures_{name}", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except Exception as error:  # noqa: BLE001 - any import error is reported, not raised
        raise Skipped(f"{shown(file)} could not be imported: {type(error).__name__}: {error}") from None


def shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def unfinished_function(error: NotImplementedError, target_dir: Path) -> str:
    """Names the stub function that raised, and its file, from the traceback."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve().is_relative_to(target_dir)]
    if not frames:
        return f"`{str(error).split(':')[0]}`"
    return f"`{frames[-1].name}` in {shown(Path(frames[-1].filename))}"


# --------------------------------------------------------------------------
# Data and models (fixed seeds)
# --------------------------------------------------------------------------


def cats_and_dogs_split():
    """400 training silhouettes (200 cats, 200 dogs) and the 400 held out from the CAM model."""
    from data import train_cam_model as cam

    (train_x, train_y), (held_x, held_y) = cam.split()
    index = np.arange(len(train_x)) % cam.TRAIN_PER_CLASS
    keep = index < TRAIN_PER_CLASS
    scale = lambda x: (x[..., np.newaxis] / 255.0).astype(np.float32)
    return (scale(train_x[keep]), train_y[keep].astype(np.float32)), (scale(held_x), held_y.astype(np.float32))


def small_convnet(augmented: bool):
    """The chapter's cats-vs-dogs convnet, scaled down to 28x28 silhouettes."""
    import keras

    augmentation = [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.1),
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.RandomZoom(0.1),
    ] if augmented else []
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        *augmentation,
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        *([keras.layers.Dropout(0.5)] if augmented else []),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def train_run(augmented: bool, epochs: int):
    """A short real training run; returns its History."""
    import keras

    keras.utils.set_random_seed(SEED)
    (x, y), (val_x, val_y) = cats_and_dogs_split()
    model = small_convnet(augmented)
    return model.fit(x, y, epochs=epochs, batch_size=20, validation_data=(val_x, val_y), verbose=0)


def upscale_rgb(image: np.ndarray, side: int) -> np.ndarray:
    """A (h, w, 1) image in [0, 1] as a (side, side, 3) RGB image in 0-255."""
    from PIL import Image

    grey = Image.fromarray((image[..., 0] * 255).astype(np.uint8)).resize((side, side), Image.Resampling.NEAREST)
    return np.repeat(np.asarray(grey)[..., np.newaxis], 3, axis=-1)


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------


def curve_figures(target_dir: Path, out: Path, epochs: int) -> list[Path]:
    curves = load_module(target_dir, "curves")
    # Try the functions on a tiny history first: a stub is found before a minute of training.
    tiny = {"accuracy": [0.5, 0.6], "val_accuracy": [0.5, 0.55], "loss": [0.7, 0.6], "val_loss": [0.7, 0.65]}
    for smooth in (False, True):
        close(curves.plot_history(tiny, smooth=smooth))
    written = []
    for name, augmented in (("curves_from_scratch", False), ("curves_augmented", True)):
        history = train_run(augmented, epochs)
        for suffix, smooth in (("", False), ("_smoothed", True)):
            fig = curves.plot_history(history, smooth=smooth)
            written.append(save(fig, out / f"{name}{suffix}.png"))
    return written


def activation_figure(target_dir: Path, out: Path) -> list[Path]:
    visualize = load_module(target_dir, "visualize")
    from data import train_cam_model as cam

    model = cam.load_cam_model()
    _, (held_x, held_y) = cam.split()
    cat = (held_x[np.flatnonzero(held_y == 0)[3]] / 255.0).astype(np.float32)[np.newaxis, ..., np.newaxis]
    layer_names = ["conv_1", "pool_1", "conv_2", "pool_2"]
    activation_model = visualize.build_activation_model(model, layer_names)
    activations = activation_model.predict(cat, verbose=0)
    activations = activations if isinstance(activations, (list, tuple)) else [activations]
    grids = [visualize.feature_map_grid(np.asarray(a), images_per_row=16) for a in activations]
    fig = Figure(figsize=(12, 1.2 + 1.3 * sum(g.shape[0] / g.shape[1] * 8 for g in grids)), layout="constrained")
    axes = fig.subplots(len(grids) + 1, 1, height_ratios=[0.6] + [g.shape[0] / g.shape[1] * 8 for g in grids])
    axes[0].imshow(cat[0, ..., 0], cmap="gray")
    axes[0].set_title("input: a held-out cat (28x28)")
    for ax, name, grid, activation in zip(axes[1:], layer_names, grids, activations):
        ax.imshow(grid, cmap="viridis", aspect="equal")
        ax.set_title(f"{name}: {activation.shape[-1]} channels of {activation.shape[1]}x{activation.shape[2]}")
    for ax in axes:
        ax.axis("off")
    return [save(fig, out / "activations.png")]


def filter_pattern_figure(target_dir: Path, out: Path) -> list[Path]:
    visualize = load_module(target_dir, "visualize")
    from data import train_cam_model as cam

    model = cam.load_cam_model()
    layers = ["conv_1", "conv_2", cam.LAST_CONV_LAYER]
    fig = Figure(figsize=(PATTERN_FILTERS * 1.3, len(layers) * 1.5), layout="constrained")
    axes = fig.subplots(len(layers), PATTERN_FILTERS)
    for row, layer_name in zip(axes, layers):
        for index, ax in enumerate(row):
            pattern = visualize.generate_filter_pattern(model, layer_name, index, size=64, steps=40)
            ax.imshow(np.asarray(pattern)[..., 0], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if index == 0:
                ax.set_ylabel(layer_name)
            ax.set_title(f"filter {index}", fontsize=8)
    fig.suptitle("What filters respond to most (gradient ascent from grey noise)")
    return [save(fig, out / "filter_patterns.png")]


def cam_figure(target_dir: Path, out: Path) -> list[Path]:
    visualize = load_module(target_dir, "visualize")
    import keras

    from data import train_cam_model as cam

    model = cam.load_cam_model()
    canvases, labels, quadrants = cam.localisation_set()
    chosen = [*np.flatnonzero(labels == 0)[:3], *np.flatnonzero(labels == 1)[:3]]
    features = keras.Model(model.inputs[0], model.get_layer(cam.LAST_CONV_LAYER).output)
    maps = keras.ops.convert_to_numpy(features(canvases[chosen]))
    probabilities = model.predict(canvases[chosen], verbose=0)
    weights = model.get_layer(cam.CLASSIFIER_LAYER).get_weights()[0]
    fig = Figure(figsize=(1.9 * len(chosen), 6.3), layout="constrained")
    axes = fig.subplots(3, len(chosen))
    for column, i, feature_maps, p in zip(axes.T, chosen, maps, probabilities):
        label = int(labels[i])
        name = cam.CLASS_NAMES[label]
        image = upscale_rgb(canvases[i], OVERLAY_SIDE)
        heatmaps = (visualize.class_activation_map(feature_maps, weights[:, label]),
                    visualize.grad_cam(model, canvases[i], cam.LAST_CONV_LAYER, class_index=label))
        column[0].imshow(image)
        column[0].set_title(f"{name}, P({name}) = {p[label]:.2f}", fontsize=9)
        for ax, heatmap, method in zip(column[1:], heatmaps, ("CAM", "Grad-CAM")):
            ax.imshow(visualize.overlay_heatmap(image, heatmap))
            ax.set_title(f"{method} of '{name}'", fontsize=9)
        for ax in column:
            ax.axis("off")
    fig.suptitle("Where the model sees the class: held-out silhouettes pasted into one quadrant")
    return [save(fig, out / "cam_overlays.png")]


FIGURES = (
    ("training curves", curve_figures),
    ("activations", activation_figure),
    ("filter patterns", filter_pattern_figure),
    ("CAM and Grad-CAM overlays", cam_figure),
)


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.1)
    close(fig)
    return path


def close(fig) -> None:
    """Frees a figure, also one a learner made with pyplot."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def make_figures(target_dir: Path, out: Path, epochs: int = CURVE_EPOCHS, log=print) -> dict[str, list]:
    """Makes every figure it can; returns {"written": [...], "not implemented": [...], "failed": [...]}."""
    out.mkdir(parents=True, exist_ok=True)
    report = {"written": [], "not implemented": [], "failed": []}
    for title, make in FIGURES:
        started = time.time()
        try:
            kwargs = {"epochs": epochs} if make is curve_figures else {}
            paths = make(target_dir, out, **kwargs)
        except NotImplementedError as error:
            function = unfinished_function(error, target_dir)
            report["not implemented"].append((title, function))
            log(f"skipped {title}: {function} is not implemented yet.")
        except Skipped as error:
            report["failed"].append((title, str(error)))
            log(f"skipped {title}: {error}")
        except Exception as error:  # noqa: BLE001 - one broken function costs only its figure
            frames = [f for f in traceback.extract_tb(error.__traceback__)
                      if Path(f.filename).resolve().is_relative_to(target_dir)]
            where = f" in `{frames[-1].name}` ({shown(Path(frames[-1].filename))}, line {frames[-1].lineno})" if frames else ""
            report["failed"].append((title, f"{type(error).__name__}: {error}"))
            log(f"skipped {title}: {type(error).__name__}{where}: {error}")
        else:
            report["written"].extend(paths)
            log(f"wrote {', '.join(shown(p) for p in paths)} ({time.time() - started:.0f} s)")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="exercises",
                        help="whose code draws: 'exercises' (yours, default), 'solutions' or a folder of modules")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder for the PNG files (default {shown(DEFAULT_OUT)}/)")
    parser.add_argument("--epochs", type=int, default=CURVE_EPOCHS,
                        help=f"epochs of the training runs behind the curves (default {CURVE_EPOCHS})")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out}: exists and is not a folder")
    report = make_figures(resolve_target(args.target), out, args.epochs)
    print(f"{len(report['written'])} figure file(s) written to {shown(out)}/; "
          f"{len(report['not implemented'])} figure(s) wait for unwritten functions, {len(report['failed'])} failed.")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
