"""``python -m grader gradescope DEST.zip``: a Gradescope autograder for this course.

The zip holds, at its root, what Gradescope looks for and the course it grades with:

- ``setup.sh`` and ``run_autograder`` (from ``grader/instructor/autograder/``): the
  image's setup (Python and the dependencies, from PyPI) and the script run for
  each submission, which calls ``python -m grader grade /autograder/submission
  --gradescope-json /autograder/results/results.json``;
- ``grade-options``: the options chosen here (``--exercise``,
  ``--check-timeout``, ``--run-timeout``, ``--require-fence``), one argument a line, read by
  ``run_autograder``;
- ``grading-seed``, with ``--grading-seed-file``: the secret seed;
- ``checks/``, ``grader/``, ``data/`` (as in a release), ``course.toml``,
  ``pyproject.toml`` and the learner's ``README.md`` (which ``pyproject.toml`` names).

No ``solutions/``: the checks never need the reference. No ``tests/``,
``exercises/`` or ``lab/`` either. Like a release, the zip is searched for
solution text before it is written.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from grader import options
from grader.course import EXERCISES, MANIFEST, ROOT, read_seed_file
from grader.instructor.release import ReleaseError, copied_folder, refuse_solution_text, student_readme
from grader.instructor.submission import holds_modules

TEMPLATES = "grader/instructor/autograder"
SCRIPTS = ("setup.sh", "run_autograder")
OPTIONS_FILE = "grade-options"
SEED_FILE = "grading-seed"
COURSE_FOLDERS = ("checks", "grader", "data")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that the same course makes the same zip


def add_command(commands) -> None:
    """Adds ``gradescope`` to the ``python -m grader`` subcommands.

    Args:
        commands: the parser's subparsers.
    """
    parser = commands.add_parser(
        "gradescope",
        help="build a Gradescope autograder zip (setup.sh, run_autograder and the course's checks)",
        description="Builds a Gradescope autograder zip: setup.sh installs the course on Gradescope's Ubuntu "
        "22.04 image, run_autograder grades the exercise modules of each submission with this checkout's checks "
        "and writes results.json. The zip holds no solutions and no tests.",
    )
    parser.add_argument("dest", type=Path, metavar="DEST.zip", help="the zip to write (must not exist)")
    options.add_to_parser(parser, ("exercise", "check_timeout", "run_timeout", "grading_seed_file", "require_fence"))
    parser.set_defaults(run=command)


def command(args) -> int:
    """Runs ``python -m grader gradescope``; returns the exit status (0 built, 2 refused)."""
    try:
        seed = read_seed_file(args.grading_seed_file) if args.grading_seed_file else None
        files = build(args.dest, exercises=args.exercise, check_timeout=args.check_timeout,
                      run_timeout=args.run_timeout, seed=seed, require_fence=args.require_fence)
    except (ReleaseError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    chosen = ", ".join(args.exercise or EXERCISES)
    limits = "".join(f", {value:g} s {what}" for value, what in ((args.check_timeout, "a check"),
                                                                  (args.run_timeout, "a submission")) if value)
    print(f"wrote {args.dest}: {len(files)} files; grades {chosen}{limits}{', with a secret seed' if seed else ''}"
          f"{', only where the fence holds' if args.require_fence else ''}.")
    print("Upload it in Gradescope (assignment > Configure Autograder > Zip file upload) and see README.md, "
          "\"Gradescope\", for the settings.")
    return 0


def build(dest: Path, exercises=None, check_timeout: float | None = None, run_timeout: float | None = None,
          seed: str | None = None, root: Path = ROOT, log=print, require_fence: bool = False) -> dict[str, bytes]:
    """Writes the autograder zip ``dest``.

    Args:
        dest: a ``.zip`` path that does not exist yet.
        exercises: the exercises to grade (default: all).
        check_timeout: one time limit for every check, in seconds (default: the checks' own).
        run_timeout: the deadline of each submission's run, in seconds (default: the grader's).
        seed: a secret grading seed to ship in the zip, or None.
        root: the course repository.
        log: where notes go.
        require_fence: the zip grades with ``--require-fence``.

    Returns:
        The zipped files: relative POSIX path -> bytes.

    Raises:
        ReleaseError: ``dest`` exists or is not a .zip, a bad option, or solution text in a file.
    """
    dest = Path(dest)
    if dest.suffix.lower() != ".zip":
        raise ReleaseError(f"{dest}: Gradescope takes a .zip file; name it DEST.zip.")
    if dest.exists() or dest.is_symlink():
        raise ReleaseError(f"{dest} exists: give a new file name (nothing was overwritten).")
    for flag, value in (("--check-timeout", check_timeout), ("--run-timeout", run_timeout)):
        if value is not None and not value > 0:
            raise ReleaseError(f"{flag} must be a positive number of seconds, not {value:g}.")
    chosen = options.as_arguments({"exercise": exercises, "check_timeout": check_timeout, "run_timeout": run_timeout,
                                   "require_fence": require_fence}, separate=True)
    files = autograder_files(root, chosen, seed, log=log)
    if (root / "solutions").is_dir():
        refuse_solution_text(files, root, log=log)
    write_zip(dest, files, executables=SCRIPTS, private=(SEED_FILE,))
    return files


def autograder_files(root: Path, options: list[str], seed: str | None, log=print) -> dict[str, bytes]:
    """Everything the zip holds, as relative POSIX path -> bytes.

    Args:
        root: the course repository.
        options: ``python -m grader grade`` arguments for ``grade-options``.
        seed: the secret seed, or None.
        log: where notes go.
    """
    files = {name: (root / TEMPLATES / name).read_bytes() for name in SCRIPTS}
    files[OPTIONS_FILE] = "".join(f"{option}\n" for option in options).encode()
    if seed:
        files[SEED_FILE] = (seed + "\n").encode()
    for folder in COURSE_FOLDERS:
        files.update(copied_folder(root, folder))
    for name in (MANIFEST, "pyproject.toml"):
        files[name] = (root / name).read_bytes()
    files["README.md"] = student_readme((root / "README.md").read_text(), log=lambda note: None).encode()
    return files


def submission_folder(submission: Path) -> Path:
    """The folder of a Gradescope submission that holds its exercise modules.

    Gradescope unpacks a zip upload into /autograder/submission as it is, so a
    zip of a folder leaves that folder there with the modules one level down
    (and macOS adds ``__MACOSX/``).

    Args:
        submission: /autograder/submission.

    Returns:
        ``submission`` when it holds ``NAME.py`` or ``exercises/``; otherwise
        its only folder (not a link), if it has exactly one; else ``submission``.
    """
    if not submission.is_dir() or holds_modules(submission):
        return submission
    inside = [path for path in submission.iterdir() if path.name != "__MACOSX" and not path.name.startswith(".")]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink():
        return inside[0]
    return submission


def main(argv=None) -> int:
    """``python -m grader.instructor.gradescope --submission-folder PATH``, for run_autograder: prints where the modules are."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.instructor.gradescope")
    parser.add_argument("--submission-folder", type=Path, required=True, metavar="PATH")
    args = parser.parse_args(argv)
    print(submission_folder(args.submission_folder))
    return 0


def write_zip(dest: Path, files: dict[str, bytes], executables=(), private=()) -> None:
    """Writes ``files`` into the new zip ``dest``; a zip that fails half-way is removed.

    Args:
        dest: a path that does not exist (created exclusively: never overwritten).
        files: relative POSIX path -> bytes.
        executables: paths stored as mode 0755 (Gradescope runs them).
        private: paths stored as mode 0600.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(dest, "xb")
    except FileExistsError:
        raise ReleaseError(f"{dest} exists: give a new file name (nothing was overwritten).") from None
    try:
        with handle, zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for relative in sorted(files):
                entry = zipfile.ZipInfo(relative, date_time=ZIP_DATE)
                mode = 0o755 if relative in executables else 0o600 if relative in private else 0o644
                entry.external_attr = (0o100000 | mode) << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, files[relative])
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
