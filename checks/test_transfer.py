"""Exercise 5 checks: a pretrained convolutional base, frozen and fine-tuned.

VGG16 is built offline (``weights=None``, or a weights file these checks
write themselves) and run on a few tiny images only; the numeric checks of
feature extraction use the small embedded base of ``data.pretrained``.
"""

import os
import re
import socket

import keras
import numpy as np
import pytest
import tensorflow as tf

import data
from checks.harness import CheckFailure, expect, expect_array, expect_close
from checks.model_checks import expect_accuracy_metric, expect_model, model_layers
from data.pretrained import INPUT_SHAPE, LAYER_NAMES, load_pretrained_base, prepare_images


VGG16_PARAMETERS = 14_714_688
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_CONVOLUTIONS = tuple(
    f"block{block}_conv{i}" for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for i in range(1, count + 1)
)
VGG16_LAYERS = (
    "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
    "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool", "block4_conv1", "block4_conv2",
    "block4_conv3", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool",
)  # fmt: skip
# The checks that hand VGG16 to a learner's function build it at 32x32: its 14,714,688 weights are the same at
# every input size, a forward pass costs a twentieth of one at 150x150, and the model around it takes the base's
# input shape. Its output there is (1, 1, 512), so the chapter's head (Flatten, Dense 256, Dense 1) has
# 512 * 256 + 256 + 256 + 1 weights instead of the book's 2,097,665 at 150x150.
SMALL_INPUT = (32, 32, 3)
HEAD_PARAMETERS_SMALL_VGG16 = 512 * 256 + 256 + 256 + 1  # 131,585


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def vgg16(input_shape=SMALL_INPUT, judged=keras):
    """A fresh VGG16 base with random weights, built by Keras itself (never downloads), at 32x32 unless told.

    ``judged=exercise.judge.keras`` builds it in the grader's model process, where the model a learner's
    function returns around it lives too (so that it can hold this very base).
    """
    return judged.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)


def judged_base(exercise):
    """A new copy of the embedded pretrained base, in the grader's model process."""
    return exercise.judge.adopt(load_pretrained_base())


