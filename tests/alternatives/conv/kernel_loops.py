"""Convolution with a loop over the kernel's cells and np.tensordot; pooling with np.maximum over the window's cells."""

import math

import numpy as np


def _as_pair(value, name):
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an int or a pair of ints")
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must hold positive ints, got {value!r}")
    return int(value[0]), int(value[1])


def _mode(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"unknown padding {padding!r}")
    return padding.lower()


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    for value in (input_length, kernel_size, stride, dilation):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"sizes must be positive ints, got {value!r}")
    if _mode(padding) == "same":
        return int(math.ceil(input_length / stride))
    effective = dilation * (kernel_size - 1) + 1
    if effective > input_length:
        raise ValueError("the window does not fit in the input")
    return int((input_length - effective) // stride + 1)


def _padding(length, kernel, stride, dilation):
    out = math.ceil(length / stride)
    needed = max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - length)
    return needed // 2, needed - needed // 2


def _prepare(x, kernel_size, strides, padding, dilation_rate, fill=0.0):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, H, W, C), got shape {x.shape}")
    kh, kw = _as_pair(kernel_size, "kernel_size")
    sh, sw = _as_pair(strides, "strides")
    dh, dw = _as_pair(dilation_rate, "dilation_rate")
    mode = _mode(padding)
    out_h = conv_output_length(x.shape[1], kh, sh, mode, dh)
    out_w = conv_output_length(x.shape[2], kw, sw, mode, dw)
    if mode == "same":
        top, bottom = _padding(x.shape[1], kh, sh, dh)
        left, right = _padding(x.shape[2], kw, sw, dw)
        padded = np.full((x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]),
                         fill, dtype=x.dtype)
        padded[:, top:top + x.shape[1], left:left + x.shape[2], :] = x
        x = padded
    return x, (kh, kw), (sh, sw), (dh, dw), (out_h, out_w)


def _cell(x, a, b, strides, dilation, out):
    """The input value under kernel cell (a, b) for every output position: (N, H', W', C)."""
    (sh, sw), (dh, dw), (out_h, out_w) = strides, dilation, out
    return x[:, a * dh: a * dh + (out_h - 1) * sh + 1: sh, b * dw: b * dw + (out_w - 1) * sw + 1: sw, :]


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    x, (kh, kw), strides, dilation, out = _prepare(x, kernel_size, strides, padding, dilation_rate)
    patches = np.empty((x.shape[0], *out, kh, kw, x.shape[3]), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            patches[:, :, :, a, b, :] = _cell(x, a, b, strides, dilation, out)
    return patches


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    kernel = np.asarray(kernel)
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, H, W, C), got shape {x.shape}")
    if kernel.ndim != 4 or kernel.shape[2] != x.shape[3]:
        raise ValueError(f"kernel {kernel.shape} does not fit images with {x.shape[3]} channels")
    if bias is not None and np.shape(bias) != (kernel.shape[3],):
        raise ValueError(f"bias must have {kernel.shape[3]} values, got shape {np.shape(bias)}")
    x = x.astype(np.result_type(x.dtype, np.float32))
    padded, (kh, kw), strides, dilation, out = _prepare(x, kernel.shape[:2], strides, padding, dilation_rate)
    result = np.zeros((x.shape[0], *out, kernel.shape[3]), dtype=np.result_type(x.dtype, kernel.dtype))
    for a in range(kh):
        for b in range(kw):
            result += np.tensordot(_cell(padded, a, b, strides, dilation, out), kernel[a, b], axes=([3], [0]))
    if bias is not None:
        result = result + np.asarray(bias)
    return result


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, H, W, C), got shape {x.shape}")
    if strides is None:
        strides = pool_size
    dtype = x.dtype
    if _mode(padding) == "same" and not np.issubdtype(dtype, np.floating):
        x = x.astype(np.float32)
        dtype = x.dtype
    padded, (ph, pw), strides, dilation, out = _prepare(x, pool_size, strides, padding, 1, fill=-np.inf)
    best = _cell(padded, 0, 0, strides, dilation, out).copy()
    for a in range(ph):
        for b in range(pw):
            np.maximum(best, _cell(padded, a, b, strides, dilation, out), out=best)
    return best.astype(dtype, copy=False)
