# stub fingerprint: ab7f4d382ef372c3
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_visualize.py
# (Generated from solutions/visualize.py by `python -m grader stubgen`.)
"""Exercise 7: seeing what a convnet learned.

Convnets are often called black boxes, but what they learn is made of
pictures and can be looked at. This exercise writes the chapter's three
ways of looking:

* the **intermediate activations**: what each filter of the first layers
  responds to in one image (edges first, then more abstract parts);
* the **filter patterns**: the input each filter responds to most, found by
  gradient *ascent* in input space, starting from a grey noisy image;
* the **heatmaps of class activation**: which parts of an image made the
  model choose a class. For a model that ends with global average pooling
  and one Dense layer, the class activation map (CAM, Zhou et al. 2016) is
  the class's Dense weights applied to the last convolution's maps; for any
  convnet, Grad-CAM (Selvaraju et al. 2017) takes those weights from the
  gradients of the class score instead.

Tasks, in order (run ``pytest checks/test_visualize.py`` after each):

1. ``build_activation_model``: one model returning several layers' outputs.
2. ``feature_map_grid``: all channels of one activation as a single image.
3. ``deprocess_image``: any float array as a displayable uint8 image.
4. ``generate_filter_pattern``: gradient ascent on one filter's activation.
5. ``class_activation_map``: CAM from the maps and the class's weights.
6. ``grad_cam``: Grad-CAM with ``tf.GradientTape``.
7. ``overlay_heatmap``: the heatmap coloured and laid over the image.

One check pastes held-out cat and dog silhouettes into one quadrant of an
empty canvas and requires your CAM and Grad-CAM to peak in that quadrant on
a small global-average-pooling model (``data/train_cam_model.py``): no
hand-written value can pass it, only heatmaps that find the animal.
``python -m lab.figures`` then saves the chapter's pictures made with
your functions.

Keras 3 vs the 2019 book: ``K.gradients`` and ``K.function`` are gone; take
gradients with ``tf.GradientTape`` (the TensorFlow backend). Build
sub-models with ``keras.Model(model.inputs, outputs)`` and take the
predictions from ``model.outputs[0]``: in Keras 3, ``model.input`` and
``model.output`` of a ``Sequential`` model raise "has never been called".
The book's ImageNet VGG16 cannot be downloaded here; the checks and figures
use small models trained on the embedded silhouettes.
"""

import numbers

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from PIL import Image


def _get_layer(model, layer_name):
    """Returns the layer ``layer_name`` of ``model``, or raises a clear ValueError."""
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"the model has no layer named {layer_name!r}; its layers are {names}.")
    return model.get_layer(layer_name)


