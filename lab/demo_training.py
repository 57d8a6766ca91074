"""Trains the reference models of exercises 2-4 on the embedded data and prints how they do.

Not a graded check: it shows what the exercises' models achieve on real data,
in a few minutes of CPU. Usage::

    python -m lab.demo_training           # the full demo (about 4 minutes on 2 cores)
    python -m lab.demo_training --quick   # a smoke run of every step (under a minute)

1. The MNIST convnet of exercise 2, trained on the 4,000 embedded training
   digits and evaluated on the 1,000 test digits.
2. The cats-vs-dogs convnet of exercise 4, trained from scratch on the
   embedded cat and dog silhouettes (written as a Kaggle-style folder by
   ``data.write_cats_vs_dogs``, split by exercise 3's ``make_small_dataset``,
   read by ``make_datasets``), once as it is and once with data augmentation
   and dropout. For each it prints the validation accuracy and the gap
   between training and validation accuracy (the sign of overfitting).

The images are 64x64 rather than the chapter's 150x150 (the silhouettes are
28x28 drawings, so nothing is lost, and an epoch takes a second or two). The
chapter's point is a *small* dataset, so the convnet trains on 100
silhouettes per class and is validated and tested on 250 per class: with
500 training silhouettes per class the plain model already reaches about 96%
validation accuracy (silhouettes are easier than photos) and there is little
overfitting left to cure. Seeds are fixed; figures still vary a little
between machines.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TF 2.21's oneDNN kernels give wrong Conv2D results for some strided kernels.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import data
from solutions import convnet, dataset, mnist

SEED = 0

# fit() warns that its shuffle=True default does nothing for a tf.data.Dataset;
# make_datasets already shuffles the training set.
warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed")


@dataclass(frozen=True)
class Settings:
    mnist_train_images: int
    mnist_epochs: int
    mnist_batch_size: int
    image_side: int
    split_sizes: dict
    plain_epochs: int
    regularised_epochs: int


FULL = Settings(mnist_train_images=4000, mnist_epochs=10, mnist_batch_size=32, image_side=64,
                split_sizes={"train": 100, "validation": 250, "test": 250}, plain_epochs=40, regularised_epochs=200)
QUICK = Settings(mnist_train_images=500, mnist_epochs=1, mnist_batch_size=32, image_side=48,
                 split_sizes={"train": 40, "validation": 20, "test": 20}, plain_epochs=1, regularised_epochs=1)


def train_mnist(settings):
    """Trains exercise 2's convnet; returns ``(test accuracy, seconds)``."""
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    count = settings.mnist_train_images
    started = time.perf_counter()
    model = mnist.build_mnist_convnet()
    model.fit(mnist.preprocess_images(x_train[:count]), mnist.preprocess_labels(y_train[:count]),
              epochs=settings.mnist_epochs, batch_size=settings.mnist_batch_size, verbose=0)
    _, accuracy = model.evaluate(mnist.preprocess_images(x_test), mnist.preprocess_labels(y_test), verbose=0)
    return accuracy, time.perf_counter() - started


def write_small_cats_and_dogs(folder, settings):
    """The embedded silhouettes as a Kaggle-style folder, then split as in exercise 3."""
    count = sum(settings.split_sizes.values())
    data.write_cats_vs_dogs(folder / "flat", image_size=settings.image_side, count=count)
    dataset.make_small_dataset(folder / "flat", folder / "small", split_sizes=settings.split_sizes)
    return folder / "small"


@dataclass
class Outcome:
    name: str
    epochs: int
    train_accuracy: float
    validation_accuracy: float
    best_validation_accuracy: float
    test_accuracy: float
    seconds: float

    @property
    def gap(self):
        return self.train_accuracy - self.validation_accuracy


def train_cats_vs_dogs(base, settings, regularised):
    """Trains exercise 4's convnet from scratch, with or without augmentation and dropout."""
    keras.utils.set_random_seed(SEED)
    side = settings.image_side
    train, validation, test = convnet.make_datasets(base, image_size=(side, side), batch_size=20)
    model = convnet.build_convnet(input_shape=(side, side, 3), dropout=0.5 if regularised else None)
    epochs = settings.regularised_epochs if regularised else settings.plain_epochs
    if regularised:
        # Augment the training images only, as ImageDataGenerator did in 2019; validation and test stay as they are.
        augment = convnet.build_augmentation(seed=SEED)
        # One call at a time: parallel calls would draw from the layers' seed generators in a varying order.
        train = train.map(lambda images, labels: (augment(images, training=True), labels))
    started = time.perf_counter()
    history = model.fit(train.prefetch(tf.data.AUTOTUNE), validation_data=validation, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(test, verbose=0)
    last = slice(-min(3, epochs), None)  # the last three epochs, to smooth epoch-to-epoch noise
    return Outcome(
        name="augmentation + dropout 0.5" if regularised else "plain",
        epochs=epochs,
        train_accuracy=float(np.mean(history.history["accuracy"][last])),
        validation_accuracy=float(np.mean(history.history["val_accuracy"][last])),
        best_validation_accuracy=float(np.max(history.history["val_accuracy"])),
        test_accuracy=float(test_accuracy),
        seconds=seconds,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.demo_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny data and one epoch")
    settings = QUICK if parser.parse_args(argv).quick else FULL
    total = time.perf_counter()

    accuracy, seconds = train_mnist(settings)
    print(f"MNIST convnet (exercise 2): {settings.mnist_epochs} epochs on {settings.mnist_train_images} digits, "
          f"test accuracy {accuracy:.1%} on 1,000 digits ({seconds:.0f} s)")

    with tempfile.TemporaryDirectory(prefix="demo_cats_vs_dogs_") as folder:
        base = write_small_cats_and_dogs(Path(folder), settings)
        sizes = "/".join(str(size) for size in settings.split_sizes.values())
        print(f"\nCats vs dogs from scratch (exercise 4): silhouettes at {settings.image_side}x{settings.image_side}, "
              f"{sizes} train/validation/test images per class")
        print(f"{'model':<28}{'epochs':>7}{'train acc':>11}{'val acc':>9}{'gap':>8}{'best val':>10}{'test acc':>10}{'time':>7}")
        for regularised in (False, True):
            outcome = train_cats_vs_dogs(base, settings, regularised)
            print(f"{outcome.name:<28}{outcome.epochs:>7}{outcome.train_accuracy:>11.1%}"
                  f"{outcome.validation_accuracy:>9.1%}{outcome.gap:>+8.1%}{outcome.best_validation_accuracy:>10.1%}"
                  f"{outcome.test_accuracy:>10.1%}{outcome.seconds:>6.0f}s")
        print("(train and val acc: mean of the last 3 epochs; gap = train - val)")
    print(f"\nTotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