def hand_built_frozen_model(conv_base, judged=keras):
    """The chapter's frozen model, built here so that later tasks do not depend on yours."""
    conv_base.trainable = False
    model = judged.Sequential([
        judged.Input(shape=conv_base.input_shape[1:]),
        conv_base,
        judged.layers.Flatten(),
        judged.layers.Dense(256, activation="relu"),
        judged.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=judged.optimizers.RMSprop(learning_rate=2e-5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def animal_images(count):
    """The first ``count`` cats and dogs, interleaved, as the embedded base's input; labels float32."""
    images, labels = data.load_cats_and_dogs()
    order = np.stack([np.arange(count // 2 + 1), 1000 + np.arange(count // 2 + 1)], axis=1).ravel()[:count]
    return prepare_images(images[order]), labels[order].astype(np.float32)


def activation_name(layer):
    value = layer.get_config().get("activation")
    if isinstance(value, dict):
        value = value.get("config", {}).get("name", value.get("class_name"))
    return value


def expect_head(layers, expected, what):
    """Checks layer classes and settings: ``expected`` is ``[(class name, {key: value}), ...]``."""
    got = [layer.__class__.__name__ for layer in layers]
    wanted = [name for name, _ in expected]
    if got != wanted:
        cause = ""
        if got.count("Flatten") < wanted.count("Flatten"):
            cause = ("\nLikely cause: Flatten is missing. Without it the Dense layers act on every position of the "
                     "base's (4, 4, 512) output separately, and the model outputs a (4, 4, 1) map, not one probability.")
        elif got.count("Dropout") != wanted.count("Dropout"):
            cause = "\nLikely cause: the Dropout(0.5) layer is missing or extra; compare with the docstring."
        raise CheckFailure(f"{what}: expected the layers\n  {', '.join(wanted)}\ngot\n  {', '.join(got) or '(none)'}{cause}")
    for number, (layer, (name, settings)) in enumerate(zip(layers, expected), start=1):
        for key, value in settings.items():
            found = activation_name(layer) if key == "activation" else layer.get_config().get(key)
            if isinstance(value, float):
                same = isinstance(found, (int, float)) and np.isclose(found, value)
            else:
                same = found == value
            if not same:
                hint = ("\nLikely cause: no activation given; Dense layers are linear unless you pass activation=..."
                        if key == "activation" and found == "linear" else "")
                raise CheckFailure(f"{what}: layer {number} ({name}) should have {key}={value!r}, got {key}={found!r}.{hint}")


def metric_name(metric):
    if isinstance(metric, dict):
        return str(metric.get("config", {}).get("name", ""))
    return str(metric)


def loss_on(loss, y_true, y_pred):
    return float(np.mean(keras.ops.convert_to_numpy(keras.losses.get(loss)(y_true, y_pred))))


def expect_compiled_as(model, what, learning_rate, causes=()):
    """Checks RMSprop at ``learning_rate``, binary cross-entropy and an accuracy metric.

    ``causes`` are pairs ``(learning rate, explanation)`` of typical wrong rates.
    """
    expect(getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None,
           f"{what}: the model is not compiled. Call model.compile(optimizer=..., loss=\"binary_crossentropy\", "
           "metrics=[\"accuracy\"]) before returning it.")
    optimizer = model.optimizer
    expect(isinstance(optimizer, keras.optimizers.RMSprop),
           f"{what}: the optimizer should be keras.optimizers.RMSprop(learning_rate={learning_rate:g}), "
           f"got {optimizer.__class__.__name__}.")
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    if not np.isclose(rate, learning_rate, rtol=1e-3):
        cause = next((text for wrong, text in causes if np.isclose(rate, wrong, rtol=1e-3)), "")
        if np.isclose(rate, 1e-3, rtol=1e-3):
            cause = ("RMSprop's default learning rate (1e-3): pass learning_rate=... (in Keras 2 it was lr=...). "
                     "A pretrained base needs small steps.")
        raise CheckFailure(f"{what}: the learning rate should be {learning_rate:g}, got {rate:g}."
                           + (f"\nLikely cause: {cause}" if cause else ""))
    y_true = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
    y_pred = np.array([[0.1], [0.8], [0.35], [0.6]], np.float32)
    try:
        same_loss = np.isclose(loss_on(model.loss, y_true, y_pred), loss_on("binary_crossentropy", y_true, y_pred),
                               rtol=1e-4)
    except Exception:  # noqa: BLE001 - an unusable loss is a wrong loss
        same_loss = False
    expect(same_loss, f"{what}: the loss should be \"binary_crossentropy\" (one sigmoid output, labels 0 or 1), "
                      f"got loss={model.loss!r}.")
    expect_accuracy_metric(model, what, "binary")


def trainable_flags(model):
    return {layer.name: layer.trainable for layer in model.layers}


def outputs_of(base, images):
    """What ``base.predict(images)`` gives, as one direct call (no prediction loop to trace)."""
    return keras.ops.convert_to_numpy(base(images, training=False))


def weights_of(layers):
    return [np.array(w) for layer in layers for w in layer.get_weights()]


def expect_trainable_count(model, wanted, what, causes):
    """Checks the number of trainable weight tensors; ``causes`` maps wrong counts to explanations."""
    got = len(model.trainable_weights)
    if got != wanted:
        cause = causes.get(got, "")
        raise CheckFailure(f"{what}: expected {wanted} trainable weight tensors, got {got}."
                           + (f"\nLikely cause: {cause}" if cause else ""))


@pytest.fixture
def no_download(monkeypatch):
    """Records (and blocks) any attempt to download or open a network connection."""
    attempts = []

    def refuse_download(*args, **kwargs):
        attempts.append(f"keras.utils.get_file{args[:2]!r}")
        raise OSError("downloads are blocked during grading")

    def refuse_connection(self, address, *args, **kwargs):
        attempts.append(f"a network connection to {address!r}")
        raise OSError("the network is blocked during grading")

    from keras.src.utils import file_utils

    monkeypatch.setattr(file_utils, "get_file", refuse_download)
    monkeypatch.setattr(keras.utils, "get_file", refuse_download)
    monkeypatch.setattr(socket.socket, "connect", refuse_connection)
    return attempts


def expect_no_download(attempts, what):
    expect(not attempts, f"{what} tried to download ({attempts[0] if attempts else ''}). Nothing may download: "
                         "VGG16(weights='imagenet') downloads when the file is not cached, so find the cached file "
                         "yourself and pass its path.")


@pytest.fixture(scope="module")
def vgg16_weights_file(tmp_path_factory):
    """A VGG16 no-top weights file in the legacy .h5 format Keras caches, and its block1/block5 kernels."""
    from keras.src.legacy.saving import legacy_h5_format  # the format of Keras' cached application weights
    import h5py

    keras.utils.set_random_seed(20240605)
    base = vgg16()
    path = tmp_path_factory.mktemp("weights") / VGG16_NOTOP_FILE
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, base)
    kernels = {name: base.get_layer(name).get_weights()[0] for name in ("block1_conv1", "block5_conv3")}
    return path, kernels


def conv_base_of(exercise, weights_of=(), **kwargs):
    """``exercise.build_conv_base(**kwargs)``, whose model brings the weights of the layers ``weights_of`` only.

    The checks of build_conv_base read VGG16's layers, shapes and counts, and at most two layers' weights: its
    other 56 MB would cross two processes for nothing (they hold zeros in the judge).
    """
    return exercise.call("build_conv_base", options={"model_weights": list(weights_of)}, **kwargs)


def expect_loaded(model, kernels, what):
    if not isinstance(model, keras.Model):
        raise CheckFailure(f"{what} should return a keras.Model, got {model.__class__.__name__}.")
    for name, kernel in kernels.items():
        try:
            got = model.get_layer(name).get_weights()[0]
        except ValueError:
            raise CheckFailure(f"{what}: the model has no layer {name}; build keras.applications.VGG16.") from None
        expect(np.array_equal(got, kernel), f"{what}: layer {name} does not hold the weights of the file; "
                                            "pass the file's path as VGG16(weights=path).")


# --------------------------------------------------------------------------
# Task 1: build_conv_base
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="build_conv_base")
def test_conv_base_is_vgg16(exercise, no_download):
    """build_conv_base() is VGG16 without its top: 14,714,688 parameters, (4, 4, 512) at 150x150"""
    base = conv_base_of(exercise)
    expect_no_download(no_download, "build_conv_base()")
    expect(isinstance(base, keras.Model), f"build_conv_base() should return a keras.Model, got {base.__class__.__name__}.")
    names = tuple(layer.name for layer in model_layers(base))
    expect(names == VGG16_LAYERS, f"build_conv_base(): expected VGG16's layers\n  {', '.join(VGG16_LAYERS)}\ngot\n  "
                                  f"{', '.join(names)}\nUse keras.applications.VGG16(include_top=False, ...).")
    expect(tuple(base.output_shape) == (None, 4, 4, 512),
           f"build_conv_base(): the output should be (None, 4, 4, 512) at 150x150, got {base.output_shape}.")
    parameters = base.count_params()
    expect(parameters == VGG16_PARAMETERS,
           f"build_conv_base(): expected {VGG16_PARAMETERS:,} parameters, got {parameters:,}."
           + ("\nLikely cause: include_top=True keeps VGG16's 1000-class classifier." if parameters > VGG16_PARAMETERS else ""))
    expect(len(base.trainable_weights) == 26,
           f"build_conv_base(): all 13 convolutions should be trainable (26 weight tensors), got "
           f"{len(base.trainable_weights)}. Freezing is build_frozen_model's job.")
    small = conv_base_of(exercise, input_shape=(64, 64, 3))
    expect(isinstance(small, keras.Model) and tuple(small.output_shape) == (None, 2, 2, 512),
           "build_conv_base(input_shape=(64, 64, 3)): the output should be (None, 2, 2, 512), got "
           f"{getattr(small, 'output_shape', small)!r}. Pass input_shape on to VGG16.")


@pytest.mark.points(1, task="build_conv_base")
def test_imagenet_weights_missing_fail_fast(exercise, no_download, tmp_path, monkeypatch):
    """build_conv_base("imagenet") without a cached file fails at once, saying where to put it"""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    what = 'build_conv_base(weights="imagenet") with an empty Keras cache'
    try:
        result = exercise.build_conv_base(weights="imagenet", input_shape=(32, 32, 3))
    except (FileNotFoundError, ValueError) as error:
        message = str(error)
    except Exception as error:  # noqa: BLE001
        expect_no_download(no_download, what)
        raise CheckFailure(f"{what} should raise FileNotFoundError saying where to put {VGG16_NOTOP_FILE}, "
                           f"but raised {type(error).__name__}: {error}") from None
    else:
        expect_no_download(no_download, what)
        raise CheckFailure(f"{what} should raise FileNotFoundError, but returned {result.__class__.__name__}.")
    expect_no_download(no_download, what)
    folder = keras_home / "models"
    expect(VGG16_NOTOP_FILE in message and names_folder(message, folder, {"KERAS_HOME": str(keras_home)}),
           f"{what}: the error should name the missing file ({VGG16_NOTOP_FILE}) and the folder to put it in "
           f"({folder}, or $KERAS_HOME/models, as KERAS_HOME is set), got:\n  {message}")


def names_folder(message, folder, environment):
    """True if ``message`` names ``folder`` in any usual spelling.

    Judges the meaning, not the words: the folder as an absolute path (with or without a trailing slash, or
    with the file name after it), with an environment variable ($KERAS_HOME/models, ${KERAS_HOME}/models) or
    the home folder (~) standing for part of it, in quotes or brackets, followed by punctuation.
    """
    wanted = os.path.normpath(str(folder))
    for token in re.split(r"[\s'\"`()\[\]{}<>,;]+", message):
        token = token.rstrip(".:!?")
        if not token:
            continue
        for name, value in environment.items():
            token = token.replace(f"${{{name}}}", value).replace(f"${name}", value)
        token = os.path.normpath(os.path.expanduser(token))
        if token == wanted or os.path.dirname(token) == wanted:
            return True
    return False


@pytest.mark.points(2, task="build_conv_base")
def test_imagenet_weights_from_local_cache(exercise, no_download, vgg16_weights_file, tmp_path, monkeypatch):
    """build_conv_base("imagenet") loads the file from $KERAS_HOME/models, else from ~/.keras/models"""
    source, kernels = vgg16_weights_file
    keras_home, home = tmp_path / "keras_home", tmp_path / "home"
    (keras_home / "models").mkdir(parents=True)
    (home / ".keras" / "models").mkdir(parents=True)
    os.symlink(source, keras_home / "models" / VGG16_NOTOP_FILE)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("HOME", str(home))
    what = 'build_conv_base(weights="imagenet", input_shape=(32, 32, 3)) with the file in $KERAS_HOME/models'
    base = conv_base_of(exercise, kernels, weights="imagenet", input_shape=(32, 32, 3))
    expect_no_download(no_download, what)
    expect_loaded(base, kernels, what)

    (keras_home / "models" / VGG16_NOTOP_FILE).unlink()
    monkeypatch.delenv("KERAS_HOME")
    os.symlink(source, home / ".keras" / "models" / VGG16_NOTOP_FILE)
    what = 'build_conv_base(weights="imagenet", input_shape=(32, 32, 3)) with the file in ~/.keras/models'
    base = conv_base_of(exercise, kernels, weights="imagenet", input_shape=(32, 32, 3))
    expect_no_download(no_download, what)
    expect_loaded(base, kernels, what)


@pytest.mark.points(1, task="build_conv_base")
def test_weights_from_a_file_path(exercise, no_download, vgg16_weights_file, tmp_path):
    """build_conv_base(weights=path) loads that file; a missing file raises FileNotFoundError"""
    source, kernels = vgg16_weights_file
    for path in (str(source), source):
        what = f"build_conv_base(weights={type(path).__name__} path of a weights file, input_shape=(32, 32, 3))"
        base = conv_base_of(exercise, kernels, weights=path, input_shape=(32, 32, 3))
        expect_no_download(no_download, what)
        expect_loaded(base, kernels, what)
    missing = tmp_path / "no_such_weights.h5"
    what = f"build_conv_base(weights={str(missing)!r})"
    try:
        exercise.build_conv_base(weights=str(missing), input_shape=(32, 32, 3))
    except FileNotFoundError as error:
        expect(str(missing) in str(error), f"{what}: the FileNotFoundError should name the missing file, got: {error}")
    except Exception as error:  # noqa: BLE001
        raise CheckFailure(f"{what} should raise FileNotFoundError, got {type(error).__name__}: {error}") from None
    else:
        raise CheckFailure(f"{what} should raise FileNotFoundError: the file does not exist.")
    expect_no_download(no_download, what)


# --------------------------------------------------------------------------
# Task 2: extract_features
# --------------------------------------------------------------------------


def call_extract(exercise, base, dataset, what):
    """Calls extract_features and checks that it returns two NumPy arrays."""
    result = exercise.extract_features(base, dataset)
    expect(isinstance(result, (tuple, list)) and len(result) == 2,
           f"{what} should return a pair (features, labels), got {result.__class__.__name__}"
           f"{f' of length {len(result)}' if isinstance(result, (tuple, list)) else ''}.")
    features = expect_array(result[0], what=f"{what}, features")
    labels = expect_array(result[1], what=f"{what}, labels")
    return features, labels


@pytest.mark.points(2, task="extract_features")
def test_features_match_predict(exercise):
    """extract_features equals the base's own predict, every image kept, labels aligned"""
    base = load_pretrained_base()
    images, labels = animal_images(23)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(5)
    what = "extract_features(embedded base, 23 images in batches of 5)"
    features, got_labels = call_extract(exercise, base, dataset, what)
    expected = outputs_of(base, images)
    expect_close(features, expected, what=f"{what}, features", rtol=1e-4, atol=1e-5,
                 likely_causes=[(expected[:20], "the last batch (3 images, smaller than the others) was dropped.")],
                 shape_hint="one row per image (23), each of the base's output shape (3, 3, 128). A dataset's last "
                            "batch can be smaller than the others: keep it.")
    expect_close(got_labels, labels, what=f"{what}, labels", rtol=0, atol=0,
                 likely_causes=[(labels[:20], "the last batch's labels were dropped.")],
                 shape_hint="one label per image (23), as the dataset gives them.")


@pytest.mark.points(2, task="extract_features")
def test_features_one_pass_labels_aligned(exercise):
    """extract_features reads a shuffled dataset once, and each label stays with its own image"""
    base = load_pretrained_base()
    images, _ = animal_images(17)
    passes = []

    def shuffled_images():
        """A new order on every pass, as with dataset.shuffle(); the label is the image's index."""
        passes.append(len(passes))
        for index in np.random.default_rng(len(passes)).permutation(len(images)):
            yield images[index], np.float32(index)

    dataset = tf.data.Dataset.from_generator(
        shuffled_images,
        output_signature=(tf.TensorSpec((28, 28, 1), tf.float32), tf.TensorSpec((), tf.float32)),
    ).batch(4)
    what = "extract_features(embedded base, a dataset reshuffled on every pass, 17 images in batches of 4)"
    features, labels = call_extract(exercise, base, dataset, what)
    expect(len(passes) == 1, f"{what}: the dataset was read {len(passes)} times; read it exactly once. "
                             "A shuffled dataset comes out in a new order on each pass, so a second pass for the "
                             "labels would pair them with other images.")
    expect(features.shape[0] == 17 and labels.shape == (17,),
           f"{what}: expected 17 feature rows and 17 labels, got {features.shape[0]} and {labels.shape}.")
    expected = outputs_of(base, images)
    index = labels.astype(np.int64)
    expect(np.array_equal(np.sort(index), np.arange(17)), f"{what}: the labels are not the dataset's labels.")
    matches = [np.allclose(features[row], expected[index[row]], rtol=1e-4, atol=1e-5) for row in range(17)]
    expect(all(matches), f"{what}: {matches.count(False)} of 17 feature rows do not belong to the image their label "
                         "comes from. Keep each batch's features with that same batch's labels.")


@pytest.mark.points(1, task="extract_features")
def test_features_any_base_any_batches(exercise):
    """extract_features works with VGG16, any base output, batch size 1, one-hot labels and lists of batches"""
    rng = np.random.default_rng(0)
    # Four images in two equal batches: a smaller last batch would make VGG16's predict trace again (0.3 s);
    # the embedded base's cases and test_features_match_predict judge uneven batches.
    vgg_images = rng.uniform(0, 1, (4, *SMALL_INPUT)).astype(np.float32)
    flat_base = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 3),
                                  keras.layers.GlobalAveragePooling2D()])
    images, labels = animal_images(7)
    one_hot = np.eye(2, dtype=np.float32)[labels.astype(int)]
    cases = [
        ("VGG16 at 32x32, 4 images in batches of 2", vgg16(judged=exercise.judge.keras),
         tf.data.Dataset.from_tensor_slices((vgg_images, labels[:4])).batch(2), vgg_images, labels[:4]),
        ("a base ending in global pooling, one batch of 7", flat_base,
         tf.data.Dataset.from_tensor_slices((images, labels)).batch(7), images, labels),
        ("the embedded base, batches of 1, one-hot labels", load_pretrained_base(),
         tf.data.Dataset.from_tensor_slices((images, one_hot)).batch(1), images, one_hot),
        ("the embedded base, a list of (images, labels) NumPy batches", load_pretrained_base(),
         [(images[:4], labels[:4]), (images[4:], labels[4:])], images, labels),
    ]
    for description, base, dataset, x, y in cases:
        what = f"extract_features({description})"
        features, got_labels = call_extract(exercise, base, dataset, what)
        expect_close(features, outputs_of(base, x), what=f"{what}, features", rtol=1e-4, atol=1e-5,
                     shape_hint="one row per image, each shaped like the base's output without the batch axis.")
        expect_close(got_labels, y, what=f"{what}, labels", rtol=0, atol=0,
                     shape_hint="labels come back as the dataset gives them (one-hot rows stay rows).")


@pytest.mark.points(1, task="extract_features", timeout=10)
def test_features_reject_infinite_and_empty(exercise):
    """extract_features raises ValueError for an endless dataset (no hang) and for an empty one"""
    base = load_pretrained_base()
    images, labels = animal_images(4)
    endless = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2).repeat()
    empty = tf.data.Dataset.from_tensor_slices((images, labels)).take(0).batch(2)
    for dataset, what, why in (
        (endless, "extract_features(base, dataset.repeat())", "the dataset never ends (check is_infinite_dataset first)"),
        (empty, "extract_features(base, an empty dataset)", "there is no image to extract features from"),
    ):
        try:
            exercise.extract_features(base, dataset)
        except ValueError as error:
            expect(str(error).strip(), f"{what} raised ValueError with an empty message; say what was wrong.")
        except Exception as error:  # noqa: BLE001
            raise CheckFailure(f"{what} should raise ValueError because {why}, got {type(error).__name__}: {error}") from None
        else:
            raise CheckFailure(f"{what} should raise ValueError because {why}.")


