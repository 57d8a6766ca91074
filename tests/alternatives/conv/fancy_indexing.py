"""Convolution by gathering every window with index arrays, then one np.einsum."""

import numpy as np

VALID, SAME = "valid", "same"


def _ints(value, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = [value, value]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = list(value)
    else:
        raise ValueError(f"{name}: expected an int or a pair, got {value!r}")
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in pair):
        raise ValueError(f"{name}: expected positive ints, got {value!r}")
    return [int(v) for v in pair]


def _padding_name(padding):
    name = str(padding).lower() if isinstance(padding, str) else None
    if name not in (VALID, SAME):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return name


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    values = [input_length, kernel_size, stride, dilation]
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
        raise ValueError(f"sizes must be positive ints, got {values}")
    if _padding_name(padding) == SAME:
        return (input_length + stride - 1) // stride
    reach = (kernel_size - 1) * dilation
    if reach >= input_length:
        raise ValueError("window larger than the input with 'valid' padding")
    return (input_length - reach - 1) // stride + 1


def _indices(length, kernel, stride, dilation, mode):
    """Row indices into the padded axis (out, kernel), and the padding before/after."""
    out = conv_output_length(length, kernel, stride, mode, dilation)
    before = after = 0
    if mode == SAME:
        total = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - length)
        before, after = total // 2, total - total // 2
    rows = stride * np.arange(out)[:, None] + dilation * np.arange(kernel)[None, :]
    return rows, (before, after)


def _windows(x, kernel_size, strides, padding, dilation_rate, fill):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"expected a 4-D batch (N, H, W, C), got shape {x.shape}")
    (kh, kw), (sh, sw), (dh, dw) = _ints(kernel_size, "kernel_size"), _ints(strides, "strides"), _ints(dilation_rate, "dilation_rate")
    mode = _padding_name(padding)
    rows, pad_h = _indices(x.shape[1], kh, sh, dh, mode)
    cols, pad_w = _indices(x.shape[2], kw, sw, dw, mode)
    if mode == SAME:
        x = np.pad(x, [(0, 0), pad_h, pad_w, (0, 0)], mode="constant", constant_values=fill)
    # rows: (H', kh) -> (H', 1, kh, 1); cols: (W', kw) -> (1, W', 1, kw)
    return x[:, rows[:, None, :, None], cols[None, :, None, :], :]


def extract_patches(x, kernel_size, strides=1, padding="valid", dilation_rate=1):
    return _windows(x, kernel_size, strides, padding, dilation_rate, 0)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    x, kernel = np.asarray(x), np.asarray(kernel)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D, got {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"kernel must be 4-D, got {kernel.shape}")
    if kernel.shape[2] != x.shape[-1]:
        raise ValueError(f"kernel has {kernel.shape[2]} input channels, x has {x.shape[-1]}")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (kernel.shape[-1],):
            raise ValueError(f"bias needs {kernel.shape[-1]} values, got shape {bias.shape}")
    windows = _windows(x.astype(np.float64), kernel.shape[:2], strides, padding, dilation_rate, 0.0)
    out = np.einsum("nijabc,abcf->nijf", windows, kernel.astype(np.float64), optimize=True)
    return out if bias is None else out + bias


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = np.asarray(x)
    if x.ndim == 4 and _padding_name(padding) == SAME and x.dtype.kind != "f":
        x = x.astype(np.float32)
    windows = _windows(x, pool_size, pool_size if strides is None else strides, padding, 1, -np.inf)
    return windows.max(axis=(3, 4))
