"""Exercise 7 checks: activations, filter patterns, CAM and Grad-CAM."""

import functools
import warnings

import matplotlib

matplotlib.use("Agg")  # never open a window: the checks run without a screen

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.harness import (
    CheckFailure,
    expect,
    expect_array,
    expect_close,
    expect_raises,
    expect_unmodified,
    format_array,
)
from data import train_cam_model as cam


EPS32 = float(np.finfo(np.float32).eps)
# How many float32 roundings a correct standardisation may pile up in a mean or a std
# (NumPy's pairwise sums, TensorFlow's and Keras's reductions stay within a few).
FLOAT32_ROUNDINGS = 4

LOCALISATION_IMAGES = 50
LOCALISATION_REQUIRED = 0.9
# A uint8 image may be rounded or truncated, and float rounding can move a
# value just below an integer: a correct pixel is within 1 (plus a hair).
UINT8_SLACK = 1.01


# --------------------------------------------------------------------------
# Models and references, written independently of solutions/
# --------------------------------------------------------------------------


def small_convnet(input_shape=(20, 20, 1), classes=10, seed=3):
    """The chapter's MNIST convnet shape, small: conv, pool, conv, pool, conv, flatten, dense, dense."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv_1"),
        keras.layers.MaxPooling2D(2, name="pool_1"),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv_2"),
        keras.layers.MaxPooling2D(2, name="pool_2"),
        keras.layers.Conv2D(6, 2, activation="relu", name="conv_3"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(8, activation="relu", name="dense"),
        keras.layers.Dense(classes, activation="softmax", name="predictions"),
    ])


def layer_by_layer(model, x):
    """Every layer's output, by applying the layers one after the other."""
    outputs = {}
    for layer in model.layers:
        x = layer(x)
        outputs[layer.name] = keras.ops.convert_to_numpy(x)
    return outputs


def as_output_list(result, expected_count, what):
    """A model's outputs as a list of NumPy arrays (Keras returns one array for one output)."""
    if isinstance(result, dict):
        raise CheckFailure(f"{what} returned a dict; build the model with outputs=[layer.output, ...] (a list).")
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    expect(len(outputs) == expected_count,
           f"{what} gives {len(outputs)} output(s); expected {expected_count}.")
    return [keras.ops.convert_to_numpy(o) for o in outputs]


