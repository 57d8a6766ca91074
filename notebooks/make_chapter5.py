"""Writes ``notebooks/chapter5.ipynb``, the chapter's walk-through notebook, without outputs.

    python notebooks/make_chapter5.py          # rewrite the notebook from the cells below
    python notebooks/make_chapter5.py --check  # exit 1 if the committed notebook differs

Edit the cells here rather than in Jupyter: the notebook is committed without
outputs, its cells have fixed ids, and ``tests/test_notebook.py`` checks that
the committed file is what this script writes. Cells tagged ``figure`` must
draw at least one image, cells tagged ``grade`` grade one exercise; the test
reads those tags.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parent / "chapter5.ipynb"

# The history of a longer run than the notebook can afford: 30 epochs of the small
# silhouette convnet of `python -m lab.figures` (`lab.figures.train_run(augmented, 30)`,
# 200 cats and 200 dogs, validated on 400 held-out silhouettes), rounded to 3 decimals.
RECORDED = {
    "plain": {
        "accuracy": [0.685, 0.827, 0.858, 0.887, 0.910, 0.942, 0.952, 0.965, 0.967, 0.980, 0.985, 0.988, 0.988, 0.990, 0.990, 0.998, 1.000, 0.995, 0.998, 0.998, 0.998, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 1.000],
        "loss": [0.628, 0.416, 0.331, 0.274, 0.226, 0.181, 0.148, 0.120, 0.097, 0.079, 0.060, 0.047, 0.042, 0.034, 0.033, 0.018, 0.011, 0.015, 0.011, 0.007, 0.016, 0.002, 0.002, 0.003, 0.001, 0.000, 0.000, 0.000, 0.000, 0.000],
        "val_accuracy": [0.723, 0.790, 0.817, 0.820, 0.822, 0.848, 0.873, 0.880, 0.885, 0.890, 0.902, 0.915, 0.923, 0.925, 0.925, 0.938, 0.940, 0.933, 0.930, 0.933, 0.925, 0.923, 0.920, 0.925, 0.923, 0.923, 0.920, 0.925, 0.925, 0.925],
        "val_loss": [0.530, 0.433, 0.393, 0.393, 0.372, 0.342, 0.321, 0.301, 0.286, 0.279, 0.262, 0.260, 0.255, 0.252, 0.244, 0.238, 0.249, 0.241, 0.254, 0.266, 0.289, 0.298, 0.306, 0.312, 0.332, 0.350, 0.370, 0.389, 0.403, 0.414],
    },
    "augmentation + dropout": {
        "accuracy": [0.558, 0.658, 0.757, 0.777, 0.757, 0.780, 0.812, 0.800, 0.817, 0.790, 0.825, 0.848, 0.842, 0.845, 0.855, 0.845, 0.860, 0.895, 0.850, 0.870, 0.873, 0.855, 0.863, 0.887, 0.895, 0.858, 0.875, 0.902, 0.895, 0.913],
        "loss": [0.680, 0.588, 0.521, 0.524, 0.493, 0.478, 0.443, 0.459, 0.443, 0.443, 0.388, 0.387, 0.370, 0.360, 0.360, 0.350, 0.349, 0.301, 0.334, 0.323, 0.297, 0.322, 0.306, 0.311, 0.289, 0.303, 0.294, 0.251, 0.266, 0.243],
        "val_accuracy": [0.625, 0.735, 0.783, 0.765, 0.805, 0.825, 0.822, 0.812, 0.805, 0.835, 0.800, 0.832, 0.805, 0.830, 0.853, 0.820, 0.790, 0.875, 0.817, 0.837, 0.897, 0.835, 0.815, 0.863, 0.900, 0.885, 0.890, 0.895, 0.902, 0.908],
        "val_loss": [0.585, 0.493, 0.442, 0.467, 0.391, 0.395, 0.398, 0.378, 0.397, 0.356, 0.391, 0.369, 0.370, 0.348, 0.302, 0.375, 0.472, 0.318, 0.392, 0.382, 0.278, 0.409, 0.459, 0.355, 0.298, 0.316, 0.316, 0.298, 0.234, 0.283],
    },
}


def _recorded_cell() -> str:
    """The curves cell that holds the recorded histories, one line per metric."""
    lines = [
        'curves = load("curves")',
        "",
        'print("smooth_curve([0.5, 0.9, 0.6, 0.8, 0.7]) =", [round(v, 3) for v in curves.smooth_curve([0.5, 0.9, 0.6, 0.8, 0.7])])',
        "",
        "RECORDED = {  # history.history of lab.figures.train_run(augmented, 30), rounded",
    ]
    for run, metrics in RECORDED.items():
        lines.append(f"    {run!r}: {{".replace("'", '"'))
        for metric, values in metrics.items():
            lines.append(f'        "{metric}": [{", ".join(str(v) for v in values)}],')
        lines.append("    },")
    lines += ["}", 'show(curves.plot_history(RECORDED["plain"]))']
    return "\n".join(lines)


RECORDED_CELL = _recorded_cell()


def md(cell_id: str, text: str):
    cell = new_markdown_cell(text.strip("\n"))
    cell.id = cell_id
    return cell


def code(cell_id: str, text: str, *tags: str):
    cell = new_code_cell(text.strip("\n"))
    cell.id = cell_id
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def grade_cell(name: str):
    return code(f"{name}-grade", f'grade("{name}")', "grade")


CELLS = [
    # ------------------------------------------------------------------ start
    md("title", """
