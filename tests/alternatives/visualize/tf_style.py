"""Exercise 7 with TensorFlow ops (tf.nn.moments, tf.image.resize), the grid built from a list of rows."""

import keras
import matplotlib
import numpy as np
import tensorflow as tf


def _layer(model, name):
    for layer in model.layers:
        if layer.name == name:
            return layer
    raise ValueError(f"model has no layer {name!r}")


def build_activation_model(model, layer_names=None):
    if layer_names is None:
        layers = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]
    else:
        layers = [_layer(model, name) for name in layer_names]
    if len(layers) == 0:
        raise ValueError("no layer to look at")
    return keras.Model(model.inputs, [layer.output for layer in layers])


def feature_map_grid(activation, images_per_row=16):
    activation = tf.convert_to_tensor(activation, dtype=tf.float32)
    if activation.shape.rank != 4 or activation.shape[0] != 1:
        raise ValueError("activation must be (1, H, W, C)")
    if not isinstance(images_per_row, int) or images_per_row <= 0:
        raise ValueError("images_per_row must be positive")
    mean, variance = tf.nn.moments(activation[0], axes=[0, 1])
    tiles = (activation[0] - mean) / (tf.sqrt(variance) + 1e-5) * 64.0 + 128.0
    tiles = tf.cast(tf.clip_by_value(tiles, 0.0, 255.0), tf.uint8).numpy()
    h, w, c = tiles.shape
    blank = np.zeros((h, w), np.uint8)
    rows = []
    for start in range(0, c, images_per_row):
        row = [tiles[:, :, i] if i < c else blank for i in range(start, start + images_per_row)]
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def deprocess_image(x):
    x = tf.constant(np.asarray(x, dtype=np.float64))
    if tf.size(x) == 0 or not bool(tf.reduce_all(tf.math.is_finite(x))):
        raise ValueError("need a non-empty finite array")
    x = (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-5)
    x = tf.clip_by_value(x * 0.1 + 0.5, 0.0, 1.0) * 255.0
    return tf.cast(x, tf.uint8).numpy()


def generate_filter_pattern(model, layer_name, filter_index, size=64, steps=40, step_size=1.0, seed=0):
    layer = _layer(model, layer_name)
    if not (0 <= filter_index < layer.output.shape[-1]):
        raise ValueError(f"{layer_name} has {layer.output.shape[-1]} filters")
    if size <= 0 or steps < 0:
        raise ValueError("size must be positive and steps not negative")
    feature_extractor = keras.Model(inputs=model.inputs, outputs=layer.output)
    start = np.random.default_rng(seed).uniform(0.4, 0.6, (1, size, size, model.inputs[0].shape[-1]))
    img = tf.convert_to_tensor(start, dtype=tf.float32)

    @tf.function
    def step(img):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = tf.reduce_mean(feature_extractor(img)[:, :, :, filter_index])
        grads = tf.math.l2_normalize(tape.gradient(loss, img))
        return img + step_size * grads

    for _ in range(steps):
        img = step(img)
    return deprocess_image(img[0].numpy())


def _finish(heatmap):
    heatmap = tf.nn.relu(heatmap)
    top = tf.reduce_max(heatmap)
    heatmap = tf.math.divide_no_nan(heatmap, top)
    return heatmap.numpy()


def class_activation_map(feature_maps, class_weights):
    maps = np.asarray(feature_maps, dtype=np.float64)
    maps = maps[0] if maps.ndim == 4 and len(maps) == 1 else maps
    weights = np.asarray(class_weights, dtype=np.float64)
    if maps.ndim != 3 or weights.ndim != 1 or weights.shape[0] != maps.shape[2]:
        raise ValueError("feature_maps (H, W, C) need C class weights")
    return _finish(tf.constant(np.einsum("hwc,c->hw", maps, weights)))


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    conv_layer = _layer(model, last_conv_layer_name)
    img = np.asarray(image, np.float32)
    img = img[None] if img.ndim == 3 else img
    if img.ndim != 4 or img.shape[0] != 1:
        raise ValueError("one image, please")
    grad_model = keras.Model(model.inputs, [conv_layer.output, model.outputs[0]])
    img = tf.constant(img)
    with tf.GradientTape() as tape:
        tape.watch(img)
        conv_out, preds = grad_model(img)
        if class_index is None:
            class_index = int(tf.argmax(preds[0]))
        if class_index < 0 or class_index >= preds.shape[-1]:
            raise ValueError("class_index out of range")
        top_class_channel = preds[:, class_index]
    grads = tape.gradient(top_class_channel, conv_out)
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = conv_out[0] @ pooled[..., tf.newaxis]
    return _finish(tf.squeeze(heatmap, -1))


def overlay_heatmap(image, heatmap, alpha=0.4):
    heatmap = np.asarray(heatmap)
    if heatmap.ndim != 2 or not np.all((heatmap >= 0) & (heatmap <= 1)):
        raise ValueError("heatmap: 2-D, values in [0, 1]")
    if alpha < 0 or alpha > 1:
        raise ValueError("alpha must be in [0, 1]")
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    elif img.ndim == 3 and img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError("image must be RGB or grey")
    big = tf.image.resize(heatmap[..., None].astype(np.float32), img.shape[:2], method="bilinear")
    colours = matplotlib.colormaps["jet"](np.clip(big.numpy()[..., 0], 0, 1))[..., :3] * 255
    return np.clip(np.round((1 - alpha) * img + alpha * colours), 0, 255).astype(np.uint8)
