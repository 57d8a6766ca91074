"""A small convolutional base pretrained on eight animal classes, shipped offline.

The chapter's transfer-learning lesson reuses VGG16's ImageNet weights, which
cannot be downloaded here. This module gives a stand-in that needs no network:
a four-convolution base trained (by `python -m data.pretrain_base`) on the
eight Animal-MNIST classes that are neither cat nor dog: bear, bird, cow,
elephant, giraffe, horse, sheep and zebra. Cats vs dogs is then a new task
for it, as it is for VGG16: real transfer learning on the embedded data.

The base is laid out like VGG16's, with the same layer names, so everything
written for VGG16 (`unfreeze_from(base, "block3_conv1")`, the frozen model,
feature extraction) works on it too:

| layer | output (28x28x1 input) | parameters |
| --- | --- | --- |
| `input` | (28, 28, 1) | 0 |
| `block1_conv1` Conv2D 32 3x3 relu same | (28, 28, 32) | 320 |
| `block1_pool` MaxPooling2D 2 | (14, 14, 32) | 0 |
| `block2_conv1` Conv2D 64 3x3 relu same | (14, 14, 64) | 18,496 |
| `block2_pool` MaxPooling2D 2 | (7, 7, 64) | 0 |
| `block3_conv1` Conv2D 128 3x3 relu same | (7, 7, 128) | 73,856 |
| `block3_conv2` Conv2D 128 3x3 relu same | (7, 7, 128) | 147,584 |
| `block3_pool` MaxPooling2D 2 | (3, 3, 128) | 0 |

240,256 parameters in all. Block 3 plays the part of VGG16's block 5: it is
the block to unfreeze when fine-tuning.

Inputs are float32 images in [0, 1], one grey channel: `prepare_images`
turns the uint8 arrays of `data.load_cats_and_dogs()` into that. The
provenance of the weights (script, seeds, data, accuracy) is in
`PRETRAINED.md`.

Example:

```python
import data
from data.pretrained import load_pretrained_base, prepare_images

images, labels = data.load_cats_and_dogs()
base = load_pretrained_base()
features = base.predict(prepare_images(images[:8]), verbose=0)  # (8, 3, 3, 128)
```
"""

import functools
import os
from pathlib import Path

import numpy as np

__all__ = [
    "FINE_TUNE_FROM",
    "INPUT_SHAPE",
    "LAYER_NAMES",
    "PRETRAINED_CLASSES",
    "WEIGHTS_PATH",
    "build_base",
    "load_pretrained_base",
    "prepare_images",
]

WEIGHTS_PATH = Path(__file__).resolve().parent / "pretrained_base.npz"
"""The shipped weights, written by `python -m data.pretrain_base`."""

INPUT_SHAPE = (28, 28, 1)
"""The input the base was trained on: 28x28 silhouettes, one channel."""

PRETRAINED_CLASSES = (
    "bear", "bird", "cow", "elephant", "giraffe", "horse", "sheep", "zebra",
)  # fmt: skip
"""The eight Animal-MNIST classes the base was trained to tell apart."""

FINE_TUNE_FROM = "block3_conv1"
"""The first layer of the last block: this base's `"block5_conv1"`."""

# (name, filters) of each convolution, and where the 2x2 max-poolings go.
_CONVOLUTIONS = (
    ("block1_conv1", 32),
    ("block2_conv1", 64),
    ("block3_conv1", 128),
    ("block3_conv2", 128),
)
_POOL_AFTER = {"block1_conv1": "block1_pool", "block2_conv1": "block2_pool", "block3_conv2": "block3_pool"}

LAYER_NAMES = ("input",) + tuple(
    name for conv, _ in _CONVOLUTIONS for name in (conv, _POOL_AFTER.get(conv)) if name
)
"""Every layer of the base, in order."""