# Chapter 5 in a notebook: convnets with Keras 3

This notebook walks the chapter in the order of the seven exercises: convolution
by hand, the first MNIST convnet, a small cats-vs-dogs dataset, a convnet trained
from scratch with data augmentation and dropout, a pretrained convolutional base,
training curves, and what a convnet learned (activations, filter patterns, CAM and
Grad-CAM). Every section

1. says what it teaches and which file you edit (`exercises/NAME.py`);
2. runs **your** functions on the data embedded in `data/` (small subsets and one
   or two epochs: all the sections' cells take under a minute on two CPU cores;
   nothing downloads) and draws the chapter's figures;
3. ends with a grade cell, `grade("NAME")`: the same checks as
   `pytest checks/test_NAME.py`, run on your **saved** file in a separate process
   (a few seconds per exercise, about half a minute for exercise 5; the first
   grade also starts that process).

**How to work.** Write a function in `exercises/NAME.py`, save the file, and run
the section again from its first code cell: `load("NAME")` re-imports the saved
file (with `importlib.reload`; a module imported once is otherwise never read
again), so the cells below it use your new code. A cell that calls a function you
have not written yet stops with one line, *not started yet: write `conv2d` in
exercises/conv.py*, instead of a traceback.

Run the setup cells first (in Colab, the first one fetches the course: see below). The
sections do not depend on each other, except
that section 4 reads the folders section 3 makes, and the last cell of section 6
plots section 4's training runs. Run the notebook from the repository root or from
`notebooks/`: the first cell finds the root (the folder with `pyproject.toml`) and
puts it on `sys.path`.
"""),
    md("colab-md", """
## In Colab

Colab opens this notebook alone, without the course around it. Put the address of
your copy of the course (your fork, or the repository your course gave you) in
`COURSE_REPOSITORY` below and run the cell: it keeps the course in your Google Drive
(`COURSE_FOLDER`; Colab's own disk is wiped when the runtime stops, and your work with
it), asking once for access, clones it there the first time and installs what it needs
with `pip install -e` (Colab's TensorFlow stays as it is). Edit your exercises in
Colab's file panel (`exercises/NAME.py` in that folder; save with Ctrl+S), and run
this cell again after a runtime restart: it finds the course already there. A
private repository needs an address with a token
(`https://TOKEN@github.com/you/course.git`). Outside Colab the cell does nothing.
"""),
    code("colab", r"""
COURSE_REPOSITORY = ""  # Colab: your copy of the course, e.g. "https://github.com/you/convnet-exercises.git"
COURSE_FOLDER = "/content/drive/MyDrive/convnet-exercises"  # Colab: where it is kept ("/content/..." is lost at a restart)

import sys

if "google.colab" in sys.modules:
    import importlib.metadata
    import os
    import subprocess
    from pathlib import Path

    course = Path(COURSE_FOLDER)
    if course.is_relative_to("/content/drive") and not Path("/content/drive/MyDrive").is_dir():
        from google.colab import drive
        drive.mount("/content/drive")
    if not (course / "pyproject.toml").is_file():
        if not COURSE_REPOSITORY:
            raise RuntimeError("set COURSE_REPOSITORY in this cell to the address of your copy of the course")
        if course.exists() and any(course.iterdir()):
            raise RuntimeError(f"{course} has files but no course in it: it is left as it is; set COURSE_FOLDER "
                               "to an empty or new folder")
        subprocess.run(["git", "clone", "--quiet", COURSE_REPOSITORY, str(course)], check=True)
    try:
        importlib.metadata.version("convnet-exercises")
    except importlib.metadata.PackageNotFoundError:  # a new runtime: install what the course needs, once
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(course)], check=True)
    os.chdir(course)
    print(f"the course is in {course}: edit exercises/NAME.py there")
