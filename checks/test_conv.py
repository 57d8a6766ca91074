"""Exercise 1 checks: convolution and max-pooling in NumPy against Keras."""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.harness import (
    CheckFailure,
    check_rng,
    expect,
    expect_close,
    expect_raises,
    expect_unmodified,
)
from grader import course
from grader.engine.verdicts import describe_student_error
from grader.engine.workers import imported_modules


# --------------------------------------------------------------------------
# References, written independently of solutions/ with plain loops
# --------------------------------------------------------------------------


def same_split(length, kernel, stride, dilation=1, extra_first=False):
    """Keras' "same" padding (before, after) along one axis; ``extra_first`` is the classic bug."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if extra_first else (small, big)


def reference_patches(x, kernel_size, strides, padding, dilation, pad_value=0.0, extra_first=False):
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    n, h, w, c = x.shape
    if padding == "same":
        ph = same_split(h, kh, sh, dh, extra_first)
        pw = same_split(w, kw, sw, dw, extra_first)
        x = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)), constant_values=pad_value)
    out_h = (x.shape[1] - ((kh - 1) * dh + 1)) // sh + 1
    out_w = (x.shape[2] - ((kw - 1) * dw + 1)) // sw + 1
    patches = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    patches[:, i, j, a, b, :] = x[:, i * sh + a * dh, j * sw + b * dw, :]
    return patches


def reference_conv(x, kernel, bias, strides, padding, dilation, extra_first=False):
    patches = reference_patches(x, kernel.shape[:2], strides, padding, dilation, extra_first=extra_first)
    out = np.einsum("nijabc,abcf->nijf", patches, kernel.astype(np.float64))
    return out + (0 if bias is None else bias)


def keras_conv(x, kernel, bias, strides, padding, dilation):
    layer = keras.layers.Conv2D(
        kernel.shape[3], kernel.shape[:2], strides=strides, padding=padding,
        dilation_rate=dilation, use_bias=bias is not None,
    )
    layer.build(x.shape)
    layer.set_weights([kernel] if bias is None else [kernel, bias])
    return keras.ops.convert_to_numpy(layer(x))


def keras_pool(x, pool_size, strides, padding):
    layer = keras.layers.MaxPooling2D(pool_size, strides=strides, padding=padding)
    return keras.ops.convert_to_numpy(layer(x))


def call_text(name, x, *args, **kwargs):
    shapes = ", ".join([f"x of shape {x.shape}", *(f"kernel of shape {a.shape}" for a in args)])
    options = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{name}({shapes}{', ' if options else ''}{options})"


# --------------------------------------------------------------------------
# Search space: small enough to be quick, wide enough to meet every edge case
# --------------------------------------------------------------------------


@st.composite
def conv_settings(draw, allow_dilation=True, allow_strides=True, paddings=("valid", "same")):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (1, 1)
    strides = (1, 1)
    if allow_strides:
        strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if allow_dilation and strides == (1, 1):  # Keras forbids dilation > 1 with strides > 1
        dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(paddings))
    min_h, min_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    if padding == "same":
        min_h = min_w = 1
    h, w = draw(st.integers(min_h, min_h + 8)), draw(st.integers(min_w, min_w + 8))
    return dict(
        batch=draw(st.integers(1, 3)), h=h, w=w, channels=draw(st.integers(1, 3)),
        filters=draw(st.integers(1, 4)), kernel=(kh, kw), strides=strides, padding=padding,
        dilation=dilation, bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)),
        padding_case=draw(st.sampled_from([padding, padding.upper(), padding.capitalize()])),
    )


def arrays_for(s):
    rng = check_rng(s["seed"])
    x = rng.standard_normal((s["batch"], s["h"], s["w"], s["channels"])).astype(np.float32)
    kernel = rng.standard_normal((*s["kernel"], s["channels"], s["filters"])).astype(np.float32)
    bias = rng.standard_normal(s["filters"]).astype(np.float32) if s["bias"] else None
    return x, kernel, bias


def check_conv2d_against_keras(exercise, s):
    x, kernel, bias = arrays_for(s)
    what = call_text("conv2d", x, kernel, bias=None if bias is None else bias.shape,
                     strides=s["strides"], padding=s["padding_case"], dilation_rate=s["dilation"])
    got = exercise.conv2d(x, kernel, bias, strides=s["strides"], padding=s["padding_case"],
                          dilation_rate=s["dilation"])
    expected = keras_conv(x, kernel, bias, s["strides"], s["padding"], s["dilation"])
    args = (s["strides"], s["padding"], s["dilation"])
    likely = [
        (lambda: reference_conv(x, kernel[::-1, ::-1], bias, *args),
         "the output is a true convolution (kernel flipped): Keras does cross-correlation, "
         "so use kernel[a, b] as it is."),
        (lambda: reference_conv(x, kernel, None, *args),
         "the bias was dropped: add bias[f] to every position of filter f."),
        (lambda: reference_conv(x, kernel, bias, *args, extra_first=True),
         '"same" padding split the wrong way: when the total padding is odd, the extra '
         "row/column goes at the bottom/right, not the top/left."),
        (lambda: reference_conv(x, kernel, bias, (1, 1), s["padding"], s["dilation"]),
         "the strides were ignored: step the window by `strides` cells."),
        (lambda: reference_conv(x, kernel.transpose(1, 0, 2, 3), bias, *args) if kernel.shape[0] == kernel.shape[1] else None,
         "kernel rows and columns swapped: kernel[a, b] multiplies input row i + a, column j + b."),
        (lambda: reference_conv(x, kernel, bias, s["strides"], s["padding"], (1, 1)),
         "the dilation was ignored: kernel cell (a, b) reads input row i + a * dh, column j + b * dw."),
    ]
    expect_close(got, expected, what=what, rtol=1e-4, atol=1e-4, likely_causes=likely,
                 shape_hint="the output should have conv_output_length(...) rows and columns, and one channel per filter.")


# --------------------------------------------------------------------------
# Task 1: conv_output_length
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="conv_output_length")
def test_output_length_by_hand(exercise):
    """conv_output_length gives the sizes worked out by hand"""
    cases = [
        ((5, 3), {}, 3, "a 3-wide window fits 3 times in 5 cells"),
        ((150, 3), {}, 148, "the book's first layer: 150 -> 148"),
        ((148, 2), {"stride": 2}, 74, "pooling 148 by 2 gives 74"),
        ((5, 3), {"stride": 2}, 2, "valid, stride 2: (5 - 3) // 2 + 1"),
        ((7, 3), {"dilation": 2}, 3, "a 3-kernel dilated by 2 spans 5 cells"),
        ((5, 3), {"padding": "same"}, 5, '"same" at stride 1 keeps the length'),
        ((7, 2), {"stride": 2, "padding": "same"}, 4, '"same": ceil(7 / 2) = 4'),
        ((6, 3), {"stride": 2, "padding": "SAME"}, 3, 'padding in any case: ceil(6 / 2) = 3'),
    ]
    for args, kwargs, expected, why in cases:
        got = exercise.conv_output_length(*args, **kwargs)
        call = f"conv_output_length({', '.join(map(str, args))}{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
        expect(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
               f"{call} should return an int, got {type(got).__name__} {got!r}.")
        hint = ""
        if kwargs.get("padding", "valid").lower() == "same" and got == args[0] // kwargs.get("stride", 1):
            hint = "\nLikely cause: rounding down; \"same\" rounds up: ceil(n / stride) = -(-n // stride)."
        expect(got == expected, f"{call}: expected {expected} ({why}), got {got}.{hint}")


@pytest.mark.points(1, task="conv_output_length")
@given(n=st.integers(1, 40), k=st.integers(1, 6), stride=st.integers(1, 4), dilation=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]))
def test_output_length_matches_keras(exercise, n, k, stride, dilation, padding):
    """conv_output_length agrees with Keras for any size, stride, dilation and padding"""
    span = (k - 1) * dilation + 1
    if padding == "valid" and span > n:
        return  # covered by the bad-input check
    if stride > 1 and dilation > 1:
        dilation = 1
    layer = keras.layers.Conv2D(1, (k, 1), strides=(stride, 1), padding=padding, dilation_rate=(dilation, 1))
    expected = layer.compute_output_shape((1, n, 1, 1))[1]
    got = exercise.conv_output_length(n, k, stride, padding, dilation)
    expect(got == expected, f"conv_output_length({n}, {k}, stride={stride}, padding={padding!r}, "
                            f"dilation={dilation}): Keras gives {expected}, got {got}.")


@pytest.mark.points(1, task="conv_output_length")
def test_output_length_rejects_bad_input(exercise):
    """conv_output_length raises ValueError for sizes and paddings that make no sense"""
    expect_raises(ValueError, exercise.conv_output_length, 2, 3, what="conv_output_length(2, 3)",
                  why='a 3-wide window does not fit in 2 cells with "valid" padding')
    expect_raises(ValueError, exercise.conv_output_length, 5, 3, 1, "full", what='conv_output_length(5, 3, 1, "full")',
                  why='padding must be "valid" or "same"')
    expect_raises(ValueError, exercise.conv_output_length, 5, 3, 0, what="conv_output_length(5, 3, stride=0)",
                  why="a stride of 0 never moves the window")
    # Every size the docstring promises to check, not only the stride: a zero kernel or dilation "fits" anywhere.
    expect_raises(ValueError, exercise.conv_output_length, 5, 0, what="conv_output_length(5, 0)",
                  why="a kernel needs at least one cell")
    expect_raises(ValueError, exercise.conv_output_length, 5, 3, 1, "valid", 0,
                  what='conv_output_length(5, 3, 1, "valid", dilation=0)', why="a dilation of 0 puts every kernel cell on one pixel")
    expect_raises(ValueError, exercise.conv_output_length, 5.5, 3, what="conv_output_length(5.5, 3)",
                  why="a length is a whole number of cells")


# --------------------------------------------------------------------------
# Task 2: extract_patches
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="extract_patches")
def test_extract_patches_by_hand(exercise):
    """extract_patches returns the windows worked out by hand, zero-padded at the bottom/right for "same\""""
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
    got = exercise.extract_patches(x, 2)
    expected = np.array([[[[1, 2], [4, 5]], [[2, 3], [5, 6]]], [[[4, 5], [7, 8]], [[5, 6], [8, 9]]]], np.float32)
    expect_close(got, expected.reshape(1, 2, 2, 2, 2, 1), what="extract_patches(x = [[1 2 3] [4 5 6] [7 8 9]], 2)",
                 shape_hint="expected (N, H', W', kh, kw, C) = (1, 2, 2, 2, 2, 1).")
    got = exercise.extract_patches(x, 2, strides=2, padding="same")
    # ceil(3 / 2) = 2 windows per axis; 1 cell of padding, and it goes after (bottom/right).
    expected = np.array([[[[1, 2], [4, 5]], [[3, 0], [6, 0]]], [[[7, 8], [0, 0]], [[9, 0], [0, 0]]]], np.float32)
    wrong_side = np.array([[[[0, 0], [0, 1]], [[0, 0], [2, 3]]], [[[0, 4], [0, 7]], [[5, 6], [8, 9]]]], np.float32)
    expect_close(got, expected.reshape(1, 2, 2, 2, 2, 1),
                 what='extract_patches(x = [[1 2 3] [4 5 6] [7 8 9]], 2, strides=2, padding="same")',
                 likely_causes=[(wrong_side.reshape(1, 2, 2, 2, 2, 1),
                                 '"same" padding added at the top/left: the odd cell goes at the bottom/right.')])


