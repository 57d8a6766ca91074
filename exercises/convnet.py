# stub fingerprint: 987e1db9e4b752d8
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_convnet.py
# (Generated from solutions/convnet.py by `python -m grader stubgen`.)
"""Exercise 4: cats vs dogs with a convnet trained from scratch.

With 2,000 training pictures a convnet overfits within a few epochs: training
accuracy climbs towards 100% while validation accuracy stalls. The chapter's
two remedies are *data augmentation* (train on random rotations, shifts,
shears, zooms and flips of the pictures, so the model never sees the exact
same image twice) and *dropout* before the classifier. You will build the
model, the augmentation, and the input pipeline that reads the folders made
in exercise 3.

Tasks, in order (run ``pytest checks/test_convnet.py`` after each):

1. ``build_convnet``: four Conv2D + MaxPooling2D blocks (32, 64, 128, 128
   filters), Flatten, an optional Dropout, Dense(512, relu) and
   Dense(1, sigmoid), compiled. At 150x150x3::

       Conv2D(32) (148, 148, 32)    MaxPooling2D (74, 74, 32)
       Conv2D(64) (72, 72, 64)      MaxPooling2D (36, 36, 64)
       Conv2D(128) (34, 34, 128)    MaxPooling2D (17, 17, 128)
       Conv2D(128) (15, 15, 128)    MaxPooling2D (7, 7, 128)
       Flatten (6272,)  [Dropout]   Dense(512) (512,)    Dense(1) (1,)

   3,453,121 parameters.
2. ``build_augmentation``: the chapter's augmentation as Keras 3
   preprocessing layers.
3. ``make_datasets``: ``keras.utils.image_dataset_from_directory`` on
   ``base_dir/train``, ``base_dir/validation`` and ``base_dir/test``.

One sigmoid unit answers "is it a dog?": labels are cat = 0, dog = 1, the loss
is ``binary_crossentropy`` and the optimizer ``RMSprop(learning_rate=1e-4)``.

How the 2019 ``ImageDataGenerator`` maps onto Keras 3 (the generator is
deprecated; preprocessing layers and ``tf.data`` replace it):

* ``rescale=1./255`` -> ``keras.layers.Rescaling(1 / 255)``, mapped over the
  datasets in ``make_datasets``.
* ``rotation_range=40`` (degrees) -> ``RandomRotation(40 / 360)``. Unit trap:
  the factor is a *fraction of a full turn*; ``RandomRotation(40)`` would
  spin images by up to 40 full turns.
* ``width_shift_range=0.2``, ``height_shift_range=0.2`` ->
  ``RandomTranslation(height_factor=0.2, width_factor=0.2)`` (fractions of
  the image size, as before).
* ``shear_range=0.2`` -> ``RandomShear(x_factor=0.2, y_factor=0.2)``. Unit
  trap: the legacy value was an angle *in degrees* (0.2 degrees, barely
  visible); the new factor is a fraction of the image size (0.2 shears by up
  to about 11 degrees), the visible shear the chapter means.
* ``zoom_range=0.2`` -> ``RandomZoom(0.2)``: zoom in or out by up to 20%
  (the generator zoomed width and height independently; ``RandomZoom`` keeps
  the aspect ratio unless ``width_factor`` is given).
* ``horizontal_flip=True`` -> ``RandomFlip("horizontal")``. Trap: the
  layer's default mode, ``"horizontal_and_vertical"``, also turns pictures
  upside down.
* ``fill_mode="nearest"`` -> ``fill_mode="nearest"`` on each layer that
  moves pixels (their default is ``"reflect"``).
* ``flow_from_directory(dir, target_size=(150, 150), batch_size=20,
  class_mode="binary")`` -> ``keras.utils.image_dataset_from_directory(dir,
  image_size=(150, 150), batch_size=20, label_mode="binary")``; its default
  interpolation is bilinear (the generator's was nearest).
* ``fit_generator(..., steps_per_epoch=100)`` -> ``model.fit(train,
  validation_data=validation, epochs=...)``: a dataset ends each epoch by
  itself.

The augmentation layers are active only when called with ``training=True``
(``fit`` does that); with ``training=False`` (``predict``, ``evaluate``) they
pass images through unchanged. Put the augmentation first in the model, or
map it over the training dataset only.

``python -m lab.demo_training`` trains this model on the embedded
cat and dog silhouettes with and without augmentation and dropout.
"""