# --------------------------------------------------------------------------
# Task 3: build_feature_classifier
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="build_feature_classifier")
def test_feature_classifier_layers(exercise):
    """build_feature_classifier: Dense 256 relu, Dropout 0.5, Dense 1 sigmoid on flat features"""
    for input_dim in (4 * 4 * 512, 3 * 3 * 128):
        what = f"build_feature_classifier({input_dim})"
        model = expect_model(exercise.build_feature_classifier(input_dim), what, (input_dim,))
        expect_head(model_layers(model), [
            ("Dense", {"units": 256, "activation": "relu"}),
            ("Dropout", {"rate": 0.5}),
            ("Dense", {"units": 1, "activation": "sigmoid"}),
        ], what)
        expect(tuple(model.input_shape) == (None, input_dim) and tuple(model.output_shape) == (None, 1),
               f"{what}: expected input (None, {input_dim}) and output (None, 1), got {model.input_shape} and "
               f"{model.output_shape}.")
        wanted = input_dim * 256 + 256 + 257
        expect(model.count_params() == wanted, f"{what}: expected {wanted:,} parameters, got {model.count_params():,}.")


@pytest.mark.points(1, task="build_feature_classifier")
def test_feature_classifier_compiled(exercise):
    """build_feature_classifier compiles with RMSprop(2e-5) and rejects a bad input_dim"""
    model = exercise.build_feature_classifier(8192)
    expect_compiled_as(model, "build_feature_classifier(8192)", 2e-5,
                       causes=[(1e-5, "1e-5 is the fine-tuning rate; the classifier on features uses 2e-5."),
                               (1e-4, "1e-4 is the from-scratch convnet's rate; the chapter uses 2e-5 here.")])
    for bad in (0, -3, 2.5, "8192"):
        try:
            exercise.build_feature_classifier(bad)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001
            raise CheckFailure(f"build_feature_classifier({bad!r}) should raise ValueError (input_dim must be a "
                               f"positive int), got {type(error).__name__}: {error}") from None
        raise CheckFailure(f"build_feature_classifier({bad!r}) should raise ValueError: input_dim must be a positive int.")


