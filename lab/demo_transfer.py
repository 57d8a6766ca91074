"""The chapter's comparison on the embedded data: from scratch vs feature extraction vs fine-tuning.

Cats vs dogs silhouettes (28x28), with few and with more training images.
Four ways to train, all with the same network shape (the embedded base,
Flatten, Dense 256, Dense 1) and the exercise's functions:

* **from scratch**: the base's architecture with fresh weights, everything
  trained, RMSprop(1e-4) (the from-scratch convnet's rate);
* **feature extraction**: ``extract_features`` with the pretrained base
  (one pass), then ``build_feature_classifier`` trained on the features;
* **frozen base + head**: ``build_frozen_model`` on the pretrained base,
  trained end to end with the base frozen;
* **fine-tuned**: that model, then ``unfreeze_from(base, "block3_conv1")``,
  ``compile_for_fine_tuning`` and half as many steps again.

Every method gets the same number of gradient steps (batches of 20), so that
small training sets are not undertrained; nothing is chosen on the test set.
The test set is 250 cats and 250 dogs that no training set contains (exact
duplicates are dropped before splitting); the table gives the mean test
accuracy over a few random training subsets, with the lowest and highest.

Run from the repository root:

    python -m lab.demo_transfer              # the full table, a few minutes on 2 cores
    python -m lab.demo_transfer --quick      # a smoke run, well under a minute
    python -m lab.demo_transfer --target exercises   # with your own functions
"""

import argparse
import importlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TF 2.21's oneDNN kernels give wrong Conv2D results for some strided kernels
# and round differently across CPUs; TensorFlow's own kernels are used instead.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

import data
from data.pretrained import FINE_TUNE_FROM, build_base, load_pretrained_base, prepare_images

SEED = 20240611
TEST_PER_CLASS = 250
BATCH_SIZE = 20
SCRATCH_LEARNING_RATE = 1e-4
SIZES = (50, 200, 1000)
REPEATS = 2
STEPS = 1500
METHODS = ("from scratch", "feature extraction", "frozen base + head", "fine-tuned")


def split_cats_and_dogs(seed=SEED):
    """Deduplicated cats and dogs: a fixed test set and the pool training sets are drawn from.

    Returns:
        ``(pool, test)``, each ``(images, labels)``: float32 images
        ``(n, 28, 28, 1)`` in [0, 1] and float32 labels (cat 0, dog 1).
    """
    images, labels = data.load_cats_and_dogs()
    rng = np.random.RandomState(seed)
    pool, test = [], []
    for label in (0, 1):
        rows = np.flatnonzero(labels == label)
        _, first = np.unique(images[rows].reshape(len(rows), -1), axis=0, return_index=True)
        rows = rows[np.sort(first)]
        rows = rows[rng.permutation(len(rows))]
        test.append(rows[:TEST_PER_CLASS])
        pool.append(rows[TEST_PER_CLASS:])

    def gather(parts):
        index = np.concatenate(parts)
        index = index[rng.permutation(len(index))]
        return prepare_images(images[index]), labels[index].astype(np.float32)

    return gather(pool), gather(test)


def training_subset(pool, size, repeat):
    """``size`` training images, half cats and half dogs, drawn for this repeat."""
    images, labels = pool
    rng = np.random.RandomState(SEED + 1000 * repeat + size)
    picked = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[: size // 2] for c in (0, 1)])
    picked = picked[rng.permutation(len(picked))]
    return images[picked], labels[picked]


def fit_steps(model, x, y, steps, seed):
    """Trains ``model`` for ``steps`` batches of ``BATCH_SIZE``, reshuffling every pass over the data."""
    import tensorflow as tf

    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(BATCH_SIZE)
    )
    model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)


def accuracy(model, x, y):
    probabilities = model.predict(x, batch_size=250, verbose=0).reshape(-1)
    return float(np.mean((probabilities > 0.5) == (y > 0.5)))


