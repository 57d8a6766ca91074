"""Realistic bugs in exercise 5 (a pretrained convolutional base)."""

from tests.mutants import Mutant

FROZEN_HEAD = (
    '            keras.layers.Dense(256, activation="relu"),\n'
    '            keras.layers.Dense(1, activation="sigmoid"),\n'
    "        ]\n"
    "    )\n"
)
FROZEN_COMPILE = FROZEN_HEAD + "    model.compile(\n        optimizer=keras.optimizers.RMSprop(learning_rate=2e-5),\n"
FROZEN_SEQUENTIAL = (
    "    model = keras.Sequential(\n"
    "        [\n"
    "            keras.Input(shape=conv_base.input_shape[1:]),\n"
    "            conv_base,\n"
    "            keras.layers.Flatten(),\n"
) + FROZEN_HEAD


def functional_frozen(base="conv_base", flatten=True):
    """The frozen model written with the functional API around ``base``."""
    return ("    inputs = keras.Input(shape=conv_base.input_shape[1:])\n"
            f"    x = {base}(inputs)\n"
            + ("    x = keras.layers.Flatten()(x)\n" if flatten else "")
            + '    x = keras.layers.Dense(256, activation="relu")(x)\n'
            '    outputs = keras.layers.Dense(1, activation="sigmoid")(x)\n'
            "    model = keras.Model(inputs, outputs)\n")


UNFREEZE_LOOP = (
    "        if layer.name == layer_name:\n"
    "            set_trainable = True\n"
    "        layer.trainable = set_trainable\n"
)

