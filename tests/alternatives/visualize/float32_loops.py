"""Exercise 7 as a learner might write it: float32 throughout (as Keras gives it), loops, tf.Variable."""

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from PIL import Image


def build_activation_model(model, layer_names=None):
    if layer_names is None:
        layer_names = [layer.name for layer in model.layers
                       if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]
    outputs = []
    for name in layer_names:
        try:
            outputs.append(model.get_layer(name).output)
        except ValueError:
            raise ValueError(f"no layer called {name}") from None
    if not outputs:
        raise ValueError("no layers chosen")
    return keras.Model(inputs=model.inputs, outputs=outputs)


def feature_map_grid(activation, images_per_row=16):
    if not isinstance(images_per_row, int) or images_per_row < 1:
        raise ValueError("images_per_row must be a positive int")
    if np.ndim(activation) != 4 or np.shape(activation)[0] != 1:
        raise ValueError("activation must have shape (1, H, W, C)")
    n_features = activation.shape[-1]
    size_h, size_w = activation.shape[1], activation.shape[2]
    n_rows = (n_features + images_per_row - 1) // images_per_row
    grid = np.zeros((n_rows * size_h, images_per_row * size_w), dtype="uint8")
    for c in range(n_features):
        channel_image = np.array(activation[0, :, :, c], dtype="float32")
        channel_image -= channel_image.mean()
        channel_image /= channel_image.std() + 1e-5
        channel_image *= 64
        channel_image += 128
        channel_image = np.clip(channel_image, 0, 255).astype("uint8")
        row, col = c // images_per_row, c % images_per_row
        grid[row * size_h:(row + 1) * size_h, col * size_w:(col + 1) * size_w] = channel_image
    return grid


def deprocess_image(x):
    x = np.array(x, dtype="float32")
    if x.size == 0:
        raise ValueError("empty image")
    if not np.all(np.isfinite(x)):
        raise ValueError("the image holds NaN or inf")
    x -= x.mean()
    x /= x.std() + 1e-5
    x *= 0.1
    x += 0.5
    x = np.clip(x, 0, 1)
    x *= 255
    return x.astype("uint8")


def generate_filter_pattern(model, layer_name, filter_index, size=64, steps=40, step_size=1.0, seed=0):
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(f"no layer called {layer_name}") from None
    n_filters = layer.output.shape[-1]
    if filter_index < 0 or filter_index >= n_filters:
        raise ValueError(f"filter_index must be below {n_filters}")
    if size < 1 or steps < 0:
        raise ValueError("bad size or steps")
    extractor = keras.Model(model.inputs, layer.output)
    channels = model.inputs[0].shape[-1]
    rng = np.random.default_rng(seed)
    image = tf.Variable(rng.uniform(0.4, 0.6, size=(1, size, size, channels)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            activation = extractor(image)
            loss = tf.reduce_mean(activation[:, :, :, filter_index])
        grads = tape.gradient(loss, image)
        grads = grads / (tf.sqrt(tf.reduce_sum(tf.square(grads))) + 1e-12)
        image.assign_add(step_size * grads)
    return deprocess_image(image.numpy()[0])


def _normalise(heatmap):
    heatmap = np.maximum(heatmap, 0)
    if heatmap.max() == 0:
        return np.zeros(heatmap.shape, dtype="float32")
    return (heatmap / heatmap.max()).astype("float32")


def class_activation_map(feature_maps, class_weights):
    feature_maps = np.asarray(feature_maps, dtype="float32")
    if feature_maps.ndim == 4:
        if feature_maps.shape[0] != 1:
            raise ValueError("one image only")
        feature_maps = feature_maps[0]
    if feature_maps.ndim != 3:
        raise ValueError("feature_maps must be (H, W, C)")
    class_weights = np.asarray(class_weights, dtype="float32")
    if class_weights.shape != (feature_maps.shape[-1],):
        raise ValueError("one weight per channel")
    cam = np.zeros(feature_maps.shape[:2], dtype="float32")
    for c in range(feature_maps.shape[-1]):
        cam += class_weights[c] * feature_maps[:, :, c]
    return _normalise(cam)


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    try:
        last_conv = model.get_layer(last_conv_layer_name)
    except ValueError:
        raise ValueError(f"no layer called {last_conv_layer_name}") from None
    image = np.asarray(image, dtype="float32")
    if image.ndim == 3:
        image = np.expand_dims(image, 0)
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError("one image only")
    grad_model = keras.Model(model.inputs, [last_conv.output, model.outputs[0]])
    image = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(image)
        conv_output, preds = grad_model(image)
        if class_index is None:
            class_index = int(np.argmax(preds[0]))
        if not 0 <= class_index < preds.shape[-1]:
            raise ValueError("class_index out of range")
        class_channel = preds[:, class_index]
    grads = tape.gradient(class_channel, conv_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2)).numpy()
    conv_output = conv_output.numpy()[0]
    for i in range(pooled_grads.shape[-1]):
        conv_output[:, :, i] *= pooled_grads[i]
    heatmap = np.mean(conv_output, axis=-1)
    return _normalise(heatmap)


def overlay_heatmap(image, heatmap, alpha=0.4):
    heatmap = np.asarray(heatmap, dtype="float32")
    if heatmap.ndim != 2:
        raise ValueError("heatmap must be 2-D")
    if heatmap.min() < 0 or heatmap.max() > 1:
        raise ValueError("heatmap must be in [0, 1]")
    if not 0 <= alpha <= 1:
        raise ValueError("alpha must be in [0, 1]")
    image = np.asarray(image, dtype="float32")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError("image must be (H, W, 3) or grey")
    height, width = image.shape[0], image.shape[1]
    resized = np.array(Image.fromarray(heatmap).resize((width, height), Image.BILINEAR))
    jet = matplotlib.colormaps["jet"]
    colours = jet(np.clip(resized, 0, 1))[:, :, :3] * 255
    superimposed = image * (1 - alpha) + colours * alpha
    return np.clip(np.round(superimposed), 0, 255).astype("uint8")
