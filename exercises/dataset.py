# stub fingerprint: 698ffac890f80ecb
# Exercise file: write your code where it says NotImplementedError, then run
#   pytest checks/test_dataset.py
# (Generated from solutions/dataset.py by `python -m grader stubgen`.)
"""Exercise 3: a small cats-vs-dogs dataset, split into train, validation and test.

The chapter trains a convnet from scratch on only 2,000 pictures, to show how
far a small dataset goes. It takes them from Kaggle's "Dogs vs. Cats" folder,
a flat folder of ``cat.0.jpg``, ``cat.1.jpg``, ..., ``dog.0.jpg``, ..., and
copies three disjoint slices into one folder per split and class::

    base_dir/
        train/       cats/ cat.0.jpg ... cat.999.jpg      dogs/ dog.0.jpg ... dog.999.jpg
        validation/  cats/ cat.1000.jpg ... cat.1499.jpg  dogs/ dog.1000.jpg ... dog.1499.jpg
        test/        cats/ cat.1500.jpg ... cat.1999.jpg  dogs/ dog.1500.jpg ... dog.1999.jpg

That is the layout ``keras.utils.image_dataset_from_directory`` reads: one
sub-folder per class (exercise 4 uses it).

No download here: ``data.write_cats_vs_dogs(folder)`` writes a Kaggle-style
folder of 1,000 cat and 1,000 dog silhouettes (real drawings from
Animal-MNIST), so use for example ``split_sizes={"train": 500,
"validation": 250, "test": 250}`` with it. If you have Kaggle's real
``train/`` folder (25,000 photos), the default sizes work on it as they are.

Task (run ``pytest checks/test_dataset.py``): ``make_small_dataset``.

* Indices run consecutively across the splits, in the order of
  ``split_sizes``: with the defaults, train takes 0-999, validation
  1000-1499 and test 1500-1999. No file may land in two splits: a test
  picture that was also seen in training would make the test score a lie.
* Copy, never move: the original folder stays as it was.
* Never overwrite: refuse a ``base_dir`` that already holds anything.
* Check every source file exists *before* copying anything, so that a
  missing file leaves no half-made dataset behind.

2019 note: the book's code spells out twelve ``os.mkdir`` calls and twelve
copy loops, and its last loop copies the test dogs into the *validation*
folder (a copy-paste slip). Write one loop over splits and classes instead;
``pathlib.Path`` and ``shutil.copyfile`` do the rest.
"""

import shutil
from pathlib import Path

DEFAULT_SPLIT_SIZES = {"train": 1000, "validation": 500, "test": 500}


def make_small_dataset(original_dir, base_dir, split_sizes=None, classes=("cat", "dog")):
    """Copies a small train/validation/test split out of a Kaggle-style folder.

    For each class ``cls`` and each split, in the order of ``split_sizes``,
    copies the next ``size`` files ``{cls}.{i}.jpg`` from ``original_dir``
    into ``base_dir/{split}/{cls}s/``. The indices ``i`` start at 0 and run
    on from one split to the next, so the splits never share a file.

    Args:
        original_dir: str or path, the flat folder holding ``cat.0.jpg``,
            ``dog.0.jpg``, ... It is only read.
        base_dir: str or path, the folder to create. It must not exist, or
            be an empty folder.
        split_sizes: a non-empty dict mapping each split name to the number
            of files per class it gets (an int >= 1), in order. A split name
            is a plain folder name made inside ``base_dir`` (``"train"``),
            never a path (``"../outside"``, ``"a/b"``). ``None`` means
            ``{"train": 1000, "validation": 500, "test": 500}``.
        classes: a non-empty sequence of distinct class names (not one
            string), used as file-name prefixes (``cat`` for ``cat.0.jpg``);
            a class's folder is its name plus "s" (``cats``).

    Returns:
        ``{split: {cls: [Path, ...]}}``: the copied files, in index order.

    Raises:
        FileNotFoundError: ``original_dir`` is not a folder, or a source file
            is missing (the message names it). Nothing is created then.
        FileExistsError: ``base_dir`` exists and is not an empty folder. It is
            left untouched.
        ValueError: ``split_sizes`` or ``classes`` is not as described
            above. Nothing is created then.
    """
    raise NotImplementedError("make_small_dataset: your code goes here")
