# stub fingerprint: 74b8f30347096f29
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_transfer.py
# (Generated from solutions/transfer.py by `python -m grader stubgen`.)
"""Exercise 5: reusing a pretrained convolutional base.

With a few hundred or a few thousand images, a convnet trained from scratch
has little to learn from. The chapter's answer is to reuse the convolutional
base of a network trained on a large dataset (VGG16, trained on ImageNet),
in two ways:

* **feature extraction**: run the images once through the frozen base and
  train a small classifier on the features it outputs; or put the frozen base
  under a new head and train the head end to end (slower, but allows data
  augmentation);
* **fine-tuning**: then unfreeze the base's last block and train it, with
  the head, at a very low learning rate, so that its most specialised
  features adapt to the new task without being wrecked.

Tasks, in order (run ``pytest checks -k transfer`` after each):

1. ``build_conv_base``: VGG16 without its classifier, built offline.
2. ``extract_features``: one pass of a dataset through the base.
3. ``build_feature_classifier``: the small classifier trained on features.
4. ``build_frozen_model``: the base, frozen, under a new classifier head.
5. ``unfreeze_from``: unfreeze the base from one layer on.
6. ``compile_for_fine_tuning``: recompile with a lower learning rate.

Nothing here may download. VGG16's ImageNet weights (58 MB) are read only
from the local Keras cache; ``weights=None`` builds the same network with
random weights, which is all the checks need. For real transfer learning
offline, the package ships a small base pretrained on eight other animal
classes: ``data.pretrained.load_pretrained_base()`` (28x28x1 silhouettes,
output ``(3, 3, 128)``, layers named like VGG16's, ``"block3_conv1"`` is its
last block). Every function here works with either base, and
``python -m lab.demo_transfer`` uses them to compare training from
scratch, feature extraction and fine-tuning on cats vs dogs.

What changed since the 2019 (Keras 2) chapter:

* the optimizers take ``learning_rate=``, not ``lr=``;
* ``flow_from_directory`` generators looped forever, so the feature
  extraction loop needed a sample count and a manual ``break``; a
  ``tf.data.Dataset`` (from ``image_dataset_from_directory``) is finite, and
  a plain ``for`` loop makes exactly one pass;
* ``fit_generator`` is gone: ``fit`` takes datasets;
* Keras 3 reads the ``trainable`` flags when it builds its training step,
  with the list of weights to update: at the first ``fit`` after each
  ``compile()``. Freezing a model that has not trained yet therefore works
  before or after ``compile`` (the book freezes first); once a model has
  trained, a change of ``trainable`` reaches training only after
  ``compile()`` again. That is why fine-tuning recompiles.
"""

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402  (after the environment variable above)

VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
"""The file name under which Keras caches VGG16's ImageNet weights without the top."""


def keras_cache_dirs():
    """Folders where Keras keeps downloaded files, in the order to look.

    ``$KERAS_HOME`` if that environment variable is set, then ``~/.keras``.
    Keras caches model weights in their ``models`` subfolder.

    Returns:
        A list of ``pathlib.Path`` (they may not exist).
    """
    folders = []
    if os.environ.get("KERAS_HOME"):
        folders.append(Path(os.environ["KERAS_HOME"]).expanduser())
    home = Path("~/.keras").expanduser()
    if home not in folders:
        folders.append(home)
    return folders


def build_conv_base(weights=None, input_shape=(150, 150, 3)):
    """VGG16's convolutional base (no classifier on top), built without a download.

    ``keras.applications.VGG16(include_top=False, ...)``: 13 convolutions in
    five blocks (``block1_conv1`` ... ``block5_conv3``, each block ending in a
    max-pooling), 14,714,688 parameters, output ``(4, 4, 512)`` at 150x150.

    ``weights="imagenet"`` must never download (``VGG16(weights="imagenet")``
    would, when the file is not cached). Look for ``VGG16_NOTOP_FILE`` in the
    ``models`` subfolder of each of ``keras_cache_dirs()``, and pass the path
    found to ``VGG16(weights=path)``. If it is nowhere, raise
    ``FileNotFoundError`` with a message that says which file is missing and
    where to put it.

    Args:
        weights: ``None`` (random weights), ``"imagenet"`` (from the local
            Keras cache only) or the path of a weights file (str or
            path-like) in the format Keras' VGG16 loads.
        input_shape: the images' shape ``(height, width, 3)``; at least 32x32.

    Returns:
        The ``keras.Model``, all layers trainable.

    Raises:
        FileNotFoundError: the ImageNet weights are not in the local cache,
            or the given weights file does not exist.
        ValueError: ``weights`` is none of the above.
    """
    raise NotImplementedError("build_conv_base: your code goes here")


def is_infinite_dataset(dataset):
    """True if ``dataset`` is a ``tf.data.Dataset`` known to repeat forever.

    Such a dataset (``.repeat()`` without a count) would keep a ``for`` loop
    going forever, as the 2019 generators did.
    """
    cardinality = getattr(dataset, "cardinality", None)
    if cardinality is None:
        return False
    import tensorflow as tf

    return int(cardinality()) == int(tf.data.INFINITE_CARDINALITY)