# --------------------------------------------------------------------------
# Task 4: build_frozen_model
# --------------------------------------------------------------------------


FREEZE_CAUSES = {
    30: "the base is not frozen: set conv_base.trainable = False (or freeze each of its layers).",
    0: "the whole model is frozen, head included: freeze the base (conv_base.trainable = False), not the model.",
}


def holds_the_base(model, base):
    """True if the model computes with conv_base's own weight variables (the base itself, not a copy).

    Judged by what the model holds, not by how it was written: ``conv_base`` in a Sequential, called on a
    functional model's input, or its layers spliced in through ``conv_base.output`` all hold the base's own
    variables; a clone or a rebuilt VGG16 holds variables of its own.
    """
    held = {id(variable) for variable in model.weights}
    return bool(base.weights) and all(id(variable) in held for variable in base.weights)


def layers_beside(model, base):
    """Every layer the model holds besides conv_base and the base's layers, depth first.

    Nested models (a head written as its own Sequential) are listed and opened.
    """
    of_base = {id(base)} | {id(layer) for layer in base.layers}

    def walk(container):
        for layer in container.layers:
            if id(layer) in of_base:
                continue
            yield layer
            if isinstance(layer, keras.Model):
                yield from walk(layer)

    return list(walk(model))


def head_layers(model, base):
    """The layers the model adds to the base, in order: not the base, not its layers, no Input layer.

    Nested models (a head written as its own Sequential) are opened, so the head is judged by its layers.
    """
    return [layer for layer in layers_beside(model, base)
            if not isinstance(layer, keras.Model) and layer.__class__.__name__ != "InputLayer"]


