"""Realistic bugs in exercise 4 (cats vs dogs from scratch: model, augmentation, input pipeline)."""

from tests.mutants import Mutant

FLIP = 'keras.layers.RandomFlip("horizontal", seed=layer_seed(4)),'

MUTANTS = [
    # build_convnet
    Mutant("missing-block", "only three Conv2D + MaxPooling2D blocks",
           (("BLOCK_FILTERS = (32, 64, 128, 128)", "BLOCK_FILTERS = (32, 64, 128)"),)),
    Mutant("dense-512-without-relu", "Dense(512) left linear",
           (('keras.layers.Dense(512, activation="relu")', "keras.layers.Dense(512)"),)),
    Mutant("softmax-output", "softmax on the single output unit (always 1.0)",
           (('keras.layers.Dense(1, activation="sigmoid")', 'keras.layers.Dense(1, activation="softmax")'),)),
    Mutant("two-unit-output", "Dense(2, softmax) for two classes, with binary labels",
           (('keras.layers.Dense(1, activation="sigmoid")', 'keras.layers.Dense(2, activation="softmax")'),)),
    Mutant("learning-rate-default", 'optimizer="rmsprop": the learning rate left at the default 1e-3',
           (("optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),", 'optimizer="rmsprop",'),)),
    Mutant("categorical-loss", "categorical cross-entropy on one sigmoid unit",
           (('loss="binary_crossentropy",', 'loss="categorical_crossentropy",'),)),
    Mutant("dropout-before-dense-output", "Dropout placed after Dense(512) instead of after Flatten",
           (("    if dropout is not None:\n        layers.append(keras.layers.Dropout(dropout))\n"
             '    layers += [keras.layers.Dense(512, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]\n',
             '    layers.append(keras.layers.Dense(512, activation="relu"))\n'
             "    if dropout is not None:\n        layers.append(keras.layers.Dropout(dropout))\n"
             '    layers.append(keras.layers.Dense(1, activation="sigmoid"))\n'),)),
    Mutant("dropout-rate-fixed", "Dropout(0.5) whatever rate is asked for",
           (("layers.append(keras.layers.Dropout(dropout))", "layers.append(keras.layers.Dropout(0.5))"),)),
    Mutant("input-shape-ignored", "the input shape fixed at 150x150x3",
           (("    layers = [keras.Input(shape=input_shape)]\n", "    layers = [keras.Input(shape=(150, 150, 3))]\n"),)),
    Mutant("same-padding", 'padding="same" in the convolutions',
           (('keras.layers.Conv2D(filters, (3, 3), activation="relu")',
             'keras.layers.Conv2D(filters, (3, 3), activation="relu", padding="same")'),)),
    # build_augmentation
    Mutant("vertical-flips", "RandomFlip with its default mode: images also turned upside down",
           ((FLIP, "keras.layers.RandomFlip(seed=layer_seed(4)),"),)),
    Mutant("augmentation-active-at-inference", "the flip done with tf.image in a Lambda layer, which ignores training=False",
           ((FLIP, "keras.layers.Lambda(lambda images: tf.image.random_flip_left_right(images)),"),
            ("from pathlib import Path\n", "from pathlib import Path\n\nimport tensorflow as tf\n"))),
    Mutant("rotation-in-degrees", "RandomRotation(40): the factor read as degrees",
           (("keras.layers.RandomRotation(40 / 360,", "keras.layers.RandomRotation(40,"),)),
    Mutant("rotation-in-radians", "RandomRotation with 40 degrees in radians",
           (("keras.layers.RandomRotation(40 / 360,", "keras.layers.RandomRotation(0.698,"),)),
    Mutant("shear-in-degrees", "the legacy shear_range=0.2 (degrees) converted to a tiny fraction",
           (("keras.layers.RandomShear(x_factor=0.2, y_factor=0.2,", "keras.layers.RandomShear(x_factor=0.2 / 360, y_factor=0.0,"),)),
    Mutant("fill-mode-default", "fill_mode left at the layers' default, reflect",
           (('keras.layers.RandomZoom(0.2, fill_mode="nearest",', "keras.layers.RandomZoom(0.2,"),)),
    Mutant("no-flip", "the horizontal flip forgotten",
           ((FLIP, ""),)),
    Mutant("seed-ignored", "the seed never passed to the layers",
           (("        return None if seed is None else seed + offset\n", "        return None\n"),)),
    # make_datasets
    Mutant("pixels-not-rescaled", "no Rescaling: pixels stay 0-255",
           (("        datasets.append(dataset.map(lambda images, labels: (rescale(images), labels)))\n",
             "        datasets.append(dataset)\n"),)),
    Mutant("rescaled-twice", "Rescaling applied twice",
           (("(rescale(images), labels)", "(rescale(rescale(images)), labels)"),)),
    Mutant("labels-inverted", "class_names in the wrong order: cat = 1, dog = 0",
           (('CLASS_FOLDERS = ("cats", "dogs")', 'CLASS_FOLDERS = ("dogs", "cats")'),)),
    Mutant("int-labels", 'label_mode="int": int32 labels of shape (batch,)',
           (('label_mode="binary",', 'label_mode="int",'),)),
    Mutant("everything-shuffled", "the test and validation sets shuffled too",
           (('shuffle=split == "train",', "shuffle=True,"),)),
    Mutant("train-not-shuffled", "the training set left in file order",
           (('shuffle=split == "train",', "shuffle=False,"),)),
    Mutant("image-size-ignored", "images always resized to 150x150",
           (("image_size=image_size,\n", "image_size=(150, 150),\n"),)),
    Mutant("augmented-in-pipeline", "augmentation mapped over every split, test included",
           (("    rescale = keras.layers.Rescaling(1.0 / 255)\n",
             "    rescale = keras.layers.Rescaling(1.0 / 255)\n    augment = build_augmentation(seed=0)\n"),
            ("(rescale(images), labels)", "(augment(rescale(images), training=True), labels)"))),
    Mutant("no-folder-check", "missing split folders not reported",
           (("            if not (base / split / folder).is_dir():\n", "            if False:\n"),)),
]
