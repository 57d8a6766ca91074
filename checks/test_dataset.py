"""Exercise 3 checks: copying a small train/validation/test split out of a Kaggle-style folder.

The checks run ``make_small_dataset`` on temporary folders. The default
split needs files 0-1999 of each class, more than the embedded silhouettes
hold, so most checks use a folder of small stand-in files, each with its own
bytes (what matters here is which file goes where, and that it arrives
unchanged); the checks of the default split share one run of it. One check
uses real JPEGs from ``data.write_cats_vs_dogs``.
"""

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import data
from checks.harness import CheckFailure, expect, expect_raises


DEFAULT_SPLIT_SIZES = {"train": 1000, "validation": 500, "test": 500}
SMALL_SPLIT = {"train": 3, "test": 2}
MISSING_SPLIT = {"train": 30, "validation": 10, "test": 10}  # with dog.45.jpg (a test dog) missing
FILES_PER_CLASS = 2100  # more than the 2,000 the default split takes, so an overrun copies a wrong file


# --------------------------------------------------------------------------
# Folders to work on, and what should come out
# --------------------------------------------------------------------------


def make_flat_folder(folder, classes=("cat", "dog"), count=FILES_PER_CLASS):
    """Writes ``{cls}.{i}.jpg`` stand-ins, each with bytes no other file has."""
    folder.mkdir(parents=True, exist_ok=True)
    for cls in classes:
        for i in range(count):
            (folder / f"{cls}.{i}.jpg").write_bytes(f"stand-in for a JPEG: {cls} number {i}\n".encode())
    return folder


@pytest.fixture
def flat_folder(tmp_path):
    """A small flat folder, 60 files per class: enough for the checks that use small splits."""
    return make_flat_folder(tmp_path / "original", count=60)


@dataclass
class DefaultRun:
    original: Path
    original_before: dict
    base: Path
    result: object


# The learner's run, kept in the grading session's own stash: a batch runner
# grades many submissions in one process, and a module-level cache would hand
# one submission's result to the next.
DEFAULT_RUNS = pytest.StashKey[dict]()


@pytest.fixture
def default_split(exercise, tmp_path_factory, request):
    """``make_small_dataset(original, base)`` with the default split sizes.

    Run once and shared by the checks that inspect it: copying 4,000 files
    once instead of once per check keeps the grading run quick. An error
    (or a stub's "not started") is raised again in every check that uses it.
    """
    runs = request.config.stash.setdefault(DEFAULT_RUNS, {})
    if exercise.path not in runs:
        root = tmp_path_factory.mktemp("default_split")
        original = make_flat_folder(root / "original")
        before = snapshot(original)
        base = root / "cats_and_dogs_small"
        try:
            runs[exercise.path] = DefaultRun(original, before, base, exercise.make_small_dataset(original, base))
        except BaseException as error:  # noqa: BLE001 - shown in each check that needs this run
            runs[exercise.path] = error
    return DefaultRunOrError(runs[exercise.path])


class DefaultRunOrError:
    """The shared run, or its error raised when a check first looks at it.

    Raising in the check's body rather than in the fixture keeps the error a
    verdict on that check (pytest 9.2 mishandles a fixture that raises a
    ``BaseException`` such as the stub's "not started").
    """

    def __init__(self, run):
        self._run = run

    def __getattr__(self, name):
        if isinstance(self._run, BaseException):
            raise self._run.with_traceback(None)
        return getattr(self._run, name)


def expected_names(split_sizes, classes=("cat", "dog")):
    """``{split: {cls: [file names]}}`` as the contract lays them out."""
    names, start = {}, 0
    for split, size in split_sizes.items():
        names[split] = {cls: [f"{cls}.{i}.jpg" for i in range(start, start + size)] for cls in classes}
        start += size
    return names