"""),
    md("setup-md", """
## Setup

The modules come from `exercises/` (your work). Set the environment variable
`CHECKS_TARGET` to another folder to run the notebook on other code, as
`pytest checks --target=FOLDER` grades it: in the course repository,
`CHECKS_TARGET=solutions` runs it on the reference solutions
(`tests/test_notebook.py` does that).
"""),
    code("setup", r"""
%matplotlib inline
import importlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # no TensorFlow start-up chatter
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # TensorFlow's own kernels, as in the checks

ROOT = Path.cwd().resolve()  # the repository root: the first folder up from here with a pyproject.toml
while not (ROOT / "pyproject.toml").is_file():
    if ROOT == ROOT.parent:
        raise RuntimeError(f"open this notebook inside the course repository: no pyproject.toml above {Path.cwd()}")
    ROOT = ROOT.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = os.environ.get("CHECKS_TARGET", "exercises")  # whose code runs: your exercises/ by default
TARGET_DIR = (ROOT / TARGET).resolve()
print(f"repository: {ROOT}\ncode from:  {TARGET_DIR}")
"""),
    code("helpers", r"""
import traceback
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

import data  # the embedded datasets: data.load_mnist(), data.load_cats_and_dogs(), ...
from grader import grade

if str(TARGET_DIR.parent) not in sys.path:
    sys.path.append(str(TARGET_DIR.parent))


def load(name):
    # Imports TARGET/name.py; imported before, it is reloaded, so that a saved edit counts.
    module_name = f"{TARGET_DIR.name}.{name}"
    if module_name in sys.modules:
        return importlib.reload(sys.modules[module_name])
    return importlib.import_module(module_name)


# fit() warns that its shuffle=True default does nothing for a tf.data.Dataset: make_datasets shuffles already.
warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed")


def show(fig):
    # Draws a Figure that a function returned (and closes it, if pyplot made it).
    display(fig)
    plt.close(fig)


def not_started(shell, etype, value, tb, tb_offset=None):
    # A stub that still raises NotImplementedError: one line instead of a traceback.
    frames = [f for f in traceback.extract_tb(tb) if Path(f.filename).resolve().parent == TARGET_DIR]
    if not frames:  # raised by a library, not by a stub: the usual traceback
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    where = Path(frames[-1].filename).resolve().relative_to(TARGET_DIR.parent)
    print(f"not started yet: write `{frames[-1].name}` in {where}, save it, "
          f"and run this section again from its first cell.", file=sys.stderr)


get_ipython().set_custom_exc((NotImplementedError,), not_started)
"""),
    # ------------------------------------------------------------------ 1. conv
    md("conv-md", """
## 1. Convolution and max-pooling in NumPy (`exercises/conv.py`)

A `Conv2D` layer slides a small kernel over the image and, at every position,
takes the weighted sum of the patch under it: a *cross-correlation* (the kernel is
not flipped, unlike the textbook convolution). `MaxPooling2D` keeps the largest
value of each window. You write `conv_output_length`, `extract_patches`, `conv2d`
and `max_pool2d` with NumPy alone; here they find the edges of a digit with two
hand-made kernels (Sobel filters), and Keras' own layers must agree with them.
"""),
    code("conv-lengths", r"""
conv = load("conv")

for padding in ("valid", "same"):
    for stride in (1, 2):
        length = conv.conv_output_length(28, 3, stride=stride, padding=padding)
        print(f"28 pixels, 3x3 kernel, stride {stride}, padding {padding!r:7}: {length} outputs")
"""),
    code("conv-edges", r"""
