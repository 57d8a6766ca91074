"""Temporary folders of the grading processes, the ones a killed process left behind, and files written whole.

A runner, an engine or a kept zygote removes its folder when it stops. A
process killed outright (SIGKILL, a closed terminal, a crashed Dask worker)
cannot: its folder names its owner (``OWNER_FILE``: pid and start time), and
the next grading process to make a folder removes every one whose owner has
ended. A folder without that file is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import psutil

OWNER_FILE = ".grader-owner.json"
PREFIX = "grader-"


def write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` so that a reader sees the old file or the new one, never a part of it.

    UTF-8 always; a character that cannot be encoded (a surrogate from a path's undecodable bytes quoted in an
    error) becomes "?", never an exception. The temporary file is named after this process, so that two processes
    writing the same file (a watch and ``hint``) never share it.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8", errors="replace")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def new_folder(prefix: str, parent: Path | None = None) -> Path:
    """A new folder in ``parent`` (the temporary directory), marked as this process's; first removes abandoned ones.

    Args:
        prefix: starts the folder's name (``grader-runner-``, ``grader-zygote-``, ``grader-``).
        parent: where; the temporary directory by default.
    """
    remove_abandoned(parent)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    me = psutil.Process()
    (folder / OWNER_FILE).write_text(json.dumps({"pid": me.pid, "started": me.create_time()}))
    return folder


def remove_abandoned(parent: Path | None = None) -> list[Path]:
    """Removes the grading folders in ``parent`` (the temporary directory) whose owner has ended.

    Returns:
        The folders removed.
    """
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = _owner(folder)
        if owner is not None and not _running(*owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _owner(folder: Path) -> tuple[int, float] | None:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
        return int(owner["pid"]), float(owner["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _running(pid: int, started: float) -> bool:
    """Whether process ``pid`` is still the one that started at ``started`` (a pid can be reused)."""
    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # another user's process: not ours to judge
        return True
