"""Pretrains the small convolutional base shipped as `data/pretrained_base.npz`.

The stand-in for VGG16's ImageNet weights (see `data/pretrained.py`): the base
of `data.pretrained.build_base()` is trained, under a classifier head, to tell
apart the eight Animal-MNIST classes that are neither cat nor dog (bear,
bird, cow, elephant, giraffe, horse, sheep, zebra). Cats and dogs are never
seen, so transferring the base to cats vs dogs is real transfer learning.

Run it from the repository root:

    python -m data.pretrain_base            # refuses to overwrite the shipped file
    python -m data.pretrain_base --force    # writes data/pretrained_base.npz again
    python -m data.pretrain_base --output /tmp/base.npz

It takes a few minutes of CPU (2 cores). Seeds are fixed and TensorFlow's
deterministic ops are on, so a run on the same machine and versions writes
the same bytes; other CPUs or TensorFlow versions may round differently. The
script prints the held-out accuracy and the file's sha256; `PRETRAINED.md`
records those of the shipped file.

Recipe:

- Data: the 8,000 images of the eight classes, exact duplicates within a
  class dropped (their first occurrence kept), then 100 images of each class
  held out (800) for the reported accuracy; the rest train.
- Network: random horizontal flip, rotation (up to 18 degrees), shift (10%)
  and zoom (10%), then the base, Flatten, Dropout 0.5, Dense 256 relu,
  Dense 8 softmax. Only the base is kept.
- Training: RMSprop(learning_rate=1e-3), sparse categorical cross-entropy,
  batch 64, 25 epochs, no early stopping (the held-out images are never used
  to choose anything).
"""

import argparse
import hashlib
import io
import os
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TF 2.21's oneDNN kernels give wrong Conv2D results for some strided kernels
# and round differently across CPUs; TensorFlow's own kernels are used instead.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

from data import ANIMAL_CLASSES, load_animals
from data.pretrained import PRETRAINED_CLASSES, WEIGHTS_PATH, build_base

SEED = 20240605
HELD_OUT_PER_CLASS = 100
EPOCHS = 25
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
# A fixed zip timestamp (the earliest zip allows), so that equal weights give
# an equal file.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def pretraining_split(seed=SEED):
    """The eight-class data, deduplicated and split into training and held-out parts.

    Args:
        seed: int, seed of the `np.random.RandomState` that picks the
            held-out images and shuffles both parts.

    Returns:
        `((x_train, y_train), (x_held_out, y_held_out))`: uint8 images
        `(n, 28, 28)` and int labels 0-7, the index in `PRETRAINED_CLASSES`.
    """
    images, labels, _ = load_animals()
    rng = np.random.RandomState(seed)
    train, held_out = [], []
    for new_label, name in enumerate(PRETRAINED_CLASSES):
        rows = np.flatnonzero(labels == ANIMAL_CLASSES.index(name))
        _, first = np.unique(images[rows].reshape(len(rows), -1), axis=0, return_index=True)
        rows = rows[np.sort(first)]
        rows = rows[rng.permutation(len(rows))]
        held_out.append((rows[:HELD_OUT_PER_CLASS], new_label))
        train.append((rows[HELD_OUT_PER_CLASS:], new_label))

    def gather(parts):
        index = np.concatenate([rows for rows, _ in parts])
        target = np.concatenate([np.full(len(rows), label) for rows, label in parts])
        order = rng.permutation(len(index))
        return images[index[order]], target[order].astype(np.int64)

    return gather(train), gather(held_out)


def build_pretraining_model(base):
    """The base under an augmentation front and an eight-way classifier head."""
    import keras

    layers = keras.layers
    augmentation = [
        layers.RandomFlip("horizontal", seed=SEED),
        layers.RandomRotation(0.05, fill_mode="constant", seed=SEED + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=SEED + 2),
        layers.RandomZoom(0.1, fill_mode="constant", seed=SEED + 3),
    ]
    model = keras.Sequential(
        [
            keras.Input(shape=base.input_shape[1:]),
            *augmentation,
            base,
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(256, activation="relu"),
            layers.Dense(len(PRETRAINED_CLASSES), activation="softmax"),
        ],
        name="pretraining",
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def weight_arrays(base):
    """`{"<layer>/kernel": ..., "<layer>/bias": ...}` of every layer with weights."""
    arrays = {}
    for layer in base.layers:
        for variable in layer.weights:
            arrays[f"{layer.name}/{variable.name}"] = np.asarray(variable.numpy(), dtype=np.float32)
    return arrays


def save_weights(arrays, path):
    """Writes `arrays` as an `.npz` that `np.load` reads, byte-identical for equal arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            member = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            archive.writestr(member, data.getvalue(), compresslevel=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def pretrain(epochs=EPOCHS, seed=SEED, verbose=2, train_images=None):
    """Trains the base; returns it with its held-out accuracy per class.

    Args:
        epochs: int, passes over the training images.
        seed: int, seeds Keras, NumPy and Python, and the data split.
        verbose: Keras' `fit` verbosity.
        train_images: int or None, train on only the first this many training
            images (a quick trial of the script; None: all of them).

    Returns:
        `(base, overall_accuracy, accuracy_per_class)` on the held-out images.
    """
    import keras
    import tensorflow as tf

    from data.pretrained import prepare_images

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_held, y_held) = pretraining_split(seed)
    x_train, y_train = x_train[:train_images], y_train[:train_images]
    base = build_base()
    model = build_pretraining_model(base)
    model.fit(prepare_images(x_train), y_train, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=verbose)
    predicted = model.predict(prepare_images(x_held), batch_size=256, verbose=0).argmax(axis=1)
    correct = predicted == y_held
    per_class = {name: float(correct[y_held == i].mean()) for i, name in enumerate(PRETRAINED_CLASSES)}
    return base, float(correct.mean()), per_class


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data.pretrain_base", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=WEIGHTS_PATH, help=f"where to write (default {WEIGHTS_PATH})")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    parser.add_argument("--train-images", type=int, default=None, metavar="N",
                        help="train on only the first N training images: a quick trial, not the committed base")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.train_images is not None and args.train_images < 1:
        parser.error("--train-images must be at least 1")
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; pass --force to overwrite it, or --output to write elsewhere.", file=sys.stderr)
        return 1

    started = time.time()
    base, accuracy, per_class = pretrain(args.epochs, train_images=args.train_images)
    digest = save_weights(weight_arrays(base), args.output)
    print(f"held-out accuracy on the 8 classes ({HELD_OUT_PER_CLASS} images each): {accuracy:.4f}")
    print("  " + ", ".join(f"{name} {value:.2f}" for name, value in per_class.items()))
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes, sha256 {digest})")
    print(f"{base.count_params():,} parameters; {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