@pytest.mark.points(2, task="extract_patches")
@given(s=conv_settings())
def test_extract_patches_any_setting(exercise, s):
    """extract_patches matches a loop-by-loop reference for any kernel, stride, padding and dilation"""
    x, _, _ = arrays_for(s)
    got = exercise.extract_patches(x, s["kernel"], strides=s["strides"], padding=s["padding_case"],
                                   dilation_rate=s["dilation"])
    args = (s["kernel"], s["strides"], s["padding"], s["dilation"])
    expect_close(
        got, reference_patches(x, *args),
        what=call_text("extract_patches", x, kernel_size=s["kernel"], strides=s["strides"],
                       padding=s["padding_case"], dilation_rate=s["dilation"]),
        rtol=0, atol=0,
        likely_causes=[
            (lambda: reference_patches(x, *args, extra_first=True),
             '"same" padding split the wrong way: the odd cell goes at the bottom/right.'),
            (lambda: reference_patches(x, s["kernel"], s["strides"], s["padding"], (1, 1)),
             "dilation ignored: kernel cell (a, b) reads input row i * sh + a * dh."),
            (lambda: reference_patches(x, s["kernel"], (1, 1), s["padding"], s["dilation"]),
             "the strides were ignored: the window at output (i, j) starts at input row i * sh, column j * sw."),
        ],
        shape_hint="expected (N, H', W', kh, kw, C), with H' and W' as conv_output_length gives them.",
    )