def copy_of(model, base):
    """True if the model holds layers named like the base's convolutions but not the base's own (a clone or a rebuilt VGG16)."""
    wanted = {layer.name for layer in base.layers if layer.weights}
    return bool(wanted) and wanted <= {layer.name for layer in layers_beside(model, base)}


def expect_holds_the_base(model, base, what):
    if holds_the_base(model, base):
        return
    raise CheckFailure(
        f"{what}: the model does not compute with conv_base's own weights; it holds "
        + ("a copy of the base (a clone, or a VGG16 built again).\nLikely cause: the base was cloned or rebuilt. "
           if copy_of(model, base) else "no layer of conv_base.\n")
        + "Use conv_base itself: keras.Sequential([keras.Input(...), conv_base, ...]), or x = conv_base(inputs) in "
        "a functional model. Freezing and unfreezing conv_base then changes what the model trains.")


@pytest.mark.points(2, task="build_frozen_model")
def test_frozen_model_layers(exercise):
    """build_frozen_model(VGG16): conv_base itself, then Flatten, Dense 256 relu, Dense 1 sigmoid; one probability out

    Judged by what the model is: it computes with the base's own weights (Sequential or functional, the base
    used as a layer or through ``conv_base.output``), its added layers are the chapter's head (the head's layers
    are the lesson), and on an image it outputs exactly head(conv_base(image)).
    """
    base = vgg16(judged=exercise.judge.keras)
    what = "build_frozen_model(VGG16 base at 32x32)"
    model = expect_model(exercise.build_frozen_model(base), what, SMALL_INPUT)
    expect_holds_the_base(model, base, what)
    head = head_layers(model, base)
    expect_head(head, [
        ("Flatten", {}),
        ("Dense", {"units": 256, "activation": "relu"}),
        ("Dense", {"units": 1, "activation": "sigmoid"}),
    ], what)
    expect(tuple(model.output_shape) == (None, 1), f"{what}: the output should be (None, 1), got {model.output_shape}.")
    total = VGG16_PARAMETERS + HEAD_PARAMETERS_SMALL_VGG16
    expect(model.count_params() == total, f"{what}: expected {total:,} parameters, got {model.count_params():,}.")
    image = np.random.default_rng(8).uniform(0, 1, (1, *SMALL_INPUT)).astype(np.float32)
    expected = base(image, training=False)
    for layer in head:
        expected = layer(expected, training=False)
    got = keras.ops.convert_to_numpy(model(image, training=False))
    # The same float32 layers on the same image: only the order of summation may differ, far below 1e-5 on a
    # probability; a head wired elsewhere (on the input, or skipping the base) is off by much more.
    expect_close(got, keras.ops.convert_to_numpy(expected), what=f"{what}, its output on one image", rtol=1e-4,
                 atol=1e-5, shape_hint="one probability per image, (1, 1).")