def run_methods(transfer, train, test, steps, seed):
    """Test accuracy of each of ``METHODS`` trained on ``train``."""
    import keras
    import tensorflow as tf

    (x, y), (x_test, y_test) = train, test
    results = {}

    keras.utils.set_random_seed(seed)
    scratch_base = build_base()
    model = transfer.build_frozen_model(scratch_base)
    scratch_base.trainable = True  # the same network, every weight trained from its random start
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=SCRATCH_LEARNING_RATE),
                  loss="binary_crossentropy", metrics=["accuracy"])
    fit_steps(model, x, y, steps, seed)
    results["from scratch"] = accuracy(model, x_test, y_test)

    keras.utils.set_random_seed(seed)
    base = load_pretrained_base()
    batches = lambda a, b: tf.data.Dataset.from_tensor_slices((a, b)).batch(BATCH_SIZE)
    features, labels = transfer.extract_features(base, batches(x, y))
    test_features, test_labels = transfer.extract_features(base, batches(x_test, y_test))
    features, test_features = features.reshape(len(features), -1), test_features.reshape(len(test_features), -1)
    classifier = transfer.build_feature_classifier(features.shape[1])
    fit_steps(classifier, features, labels, steps, seed)
    results["feature extraction"] = accuracy(classifier, test_features, test_labels)

    keras.utils.set_random_seed(seed)
    base = load_pretrained_base()
    model = transfer.build_frozen_model(base)
    fit_steps(model, x, y, steps, seed)
    results["frozen base + head"] = accuracy(model, x_test, y_test)

    transfer.unfreeze_from(base, FINE_TUNE_FROM)
    transfer.compile_for_fine_tuning(model)
    fit_steps(model, x, y, steps // 2, seed + 1)
    results["fine-tuned"] = accuracy(model, x_test, y_test)
    return results


def format_table(rows, repeats):
    """The table: one row per training-set size, mean (lowest-highest) per method."""
    header = ["training images", *METHODS]
    body = []
    for size, per_method in rows:
        cells = [str(size)]
        for method in METHODS:
            values = np.array(per_method[method])
            cells.append(f"{values.mean():.3f}" + (f" ({values.min():.2f}-{values.max():.2f})" if repeats > 1 else ""))
        body.append(cells)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), " | ".join("-" * w for w in widths)]
    lines += [" | ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.demo_transfer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 images, 1 repeat, 40 steps")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"training-set sizes (default {SIZES})")
    parser.add_argument("--repeats", type=int, default=None, help=f"training subsets per size (default {REPEATS})")
    parser.add_argument("--steps", type=int, default=None, help=f"gradient steps per method (default {STEPS})")
    parser.add_argument("--target", default="solutions", choices=("solutions", "exercises"),
                        help="whose functions to use: the reference (default) or your exercises/transfer.py")
    args = parser.parse_args(argv)
    sizes = args.sizes or ((50,) if args.quick else SIZES)
    repeats = args.repeats or (1 if args.quick else REPEATS)
    steps = args.steps or (40 if args.quick else STEPS)
    pool, test = split_cats_and_dogs()
    largest = int(min(np.sum(pool[1] == 0), np.sum(pool[1] == 1))) * 2
    if repeats < 1 or steps < 2 or any(size < 2 or size % 2 or size > largest for size in sizes):
        parser.error(f"sizes must be even, 2-{largest}; repeats >= 1; steps >= 2")

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    transfer = importlib.import_module(f"{args.target}.transfer")
    print(f"Cats vs dogs silhouettes, 28x28: {len(test[0])} test images, {steps} steps of {BATCH_SIZE} images per "
          f"method ({steps // 2} more to fine-tune), {args.target}/transfer.py")
    started = time.time()
    rows = []
    for size in sizes:
        per_method = {method: [] for method in METHODS}
        for repeat in range(repeats):
            results = run_methods(transfer, training_subset(pool, size, repeat), test, steps, SEED + repeat)
            for method, value in results.items():
                per_method[method].append(value)
            print(f"  {size} images, subset {repeat + 1}/{repeats}: "
                  + ", ".join(f"{m} {v:.3f}" for m, v in results.items())
                  + f"  [{time.time() - started:.0f} s]", flush=True)
        rows.append((size, per_method))
    print()
    print("Test accuracy" + (f", mean (lowest-highest) of {repeats} training subsets" if repeats > 1 else "") + ":")
    print(format_table(rows, repeats))
    print(f"\n{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