def extract_features(conv_base, dataset):
    """Runs every image of a finite dataset once through ``conv_base``.

    The chapter's "fast feature extraction": the expensive base runs once per
    image, and a small classifier then trains on the saved features.

    First refuse an infinite dataset (``is_infinite_dataset``). Then
    iterate over the dataset once with a plain ``for images, labels in
    dataset`` loop, run each batch through the base (``predict_on_batch``,
    or calling the base with ``training=False``), and keep each batch's
    features with *its own* labels. Any batch size works, including a last
    batch smaller than the others. Never iterate a second time to collect the
    labels: a shuffled dataset comes out in a new order on every pass.

    2019: ``flow_from_directory`` generators never ended, so the loop counted
    samples into preallocated arrays and needed a manual ``break``; a
    ``tf.data.Dataset`` is finite, and the loop ends by itself.

    Args:
        conv_base: a Keras model (VGG16's base, the embedded pretrained base, ...).
        dataset: a finite ``tf.data.Dataset`` (or any finite iterable) of
            ``(images, labels)`` batches, images in the shape ``conv_base``
            takes.

    Returns:
        ``(features, labels)``: NumPy arrays; ``features`` float32 of shape
        ``(n, *conv_base's output shape without the batch axis)``, ``labels``
        of shape ``(n, ...)`` as the dataset gives them; row ``i`` of both
        comes from the same image.

    Raises:
        ValueError: the dataset is infinite (e.g. ``.repeat()`` without a
            count) or holds no batch.
    """
    raise NotImplementedError("extract_features: your code goes here")


def build_feature_classifier(input_dim):
    """The densely connected classifier trained on extracted features.

    ``Input(shape=(input_dim,))``, ``Dense(256, activation="relu")``,
    ``Dropout(0.5)``, ``Dense(1, activation="sigmoid")``, compiled with
    ``RMSprop(learning_rate=2e-5)``, ``"binary_crossentropy"`` and
    ``metrics=["accuracy"]``. With VGG16's features flattened
    (``input_dim = 4 * 4 * 512``) it has 2,097,665 parameters.

    Args:
        input_dim: positive int, the length of one flattened feature vector.

    Returns:
        The compiled Keras model (a ``keras.Sequential``, or any
        ``keras.Model`` with these layers in this order).

    Raises:
        ValueError: ``input_dim`` is not a positive int.
    """
    raise NotImplementedError("build_feature_classifier: your code goes here")


def build_frozen_model(conv_base):
    """The pretrained base, frozen, under a new classifier head.

    ``keras.Sequential``: an ``Input`` of the base's input shape,
    ``conv_base``, ``Flatten()``, ``Dense(256, activation="relu")``,
    ``Dense(1, activation="sigmoid")``. Freeze the base
    (``conv_base.trainable = False``) and compile with
    ``RMSprop(learning_rate=2e-5)``, ``"binary_crossentropy"`` and
    ``metrics=["accuracy"]``: the model has not trained yet, so the freeze
    counts whether it comes before or after ``compile`` (the book freezes
    first). With VGG16 the head's two Dense layers are the only trainable
    weights: 4 tensors (30 with the base unfrozen).

    Args:
        conv_base: a Keras model with a known input shape.

    Returns:
        The compiled ``keras.Sequential``; it uses ``conv_base`` itself (not a
        copy), so freezing and unfreezing the base changes what it trains. A
        functional ``keras.Model`` that calls ``conv_base`` on its input (or
        is built on ``conv_base.output``) does the same and is as good.

    Raises:
        ValueError: ``conv_base`` is not a Keras model.
    """
    raise NotImplementedError("build_frozen_model: your code goes here")


def unfreeze_from(conv_base, layer_name="block5_conv1"):
    """Unfreezes the base from ``layer_name`` to its end; freezes the layers before it.

    The chapter's fine-tuning step: make the base trainable again
    (``conv_base.trainable = True``, which also sets every one of its
    layers; while the base's own flag is False, ``conv_base.trainable_weights``
    stays empty), then walk ``conv_base.layers`` in order, setting
    ``layer.trainable`` to False until ``layer_name`` and to True from it on. With VGG16 and ``"block5_conv1"``, the frozen model then
    has 10 trainable weight tensors: block 5's three convolutions and the
    head. Recompile the model afterwards (``compile_for_fine_tuning``): it
    has trained by then, and until the next ``compile()`` its training step
    keeps the old flags.

    Args:
        conv_base: the Keras model to unfreeze in place.
        layer_name: str, the first layer to train.

    Returns:
        The names of the now-trainable layers, in order: ``layer_name`` and
        every layer after it, layers without weights (pooling) included.

    Raises:
        ValueError: ``conv_base`` has no layer ``layer_name``; the message
            lists the valid names, and the base is left as it was.
    """
    raise NotImplementedError("unfreeze_from: your code goes here")


def compile_for_fine_tuning(model):
    """Recompiles ``model`` for fine-tuning, with a learning rate ten times lower.

    ``RMSprop(learning_rate=1e-5)``, ``"binary_crossentropy"``,
    ``metrics=["accuracy"]``. Small updates keep the unfrozen layers close to
    their pretrained values; and for a model that has already trained,
    compiling again is what makes Keras rebuild its training step with the
    layers ``unfreeze_from`` made trainable.

    Args:
        model: a Keras model, e.g. from ``build_frozen_model``.

    Returns:
        The same ``model``, recompiled.
    """
    raise NotImplementedError("compile_for_fine_tuning: your code goes here")