(x_train, y_train), (x_test, y_test) = data.load_mnist()  # the embedded 4,000 + 1,000 digits
digit = (x_train[:1] / 255.0).astype("float32")[..., np.newaxis]  # (1, 28, 28, 1)
sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32")
kernel = np.stack([sobel, sobel.T], axis=-1)[:, :, np.newaxis, :]  # (3, 3, 1, 2): vertical and horizontal edges

patches = conv.extract_patches(digit, 3, padding="same")  # (1, 28, 28, 3, 3, 1)
edges = conv.conv2d(digit, kernel, padding="same")  # (1, 28, 28, 2)
pooled = conv.max_pool2d(np.maximum(edges, 0), pool_size=2)  # ReLU, then 2x2 max-pooling: (1, 14, 14, 2)
print("patches", patches.shape, " edges", edges.shape, " pooled", pooled.shape)

layer = keras.layers.Conv2D(2, 3, padding="same", use_bias=False)
layer.build(digit.shape)
layer.set_weights([kernel])
keras_edges = keras.ops.convert_to_numpy(layer(digit))
keras_pooled = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(2)(np.maximum(edges, 0)))
print("conv2d equals keras.layers.Conv2D:", np.allclose(edges, keras_edges, atol=1e-4))
print("max_pool2d equals keras.layers.MaxPooling2D:", np.allclose(pooled, keras_pooled, atol=1e-6))
"""),
    code("conv-figure", r"""
panels = [(digit[0, ..., 0], "a digit, 28x28"), (edges[0, ..., 0], "vertical edges"),
          (edges[0, ..., 1], "horizontal edges"), (pooled[0, ..., 0], "ReLU + max-pool, 14x14"),
          (pooled[0, ..., 1], "ReLU + max-pool, 14x14")]
fig, axes = plt.subplots(1, len(panels), figsize=(13, 2.9))
for ax, (image, title) in zip(axes, panels):
    ax.imshow(image, cmap="gray")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
plt.show()
""", "figure"),
    md("conv-grade-md", "Grade your saved `exercises/conv.py` (the checks of `pytest checks/test_conv.py`):"),
    grade_cell("conv"),
    # ------------------------------------------------------------------ 2. mnist
    md("mnist-md", """
## 2. The first convnet: MNIST (`exercises/mnist.py`)

The chapter's first model: three `Conv2D` layers with `MaxPooling2D` between them
turn a 28x28 digit into 3x3x64 feature maps, and a small `Dense` classifier reads
them. You write the preprocessing (a channels axis, pixels scaled to [0, 1],
one-hot labels) and `build_mnist_convnet`. The book trains it on 60,000 digits for
5 epochs (99.2% test accuracy); here it trains on 2,000 embedded digits for 2 epochs
(a few seconds, roughly 75-85%). Raise `MNIST_TRAIN` (up to 4,000) and
`MNIST_EPOCHS` for a better model.
"""),
    code("mnist-build", r"""
mnist = load("mnist")

MNIST_TRAIN, MNIST_EPOCHS = 2000, 2
(x_train, y_train), (x_test, y_test) = data.load_mnist()
keras.utils.set_random_seed(0)
train_images = mnist.preprocess_images(x_train[:MNIST_TRAIN])
train_labels = mnist.preprocess_labels(y_train[:MNIST_TRAIN])
test_images, test_labels = mnist.preprocess_images(x_test), mnist.preprocess_labels(y_test)
print("images", train_images.shape, train_images.dtype, " labels", train_labels.shape, train_labels.dtype)

mnist_model = mnist.build_mnist_convnet()
mnist_model.summary()
"""),
    code("mnist-train", r"""
mnist_model.fit(train_images, train_labels, epochs=MNIST_EPOCHS, batch_size=64, verbose=2)
test_loss, test_accuracy = mnist_model.evaluate(test_images, test_labels, verbose=0)
print(f"test accuracy on 1,000 digits it never saw: {test_accuracy:.1%}")
"""),
    code("mnist-figure", r"""
predicted = mnist_model.predict(test_images[:24], verbose=0).argmax(axis=1)
fig, axes = plt.subplots(2, 12, figsize=(13, 2.8))
for ax, image, guess, truth in zip(axes.flat, test_images, predicted, y_test):
    ax.imshow(image[..., 0], cmap="gray")
    ax.set_title(f"{guess}" + ("" if guess == truth else f" ({truth})"), color="black" if guess == truth else "red")
    ax.axis("off")
