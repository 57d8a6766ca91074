"""Exercise 2 checks: preparing MNIST for a convnet, and the first convnet."""

import functools

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import data
from checks.harness import expect, expect_array, expect_close, expect_raises, expect_unmodified
from checks.model_checks import (
    expect_model,
    model_layers,
    layer_output_shapes,
    expect_layer_configs,
    expect_parameter_count,
    expect_compiled,
    expect_loss,
    expect_accuracy_metric,
)


# The chapter's model, layer by layer: (class, config that must match, output shape).
MNIST_LAYERS = (
    ("Conv2D", {"filters": 32, "kernel_size": (3, 3), "strides": (1, 1), "padding": "valid", "activation": "relu"}, (26, 26, 32)),
    ("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}, (13, 13, 32)),
    ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "strides": (1, 1), "padding": "valid", "activation": "relu"}, (11, 11, 64)),
    ("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}, (5, 5, 64)),
    ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "strides": (1, 1), "padding": "valid", "activation": "relu"}, (3, 3, 64)),
    ("Flatten", {}, (576,)),
    ("Dense", {"units": 64, "activation": "relu"}, (64,)),
    ("Dense", {"units": 10, "activation": "softmax"}, (10,)),
)
MNIST_PARAMETERS = 93_322


@functools.cache
def mnist_arrays():
    """The embedded MNIST split, loaded once (read-only copies are fine here)."""
    return data.load_mnist()


# --------------------------------------------------------------------------
# Task 1: preprocess_images
# --------------------------------------------------------------------------


def image_causes(images):
    flat = images.astype(np.float32)
    return [
        (lambda: flat.reshape(-1, 1, 28, 28), "channels first: Keras layers are channels-last, (n, 28, 28, 1)."),
        (lambda: (flat / 255).reshape(-1, 1, 28, 28), "channels first: Keras layers are channels-last, (n, 28, 28, 1)."),
        (lambda: (flat / max(float(flat.max()), 1.0)).reshape(-1, 28, 28, 1),
         "divided by the largest value in the batch: divide by 255, the largest possible pixel value, "
         "so that the same pixel gets the same value in every batch."),
        (lambda: flat.reshape(-1, 28, 28, 1), "the pixels were not scaled: divide by 255 to get values in [0, 1]."),
        (lambda: (flat / 256).reshape(-1, 28, 28, 1), "divided by 256: the largest pixel value is 255, which must become 1.0."),
    ]


@pytest.mark.points(1, task="preprocess_images")
def test_preprocess_images_by_hand(exercise):
    """preprocess_images turns 0, 51, 255 into 0.0, 0.2, 1.0 in a float32 (n, 28, 28, 1) array"""
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0], images[0, 27, 27], images[1, 5, 7] = 255, 51, 200
    got = exercise.preprocess_images(images)
    expected = (images / 255.0).astype(np.float32)[..., np.newaxis]
    expect_array(got, what="preprocess_images(two 28x28 uint8 images)")
    expect_close(got, expected, what="preprocess_images(images with pixels 0, 51, 200 and 255)",
                 rtol=1e-6, atol=1e-7, likely_causes=image_causes(images),
                 shape_hint="add a channels axis at the end: (n, 28, 28) -> (n, 28, 28, 1).")
    # The dtype is judged here only, on two integer dtypes, so that a missing cast costs this one check.
    wide = np.full((3, 28, 28), 255, np.int64)
    for images, got in ((images, got), (wide, exercise.preprocess_images(wide))):
        got_dtype = np.asarray(got).dtype
        expect(got_dtype == np.float32,
               f"preprocess_images({images.dtype} images of shape {images.shape}) should return float32 (Keras' "
               f"default float type), got {got_dtype}.\nLikely cause: dividing an integer array by 255 gives float64; "
               "use .astype(\"float32\").")