# --------------------------------------------------------------------------
# Task 3: conv2d
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="conv2d")
def test_conv2d_by_hand(exercise):
    """conv2d on a 3x3 image and a 2x2 kernel gives the values worked out by hand"""
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
    kernel = np.array([[1, 0], [0, -1]], np.float32).reshape(2, 2, 1, 1)
    # Every window [[a b] [c d]] gives a - d = -4; a flipped kernel would give d - a = +4.
    got = exercise.conv2d(x, kernel)
    expect_close(got, np.full((1, 2, 2, 1), -4.0), what="conv2d([[1 2 3] [4 5 6] [7 8 9]], kernel [[1 0] [0 -1]])",
                 likely_causes=[(np.full((1, 2, 2, 1), 4.0),
                                 "the kernel was flipped (true convolution): Keras does cross-correlation, "
                                 "so out[i, j] = x[i, j] * k[0, 0] + ... + x[i+1, j+1] * k[1, 1].")])
    got = exercise.conv2d(x, np.concatenate([kernel, -kernel], axis=3), bias=np.array([10, 20], np.float32))
    expected = np.stack([np.full((2, 2), 6.0), np.full((2, 2), 24.0)], axis=-1)[np.newaxis]
    expect_close(got, expected, what="conv2d(x, two filters [[1 0] [0 -1]] and its negative, bias=[10, 20])",
                 likely_causes=[(np.stack([np.full((2, 2), -4.0), np.full((2, 2), 4.0)], -1)[np.newaxis],
                                 "the bias was not added: add bias[f] to every output of filter f.")])


