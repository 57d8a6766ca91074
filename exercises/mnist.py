# stub fingerprint: 916f1f7020a03eb8
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_mnist.py
# (Generated from solutions/mnist.py by `python -m grader stubgen`.)
"""Exercise 2: your first convnet, on MNIST digits.

A small stack of ``Conv2D`` and ``MaxPooling2D`` layers, then a densely
connected classifier, classifies handwritten digits (28x28 grayscale) better
than the dense network of the previous chapter. You will prepare the data the
way Keras layers expect it and build that model.

The data: ``data.load_mnist()`` returns ``(x_train, y_train), (x_test,
y_test)`` like ``keras.datasets.mnist.load_data()``, from 5,000 digits that
ship with this course (4,000 to train, 1,000 to test). Images are uint8
``(n, 28, 28)`` arrays with values 0-255; labels are digits 0-9.

Tasks, in order (run ``pytest checks/test_mnist.py`` after each):

1. ``preprocess_images``: uint8 ``(n, 28, 28)`` -> float32 ``(n, 28, 28, 1)``
   in [0, 1]. A Conv2D layer wants a channels axis, even for one channel.
2. ``preprocess_labels``: digits -> one-hot float32 rows (what the
   ``categorical_crossentropy`` loss compares the softmax output with).
3. ``build_mnist_convnet``: the model below, compiled.

The model (93,322 parameters)::

    Conv2D(32, (3, 3), relu)   -> (26, 26, 32)
    MaxPooling2D((2, 2))       -> (13, 13, 32)
    Conv2D(64, (3, 3), relu)   -> (11, 11, 64)
    MaxPooling2D((2, 2))       -> (5, 5, 64)
    Conv2D(64, (3, 3), relu)   -> (3, 3, 64)
    Flatten()                  -> (576,)
    Dense(64, relu)            -> (64,)
    Dense(10, softmax)         -> (10,)

compiled with ``optimizer="rmsprop"``, ``loss="categorical_crossentropy"``
and ``metrics=["accuracy"]``.

Keras 3 notes (the 2019 text differs):

* Start the model (a ``keras.Sequential``, as in the book) with
  ``keras.Input(shape=(28, 28, 1))``; the 2019 ``input_shape=`` argument of
  the first layer is deprecated.
* ``keras.utils.to_categorical`` still exists; NumPy does the same in one line
  (``np.eye(num_classes)[labels]``).
* ``model.fit(x, y, epochs=5, batch_size=64)`` and ``model.evaluate`` are
  unchanged. ``python -m lab.demo_training`` trains this model on the
  4,000 embedded digits and prints its test accuracy (about 97%).
"""

import numpy as np
import keras

IMAGE_SHAPE = (28, 28, 1)


def preprocess_images(images):
    """Prepares MNIST images for a Conv2D layer.

    Adds a channels axis at the end (channels-last, as Keras expects) and
    scales the pixel values from 0-255 to 0-1 in float32.

    Args:
        images: integer array ``(n, 28, 28)`` of pixel values 0-255, such as
            ``x_train`` from ``data.load_mnist()``. It is not modified.

    Returns:
        float32 array ``(n, 28, 28, 1)`` with values in [0, 1].

    Raises:
        ValueError: ``images`` is not an ``(n, 28, 28)`` array, is not of an
            integer type (float images may have been scaled already: scaling
            twice would silently divide by 255 again), or has values outside
            0-255.
    """
    raise NotImplementedError("preprocess_images: your code goes here")


def preprocess_labels(labels, num_classes=10):
    """One-hot encodes integer class labels.

    Row ``i`` of the result is all zeros except a 1 in column ``labels[i]``.

    Args:
        labels: integer array ``(n,)`` of class indices in
            ``[0, num_classes)``. It is not modified.
        num_classes: int >= 1, the number of columns.

    Returns:
        float32 array ``(n, num_classes)``.

    Raises:
        ValueError: ``labels`` is not a 1-D array of integers in
            ``[0, num_classes)``, or ``num_classes`` is not a positive int.
    """
    raise NotImplementedError("preprocess_labels: your code goes here")


def build_mnist_convnet():
    """Builds and compiles the chapter's MNIST convnet.

    Three Conv2D layers (32, 64, 64 filters, 3x3, relu) with a 2x2
    MaxPooling2D after the first two, then Flatten, Dense(64, relu) and a
    Dense(10, softmax) classifier: 93,322 parameters.

    Returns:
        A Keras model taking ``(batch, 28, 28, 1)`` images, compiled with
        ``optimizer="rmsprop"``, ``loss="categorical_crossentropy"`` and
        ``metrics=["accuracy"]``. The book writes a ``keras.Sequential``;
        ``model.add`` or the functional API are as good: any
        ``keras.Model`` with these layers, in this order, is.
    """
    raise NotImplementedError("build_mnist_convnet: your code goes here")