fig.suptitle("The model's answers on test digits (red: wrong, the true digit in brackets)")
plt.show()
""", "figure"),
    grade_cell("mnist"),
    # ------------------------------------------------------------------ 3. dataset
    md("dataset-md", """
## 3. A small dataset: cats vs dogs (`exercises/dataset.py`)

The chapter's point is a *small* dataset: it copies 1,000 training, 500 validation
and 500 test pictures of each class out of Kaggle's 25,000 into
`train/cats`, `train/dogs`, `validation/cats`, ... You write that copy,
`make_small_dataset`, with no file in two splits and nothing overwritten.
Kaggle's photos cannot be downloaded here: `data.write_cats_vs_dogs` writes the
cat and dog silhouettes of Animal-MNIST as a Kaggle-style folder (`cat.0.jpg`,
`dog.0.jpg`, ...) instead, at 64x64 and with 100 / 50 / 50 pictures per class, in
a temporary folder.
"""),
    code("dataset-copy", r"""
import tempfile

dataset = load("dataset")

SPLIT_SIZES = {"train": 100, "validation": 50, "test": 50}  # per class; the chapter's are 1,000 / 500 / 500
IMAGE_SIDE = 64  # the chapter's pictures are 150x150; the silhouettes are 28x28 drawings
WORK = Path(tempfile.mkdtemp(prefix="chapter5_"))  # a new folder each run: make_small_dataset never overwrites
data.write_cats_vs_dogs(WORK / "original", image_size=IMAGE_SIDE, count=sum(SPLIT_SIZES.values()))
small = dataset.make_small_dataset(WORK / "original", WORK / "small", split_sizes=SPLIT_SIZES)
for split, per_class in small.items():
    counts = ", ".join(f"{len(paths)} {cls}s" for cls, paths in per_class.items())
    print(f"{split:>10}: {counts}, from {per_class['cat'][0].relative_to(WORK)} on")
"""),
    code("dataset-figure", r"""
from PIL import Image

fig, axes = plt.subplots(1, 10, figsize=(13, 1.8))
pictures = small["train"]["cat"][:5] + small["train"]["dog"][:5]
for ax, path in zip(axes, pictures):
    ax.imshow(Image.open(path))
    ax.set_title(path.name, fontsize=9)
    ax.axis("off")
plt.show()
""", "figure"),
    grade_cell("dataset"),
    # ------------------------------------------------------------------ 4. convnet
    md("convnet-md", """
## 4. A convnet from scratch, with data augmentation and dropout (`exercises/convnet.py`)

With few pictures a convnet overfits within a few epochs. The chapter's remedies
are *data augmentation* (random rotations, shifts, shears, zooms and flips, so the
model never sees the same picture twice) and *dropout* before the classifier. You
write `build_convnet` (four `Conv2D` + `MaxPooling2D` blocks, an optional
`Dropout`, a sigmoid output), `build_augmentation` (Keras 3 preprocessing layers
in place of 2019's `ImageDataGenerator`) and `make_datasets` (the three folders
of section 3 as `tf.data` datasets, pixels in [0, 1], cat = 0 and dog = 1; run
section 3 first).
"""),
    code("convnet-datasets", r"""
convnet = load("convnet")

train_dataset, validation_dataset, test_dataset = convnet.make_datasets(
    WORK / "small", image_size=(IMAGE_SIDE, IMAGE_SIDE), batch_size=20)
batch_images, batch_labels = next(iter(train_dataset))
print("a training batch:", tuple(batch_images.shape), batch_images.dtype.name,
      f"pixels {float(np.min(batch_images)):.1f}-{float(np.max(batch_images)):.1f};",
      "labels", np.asarray(batch_labels).ravel()[:10].astype(int), "(cat 0, dog 1)")
augment = convnet.build_augmentation(seed=0)
"""),
    code("convnet-augmentation-figure", r"""
fig, axes = plt.subplots(2, 8, figsize=(13, 3.6))
for row, image in zip(axes, batch_images[:2]):
    row[0].imshow(image)
    row[0].set_title("original", fontsize=9)
    for ax in row[1:]:
        ax.imshow(np.clip(augment(image[np.newaxis], training=True)[0], 0, 1))
        ax.set_title("augmented", fontsize=9)
    for ax in row:
        ax.axis("off")
plt.show()
""", "figure"),
    md("convnet-train-md", """
