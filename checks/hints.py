"""Hints for every task of the seven exercises, one step at a time.

``python -m grader hint`` reads ``HINTS`` and shows a learner who is stuck
on a task the next step of its ladder (it remembers which step was shown):

1. a nudge: a question that points at what to think about;
2. the idea: how the computation or the approach goes, in words;
3. the API: the Keras 3 / NumPy / Matplotlib / pathlib calls to use, and
   where the 2019 book's code (``ImageDataGenerator``, ``fit_generator``,
   ``lr=``, ``K.gradients``...) differs from Keras 3.

``HINTS[exercise][task]`` is ``(nudge, idea, api)``; the exercises are the
names of ``exercises/*.py`` and the tasks those of each checks module's
``TASKS``, in the same order. The hints describe; they never hold a
solution's code (``python -m grader release`` refuses solution text in a
released file, and ``tests/test_hints.py`` checks every step for it).
"""

HINTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "conv": {
        "conv_output_length": (
            "A kernel of size k dilated by d covers how many input cells, and how many times does "
            "a window of that span fit in n cells when it moves s cells at a time? What changes "
            'with "same" padding?',
            'With "valid" padding the window spans (k - 1) * d + 1 cells and must stay inside the '
            "input: count the start positions 0, s, 2s, ... that leave room for the whole span (a "
            'span longer than n is a ValueError). With "same" padding there are ceil(n / s) '
            "positions whatever the kernel; reject a padding name other than valid/same (in any "
            "case) and sizes that are not positive ints.",
            "Integer arithmetic only: `//` rounds down and `-(-n // s)` rounds up without floats; "
            "`padding.lower()` accepts any capitalisation, and `isinstance(value, (int, "
            "np.integer))` (a `bool` is not a size) tests the sizes. To compare with Keras in a "
            "shell: `keras.layers.Conv2D(1, (k, 1), strides=(s, 1)).compute_output_shape((1, n, "
            "1, 1))`.",
        ),
        "extract_patches": (
            "Which input row does kernel row a of the window at output row i read, with stride sh "
            'and dilation dh? And with "same" padding, where does the extra cell go when the '
            "total padding is odd?",
            'Pad first (for "same": (out - 1) * s + span - n cells, at least 0, half before and '
            "the odd extra cell after, at the bottom/right), then take every window of the "
            "dilated span at stride 1. Keep every s-th window along each image axis and every "
            "d-th cell inside each window, trim to H' x W' windows, and order the axes (N, H', "
            "W', kh, kw, C).",
            "`np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))` pads with zeros; "
            "`np.lib.stride_tricks.sliding_window_view(x, (span_h, span_w), axis=(1, 2))` gives "
            "every stride-1 window as a view, with the two window axes after C. Slice it with "
            "steps (`::sh`, `::dh`...) and use `.transpose(...)` to move C after kh and kw.",
        ),
        "conv2d": (
            "Once you have the patch under every output position, what is one output value of "
            "filter f, and how could every position of every filter come out of a single "
            "operation instead of a loop over pixels?",
            "Each output is the sum over kh, kw and C_in of patch * kernel[..., f], plus bias[f]: "
            "a cross-correlation, so the kernel is used as it is, never flipped. Flatten each "
            "patch into a row and the kernel into a (kh * kw * C_in, C_out) matrix, and one "
            "matrix product gives all outputs (im2col); raise ValueError when the kernel's C_in "
            "is not the images' channel count or the bias is not (C_out,).",
            "Reuse `extract_patches` with the kernel's (kh, kw), then `ndarray.reshape` (a -1 "
            "lets NumPy work out one axis) and the `@` operator; `np.tensordot` with `axes=` or "
            "`np.einsum` with a subscript string can also sum over several axes at once. Compute "
            "in float32 or wider (`np.result_type`), and never write into x, kernel or bias.",
        ),
        "max_pool2d": (
            "A pooling window is an extract_patches window taken channel by channel: what does "
            "strides=None mean, and what padding value can never win a maximum, even in a window "
            "of negative numbers?",
            'Strides default to the pool size. For "same", pad with -inf, never zeros (a zero '
            "beats an all-negative window), split like the convolution's padding (the odd cell at "
            "the bottom/right); then take the maximum over each window's two axes, on the padded "
            "array with \"valid\" windows, and keep x's dtype.",
            "`np.pad` with `constant_values=-np.inf`, then `extract_patches(...)` with the pool "
            "as kernel and `ndarray.max` with an `axis=` tuple. Import NumPy only: this module is "
            "graded where TensorFlow and Keras cannot be imported, so `keras.layers.MaxPooling2D` "
            "is only for comparing in a shell.",
        ),
    },
    "mnist": {
        "preprocess_images": (
            "What shape and value range does a Conv2D layer want for grayscale digits, and what "
            "would go wrong if already-scaled float images were scaled again?",
            "Accept only an integer (n, 28, 28) array with values 0-255 (ValueError otherwise), "
            "convert it to float32, divide by 255 (the largest possible pixel, not the batch's "
            "maximum, and not 256), and add a channels axis at the end: (n, 28, 28, 1), channels "
            "last.",
            "`np.issubdtype(images.dtype, np.integer)` tests the type; "
            "`images.astype(np.float32)` before dividing keeps float32 (an integer array divided "
            "by 255 becomes float64); `.reshape(-1, 28, 28, 1)` or `x[..., np.newaxis]` adds the "
            "axis. Make a new array; never change `images` in place.",
        ),
        "preprocess_labels": (
            "What does the one-hot row of label 3 among 10 classes look like, and which NumPy "
            "matrix already holds every such row?",
            "Row k of the identity matrix of size num_classes is the one-hot vector of class k, "
            "so indexing that matrix with the labels picks one row per label. Validate first: 1-D "
            "integer labels in [0, num_classes) (NumPy would silently read label -1 as the last "
            "row) and a positive int num_classes.",
            "`np.eye(num_classes, dtype=np.float32)` indexed by the labels array; "
            "`keras.utils.to_categorical(labels, num_classes)` also works but returns float64, so "
            'add `.astype("float32")`. `labels.min()` and `labels.max()` check the range.',
        ),
        "build_mnist_convnet": (
            "Which layers take 28x28 down to 26, 13, 11, 5 and 3 pixels, where does Flatten go, "
            "and which loss compares a 10-way softmax with one-hot rows?",
            "A Sequential: an Input of (28, 28, 1); three 3x3 relu Conv2D layers of 32, 64 and 64 "
            "filters with a 2x2 MaxPooling2D after the first two; Flatten, Dense 64 relu, Dense "
            "10 softmax (93,322 parameters). Compile it with RMSprop at its default rate, "
            "categorical cross-entropy and an accuracy metric.",
            "`keras.Sequential([...])` starting with `keras.Input(shape=(28, 28, 1))`, then "
            '`keras.layers.Conv2D(filters, (3, 3), activation="relu")` and so on, and '
            '`model.compile(optimizer="rmsprop", loss=..., metrics=["accuracy"])`; '
            "`model.summary()` prints each output shape. The 2019 `input_shape=` argument of the "
            "first layer is deprecated in Keras 3: start with `keras.Input`.",
        ),
    },
    "dataset": {
        "make_small_dataset": (
            "Before copying a single file: which indices does each split take when they run on "
            "from one split to the next, and what must you check first so that an error leaves "
            "nothing half-made behind?",
            "Validate split_sizes (a non-empty dict of ints >= 1) and classes (names, not one "
            "string), refuse a missing original folder (FileNotFoundError) and a base_dir that is "
            "a file or holds anything (FileExistsError). Build the full list of (split, class, "
            "source, destination) with one loop over the splits in their order and the classes, "
            "and a start index that grows by each split's size; check every source exists "
            "(FileNotFoundError naming it), and only then make folders, copy, and return {split: "
            "{cls: [copied Path, ...]}}.",
            '`Path(original_dir) / f"{cls}.{i}.jpg"`, `range(start, start + size)`, '
            "`path.is_file()`, `any(base.iterdir())` (a non-empty folder), "
            "`folder.mkdir(parents=True, exist_ok=True)` and `shutil.copyfile(src, dst)` (copy, "
            "never `shutil.move`). The 2019 book's twelve `os.mkdir` calls and copy loops (its "
            "last copied test dogs into validation) become one loop.",
        ),
    },
    "convnet": {
        "build_convnet": (
            "How do four 3x3 convolutions and 2x2 poolings take 150x150 down to 7x7, and how many "
            'output units, with which activation, answer the yes/no question "is it a dog"?',
            "An Input of input_shape; four blocks of Conv2D (32, 64, 128, 128 filters, 3x3, relu) "
            "each followed by a 2x2 MaxPooling2D; Flatten, a Dropout of the given rate right "
            "after it only when dropout is not None, Dense 512 relu and Dense 1 sigmoid. Compile "
            "with RMSprop at 1e-4, binary cross-entropy and accuracy, and raise ValueError for a "
            "rate outside [0, 1) or an input_shape that is not three ints with sides of at least "
            "46.",
            "Build the list of layers in a loop over the filter counts and pass it to "
            "`keras.Sequential(layers)`; `keras.layers.Dropout(rate)`; "
            '`keras.optimizers.RMSprop(learning_rate=1e-4)` with `loss="binary_crossentropy"` and '
            '`metrics=["accuracy"]`. The 2019 `lr=` is now `learning_rate=`, and the string '
            '"rmsprop" would use the default rate 1e-3.',
        ),
        "build_augmentation": (
            "Each 2019 ImageDataGenerator argument has a Keras 3 preprocessing layer: in which "
            "unit does each layer take its factor, and which flip would turn a cat upside down?",
            "A Sequential of five layers: rotation by up to 40 degrees (a factor of 40/360 of a "
            "full turn), translation by 0.2 of the height and width, shear of 0.2 (a fraction of "
            "the image size), zoom of 0.2 and a left-right flip only, each layer that moves "
            'pixels filling with "nearest" (their default is "reflect"). Give each layer its own '
            "seed derived from seed (seed, seed + 1, ...) so that the same seed repeats the same "
            "transformations.",
            '`keras.layers.RandomRotation(40 / 360, fill_mode="nearest", seed=...)`, '
            "`RandomTranslation(0.2, 0.2, ...)`, `RandomShear(x_factor=0.2, y_factor=0.2, ...)`, "
            '`RandomZoom(0.2, ...)` and `RandomFlip("horizontal", seed=...)` (its default also '
            "flips vertically). They replace the deprecated "
            "`ImageDataGenerator(rotation_range=40, ..., horizontal_flip=True)`, whose "
            "shear_range was in degrees.",
        ),
        "make_datasets": (
            "Which Keras function reads a folder with one sub-folder per class, how do you make "
            "sure cats get label 0, and which of the three splits may be shuffled?",
            "Check batch_size, image_size and that every split/class folder exists "
            "(FileNotFoundError naming it); read train, validation and test in that order with "
            "binary labels, classes cats then dogs, shuffling only train. Scale the images to [0, "
            "1] by mapping a Rescaling(1/255) layer over each dataset (labels untouched, no "
            "augmentation here) and return the three as a tuple.",
            "`keras.utils.image_dataset_from_directory(directory, image_size=..., batch_size=..., "
            'shuffle=..., class_names=["cats", "dogs"], label_mode="binary")` and '
            "`dataset.map(fn)` with fn taking (images, labels) and returning the rescaled images "
            "and the labels, via `keras.layers.Rescaling(1 / 255)`. It replaces the 2019 "
            '`ImageDataGenerator(rescale=1./255).flow_from_directory(..., class_mode="binary")`.',
        ),
    },
    "transfer": {
        "build_conv_base": (
            "Which Keras application builds VGG16 without its 1000-class classifier, and how can "
            'weights="imagenet" be honoured without ever letting Keras download anything?',
            "weights=None means random weights; a str or path-like is a weights file that must "
            'exist (FileNotFoundError naming it). For "imagenet", look for VGG16_NOTOP_FILE in '
            "the models subfolder of each folder keras_cache_dirs() lists and load the first "
            "found, or raise FileNotFoundError naming the file and the folder to put it in; "
            "anything else is a ValueError. Leave every layer trainable: freezing comes later.",
            "`keras.applications.VGG16(include_top=False, weights=..., input_shape=...)` with "
            '`weights` None or the path as a string; `folder / "models" / VGG16_NOTOP_FILE` and '
            '`.is_file()` find the file. Never pass "imagenet" itself to VGG16: it downloads when '
            "the file is not cached.",
        ),
        "extract_features": (
            "How many times may you iterate over a shuffled dataset before its labels stop "
            "matching the features you computed, and what does a `for` loop over a dataset that "
            "repeats forever do?",
            "Refuse an infinite dataset first (`is_infinite_dataset`), then make one pass: run "
            "each (images, labels) batch through the base and keep that batch's features with "
            "that same batch's labels, a smaller last batch included. Concatenate both lists at "
            "the end, and raise ValueError if there was no batch at all.",
            "`conv_base.predict_on_batch(images)` (or `conv_base(images, training=False)`), "
            "`np.asarray(..., dtype=np.float32)` and `np.concatenate(list_of_arrays)`. The 2019 "
            "loop over `flow_from_directory` needed a sample count and a `break` because "
            "generators never ended; a `tf.data.Dataset` ends by itself.",
        ),
        "build_feature_classifier": (
            "What does one input of this classifier look like once a (4, 4, 512) feature map is "
            "flattened, and which layer between the two Dense layers fights overfitting?",
            "Reject an input_dim that is not a positive int (a bool, a float or a string too), "
            "then a Sequential: an Input of shape (input_dim,), Dense 256 relu, Dropout 0.5 and "
            "Dense 1 sigmoid, compiled with RMSprop at 2e-5, binary cross-entropy and accuracy.",
            "`keras.Input(shape=(input_dim,))`, `keras.layers.Dense(units, activation=...)`, "
            "`keras.layers.Dropout(0.5)`, and `model.compile(optimizer=..., loss=..., "
            "metrics=...)` with `keras.optimizers.RMSprop(learning_rate=2e-5)`; the 2019 "
            "`optimizers.RMSprop(lr=2e-5)` no longer works in Keras 3.",
        ),
        "build_frozen_model": (
            "If you froze the whole model instead of the base, what would training update? And "
            "must the new model hold the base itself, or may it hold a copy?",
            "Freeze the base, stack an Input of the base's input shape (without the batch axis), "
            "the base itself (never a clone), Flatten, Dense 256 relu and Dense 1 sigmoid in a "
            "Sequential, and compile with RMSprop at 2e-5, binary cross-entropy and accuracy. "
            "Keras reads the flags at the first fit after compile, so before or after compile "
            "both work here; with VGG16 only the head's 4 weight tensors are then trainable.",
            "Set `conv_base.trainable` to False (the book does it before `model.compile(...)`); "
            "`conv_base.input_shape` minus its first (batch) entry is the Input's shape; "
            "`keras.optimizers.RMSprop(learning_rate=2e-5)`. `len(model.trainable_weights)` "
            "should be 4 with VGG16.",
        ),
        "unfreeze_from": (
            "While the base's own trainable flag is False, can any of its layers train? And when "
            "you start at block5_conv1, what about the pooling layer after it?",
            "Check that layer_name exists before changing anything (ValueError listing the valid "
            "names). Make the base trainable again, walk its layers in order setting each one's "
            "flag to False until layer_name and to True from it on, and return the names of the "
            "trainable layers in order, pooling included.",
            "`conv_base.layers`, `layer.name` and `layer.trainable`; set `conv_base.trainable` to "
            "True first (that also sets every layer). On a model that has trained, a change of "
            "`trainable` reaches training only after the next `compile()` (Keras rebuilds its "
            "training step at the first fit after it): that is compile_for_fine_tuning's job.",
        ),
        "compile_for_fine_tuning": (
            "Why does a change of the trainable flags of a model that has already trained not "
            "reach training until you do something again, and how big should the steps be for "
            "layers that are already well trained?",
            "Compile the same model again, with RMSprop at 1e-5 (ten times lower than the "
            "feature-extraction rate 2e-5), binary cross-entropy and accuracy, and return that "
            "very model, not a copy.",
            "`model.compile(optimizer=..., loss=..., metrics=...)` with "
            "`keras.optimizers.RMSprop(learning_rate=1e-5)`; the 2019 `lr=1e-5` is "
            "`learning_rate=1e-5` now, and `fit_generator` is `model.fit(train, "
            "validation_data=...)`.",
        ),
    },
    "curves": {
        "smooth_curve": (
            "Work out [1, 2, 3] with factor 0.5 on paper: what is the first smoothed point, and "
            "how much of the previous smoothed point does each new one keep?",
            "The first point is kept as it is; each later one is previous_smoothed * factor + "
            "point * (1 - factor), so the two weights add up to 1 and factor=0 changes nothing. "
            "Validate first (a non-empty flat sequence of numbers, a factor in [0, 1)) and build "
            "a new list rather than changing the points.",
            "`np.asarray(points, dtype=np.float64)` with `.ndim` and `.size` to validate, "
            "`isinstance(factor, numbers.Real)` for the factor, `smoothed[-1]` for the previous "
            "value, and `float(...)` of each point so that integer points are averaged as real "
            "numbers.",
        ),
        "plot_history": (
            "Where are the curves in what model.fit returns, what are the accuracy keys called in "
            "Keras 3 and in the 2019 book, and what should a function that makes a figure return "
            "instead of showing it?",
            "Take `history.history` if it has one, else the dict itself (ValueError for anything "
            'else); find the accuracy under "accuracy" or "acc" and the loss under "loss", each '
            'with its "val_" twin (ValueError if one is missing). In a figure with two panels, '
            "accuracy then loss, draw training as blue dots and validation as a blue line against "
            "epochs 1 to n (both through smooth_curve when smooth=True), with a title naming the "
            "metric, axis labels and a legend.",
            "`matplotlib.figure.Figure()` and `fig.subplots(1, 2)` (or `plt.subplots(1, 2)`), "
            '`ax.plot(epochs, values, "bo", label=...)` and `"b"` for the line, '
            "`ax.set_title(...)`, `ax.set_xlabel(...)`, `ax.set_ylabel(...)`, `ax.legend()`; "
            'return the figure, never call `plt.show()`. Keras 3 writes "accuracy"/"val_accuracy" '
            'where the 2019 book had "acc"/"val_acc".',
        ),
    },
    "visualize": {
        "build_activation_model": (
            "A functional Keras model is inputs wired to outputs: which symbolic tensors of the "
            "existing model could be the outputs of a new one, so that one call returns every "
            "layer's activation?",
            "Take the model's input tensor and the output tensor of each chosen layer: by default "
            "every Conv2D and MaxPooling2D layer in the model's order (test the layer's class, "
            "not its name), else the named layers in the given order, with a ValueError for an "
            "unknown name or an empty list. Build a new Model from that input to the list of "
            "outputs.",
            "`keras.Model(inputs, outputs)` with `model.inputs[0]` and a list of `layer.output`; "
            "`model.get_layer(name)`, and `isinstance` against `keras.layers.Conv2D` and "
            '`keras.layers.MaxPooling2D`. In Keras 3 the 2019 `model.input` raises "has never '
            'been called" on a Sequential model: use `model.inputs`.',
        ),
        "feature_map_grid": (
            "Channel c goes to which tile row and column when a row holds images_per_row tiles, "
            "and how tall is the grid when C is not a multiple of images_per_row? What must a "
            "channel whose standard deviation is 0 become?",
            "Start from a black uint8 grid of ceil(C / images_per_row) * H rows by images_per_row "
            "* W columns. Standardise each channel on its own (minus its mean, divided by its std "
            "+ 1e-5), times 64 plus 128, clipped to [0, 255], cast to uint8, and copy it into "
            "tile (c // images_per_row, c % images_per_row); validate a (1, H, W, C) activation "
            "and a positive images_per_row, and never modify the input.",
            "`np.zeros((rows * h, per_row * w), dtype=np.uint8)`, `divmod(c, per_row)`, "
            "`.mean(axis=(0, 1))` and `.std(axis=(0, 1))` for per-channel statistics of an (H, W, "
            "C) array, `np.clip(...)` then `.astype(np.uint8)`, and a slice assignment for each "
            "tile.",
        ),
        "deprocess_image": (
            "What happens to a value of 1.3 multiplied by 255 and cast to uint8, and what should "
            "an image of one constant value become?",
            "Standardise the whole array (minus its mean, divided by its std + 1e-5), multiply by "
            "0.1 and add 0.5, clip to [0, 1], multiply by 255 and cast to uint8. Work on a float "
            "copy, and raise ValueError for an empty array or one holding NaN or infinity.",
            "`np.array(x, dtype=np.float64)` (a copy), `x.mean()`, `x.std()`, `np.clip(x, 0, 1)`, "
            "`.astype(np.uint8)` and `np.isfinite(x).all()`. Without the clip, uint8 wraps around "
            "and the brightest pixels turn black.",
        ),
        "generate_filter_pattern": (
            "To find the input a filter responds to most, what do you differentiate with respect "
            "to what, and in which direction do you move the image at each step?",
            "Build a feature extractor from the model's input to the layer's output and start "
            "from float32 noise uniform in [0.4, 0.6], shaped (1, size, size, C), drawn from a "
            "generator seeded with seed. At each step the loss is the mean of the activation's "
            "channel filter_index; divide its gradient with respect to the image by the "
            "gradient's L2 norm and add step_size times it (ascent); return deprocess_image of "
            "the image without its batch axis. Raise ValueError for an unknown layer or a "
            "filter_index that is not one of the layer's channels.",
            "`keras.Model` from `model.inputs` to the layer's `output`; `np.random.default_rng` "
            "and its `.uniform` (never the global random state); `tf.convert_to_tensor` with a "
            "float32 dtype; `tf.GradientTape` as a context manager, its `watch` and `gradient`; "
            "`tf.reduce_mean` and `tf.math.l2_normalize`. The 2019 `K.gradients` and `K.function` "
            "are gone in Keras 3.",
        ),
        "class_activation_map": (
            "In a model ending conv -> global average pooling -> Dense, a class's score is the "
            "average over positions of which weighted sum? What is that sum before the averaging?",
            "At each position (i, j), sum the channels of the maps weighted by the class's Dense "
            "weights: an (H, W) map (drop a leading batch axis of 1 first, and raise ValueError "
            "unless there is one weight per channel). Keep its positive part (ReLU) and divide by "
            "its maximum, or return all zeros when nothing is positive, never NaN.",
            "The `@` operator (a matrix product over the last axis) or `np.tensordot`, "
            "`np.maximum` and `ndarray.max`. The weights of class k are the Dense kernel's column "
            "k: `dense.get_weights()[0][:, k]`.",
        ),
        "grad_cam": (
            "CAM needs a Dense layer right after global pooling. For any convnet, where can one "
            "weight per channel come from: the gradient of what with respect to what?",
            "Make a model from the input to both the last convolution's output and the "
            "predictions; under a gradient tape watching the image, so that frozen layers work "
            "too (a single (H, W, C) image gets a batch axis first), the class score is "
            "predictions[:, class_index], the top class when class_index is None (ValueError "
            "outside 0 to n - 1, a negative one too). Average the "
            "score's gradient with respect to the convolution's output over the batch and the h x "
            "w positions, weight that output's channels by it and sum them, then ReLU and divide "
            "by the maximum (zeros if nothing is positive).",
            "`keras.Model` with `model.inputs` and a list of two outputs (the layer's `output` and "
            "`model.outputs[0]`); `tf.GradientTape` with its `watch` and `gradient`; "
            "`tf.reduce_mean` and `tf.reduce_sum` with an `axis=`, `tf.argmax`. Keras 3 has no "
            "`K.gradients`, and `model.output` of a Sequential raises: use `model.outputs[0]`.",
        ),
        "overlay_heatmap": (
            "The heatmap is (h, w) in [0, 1] and the image (H, W, 3) in 0-255: what must happen "
            "to the heatmap's size and to its values before they can be mixed with the pixels?",
            "Resize the heatmap bilinearly to the image's height and width, colour it with "
            '"jet" (RGB only, scaled to 0-255) and blend: (1 - alpha) * image + alpha * colours, '
            "rounded, clipped to [0, 255], uint8. A grey (H, W) or (H, W, 1) image broadcasts to "
            "RGB; raise ValueError for a heatmap that is not 2-D or not in [0, 1].",
            "`PIL.Image.fromarray` on a float32 array and its `.resize` with "
            "`Image.Resampling.BILINEAR` (it takes (width, height)), or `keras.ops.image.resize`; "
            '`matplotlib.colormaps["jet"]`, which gives RGBA in [0, 1]; `np.rint`, `np.clip`, '
            "`.astype(np.uint8)`. The 2019 book used OpenCV's `applyColorMap` and added `0.4 * "
            "colours` to the image; here Pillow resizes, Matplotlib colours, and the colours are "
            "blended in.",
        ),
    },
}