from pathlib import Path

import keras

CLASS_FOLDERS = ("cats", "dogs")  # in label order: cat = 0, dog = 1
SPLITS = ("train", "validation", "test")
BLOCK_FILTERS = (32, 64, 128, 128)


def build_convnet(input_shape=(150, 150, 3), dropout=None):
    """Builds and compiles the chapter's cats-vs-dogs convnet.

    Args:
        input_shape: ``(height, width, channels)`` of the images. Each side
            must be at least 46 pixels, or the four blocks shrink the feature
            maps to nothing.
        dropout: ``None`` for no Dropout, or the rate (``0 <= rate < 1``) of
            a Dropout layer right after Flatten.

    Returns:
        A Keras model with a sigmoid output of shape ``(batch, 1)``,
        compiled with ``RMSprop(learning_rate=1e-4)``,
        ``loss="binary_crossentropy"`` and ``metrics=["accuracy"]``. The
        book writes a ``keras.Sequential``; ``model.add`` or the functional
        API are as good: any ``keras.Model`` with these layers, in this
        order, is.

    Raises:
        ValueError: ``input_shape`` is not three positive ints with sides of
            at least 46, or ``dropout`` is not ``None`` or a number in
            ``[0, 1)`` (a rate of 1 would drop every feature, and the model
            could not learn).
    """
    raise NotImplementedError("build_convnet: your code goes here")


def build_augmentation(seed=None):
    """The chapter's data augmentation as a stack of preprocessing layers.

    Five layers, each with ``fill_mode="nearest"`` where it applies:
    ``RandomRotation(40 / 360)`` (up to 40 degrees either way),
    ``RandomTranslation(0.2, 0.2)``, ``RandomShear(x_factor=0.2,
    y_factor=0.2)``, ``RandomZoom(0.2)`` and ``RandomFlip("horizontal")``.
    See the module docstring for how each maps onto the 2019
    ``ImageDataGenerator`` arguments, and the unit traps.

    Args:
        seed: ``None``, or an int from which each layer gets its own seed
            (``seed``, ``seed + 1``, ...), so that the same seed gives the
            same random transformations.

    Returns:
        A Keras model of these five layers (a ``keras.Sequential``, or any
        ``keras.Model`` that chains them) that maps a batch ``(n, h, w, c)``
        to a randomly transformed batch of the same shape and dtype when
        called with ``training=True``, and returns it unchanged with
        ``training=False``.
    """
    raise NotImplementedError("build_augmentation: your code goes here")


def make_datasets(base_dir, image_size=(150, 150), batch_size=20):
    """The train, validation and test datasets of a cats-vs-dogs folder.

    Reads ``base_dir/{train,validation,test}/{cats,dogs}/`` (the layout
    ``make_small_dataset`` makes) with
    ``keras.utils.image_dataset_from_directory``: RGB images resized to
    ``image_size``, in batches of ``batch_size``, with
    ``label_mode="binary"`` and ``class_names=["cats", "dogs"]`` so that
    cat = 0 and dog = 1. Only the training set
    is shuffled; validation and test come in file order (sorted by name,
    cats first), so that predictions line up with the files. The pixels are
    rescaled to [0, 1] by mapping ``keras.layers.Rescaling(1 / 255)`` over
    each dataset.

    Args:
        base_dir: str or path of the folder holding ``train/``,
            ``validation/`` and ``test/``.
        image_size: ``(height, width)`` or an int, the size images are
            resized to.
        batch_size: int >= 1.

    Returns:
        ``(train, validation, test)`` (a tuple; a list of the three in this
        order is as good): ``tf.data.Dataset`` objects yielding
        ``(images, labels)``: float32 ``(batch, height, width, 3)`` in
        [0, 1] and float32 ``(batch, 1)`` labels.

    Raises:
        FileNotFoundError: a split or class folder is missing.
        ValueError: ``image_size`` is not an int >= 1 or a ``(height,
            width)`` pair of them, or ``batch_size`` is not an int >= 1.
    """
    raise NotImplementedError("make_datasets: your code goes here")
