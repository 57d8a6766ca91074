"""Taking a submission apart: only the exercise modules, nothing else.

A submission is a folder or a ``.zip`` holding ``exercises/NAME.py`` or
``NAME.py`` for the exercises of the course. Only those modules are copied,
as regular files of bounded size, into a fresh folder the grader owns; the
submission's ``conftest.py``, ``pytest.ini``, ``pyproject.toml``, ``checks/``,
``__init__.py``, ``.pth`` and ``sitecustomize`` files, symbolic links and
modules shadowing libraries are never looked at, let alone run.
"""

from __future__ import annotations

import errno
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.course import EXERCISES

MAX_MODULE_BYTES = 1_000_000
MAX_ZIP_ENTRIES = 10_000


class SubmissionError(ValueError):
    """The submission cannot be read at all (not a folder, not a zip, a broken zip)."""


@dataclass
class StagedSubmission:
    """The modules taken from one submission, in ``folder`` as ``NAME.py``."""

    source: Path
    folder: Path
    found: dict[str, str] = field(default_factory=dict)  # exercise -> where in the submission
    skipped: list[str] = field(default_factory=list)  # what was refused, and why


def stage(source: Path, folder: Path, exercises=EXERCISES) -> StagedSubmission:
    """Copies the exercise modules of ``source`` into the empty folder ``folder``.

    Raises:
        SubmissionError: ``source`` cannot be read, whatever the reason (neither a folder nor a zip, a damaged
            zip or member, a file name that is not what its zip says, a read error): the message says why.
            Nothing else escapes, so one unreadable upload never stops the grading of others.
    """
    source = Path(source)
    folder.mkdir(parents=True, exist_ok=False)
    staged = StagedSubmission(source=source, folder=folder)
    try:
        _stage(source, staged, exercises)
    except SubmissionError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to read an upload is that upload's error
        raise SubmissionError(f"{source}: cannot be read ({_why_unreadable(error)}).") from None
    return staged


def _stage(source: Path, staged: StagedSubmission, exercises) -> None:
    if source.is_dir():
        _stage_folder(source, staged, exercises)
    elif source.is_file() and zipfile.is_zipfile(source):
        _stage_zip(source, staged, exercises)
    elif source.is_file() and source.suffix.lower() == ".zip":
        raise SubmissionError(f"{source}: named .zip, but not a zip archive that can be read "
                              "(a damaged or cut-short upload?).")
    elif source.exists():
        raise SubmissionError(f"{source}: not a folder or a .zip file.")
    else:
        raise SubmissionError(f"{source}: no such file or folder.")


def _why_unreadable(error: BaseException) -> str:
    """What went wrong reading a submission, in words an instructor or learner can act on."""
    if isinstance(error, zlib.error):
        return f"a file in the zip is damaged: its compressed data does not decompress ({error})"
    if isinstance(error, UnicodeDecodeError):
        return "a file name in the zip is marked as UTF-8 but is not valid UTF-8 (made by an unusual zip tool?)"
    return f"{type(error).__name__}: {error}"


def _candidates(name: str) -> list[str]:
    return [f"exercises/{name}.py", f"{name}.py"]


def holds_modules(folder: Path, exercises=EXERCISES) -> bool:
    """True if ``folder`` is one submission: it has ``exercises/`` or an exercise module where ``stage`` looks."""
    return (folder / "exercises").is_dir() or any((folder / relative).is_file()
                                                  for name in exercises for relative in _candidates(name))


def _stage_folder(source: Path, staged: StagedSubmission, exercises) -> None:
    for name in exercises:
        for relative in _candidates(name):
            try:
                data = read_without_links(source, relative)
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as error:
                staged.skipped.append(f"{relative}: {error}, ignored")
                continue
            (staged.folder / f"{name}.py").write_bytes(data)
            staged.found[name] = relative
            break


def read_without_links(source: Path, relative: str) -> bytes:
    """The bytes of ``source/relative``, refusing a link anywhere below ``source``.

    Each folder on the way and the file itself are opened with ``O_NOFOLLOW``
    relative to the one before, so an ``exercises`` that links to the
    answers' folder is refused, not followed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a link on the way, not a regular file, or too large.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    *folders, file_name = relative.split("/")
    descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for folder in folders:
            try:
                inner = os.open(folder, flags | getattr(os, "O_DIRECTORY", 0), dir_fd=descriptor)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise ValueError(f"{folder}/ is not a folder (a link?)") from None
                raise
            os.close(descriptor)
            descriptor = inner
        try:
            handle = os.open(file_name, flags, dir_fd=descriptor)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise ValueError("not a regular file (a link)") from None
            raise
        with os.fdopen(handle, "rb") as module:
            info = os.fstat(module.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("not a regular file")
            data = module.read(MAX_MODULE_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(data) > MAX_MODULE_BYTES:
        raise ValueError(f"larger than {MAX_MODULE_BYTES:,} bytes")
    return data


def _stage_zip(source: Path, staged: StagedSubmission, exercises) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise SubmissionError(f"{source}: more than {MAX_ZIP_ENTRIES:,} entries.")
            by_name = {}
            for entry in entries:
                parts = PurePosixPath(entry.filename).parts
                if entry.is_dir() or ".." in parts or entry.filename.startswith("/"):
                    continue
                is_link = stat.S_ISLNK(entry.external_attr >> 16)
                # A zip made of a folder often has one top folder: accept NAME.py and exercises/NAME.py under it.
                for strip in (0, 1):
                    key = "/".join(parts[strip:])
                    by_name.setdefault(key, (entry, is_link))
            for name in exercises:
                for relative in _candidates(name):
                    if relative not in by_name:
                        continue
                    entry, is_link = by_name[relative]
                    if is_link:
                        staged.skipped.append(f"{entry.filename}: a symbolic link, ignored")
                        continue
                    if entry.file_size > MAX_MODULE_BYTES:
                        staged.skipped.append(f"{entry.filename}: larger than {MAX_MODULE_BYTES:,} bytes, ignored")
                        continue
                    with archive.open(entry) as member:
                        data = member.read(MAX_MODULE_BYTES + 1)
                    if len(data) > MAX_MODULE_BYTES:
                        staged.skipped.append(f"{entry.filename}: larger than {MAX_MODULE_BYTES:,} bytes, ignored")
                        continue
                    (staged.folder / f"{name}.py").write_bytes(data)
                    staged.found[name] = entry.filename
                    break
    except SubmissionError:
        raise
    except Exception as error:  # noqa: BLE001 - BadZipFile, zlib.error, UnicodeDecodeError, OSError, EOFError...
        raise SubmissionError(f"{source}: the zip file cannot be read ({_why_unreadable(error)}); "
                              "zip the folder again and upload the new file.") from None
