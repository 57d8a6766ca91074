"""The small dataset with os.path, os.makedirs and shutil.copy2, checking everything before copying."""

import os
import shutil
from pathlib import Path


def _validate(split_sizes, classes):
    if split_sizes is None:
        split_sizes = {"train": 1000, "validation": 500, "test": 500}
    if not isinstance(split_sizes, dict) or len(split_sizes) == 0:
        raise ValueError("split_sizes must be a non-empty dict")
    for name, size in split_sizes.items():
        if not isinstance(name, str) or name in ("", ".", "..") or os.sep in name or "/" in name:
            raise ValueError(f"bad split name {name!r}")
        if type(size) is not int or size < 1:
            raise ValueError(f"split {name!r}: the size must be an int >= 1, got {size!r}")
    if isinstance(classes, str):
        raise ValueError("classes must be a sequence of names, not a string")
    classes = list(classes)
    if not classes or len(set(classes)) < len(classes):
        raise ValueError("classes must be distinct, at least one")
    for name in classes:
        if not isinstance(name, str) or not name or "." in name or os.sep in name or "/" in name:
            raise ValueError(f"bad class name {name!r}")
    return split_sizes, classes


def make_small_dataset(original_dir, base_dir, split_sizes=None, classes=("cat", "dog")):
    split_sizes, classes = _validate(split_sizes, classes)
    original_dir, base_dir = os.fspath(original_dir), os.fspath(base_dir)
    if not os.path.isdir(original_dir):
        raise FileNotFoundError(f"{original_dir} is not a folder")
    if os.path.lexists(base_dir) and (not os.path.isdir(base_dir) or os.listdir(base_dir)):
        raise FileExistsError(f"{base_dir} exists and is not empty")

    jobs = []
    offset = 0
    for split, size in split_sizes.items():
        for cls in classes:
            for index in range(offset, offset + size):
                fname = "%s.%d.jpg" % (cls, index)
                jobs.append((split, cls, os.path.join(original_dir, fname),
                             os.path.join(base_dir, split, cls + "s", fname)))
        offset += size
    for _, _, source, _ in jobs:
        if not os.path.isfile(source):
            raise FileNotFoundError(f"missing source file: {source}")

    made_base = not os.path.exists(base_dir)
    copied = {split: {cls: [] for cls in classes} for split in split_sizes}
    try:
        for split, cls, source, target in jobs:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
            copied[split][cls].append(Path(target))
    except BaseException:
        if made_base:
            shutil.rmtree(base_dir, ignore_errors=True)
        else:
            for entry in os.listdir(base_dir):
                shutil.rmtree(os.path.join(base_dir, entry), ignore_errors=True)
        raise
    return copied
