"""Convolution with np.lib.stride_tricks.as_strided windows (strides and dilation in the view) and np.tensordot."""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def _pair(value, what):
    try:
        if isinstance(value, bool):
            raise TypeError
        pair = (value, value) if np.ndim(value) == 0 else tuple(value)
        if len(pair) != 2 or any(isinstance(v, bool) or int(v) != v or v < 1 for v in pair):
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive int or a pair of them, got {value!r}") from None
    if any(isinstance(v, (float, np.floating)) for v in pair):
        raise ValueError(f"{what} must hold ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_padding(padding):
    if not isinstance(padding, str) or padding.casefold() not in {"valid", "same"}:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.casefold()


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    for name, value in dict(input_length=input_length, kernel_size=kernel_size, stride=stride,
                            dilation=dilation).items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    padding = _check_padding(padding)
    if padding == "same":
        return -(-input_length // stride)
    span = dilation * (kernel_size - 1) + 1
    if input_length < span:
        raise ValueError(f"a window of {span} cells does not fit in {input_length}")
    return 1 + (input_length - span) // stride


def _pads(n, k, s, d):
    total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, (total + 1) // 2


def _view(x, kernel_size, strides, padding, dilation_rate, fill):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must have 4 axes (N, H, W, C), got {x.ndim}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation_rate, "dilation_rate")
    padding = _check_padding(padding)
    oh = conv_output_length(x.shape[1], kh, sh, padding, dh)
    ow = conv_output_length(x.shape[2], kw, sw, padding, dw)
    if padding == "same":
        x = np.pad(x, ((0, 0), _pads(x.shape[1], kh, sh, dh), _pads(x.shape[2], kw, sw, dw), (0, 0)),
                   constant_values=fill)
    x = np.ascontiguousarray(x)
    n, _, _, c = x.shape
    s0, s1, s2, s3 = x.strides
    return as_strided(x, shape=(n, oh, ow, kh, kw, c),
                      strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3), writeable=False)


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    return _view(x, kernel_size, strides, padding, dilation_rate, 0)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32))
    kernel = np.asarray(kernel)
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(f"x and kernel must both be 4-D, got {x.shape} and {kernel.shape}")
    if x.shape[3] != kernel.shape[2]:
        raise ValueError("the kernel's input channels differ from the images' channels")
    if bias is not None and np.asarray(bias).shape != kernel.shape[3:]:
        raise ValueError("bias must hold one value per filter")
    windows = _view(x, kernel.shape[:2], strides, padding, dilation_rate, 0)
    out = np.tensordot(windows, kernel, axes=([3, 4, 5], [0, 1, 2]))
    if bias is not None:
        out = out + np.asarray(bias)
    return out


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = np.asarray(x)
    fill = -np.inf
    if _check_padding(padding) == "same" and not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return np.max(_view(x, pool_size, pool_size if strides is None else strides, padding, 1, fill), axis=(3, 4))