MUTANTS = [
    Mutant("freezing-forgotten", "the base is never frozen, so training the head also changes the base",
           (("    conv_base.trainable = False\n", ""),), check="test_frozen_model_trains_only_the_head"),
    Mutant("whole-model-frozen", "model.trainable = False instead of conv_base.trainable = False (head frozen too)",
           (("    conv_base.trainable = False\n", ""),
            (FROZEN_HEAD, FROZEN_HEAD + "    model.trainable = False\n")), check="test_frozen_model_trains_only_the_head"),
    Mutant("unfreeze-one-layer-late", "the flag is switched after setting the layer, so block5_conv1 stays frozen",
           ((UNFREEZE_LOOP,
             "        layer.trainable = set_trainable\n"
             "        if layer.name == layer_name:\n"
             "            set_trainable = True\n"),), check="test_unfreeze_block5_of_vgg16"),
    Mutant("unfreeze-base-left-frozen", "conv_base.trainable = True forgotten: the frozen base hides every layer",
           (("    conv_base.trainable = True\n", ""),), check="test_unfreeze_any_layer_of_any_base"),
    Mutant("unfreeze-unknown-name-silent", "an unknown layer name freezes every layer instead of raising",
           (("    if layer_name not in names:\n", "    if False:\n"),), check="test_unfreeze_unknown_layer"),
    Mutant("features-drop-last-partial-batch", "a batch smaller than the first is taken for the end and dropped",
           (("    for images, labels in dataset:\n",
             "    for images, labels in dataset:\n"
             "        if all_features and len(images) < len(all_features[0]):\n"
             "            break\n"),), check="test_features_match_predict"),
    Mutant("labels-from-a-second-pass", "the labels are collected by iterating the (reshuffled) dataset again",
           (("        all_labels.append(np.asarray(labels))\n", ""),
            ("    return np.concatenate(all_features), np.concatenate(all_labels)\n",
             "    all_labels = [np.asarray(y) for _, y in dataset]\n"
             "    return np.concatenate(all_features), np.concatenate(all_labels)\n")), check="test_features_one_pass_labels_aligned"),
    Mutant("labels-shuffled", "the labels are shuffled on their own, no longer matching the feature rows",
           (("    return np.concatenate(all_features), np.concatenate(all_labels)\n",
             "    labels = np.concatenate(all_labels)\n"
             "    np.random.shuffle(labels)\n"
             "    return np.concatenate(all_features), labels\n"),), check="test_features_match_predict"),
    Mutant("infinite-dataset-not-rejected", "no check for an endless dataset: the loop never ends",
           (("    if is_infinite_dataset(dataset):\n", "    if False:\n"),), check_timeout=4,
           check="test_features_reject_infinite_and_empty"),
    Mutant("flatten-missing", "no Flatten between the base and the Dense head",
           (("            keras.layers.Flatten(),\n", ""),), check="test_frozen_model_layers"),
    Mutant("frozen-model-default-rmsprop", 'optimizer="rmsprop" (learning rate 1e-3) for the frozen model',
           ((FROZEN_COMPILE, FROZEN_HEAD + '    model.compile(\n        optimizer="rmsprop",\n'),), check="test_frozen_model_compiled"),
    Mutant("feature-classifier-wrong-rate", "the classifier on features compiled at 2e-4 instead of 2e-5",
           (("            keras.layers.Dropout(0.5),\n            keras.layers.Dense(1, activation=\"sigmoid\"),\n"
             "        ]\n    )\n    model.compile(\n        optimizer=keras.optimizers.RMSprop(learning_rate=2e-5),\n",
             "            keras.layers.Dropout(0.5),\n            keras.layers.Dense(1, activation=\"sigmoid\"),\n"
             "        ]\n    )\n    model.compile(\n        optimizer=keras.optimizers.RMSprop(learning_rate=2e-4),\n"),), check="test_feature_classifier_compiled"),
    Mutant("feature-classifier-no-dropout", "the Dropout(0.5) layer left out",
           (("            keras.layers.Dropout(0.5),\n", ""),), check="test_feature_classifier_layers"),
    Mutant("fine-tuning-rate-1e-4", "fine-tuning at 1e-4, ten times too fast",
           (("optimizer=keras.optimizers.RMSprop(learning_rate=1e-5)", "optimizer=keras.optimizers.RMSprop(learning_rate=1e-4)"),), check="test_fine_tuning_compiled"),
    Mutant("fine-tuning-not-recompiled", "the learning rate is lowered in place, without compiling again",
           (("    model.compile(\n        optimizer=keras.optimizers.RMSprop(learning_rate=1e-5),\n"
             "        loss=\"binary_crossentropy\",\n        metrics=[\"accuracy\"],\n    )\n    return model\n",
             "    model.optimizer.learning_rate.assign(1e-5)\n    return model\n"),), check="test_fine_tuning_trains_the_unfrozen_block"),
    Mutant("fine-tuning-optimizer-kept", "compiled again, but with the frozen model's own optimizer, its rate lowered",
           (("        optimizer=keras.optimizers.RMSprop(learning_rate=1e-5),\n        loss=\"binary_crossentropy\",\n"
             "        metrics=[\"accuracy\"],\n    )\n    return model\n",
             "        optimizer=model.optimizer,\n        loss=\"binary_crossentropy\",\n"
             "        metrics=[\"accuracy\"],\n    )\n    model.optimizer.learning_rate.assign(1e-5)\n    return model\n"),),
           check="test_fine_tuning_trains_the_unfrozen_block"),
    Mutant("imagenet-downloads", 'weights="imagenet" passed on to VGG16, which downloads when the file is missing',
           (("        path = _cached_vgg16_weights()\n", '        path = "imagenet"\n'),), check="test_imagenet_weights_missing_fail_fast"),
    Mutant("keras-home-ignored", "only ~/.keras is searched, whatever $KERAS_HOME says",
           (("    candidates = [folder / \"models\" / VGG16_NOTOP_FILE for folder in keras_cache_dirs()]\n",
             "    candidates = [Path(\"~/.keras/models\").expanduser() / VGG16_NOTOP_FILE]\n"),), check="test_imagenet_weights_missing_fail_fast"),
    Mutant("weights-path-ignored", "a path given as weights is checked but never loaded (random weights)",
           (("weights=None if path is None else str(path)", "weights=None"),), check="test_imagenet_weights_from_local_cache"),
    Mutant("freezing-stops-before-block5", "the base frozen layer by layer, but the loop leaves the last block trainable",
           (("    conv_base.trainable = False\n", "    for layer in conv_base.layers[:-4]:\n        layer.trainable = False\n"),),
           check="test_frozen_model_trains_only_the_head"),
    Mutant("missing-weights-message-without-folder", "the error names the missing file but not where to put it",
           (("(looked for {', '.join(map(str, candidates))}). \"", "\""),
            ("f\"{VGG16_NOTOP_FILE} to {candidates[0]}. Or use", "f\"{VGG16_NOTOP_FILE} to the Keras cache. Or use")),
           check="test_imagenet_weights_missing_fail_fast"),
    Mutant("functional-own-base", "a functional model around a VGG16 it builds itself, not the conv_base it was given",
           ((FROZEN_SEQUENTIAL, "    own_base = build_conv_base(input_shape=conv_base.input_shape[1:])\n"
                                "    own_base.trainable = False\n" + functional_frozen("own_base")),),
           check="test_frozen_model_layers"),
    Mutant("functional-flatten-missing", "a functional model around conv_base with no Flatten before the Dense head",
           ((FROZEN_SEQUENTIAL, functional_frozen(flatten=False)),), check="test_frozen_model_layers"),
    Mutant("freezes-model-layer-1", "model.layers[1].trainable = False (the Keras 2 index, counting the Input): Flatten is frozen, the base trains",
           (("    conv_base.trainable = False\n", ""),
            (FROZEN_HEAD, FROZEN_HEAD + "    model.layers[1].trainable = False\n")), check="test_frozen_base_unchanged_by_training"),
    Mutant("frozen-model-input-150", "the frozen model's Input hard-coded at the book's 150x150x3, not the base's input shape",
           (("            keras.Input(shape=conv_base.input_shape[1:]),\n", "            keras.Input(shape=(150, 150, 3)),\n"),),
           check="test_frozen_model_layers"),
    Mutant("conv-base-input-shape-ignored", "VGG16 always built at 150x150x3, whatever input_shape says",
           (("input_shape=tuple(input_shape)\n", "input_shape=(150, 150, 3)\n"),), check="test_conv_base_is_vgg16"),
    Mutant("weights-path-object-refused", "only a str is taken as a weights path: a pathlib.Path raises ValueError",
           (("    elif isinstance(weights, (str, os.PathLike)):\n", "    elif isinstance(weights, str):\n"),),
           check="test_weights_from_a_file_path"),
    Mutant("weights-path-not-checked", "a weights path passed on unchecked: Keras raises its own ValueError for a missing file",
           (("        if not path.is_file():\n            raise FileNotFoundError(", "        if False:\n            raise FileNotFoundError("),),
           check="test_weights_from_a_file_path"),
    Mutant("features-tf-data-only", "the batches read with dataset.as_numpy_iterator(): a list of batches fails",
           (("    for images, labels in dataset:\n", "    for images, labels in dataset.as_numpy_iterator():\n"),),
           check="test_features_any_base_any_batches"),
]