Two models of the same shape, trained for `CONVNET_EPOCHS` epochs: as it is, and
with the augmentation (on the training set only) and `dropout=0.5`. Two epochs show
that training works, not yet who overfits: section 6 reads longer curves.
"""),
    code("convnet-train", r"""
CONVNET_EPOCHS = 2
histories = {}
for name, dropout in (("plain", None), ("augmentation + dropout", 0.5)):
    keras.utils.set_random_seed(0)
    model = convnet.build_convnet(input_shape=(IMAGE_SIDE, IMAGE_SIDE, 3), dropout=dropout)
    train = train_dataset if dropout is None else train_dataset.map(lambda x, y: (augment(x, training=True), y))
    histories[name] = model.fit(train, validation_data=validation_dataset, epochs=CONVNET_EPOCHS, verbose=0)
    _, test_accuracy = model.evaluate(test_dataset, verbose=0)
    print(f"{name:>24}: {model.count_params():,} parameters, training accuracy "
          f"{histories[name].history['accuracy'][-1]:.0%}, validation {histories[name].history['val_accuracy'][-1]:.0%}, "
          f"test {test_accuracy:.0%}")
"""),
    grade_cell("convnet"),
    # ------------------------------------------------------------------ 5. transfer
    md("transfer-md", """
## 5. A pretrained convolutional base (`exercises/transfer.py`)

Few pictures, little to learn from: reuse the convolutional base of a network
trained on a large dataset. *Feature extraction* runs the pictures once through
the frozen base and trains a small classifier on its outputs (or puts the frozen
base under a new head); *fine-tuning* then unfreezes the base's last block and
trains it at a very low learning rate. The book's base is VGG16 with ImageNet
weights; `build_conv_base(weights=None)` builds its architecture without
downloading anything. For real transfer offline, `data.pretrained` ships a small
base laid out like VGG16 and pretrained on eight *other* animals (no cats, no dogs);
its last block starts at `block3_conv1`, the part VGG16's `block5_conv1` plays.
The training set is 200 silhouettes, the test set 500 others
(`python -m lab.demo_transfer` runs the full comparison).
"""),
    code("transfer-vgg16", r"""
transfer = load("transfer")

vgg16 = transfer.build_conv_base(weights=None)  # the architecture only: ImageNet weights are never downloaded
print(f"VGG16's base at 150x150: output {tuple(vgg16.output.shape)}, {vgg16.count_params():,} parameters")
"""),
    code("transfer-features", r"""
import tensorflow as tf
from data.pretrained import FINE_TUNE_FROM, load_pretrained_base
from lab.demo_transfer import split_cats_and_dogs, training_subset

TRANSFER_TRAIN = 200  # 100 cats, 100 dogs
pool, (silhouettes_test, labels_test) = split_cats_and_dogs()  # 500 test silhouettes, duplicates removed
silhouettes, labels = training_subset(pool, TRANSFER_TRAIN, repeat=0)
batches = lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(20)

keras.utils.set_random_seed(0)
base = load_pretrained_base()
features, feature_labels = transfer.extract_features(base, batches(silhouettes, labels))
test_features, test_feature_labels = transfer.extract_features(base, batches(silhouettes_test, labels_test))
print("features", features.shape, "labels", feature_labels.shape)
classifier = transfer.build_feature_classifier(int(np.prod(features.shape[1:])))
classifier.fit(features.reshape(len(features), -1), feature_labels, epochs=10, batch_size=20, verbose=0)
accuracy = {"feature extraction": classifier.evaluate(
    test_features.reshape(len(test_features), -1), test_feature_labels, verbose=0)[1]}
"""),
    code("transfer-fine-tune", r"""
keras.utils.set_random_seed(0)
base = load_pretrained_base()
base_weights = len(base.trainable_weights)
model = transfer.build_frozen_model(base)
print(f"trainable weights: {base_weights} in the base alone, {len(model.trainable_weights)} in the frozen model")
model.fit(silhouettes, labels, epochs=2, batch_size=20, verbose=0)
accuracy["frozen base + head"] = model.evaluate(silhouettes_test, labels_test, verbose=0)[1]

unfrozen = transfer.unfreeze_from(base, FINE_TUNE_FROM)
model = transfer.compile_for_fine_tuning(model)
print(f"unfreeze_from made {unfrozen} trainable: {len(model.trainable_weights)} trainable weights now")
model.fit(silhouettes, labels, epochs=1, batch_size=20, verbose=0)
accuracy["fine-tuned"] = model.evaluate(silhouettes_test, labels_test, verbose=0)[1]
"""),
    code("transfer-figure", r"""
