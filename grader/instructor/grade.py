"""``python -m grader grade``: grading submissions against this checkout's checks.

One submission is staged (``submission``: only its exercise modules) and
graded by a pytest process of its own under a watchdog; with ``--out DIR``
many go to the batch (``batch``: runners, a gradebook).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from grader import options
from grader.course import EXERCISES, GRADER_MEMORY_GB, ROOT, RUN_SECONDS, WATCHDOG_GRACE_SECONDS, read_seed_file
from grader.instructor.submission import SubmissionError, stage
from grader.options import RESULT_FILES, SESSION_OPTIONS
from grader.runner.server import (
    checks_files,
    deadline_message,
    grading_arguments,
    grading_environ,
    write_seed_file,
)


def add_command(commands) -> None:
    """Adds ``grade`` to the ``python -m grader`` subcommands.

    Args:
        commands: the parser's subparsers.
    """
    grade = commands.add_parser(
        "grade",
        help="grade submissions against this checkout's own checks, data and configuration",
        description="Grades each submission (a folder or a .zip holding exercises/NAME.py or NAME.py files) "
        "in isolation: only the exercise modules are taken from it, and they run in fenced worker processes. "
        "The exit status is 0 only when every submission earns full marks.",
    )
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    options.add_to_parser(grade, (
        "exercise", "gradescope_json", "classroom_json", "classroom_json_dir", "check_timeout", "run_timeout",
        "grader_memory_gb", "grading_seed_file", "show_traceback", "show_fence", "require_fence",
    ), grader_memory_gb={"default": GRADER_MEMORY_GB})
    grade.add_argument("-q", "--quiet", action="store_true", help="print only the score table")
    batch = grade.add_argument_group(
        "batch re-grading", "With --out, each SUBMISSION may also be a folder of submissions (as `gh classroom "
        "clone student-repos` lays them out); the results go to DIR/gradebook.csv and DIR/ID/.")
    batch.add_argument("--out", type=Path, metavar="DIR",
                       help="grade every submission into DIR: gradebook.csv and, per submission, its result "
                       "files, feedback.md and output.txt")
    batch.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                       help="grade N submissions at a time (default 1; each uses about one core and 1.5 GB)")
    batch.add_argument("--force", action="store_true",
                       help="grade again the submissions DIR already holds an up-to-date grade for")
    batch.add_argument("--dask", metavar="ADDRESS",
                       help="send the jobs to the Dask scheduler at ADDRESS (pip install -e '.[tensorflow,cluster]'); "
                       "the scheduler and its workers need a checkout of the same course installed there")
    batch.add_argument("--submitted-only", action="store_true",
                       help="grade only the exercises each submission contains (e.g. one exercise a week)")
    batch.add_argument("-x", "--exitfirst", action="store_true",
                       help="stop grading a submission at its first check that does not pass (for triage)")
    batch.add_argument("-k", dest="keyword", metavar="EXPRESSION",
                       help="grade only the checks matching EXPRESSION (as pytest -k), e.g. after fixing one check")
    batch.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="a progress bar (default: on a terminal only; otherwise one line per submission)")
    grade.set_defaults(run=lambda args: grade_command(args, grade))


def grade_command(args, parser) -> int:
    try:
        args.seed = read_seed(args)
    except ValueError as error:
        parser.error(str(error))
    if args.out is not None:
        return batch_command(args, parser)
    for flag in ("jobs", "force", "dask", "submitted_only", "exitfirst", "keyword"):
        if getattr(args, flag) not in (None, False, 1):
            parser.error(f"--{flag.replace('_', '-')} needs --out DIR (batch re-grading).")
    if len(args.submissions) > 1 and result_paths(args):
        parser.error("--gradescope-json and --classroom-json(-dir) take one submission; grade others one at a time.")
    worst = 0
    for submission in args.submissions:
        if len(args.submissions) > 1:
            print(f"\n=== {submission}", flush=True)
        worst = max(worst, grade_one(submission, args))
    return worst


def batch_command(args, parser) -> int:
    from grader.instructor.batch import BatchError, BatchOptions, grade_batch

    if result_paths(args):
        parser.error("with --out, every submission's result files are written into DIR/ID/.")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1.")
    chosen = BatchOptions(
        exercises=tuple(args.exercise or EXERCISES), submitted_only=args.submitted_only, exitfirst=args.exitfirst,
        keyword=args.keyword, seed=args.seed, jobs=args.jobs, force=args.force, dask=args.dask,
        progress=args.progress, **session_options(args),
    )
    try:
        return grade_batch(args.submissions, args.out, chosen)
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the submissions graded so far are saved; run the same command again to go on.",
              file=sys.stderr)
        return 130


def read_seed(args) -> str | None:
    """The instructor's secret seed, from --grading-seed-file or CHECKS_GRADING_SEED (None: the public inputs).

    Raises:
        ValueError: the file cannot be read or is empty.
    """
    if args.grading_seed_file:
        return read_seed_file(args.grading_seed_file)
    return os.environ.get("CHECKS_GRADING_SEED") or None


def grade_one(submission: Path, args) -> int:
    """Grades one submission in a pytest process of its own; returns that run's exit status.

    The run's temporary files (its workers', pytest's) go to a folder inside
    the submission's scratch folder, so that all of them go with it, even
    when the watchdog had to kill the run.
    """
    checks = checks_files(args.exercise or EXERCISES)
    with tempfile.TemporaryDirectory(prefix="submission-", ignore_cleanup_errors=True) as scratch:
        try:
            staged = stage(submission, Path(scratch) / "exercises")
        except SubmissionError as error:
            print(f"error: {error}", file=sys.stderr)
            write_failed_run(args, checks, f"your submission could not be read: {error}")
            return 2
        for note in staged.skipped:
            print(f"note: {note}", file=sys.stderr)
        command = [sys.executable, "-m", "pytest", *grading_arguments(
            staged.folder, checks, **session_options(args), **result_paths(args), show_fence=args.show_fence,
            grading_seed_file=write_seed_file(Path(scratch), args.seed) if args.seed else None)]
        command.append("-q" if not args.quiet else "-qq")
        temporary = Path(scratch) / "tmp"
        temporary.mkdir()
        return run_with_watchdog(command, {**grading_environ(), "TMPDIR": str(temporary)}, checks, args)


def session_options(args) -> dict:
    """The options a grading session takes (``SESSION_OPTIONS``) as given; 0 or False (none given) as None."""
    return {name: getattr(args, name) or None for name in SESSION_OPTIONS}


def result_paths(args) -> dict[str, Path]:
    """The result files asked for, by option name (``gradescope_json``...), as absolute paths."""
    return {name: getattr(args, name).resolve() for name in RESULT_FILES if getattr(args, name) is not None}


def run_with_watchdog(command: list[str], environ: dict[str, str], checks: list[str], args) -> int:
    """Runs the grading process; past its run's deadline and a grace, kills it and all below it, and says so.

    The run enforces its deadline itself (each call into the learner's code,
    then "not run" for the rest); this is for whatever blocks the grading
    process itself.

    Returns:
        The run's exit status, or 2 when it was killed.
    """
    from grader.runner.client import kill_tree

    seconds = (args.run_timeout or RUN_SECONDS) + WATCHDOG_GRACE_SECONDS
    process = subprocess.Popen(command, cwd=ROOT, env=environ)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:  # the grading process got it too: it writes "interrupted" and ends
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:  # once reaped, its pid may be another process's
                kill_tree(process.pid)
            process.wait()
        raise
    if process.poll() is not None:  # it ended just as its time ran out
        return process.returncode
    kill_tree(process.pid)
    process.wait()
    reason = deadline_message(seconds)
    print(f"error: {reason}", file=sys.stderr)
    write_failed_run(args, checks, reason)
    return 2


def write_failed_run(args, checks: list[str], reason: str) -> None:
    """The result files asked for, for a run that graded nothing: 0 points, and ``reason``."""
    from grader.results import write_failed_run as write

    write(reason, checks, ROOT, {name: str(path) for name, path in result_paths(args).items()})