@pytest.mark.points(2, task="build_frozen_model")
def test_frozen_model_trains_only_the_head(exercise):
    """build_frozen_model(VGG16) freezes the base only: 4 trainable weight tensors (30 with the base unfrozen)"""
    base = vgg16(judged=exercise.judge.keras)
    what = "build_frozen_model(VGG16 base at 32x32)"
    model = expect_model(exercise.build_frozen_model(base), what, SMALL_INPUT)
    expect_trainable_count(model, 4, what, FREEZE_CAUSES)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    expect(trainable == HEAD_PARAMETERS_SMALL_VGG16,
           f"{what}: expected {HEAD_PARAMETERS_SMALL_VGG16:,} trainable parameters (the head), got {trainable:,}.")
    # Judged by what training would update (the trainable weights), not by the flag conv_base.trainable:
    # freezing the base as a whole and freezing each of its layers train exactly the same weights.
    base.trainable = True
    for layer in model_layers(base):
        layer.trainable = True
    expect_trainable_count(model, 30, f"{what}, then every layer of conv_base made trainable again", {
        4: "the model holds a copy of the base, not conv_base itself: unfreezing conv_base changes nothing it "
           "trains. Use conv_base itself (in a Sequential, or x = conv_base(inputs))."})


@pytest.mark.points(1, task="build_frozen_model")
def test_frozen_model_compiled(exercise):
    """build_frozen_model compiles with RMSprop(2e-5), binary cross-entropy and accuracy"""
    model = exercise.build_frozen_model(judged_base(exercise))
    expect_compiled_as(model, "build_frozen_model(embedded base)", 2e-5,
                       causes=[(1e-5, "1e-5 is for fine-tuning; the frozen model trains its head at 2e-5."),
                               (1e-4, "1e-4 is the from-scratch rate; the chapter uses 2e-5 here.")])