@pytest.mark.points(2, task="preprocess_images")
@settings(max_examples=20)
@given(data=st.data())
def test_preprocess_images_any_batch(exercise, data):
    """preprocess_images scales and reshapes any batch of integer images (uint8 to int64) exactly, leaving them unmodified"""
    dtype = data.draw(st.sampled_from([np.uint8, np.int16, np.int32, np.int64]))
    images = data.draw(hnp.arrays(dtype, st.tuples(st.integers(1, 4), st.just(28), st.just(28)),
                                  elements=st.integers(0, 255)))
    before = images.copy()
    got = exercise.preprocess_images(images)
    expect_close(got, (images.astype(np.float64) / 255).reshape(-1, 28, 28, 1),
                 what=f"preprocess_images({images.dtype} images of shape {images.shape})", rtol=1e-6, atol=1e-7,
                 likely_causes=image_causes(images), shape_hint="expected (n, 28, 28, 1): channels last.")
    expect_unmodified(before, exercise.argument_after(0), what="preprocess_images", argument="images")


@pytest.mark.points(1, task="preprocess_images")
def test_preprocess_images_on_mnist(exercise):
    """preprocess_images prepares the embedded MNIST training set: (4000, 28, 28, 1), float32, min 0, max 1"""
    (x_train, _), _ = mnist_arrays()
    before = x_train.copy()
    got = expect_array(exercise.preprocess_images(x_train), what="preprocess_images(x_train)",
                       shape=(4000, 28, 28, 1))
    expect_unmodified(before, exercise.argument_after(0), what="preprocess_images", argument="images")
    expect(float(got.min()) == 0.0 and float(got.max()) == 1.0,
           f"preprocess_images(x_train): expected values from 0.0 to 1.0, got {got.min():g} to {got.max():g}.")


@pytest.mark.points(1, task="preprocess_images")
def test_preprocess_images_rejects_bad_input(exercise):
    """preprocess_images raises ValueError for images not (n, 28, 28), float images and pixel values outside 0-255"""
    expect_raises(ValueError, exercise.preprocess_images, np.zeros((3, 784), np.uint8),
                  what="preprocess_images(array of shape (3, 784))", why="the images must be (n, 28, 28), not flattened rows")
    expect_raises(ValueError, exercise.preprocess_images, np.zeros((28, 28), np.int32),
                  what="preprocess_images(one int32 image of shape (28, 28))",
                  why="the images must be a batch (n, 28, 28): add the batch axis with images[np.newaxis]")
    expect_raises(ValueError, exercise.preprocess_images, np.full((3, 28, 28), 0.5, np.float32),
                  what="preprocess_images(float32 images with values 0.5)",
                  why="float images may already be scaled; scaling again would divide by 255 twice")
    expect_raises(ValueError, exercise.preprocess_images, np.full((2, 28, 28), 200.0, np.float64),
                  what="preprocess_images(float64 images with values 200.0)", why="the images must be of an integer type")
    expect_raises(ValueError, exercise.preprocess_images, np.full((2, 28, 28), 300, np.int16),
                  what="preprocess_images(int16 images with values 300)", why="pixel values run from 0 to 255")
    expect_raises(ValueError, exercise.preprocess_images, np.full((1, 28, 28), -1, np.int64),
                  what="preprocess_images(int64 images with values -1)", why="pixel values run from 0 to 255")


# --------------------------------------------------------------------------
# Task 2: preprocess_labels
# --------------------------------------------------------------------------


def label_causes(labels, num_classes):
    return [
        (lambda: labels, "the labels were returned as they are: one-hot encode them, one row of num_classes per label."),
        (lambda: np.eye(10, dtype=np.float32)[labels] if labels.max(initial=0) < 10 else None,
         "num_classes was ignored (10 columns): use the num_classes argument."),
        (lambda: np.eye(num_classes, dtype=np.float32)[labels].T, "rows and columns swapped: one row per label."),
    ]