@pytest.mark.points(3, task="conv2d")
@given(s=conv_settings(allow_dilation=False, allow_strides=False, paddings=("valid",)))
def test_conv2d_valid_matches_keras(exercise, s):
    """conv2d equals keras.layers.Conv2D with "valid" padding, for any kernel, channels and filters"""
    check_conv2d_against_keras(exercise, s)


@pytest.mark.points(3, task="conv2d")
@given(s=conv_settings(allow_dilation=False))
def test_conv2d_strides_and_same_padding_match_keras(exercise, s):
    """conv2d equals keras.layers.Conv2D with strides and "same" padding"""
    check_conv2d_against_keras(exercise, s)


@pytest.mark.points(2, task="conv2d")
@given(s=conv_settings(allow_strides=False))
def test_conv2d_dilation_matches_keras(exercise, s):
    """conv2d equals keras.layers.Conv2D with a dilated kernel"""
    check_conv2d_against_keras(exercise, s)


@pytest.mark.points(1, task="conv2d")
def test_conv2d_rejects_bad_input(exercise):
    """conv2d and extract_patches raise a clear ValueError for shapes and sizes that do not fit together"""
    x = np.zeros((1, 5, 5, 2), np.float32)
    expect_raises(ValueError, exercise.conv2d, x, np.zeros((3, 3, 3, 4), np.float32),
                  what="conv2d(x of shape (1, 5, 5, 2), kernel of shape (3, 3, 3, 4))",
                  why="the kernel expects 3 input channels but the images have 2")
    expect_raises(ValueError, exercise.conv2d, x, np.zeros((3, 3, 2, 4), np.float32), np.zeros(3, np.float32),
                  what="conv2d(x, kernel with 4 filters, bias of shape (3,))", why="the bias needs one value per filter (4)")
    expect_raises(ValueError, exercise.conv2d, x[0], np.zeros((3, 3, 2, 4), np.float32),
                  what="conv2d(x of shape (5, 5, 2), kernel)", why="x must be 4-D (N, H, W, C): a batch of images")
    expect_raises(ValueError, exercise.conv2d, x, np.zeros((3, 3, 2, 4), np.float32), padding="full",
                  what='conv2d(x, kernel, padding="full")', why='padding must be "valid" or "same"')
    expect_raises(ValueError, exercise.conv2d, x, np.zeros((3, 3, 2, 4), np.float32), strides=0,
                  what="conv2d(x, kernel, strides=0)", why="a stride of 0 never moves the window")
    # extract_patches promises the same errors, whether or not conv2d goes through it.
    expect_raises(ValueError, exercise.extract_patches, x[0], 3, what="extract_patches(x of shape (5, 5, 2), 3)",
                  why="x must be 4-D (N, H, W, C): a batch of images")
    expect_raises(ValueError, exercise.extract_patches, x.astype(np.float64), (6, 2),
                  what="extract_patches(float64 x of shape (1, 5, 5, 2), (6, 2))",
                  why='a 6-row window does not fit in 5 rows with "valid" padding')
    expect_raises(ValueError, exercise.extract_patches, x, 2, strides=(1, 0), what="extract_patches(x, 2, strides=(1, 0))",
                  why="a stride of 0 never moves the window")