@pytest.mark.points(2, task="build_frozen_model")
def test_frozen_base_unchanged_by_training(exercise):
    """A training step on the frozen model leaves the base's weights bit-identical and moves the head"""
    base = judged_base(exercise)
    before = weights_of([base])
    what = "build_frozen_model(embedded base), then model.fit on 4 images"
    model = expect_model(exercise.build_frozen_model(base), what, INPUT_SHAPE)
    head_before = weights_of(head_layers(model, base))
    x, y = animal_images(4)
    model.run_eagerly = True  # one step on a fresh model trains the same weights as a traced one, without tracing
    try:
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    except Exception as error:  # noqa: BLE001
        raise CheckFailure(f"{what}: fit failed: {type(error).__name__}: {error}") from None
    changed = [not np.array_equal(a, b) for a, b in zip(before, weights_of([base]))]
    expect(not any(changed), f"{what}: {sum(changed)} of the base's {len(changed)} weight tensors changed. "
                             "Freeze the base (conv_base.trainable = False) before the model first trains.")
    expect(any(not np.array_equal(a, b) for a, b in zip(head_before, weights_of(head_layers(model, base)))),
           f"{what}: the head's weights did not change either; only the base should be frozen.")


# --------------------------------------------------------------------------
# Task 5: unfreeze_from
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="unfreeze_from")
def test_unfreeze_block5_of_vgg16(exercise):
    """unfreeze_from(VGG16, "block5_conv1") makes block 5 trainable, the rest frozen: 10 trainable weights"""
    base = vgg16(judged=exercise.judge.keras)
    model = hand_built_frozen_model(base, exercise.judge.keras)
    what = 'unfreeze_from(frozen VGG16 base, "block5_conv1")'
    names = exercise.unfreeze_from(base, "block5_conv1")
    wanted = ["block5_conv1", "block5_conv2", "block5_conv3", "block5_pool"]
    expect_trainable_count(model, 10, f"{what}, then the frozen model", {
        8: "the unfreezing starts one layer late: block5_conv1 itself must become trainable.",
        4: "no layer of the base became trainable: set layer.trainable = True from layer_name on.",
        30: "nothing was frozen again: the layers before layer_name need trainable = False.",
        12: "the unfreezing starts one layer early: the layer before block5_conv1 must stay frozen.",
    })
    # Judged on the layers that hold weights: a pooling layer's flag changes nothing that training does.
    wrong = [layer.name for layer in model_layers(base) if layer.weights and layer.trainable != (layer.name in wanted)]
    expect(not wrong, f"{what}: training would update the wrong layers: {', '.join(wrong)} "
                      f"{'is' if len(wrong) == 1 else 'are'} the wrong way round. Layers before block5_conv1 are "
                      "frozen, block5_conv1 and every layer after it are trainable.")
    expect(isinstance(names, (list, tuple)) and list(names) == wanted,
           f"{what} should return the names of the now-trainable layers, {wanted}, got {names!r}.")
    base.trainable = False  # the same base, frozen again as the frozen model first had it
    exercise.unfreeze_from(base)
    expect_trainable_count(model, 10, "unfreeze_from(frozen VGG16 base) with the default layer_name", {
        8: "the unfreezing starts one layer late.", 4: "the default layer_name should be \"block5_conv1\"."})


