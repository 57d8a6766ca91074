"""Exercise 4 checks: the cats-vs-dogs convnet, its augmentation, and its input pipeline.

The pipeline checks read a small folder of real silhouettes written by
``data.write_cats_vs_dogs`` (24x24 JPEGs) in the layout of exercise 3.
"""

import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import data
from checks.harness import CheckFailure, expect, expect_close, expect_raises
from checks.model_checks import (
    expect_accuracy_metric,
    expect_compiled,
    expect_layer_configs,
    expect_loss,
    expect_model,
    expect_parameter_count,
    layer_output_shapes,
    model_layers,
)


BLOCK_FILTERS = (32, 64, 128, 128)
CONVNET_PARAMETERS = 3_453_121


def convnet_layers(input_shape, dropout=None):
    """The chapter's layers at ``input_shape``: (class, config that must match, output shape)."""
    height, width, _ = input_shape
    layers = []
    for filters in BLOCK_FILTERS:
        height, width = height - 2, width - 2
        layers.append(("Conv2D", {"filters": filters, "kernel_size": (3, 3), "strides": (1, 1), "padding": "valid",
                                  "activation": "relu"}, (height, width, filters)))
        height, width = height // 2, width // 2
        layers.append(("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}, (height, width, filters)))
    flat = height * width * BLOCK_FILTERS[-1]
    layers.append(("Flatten", {}, (flat,)))
    if dropout is not None:
        layers.append(("Dropout", {"rate": dropout}, (flat,)))
    layers.append(("Dense", {"units": 512, "activation": "relu"}, (512,)))
    layers.append(("Dense", {"units": 1, "activation": "sigmoid"}, (1,)))
    return layers


def convnet_parameter_count(input_shape):
    """Parameters of the chapter's convnet, worked out from the layer sizes."""
    channels, count = input_shape[2], 0
    for filters in BLOCK_FILTERS:
        count += 3 * 3 * channels * filters + filters  # kernel weights and biases
        channels = filters
    flat = next(shape[0] for name, _, shape in convnet_layers(input_shape) if name == "Flatten")
    return count + (flat * 512 + 512) + (512 * 1 + 1)


def convnet(exercise, input_shape=None, **kwargs):
    """Calls ``build_convnet`` (at its default input shape unless one is given); returns the model and the call."""
    arguments = ([f"input_shape={input_shape}"] if input_shape else []) + [f"{k}={v}" for k, v in kwargs.items()]
    what = f"build_convnet({', '.join(arguments)})"
    model = exercise.build_convnet(input_shape, **kwargs) if input_shape else exercise.build_convnet(**kwargs)
    return expect_model(model, what, input_shape or (150, 150, 3)), what


# --------------------------------------------------------------------------
# Task 1: build_convnet
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="build_convnet")
def test_convnet_input_and_output(exercise):
    """build_convnet takes (150, 150, 3) images and gives one probability per image"""
    model, what = convnet(exercise)
    images = np.random.default_rng(0).random((4, 150, 150, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(model(images, training=False))
    expect(out.shape == (4, 1), f"{what} should map a batch (4, 150, 150, 3) to (4, 1), got {out.shape}.")
    expect(((out > 0) & (out < 1)).all(), f"{what}: outputs should be probabilities strictly between 0 and 1 "
                                          f"(sigmoid), got {out.ravel()}."
                                          + ("\nLikely cause: softmax over a single unit is always 1.0; one "
                                             "yes/no output needs sigmoid." if np.allclose(out, 1) else ""))


@pytest.mark.points(3, task="build_convnet")
def test_convnet_layers(exercise):
    """build_convnet has four Conv2D + MaxPooling2D blocks (32, 64, 128, 128), Flatten, Dense 512 relu, Dense 1 sigmoid"""
    model, what = convnet(exercise)
    expect_layer_configs(model_layers(model), convnet_layers((150, 150, 3)), what)


@pytest.mark.points(1, task="build_convnet")
def test_convnet_output_shapes(exercise):
    """each layer of build_convnet has the output shape of the chapter's summary"""
    model, what = convnet(exercise)
    wanted = [shape for _, _, shape in convnet_layers((150, 150, 3))]
    got = layer_output_shapes(model, (150, 150, 3))
    expect(got == wanted, f"{what}: layer output shapes (without the batch axis) should be\n  {wanted}\ngot\n  {got}")


@pytest.mark.points(1, task="build_convnet")
def test_convnet_parameter_count(exercise):
    """build_convnet has 3,453,121 parameters at 150x150x3"""
    model, what = convnet(exercise)
    expect_parameter_count(model, CONVNET_PARAMETERS, what)


@pytest.mark.points(1, task="build_convnet")
def test_convnet_other_input_shapes(exercise):
    """build_convnet builds the same architecture for smaller inputs (64x64x3 and grayscale 48x48x1)"""
    for shape in ((64, 64, 3), (48, 48, 1)):
        model, what = convnet(exercise, shape)
        expect(tuple(model.input_shape) == (None, *shape),
               f"{what}: the model's input shape should be {(None, *shape)}, got {model.input_shape}.\n"
               "Likely cause: the input shape is fixed instead of taken from the input_shape argument.")
        expect_layer_configs(model_layers(model), convnet_layers(shape), what)
        expect_parameter_count(model, convnet_parameter_count(shape), what)


@pytest.mark.points(2, task="build_convnet")
def test_convnet_dropout(exercise):
    """build_convnet(dropout=rate) puts a Dropout of that rate right after Flatten, and dropout=None none at all

    The place of the Dropout layer (on the flattened features, before the classifier) is the chapter's lesson,
    so the layers are read here.
    """
    for rate in (0.5, 0.3):
        model, what = convnet(exercise, dropout=rate)
        layers = model_layers(model)
        names = [layer.__class__.__name__ for layer in layers]
        expect("Dropout" in names, f"{what} should have a Dropout layer, got the layers {names}.")
        position = names.index("Dropout")
        expect(position > 0 and names[position - 1] == "Flatten" and names[position + 1:] == ["Dense", "Dense"],
               f"{what}: the Dropout layer should come right after Flatten, before Dense(512); got the layers {names}.")
        got = layers[position].get_config()["rate"]
        expect(np.isclose(got, rate), f"{what}: the Dropout rate should be {rate}, got {got}.")
        expect_parameter_count(model, CONVNET_PARAMETERS, what)
    model, what = convnet(exercise, dropout=None)
    names = [layer.__class__.__name__ for layer in model_layers(model)]
    expect("Dropout" not in names, f"{what} should have no Dropout layer, got the layers {names}.")


@pytest.mark.points(2, task="build_convnet")
def test_convnet_compiled(exercise):
    """build_convnet is compiled with RMSprop(learning_rate=1e-4), binary cross-entropy and accuracy"""
    model, what = convnet(exercise)
    expect_compiled(model, what)
    expect(isinstance(model.optimizer, keras.optimizers.RMSprop),
           f"{what}: the optimizer should be keras.optimizers.RMSprop, got {model.optimizer.__class__.__name__}.")
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    expect(np.isclose(rate, 1e-4, rtol=1e-5),
           f"{what}: RMSprop's learning rate should be 1e-4, got {rate:g}."
           + ("\nLikely cause: \"rmsprop\" as a string uses the default rate 1e-3; pass "
              "keras.optimizers.RMSprop(learning_rate=1e-4) (the 2019 name was lr=)." if np.isclose(rate, 1e-3) else ""))
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, (8, 1)).astype(np.float32)
    y_pred = rng.uniform(0.05, 0.95, (8, 1)).astype(np.float32)
    expect_loss(model, what, "binary_crossentropy", y_true, y_pred, causes=[
        ("categorical_crossentropy", "categorical cross-entropy over a single output unit is always 0, so nothing "
                                     "is learned; one sigmoid unit needs binary_crossentropy."),
        ("mean_squared_error", "mean squared error is for regression; a yes/no output uses binary_crossentropy."),
    ])
    expect_accuracy_metric(model, what, "binary")


@pytest.mark.points(1, task="build_convnet")
def test_convnet_rejects_bad_input(exercise):
    """build_convnet raises ValueError for a dropout rate outside [0, 1) and an input shape too small or not 3-D"""
    bad = [({"dropout": 1.0}, "a dropout rate of 1 drops every feature, so the model cannot learn; rates are in [0, 1)"),
           ({"dropout": 1.5}, "a dropout rate is a fraction in [0, 1)"),
           ({"dropout": -0.2}, "a dropout rate cannot be negative"),
           ({"dropout": "0.5"}, "a dropout rate is a number, not a string"),
           ({"input_shape": (40, 40, 3)}, "four 3x3 convolutions and 2x2 poolings need at least 46x46 pixels"),
           ({"input_shape": (150, 150)}, "input_shape is (height, width, channels)")]
    for kwargs, why in bad:
        what = f"build_convnet({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        expect_raises(ValueError, exercise.build_convnet, **kwargs, what=what, why=why)


# --------------------------------------------------------------------------
# Task 2: build_augmentation
# --------------------------------------------------------------------------


def symmetric_range(value):
    """A factor as ``(low, high)``: Keras reads a number ``f`` as ``(-f, f)``."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (-abs(float(value)), abs(float(value)))
    low, high = sorted(float(v) for v in value)
    return (low, high)


def augmentation_batch(seed=0, size=32, n=6):
    """Images with structure (a bright off-centre square and a gradient), so every transformation shows."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 3), np.float32)
    images += np.linspace(0, 0.5, size, dtype=np.float32)[np.newaxis, np.newaxis, :, np.newaxis]
    images[:, 4:14, 6:12, :] = 1.0
    images += 0.1 * rng.random(images.shape).astype(np.float32)
    return np.clip(images, 0, 1)


def augmentation(exercise, **kwargs):
    what = f"build_augmentation({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    model = exercise.build_augmentation(**kwargs)
    # What it is made of is judged by its layers and what it does to images; any Keras model of
    # preprocessing layers that maps a batch to a batch will do, as the docstring's Sequential does.
    expect(isinstance(model, keras.Model),
           f"{what} should return a Keras model of preprocessing layers (a keras.Sequential, for example), "
           f"got {model.__class__.__name__}.")
    return model, what


def layers_by_class(model):
    return {layer.__class__.__name__: layer for layer in model_layers(model)}


AUGMENTATION_LAYERS = ("RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomFlip")


def expect_range(what, layer_name, argument, got, wanted, cause=""):
    got_range = symmetric_range(got)
    ok = got_range is not None and np.allclose(got_range, wanted, atol=1e-3)
    expect(ok, f"{what}: {layer_name} should have {argument} covering {wanted[0]:g} to {wanted[1]:g}, got {got!r}."
               + (f"\nLikely cause: {cause}" if cause else ""))


@pytest.mark.points(2, task="build_augmentation")
def test_augmentation_layers(exercise):
    """build_augmentation stacks RandomRotation(40/360), RandomTranslation(0.2, 0.2), RandomShear(0.2), RandomZoom(0.2) and RandomFlip("horizontal"), filling with "nearest\"

    Form on purpose: how each 2019 ImageDataGenerator argument maps onto a preprocessing layer, with its unit
    traps (a fraction of a turn, not degrees), is the lesson, so the layers' settings are read. What the
    layers do to images is judged by the checks that follow.
    """
    model, what = augmentation(exercise)
    names = [layer.__class__.__name__ for layer in model_layers(model)]
    expect(sorted(names) == sorted(AUGMENTATION_LAYERS),
           f"{what} should hold exactly the layers {list(AUGMENTATION_LAYERS)} (in any order), got {names}.")
    layers = layers_by_class(model)
    rotation = layers["RandomRotation"].get_config()["factor"]
    largest = max(abs(f) for f in symmetric_range(rotation))
    cause = ""
    if largest >= 1:
        cause = "RandomRotation's factor is a fraction of a full turn, not degrees: 40 degrees is 40 / 360."
    elif np.isclose(largest, np.radians(40), atol=0.01):
        cause = "RandomRotation's factor is a fraction of a full turn, not radians: 40 degrees is 40 / 360."
    expect_range(what, "RandomRotation", "factor", rotation, (-40 / 360, 40 / 360), cause)
    translation = layers["RandomTranslation"].get_config()
    expect_range(what, "RandomTranslation", "height_factor", translation["height_factor"], (-0.2, 0.2))
    expect_range(what, "RandomTranslation", "width_factor", translation["width_factor"], (-0.2, 0.2))
    shear = layers["RandomShear"].get_config()
    x_range, y_range = symmetric_range(shear["x_factor"]), symmetric_range(shear["y_factor"])
    allowed = ((0.0, 0.0), (-0.2, 0.2))
    matches = lambda got: any(np.allclose(got, a, rtol=0, atol=1e-6) for a in allowed)
    shear_ok = matches(x_range) and matches(y_range) and max(abs(v) for v in x_range + y_range) > 0
    expect(shear_ok, f"{what}: RandomShear should shear by up to 0.2 (x_factor=0.2 and/or y_factor=0.2), got "
                     f"x_factor={shear['x_factor']!r}, y_factor={shear['y_factor']!r}."
                     + ("\nLikely cause: the legacy shear_range=0.2 was in degrees; RandomShear's factor is a "
                        "fraction of the image size: use 0.2." if max(abs(v) for v in x_range + y_range) < 0.01 else ""))
    zoom = layers["RandomZoom"].get_config()
    expect_range(what, "RandomZoom", "height_factor", zoom["height_factor"], (-0.2, 0.2))
    expect(zoom["width_factor"] is None or np.allclose(symmetric_range(zoom["width_factor"]), (-0.2, 0.2), atol=1e-3),
           f"{what}: RandomZoom should zoom width and height by up to 0.2, got width_factor={zoom['width_factor']!r}.")
    for name in ("RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom"):
        fill = layers[name].get_config()["fill_mode"]
        expect(fill == "nearest", f"{what}: {name} should have fill_mode=\"nearest\" (the 2019 generator's fill), got "
                                  f"{fill!r}. The layers' default is \"reflect\".")
    mode = layers["RandomFlip"].get_config()["mode"]
    expect(mode == "horizontal", f"{what}: RandomFlip should have mode \"horizontal\", got {mode!r}."
                                 + ("\nLikely cause: RandomFlip's default mode also flips vertically: pass "
                                    "\"horizontal\". An upside-down cat is not a picture the model will meet."
                                    if "vertical" in mode else ""))


@pytest.mark.points(2, task="build_augmentation")
def test_augmentation_training_and_inference(exercise):
    """the augmentation changes images when training, keeps their shape, dtype and [0, 1] range, and is the identity at inference"""
    model, what = augmentation(exercise, seed=3)
    images = augmentation_batch()
    inference = keras.ops.convert_to_numpy(model(images, training=False))
    expect_close(inference, images, what=f"{what}(images, training=False)", rtol=0, atol=1e-6)
    judged = exercise.judge.keras  # the model lives in the grader's model process: built around it there
    predicted = judged.Sequential([judged.Input(images.shape[1:]), model]).predict(images, verbose=0)
    expect_close(predicted, images, what=f"a model made of {what}, .predict(images)", rtol=0, atol=1e-6)
    augmented = keras.ops.convert_to_numpy(model(images, training=True))
    expect(augmented.shape == images.shape and augmented.dtype == np.float32,
           f"{what}(images, training=True) should keep the shape {images.shape} and dtype float32, got "
           f"{augmented.shape} {augmented.dtype}.")
    changed = [not np.allclose(a, b, atol=1e-3) for a, b in zip(augmented, images)]
    expect(all(changed), f"{what}(images, training=True) left {changed.count(False)} of {len(images)} images unchanged; "
                         "rotation, shift, shear and zoom change every image a little.")
    expect(augmented.min() >= -1e-4 and augmented.max() <= 1 + 1e-4,
           f"{what}(images, training=True): images in [0, 1] should stay in [0, 1], got {augmented.min():g} to "
           f"{augmented.max():g}.")


@pytest.mark.points(1, task="build_augmentation")
def test_augmentation_flips_only_horizontally(exercise):
    """the augmentation's flips mirror images left-right, never upside down"""
    model, what = augmentation(exercise, seed=11)
    flips = [layer for layer in model_layers(model) if isinstance(layer, keras.layers.RandomFlip)]
    expect(len(flips) == 1, f"{what} should hold one RandomFlip layer, got {len(flips)}.")
    images = augmentation_batch(n=16)
    seen_flip = False
    for _ in range(3):
        flipped = keras.ops.convert_to_numpy(flips[0](images, training=True))
        for image, out in zip(images, flipped):
            same, mirrored = np.allclose(out, image, atol=1e-6), np.allclose(out, image[:, ::-1], atol=1e-6)
            upside_down = np.allclose(out, image[::-1], atol=1e-6) or np.allclose(out, image[::-1, ::-1], atol=1e-6)
            expect(same or mirrored, f"{what}: its RandomFlip turned an image "
                                     + ("upside down; flip horizontally only (mode \"horizontal\")." if upside_down
                                        else "into something that is neither the image nor its left-right mirror."))
            seen_flip |= mirrored
    expect(seen_flip, f"{what}: its RandomFlip never mirrored any of 48 images; it should flip about half of them.")


@pytest.mark.points(1, task="build_augmentation")
def test_augmentation_seed_is_reproducible(exercise):
    """build_augmentation(seed=...) gives the same transformations for the same seed, other ones for another seed"""
    images = augmentation_batch()
    first, what = augmentation(exercise, seed=21)
    second, _ = augmentation(exercise, seed=21)
    other, _ = augmentation(exercise, seed=22)
    a, b, c = (keras.ops.convert_to_numpy(m(images, training=True)) for m in (first, second, other))
    expect(np.allclose(a, b, rtol=0, atol=1e-5),
           f"two separate {what} transformed the same images differently (largest difference "
           f"{np.abs(a - b).max():.3g}).\nLikely cause: the seed is not passed on; give each layer a seed derived "
           "from it, e.g. seed=seed, seed + 1, ...")
    expect(not np.allclose(a, c, atol=1e-3), "build_augmentation(seed=21) and build_augmentation(seed=22) gave the "
                                             "same images: the seed should set each layer's seed.")


# --------------------------------------------------------------------------
# Task 3: make_datasets
# --------------------------------------------------------------------------

FILE_SIZE = (24, 24)
PER_CLASS = {"train": 16, "validation": 6, "test": 6}


@pytest.fixture(scope="module")
def small_cats_and_dogs(tmp_path_factory):
    """A base folder of real silhouettes: train 0-15, validation 16-21, test 22-27 of each class."""
    root = tmp_path_factory.mktemp("convnet_pipeline")
    flat = data.write_cats_vs_dogs(root / "flat", image_size=FILE_SIZE, count=sum(PER_CLASS.values()))
    base, start = root / "cats_and_dogs_small", 0
    for split, size in PER_CLASS.items():
        for cls, paths in flat.items():
            folder = base / split / f"{cls}s"
            folder.mkdir(parents=True)
            for path in paths[start:start + size]:
                shutil.copyfile(path, folder / path.name)
        start += size
    return base


def expected_images(base, split, size=FILE_SIZE):
    """The split's images and labels in file order, decoded and resized as Keras does, scaled to [0, 1]."""
    images, labels = [], []
    for label, folder in enumerate(("cats", "dogs")):
        for path in sorted((base / split / folder).iterdir()):
            image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
            images.append(tf.image.resize(image, size).numpy() / 255.0)
            labels.append(label)
    return np.stack(images).astype(np.float32), np.array(labels, np.float32)


def image_keys(batch):
    """Each image's pixels rounded to 0-255, as a sortable key (equal images, equal keys)."""
    return sorted(np.round(image * 255).astype(np.int16).tobytes() for image in batch)


def same_images_in_any_order(images, wanted):
    """True if ``images`` are ``wanted``, each exactly once, in any order."""
    return images.shape == wanted.shape and image_keys(images) == image_keys(wanted)


def read_all(split_data, what):
    """All ``(images, labels)`` batches of one split, as NumPy arrays, checked for the expected structure."""
    images, labels, sizes = [], [], []
    try:
        iterator = iter(split_data)
    except TypeError:
        raise CheckFailure(f"{what} should be a tf.data.Dataset of (images, labels) batches, got "
                           f"{type(split_data).__name__}.") from None
    for batch in iterator:
        if not (isinstance(batch, tuple) and len(batch) == 2):
            raise CheckFailure(f"{what} should yield (images, labels) pairs, got {type(batch).__name__} "
                               f"{getattr(batch, 'shape', '')}.")
        batch_images, batch_labels = (keras.ops.convert_to_numpy(t) for t in batch)
        images.append(batch_images)
        labels.append(batch_labels)
        sizes.append(len(batch_images))
    if not images:
        raise CheckFailure(f"{what} yielded no batches.")
    return images, labels, sizes


SPLITS = ("train", "validation", "test")


def pipeline(exercise, base, image_size=FILE_SIZE, batch_size=5):
    """Calls ``make_datasets`` on ``base``; returns ``{split: its data}`` and the call.

    Lenient about the container on purpose (a list of three is as good as the tuple, and a dict keyed by split
    is read by its keys): a wrong container costs one check, ``test_make_datasets_returns_three_splits``, not
    every check of the pipeline.
    """
    what = f"make_datasets(base, image_size={image_size}, batch_size={batch_size})"
    result = exercise.make_datasets(base, image_size=image_size, batch_size=batch_size)
    if isinstance(result, dict) and set(SPLITS) <= set(result):
        return {split: result[split] for split in SPLITS}, what
    parts = list(result) if isinstance(result, (tuple, list)) else None
    expect(parts is not None and len(parts) == 3,
           f"{what} should return the three splits (train, validation, test), got {result.__class__.__name__}"
           f"{f' of length {len(result)}' if hasattr(result, '__len__') else ''}.")
    return dict(zip(SPLITS, parts)), what


@pytest.mark.points(1, task="make_datasets")
def test_make_datasets_returns_three_splits(exercise, small_cats_and_dogs):
    """make_datasets returns its three splits in order, (train, validation, test): a tuple or a list"""
    what = "make_datasets(base)"
    result = exercise.make_datasets(small_cats_and_dogs, image_size=FILE_SIZE, batch_size=5)
    kind = result.__class__.__name__
    cause = ""
    if isinstance(result, dict):
        cause = ("\nLikely cause: a dict keyed by split; return the three datasets in order, "
                 "return train, validation, test.")
    expect(isinstance(result, (tuple, list)) and len(result) == 3,
           f"{what} should return the three datasets in order, (train, validation, test) (a tuple, or a list), "
           f"got {kind}{f' of length {len(result)}' if hasattr(result, '__len__') else ''}.{cause}")
    for number, (split, split_data) in enumerate(zip(SPLITS, result)):
        images = np.concatenate(read_all(split_data, f"{what}, item {number} of the result ({split})")[0])
        wanted, _ = expected_images(small_cats_and_dogs, split)
        if not same_images_in_any_order(images, wanted):
            found = [other for other in SPLITS
                     if same_images_in_any_order(images, expected_images(small_cats_and_dogs, other)[0])]
            raise CheckFailure(f"{what}: item {number} of the result should be the {split} split (the files of "
                               f"base/{split}/), got "
                               + (f"the {found[0]} split.\nLikely cause: the splits come in another order; return "
                                  "train, validation, test." if found else "images that are none of the splits' files."))


@pytest.mark.points(1, task="make_datasets")
def test_make_datasets_rejects_bad_sizes(exercise, small_cats_and_dogs):
    """make_datasets raises ValueError for a batch_size that is not an int >= 1 and an image_size that is not positive"""
    bad = [("batch_size", 0, "a batch holds at least one image"),
           ("batch_size", -4, "a batch size cannot be negative"),
           ("batch_size", 2.5, "a batch size is a whole number"),
           ("image_size", (0, 16), "an image cannot have 0 rows"),
           ("image_size", (20, -1), "an image cannot have a negative width"),
           ("image_size", (20,), "image_size is (height, width) or one int")]
    for argument, value, why in bad:
        kwargs = {"image_size": FILE_SIZE, "batch_size": 5, argument: value}
        expect_raises(ValueError, exercise.make_datasets, small_cats_and_dogs, **kwargs,
                      what=f"make_datasets(base, {argument}={value!r})", why=why)


@pytest.mark.points(2, task="make_datasets")
def test_splits_yield_batches_of_the_right_shape(exercise, small_cats_and_dogs):
    """make_datasets yields float32 images (batch, height, width, 3) and float32 labels (batch, 1) in batches of batch_size"""
    splits, what = pipeline(exercise, small_cats_and_dogs, image_size=(20, 16), batch_size=5)
    for split, split_data in splits.items():
        images, labels, sizes = read_all(split_data, f"{what}, the {split} split")
        total = 2 * PER_CLASS[split]
        expect(sum(sizes) == total, f"{what}: the {split} split should hold {total} images (one pass), got {sum(sizes)}.")
        expect(sizes[:-1] == [5] * (len(sizes) - 1) and sizes[0] == min(5, total),
               f"{what}: the {split} split should come in batches of 5, got batch sizes {sizes}.")
        first_images, first_labels = images[0], labels[0]
        expect(first_images.shape[1:] == (20, 16, 3) and first_images.dtype == np.float32,
               f"{what}: {split} images should be float32 (batch, 20, 16, 3), got {first_images.dtype} "
               f"{first_images.shape}." + ("\nLikely cause: image_size is (height, width)."
                                           if first_images.shape[1:3] == (16, 20) else ""))
        expect(first_labels.shape == (len(first_images), 1) and first_labels.dtype == np.float32,
               f"{what}: {split} labels should be float32 of shape (batch, 1), got {first_labels.dtype} "
               f"{first_labels.shape}.\nLikely cause: label_mode=\"binary\" gives float32 (batch, 1) labels for a "
               "sigmoid output; \"int\" gives int32 (batch,).")


@pytest.mark.points(1, task="make_datasets")
def test_pixels_scaled_to_unit_range(exercise, small_cats_and_dogs):
    """make_datasets rescales pixels to [0, 1] (the silhouettes' white is close to 1)"""
    splits, what = pipeline(exercise, small_cats_and_dogs)
    for split, split_data in splits.items():
        images = np.concatenate(read_all(split_data, f"{what}, the {split} split")[0])
        low, high = float(images.min()), float(images.max())
        cause = ""
        if high > 2:
            cause = "\nLikely cause: the pixels were not rescaled: map keras.layers.Rescaling(1 / 255) over the dataset."
        elif high < 0.1:
            cause = "\nLikely cause: rescaled twice (divided by 255 two times)."
        expect(low >= 0 and 0.5 < high <= 1, f"{what}: {split} pixels should lie in [0, 1] with white near 1, got "
                                             f"values from {low:g} to {high:g}.{cause}")


@pytest.mark.points(2, task="make_datasets")
def test_test_and_validation_in_file_order(exercise, small_cats_and_dogs):
    """validation and test are not shuffled: cats then dogs, each sorted by file name, the same on every pass"""
    splits, what = pipeline(exercise, small_cats_and_dogs)
    for split in ("test", "validation"):
        wanted_images, wanted_labels = expected_images(small_cats_and_dogs, split)
        n_cats = int((wanted_labels == 0).sum())
        for attempt in ("first", "second"):
            images, labels, _ = read_all(splits[split], f"{what}, the {split} split")
            images, labels = np.concatenate(images), np.concatenate(labels).reshape(-1)
            label_causes = [(1 - wanted_labels, "the labels are inverted: cats must be 0 and dogs 1 "
                                                "(class_names=[\"cats\", \"dogs\"]).")]
            if sorted(labels) == sorted(wanted_labels):
                label_causes.append((labels, f"the {split} split is shuffled: only train may be (shuffle=False)."))
            expect_close(labels, wanted_labels, what=f"{what}: the {split} labels ({attempt} pass)", rtol=0, atol=0,
                         likely_causes=label_causes)
            expect_close(images, wanted_images, what=f"{what}: the {split} images ({attempt} pass)", rtol=0, atol=2e-5,
                         likely_causes=[(images, order_cause(images, wanted_images, n_cats, split))])


def order_cause(images, wanted, n_cats, split):
    """Why a split's images differ from its files in file order (used only when they do)."""
    dogs_first = np.concatenate([wanted[n_cats:], wanted[:n_cats]])
    if images.shape == dogs_first.shape and np.allclose(images, dogs_first, atol=2e-5):
        return "the dogs come first: pass class_names=[\"cats\", \"dogs\"] so that cats come first and get label 0."
    if same_images_in_any_order(images, wanted):
        return f"the {split} images come in another order: only train may be shuffled (shuffle=False)."
    return (f"the {split} images are not the files as they are, only resized to image_size and scaled to "
            "[0, 1]. Augmentation (or any other change) does not belong in make_datasets.")


@pytest.mark.points(1, task="make_datasets")
def test_labels_cat_zero_dog_one(exercise, small_cats_and_dogs):
    """every training image carries its own class's label: cat = 0, dog = 1"""
    splits, what = pipeline(exercise, small_cats_and_dogs)
    wanted_images, wanted_labels = expected_images(small_cats_and_dogs, "train")
    images, labels, _ = read_all(splits["train"], f"{what}, the train split")
    images, labels = np.concatenate(images), np.concatenate(labels).reshape(-1)
    expect(len(images) == len(wanted_images), f"{what}: the train split should hold {len(wanted_images)} images, got {len(images)}.")
    inverted = 0
    for image, label in zip(images, labels):
        distances = np.abs(wanted_images - image).max(axis=(1, 2, 3))
        match = int(np.argmin(distances))
        expect(distances[match] < 1e-4, f"{what}: a training image matches none of the files in train/ (closest "
                                        f"differs by {distances[match]:.3g}); images should be the files, resized and "
                                        "scaled to [0, 1], not augmented here.")
        inverted += int(label != wanted_labels[match])
    expect(inverted == 0, f"{what}: {inverted} of {len(images)} training images carry the other class's label; "
                          "cats must be 0 and dogs 1."
                          + ("\nLikely cause: the labels are inverted: class_names=[\"cats\", \"dogs\"] puts cats first."
                             if inverted == len(images) else ""))


@pytest.mark.points(1, task="make_datasets")
def test_train_is_shuffled(exercise, small_cats_and_dogs):
    """the training split is shuffled, and holds every training file once"""
    splits, what = pipeline(exercise, small_cats_and_dogs)
    wanted_images, _ = expected_images(small_cats_and_dogs, "train")
    images, labels, _ = read_all(splits["train"], f"{what}, the train split")
    images, labels = np.concatenate(images), np.concatenate(labels).reshape(-1)
    expect(images.shape == wanted_images.shape, f"{what}: the train split should hold {len(wanted_images)} images "
                                                f"of shape {wanted_images.shape[1:]}, got {images.shape}.")
    expect(not np.allclose(images, wanted_images, atol=1e-4) and not (np.diff(labels) >= 0).all(),
           f"{what}: the train split comes in file order (all cats, then all dogs). Shuffle it (shuffle=True): "
           "batches of one class teach the model to swing from one answer to the other.")
    expect(same_images_in_any_order(images, wanted_images), f"{what}: one pass over train should show each training "
                                                            "file exactly once, resized and scaled to [0, 1].")


@pytest.mark.points(1, task="make_datasets")
def test_missing_folders_reported(exercise, small_cats_and_dogs, tmp_path):
    """make_datasets raises FileNotFoundError naming a missing class folder (validation/dogs) or split folder"""
    incomplete = tmp_path / "incomplete"
    shutil.copytree(small_cats_and_dogs, incomplete)
    shutil.rmtree(incomplete / "validation" / "dogs")
    error = expect_raises(FileNotFoundError, exercise.make_datasets, incomplete,
                          what="make_datasets(base without validation/dogs/)", why="the validation dogs are missing")
    expect("dogs" in str(error), f"the FileNotFoundError should name the missing folder validation/dogs; its message "
                                 f"was: {error}")
    shutil.rmtree(incomplete / "test")
    expect_raises(FileNotFoundError, exercise.make_datasets, incomplete, what="make_datasets(base without test/)",
                  why="the test split is missing")