@pytest.mark.points(1, task="conv2d")
def test_inputs_left_unmodified(exercise):
    """conv2d and max_pool2d leave their input arrays as they were (float32 and float64, several shapes)"""
    rng = check_rng(7)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    copies = x.copy(), kernel.copy(), bias.copy()
    exercise.conv2d(x, kernel, bias, strides=2, padding="same")
    for position, (before, name) in enumerate(zip(copies, ("x", "kernel", "bias"))):
        expect_unmodified(before, exercise.argument_after(position), what="conv2d", argument=name)
    exercise.max_pool2d(x, 3, 2, padding="same")
    expect_unmodified(copies[0], exercise.argument_after(0), what="max_pool2d", argument="x")
    # Again in float64, other shapes, "valid" padding and dilation.
    x = rng.standard_normal((1, 5, 4, 2))
    kernel = rng.standard_normal((2, 2, 2, 3))
    bias = rng.standard_normal(3)
    copies = x.copy(), kernel.copy(), bias.copy()
    exercise.conv2d(x, kernel, bias, dilation_rate=(2, 1))
    for position, (before, name) in enumerate(zip(copies, ("x", "kernel", "bias"))):
        expect_unmodified(before, exercise.argument_after(position), what="conv2d (float64)", argument=name)
    exercise.max_pool2d(x, (2, 1))
    expect_unmodified(copies[0], exercise.argument_after(0), what="max_pool2d (float64)", argument="x")


# --------------------------------------------------------------------------
# Task 4: max_pool2d
# --------------------------------------------------------------------------


@pytest.mark.points(1, task="max_pool2d")
def test_max_pool_by_hand(exercise):
    """max_pool2d on small images gives the values worked out by hand, padding with -inf, in the input's dtype, and rejects bad input"""
    x = np.array([[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 9, 8], [7, 0, 6, 5]], np.float32).reshape(1, 4, 4, 1)
    got = exercise.max_pool2d(x)
    expect_close(got, np.array([[4, 5], [7, 9]], np.float32).reshape(1, 2, 2, 1),
                 what="max_pool2d([[1 2 5 0] [3 4 1 1] [0 0 9 8] [7 0 6 5]]) (2x2 windows, stride 2)")
    negative = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)  # [[-1 -2 -3] [-4 -5 -6] [-7 -8 -9]]
    got = exercise.max_pool2d(negative, 2, padding="same")
    expect_close(got, np.array([[-1, -3], [-7, -9]], np.float32).reshape(1, 2, 2, 1),
                 what='max_pool2d([[-1 -2 -3] [-4 -5 -6] [-7 -8 -9]], 2, padding="same")',
                 likely_causes=[(np.array([[-1, 0], [0, 0]], np.float32).reshape(1, 2, 2, 1),
                                 "padded with zeros: a zero beats every negative value. Pad with -inf.")])
    # The dtype promise is judged here only, on two float dtypes, so that a stray cast costs one check.
    for images in (x, -x[:, :3, :, :].astype(np.float64).repeat(2, axis=3)):
        for padding in ("valid", "same"):
            got_dtype = np.asarray(exercise.max_pool2d(images, 2, padding=padding)).dtype
            expect(got_dtype == images.dtype,
                   f'max_pool2d({images.dtype} x of shape {images.shape}, 2, padding="{padding}") should return '
                   f"{images.dtype}, the input's dtype, got {got_dtype}.\nLikely cause: an array built with "
                   "np.zeros/np.full/np.pad's default float64, or an .astype(...) of your own; keep x's dtype.")
    # The docstring's Raises, on two dtypes: not 4-D, a size that is not positive, an unknown padding.
    expect_raises(ValueError, exercise.max_pool2d, x[0], what="max_pool2d(x of shape (4, 4, 1))",
                  why="x must be 4-D (N, H, W, C): a batch of images")
    expect_raises(ValueError, exercise.max_pool2d, x.astype(np.float64), 0, what="max_pool2d(float64 x, pool_size=0)",
                  why="a pool needs at least one cell")
    expect_raises(ValueError, exercise.max_pool2d, x, 2, None, "full", what='max_pool2d(x, 2, padding="full")',
                  why='padding must be "valid" or "same"')


@pytest.mark.points(3, task="max_pool2d")
@given(pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       strides=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
       padding=st.sampled_from(["valid", "same"]), size=st.tuples(st.integers(3, 10), st.integers(3, 10)),
       channels=st.integers(1, 3), batch=st.integers(1, 2), shift=st.sampled_from([0.0, -3.0]),
       seed=st.integers(0, 2**16))
