"""The small dataset with pathlib only: a list of index ranges, read_bytes/write_bytes, itertools."""

import itertools
from pathlib import Path


def _ranges(split_sizes):
    """split -> range of indices, consecutive in the order given."""
    ends = list(itertools.accumulate(split_sizes.values()))
    starts = [0] + ends[:-1]
    return {split: range(start, end) for split, start, end in zip(split_sizes, starts, ends)}


def make_small_dataset(original_dir, base_dir, split_sizes=None, classes=("cat", "dog")):
    sizes = dict(train=1000, validation=500, test=500) if split_sizes is None else split_sizes
    if not isinstance(sizes, dict) or not sizes:
        raise ValueError("split_sizes must be a non-empty dict of split name -> size")
    for split, size in sizes.items():
        if not (isinstance(split, str) and split and Path(split).name == split and split not in {".", ".."}):
            raise ValueError(f"invalid split name {split!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"invalid size {size!r} for split {split!r}")
    if isinstance(classes, (str, bytes)):
        raise ValueError("classes must be several names, not one string")
    classes = tuple(classes)
    if len(classes) == 0 or len(classes) != len(set(classes)) or not all(
            isinstance(c, str) and c and "." not in c and Path(c).name == c for c in classes):
        raise ValueError(f"invalid classes {classes!r}")

    source_root, target_root = Path(original_dir), Path(base_dir)
    if not source_root.is_dir():
        raise FileNotFoundError(f"no such folder: {source_root}")
    if target_root.is_file() or target_root.is_symlink() or (target_root.is_dir() and next(target_root.iterdir(), None)):
        raise FileExistsError(f"{target_root} already holds something; refusing to overwrite it")

    ranges = _ranges(sizes)
    pairs = [(split, cls, source_root / f"{cls}.{i}.jpg", target_root / split / f"{cls}s" / f"{cls}.{i}.jpg")
             for split, cls in itertools.product(sizes, classes) for i in ranges[split]]
    absent = next((src for _, _, src, _ in pairs if not src.is_file()), None)
    if absent is not None:
        raise FileNotFoundError(f"{absent} does not exist; nothing was copied")

    existed = target_root.exists()
    written = []
    try:
        for split, cls in itertools.product(sizes, classes):
            (target_root / split / f"{cls}s").mkdir(parents=True, exist_ok=True)
        for _, _, src, dst in pairs:
            dst.write_bytes(src.read_bytes())
            written.append(dst)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for split in sizes:
            for folder in [target_root / split / f"{c}s" for c in classes] + [target_root / split]:
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        if not existed and target_root.is_dir() and not any(target_root.iterdir()):
            target_root.rmdir()
        raise
    result = {}
    for split, cls, _, dst in pairs:
        result.setdefault(split, {}).setdefault(cls, []).append(dst)
    return result