@pytest.mark.points(1, task="unfreeze_from")
def test_unfreeze_any_layer_of_any_base(exercise):
    """unfreeze_from works from any layer of the embedded base"""
    for start in range(1, len(LAYER_NAMES)):
        base = load_pretrained_base()
        base.trainable = False
        name = LAYER_NAMES[start]
        what = f"unfreeze_from(frozen embedded base, {name!r})"
        names = exercise.unfreeze_from(base, name)
        # The flags of the layers that hold weights (those training would update or not); a pooling or input
        # layer's flag changes nothing, so it is not judged here (the returned names are, below).
        weighted = [i for i, layer in enumerate(base.layers) if layer.weights]
        flags = {LAYER_NAMES[i]: base.layers[i].trainable for i in weighted}
        wanted = {LAYER_NAMES[i]: i >= start for i in weighted}
        expect(flags == wanted, f"{what}: the trainable flags of the layers with weights should be {wanted}, got {flags}.")
        wanted_weights = sum(len(layer.weights) for layer in base.layers[start:])
        expect(len(base.trainable_weights) == wanted_weights,
               f"{what}: training would update {len(base.trainable_weights)} weight tensors of the base, expected "
               f"{wanted_weights} (those of {name} and the layers after it)."
               + ("\nLikely cause: conv_base.trainable is still False. Set it to True first: while it is False, "
                  "conv_base.trainable_weights stays empty." if not base.trainable else ""))
        expect(isinstance(names, (list, tuple)) and list(names) == list(LAYER_NAMES[start:]),
               f"{what} should return {list(LAYER_NAMES[start:])}, got {names!r}.")


@pytest.mark.points(1, task="unfreeze_from")
def test_unfreeze_unknown_layer(exercise):
    """unfreeze_from with an unknown layer name raises ValueError naming the valid ones, changing nothing"""
    base = vgg16(judged=exercise.judge.keras)
    base.trainable = False
    before = trainable_flags(base)
    what = 'unfreeze_from(VGG16 base, "block6_conv1")'
    try:
        exercise.unfreeze_from(base, "block6_conv1")
    except ValueError as error:
        message = str(error)
    except Exception as error:  # noqa: BLE001
        raise CheckFailure(f"{what} should raise ValueError (there is no such layer), got "
                           f"{type(error).__name__}: {error}") from None
    else:
        raise CheckFailure(f"{what} should raise ValueError: VGG16 has no layer block6_conv1, and silently "
                           "unfreezing nothing (or everything) hides the typo.")
    expect("block1_conv1" in message and "block5_conv3" in message,
           f"{what}: the error message should list the valid layer names (e.g. block5_conv1), got:\n  {message}")
    expect(trainable_flags(base) == before and not base.trainable,
           f"{what}: the base's trainable flags changed before the error; check the name first.")


# --------------------------------------------------------------------------
# Task 6: compile_for_fine_tuning
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="compile_for_fine_tuning")
def test_fine_tuning_compiled(exercise):
    """compile_for_fine_tuning returns the same model, compiled with RMSprop(1e-5)"""
    model = hand_built_frozen_model(judged_base(exercise), exercise.judge.keras)
    result = exercise.compile_for_fine_tuning(model)
    expect(result is model, f"compile_for_fine_tuning(model) should return the model it was given, got "
                            f"{result.__class__.__name__}.")
    expect_compiled_as(model, "compile_for_fine_tuning(model)", 1e-5,
                       causes=[(2e-5, "2e-5 is the feature-extraction rate; fine-tuning goes lower still, to 1e-5."),
                               (1e-4, "1e-4 is ten times too high: large steps wreck the pretrained features.")])


@pytest.mark.points(2, task="compile_for_fine_tuning")
def test_fine_tuning_trains_the_unfrozen_block(exercise):
    """After unfreezing and compile_for_fine_tuning, a training step moves block 3 and leaves blocks 1-2 as they were"""
    base = judged_base(exercise)
    model = hand_built_frozen_model(base, exercise.judge.keras)
    images, labels = animal_images(8)
    model.run_eagerly = True  # the same steps as traced ones, without tracing
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)  # the optimizer now knows the frozen model's weights
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block3")
    frozen_before = weights_of([base.get_layer("block1_conv1"), base.get_layer("block2_conv1")])
    unfrozen_before = weights_of([base.get_layer("block3_conv1"), base.get_layer("block3_conv2")])
    what = "model trained frozen, block 3 unfrozen, compile_for_fine_tuning(model), then model.fit on 8 images"
    exercise.compile_for_fine_tuning(model)
    model.run_eagerly = True
    try:
        model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    except Exception as error:  # noqa: BLE001
        if "Unknown variable" in str(error):  # Keras' optimizer meets weights it was not built for
            raise CheckFailure(f"{what}: fit failed: the optimizer of the frozen model does not know block 3's "
                               "weights. Compile again, with a new optimizer (optimizer=keras.optimizers.RMSprop("
                               "learning_rate=1e-5)): Keras picks the weights to train when the model is compiled, "
                               "and an optimizer that has trained knows only the weights it was built for.") from None
        raise CheckFailure(f"{what}: fit failed: {type(error).__name__}: {error}") from None
    moved = [not np.array_equal(a, b) for a, b in
             zip(unfrozen_before, weights_of([base.get_layer("block3_conv1"), base.get_layer("block3_conv2")]))]
    expect(all(moved), f"{what}: block 3's weights did not change. Call model.compile(...) again: Keras picks the "
                       "weights to train when the model is compiled, so a changed trainable flag needs a new compile.")
    still = [np.array_equal(a, b) for a, b in
             zip(frozen_before, weights_of([base.get_layer("block1_conv1"), base.get_layer("block2_conv1")]))]
    expect(all(still), f"{what}: the frozen blocks 1-2 changed; compile_for_fine_tuning must not unfreeze anything.")
