"""The small dataset built in a staging folder next to base_dir, then renamed into place in one step."""

import os
import shutil
import tempfile
from pathlib import Path

DEFAULTS = {"train": 1000, "validation": 500, "test": 500}


def _check(split_sizes, classes):
    if not isinstance(split_sizes, dict) or not split_sizes:
        raise ValueError(f"split_sizes must be a non-empty dict, got {split_sizes!r}")
    for split, size in split_sizes.items():
        if not isinstance(split, str) or split in ("", ".", "..") or Path(split).name != split:
            raise ValueError(f"split names must be folder names, got {split!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"sizes must be ints >= 1, got {size!r}")
    if isinstance(classes, str) or not classes:
        raise ValueError(f"classes must be a non-empty sequence of names, got {classes!r}")
    names = list(classes)
    if len(names) != len(set(names)) or any(not isinstance(c, str) or not c or "." in c or Path(c).name != c
                                            for c in names):
        raise ValueError(f"classes must be distinct plain names, got {classes!r}")
    return names


def make_small_dataset(original_dir, base_dir, split_sizes=None, classes=("cat", "dog")):
    split_sizes = DEFAULTS if split_sizes is None else split_sizes
    classes = _check(split_sizes, classes)
    original, base = Path(original_dir), Path(base_dir)
    if not original.is_dir():
        raise FileNotFoundError(f"{original} is not a folder")
    if base.exists() or base.is_symlink():
        if not base.is_dir() or base.is_symlink() or any(base.iterdir()):
            raise FileExistsError(f"{base} is not an empty folder")

    names = {}
    first = 0
    for split, size in split_sizes.items():
        names[split] = {cls: [f"{cls}.{i}.jpg" for i in range(first, first + size)] for cls in classes}
        first += size
    for per_class in names.values():
        for listed in per_class.values():
            for name in listed:
                if not (original / name).is_file():
                    raise FileNotFoundError(f"the source file {original / name} is missing")

    base.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{base.name}-", dir=base.parent))
    try:
        for split, per_class in names.items():
            for cls, listed in per_class.items():
                folder = staging / split / f"{cls}s"
                folder.mkdir(parents=True)
                for name in listed:
                    shutil.copyfile(original / name, folder / name)
        if base.exists():
            base.rmdir()  # empty: checked above
        os.replace(staging, base)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {split: {cls: [base / split / f"{cls}s" / name for name in listed] for cls, listed in per_class.items()}
            for split, per_class in names.items()}
