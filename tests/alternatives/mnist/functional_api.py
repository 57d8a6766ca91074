"""MNIST, written with the Functional API, keras.utils.to_categorical and metric objects."""

import keras
import numpy as np


def preprocess_images(images):
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (n, 28, 28), got {images.shape}")
    if images.dtype.kind not in "ui":
        raise ValueError(f"expected integer pixels, got {images.dtype}")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError("pixel values must be 0-255")
    return np.expand_dims(images, axis=-1).astype("float32") / np.float32(255)


def preprocess_labels(labels, num_classes=10):
    if type(num_classes) is bool or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ValueError("num_classes must be a positive int")
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "ui"):
        raise ValueError("labels must be a 1-D array of integers")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes})")
    return keras.utils.to_categorical(labels, num_classes).astype("float32")


def build_mnist_convnet():
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(filters=32, kernel_size=3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(pool_size=2)(x)
    x = keras.layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = keras.layers.MaxPooling2D(pool_size=2)(x)
    x = keras.layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.CategoricalCrossentropy(),
                  metrics=[keras.metrics.CategoricalAccuracy()])
    return model