class Keras3Hints:
    """The module under test, with a hint when code uses ``model.input`` on a Sequential model."""

    def __init__(self, exercise):
        self._exercise = exercise

    def __getattr__(self, name):
        function = getattr(self._exercise, name)

        def call(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except AttributeError as error:
                if "never been called" not in str(error):
                    raise
                raise CheckFailure(
                    f"`{name}` raised AttributeError: {error}\nLikely cause: `model.input` or `model.output` of a "
                    "Sequential model, which Keras 3 does not define; use `model.inputs` and `model.outputs[0]`."
                ) from None

        return call


def call_model(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a one-element input list only makes Keras warn
        return model(x)


def grid_reference(activation, per_row):
    _, h, w, c = activation.shape
    rows = -(-c // per_row)
    grid = np.zeros((rows * h, per_row * w))
    for channel in range(c):
        tile = activation[0, :, :, channel].astype(np.float64)
        tile = np.clip((tile - tile.mean()) / (tile.std() + 1e-5) * 64 + 128, 0, 255)
        row, col = divmod(channel, per_row)
        grid[row * h:(row + 1) * h, col * w:(col + 1) * w] = tile
    return grid


def standardise_slack(x, z, gain, clip_at):
    """Grey levels a correct float32 ``(x - mean) / (std + 1e-5) * gain`` may stray from the exact value.

    In float32 the mean and the std of ``x`` are each off by up to a few roundings of the
    values' size, FLOAT32_ROUNDINGS * EPS32 * max |x|. The mean's error shifts every
    standardised value by that much over std + 1e-5; the std's error scales it, by
    |z| times as much. Past |z| = clip_at the result is clipped and the error cannot show.
    On a constant channel (std 0) the mean's rounding is divided by 1e-5 alone: a correct
    float32 tile of 3.7 lands a few grey levels off 128, while a wrong formula (no epsilon:
    NaN, or the whole activation standardised at once) is off by tens of levels.
    In float64 the slack is below 1e-6 of a level for any input the checks use.
    """
    x = np.asarray(x, dtype=np.float64)
    error = FLOAT32_ROUNDINGS * EPS32 * np.abs(x).max() / (x.std() + 1e-5)
    return gain * error * (1 + min(float(np.abs(z).max()), clip_at))


def deprocess_reference(x, clip=True):
    x = np.asarray(x, dtype=np.float64)
    x = (x - x.mean()) / (x.std() + 1e-5) * 0.1 + 0.5
    return (np.clip(x, 0, 1) if clip else x) * 255


def normalise(heatmap, relu=True, by="max"):
    heatmap = np.maximum(heatmap, 0) if relu else np.asarray(heatmap, dtype=np.float64)
    scale = {"max": heatmap.max(), "sum": heatmap.sum(), "abs": np.abs(heatmap).max()}[by]
    return heatmap / scale if scale > 0 else np.zeros_like(heatmap)


def cam_reference(maps, weights, relu=True, by="max"):
    return normalise(np.asarray(maps, np.float64) @ np.asarray(weights, np.float64), relu, by)


def grad_cam_reference(model, image, layer_name, class_index, *, average=True, relu=True, by="max"):
    """Grad-CAM by hand: the gradient of the class's output, averaged over positions."""
    grad_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    x = tf.convert_to_tensor(image[np.newaxis].astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        conv, predictions = grad_model(x)
        score = predictions[:, class_index]
    gradients = tape.gradient(score, conv).numpy()[0].astype(np.float64)
    conv = conv.numpy()[0].astype(np.float64)
    weighted = conv * gradients.mean(axis=(0, 1)) if average else conv * gradients
    return normalise(weighted.sum(axis=-1), relu, by)


@functools.cache
def gradcam_model():
    """A fixed, untrained convnet with three classes and no global pooling."""
    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input(shape=(14, 14, 2)),
        keras.layers.Conv2D(5, 3, activation="relu", name="conv_a"),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv_last"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ])
    image = np.random.default_rng(5).uniform(0, 1, (14, 14, 2)).astype(np.float32)
    return model, image


@functools.cache
def localisation_data():
    """The trained GAP model, the 50 held-out canvases and their last-convolution maps."""
    model = cam.load_cam_model()
    canvases, labels, quadrants = cam.localisation_set(LOCALISATION_IMAGES)
    features = keras.Model(model.inputs[0], model.get_layer(cam.LAST_CONV_LAYER).output)
    maps = keras.ops.convert_to_numpy(features(canvases))
    weights = model.get_layer(cam.CLASSIFIER_LAYER).get_weights()[0]
    return model, canvases, labels, quadrants, maps, weights


def expect_heatmap(got, shape, what):
    got = expect_array(got, what=what)
    expect(got.shape == shape, f"{what}: expected shape {shape} (the last convolution's h x w), got {got.shape}.")
    expect(np.issubdtype(got.dtype, np.floating), f"{what}: expected floats in [0, 1], got dtype {got.dtype}.")
    expect(not np.isnan(got).any(),
           f"{what} contains NaN. When no value is positive the maximum is 0: return zeros instead of dividing.")
    expect(got.min() >= -1e-6 and got.max() <= 1 + 1e-6,
           f"{what}: values must lie in [0, 1] (ReLU, then divide by the maximum); got min {got.min():.4g}, "
           f"max {got.max():.4g}.")
    return got


def heatmap_causes(reference):
    return [
        (lambda: reference(relu=False), "no ReLU: keep only the positive part (np.maximum(heatmap, 0))."),
        (lambda: reference(by="sum"), "divided by the sum; divide by the maximum, so that the peak is 1."),
        (lambda: reference(relu=False, by="abs"), "no ReLU: keep only the positive part before dividing."),
    ]


# --------------------------------------------------------------------------
# Task 1: build_activation_model
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="build_activation_model")
def test_activation_model_default_layers(exercise):
    """build_activation_model(model) returns every Conv2D and MaxPooling2D output, equal to the layers' own"""
    exercise = Keras3Hints(exercise)
    model = small_convnet()
    got = exercise.build_activation_model(model)
    expect(isinstance(got, keras.Model), f"build_activation_model(model) should return a keras.Model, got {got.__class__.__name__}.")
    x = np.random.default_rng(0).uniform(0, 1, (2, 20, 20, 1)).astype(np.float32)
    expected = layer_by_layer(model, x)
    names = ["conv_1", "pool_1", "conv_2", "pool_2", "conv_3"]
    outputs = call_model(got, x)
    count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
    if count != len(names):
        shapes = [tuple(o.shape) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
        raise CheckFailure(
            f"build_activation_model(model) on the model {[l.name for l in model.layers]}: expected "
            f"{len(names)} outputs (the Conv2D and MaxPooling2D layers {names}), got {count} of shapes {shapes}.\n"
            "By default keep exactly the layers that are keras.layers.Conv2D or keras.layers.MaxPooling2D."
        )
    for name, output in zip(names, as_output_list(outputs, len(names), "the activation model")):
        expect_close(output, expected[name], what=f"activation model output for layer {name!r}", rtol=1e-5, atol=1e-5,
                     shape_hint="the outputs must follow the model's layer order.")


@pytest.mark.points(1, task="build_activation_model")
def test_activation_model_named_layers(exercise):
    """build_activation_model(model, names) returns those layers' outputs in that order, and rejects an unknown name or none"""
    exercise = Keras3Hints(exercise)
    model = small_convnet()
    x = np.random.default_rng(1).uniform(0, 1, (1, 20, 20, 1)).astype(np.float32)
    expected = layer_by_layer(model, x)
    for names in (["conv_3", "pool_1"], ["dense"], ["conv_2"]):
        got = exercise.build_activation_model(model, names)
        what = f"build_activation_model(model, {names})"
        expect(isinstance(got, keras.Model), f"{what} should return a keras.Model, got {got.__class__.__name__}.")
        for name, output in zip(names, as_output_list(call_model(got, x), len(names), what)):
            expect_close(output, expected[name], what=f"{what}: output for {name!r}", rtol=1e-5, atol=1e-5)
    expect_raises(ValueError, exercise.build_activation_model, model, ["conv_9"],
                  what="build_activation_model(model, ['conv_9'])", why="the model has no layer 'conv_9'")
    expect_raises(ValueError, exercise.build_activation_model, model, [],
                  what="build_activation_model(model, [])", why="no layer is chosen: a model with no output shows nothing")


# --------------------------------------------------------------------------
# Task 2: feature_map_grid
# --------------------------------------------------------------------------


def expect_grid(got, activation, per_row, what):
    expected = grid_reference(activation, per_row)
    got = expect_array(got, what=what)
    if got.shape != expected.shape:
        _, h, w, c = activation.shape
        swapped = (per_row * h, -(-c // per_row) * w)
        cause = ("rows and columns swapped: the grid is `images_per_row` tiles wide and ceil(C / images_per_row) "
                 "tiles high." if got.shape == swapped else
                 "the grid is images_per_row * W pixels wide and ceil(C / images_per_row) * H high, with a partly "
                 "filled last row when C is not a multiple of images_per_row.")
        raise CheckFailure(f"{what}: expected shape {expected.shape}, got {got.shape}.\nLikely cause: {cause}")
    expect(got.dtype == np.uint8, f"{what}: expected a uint8 image, got dtype {got.dtype}.")
    diff = np.abs(got.astype(np.int64) - expected)
    _, h, w, c = activation.shape
    slack = np.full(expected.shape, UINT8_SLACK)  # empty cells: exactly 0
    for channel in range(c):
        tile = activation[0, :, :, channel].astype(np.float64)
        z = (tile - tile.mean()) / (tile.std() + 1e-5)
        row, col = divmod(channel, per_row)
        # 64 grey levels per standard deviation; clipped beyond |z| = 2 (128 / 64).
        slack[row * h:(row + 1) * h, col * w:(col + 1) * w] += standardise_slack(tile, z, 64, 2)
    diff = diff - slack
    if diff.max() > 0:
        row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)
        h, w = activation.shape[1:3]
        tile = (row // h) * per_row + col // w
        filled = tile < activation.shape[3]
        raise CheckFailure(
            f"{what}: pixel ({row}, {col}) is {got[row, col]}, expected {int(expected[row, col])} (give or take "
            f"{slack[row, col]:.3g} for rounding). It belongs to "
            + (f"channel {tile} (tile row {row // h}, tile column {col // w})." if filled else
               "an empty cell after the last channel, which stays black (0).")
            + "\nEach tile is (channel - mean) / (std + 1e-5) * 64 + 128, clipped to [0, 255]; channel c goes to "
            "tile row c // images_per_row, tile column c % images_per_row."
        )


@pytest.mark.points(1, task="feature_map_grid")
def test_grid_by_hand(exercise):
    """feature_map_grid tiles 5 channels of 2x3 maps, 2 per row, into a 6x6 image with one empty cell"""
    rng = np.random.default_rng(2)
    activation = (rng.standard_normal((1, 2, 3, 5)) * [1, 2, 3, 4, 5] + 10).astype(np.float32)
    got = exercise.feature_map_grid(activation.copy(), images_per_row=2)
    expect_grid(got, activation, 2, "feature_map_grid(activation of shape (1, 2, 3, 5), images_per_row=2)")


@pytest.mark.points(2, task="feature_map_grid")
@settings(max_examples=30)
@given(h=st.integers(1, 6), w=st.integers(1, 6), channels=st.integers(1, 40), per_row=st.integers(1, 20),
       seed=st.integers(0, 2**16))
def test_grid_any_shape(exercise, h, w, channels, per_row, seed):
    """feature_map_grid places every channel right for any map size, channel count and images_per_row"""
    rng = np.random.default_rng(seed)
    activation = rng.standard_normal((1, h, w, channels)) * rng.uniform(0.5, 50, channels) + rng.uniform(-5, 5, channels)
    activation = activation.astype(np.float32)
    if h * w == 1:
        return  # a 1x1 map is constant: covered by the constant-channel check
    got = exercise.feature_map_grid(activation.copy(), images_per_row=per_row)
    expect_grid(got, activation, per_row,
                f"feature_map_grid(activation of shape {activation.shape}, images_per_row={per_row})")


@pytest.mark.points(1, task="feature_map_grid")
def test_grid_constant_channel(exercise):
    """feature_map_grid shows a constant channel as mid-grey (128, give or take float32 rounding), not NaN, and leaves its input unmodified"""
    rng = np.random.default_rng(4)
    activation = rng.standard_normal((1, 4, 5, 3)).astype(np.float32)
    activation[..., 1] = 0.0  # a ReLU filter that never fired
    activation[..., 2] = 3.7
    before = activation.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the verdict is on the values below
        got = exercise.feature_map_grid(activation, images_per_row=3)
    expect_unmodified(before, exercise.argument_after(0), what="feature_map_grid", argument="activation")
    expect_grid(got, before, 3, "feature_map_grid(channels 1 and 2 constant, images_per_row=3)")
    for channel in (1, 2):
        tile = got[:, channel * 5:(channel + 1) * 5]
        # 128 give or take the float32 rounding of the channel's mean, as expect_grid allows.
        slack = UINT8_SLACK + standardise_slack(before[0, :, :, channel], np.zeros(1), 64, 2)
        expect(np.abs(tile.astype(np.int64) - 128).max() <= slack,
               f"feature_map_grid: the constant channel {channel} should be mid-grey (128, give or take {slack:.2g} "
               f"for float32 rounding) everywhere, got values "
               f"{np.unique(tile).tolist()}.\nLikely cause: dividing by a std of 0 gives NaN; divide by std + 1e-5.")


@pytest.mark.points(1, task="feature_map_grid")
def test_grid_rejects_bad_input(exercise):
    """feature_map_grid raises ValueError for an activation that is not (1, H, W, C) or an images_per_row that is not a positive int"""
    activation = np.ones((1, 4, 4, 3), np.float32)
    expect_raises(ValueError, exercise.feature_map_grid, activation[0], what="feature_map_grid(array of shape (4, 4, 3))",
                  why="the activation must be (1, H, W, C): one image's activation, with its batch axis")
    expect_raises(ValueError, exercise.feature_map_grid, np.ones((2, 4, 4, 3), np.float32),
                  what="feature_map_grid(array of shape (2, 4, 4, 3))", why="it shows one image, not a batch of 2")
    expect_raises(ValueError, exercise.feature_map_grid, activation, 0,
                  what="feature_map_grid(activation, images_per_row=0)", why="a row needs at least one tile")
    expect_raises(ValueError, exercise.feature_map_grid, activation.astype(np.float64), 2.5,
                  what="feature_map_grid(float64 activation, images_per_row=2.5)", why="a row holds a whole number of tiles")


# --------------------------------------------------------------------------
# Task 3: deprocess_image
# --------------------------------------------------------------------------


def expect_deprocessed(got, x, what):
    expected = deprocess_reference(x)
    got = expect_array(got, what=what, shape=x.shape)
    expect(got.dtype == np.uint8, f"{what}: expected dtype uint8, got {got.dtype}.")
    z = (np.asarray(x, np.float64) - np.mean(x, dtype=np.float64)) / (np.std(x, dtype=np.float64) + 1e-5)
    # 0.1 * 255 grey levels per standard deviation; clipped beyond |z| = 5 (0.5 / 0.1).
    slack = UINT8_SLACK + standardise_slack(x, z, 25.5, 5)
    diff = np.abs(got.astype(np.int64) - expected)
    if diff.max() > slack:
        where = np.unravel_index(int(np.argmax(diff)), diff.shape)
        unclipped = deprocess_reference(x, clip=False)[where]
        cause = ""
        if unclipped > 255 or unclipped < 0:
            cause = (f"\nLikely cause: no clipping. Here x * 0.1 + 0.5 is {unclipped / 255:.3f}; clip it to "
                     "[0, 1] before multiplying by 255, or uint8 wraps around.")
        raise CheckFailure(
            f"{what}: at index {tuple(int(i) for i in where)} expected {int(expected[where])} (give or take "
            f"{slack:.3g} for rounding), got {got[where]}.\n"
            "Steps: x - mean, divided by std + 1e-5, times 0.1, plus 0.5, clipped to [0, 1], times 255, uint8."
            + cause
        )


@pytest.mark.points(2, task="deprocess_image")
@settings(max_examples=25)
@given(shape=st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 3])),
       scale=st.floats(0.01, 100), offset=st.floats(-100, 100), seed=st.integers(0, 2**16))
def test_deprocess_values(exercise, shape, scale, offset, seed):
    """deprocess_image standardises, scales by 0.1, shifts to 0.5, clips and gives uint8, for any image"""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale + offset).astype(np.float32)
    if x.size > 1:
        x.flat[0] = offset + 40 * scale  # an outlier, so that clipping matters
    got = exercise.deprocess_image(x.copy())
    expect_deprocessed(got, x, f"deprocess_image(array of shape {shape})")


@pytest.mark.points(1, task="deprocess_image")
def test_deprocess_constant_and_clipping(exercise):
    """deprocess_image gives mid-grey for a constant image, clips outliers, rejects empty or non-finite input, and leaves its input unmodified"""
    x = np.full((5, 5, 3), 0.42, np.float32)  # a flat grey image, as the models here take (inputs in [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = exercise.deprocess_image(x)
    got = expect_array(got, what="deprocess_image(an image of 0.42 everywhere)", shape=x.shape)
    # 127.5 (0.5 * 255) truncated or rounded: 127 or 128, give or take the float32 rounding
    # of the mean of 0.42 divided by 1e-5 (about half a grey level).
    slack = 0.5 + 1e-9 + standardise_slack(x, np.zeros(1), 25.5, 5)
    expect(got.dtype == np.uint8 and np.abs(got.astype(np.float64) - 127.5).max() <= slack,
           f"deprocess_image(an image of 0.42 everywhere) should be 127 or 128 (0.5 * 255) everywhere, got "
           f"{format_array(got)}.\nLikely cause: dividing by a std of 0; divide by std + 1e-5.")
    x = np.zeros((10, 10, 1), np.float32)
    x[0, 0], x[9, 9] = 100.0, -100.0
    before = x.copy()
    got = exercise.deprocess_image(x)
    expect_unmodified(before, exercise.argument_after(0), what="deprocess_image", argument="x")
    expect_deprocessed(got, before, "deprocess_image(zeros with one pixel at +100 and one at -100)")
    expect_raises(ValueError, exercise.deprocess_image, np.zeros((0, 3)), what="deprocess_image(empty array)",
                  why="an empty array has no mean or std")
    for bad, name in ((np.array([[0.2, np.nan], [0.4, 0.1]]), "NaN"), (np.array([0.2, np.inf, 0.4], np.float32), "infinity")):
        expect_raises(ValueError, exercise.deprocess_image, bad, what=f"deprocess_image(an array holding {name})",
                      why=f"{name} has no place in an image: the mean and std would be {name} too")
    # Left unmodified in float64 as well (the in-place check above is on float32).
    x64 = np.linspace(-3, 5, 24).reshape(2, 4, 3)
    exercise.deprocess_image(x64)
    expect_unmodified(np.linspace(-3, 5, 24).reshape(2, 4, 3), exercise.argument_after(0),
                      what="deprocess_image (float64)", argument="x")


# --------------------------------------------------------------------------
# Task 4: generate_filter_pattern
# --------------------------------------------------------------------------

PATTERN_SIZE = 32
PATTERN_STEPS = 20


def mean_activation(extractor, images_uint8, filter_index):
    x = images_uint8.astype(np.float32) / 255.0
    return keras.ops.convert_to_numpy(extractor(x))[..., filter_index].mean(axis=(1, 2))


@pytest.mark.points(1, task="generate_filter_pattern")
def test_filter_pattern_shape_and_seed(exercise):
    """generate_filter_pattern returns a uint8 (size, size, channels) image, the same for the same seed, and rejects bad arguments"""
    exercise = Keras3Hints(exercise)
    model = cam.load_cam_model()
    what = f"generate_filter_pattern(model, 'conv_2', 3, size={PATTERN_SIZE}, steps=5)"
    got = exercise.generate_filter_pattern(model, "conv_2", 3, size=PATTERN_SIZE, steps=5)
    got = expect_array(got, what=what, shape=(PATTERN_SIZE, PATTERN_SIZE, 1))
    expect(got.dtype == np.uint8, f"{what}: expected uint8 (pass the image through deprocess_image), got {got.dtype}.")
    again = exercise.generate_filter_pattern(model, "conv_2", 3, size=PATTERN_SIZE, steps=5)
    expect(np.array_equal(got, again),
           f"{what} gave a different image on a second call with the same seed. Draw the start image from "
           "np.random.default_rng(seed), not from the global random state.")
    expect(got.std() > 0, f"{what} returned a flat image: the gradient ascent did not change anything.")
    expect_raises(ValueError, exercise.generate_filter_pattern, model, "conv_2", 32, size=PATTERN_SIZE, steps=1,
                  what="generate_filter_pattern(model, 'conv_2', 32)", why="'conv_2' has 32 filters, numbered 0 to 31")
    expect_raises(ValueError, exercise.generate_filter_pattern, model, "conv_9", 0, size=PATTERN_SIZE, steps=1,
                  what="generate_filter_pattern(model, 'conv_9', 0)", why="the model has no layer 'conv_9'")
    expect_raises(ValueError, exercise.generate_filter_pattern, model, "conv_2", 3, size=PATTERN_SIZE, steps=-1,
                  what="generate_filter_pattern(model, 'conv_2', 3, steps=-1)", why="a number of steps cannot be negative")


@pytest.mark.points(3, task="generate_filter_pattern")
def test_filter_pattern_excites_its_filter(exercise):
    """gradient ascent makes each filter respond far more to its pattern than to random images of the same contrast"""
    exercise = Keras3Hints(exercise)
    model = cam.load_cam_model()
    rng = np.random.default_rng(9)
    # Noise at the contrast deprocess_image gives (std 0.1 around 0.5), as the start image looks after it.
    noise = np.stack([
        np.clip(0.5 + 0.1 * rng.standard_normal((PATTERN_SIZE, PATTERN_SIZE, 1)), 0, 1) * 255 for _ in range(20)
    ]).astype(np.uint8)
    for layer_name, filter_index in (("conv_1", 5), ("conv_2", 8), (cam.LAST_CONV_LAYER, 16)):
        what = f"generate_filter_pattern(model, {layer_name!r}, {filter_index}, size={PATTERN_SIZE}, steps={PATTERN_STEPS})"
        pattern = exercise.generate_filter_pattern(model, layer_name, filter_index, size=PATTERN_SIZE,
                                                   steps=PATTERN_STEPS)
        pattern = expect_array(pattern, what=what, shape=(PATTERN_SIZE, PATTERN_SIZE, 1), dtype=np.uint8)
        extractor = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
        got = float(mean_activation(extractor, pattern[np.newaxis], filter_index)[0])
        baseline = mean_activation(extractor, noise, filter_index)
        # Measured with the reference: the pattern beats the noise's mean by at least 12 times the noise's spread.
        needed = baseline.max() + 3 * (baseline.max() - baseline.mean())
        if got <= needed:
            cause = ("\nThe filter responds less to your pattern than to noise: gradient descent (add the gradient: "
                     "image += step_size * gradient), or the loss of another filter than filter_index?"
                     if got < baseline.mean() else
                     "\nIs the loss the mean of activation[..., filter_index], its gradient taken with respect to the "
                     "image, and the image moved up that gradient at every step?")
            raise CheckFailure(
                f"{what}: the filter's mean activation on your pattern is {got:.4f}, on random images of the same "
                f"contrast {baseline.mean():.4f} (at most {baseline.max():.4f}); gradient ascent should reach at "
                f"least {needed:.4f}.{cause}"
            )


# --------------------------------------------------------------------------
# Task 5: class_activation_map
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="class_activation_map")
def test_cam_by_hand(exercise):
    """class_activation_map of 2x2 maps with 2 channels gives the values worked out by hand"""
    maps = np.array([[[1, 0], [2, 1]], [[0, 3], [0, 0]]], np.float32)  # (2, 2, 2)
    weights = np.array([2.0, -1.0], np.float32)
    # Weighted sums: [[2, 3], [-3, 0]] -> ReLU [[2, 3], [0, 0]] -> / 3
    got = exercise.class_activation_map(maps, weights)
    expect_close(got, np.array([[2 / 3, 1], [0, 0]]), what="class_activation_map(maps [[[1 0] [2 1]] [[0 3] [0 0]]], weights [2 -1])",
                 rtol=1e-5, atol=1e-6, likely_causes=[
                     (np.array([[2 / 3, 1], [-1, 0]]), "no ReLU: negative evidence (-3) must become 0."),
                     (np.array([[0.4, 0.6], [0, 0]]), "divided by the sum (5); divide by the maximum (3)."),
                 ])


@pytest.mark.points(2, task="class_activation_map")
@settings(max_examples=30)
@given(h=st.integers(1, 8), w=st.integers(1, 8), channels=st.integers(1, 12), batch_axis=st.booleans(),
       seed=st.integers(0, 2**16))
def test_cam_matches_formula(exercise, h, w, channels, batch_axis, seed):
    """class_activation_map is the ReLU of the class-weighted sum of the maps, divided by its maximum"""
    rng = np.random.default_rng(seed)
    maps = np.maximum(rng.standard_normal((h, w, channels)), 0).astype(np.float32)  # ReLU outputs
    weights = rng.standard_normal(channels).astype(np.float32)
    given_maps = maps[np.newaxis] if batch_axis else maps
    got = exercise.class_activation_map(given_maps, weights)
    what = f"class_activation_map(maps of shape {given_maps.shape}, weights of shape {weights.shape})"
    got = expect_heatmap(got, (h, w), what)
    expect_close(got, cam_reference(maps, weights), what=what, rtol=1e-4, atol=1e-5,
                 likely_causes=heatmap_causes(lambda **kw: cam_reference(maps, weights, **kw)))


@pytest.mark.points(1, task="class_activation_map")
def test_cam_no_evidence_gives_zeros(exercise):
    """class_activation_map gives zeros, not NaN, when no position has positive evidence, and checks shapes"""
    maps = np.abs(np.random.default_rng(3).standard_normal((3, 4, 5))).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = exercise.class_activation_map(maps, -np.ones(5, np.float32))
    got = expect_heatmap(got, (3, 4), "class_activation_map(maps, all weights -1)")
    expect(np.all(got == 0), f"class_activation_map with only negative evidence should be all zeros, got {format_array(got)}.")
    expect_raises(ValueError, exercise.class_activation_map, maps, np.ones(4, np.float32),
                  what="class_activation_map(maps with 5 channels, 4 weights)", why="there must be one weight per channel")
    expect_raises(ValueError, exercise.class_activation_map, np.stack([maps, maps]).astype(np.float64), np.ones(5),
                  what="class_activation_map(float64 maps of a batch of 2, shape (2, 3, 4, 5), 5 weights)",
                  why="a CAM is one image's map: (H, W, C) or (1, H, W, C)")


def peak_in_quadrant(heatmap, quadrant):
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    r0, r1, c0, c1 = cam.quadrant_box(int(quadrant), heatmap.shape[0])
    return r0 <= row < r1 and c0 <= col < c1


def expect_localised(heatmaps, quadrants, method, what):
    misses = [i for i, (heatmap, quadrant) in enumerate(zip(heatmaps, quadrants))
              if not peak_in_quadrant(heatmap, quadrant)]
    fraction = 1 - len(misses) / len(heatmaps)
    names = ("top left", "top right", "bottom left", "bottom right")
    example = ""
    if misses:
        i = misses[0]
        row, col = np.unravel_index(int(np.argmax(heatmaps[i])), heatmaps[i].shape)
        example = (f"\n  e.g. image {i}: the animal is in the {names[quadrants[i]]} quadrant, your {method} peaks at "
                   f"row {row}, column {col} of {heatmaps[i].shape}.")
    expect(fraction >= LOCALISATION_REQUIRED,
           f"{what}: the {method} peak falls in the quadrant holding the animal for {fraction:.0%} of "
           f"{len(heatmaps)} held-out images; at least {LOCALISATION_REQUIRED:.0%} is needed (the reference "
           f"reaches 100%).{example}\nA heatmap that does not follow the image (constant, or computed for the "
           "wrong class or with the wrong weights) cannot find the animal.")


@pytest.mark.points(3, task="class_activation_map")
def test_cam_finds_the_animal(exercise):
    """your CAM peaks inside the quadrant where a held-out cat or dog was pasted, in at least 90% of 50 images"""
    model, canvases, labels, quadrants, maps, weights = localisation_data()
    what = "class_activation_map(last convolution's maps, dense_kernel[:, label])"
    heatmaps = [expect_heatmap(exercise.class_activation_map(feature_maps, weights[:, label]), feature_maps.shape[:2], what)
                for feature_maps, label in zip(maps, labels)]
    expect_localised(heatmaps, quadrants, "CAM", what)


# --------------------------------------------------------------------------
# Task 6: grad_cam
# --------------------------------------------------------------------------


@pytest.mark.points(3, task="grad_cam")
def test_grad_cam_matches_by_class(exercise):
    """grad_cam equals Grad-CAM computed by hand on a fixed model and image, for each of its three classes"""
    exercise = Keras3Hints(exercise)
    model, image = gradcam_model()
    for class_index in range(3):
        what = f"grad_cam(model, image, 'conv_last', class_index={class_index})"
        got = expect_heatmap(exercise.grad_cam(model, image, "conv_last", class_index=class_index), (10, 10), what)
        expected = grad_cam_reference(model, image, "conv_last", class_index)
        reference = lambda **kw: grad_cam_reference(model, image, "conv_last", class_index, **kw)
        causes = [
            (lambda: reference(average=False),
             "the channel weights were not averaged over the h x w positions: take the mean of the gradients over "
             "axes (0, 1, 2) first, one weight per channel."),
            *[(lambda c=c: grad_cam_reference(model, image, "conv_last", c),
               f"this is the heatmap of class {c}: take the gradient of predictions[:, class_index].")
              for c in range(3) if c != class_index],
            *heatmap_causes(reference),
        ]
        expect_close(got, expected, what=what, rtol=1e-3, atol=1e-4, likely_causes=causes)


@pytest.mark.points(1, task="grad_cam")
def test_grad_cam_top_class(exercise):
    """grad_cam with class_index=None explains the model's top class, and rejects a class or layer that does not exist and a batch"""
    exercise = Keras3Hints(exercise)
    model, image = gradcam_model()
    top = int(np.argmax(keras.ops.convert_to_numpy(model(image[np.newaxis]))[0]))
    got = expect_heatmap(exercise.grad_cam(model, image, "conv_last"), (10, 10), "grad_cam(model, image, 'conv_last')")
    causes = [(lambda c=c: grad_cam_reference(model, image, "conv_last", c),
               f"this is the heatmap of class {c}; the top class is {top} (np.argmax(predictions[0])).")
              for c in range(3) if c != top]
    expect_close(got, grad_cam_reference(model, image, "conv_last", top),
                 what=f"grad_cam(model, image, 'conv_last') (the top class is {top})", rtol=1e-3, atol=1e-4,
                 likely_causes=causes)
    expect_raises(ValueError, exercise.grad_cam, model, image, "conv_last", class_index=3,
                  what="grad_cam(model, image, 'conv_last', class_index=3)", why="the model has classes 0, 1 and 2")
    expect_raises(ValueError, exercise.grad_cam, model, image, "conv_last", class_index=-1,
                  what="grad_cam(model, image, 'conv_last', class_index=-1)",
                  why="the model has classes 0, 1 and 2 (a negative index would silently explain the last class)")
    expect_raises(ValueError, exercise.grad_cam, model, image, "conv_9", class_index=0,
                  what="grad_cam(model, image, 'conv_9', class_index=0)", why="the model has no layer 'conv_9'")
    expect_raises(ValueError, exercise.grad_cam, model, np.stack([image, image]), "conv_last", class_index=0,
                  what="grad_cam(model, a batch of 2 images, 'conv_last', class_index=0)", why="Grad-CAM explains one image")


@pytest.mark.points(1, task="grad_cam")
def test_grad_cam_silent_layer_gives_zeros(exercise):
    """grad_cam gives zeros, not NaN, when the last convolution outputs nothing but zeros"""
    exercise = Keras3Hints(exercise)
    model, image = gradcam_model()
    silent = keras.models.clone_model(model)
    silent.set_weights(model.get_weights())
    kernel, bias = silent.get_layer("conv_last").get_weights()
    silent.get_layer("conv_last").set_weights([np.zeros_like(kernel), np.full_like(bias, -1.0)])  # ReLU(-1) = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = exercise.grad_cam(silent, image, "conv_last", class_index=0)
    got = expect_heatmap(got, (10, 10), "grad_cam(a model whose last convolution outputs only zeros)")
    expect(np.all(got == 0), f"grad_cam with an all-zero last convolution should be all zeros, got {format_array(got)}.")


@pytest.mark.points(3, task="grad_cam")
def test_grad_cam_finds_the_animal(exercise):
    """your Grad-CAM peaks inside the quadrant where a held-out cat or dog was pasted, in at least 90% of 50 images"""
    exercise = Keras3Hints(exercise)
    model, canvases, labels, quadrants, maps, weights = localisation_data()
    what = f"grad_cam(model, canvas, {cam.LAST_CONV_LAYER!r}, class_index=label)"
    heatmaps = [expect_heatmap(exercise.grad_cam(model, canvas, cam.LAST_CONV_LAYER, class_index=int(label)),
                               maps.shape[1:3], what)
                for canvas, label in zip(canvases, labels)]
    expect_localised(heatmaps, quadrants, "Grad-CAM", what)


# --------------------------------------------------------------------------
# Task 7: overlay_heatmap
# --------------------------------------------------------------------------


def jet(value):
    return np.asarray(matplotlib.colormaps["jet"](value)[:3]) * 255


@pytest.mark.points(1, task="overlay_heatmap")
def test_overlay_shape(exercise):
    """overlay_heatmap returns a uint8 RGB image the size of the image, for RGB and grey images"""
    rng = np.random.default_rng(6)
    heatmap = rng.uniform(0, 1, (5, 7))
    for image, name in ((rng.integers(0, 256, (40, 60, 3)).astype(np.uint8), "an RGB uint8 image (40, 60, 3)"),
                        (rng.uniform(0, 255, (40, 60)), "a grey float image (40, 60)"),
                        (rng.uniform(0, 255, (40, 60, 1)).astype(np.float32), "a grey image (40, 60, 1)")):
        what = f"overlay_heatmap({name}, heatmap (5, 7))"
        got = expect_array(exercise.overlay_heatmap(image, heatmap), what=what)
        expect(got.shape == (40, 60, 3),
               f"{what}: expected shape (40, 60, 3), got {got.shape}."
               + ("\nLikely cause: height and width swapped; Pillow's resize takes (width, height)."
                  if got.shape[:2] == (60, 40) else ""))
        expect(got.dtype == np.uint8, f"{what}: expected dtype uint8, got {got.dtype}.")


@pytest.mark.points(2, task="overlay_heatmap")
def test_overlay_colours(exercise):
    """overlay_heatmap colours the resized heatmap with jet and blends it: (1 - alpha) * image + alpha * colours"""
    image = np.full((40, 80, 3), 100, np.uint8)
    got = expect_array(exercise.overlay_heatmap(image, np.full((3, 3), 0.7), alpha=0.0),
                       what="overlay_heatmap(image, heatmap, alpha=0)", shape=(40, 80, 3))
    expect(np.abs(got.astype(int) - 100).max() <= 1,
           f"overlay_heatmap(image, heatmap, alpha=0) should give the image unchanged, got {format_array(got)}.")
    what = "overlay_heatmap(image of 100 everywhere, heatmap of 0.5) (alpha=0.4 by default)"
    got = expect_array(exercise.overlay_heatmap(image, np.full((3, 3), 0.5)), what=what, shape=(40, 80, 3))
    expected = 0.6 * 100 + 0.4 * jet(0.5)
    added = np.clip(100 + 0.4 * jet(0.5), 0, 255)
    cause = ("\nLikely cause: colours added to the image (the book's image + 0.4 * colours); blend them: "
             "(1 - alpha) * image + alpha * colours." if np.abs(got[0, 0] - added).max() <= 2 else
             "\nLikely cause: a colour map other than matplotlib.colormaps['jet'], or colours left in [0, 1] "
             "instead of 0-255.")
    expect(np.abs(got.reshape(-1, 3).astype(float) - expected).max() <= 2,
           f"{what}: expected {np.round(expected).astype(int).tolist()} = 0.6 * 100 + 0.4 * jet(0.5) * 255 "
           f"everywhere, got {got[0, 0].tolist()}.{cause}")
    half = np.array([[1.0, 1.0, 0.0, 0.0]] * 2)  # left half hot, right half cold
    what = "overlay_heatmap(image, heatmap [[1 1 0 0] [1 1 0 0]], alpha=1)"
    got = expect_array(exercise.overlay_heatmap(image, half, alpha=1.0), what=what, shape=(40, 80, 3))
    left, right = got[:, :20].reshape(-1, 3), got[:, 60:].reshape(-1, 3)
    expect(np.abs(left.astype(float) - jet(1.0)).max() <= 3 and np.abs(right.astype(float) - jet(0.0)).max() <= 3,
           f"{what}: the left quarter should be jet(1) = {np.round(jet(1.0)).astype(int).tolist()} (dark red) and "
           f"the right quarter jet(0) = {np.round(jet(0.0)).astype(int).tolist()} (dark blue); got "
           f"{left[0].tolist()} on the left and {right[0].tolist()} on the right.\nLikely cause: the heatmap not "
           "stretched over the whole image (resize it to the image's width and height before colouring).")


@pytest.mark.points(1, task="overlay_heatmap")
def test_overlay_rejects_bad_input(exercise):
    """overlay_heatmap raises ValueError for a heatmap that is not 2-D or not in [0, 1], an alpha outside [0, 1] or an image that is not RGB or grey, and leaves its inputs alone"""
    image = np.full((8, 8, 3), 50, np.uint8)
    heatmap = np.linspace(0, 1, 16).reshape(4, 4)
    before = image.copy(), heatmap.copy()
    exercise.overlay_heatmap(image, heatmap)
    expect_unmodified(before[0], exercise.argument_after(0), what="overlay_heatmap", argument="image")
    expect_unmodified(before[1], exercise.argument_after(1), what="overlay_heatmap", argument="heatmap")
    expect_raises(ValueError, exercise.overlay_heatmap, image, np.ones((4, 4, 3)),
                  what="overlay_heatmap(image, heatmap of shape (4, 4, 3))", why="a heatmap is 2-D (h, w)")
    expect_raises(ValueError, exercise.overlay_heatmap, image, heatmap * 255,
                  what="overlay_heatmap(image, heatmap with values up to 255)",
                  why="heatmap values must lie in [0, 1] (normalise it by its maximum first)")
    expect_raises(ValueError, exercise.overlay_heatmap, image, heatmap, alpha=1.5,
                  what="overlay_heatmap(image, heatmap, alpha=1.5)", why="alpha is a weight in [0, 1]")
    expect_raises(ValueError, exercise.overlay_heatmap, np.full((8, 8, 4), 50, np.uint8), heatmap,
                  what="overlay_heatmap(RGBA image of shape (8, 8, 4), heatmap)", why="the image must be RGB or grey")
    # Left alone with a float grey image too.
    grey = np.linspace(0, 255, 64).reshape(8, 8)
    exercise.overlay_heatmap(grey, heatmap)
    expect_unmodified(np.linspace(0, 255, 64).reshape(8, 8), exercise.argument_after(0), what="overlay_heatmap (grey float64)",
                      argument="image")
