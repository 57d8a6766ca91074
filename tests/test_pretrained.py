"""Tests of the embedded pretrained base: its loader, its weights file, its script and the demo."""

import hashlib
import os
import subprocess
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import pytest

import data
from data import pretrain_base
from data.pretrained import LAYER_NAMES, WEIGHTS_PATH, build_base, load_pretrained_base, prepare_images
from tests.conftest import ROOT

CONVOLUTIONS = ("block1_conv1", "block2_conv1", "block3_conv1", "block3_conv2")


def weights_digest(arrays):
    """sha256 over the sorted keys and each array's raw bytes: unlike the file's hash, free of the zlib build."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def file_arrays(path=WEIGHTS_PATH):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


# --------------------------------------------------------------------------
# The weights file
# --------------------------------------------------------------------------


def test_weights_file_is_small_and_plain():
    assert WEIGHTS_PATH.is_file()
    assert WEIGHTS_PATH.stat().st_size < 2_000_000
    with zipfile.ZipFile(WEIGHTS_PATH) as archive:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    arrays = file_arrays()
    assert sorted(arrays) == sorted(f"{name}/{part}" for name in CONVOLUTIONS for part in ("kernel", "bias"))
    assert all(array.dtype == np.float32 and np.isfinite(array).all() for array in arrays.values())


def test_weights_file_matches_the_scripts_architecture():
    """What the script would write for build_base() has the keys and shapes of the shipped file."""
    expected = pretrain_base.weight_arrays(build_base())
    shipped = file_arrays()
    assert sorted(expected) == sorted(shipped)
    for key, array in expected.items():
        assert shipped[key].shape == array.shape, key


def test_weights_digest_is_documented():
    """PRETRAINED.md gives the digest of the shipped weights: the file and its provenance go together."""
    digest = weights_digest(file_arrays())
    assert digest in (data.DATA_DIR / "PRETRAINED.md").read_text()


def test_save_weights_is_byte_reproducible(tmp_path):
    arrays = {"b/kernel": np.arange(6, dtype=np.float32).reshape(2, 3), "a/bias": np.ones(3, np.float32)}
    first = pretrain_base.save_weights(arrays, tmp_path / "one.npz")
    second = pretrain_base.save_weights(dict(reversed(arrays.items())), tmp_path / "two.npz")
    assert first == second == hashlib.sha256((tmp_path / "one.npz").read_bytes()).hexdigest()
    loaded = file_arrays(tmp_path / "one.npz")
    assert all(np.array_equal(loaded[key], value) for key, value in arrays.items())


# --------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------


def test_loader_builds_the_documented_base():
    base = load_pretrained_base()
    assert isinstance(base, keras.Model) and base.name == "animal_base"
    assert tuple(layer.name for layer in base.layers) == LAYER_NAMES
    assert tuple(base.input_shape) == (None, 28, 28, 1)
    assert tuple(base.output_shape) == (None, 3, 3, 128)
    assert base.count_params() == 240_256
    assert len(base.trainable_weights) == 8 and base.trainable


def test_loader_fills_in_the_shipped_weights():
    base = load_pretrained_base()
    shipped = file_arrays()
    for name in CONVOLUTIONS:
        kernel, bias = base.get_layer(name).get_weights()
        assert np.array_equal(kernel, shipped[f"{name}/kernel"])
        assert np.array_equal(bias, shipped[f"{name}/bias"])


def test_each_call_gives_an_independent_model():
    first, second = load_pretrained_base(), load_pretrained_base()
    first.trainable = False
    first.get_layer("block1_conv1").kernel.assign(np.zeros((3, 3, 1, 32), np.float32))
    assert second.trainable and len(second.trainable_weights) == 8
    assert np.any(second.get_layer("block1_conv1").get_weights()[0] != 0)


def test_loader_other_input_sizes():
    base = load_pretrained_base(input_shape=(56, 56, 1))
    assert tuple(base.output_shape) == (None, 7, 7, 128)
    for bad in ((28, 28, 3), (4, 4, 1), (28, 28), "28x28", (28.5, 28, 1)):
        with pytest.raises(ValueError, match="input_shape"):
            load_pretrained_base(input_shape=bad)


def test_loader_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrain_base"):
        load_pretrained_base(weights_path=tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", something=np.zeros(3))
    with pytest.raises(ValueError, match="lacks"):
        load_pretrained_base(weights_path=tmp_path / "other.npz")
    wrong = pretrain_base.weight_arrays(build_base())
    wrong["block2_conv1/kernel"] = np.zeros((3, 3, 32, 65), np.float32)
    pretrain_base.save_weights(wrong, tmp_path / "wrong.npz")
    with pytest.raises(ValueError, match="block2_conv1"):
        load_pretrained_base(weights_path=tmp_path / "wrong.npz")


def test_pretrained_features_tell_cats_from_dogs_better_than_random_ones():
    """The shipped base carries knowledge: its features of unseen cats and dogs separate them.

    A nearest-class-mean classifier on the base's features, fitted on 100
    cats and 100 dogs, is scored on 200 others; the same with the untrained
    architecture is the baseline.
    """
    images, labels = data.load_cats_and_dogs()
    rows = np.concatenate([np.arange(0, 200), np.arange(1000, 1200)])
    x, y = prepare_images(images[rows]), labels[rows]
    fit = np.r_[0:100, 200:300]
    score = np.r_[100:200, 300:400]

    def nearest_mean_accuracy(base):
        features = base.predict(x, verbose=0).reshape(len(x), -1)
        features = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-8)
        means = np.stack([features[fit][y[fit] == c].mean(axis=0) for c in (0, 1)])
        predicted = np.argmin(((features[score, None, :] - means) ** 2).sum(axis=2), axis=1)
        return float(np.mean(predicted == y[score]))

    keras.utils.set_random_seed(0)
    pretrained_accuracy, random_accuracy = nearest_mean_accuracy(load_pretrained_base()), nearest_mean_accuracy(build_base())
    assert pretrained_accuracy > 0.8 and pretrained_accuracy > random_accuracy + 0.05, (pretrained_accuracy, random_accuracy)


def test_prepare_images():
    images = np.array([[[0, 255], [51, 102]]], np.uint8)
    before = images.copy()
    prepared = prepare_images(images)
    assert prepared.dtype == np.float32 and prepared.shape == (1, 2, 2, 1)
    assert np.allclose(prepared[0, :, :, 0], [[0, 1], [0.2, 0.4]])
    assert np.array_equal(images, before)
    assert prepare_images(images[..., None]).shape == (1, 2, 2, 1)
    for bad in (images.astype(np.float32), images[0], np.zeros((1, 2, 2, 3), np.uint8)):
        with pytest.raises(ValueError):
            prepare_images(bad)


# --------------------------------------------------------------------------
# The script and the demo
# --------------------------------------------------------------------------


def test_pretraining_split_is_fixed_and_clean():
    (x_train, y_train), (x_held, y_held) = pretrain_base.pretraining_split()
    (x_again, _), _ = pretrain_base.pretraining_split()
    assert np.array_equal(x_train, x_again)
    assert sorted(set(y_train.tolist())) == list(range(8))
    assert np.all(np.bincount(y_held) == pretrain_base.HELD_OUT_PER_CLASS)
    train_keys = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in train_keys for image in x_held)
    cat_and_dog_keys = {image.tobytes() for image in data.load_cats_and_dogs()[0]}
    assert not any(image.tobytes() in cat_and_dog_keys for image in np.concatenate([x_train, x_held]))
    assert len(x_train) + len(x_held) == len({image.tobytes() for image in np.concatenate([x_train, x_held])})


def test_script_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "base.npz"
    target.write_bytes(b"keep me")
    assert pretrain_base.main(["--output", str(target)]) == 1
    assert target.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err


def test_script_writes_what_the_loader_reads(tmp_path):
    """The real script, one epoch on 256 images: its file loads into the base."""
    target = tmp_path / "base.npz"
    run = subprocess.run([sys.executable, "-m", "data.pretrain_base", "--epochs", "1", "--train-images", "256",
                          "--output", str(target)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "held-out accuracy" in run.stdout
    base = load_pretrained_base(weights_path=target)
    assert np.array_equal(base.get_layer("block3_conv2").get_weights()[1], file_arrays(target)["block3_conv2/bias"])


def test_demo_quick_run():
    """`python -m lab.demo_transfer --quick` prints a table of four accuracies (about 10 s)."""
    run = subprocess.run([sys.executable, "-m", "lab.demo_transfer", "--quick"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    header = next(line for line in run.stdout.splitlines() if line.startswith("training images"))
    assert [cell.strip() for cell in header.split(" | ")[1:]] == ["from scratch", "feature extraction", "frozen base + head", "fine-tuned"]
    row = run.stdout.splitlines()[run.stdout.splitlines().index(header) + 2]
    values = [float(cell) for cell in row.split(" | ")]
    assert values[0] == 50 and all(0.0 <= value <= 1.0 for value in values[1:])
