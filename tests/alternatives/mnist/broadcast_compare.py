"""MNIST with broadcasting comparisons for the one-hot rows, a multiplied scale and string metric names."""

import keras
import numpy as np


def preprocess_images(images):
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[-2:] != (28, 28):
        raise ValueError(f"images must be (n, 28, 28), got {images.shape}")
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"integer images expected, got {images.dtype}")
    if images.size and not (0 <= images.min() and images.max() <= 255):
        raise ValueError("values must be within 0-255")
    return (images[:, :, :, None] / 255.0).astype(np.float32)


def preprocess_labels(labels, num_classes=10):
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        if not (isinstance(num_classes, np.integer) and num_classes >= 1):
            raise ValueError("num_classes must be a positive int")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError("labels must be (n,)")
    if labels.size and labels.dtype.kind not in "iu":
        raise ValueError("labels must be integer class indices")
    if labels.size and not ((labels >= 0).all() and (labels < num_classes).all()):
        raise ValueError("labels out of [0, num_classes)")
    return (labels[:, None] == np.arange(num_classes)[None, :]).astype(np.float32)


def build_mnist_convnet():
    layers = [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, padding="valid", activation="relu"),
        keras.layers.MaxPool2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPool2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                  loss="categorical_crossentropy", metrics=["accuracy", "categorical_accuracy"])
    return model
