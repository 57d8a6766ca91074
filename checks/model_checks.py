"""Checks of Keras models a learner built: layers, configs, parameters and compilation.

Shared by the checks of the exercises that build models (mnist, convnet,
transfer). Every helper fails with a ``CheckFailure`` worded for the learner.
"""

import keras
import numpy as np

from checks.harness import CheckFailure, expect


def expect_model(model, what, input_shape):
    """Checks that ``model`` is a Keras model and builds it for ``input_shape`` if needed."""
    if not isinstance(model, keras.Model):
        raise CheckFailure(f"{what} should return a keras.Model (e.g. a keras.Sequential), got {model.__class__.__name__}.")
    if not model.built:
        try:
            model(np.zeros((1, *input_shape), np.float32))
        except Exception as error:  # noqa: BLE001
            raise CheckFailure(f"{what}: the model could not take a batch of shape {(1, *input_shape)}: "
                               f"{type(error).__name__}: {error}") from None
    return model


def model_layers(model):
    """The model's layers without its Input layer."""
    return [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]


def layer_output_shapes(model, input_shape):
    """Each layer's output shape without the batch axis, found by running one zero image through."""
    x = np.zeros((1, *input_shape), np.float32)
    shapes = []
    for layer in model_layers(model):
        x = layer(x, training=False)
        shapes.append(tuple(int(d) for d in x.shape[1:]))
    return shapes


def config_value(layer, key):
    value = layer.get_config().get(key)
    if isinstance(value, list):
        value = tuple(value)
    if key == "activation" and isinstance(value, dict):  # an activation passed as an object
        value = value.get("config", {}).get("name", value.get("class_name"))
    return value


LAYERS_ARE_THE_LESSON = ("\n(The layer table is what this exercise teaches: compare model.summary() with the docstring's table. "
                         "How the model is written, Sequential, add() or functional, is not judged.)")


def expect_layer_configs(layers, expected_layers, what):
    """Checks each layer's class and the config values listed in ``expected_layers``.

    Form on purpose: the chapter's architecture, layer by layer, is the lesson of the exercises that use it,
    and the failure message says so. How the model is written is not judged (``layers`` come from any model).
    """
    got_classes = [layer.__class__.__name__ for layer in layers]
    wanted_classes = [name for name, _, _ in expected_layers]
    if got_classes != wanted_classes:
        raise CheckFailure(
            f"{what}: expected the layers\n  {', '.join(wanted_classes)}\ngot\n  {', '.join(got_classes) or '(none)'}"
            + layer_sequence_cause(got_classes, wanted_classes) + LAYERS_ARE_THE_LESSON
        )
    for number, (layer, (name, config, _)) in enumerate(zip(layers, expected_layers), start=1):
        for key, wanted in config.items():
            got = config_value(layer, key)
            if got != wanted:
                raise CheckFailure(
                    f"{what}: layer {number} ({name}) should have {key}={wanted!r}, got {key}={got!r}."
                    + config_cause(name, key, wanted, got, number == len(expected_layers)) + LAYERS_ARE_THE_LESSON
                )


def layer_sequence_cause(got, wanted):
    for kind in ("MaxPooling2D", "Conv2D", "Dense", "Flatten", "Dropout"):
        if got.count(kind) < wanted.count(kind):
            return f"\nLikely cause: a {kind} layer is missing."
        if got.count(kind) > wanted.count(kind):
            return f"\nLikely cause: one {kind} layer too many."
    return "\nLikely cause: the layers are in the wrong order."


def config_cause(name, key, wanted, got, is_output):
    if key == "activation" and is_output and wanted == "softmax" and got == "sigmoid":
        return ("\nLikely cause: sigmoid scores each class on its own; ten exclusive classes need softmax, "
                "whose outputs are probabilities that sum to 1.")
    if key == "activation" and got == "linear":
        return "\nLikely cause: no activation given; Keras layers are linear unless you pass activation=..."
    if key == "kernel_size" and got == (2, 2):
        return "\nLikely cause: the convolution windows are 3x3 and the pooling windows 2x2."
    return ""


def expect_parameter_count(model, wanted, what):
    got = model.count_params()
    expect(got == wanted, f"{what}: expected {wanted:,} parameters, got {got:,}. Compare model.summary() "
                          "with the layer table in the exercise's docstring.")


def expect_compiled(model, what):
    expect(getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None,
           f"{what}: the model is not compiled. Call model.compile(optimizer=..., loss=..., metrics=[\"accuracy\"]) "
           "before returning it.")


def loss_value(loss, y_true, y_pred):
    """The mean loss of a compiled model's ``loss`` setting on one batch."""
    function = keras.losses.get(loss)
    return float(np.mean(keras.ops.convert_to_numpy(function(y_true, y_pred))))


def expect_loss(model, what, reference_name, y_true, y_pred, causes):
    """Checks the model's loss numerically: strings, functions and Loss objects all work."""
    expect_compiled(model, what)
    if model.loss is None or isinstance(model.loss, (dict, list, tuple)):
        raise CheckFailure(f"{what}: the model should be compiled with loss=\"{reference_name}\", got loss={model.loss!r}.")
    expected = loss_value(reference_name, y_true, y_pred)
    try:
        got = loss_value(model.loss, y_true, y_pred)
    except Exception as error:  # noqa: BLE001
        sparse = "sparse" in str(model.loss)
        raise CheckFailure(f"{what}: the model's loss {model.loss!r} fails on the labels this model is trained with "
                           f"({type(error).__name__}). Use loss=\"{reference_name}\"."
                           + ("\nLikely cause: sparse_categorical_crossentropy takes integer labels; the labels here "
                              "are one-hot rows (preprocess_labels), which need categorical_crossentropy." if sparse else "")
                           ) from None
    if not np.isclose(got, expected, rtol=1e-4, atol=1e-6):
        cause = next((text for name, text in causes if np.isclose(got, loss_value(name, y_true, y_pred), rtol=1e-4)), "")
        raise CheckFailure(f"{what}: the model's loss {model.loss!r} gives {got:.5f} on a test batch where "
                           f"{reference_name} gives {expected:.5f}. Use loss=\"{reference_name}\"."
                           + (f"\nLikely cause: {cause}" if cause else ""))


