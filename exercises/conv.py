# stub fingerprint: 3bca33558af56d99
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_conv.py
# (Generated from solutions/conv.py by `python -m grader stubgen`.)
"""Exercise 1: convolution and max-pooling in NumPy.

A convnet's two basic layers, written with NumPy alone so that nothing is
hidden: you will compute exactly what ``keras.layers.Conv2D`` and
``keras.layers.MaxPooling2D`` compute, and the checks compare the two.

Conventions (the same as Keras' defaults):

* images and feature maps are channels-last, ``(N, H, W, C)``;
* a kernel is shaped ``(kh, kw, C_in, C_out)``;
* a size argument (``kernel_size``, ``strides``, ...) is an int or a pair;
* ``padding`` is ``"valid"`` (no padding: the window stays inside the image)
  or ``"same"`` (pad so that the output has ``ceil(n / stride)`` positions;
  when the total padding is odd, the extra row/column goes at the bottom/right).

What deep-learning libraries call "convolution" is really a
*cross-correlation*: the kernel is slid over the image as it is, never
flipped. A textbook (signal-processing) convolution flips the kernel first.
Keras, PyTorch and the book all use the unflipped version, and so do you.

Tasks, in order (run ``pytest checks/test_conv.py`` after each):

1. ``conv_output_length``: the output size along one axis.
2. ``extract_patches``: the window under every output position, with its
   helper ``_same_padding`` (the ``"same"`` padding before and after, along
   one axis; ``max_pool2d`` can use it too). Write the helper, or compute the
   padding your own way: it has no checks of its own, but
   ``extract_patches``, ``conv2d`` and ``max_pool2d`` are graded with
   ``"same"`` padding, so its mistakes show there.
3. ``conv2d``: a Conv2D layer's forward pass.
4. ``max_pool2d``: a MaxPooling2D layer's forward pass.

Write vectorised NumPy: loop over the kernel's few positions if you like, but
never over pixels or images. No TensorFlow or Keras here: the checks run this
file with them unavailable.
"""

import numpy as np


def _pair(value, name):
    """Returns ``value`` as a pair of positive ints (an int ``k`` means ``(k, k)``)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        pair = tuple(int(v) for v in value)
        valid = len(pair) == 2 and all(p >= 1 and p == v for p, v in zip(pair, value))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"`{name}` must be a positive int or a pair of positive ints, got {value!r}.")
    return pair


def _padding_mode(padding):
    """Returns ``"valid"`` or ``"same"`` from any capitalisation of them."""
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f'`padding` must be "valid" or "same", got {padding!r}.')
    return mode


def _as_images(x, name="x"):
    """Returns ``x`` as a 4-D NumPy array ``(N, H, W, C)``."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"`{name}` must be a 4-D array (N, H, W, C), got shape {x.shape}. "
            "For one image, add a batch axis: x[np.newaxis]."
        )
    return x


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    """How many window positions fit along one axis, as Keras computes it.

    A dilated kernel of size ``k`` spans ``(k - 1) * dilation + 1`` cells.
    With ``"valid"`` padding the window must stay inside the input; with
    ``"same"`` padding there are ``ceil(input_length / stride)`` positions.

    Args:
        input_length: int, the input size along the axis (>= 1).
        kernel_size: int, the kernel (or pool) size along the axis.
        stride: int, the step between window positions.
        padding: ``"valid"`` or ``"same"``, any case.
        dilation: int, the spacing between kernel cells.

    Returns:
        The output length, an int >= 1.

    Raises:
        ValueError: a size is not a positive int, ``padding`` is unknown, or
            with ``"valid"`` padding the window is larger than the input.
    """
    raise NotImplementedError("conv_output_length: your code goes here")


def _same_padding(input_length, kernel_size, stride, dilation):
    """Cells of padding ``(before, after)`` for ``"same"`` along one axis (part of task 2).

    Just enough padding for ``ceil(input_length / stride)`` windows; when the
    total is odd the extra cell goes after (bottom/right), as in Keras.

    Returns:
        ``(before, after)``, two ints >= 0.
    """
    raise NotImplementedError("_same_padding: your code goes here")


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    """The 3-D patch of ``x`` under the window at every output position.

    ``patches[n, i, j]`` is the ``(kh, kw, C)`` block that a ``kh x kw``
    window at output position ``(i, j)`` sees: rows ``i * sh + a * dh`` and
    columns ``j * sw + b * dw`` of the (padded) input, for ``a < kh`` and
    ``b < kw``. ``"same"`` padding pads with zeros.

    Hint: ``np.lib.stride_tricks.sliding_window_view`` gives every window at
    stride 1 without copying; slice it for strides and dilation.

    Args:
        x: array ``(N, H, W, C)``.
        kernel_size: int or ``(kh, kw)``.
        strides: int or ``(sh, sw)``.
        padding: ``"valid"`` or ``"same"``.
        dilation_rate: int or ``(dh, dw)``.

    Returns:
        Array ``(N, H', W', kh, kw, C)`` with ``H'`` and ``W'`` from
        ``conv_output_length``. It may be a read-only view of ``x``.

    Raises:
        ValueError: ``x`` is not 4-D, a size is invalid, or the window does not
            fit with ``"valid"`` padding.
    """
    raise NotImplementedError("extract_patches: your code goes here")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """The forward pass of ``keras.layers.Conv2D`` (no activation).

    ``out[n, i, j, f] = sum over a, b, c of patch[n, i, j, a, b, c] *
    kernel[a, b, c, f]``, plus ``bias[f]``. The kernel is *not* flipped: this
    is the cross-correlation every deep-learning library calls convolution.

    Args:
        x: array ``(N, H, W, C_in)``.
        kernel: array ``(kh, kw, C_in, C_out)``, Keras' kernel layout.
        bias: ``None`` or array ``(C_out,)``.
        strides: int or pair.
        padding: ``"valid"`` or ``"same"`` (zero padding).
        dilation_rate: int or pair.

    Returns:
        Float array ``(N, H', W', C_out)``, equal to ``Conv2D`` with these
        weights up to float32 rounding.

    Raises:
        ValueError: shapes that do not fit together (the kernel's ``C_in``
            must equal the images' channels; the bias must have ``C_out``
            values), or an invalid size or padding.
    """
    raise NotImplementedError("conv2d: your code goes here")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """The forward pass of ``keras.layers.MaxPooling2D``.

    Each output cell is the maximum of its window, channel by channel.
    ``"same"`` padding pads with ``-inf``, never zeros: a padded cell must
    never win the maximum (zeros would beat an all-negative window).

    Args:
        x: array ``(N, H, W, C)``.
        pool_size: int or pair.
        strides: int or pair; ``None`` means ``pool_size``.
        padding: ``"valid"`` or ``"same"``.

    Returns:
        Array ``(N, H', W', C)`` of the same dtype as ``x``.

    Raises:
        ValueError: ``x`` is not 4-D, or an invalid size or padding.
    """
    raise NotImplementedError("max_pool2d: your code goes here")
