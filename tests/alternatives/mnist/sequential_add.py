"""MNIST with Sequential.add, index assignment for the one-hot rows and the "acc" metric."""

import numpy as np
import keras


def preprocess_images(images):
    images = np.asarray(images)
    if len(images.shape) != 3 or tuple(images.shape[1:]) != (28, 28):
        raise ValueError("images must be (n, 28, 28)")
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError("images must hold integers 0-255; floats may be scaled already")
    if ((images < 0) | (images > 255)).any():
        raise ValueError("pixel values outside 0-255")
    scaled = images.astype(np.float32)
    scaled /= 255.0
    return scaled.reshape(images.shape[0], 28, 28, 1)


def preprocess_labels(labels, num_classes=10):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError("num_classes must be an int >= 1")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError("labels must be 1-D")
    if labels.size == 0:
        return np.zeros((0, num_classes), np.float32)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be integers")
    if np.any(labels < 0) or np.any(labels >= num_classes):
        raise ValueError("label out of range")
    one_hot = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    one_hot[np.arange(labels.shape[0]), labels] = 1.0
    return one_hot


def build_mnist_convnet():
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28, 1)))
    for filters in (32, 64):
        model.add(keras.layers.Conv2D(filters, (3, 3), activation=keras.activations.relu))
        model.add(keras.layers.MaxPooling2D((2, 2)))
    model.add(keras.layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(64, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["acc"])
    return model