fig, ax = plt.subplots(figsize=(7, 2.6))
bars = ax.barh(list(accuracy), list(accuracy.values()), color="tab:blue")
ax.bar_label(bars, labels=[f"{a:.1%}" for a in accuracy.values()], padding=3)
ax.set_xlim(0.4, 1.0)
ax.invert_yaxis()
ax.set_xlabel(f"test accuracy on {len(labels_test)} silhouettes, {TRANSFER_TRAIN} training images")
ax.set_title("Reusing a base pretrained on other animals")
plt.show()
""", "figure"),
    grade_cell("transfer"),
    # ------------------------------------------------------------------ 6. curves
    md("curves-md", """
## 6. Reading training curves (`exercises/curves.py`)

Every training run ends with the same two pictures: accuracy and loss per epoch,
training as dots and validation as a line. You write `smooth_curve` (an
exponential moving average, which makes the noisy validation curves of small
datasets readable) and `plot_history`, which draws both panels from what
`model.fit` returned.

The notebook's own runs are too short to show anything, so the first histories were
recorded from a longer one: 30 epochs of the small silhouette convnet of
`python -m lab.figures` (200 cats and 200 dogs, 400 held-out silhouettes to
validate), pasted here as numbers. Without augmentation the training accuracy
climbs to 100% while the validation accuracy stalls and the validation loss turns
up after about 15 epochs: overfitting, and the epoch to stop at.
"""),
    code("curves-recorded", RECORDED_CELL, "figure"),
    md("curves-smoothed-md", """
With augmentation and dropout the training and validation curves stay together,
but the validation curves are noisy; smoothed, the two runs compare at a glance:
"""),
    code("curves-smoothed", r"""
show(curves.plot_history(RECORDED["plain"], smooth=True))
show(curves.plot_history(RECORDED["augmentation + dropout"], smooth=True))
""", "figure"),
    md("curves-short-md", "And the two short runs of section 4, as `model.fit` returned them:"),
    code("curves-short", r"""
for name, history in histories.items():
    print(name)
    show(curves.plot_history(history))
""", "figure"),
    grade_cell("curves"),
    # ------------------------------------------------------------------ 7. visualize
    md("visualize-md", """
## 7. What the convnet learned (`exercises/visualize.py`)

Three ways of looking inside: the **activations** of the first layers for one
picture (`build_activation_model`, `feature_map_grid`), the **filter patterns**,
pictures that a filter responds to most, found by gradient ascent from grey noise
(`generate_filter_pattern`, `deprocess_image`), and **heatmaps of class
activation**: where in the picture the model sees the class (`class_activation_map`
for a model that ends with global average pooling, `grad_cam` for any convnet,
`overlay_heatmap` to lay them over the picture). The model is a small convnet
trained on cat and dog silhouettes pasted into one quarter of an empty 56x56
canvas; its weights ship in `data/cam_model.weights.npz`.
"""),
    code("visualize-activations", r"""
from data import train_cam_model as cam

visualize = load("visualize")

cam_model = cam.load_cam_model()
_, (held_out, held_out_labels) = cam.split()  # 400 silhouettes the model never trained on
cat = (held_out[np.flatnonzero(held_out_labels == 0)[3]] / 255.0).astype("float32")[np.newaxis, ..., np.newaxis]
layer_names = ["conv_1", "pool_1", "conv_2", "pool_2"]
activation_model = visualize.build_activation_model(cam_model, layer_names)
activations = activation_model.predict(cat, verbose=0)
activations = activations if isinstance(activations, (list, tuple)) else [activations]
grids = [visualize.feature_map_grid(np.asarray(a), images_per_row=16) for a in activations]
for name, activation, grid in zip(layer_names, activations, grids):
    print(f"{name}: activation {tuple(np.shape(activation))}, grid {grid.shape} {grid.dtype}")
"""),
    code("visualize-activations-figure", r"""
heights = [0.7] + [grid.shape[0] / grid.shape[1] * 8 for grid in grids]
fig, axes = plt.subplots(len(grids) + 1, 1, figsize=(12, 1.2 + 1.3 * sum(heights[1:])),
                         height_ratios=heights, layout="constrained")
