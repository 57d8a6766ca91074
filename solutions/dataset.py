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
    ### BEGIN SOLUTION
    split_sizes = DEFAULT_SPLIT_SIZES if split_sizes is None else split_sizes
    _check_split_sizes(split_sizes)
    classes = _check_classes(classes)
    original, base = Path(original_dir), Path(base_dir)
    if not original.is_dir():
        raise FileNotFoundError(f"original_dir {original} is not a folder.")
    if base.exists() and (not base.is_dir() or any(base.iterdir())):
        raise FileExistsError(f"base_dir {base} already exists and is not an empty folder; refusing to overwrite it.")

    plan = _copy_plan(original, base, split_sizes, classes)
    missing = [source for _, _, source, _ in plan if not source.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FileNotFoundError(f"source file {missing[0]} is missing{more}; nothing was copied.")

    existed = base.exists()
    result = {split: {cls: [] for cls in classes} for split in split_sizes}
    try:
        for split, cls, source, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            result[split][cls].append(target)
    except BaseException:
        _remove_contents(base, remove_base=not existed)  # leave nothing half-made
        raise
    return result
    ### END SOLUTION


### BEGIN SOLUTION ONLY
def _check_split_sizes(split_sizes):
    """Raises ValueError unless ``split_sizes`` maps folder names to ints >= 1."""
    if not isinstance(split_sizes, dict) or not split_sizes:
        raise ValueError(f"`split_sizes` must be a non-empty dict such as {DEFAULT_SPLIT_SIZES}, got {split_sizes!r}.")
    for split, size in split_sizes.items():
        if not isinstance(split, str) or not split or Path(split).name != split or split in (".", ".."):
            raise ValueError(f"split names must be plain folder names, got {split!r}.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"split {split!r} must get an int >= 1 files per class, got {size!r}.")


def _check_classes(classes):
    """Returns ``classes`` as a tuple of distinct names, or raises ValueError."""
    if isinstance(classes, str):
        raise ValueError(f'`classes` must be a sequence of names such as ("cat", "dog"), not the string {classes!r}.')
    classes = tuple(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"`classes` must be distinct names, at least one, got {classes!r}.")
    for cls in classes:
        if not isinstance(cls, str) or not cls or Path(cls).name != cls or "." in cls:
            raise ValueError(f"class names must be plain names without a dot, got {cls!r}.")
    return classes


def _copy_plan(original, base, split_sizes, classes):
    """Every ``(split, cls, source, target)``, split by split, class by class, in index order."""
    plan = []
    start = 0
    for split, size in split_sizes.items():
        for cls in classes:
            folder = base / split / f"{cls}s"
            for i in range(start, start + size):
                name = f"{cls}.{i}.jpg"
                plan.append((split, cls, original / name, folder / name))
        start += size
    return plan


def _remove_contents(base, remove_base):
    """Deletes what was created under ``base`` (and ``base`` itself if we made it)."""
    if remove_base:
        shutil.rmtree(base, ignore_errors=True)
    elif base.is_dir():
        for child in base.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
### END SOLUTION ONLY