def test_max_pool_matches_keras(exercise, pool, strides, padding, size, channels, batch, shift, seed):
    """max_pool2d equals keras.layers.MaxPooling2D for any pool size, strides and padding"""
    x = (check_rng(seed).standard_normal((batch, *size, channels)) + shift).astype(np.float32)
    got = exercise.max_pool2d(x, pool, strides, padding)
    expected = keras_pool(x, pool, strides, padding)
    effective = strides or pool
    zero_padded = lambda: reference_patches(x, pool, effective, padding, (1, 1), pad_value=0.0).max(axis=(3, 4))
    before = lambda: reference_patches(x, pool, effective, padding, (1, 1), pad_value=-np.inf, extra_first=True).max(axis=(3, 4))
    ignored = lambda: reference_patches(x, pool, (1, 1), padding, (1, 1), pad_value=-np.inf).max(axis=(3, 4))
    expect_close(
        got, expected,
        what=call_text("max_pool2d", x, pool_size=pool, strides=strides, padding=padding),
        rtol=0, atol=0,
        likely_causes=[
            (zero_padded, "padded with zeros: a zero beats every negative value. Pad with -inf."),
            (before, '"same" padding split the wrong way: the odd cell goes at the bottom/right.'),
            (ignored, "the strides were ignored (strides=None means strides = pool_size)."),
        ],
        shape_hint="strides=None means strides = pool_size; the output length is conv_output_length(n, pool, stride, padding).",
    )


# --------------------------------------------------------------------------
# The whole module: NumPy only
# --------------------------------------------------------------------------

# The worker that runs this exercise cannot read these packages' folders (the manifest's blocked_packages):
# an import of any of them fails there, whatever the module does to get around it.
FRAMEWORKS = course.exercise("conv").blocked_packages


@pytest.mark.points(2, task="max_pool2d")
def test_numpy_only(exercise):
    """the module uses NumPy only: it imports no framework, and works where TensorFlow and Keras cannot be imported

    Partly form on purpose: computing the convolution yourself is the lesson of this exercise, so the module's
    imports are read; then conv2d and max_pool2d are called where no framework can be imported: they must run
    there and return arrays of the right shape that follow their input. Their values are the other checks'
    business: a wrong result (a flipped kernel, a mean instead of a maximum) costs those checks, not this one too.
    """
    exercise.ensure_imported()  # an import error is reported as such, not as a framework problem
    imports = imported_modules(exercise.source())
    frameworks = [(line, name) for line, name in imports if name.split(".")[0] in FRAMEWORKS]
    dynamic = [(line, name) for line, name in imports if name.startswith("<")]
    expect(not frameworks, "this exercise is NumPy only, but the module imports "
           + ", ".join(f"{name} (line {line})" for line, name in frameworks)
           + ". Compute the convolution yourself: tf.nn.conv2d or a Keras layer is not an answer.")
    expect(not dynamic, "this exercise is NumPy only; the module imports code by a computed name ("
           + ", ".join(f"line {line}: {name}" for line, name in dynamic) + "). Use plain `import numpy as np`.")
    rng = check_rng(0)
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    calls = ((lambda images: exercise.conv2d(images, kernel, None, strides=2, padding="same"),
              'conv2d(x, kernel, strides=2, padding="same")', keras_conv(x, kernel, None, (2, 2), "same", (1, 1))),
             (lambda images: exercise.max_pool2d(images, 2, None, "valid"), "max_pool2d(x, 2)",
              keras_pool(x, 2, None, "valid")))
    for call, what, reference in calls:
        try:
            got, shifted = (np.asarray(call(images)) for images in (x, x + 1))
        except ImportError as error:  # ModuleNotFoundError too: the learner's exception, as its builtin class
            raise CheckFailure(
                f"{what} needs a framework: with TensorFlow, Keras, SciPy, Torch and JAX unavailable it raised "
                f"{describe_student_error(error)}\nCompute it with NumPy alone.") from None
        expect(got.shape == shifted.shape == reference.shape,
               f"{what}, with no framework available, should return an array of shape {reference.shape}, got "
               f"{got.shape}. (Its values are judged by the checks of {what.split('(')[0]}.)")
        expect(not np.array_equal(got, shifted),
               f"{what} gives the same result for x and for x + 1: it does not compute from its input.")