axes[0].imshow(cat[0, ..., 0], cmap="gray")
axes[0].set_title("input: a held-out cat, 28x28")
for ax, name, grid, activation in zip(axes[1:], layer_names, grids, activations):
    ax.imshow(grid, cmap="viridis")
    ax.set_title(f"{name}: {np.shape(activation)[-1]} channels of {np.shape(activation)[1]}x{np.shape(activation)[2]}")
for ax in axes:
    ax.axis("off")
plt.show()
""", "figure"),
    code("visualize-patterns-figure", r"""
print("deprocess_image(-3 ... 3) =", visualize.deprocess_image(np.linspace(-3, 3, 7)))
PATTERN_LAYERS, PATTERN_FILTERS, PATTERN_STEPS = ["conv_1", "conv_2", cam.LAST_CONV_LAYER], 4, 20
fig, axes = plt.subplots(len(PATTERN_LAYERS), PATTERN_FILTERS, figsize=(1.6 * PATTERN_FILTERS, 1.7 * len(PATTERN_LAYERS)))
for row, layer_name in zip(axes, PATTERN_LAYERS):
    for index, ax in enumerate(row):
        pattern = visualize.generate_filter_pattern(cam_model, layer_name, index, size=64, steps=PATTERN_STEPS)
        ax.imshow(np.asarray(pattern)[..., 0], cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"filter {index}", fontsize=9)
    row[0].set_ylabel(layer_name)
fig.suptitle("What filters respond to most")
plt.show()
""", "figure"),
    code("visualize-cam-figure", r"""
canvases, canvas_labels, quadrants = cam.localisation_set()  # held-out silhouettes pasted into one quadrant
chosen = [*np.flatnonzero(canvas_labels == 0)[:3], *np.flatnonzero(canvas_labels == 1)[:3]]
last_conv = keras.Model(cam_model.inputs[0], cam_model.get_layer(cam.LAST_CONV_LAYER).output)
feature_maps = keras.ops.convert_to_numpy(last_conv(canvases[chosen]))  # (6, 14, 14, 64)
class_weights = cam_model.get_layer(cam.CLASSIFIER_LAYER).get_weights()[0]  # (64, 2): cat, dog
probabilities = cam_model.predict(canvases[chosen], verbose=0)

fig, axes = plt.subplots(3, len(chosen), figsize=(1.9 * len(chosen), 6.3), layout="constrained")
for column, i, maps, p in zip(axes.T, chosen, feature_maps, probabilities):
    label = int(canvas_labels[i])
    name = cam.CLASS_NAMES[label]
    picture = np.repeat(np.repeat(canvases[i] * 255, 3, axis=0), 3, axis=1).repeat(3, axis=-1)  # 168x168 RGB
    heatmaps = (visualize.class_activation_map(maps, class_weights[:, label]),
                visualize.grad_cam(cam_model, canvases[i], cam.LAST_CONV_LAYER, class_index=label))
    column[0].imshow(picture.astype("uint8"))
    column[0].set_title(f"{name}, P({name}) = {p[label]:.2f}", fontsize=9)
    for ax, heatmap, method in zip(column[1:], heatmaps, ("CAM", "Grad-CAM")):
        ax.imshow(visualize.overlay_heatmap(picture, heatmap))
        ax.set_title(f"{method} of '{name}'", fontsize=9)
    for ax in column:
        ax.axis("off")
plt.show()
""", "figure"),
    grade_cell("visualize"),
    # ------------------------------------------------------------------ end
    md("end-md", """
## Done

`grade()` with no argument grades the first exercise that is not at full marks
yet; `pytest checks` in a terminal grades them all and prints the score table.
The cell below removes the temporary folder of sections 3 and 4.
"""),
    code("cleanup", r"""
import shutil

shutil.rmtree(WORK, ignore_errors=True)
"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    notebook = new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    notebook.cells = [nbformat.from_dict(cell) for cell in CELLS]
    nbformat.validate(notebook)
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed notebook")
    args = parser.parse_args(argv)
    text = nbformat.writes(build())
    if args.check:
        if not NOTEBOOK.is_file() or NOTEBOOK.read_text() != text:
            print(f"{NOTEBOOK} differs from what {Path(__file__).name} writes: run it without --check.")
            return 1
        return 0
    NOTEBOOK.write_text(text)
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
