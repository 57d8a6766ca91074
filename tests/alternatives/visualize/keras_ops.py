"""Exercise 7 written with keras.ops (backend-neutral maths), vectorised, gradients from a persistent-free tape."""

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from keras import ops


def build_activation_model(model, layer_names=None):
    by_name = {layer.name: layer for layer in model.layers}
    if layer_names is None:
        chosen = [layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "MaxPooling2D")]
    else:
        unknown = [name for name in layer_names if name not in by_name]
        if unknown:
            raise ValueError(f"unknown layers: {unknown}")
        chosen = [by_name[name] for name in layer_names]
    if not chosen:
        raise ValueError("nothing to show")
    return keras.Model(model.inputs[0], [layer.output for layer in chosen])


def feature_map_grid(activation, images_per_row=16):
    activation = ops.convert_to_tensor(activation, dtype="float32")
    if len(activation.shape) != 4 or activation.shape[0] != 1:
        raise ValueError(f"expected (1, H, W, C), got {tuple(activation.shape)}")
    if isinstance(images_per_row, bool) or not isinstance(images_per_row, int) or images_per_row < 1:
        raise ValueError("images_per_row must be >= 1")
    maps = activation[0]
    mean = ops.mean(maps, axis=(0, 1), keepdims=True)
    std = ops.std(maps, axis=(0, 1), keepdims=True)
    tiles = ops.clip((maps - mean) / (std + 1e-5) * 64 + 128, 0, 255)
    tiles = ops.convert_to_numpy(ops.cast(tiles, "uint8"))
    h, w, c = tiles.shape
    rows = -(-c // images_per_row)
    padded = np.zeros((h, w, rows * images_per_row), np.uint8)
    padded[..., :c] = tiles
    # (h, w, rows, per_row) -> (rows, h, per_row, w) -> (rows * h, per_row * w)
    grid = padded.reshape(h, w, rows, images_per_row).transpose(2, 0, 3, 1)
    return grid.reshape(rows * h, images_per_row * w)


def deprocess_image(x):
    x = ops.convert_to_tensor(np.asarray(x), dtype="float32")
    if ops.size(x) == 0 or not bool(ops.all(ops.isfinite(x))):
        raise ValueError("deprocess_image needs finite values")
    x = (x - ops.mean(x)) / (ops.std(x) + 1e-5)
    x = ops.clip(x * 0.1 + 0.5, 0, 1) * 255
    return ops.convert_to_numpy(ops.cast(x, "uint8"))


def generate_filter_pattern(model, layer_name, filter_index, size=64, steps=40, step_size=1.0, seed=0):
    if layer_name not in [layer.name for layer in model.layers]:
        raise ValueError(f"unknown layer {layer_name}")
    layer = model.get_layer(layer_name)
    if not 0 <= filter_index < layer.output.shape[-1]:
        raise ValueError("no such filter")
    if size < 1 or steps < 0:
        raise ValueError("size must be >= 1 and steps >= 0")
    extractor = keras.Model(model.inputs[0], layer.output)
    channels = model.inputs[0].shape[-1]
    image = ops.convert_to_tensor(
        np.random.default_rng(seed).uniform(0.4, 0.6, (1, size, size, channels)), dtype="float32")

    def loss_fn(img):
        return ops.mean(extractor(img)[..., filter_index])

    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = loss_fn(image)
        grads = tape.gradient(loss, image)
        grads = grads / ops.sqrt(ops.maximum(ops.sum(ops.square(grads)), 1e-12))
        image = image + step_size * grads
    return deprocess_image(ops.convert_to_numpy(image)[0])


def _relu_and_scale(heatmap):
    heatmap = ops.relu(heatmap)
    peak = ops.max(heatmap)
    heatmap = ops.where(peak > 0, heatmap / ops.maximum(peak, 1e-30), ops.zeros_like(heatmap))
    return ops.convert_to_numpy(heatmap).astype("float32")


def class_activation_map(feature_maps, class_weights):
    maps = ops.convert_to_tensor(np.asarray(feature_maps), dtype="float32")
    if len(maps.shape) == 4 and maps.shape[0] == 1:
        maps = ops.squeeze(maps, axis=0)
    weights = ops.convert_to_tensor(np.asarray(class_weights), dtype="float32")
    if len(maps.shape) != 3 or tuple(weights.shape) != (maps.shape[-1],):
        raise ValueError(f"maps {tuple(maps.shape)} and weights {tuple(weights.shape)} do not fit")
    return _relu_and_scale(ops.tensordot(maps, weights, axes=1))


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    if last_conv_layer_name not in [layer.name for layer in model.layers]:
        raise ValueError(f"unknown layer {last_conv_layer_name}")
    x = ops.convert_to_tensor(np.asarray(image), dtype="float32")
    if len(x.shape) == 3:
        x = ops.expand_dims(x, 0)
    if len(x.shape) != 4 or x.shape[0] != 1:
        raise ValueError("grad_cam explains one image")
    grad_model = keras.Model(model.inputs[0], [model.get_layer(last_conv_layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        conv, predictions = grad_model(x)
        n_classes = predictions.shape[-1]
        if class_index is None:
            class_index = int(ops.argmax(predictions[0]))
        if not 0 <= class_index < n_classes:
            raise ValueError(f"class_index must be in [0, {n_classes})")
        score = predictions[:, class_index]
    grads = tape.gradient(score, conv)
    weights = ops.mean(grads, axis=(0, 1, 2))
    return _relu_and_scale(ops.einsum("hwc,c->hw", conv[0], weights))


def overlay_heatmap(image, heatmap, alpha=0.4):
    heatmap = np.asarray(heatmap, dtype="float32")
    if heatmap.ndim != 2 or heatmap.size == 0 or heatmap.min() < 0 or heatmap.max() > 1:
        raise ValueError("heatmap must be 2-D with values in [0, 1]")
    if not 0 <= alpha <= 1:
        raise ValueError("alpha must be in [0, 1]")
    image = np.asarray(image, dtype="float32")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError("image must be (H, W), (H, W, 1) or (H, W, 3)")
    height, width = image.shape[:2]
    resized = ops.image.resize(heatmap[None, :, :, None], (height, width), interpolation="bilinear")
    resized = np.clip(ops.convert_to_numpy(resized)[0, :, :, 0], 0, 1)
    colours = matplotlib.colormaps["jet"](resized)[..., :3] * 255
    out = (1 - alpha) * image + alpha * colours
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