def _model_input(model):
    """The symbolic input of a built model, to make sub-models from."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError("the model has no defined input: build it with a keras.Input (or call it once) first.")
    # One input tensor, not a one-element list: called with an array, a
    # sub-model then gets the structure it expects.
    return inputs[0] if len(inputs) == 1 else inputs


def _positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def build_activation_model(model, layer_names=None):
    """A model that returns the outputs of some layers of ``model``.

    Feeding it an image gives every chosen layer's activation at once, as in
    the chapter: ``activations = activation_model.predict(img_tensor)``.

    Args:
        model: a built ``keras.Model`` (Sequential or functional).
        layer_names: names of the layers whose outputs to return, in that
            order; ``None`` means every ``Conv2D`` and ``MaxPooling2D``
            layer, in the model's order.

    Returns:
        A ``keras.Model`` with the same input as ``model`` and one output per
        chosen layer (a list of outputs; Keras returns a single array when
        there is only one).

    Raises:
        ValueError: a name is not a layer of ``model``, no layer is chosen,
            or the model has no defined input.
    """
    raise NotImplementedError("build_activation_model: your code goes here")


def feature_map_grid(activation, images_per_row=16):
    """Tiles every channel of one activation into a single grey-level image.

    Channel ``c`` goes to tile row ``c // images_per_row`` and tile column
    ``c % images_per_row``; the grid is always ``images_per_row`` tiles
    wide, and tiles past the last channel stay black (0). Each channel is
    made visible on its own: ``(channel - mean) / (std + 1e-5) * 64 + 128``,
    clipped to [0, 255], then cast to uint8. A constant channel (a filter
    that never fires) has nothing to show: all its standardised values are 0,
    so its tile is mid-grey (128), never NaN.

    Args:
        activation: array ``(1, H, W, C)``: one image's activation at a layer.
        images_per_row: tiles per row of the grid.

    Returns:
        uint8 array ``(rows * H, images_per_row * W)`` with
        ``rows = ceil(C / images_per_row)``. ``activation`` is not modified.

    Raises:
        ValueError: ``activation`` is not ``(1, H, W, C)``, or
            ``images_per_row`` is not a positive int.
    """
    raise NotImplementedError("feature_map_grid: your code goes here")


def deprocess_image(x):
    """Turns any float array into a displayable uint8 image.

    Standardise (``(x - mean) / (std + 1e-5)``), scale by 0.1, shift to 0.5,
    clip to [0, 1], multiply by 255 and cast to uint8. Without the clipping,
    values past 1 overflow uint8 and wrap around to black.

    Args:
        x: a non-empty array of finite numbers (an image ``(H, W, C)`` or any
            shape).

    Returns:
        uint8 array of the same shape. ``x`` is not modified.

    Raises:
        ValueError: ``x`` is empty or holds NaN or infinity.
    """
    raise NotImplementedError("deprocess_image: your code goes here")


def generate_filter_pattern(model, layer_name, filter_index, size=64, steps=40, step_size=1.0, seed=0):
    """The input that one filter responds to most, by gradient ascent.

    The idea: make the *image* the variable. Training moves the weights
    down the gradient of a loss; here the weights stay fixed and the image
    moves *up* the gradient of the filter's response, step after step, until
    it shows the pattern the filter detects.

    The contract (what the checks grade):

    * the start image is float32 noise of shape ``(1, size, size, C)``
      (``C``: the model's input channels), uniform in [0.4, 0.6] and drawn
      from ``np.random.default_rng(seed)``: the same seed gives the same
      pattern, and the global random state is not used;
    * the response is the mean, over the positions, of channel
      ``filter_index`` of ``layer_name``'s output; each of the ``steps``
      steps moves the image by ``step_size`` along the direction of its
      gradient with respect to the image (the gradient divided by its L2
      norm, so every step has the same length);
    * the filter must then respond far more to the result than to noise of
      the same contrast;
    * the result is the image without its batch axis, through
      ``deprocess_image``.

    ``python -m grader hint`` breaks it into steps. The book's first edition
    normalised the gradient by its RMS and started from grey noise around 128
    for 0-255 inputs; the models here take inputs in [0, 1].

    Args:
        model: a built ``keras.Model`` that accepts ``size x size`` inputs.
        layer_name: name of a layer with channels-last output, usually a
            ``Conv2D``.
        filter_index: which channel of that layer's output, ``0 .. n - 1``.
        size: side of the image, in pixels (a positive int).
        steps: number of gradient-ascent steps, an int >= 0 (0 returns the
            start image).
        step_size: how far each step moves the image.
        seed: seed of the start image; the same seed gives the same result.

    Returns:
        uint8 array ``(size, size, C)``.

    Raises:
        ValueError: unknown layer, ``filter_index`` not a channel of that
            layer (``n`` or more, or negative), or ``size`` / ``steps`` not
            as above.
    """
    raise NotImplementedError("generate_filter_pattern: your code goes here")


def class_activation_map(feature_maps, class_weights):
    """The class activation map (CAM) of Zhou et al. (2016).

    For a model ending ``last Conv2D -> GlobalAveragePooling2D -> Dense``,
    the score of class ``k`` is the average over positions of
    ``sum_c maps[i, j, c] * W[c, k]``: the CAM is that sum at each position
    ``(i, j)``, i.e. where the class's evidence lies. Keep its positive part
    (ReLU) and divide by its maximum; if no value is positive the map is all
    zeros (never NaN).

    Args:
        feature_maps: the last convolution's output for one image,
            ``(H, W, C)`` or ``(1, H, W, C)``.
        class_weights: ``(C,)``: the Dense kernel's column for the class,
            ``dense.get_weights()[0][:, k]``.

    Returns:
        float array ``(H, W)`` with values in [0, 1].

    Raises:
        ValueError: shapes that do not fit together.
    """
    raise NotImplementedError("class_activation_map: your code goes here")


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    """Grad-CAM (Selvaraju et al., 2017): where the model sees the class.

    The idea: CAM weighs the last convolution's channels by the class's
    Dense weights, so it needs a Dense layer right after global pooling.
    Grad-CAM works for any convnet by taking one weight per channel from the
    gradients instead: how much the class score rises when that channel's
    activations rise, on average over the positions. The channels weighted
    that way and summed show where the evidence for the class lies.

    The contract (what the checks grade):

    * the class score is the model's output for the class,
      ``predictions[:, class_index]`` (e.g. the softmax probability, as in
      the book); ``class_index=None`` means the model's top class for this
      image;
    * a channel's weight is the score's gradient with respect to the last
      convolution's output, averaged over the batch and the ``h x w``
      positions; the heatmap is the sum of that output's channels times
      their weights, kept where positive (ReLU) and divided by its maximum:
      all zeros, never NaN, when nothing is positive (a silent layer);
    * on the course's small model it must peak where the animal is.

    ``python -m grader hint`` breaks it into steps.

    Args:
        model: a built ``keras.Model`` whose output is ``(1, classes)``.
        image: one image, ``(H, W, C)`` or ``(1, H, W, C)``, preprocessed as
            the model expects.
        last_conv_layer_name: name of the last convolution layer.
        class_index: the class to explain; ``None`` means the model's top
            class for this image.

    Returns:
        float array ``(h, w)`` in [0, 1]: the last convolution's spatial
        size.

    Raises:
        ValueError: unknown layer, an image that is not one image (a batch
            of several), or a ``class_index`` that is not one of the model's
            classes ``0 .. n - 1``: a negative index raises too, rather than
            silently explaining the last class.
    """
    raise NotImplementedError("grad_cam: your code goes here")


def overlay_heatmap(image, heatmap, alpha=0.4):
    """Lays a heatmap, coloured with the "jet" colour map, over an image.

    The idea: a heatmap is small (the last convolution's size) and holds
    numbers in [0, 1]; to read it on the picture it must cover the whole
    image and turn into colours, which are then mixed with the pixels.

    The contract (what the checks grade):

    * the heatmap is stretched to the image's height and width by bilinear
      resizing, then coloured with Matplotlib's ``"jet"`` colour map (0 dark
      blue, 1 dark red), as RGB values from 0 to 255;
    * the result is the blend ``(1 - alpha) * image + alpha * colours``,
      rounded, clipped to [0, 255], uint8: ``alpha=0`` gives the image
      unchanged. (The book adds ``0.4 * colours`` to the image and lets the
      sum saturate; a blend keeps both readable.)
    * ``image`` and ``heatmap`` are only read.

    ``python -m grader hint`` breaks it into steps and names the calls.

    Args:
        image: ``(H, W, 3)`` RGB, or grey ``(H, W)`` / ``(H, W, 1)`` (made
            RGB by repeating it), with values from 0 to 255 (uint8 or float;
            multiply a [0, 1] image by 255 first).
        heatmap: float array ``(h, w)`` with values in [0, 1].
        alpha: weight of the colours, in [0, 1].

    Returns:
        uint8 array ``(H, W, 3)``.

    Raises:
        ValueError: a heatmap that is not 2-D, heatmap values outside
            [0, 1], ``alpha`` outside [0, 1], or an image that is neither RGB
            nor grey (e.g. RGBA ``(H, W, 4)``).
    """
    raise NotImplementedError("overlay_heatmap: your code goes here")