@pytest.mark.points(1, task="preprocess_labels")
def test_preprocess_labels_by_hand(exercise):
    """preprocess_labels([3, 0, 9]) gives three float32 one-hot rows of 10"""
    labels = np.array([3, 0, 9], np.uint8)
    got = exercise.preprocess_labels(labels)
    expected = np.zeros((3, 10), np.float32)
    expected[[0, 1, 2], [3, 0, 9]] = 1
    expect_close(got, expected, what="preprocess_labels([3, 0, 9])", rtol=0, atol=0,
                 likely_causes=label_causes(labels, 10), shape_hint="expected one row of 10 per label: (3, 10).")
    expect(np.asarray(got).dtype == np.float32,
           f"preprocess_labels(uint8 labels [3, 0, 9]) should return float32, got {np.asarray(got).dtype}.\n"
           "Likely cause: np.eye(n) and to_categorical default to float64 unless you pass dtype=\"float32\".")
    got = exercise.preprocess_labels(np.array([1, 3], np.int64), num_classes=4)
    expect_close(got, np.array([[0, 1, 0, 0], [0, 0, 0, 1]], np.float32), what="preprocess_labels([1, 3], num_classes=4)",
                 rtol=0, atol=0, likely_causes=label_causes(np.array([1, 3]), 4))
    expect(np.asarray(got).dtype == np.float32,
           f"preprocess_labels(int64 labels [1, 3], num_classes=4) should return float32, got {np.asarray(got).dtype}.")


@pytest.mark.points(2, task="preprocess_labels")
@given(num_classes=st.integers(1, 12), data=st.data())
def test_preprocess_labels_any_labels(exercise, num_classes, data):
    """preprocess_labels one-hot encodes any integer labels, for any number of classes"""
    dtype = data.draw(st.sampled_from([np.uint8, np.int32, np.int64]))
    labels = data.draw(hnp.arrays(dtype, st.integers(1, 20), elements=st.integers(0, num_classes - 1)))
    before = labels.copy()
    got = exercise.preprocess_labels(labels, num_classes)
    expected = np.zeros((len(labels), num_classes), np.float32)
    expected[np.arange(len(labels)), labels.astype(int)] = 1
    expect_close(got, expected, what=f"preprocess_labels({labels.tolist()}, num_classes={num_classes})",
                 rtol=0, atol=0, likely_causes=label_causes(labels, num_classes),
                 shape_hint=f"expected one row of num_classes={num_classes} per label.")
    expect_unmodified(before, exercise.argument_after(0), what="preprocess_labels", argument="labels")


@pytest.mark.points(1, task="preprocess_labels")
def test_preprocess_labels_rejects_bad_input(exercise):
    """preprocess_labels raises ValueError for labels outside [0, num_classes), non-integer or 2-D labels, and a num_classes that is not a positive int"""
    expect_raises(ValueError, exercise.preprocess_labels, np.array([1, 10]), what="preprocess_labels([1, 10])",
                  why="with num_classes=10 the labels run from 0 to 9")
    expect_raises(ValueError, exercise.preprocess_labels, np.array([-1, 2]), what="preprocess_labels([-1, 2])",
                  why="a label cannot be negative (NumPy would silently pick the last column)")
    expect_raises(ValueError, exercise.preprocess_labels, np.array([0.5, 2.0]), what="preprocess_labels([0.5, 2.0])",
                  why="class labels are integers")
    expect_raises(ValueError, exercise.preprocess_labels, np.array([[1], [2]], np.int32),
                  what="preprocess_labels(int32 labels of shape (2, 1))", why="the labels must be a 1-D array (n,)")
    expect_raises(ValueError, exercise.preprocess_labels, np.array([0, 1], np.uint8), 0,
                  what="preprocess_labels([0, 1], num_classes=0)", why="num_classes must be a positive int")
    expect_raises(ValueError, exercise.preprocess_labels, np.array([0, 1], np.int64), 2.5,
                  what="preprocess_labels([0, 1], num_classes=2.5)",
                  why="num_classes must be a positive int (a number of columns is whole)")


# --------------------------------------------------------------------------
# Task 3: build_mnist_convnet
# --------------------------------------------------------------------------


def mnist_model(exercise):
    return expect_model(exercise.build_mnist_convnet(), "build_mnist_convnet()", (28, 28, 1))


@pytest.mark.points(1, task="build_mnist_convnet")
def test_mnist_model_input_and_output(exercise):
    """build_mnist_convnet returns a Keras model taking (28, 28, 1) images and giving 10 probabilities"""
    model = mnist_model(exercise)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    out = keras.ops.convert_to_numpy(model(images, training=False))
    expect(out.shape == (3, 10), f"the model should map a batch (3, 28, 28, 1) to (3, 10), got {out.shape}.")
    expect(np.allclose(out.sum(axis=1), 1, atol=1e-4) and (out >= 0).all(),
           f"each output row should be probabilities summing to 1 (softmax), got row sums {out.sum(axis=1)}.\n"
           "Likely cause: the last layer is not Dense(10, activation=\"softmax\").")