def snapshot(folder):
    """``{relative path: bytes}`` of every file under ``folder`` (folders as ``None``)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def index_of(name):
    match = re.fullmatch(r"[a-z]+\.(\d+)\.jpg", name)
    return int(match.group(1)) if match else -1


def index_ranges(indices):
    """Sorted ints as runs: [0, 1, 2, 5] -> "{0-2, 5}"."""
    runs, first = [], indices[0]
    for previous, current in zip(indices, indices[1:] + [None]):
        if current is None or current != previous + 1:
            runs.append(f"{first}" if first == previous else f"{first}-{previous}")
            first = current
    shown = ", ".join(runs[:4]) + (", ..." if len(runs) > 4 else "")
    return shown if len(runs) == 1 else "{" + shown + "}"


def describe_files(names):
    """A short account of file names: how many, and their index ranges (``cat.0-999.jpg``)."""
    if not names:
        return "no files"
    by_class = {}
    for name in names:
        by_class.setdefault(name.split(".")[0], []).append(index_of(name))
    parts = [f"{cls}.{index_ranges(sorted(indices))}.jpg" for cls, indices in by_class.items()]
    return f"{len(names)} file{'s' if len(names) != 1 else ''}, {' and '.join(parts)}"


def folder_files(base, split, cls):
    folder = Path(base) / split / f"{cls}s"
    return sorted((p.name for p in folder.iterdir() if p.is_file()), key=index_of) if folder.is_dir() else []


def index_cause(split, cls, wanted, got, split_sizes):
    """Explains a wrong set of files in one folder by the usual mistakes."""
    wanted_idx, got_idx = [index_of(n) for n in wanted], [index_of(n) for n in got]
    splits = list(split_sizes)
    if split == "validation" and cls == "dog" and "test" in split_sizes and len(got) > len(wanted):
        return ("the test dogs went into validation/dogs (the book's copy-paste slip in its last loop): "
                "each split and class has its own destination folder.")
    if got_idx and got_idx[0] == 0 and splits.index(split) > 0:
        return ("this split starts again at index 0, so it overlaps the first one: each split starts where the "
                "previous one ended (train 0-999, validation 1000-1499, test 1500-1999).")
    if got_idx == [i + 1 for i in wanted_idx]:
        return "the indices are shifted by one: file numbers start at 0, and range(start, start + size) excludes its end."
    if len(got_idx) == len(wanted_idx) and got_idx == list(range(got_idx[0], got_idx[0] + len(got_idx))):
        return ("this split took another split's indices: take the splits in the order split_sizes lists them "
                f"({', '.join(splits)}), each starting where the previous one ended.")
    if len(got_idx) == len(wanted_idx) + 1:
        return "one file too many: range(start, start + size) already excludes its end; no +1."
    if len(got_idx) == len(wanted_idx) - 1:
        return "one file too few: range(start, start + size) gives size files."
    return ""


def expect_split_files(base, split_sizes, classes=("cat", "dog"), what="make_small_dataset(...)"):
    """Checks the exact file names of every split and class folder."""
    for split, per_class in expected_names(split_sizes, classes).items():
        for cls, wanted in per_class.items():
            got = folder_files(base, split, cls)
            if got != wanted:
                cause = index_cause(split, cls, wanted, got, split_sizes)
                raise CheckFailure(f"{what}: {split}/{cls}s/ should hold {describe_files(wanted)}; it holds "
                                   f"{describe_files(got)}." + (f"\nLikely cause: {cause}" if cause else ""))


def expect_layout(base, split_sizes, classes=("cat", "dog"), what="make_small_dataset(...)"):
    """Checks that ``base`` holds exactly one folder per split and, in each, one per class."""
    base = Path(base)
    expect(base.is_dir(), f"{what} should create the folder {base.name}/, but it does not exist.")
    for folder, wanted in [(base, sorted(split_sizes))] + [(base / s, sorted(f"{c}s" for c in classes)) for s in split_sizes]:
        shown = f"{folder.relative_to(base.parent)}/"
        expect(folder.is_dir(), f"{what}: the folder {shown} is missing.")
        got = sorted(p.name for p in folder.iterdir())
        stray_files = [n for n in got if (folder / n).is_file()]
        expect(not stray_files, f"{what}: {shown} should hold only the folders {wanted}, but also holds the files "
                                f"{stray_files[:3]}: images go one level down, into a folder per class.")
        expect(got == wanted, f"{what}: {shown} should hold exactly the folders {wanted}, got {got}."
                              + ("\nLikely cause: a class's folder is its name plus \"s\" (cat -> cats)."
                                 if folder != base and set(got) == set(classes) else ""))


# --------------------------------------------------------------------------
# The default split
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="make_small_dataset")
def test_folder_layout(default_split):
    """the default split makes exactly train/, validation/ and test/, each with cats/ and dogs/"""
    expect_layout(default_split.base, DEFAULT_SPLIT_SIZES, what="make_small_dataset(original, base)")


@pytest.mark.points(1, task="make_small_dataset")
def test_counts_per_split_and_class(default_split):
    """each class gets 1,000 training, 500 validation and 500 test files"""
    for split, size in DEFAULT_SPLIT_SIZES.items():
        for cls in ("cat", "dog"):
            got = len(folder_files(default_split.base, split, cls))
            cause = {size + 1: "\nLikely cause: one file too many: range(start, start + size) already excludes its end.",
                     size - 1: "\nLikely cause: one file too few: range(start, start + size) gives size files."}
            expect(got == size, f"make_small_dataset(original, base): {split}/{cls}s/ should hold {size} files, "
                                f"got {got}.{cause.get(got, '')}")


@pytest.mark.points(2, task="make_small_dataset")
def test_exact_indices(default_split):
    """train holds files 0-999, validation 1000-1499 and test 1500-1999 of each class"""
    expect_split_files(default_split.base, DEFAULT_SPLIT_SIZES, what="make_small_dataset(original, base)")


@pytest.mark.points(1, task="make_small_dataset")
def test_splits_are_disjoint(default_split):
    """no file is in two splits, and every class folder holds only its own class"""
    seen = {}
    for split in DEFAULT_SPLIT_SIZES:
        for cls in ("cat", "dog"):
            names = folder_files(default_split.base, split, cls)
            strangers = [n for n in names if not n.startswith(f"{cls}.")]
            expect(not strangers, f"make_small_dataset: {split}/{cls}s/ holds files of another class: {strangers[:3]}.")
            for name in names:
                expect(name not in seen, f"make_small_dataset: {name} is in both {seen.get(name)}/ and {split}/. A file "
                                         "seen in training makes validation and test scores too good to be true.\n"
                                         "Likely cause: the index ranges of the splits overlap.")
                seen[name] = split
    expect(len(seen) == 4000, f"make_small_dataset: expected 4,000 files over the three splits, got {len(seen):,}.")


@pytest.mark.points(1, task="make_small_dataset")
def test_copies_are_identical(default_split):
    """every copied file is byte-for-byte the same as its source"""
    base, before = default_split.base, default_split.original_before
    copies = sorted(base.rglob("*.jpg"))
    expect(len(copies) == 4000, f"make_small_dataset: expected 4,000 copied files under {base.name}/, got {len(copies):,}.")
    for copy in copies:
        expect(copy.name in before, f"make_small_dataset: {copy.relative_to(base)} has no source file of that name.")
        expect(copy.read_bytes() == before[copy.name],
               f"make_small_dataset: {copy.relative_to(base)} is not an exact copy of {copy.name} from the original "
               "folder. Copy the file's bytes as they are (shutil.copyfile); never decode and re-save an image.")


@pytest.mark.points(1, task="make_small_dataset")
def test_original_folder_untouched(default_split):
    """the original folder is left exactly as it was: files are copied, never moved"""
    before, after = default_split.original_before, snapshot(default_split.original)
    gone = sorted(set(before) - set(after or {}), key=index_of)
    expect(not gone, f"make_small_dataset removed {len(gone)} files from the original folder ({describe_files(gone)}).\n"
                     "Likely cause: shutil.move (or os.rename) moves the file; use shutil.copyfile.")
    expect(after == before, "make_small_dataset changed files in the original folder; it must only read it.")


@pytest.mark.points(1, task="make_small_dataset")
def test_return_value(default_split):
    """make_small_dataset returns {split: {class: [Path of each copied file, in index order]}}

    The docstring promises pathlib.Path objects, and callers use them as such (``path.name``, ``path.parent``),
    so their type is judged here, in this one check, with the copies' locations.
    """
    base, result = default_split.base, default_split.result
    expect(isinstance(result, dict), f"make_small_dataset should return a dict, got {type(result).__name__}.")
    expect(list(result) == list(DEFAULT_SPLIT_SIZES),
           f"make_small_dataset should return one entry per split, {list(DEFAULT_SPLIT_SIZES)}, got keys {list(result)}.")
    for split, per_class in expected_names(DEFAULT_SPLIT_SIZES).items():
        entry = result[split]
        expect(isinstance(entry, dict) and list(entry) == ["cat", "dog"],
               f"make_small_dataset(...)[{split!r}] should be a dict with keys ['cat', 'dog'], got {entry!r:.200}.")
        for cls, names in per_class.items():
            paths = entry[cls]
            expect(isinstance(paths, list) and all(isinstance(p, Path) for p in paths),
                   f"make_small_dataset(...)[{split!r}][{cls!r}] should be a list of pathlib.Path, got {paths!r:.200}.")
            wanted = [base / split / f"{cls}s" / name for name in names]
            got = [Path(p).resolve() for p in paths]
            if got != [p.resolve() for p in wanted]:
                sources = [(default_split.original / n).resolve() for n in names]
                cause = "\nLikely cause: these are the source files; return the copies' paths." if got == sources else ""
                raise CheckFailure(f"make_small_dataset(...)[{split!r}][{cls!r}] should list the copies "
                                   f"{wanted[0]} ... in index order ({len(wanted)} paths), got "
                                   f"{paths[:1]}{' ...' if len(paths) > 1 else ''} ({len(paths)} paths).{cause}")


# --------------------------------------------------------------------------
# Never overwrite, never leave a half-made dataset
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="make_small_dataset")
def test_refuses_non_empty_base_dir(exercise, flat_folder, tmp_path):
    """a base_dir that already holds something raises FileExistsError and is left untouched"""
    base = tmp_path / "my_work"
    (base / "train" / "cats").mkdir(parents=True)
    (base / "notes.txt").write_text("a week of notes\n")
    (base / "train" / "cats" / "cat.0.jpg").write_bytes(b"my own picture")
    before = snapshot(base)
    expect_raises(FileExistsError, exercise.make_small_dataset, flat_folder, base, SMALL_SPLIT,
                  what="make_small_dataset(original, base) with a base that holds notes.txt and train/",
                  why="it would overwrite or mix with what is already there")
    expect(snapshot(base) == before, "make_small_dataset raised FileExistsError but first changed what was in base_dir: "
                                     "check before writing anything.")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    expect_raises(FileExistsError, exercise.make_small_dataset, flat_folder, a_file, SMALL_SPLIT,
                  what="make_small_dataset(original, base) where base is a file", why="base_dir must be a folder")
    expect(a_file.read_text() == "not a folder", "make_small_dataset changed the file given as base_dir.")


@pytest.mark.points(1, task="make_small_dataset")
def test_creates_or_fills_empty_base_dir(exercise, flat_folder, tmp_path):
    """a missing base_dir is created (with its parents), and an existing empty one is used (paths given as str or Path)"""
    nested = tmp_path / "projects" / "cats" / "small"
    exercise.make_small_dataset(flat_folder, nested, split_sizes=SMALL_SPLIT)
    expect_split_files(nested, SMALL_SPLIT, what="make_small_dataset(original, a new nested folder)")
    empty = tmp_path / "empty"
    empty.mkdir()
    try:
        exercise.make_small_dataset(str(flat_folder), str(empty), split_sizes=SMALL_SPLIT)  # paths as str work too
    except FileExistsError as error:
        raise CheckFailure(f"make_small_dataset(original, an existing empty folder) raised FileExistsError ({error}). "
                           "Only a base_dir that holds something must be refused; an empty one is fine to use.") from None
    expect_split_files(empty, SMALL_SPLIT, what="make_small_dataset(str(original), str(an existing empty folder))")


@pytest.mark.points(2, task="make_small_dataset")
def test_missing_source_file(exercise, flat_folder, tmp_path):
    """a missing source file raises FileNotFoundError naming it, and leaves no half-made dataset"""
    (flat_folder / "dog.45.jpg").unlink()  # a test dog: a copy-as-you-go loop has done most of its work by then
    base = tmp_path / "small"
    error = expect_raises(FileNotFoundError, exercise.make_small_dataset, flat_folder, base, MISSING_SPLIT,
                          what=f"make_small_dataset(original, base, split_sizes={MISSING_SPLIT}) with dog.45.jpg "
                               "missing from original",
                          why="a file the split needs is not there")
    expect("dog.45.jpg" in str(error), f"the FileNotFoundError should name the missing file dog.45.jpg; its "
                                       f"message was: {error}")
    left = [p for p in base.rglob("*") if p.is_file()] if base.exists() else []
    expect(not left, f"after the FileNotFoundError, {len(left):,} copied files were left under {base.name}/ (for "
                     f"example {left[0].relative_to(base) if left else ''}): a half-made dataset.\nLikely cause: "
                     "copying as you go. Check that every source exists before creating or copying anything.")
    folders = [p for p in base.rglob("*")] if base.exists() else []
    expect(not folders, f"after the FileNotFoundError, empty folders were left under {base.name}/: "
                        f"{[str(p.relative_to(base)) for p in folders[:3]]}. Check the sources before making folders.")


# --------------------------------------------------------------------------
# Other splits and classes
# --------------------------------------------------------------------------


@pytest.mark.points(2, task="make_small_dataset")
def test_custom_splits_and_classes_with_real_jpegs(exercise, tmp_path):
    """custom split_sizes and classes work, in the order given, on real JPEGs from data.write_cats_vs_dogs"""
    classes = ("cat", "dog", "horse")
    split_sizes = {"train": 8, "val": 4, "holdout": 5}
    originals = data.write_cats_vs_dogs(tmp_path / "animals", image_size=8, count=20, classes=classes)
    base = tmp_path / "three_animals"
    result = exercise.make_small_dataset(tmp_path / "animals", base, split_sizes=split_sizes, classes=classes)
    what = f"make_small_dataset(original, base, split_sizes={split_sizes}, classes={classes})"
    expect_layout(base, split_sizes, classes, what=what)
    expect_split_files(base, split_sizes, classes, what=what)
    for cls, sources in originals.items():
        for source in sources:
            for split in split_sizes:
                copy = base / split / f"{cls}s" / source.name
                expect(not copy.exists() or copy.read_bytes() == source.read_bytes(),
                       f"{what}: {copy.relative_to(base)} differs from its source.")
    expect(isinstance(result, dict) and list(result) == list(split_sizes),
           f"{what} should return a dict with the keys {list(split_sizes)}, got {type(result).__name__} "
           f"{list(result) if isinstance(result, dict) else ''}.")


@pytest.mark.points(2, task="make_small_dataset")
@settings(max_examples=12)
@given(sizes=st.lists(st.integers(1, 15), min_size=1, max_size=4),
       names=st.permutations(["train", "validation", "test", "extra"]),
       classes=st.sampled_from([("cat", "dog"), ("dog", "cat"), ("dog",)]))
def test_any_split_sizes(exercise, flat_folder, tmp_path, sizes, names, classes):
    """any split sizes, in any order, give consecutive disjoint index ranges"""
    split_sizes = dict(zip(names, sizes))
    base = Path(tempfile.mkdtemp(dir=tmp_path)) / "split"
    exercise.make_small_dataset(flat_folder, base, split_sizes=split_sizes, classes=classes)
    what = f"make_small_dataset(original, base, split_sizes={split_sizes}, classes={classes})"
    expect_layout(base, split_sizes, classes, what=what)
    expect_split_files(base, split_sizes, classes, what=what)


@pytest.mark.points(1, task="make_small_dataset")
def test_rejects_bad_arguments(exercise, flat_folder, tmp_path):
    """bad split sizes or classes raise ValueError, a missing original folder FileNotFoundError, and nothing is made"""
    base = tmp_path / "never_made"
    cases = [
        ({"split_sizes": {"train": 0}}, ValueError, "a split needs at least one file per class"),
        ({"split_sizes": {"train": -5}}, ValueError, "a split cannot have a negative size"),
        ({"split_sizes": {"train": 2.5}}, ValueError, "a number of files is an int"),
        ({"split_sizes": {}}, ValueError, "there must be at least one split"),
        ({"split_sizes": SMALL_SPLIT, "classes": "cat"}, ValueError,
         'classes is a sequence of names such as ("cat", "dog"), not one string'),
        ({"split_sizes": SMALL_SPLIT, "classes": ("cat", "cat")}, ValueError,
         "two classes with one name would copy into one folder"),
        ({"split_sizes": SMALL_SPLIT, "classes": ()}, ValueError, "there must be at least one class"),
        ({"split_sizes": [1000, 500, 500]}, ValueError, "split_sizes maps each split's folder name to its size"),
        ({"split_sizes": {"../outside": 2}}, ValueError, "a split name is a folder inside base_dir, not a path out of it"),
    ]
    for kwargs, error, why in cases:
        expect_raises(error, exercise.make_small_dataset, flat_folder, base, **kwargs,
                      what=f"make_small_dataset(original, base, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())})",
                      why=why)
    expect_raises(FileNotFoundError, exercise.make_small_dataset, tmp_path / "no_such_folder", base,
                  what="make_small_dataset(a folder that does not exist, base)", why="there is nothing to copy from")
    expect(not base.exists() or not any(base.iterdir()), f"after refusing bad arguments, {base.name}/ holds files: check "
                                                         "the arguments before creating anything.")
