"""The small global-average-pooling model behind the CAM and Grad-CAM checks.

Class activation maps (Zhou et al., 2016) need a convnet that ends with
global average pooling and one Dense layer. This module builds such a model
for 56x56 canvases that hold one cat or dog silhouette (from
`data.load_cats_and_dogs()`) pasted into one of their four 28x28 quadrants,
trains it on the first 800 cats and 800 dogs (each pasted into every
quadrant, so that it has to find the animal wherever it is), and keeps the
last 200 of each class for the localisation check.

Its weights are committed as `data/cam_model.weights.npz`. Run

    python -m data.train_cam_model

to make them again (about a minute of CPU; fixed seeds, so the numbers it
prints are the same on every run on the same machine). The checks only load
the file: they never train.

Example:

```python
from data import train_cam_model as cam

model = cam.load_cam_model()
canvases, labels, quadrants = cam.localisation_set()
probabilities = model.predict(canvases)  # (50, 2): cat, dog
```
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TF 2.21's oneDNN kernels give wrong Conv2D results for some strided kernels
# and round differently across CPUs; TensorFlow's own kernels are used instead.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

from data import DATA_DIR, load_cats_and_dogs

WEIGHTS_FILE = DATA_DIR / "cam_model.weights.npz"
CANVAS_SIDE = 56
SILHOUETTE_SIDE = 28
CLASS_NAMES = ("cat", "dog")
TRAIN_PER_CLASS = 800  # silhouettes 0-799 of each class train; 800-999 are held out
LAST_CONV_LAYER = "last_conv"
CLASSIFIER_LAYER = "predictions"
SEED = 20240607
LOCALISATION_SEED = 7
EPOCHS = 6


def build_cam_model():
    """The global-average-pooling convnet, untrained.

    Three 3x3 ReLU convolutions (16, 32, 64 filters, "same" padding, the first
    two followed by 2x2 max-pooling), global average pooling and a softmax
    Dense layer of two classes (cat, dog). The input is a one-channel image
    of any size with values in [0, 1]; a 56x56 canvas gives a 14x14 map at the
    last convolution.

    Returns:
        An uncompiled `keras.Sequential` model.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(None, None, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_1"),
            keras.layers.MaxPooling2D(2, name="pool_1"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_2"),
            keras.layers.MaxPooling2D(2, name="pool_2"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu", name=LAST_CONV_LAYER),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name=CLASSIFIER_LAYER),
        ],
        name="cam_model",
    )


def quadrant_box(quadrant, side=CANVAS_SIDE):
    """The rows and columns ``(r0, r1, c0, c1)`` of a quadrant of a square.

    Quadrants are numbered 0 (top left), 1 (top right), 2 (bottom left),
    3 (bottom right). For a map of odd side the middle row/column belongs to
    no quadrant's box.
    """
    if quadrant not in (0, 1, 2, 3):
        raise ValueError(f"`quadrant` must be 0, 1, 2 or 3, got {quadrant!r}.")
    half = side // 2
    row, col = divmod(quadrant, 2)
    r0, c0 = (side - half) * row, (side - half) * col
    return r0, r0 + half, c0, c0 + half


def paste(silhouettes, quadrants):
    """Pastes each 28x28 silhouette into the given quadrant of an empty canvas.

    Args:
        silhouettes: uint8 array ``(n, 28, 28)``.
        quadrants: ints 0-3, one per silhouette.

    Returns:
        float32 array ``(n, 56, 56, 1)`` with values in [0, 1].
    """
    silhouettes = np.asarray(silhouettes)
    quadrants = np.asarray(quadrants)
    if silhouettes.ndim != 3 or silhouettes.shape[1:] != (SILHOUETTE_SIDE, SILHOUETTE_SIDE):
        raise ValueError(f"`silhouettes` must be (n, 28, 28), got shape {silhouettes.shape}.")
    if quadrants.shape != (len(silhouettes),):
        raise ValueError(f"need one quadrant per silhouette, got {quadrants.shape} for {len(silhouettes)}.")
    canvases = np.zeros((len(silhouettes), CANVAS_SIDE, CANVAS_SIDE, 1), np.float32)
    for i, (silhouette, quadrant) in enumerate(zip(silhouettes, quadrants)):
        r0, r1, c0, c1 = quadrant_box(int(quadrant))
        canvases[i, r0:r1, c0:c1, 0] = silhouette / np.float32(255)
    return canvases


def split():
    """The training and held-out silhouettes.

    Returns:
        ``((train_images, train_labels), (held_out_images, held_out_labels))``:
        uint8 arrays; 1,600 training images (cats 0-799, dogs 0-799) and 400
        held out (cats and dogs 800-999). Label 0 is cat, 1 is dog.
    """
    images, labels = load_cats_and_dogs()
    index = np.arange(len(images)) % (len(images) // 2)
    train = index < TRAIN_PER_CLASS
    return (images[train], labels[train]), (images[~train], labels[~train])


def localisation_set(count=50, seed=LOCALISATION_SEED):
    """Held-out silhouettes pasted at random quadrants, for the localisation check.

    Args:
        count: how many canvases (at most 400), half cats and half dogs.
        seed: seed of the choice of images and quadrants.

    Returns:
        ``(canvases, labels, quadrants)``: float32 ``(count, 56, 56, 1)`` in
        [0, 1], uint8 labels (0 cat, 1 dog) and int quadrants 0-3.
    """
    _, (images, labels) = split()
    if not 1 <= count <= len(images):
        raise ValueError(f"`count` must be between 1 and {len(images)}, got {count!r}.")
    rng = np.random.default_rng(seed)
    cats, dogs = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    chosen = np.concatenate([rng.choice(cats, count - count // 2, replace=False),
                             rng.choice(dogs, count // 2, replace=False)])
    chosen = rng.permutation(chosen)
    quadrants = rng.integers(0, 4, size=count)
    return paste(images[chosen], quadrants), labels[chosen], quadrants


def load_cam_model(path=WEIGHTS_FILE):
    """The trained model, with the committed weights.

    Raises:
        FileNotFoundError: the weights file is missing; the message says how
            to make it.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. Make it with `python -m data.train_cam_model` (about a minute of CPU)."
        )
    model = build_cam_model()
    with np.load(path, allow_pickle=False) as archive:
        weights = [archive[f"w{i}"] for i in range(len(archive.files))]
    model.set_weights(weights)
    return model


def train(epochs=EPOCHS, seed=SEED, verbose=2):
    """Trains the model from scratch with fixed seeds.

    Every training silhouette is pasted into each of the four quadrants, so
    the class never tells where the animal is.

    Returns:
        ``(model, history)``.
    """
    import keras

    keras.utils.set_random_seed(seed)
    (images, labels), (held_images, held_labels) = split()
    x = np.concatenate([paste(images, np.full(len(images), q)) for q in range(4)])
    y = np.tile(labels, 4)
    rng = np.random.default_rng(seed)
    hold_x = paste(held_images, rng.integers(0, 4, size=len(held_images)))
    model = build_cam_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=64, shuffle=True,
                        validation_data=(hold_x, held_labels), verbose=verbose)
    return model, history


def localisation_fraction(model, count=50, seed=LOCALISATION_SEED):
    """How often the CAM of the true class peaks in the pasted quadrant (reference CAM)."""
    import keras

    canvases, labels, quadrants = localisation_set(count, seed)
    features = keras.Model(model.inputs, model.get_layer(LAST_CONV_LAYER).output).predict(canvases, verbose=0)
    weights = model.get_layer(CLASSIFIER_LAYER).get_weights()[0]
    hits = 0
    for maps, label, quadrant in zip(features, labels, quadrants):
        cam = np.maximum(maps @ weights[:, label], 0)
        row, col = np.unravel_index(np.argmax(cam), cam.shape)
        r0, r1, c0, c1 = quadrant_box(int(quadrant), cam.shape[0])
        hits += bool(r0 <= row < r1 and c0 <= col < c1)
    return hits / count


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data.train_cam_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(WEIGHTS_FILE), help=f"where to save the weights (default {WEIGHTS_FILE})")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    started = time.time()
    model, history = train(args.epochs)
    print(f"trained in {time.time() - started:.1f} s; held-out accuracy "
          f"{history.history['val_accuracy'][-1]:.3f}; CAM peak in the pasted quadrant for "
          f"{localisation_fraction(model):.0%} of the 50 localisation canvases")
    np.savez_compressed(args.out, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