@pytest.mark.points(3, task="build_mnist_convnet")
def test_mnist_model_layers(exercise):
    """build_mnist_convnet has the chapter's layers in order, each with its filters, kernel, activation and pool size

    The architecture is the lesson here (the chapter's first convnet, layer by layer), so this check reads the
    layers and their settings; how the model is written (Sequential, add(), functional) is not judged.
    """
    model = mnist_model(exercise)
    expect_layer_configs(model_layers(model), MNIST_LAYERS, "build_mnist_convnet()")


@pytest.mark.points(1, task="build_mnist_convnet")
def test_mnist_model_output_shapes(exercise):
    """each layer of build_mnist_convnet has the output shape of the chapter's summary"""
    model = mnist_model(exercise)
    got = layer_output_shapes(model, (28, 28, 1))
    wanted = [shape for _, _, shape in MNIST_LAYERS]
    expect(got == wanted, "build_mnist_convnet(): layer output shapes (without the batch axis) should be\n"
                          f"  {wanted}\ngot\n  {got}\nThey follow from 3x3 'valid' convolutions (-2 per side) "
                          "and 2x2 pooling (halve, rounding down).")


@pytest.mark.points(1, task="build_mnist_convnet")
def test_mnist_model_parameter_count(exercise):
    """build_mnist_convnet has 93,322 parameters"""
    model = mnist_model(exercise)
    expect_parameter_count(model, MNIST_PARAMETERS, "build_mnist_convnet()")


@pytest.mark.points(2, task="build_mnist_convnet")
def test_mnist_model_compiled(exercise):
    """build_mnist_convnet is compiled with rmsprop, categorical cross-entropy and accuracy"""
    model = mnist_model(exercise)
    expect_compiled(model, "build_mnist_convnet()")
    expect(isinstance(model.optimizer, keras.optimizers.RMSprop),
           f"build_mnist_convnet(): the optimizer should be RMSprop (\"rmsprop\"), got {model.optimizer.__class__.__name__}.")
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    expect(np.isclose(rate, 1e-3), f"build_mnist_convnet(): the chapter uses RMSprop's default learning rate 0.001, got {rate:g}.")
    rng = np.random.default_rng(3)
    y_true = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6)]
    y_pred = keras.ops.convert_to_numpy(keras.ops.softmax(rng.standard_normal((6, 10)).astype(np.float32)))
    expect_loss(model, "build_mnist_convnet()", "categorical_crossentropy", y_true, y_pred, causes=[
        ("binary_crossentropy", "binary cross-entropy is for one yes/no output; ten classes need categorical_crossentropy."),
        ("mean_squared_error", "mean squared error is for regression; classification uses cross-entropy."),
    ])
    expect_accuracy_metric(model, "build_mnist_convnet()")


@pytest.mark.points(2, task="build_mnist_convnet", timeout=90)
def test_mnist_model_learns(exercise):
    """build_mnist_convnet learns: two epochs on 512 digits bring the loss well down and beat chance on unseen digits"""
    model = mnist_model(exercise)
    (x_train, y_train), (x_test, y_test) = mnist_arrays()
    x = (x_train[:512] / 255).astype(np.float32)[..., np.newaxis]
    y = np.eye(10, dtype=np.float32)[y_train[:512]]
    before = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    after = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    probabilities = model.predict((x_test[:500] / 255).astype(np.float32)[..., np.newaxis], verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test[:500]))
    expect(np.isfinite(after) and after < 0.6 * before,
           f"after 2 epochs on 512 digits the training loss went from {before:.3f} to {after:.3f}; a correct model "
           "gets below 60% of where it started (about 2.3 -> under 1.0).\nLikely cause: a wrong activation, "
           "loss or learning rate, or a layer missing.")
    expect(accuracy > 0.5, f"after 2 epochs on 512 digits the model is right on {accuracy:.0%} of 500 test digits; a "
                           "correct model gets well above 50% (chance is 10%).")
