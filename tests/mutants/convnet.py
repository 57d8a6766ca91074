"""Realistic bugs in exercise 4 (cats vs dogs from scratch: model, augmentation, input pipeline)."""

from tests.mutants import Mutant

FLIP = 'keras.layers.RandomFlip("horizontal", seed=layer_seed(4)),'

MUTANTS = [
    # build_convnet
    Mutant("missing-block", "only three Conv2D + MaxPooling2D blocks",
           (("BLOCK_FILTERS = (32, 64, 128, 128)", "BLOCK_FILTERS = (32, 64, 128)"),), check="test_convnet_layers"),
    Mutant("dense-512-without-relu", "Dense(512) left linear",
           (('keras.layers.Dense(512, activation="relu")', "keras.layers.Dense(512)"),), check="test_convnet_layers"),
    Mutant("softmax-output", "softmax on the single output unit (always 1.0)",
           (('keras.layers.Dense(1, activation="sigmoid")', 'keras.layers.Dense(1, activation="softmax")'),), check="test_convnet_input_and_output"),
    Mutant("two-unit-output", "Dense(2, softmax) for two classes, with binary labels",
           (('keras.layers.Dense(1, activation="sigmoid")', 'keras.layers.Dense(2, activation="softmax")'),), check="test_convnet_input_and_output"),
    Mutant("learning-rate-default", 'optimizer="rmsprop": the learning rate left at the default 1e-3',
           (("optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),", 'optimizer="rmsprop",'),), check="test_convnet_compiled"),
    Mutant("categorical-loss", "categorical cross-entropy on one sigmoid unit",
           (('loss="binary_crossentropy",', 'loss="categorical_crossentropy",'),), check="test_convnet_compiled"),
    Mutant("dropout-before-dense-output", "Dropout placed after Dense(512) instead of after Flatten",
           (("    if dropout is not None:\n        layers.append(keras.layers.Dropout(dropout))\n"
             '    layers += [keras.layers.Dense(512, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]\n',
             '    layers.append(keras.layers.Dense(512, activation="relu"))\n'
             "    if dropout is not None:\n        layers.append(keras.layers.Dropout(dropout))\n"
             '    layers.append(keras.layers.Dense(1, activation="sigmoid"))\n'),), check="test_convnet_dropout"),
    Mutant("dropout-rate-fixed", "Dropout(0.5) whatever rate is asked for",
           (("layers.append(keras.layers.Dropout(dropout))", "layers.append(keras.layers.Dropout(0.5))"),), check="test_convnet_dropout"),
    Mutant("input-shape-ignored", "the input shape fixed at 150x150x3",
           (("    layers = [keras.Input(shape=input_shape)]\n", "    layers = [keras.Input(shape=(150, 150, 3))]\n"),), check="test_convnet_other_input_shapes"),
    Mutant("same-padding", 'padding="same" in the convolutions',
           (('keras.layers.Conv2D(filters, (3, 3), activation="relu")',
             'keras.layers.Conv2D(filters, (3, 3), activation="relu", padding="same")'),), check="test_convnet_layers"),
    # build_augmentation
    Mutant("vertical-flips", "RandomFlip with its default mode: images also turned upside down",
           ((FLIP, "keras.layers.RandomFlip(seed=layer_seed(4)),"),), check="test_augmentation_layers"),
    Mutant("augmentation-active-at-inference", "the flip done with tf.image in a Lambda layer, which ignores training=False",
           ((FLIP, "keras.layers.Lambda(lambda images: tf.image.random_flip_left_right(images)),"),
            ("from pathlib import Path\n", "from pathlib import Path\n\nimport tensorflow as tf\n")), check="test_augmentation_layers"),
    Mutant("rotation-in-degrees", "RandomRotation(40): the factor read as degrees",
           (("keras.layers.RandomRotation(40 / 360,", "keras.layers.RandomRotation(40,"),), check="test_augmentation_layers"),
    Mutant("rotation-in-radians", "RandomRotation with 40 degrees in radians",
           (("keras.layers.RandomRotation(40 / 360,", "keras.layers.RandomRotation(0.698,"),), check="test_augmentation_layers"),
    Mutant("shear-in-degrees", "the legacy shear_range=0.2 (degrees) converted to a tiny fraction",
           (("keras.layers.RandomShear(x_factor=0.2, y_factor=0.2,", "keras.layers.RandomShear(x_factor=0.2 / 360, y_factor=0.0,"),), check="test_augmentation_layers"),
    Mutant("fill-mode-default", "fill_mode left at the layers' default, reflect",
           (('keras.layers.RandomZoom(0.2, fill_mode="nearest",', "keras.layers.RandomZoom(0.2,"),), check="test_augmentation_layers"),
    Mutant("no-flip", "the horizontal flip forgotten",
           ((FLIP, ""),), check="test_augmentation_layers"),
    Mutant("seed-ignored", "the seed never passed to the layers",
           (("        return None if seed is None else seed + offset\n", "        return None\n"),), check="test_augmentation_seed_is_reproducible"),
    # make_datasets
    Mutant("pixels-not-rescaled", "no Rescaling: pixels stay 0-255",
           (("        datasets.append(dataset.map(lambda images, labels: (rescale(images), labels)))\n",
             "        datasets.append(dataset)\n"),), check="test_pixels_scaled_to_unit_range"),
    Mutant("rescaled-twice", "Rescaling applied twice",
           (("(rescale(images), labels)", "(rescale(rescale(images)), labels)"),), check="test_pixels_scaled_to_unit_range"),
    Mutant("labels-inverted", "class_names in the wrong order: cat = 1, dog = 0",
           (('CLASS_FOLDERS = ("cats", "dogs")', 'CLASS_FOLDERS = ("dogs", "cats")'),), check="test_test_and_validation_in_file_order"),
    Mutant("int-labels", 'label_mode="int": int32 labels of shape (batch,)',
           (('label_mode="binary",', 'label_mode="int",'),), check="test_splits_yield_batches_of_the_right_shape"),
    Mutant("everything-shuffled", "the test and validation sets shuffled too",
           (('shuffle=split == "train",', "shuffle=True,"),), check="test_test_and_validation_in_file_order"),
    Mutant("train-not-shuffled", "the training set left in file order",
           (('shuffle=split == "train",', "shuffle=False,"),), check="test_train_is_shuffled"),
    Mutant("image-size-ignored", "images always resized to 150x150",
           (("image_size=image_size,\n", "image_size=(150, 150),\n"),), check="test_splits_yield_batches_of_the_right_shape"),
    Mutant("augmented-in-pipeline", "augmentation mapped over every split, test included",
           (("    rescale = keras.layers.Rescaling(1.0 / 255)\n",
             "    rescale = keras.layers.Rescaling(1.0 / 255)\n    augment = build_augmentation(seed=0)\n"),
            ("(rescale(images), labels)", "(augment(rescale(images), training=True), labels)")), check="test_test_and_validation_in_file_order"),
    Mutant("no-folder-check", "missing split folders not reported",
           (("            if not (base / split / folder).is_dir():\n", "            if False:\n"),), check="test_missing_folders_reported"),
]