def metric_name(metric):
    """A compiled metric's name: a string as given, or the name in a metric object's config."""
    if isinstance(metric, dict):
        return str(metric.get("config", {}).get("name", ""))
    return str(metric)


def accuracy_batches(kind):
    """Two batches ``(y_true, y_pred, accuracy)`` whose accuracy is known, for ``kind`` "categorical" or "binary".

    "categorical": one-hot labels and softmax-like rows over 10 classes, 4 of 8
    and 3 of 8 rows right. "binary": labels (n, 1) of 0 or 1 and one sigmoid
    unit, 4 of 8 and 6 of 8 right. Every prediction is far from 0.5 and from
    ties, so any metric that measures accuracy for that output reports exactly
    these values, and the usual wrong ones do not (a binary accuracy on the ten
    outputs reports 0.9 and 0.875; a categorical accuracy on one unit, 1.0).
    """
    if kind == "categorical":
        labels = np.array([0, 1, 2, 3, 4, 5, 6, 7])
        batches = []
        for guesses in ([0, 1, 2, 3, 5, 6, 7, 8], [0, 1, 2, 4, 5, 6, 7, 9]):
            y_pred = np.full((8, 10), 0.01, np.float32)
            y_pred[np.arange(8), guesses] = 0.91
            batches.append((np.eye(10, dtype=np.float32)[labels], y_pred,
                            float(np.mean(labels == np.array(guesses)))))
        return batches
    y_true = np.array([[0], [1], [1], [0], [1], [0], [1], [0]], np.float32)
    return [(y_true, np.array([[0.1], [0.9], [0.2], [0.8], [0.95], [0.7], [0.3], [0.05]], np.float32), 0.5),
            (y_true, np.array([[0.1], [0.9], [0.2], [0.3], [0.95], [0.7], [0.8], [0.05]], np.float32), 0.75)]


ACCURACY_CAUSES = {
    "categorical": ("a binary accuracy (\"binary_accuracy\") compares each of the ten outputs with 0.5 on its own, "
                    "so an untrained model already scores 0.9; with one-hot labels use metrics=[\"accuracy\"] "
                    "(Keras picks the categorical accuracy for a softmax output)."),
    "binary": ("a categorical accuracy takes the argmax over the outputs, and over one sigmoid unit that is always "
               "unit 0, so it reports 1.0 (or 0.0) whatever the model predicts; use metrics=[\"accuracy\"] or "
               "\"binary_accuracy\"."),
}


def compiled_metric_values(model, y_true, y_pred):
    """The values the model's compiled metrics report on one batch (the loss left out)."""
    model.reset_metrics()
    try:
        results = model.compute_metrics(None, y_true, y_pred)
    finally:
        model.reset_metrics()
    return {name: float(keras.ops.convert_to_numpy(value)) for name, value in results.items() if name != "loss"}


def expect_accuracy_metric(model, what, kind="categorical"):
    """Checks that one of the compiled metrics measures accuracy for this output, by evaluating it.

    Any name or object passes ("accuracy", "acc", CategoricalAccuracy(),
    BinaryAccuracy(), ...) as long as it reports the right accuracy on two
    batches whose accuracy is known; a metric that does not fit the output
    (``kind`` "categorical": ten softmax outputs with one-hot labels; "binary":
    one sigmoid unit with labels 0 or 1) reports other values and fails.
    """
    config = (model.get_compile_config() or {}) if getattr(model, "compiled", False) else {}
    metrics = config.get("metrics") or []
    metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
    names = [metric_name(metric) for metric in metrics]
    expect(bool(metrics), f"{what}: the model should be compiled with metrics=[\"accuracy\"], got no metrics.")
    reported = []
    right = None
    for y_true, y_pred, accuracy in accuracy_batches(kind):
        try:
            values = compiled_metric_values(model, y_true, y_pred)
        except Exception as error:  # noqa: BLE001 - a metric that cannot take these labels is the wrong one
            raise CheckFailure(f"{what}: the compiled metrics {names} fail on a batch of labels and predictions of "
                               f"this model's shape ({type(error).__name__}). Use metrics=[\"accuracy\"]."
                               + ("\nLikely cause: a sparse accuracy takes integer labels; the labels here are "
                                  "one-hot rows." if any("sparse" in name for name in names) else "")) from None
        fits = {name for name, value in values.items() if np.isclose(value, accuracy, atol=1e-4)}
        right = fits if right is None else right & fits
        reported.append((accuracy, values))
    if not right:
        shown = "; ".join(f"where the accuracy is {accuracy:g} they report "
                          + (", ".join(f"{name}={value:.4g}" for name, value in values.items()) or "nothing")
                          for accuracy, values in reported)
        raise CheckFailure(f"{what}: no compiled metric measures accuracy for this model's output: on two batches "
                           f"of predictions {shown}. Got metrics={names!r}.\nLikely cause: {ACCURACY_CAUSES[kind]}")