def _keras():
    """Imports Keras with TensorFlow's oneDNN kernels off (see `checks/conftest.py`)."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    return keras


def _check_input_shape(input_shape):
    """Returns `input_shape` as a tuple `(height, width, 1)`, or raises ValueError."""
    try:
        shape = tuple(int(side) for side in input_shape)
        valid = len(shape) == 3 and shape == tuple(input_shape) and shape[2] == 1 and min(shape[:2]) >= 8
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "`input_shape` must be (height, width, 1) with height and width of at "
            f"least 8 (three 2x2 poolings). Received: input_shape={input_shape!r}"
        )
    return shape


def build_base(input_shape=INPUT_SHAPE):
    """Builds the base's architecture with fresh (untrained) weights.

    The same network `load_pretrained_base` fills with the shipped weights;
    trained from scratch, it is the chapter's "no pretraining" baseline.

    Args:
        input_shape: `(height, width, 1)`. The convolutions work at any size
            of at least 8x8; the weights were trained at 28x28.

    Returns:
        A `keras.Model` named `"animal_base"` with the layers of `LAYER_NAMES`.

    Raises:
        ValueError: if `input_shape` is not `(height, width, 1)`.
    """
    keras = _keras()
    shape = _check_input_shape(input_shape)
    inputs = keras.Input(shape=shape, name="input")
    x = inputs
    for name, filters in _CONVOLUTIONS:
        x = keras.layers.Conv2D(filters, 3, activation="relu", padding="same", name=name)(x)
        if name in _POOL_AFTER:
            x = keras.layers.MaxPooling2D(2, name=_POOL_AFTER[name])(x)
    return keras.Model(inputs, x, name="animal_base")


@functools.lru_cache(maxsize=None)
def _load_weight_arrays(path):
    """Reads `{layer name: [kernel, bias]}` from the weights file, once."""
    if not path.is_file():
        raise FileNotFoundError(
            f"The pretrained weights {path} are missing. Rebuild them with "
            "`python -m data.pretrain_base` (run from the repository root)."
        )
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    weights = {}
    for name, _ in _CONVOLUTIONS:
        keys = (f"{name}/kernel", f"{name}/bias")
        missing = [key for key in keys if key not in arrays]
        if missing:
            raise ValueError(f"{path} is not this base's weights file: it lacks {missing}.")
        weights[name] = [arrays[key] for key in keys]
    return weights


def load_pretrained_base(input_shape=INPUT_SHAPE, weights_path=None):
    """Returns the pretrained convolutional base, built offline.

    Each call builds a new model, so freezing or fine-tuning one copy never
    changes another. All layers are trainable, as `keras.applications.VGG16`
    returns them.

    Args:
        input_shape: `(height, width, 1)`; defaults to the 28x28 the base was
            trained on.
        weights_path: a weights file written by `python -m data.pretrain_base`;
            defaults to the shipped `data/pretrained_base.npz`.

    Returns:
        A `keras.Model` named `"animal_base"`, the architecture of
        `build_base` with the pretrained weights. Its output at 28x28 is
        `(None, 3, 3, 128)`. It expects `prepare_images` inputs.

    Raises:
        FileNotFoundError: if the weights file is missing.
        ValueError: if `input_shape` is invalid or the file holds weights of
            another shape.
    """
    path = WEIGHTS_PATH if weights_path is None else Path(weights_path).expanduser().resolve()
    weights = _load_weight_arrays(path)
    base = build_base(input_shape)
    for name, arrays in weights.items():
        layer = base.get_layer(name)
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            raise ValueError(
                f"{path}: layer {name} needs weights of shapes {expected}, the file has {got}. "
                "Was it written by another version of `python -m data.pretrain_base`?"
            )
        layer.set_weights(arrays)
    return base


def prepare_images(images):
    """Turns uint8 silhouettes into the base's input.

    Args:
        images: uint8 array `(n, height, width)` (or `(n, height, width, 1)`),
            values 0-255, such as those of `data.load_cats_and_dogs()`.

    Returns:
        A new float32 array `(n, height, width, 1)` with values in [0, 1].

    Raises:
        ValueError: if `images` is not uint8 of one of those shapes.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 1):
        raise ValueError(
            "`images` must be a uint8 array of shape (n, height, width) or "
            f"(n, height, width, 1). Received: dtype {images.dtype}, shape {images.shape}"
        )
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return images.astype(np.float32) / np.float32(255)
