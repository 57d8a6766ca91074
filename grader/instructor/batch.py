"""Batch re-grading: many submissions into a gradebook.

``python -m grader grade SUBMISSION... --out DIR [--jobs N] [--force] [--dask ADDRESS]``

Each argument is a submission (a folder or a ``.zip`` holding
``exercises/NAME.py`` or ``NAME.py``) or a folder of them, as ``gh classroom
clone student-repos`` or a Gradescope export lays them out. Each submission
is taken apart here (``grader/instructor/submission.py``: only its exercise modules), and
graded by a runner (``grader/runner/server.py``): a process that grades one
submission after another in fresh pytest sessions, with TensorFlow imported
once. ``--jobs N`` runs N runners; ``--dask ADDRESS`` hands the same jobs to
the workers of a Dask distributed cluster instead.

``DIR`` receives::

    gradebook.csv           one row per submission: points per exercise, total, status, error
    ID/results.json         Gradescope's results
    ID/classroom.json       exercism v3 results (GitHub Classroom)
    ID/feedback.md          the failures and hints, for the learner
    ID/output.txt           the score table as printed
    ID/grading.json         how it was graded (fingerprint, status, error, seconds, what the fence held)

A submission whose ``grading.json`` has the same fingerprint (same modules,
checks, exercises, options and seed) is not graded again unless ``--force``.
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import io
import json
import os
import queue
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import EXERCISES, GRADER_MEMORY_GB, RUN_SECONDS, WATCHDOG_GRACE_SECONDS, course_fingerprint
from grader.instructor.submission import SubmissionError, holds_modules, stage
from grader.options import SESSION_OPTIONS
from grader.results import Gradebook, check_output, exercise_number
from grader.runner.client import RunnerProcess, error_answer
from grader.scratch import write_atomically

MARKER = ".gradebook"  # marks a folder as this command's output, so a re-run may write into it
STATUS_GRADED, STATUS_ERROR = "graded", "error"
FEEDBACK_MESSAGE_LIMIT = 3_000


class BatchError(ValueError):
    """The batch cannot start (an output folder that is not ours, no submissions)."""


@dataclass
class Submission:
    id: str
    source: Path
    modules: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    fingerprint: str = ""


@dataclass
class BatchOptions:
    """A batch's choices: which exercises and checks, its runners, and each session's options
    (``grader.options.SESSION_OPTIONS``, by the same names)."""

    exercises: tuple[str, ...] = EXERCISES
    submitted_only: bool = False
    check_timeout: float | None = None
    run_timeout: float | None = None
    exitfirst: bool = False
    keyword: str | None = None  # only the checks matching this pytest -k expression
    checks: tuple[str, ...] = ()  # only these checks, as "exercise::check_function"
    show_traceback: bool = False
    seed: str | None = None
    jobs: int = 1
    force: bool = False
    dask: str | None = None
    progress: bool | None = None  # None: a bar on a terminal, one line per submission otherwise
    grader_memory_gb: float | None = GRADER_MEMORY_GB  # the address space of each runner (None: no limit)
    require_fence: bool = False  # a submission whose workers' fence does not hold is graded 0, with the reason


# ---------------------------------------------------------------- finding submissions
def find_submissions(paths: list[Path], out: Path) -> list[tuple[str, Path]]:
    """(id, path) of every submission named by ``paths``, ids unique and safe as folder names.

    A zip, or a folder holding ``exercises/`` or an exercise module, is one
    submission; any other folder is a collection whose entries (folders and
    zips, hidden ones left out) are submissions.
    """
    found: list[tuple[str, Path]] = []
    for path in paths:
        if _is_submission(path) or not path.is_dir():
            found.append((path.stem if path.suffix == ".zip" else path.name, path))
            continue
        for entry in sorted(path.iterdir()):
            if entry.name.startswith(".") or entry.resolve() == out.resolve():
                continue
            if entry.is_dir() or entry.suffix.lower() == ".zip":
                found.append((entry.stem if entry.suffix.lower() == ".zip" else entry.name, entry))
    taken: set[str] = set()
    unique = []
    for name, path in found:
        identifier = _safe_id(name)
        candidate, count = identifier, 1
        while candidate in taken:
            count += 1
            candidate = f"{identifier}-{count}"
        taken.add(candidate)
        unique.append((candidate, path))
    return unique


def _is_submission(path: Path) -> bool:
    if path.is_file():
        return True
    return path.is_dir() and holds_modules(path)


def _safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def take_apart(identifier: str, path: Path, options: BatchOptions, course: str) -> Submission:
    """The submission's exercise modules and its fingerprint (or the reason it cannot be read)."""
    submission = Submission(identifier, path)
    with tempfile.TemporaryDirectory(prefix="batch-stage-") as scratch:
        try:
            staged = stage(path, Path(scratch) / "exercises")
        except SubmissionError as error:
            submission.error = str(error)
        else:
            submission.notes = list(staged.skipped)
            submission.modules = {name: (staged.folder / f"{name}.py").read_bytes() for name in staged.found}
            if not submission.modules:
                submission.error = (f"{path}: no exercise module found (expected exercises/NAME.py or NAME.py "
                                    f"for NAME in {', '.join(EXERCISES)}).")
    digest = hashlib.sha256(json.dumps({
        "course": course, "exercises": exercises_for(submission, options),
        "options": [options.check_timeout, options.run_timeout, options.exitfirst, options.keyword,
                    list(options.checks), *(["require_fence"] if options.require_fence else [])],
        "seed": hashlib.sha256(options.seed.encode()).hexdigest() if options.seed else None,
        "error": submission.error,
    }, sort_keys=True).encode())
    for name in sorted(submission.modules):
        digest.update(name.encode() + b"\0" + submission.modules[name] + b"\0")
    submission.fingerprint = digest.hexdigest()[:20]
    return submission


def exercises_for(submission: Submission, options: BatchOptions) -> list[str]:
    if options.submitted_only:
        return [name for name in options.exercises if name in submission.modules]
    return list(options.exercises)


def job_for(submission: Submission, options: BatchOptions, course: str) -> dict:
    """The plain-data job a runner grades (``grader/runner/server.py`` documents it)."""
    return {
        "id": submission.id,
        "modules": {name: base64.b64encode(data).decode() for name, data in submission.modules.items()},
        "exercises": exercises_for(submission, options),
        "options": {**{name: getattr(options, name) for name in SESSION_OPTIONS},
                    "exitfirst": options.exitfirst, "keyword": options.keyword, "checks": list(options.checks)},
        "seed": options.seed,
        "course": course,
    }


def job_seconds(options: BatchOptions) -> float:
    """How long a job may take before its runner is killed: its run's deadline and a short grace."""
    return (options.run_timeout or RUN_SECONDS) + WATCHDOG_GRACE_SECONDS


LOCAL_RUNNERS: list[RunnerProcess] = []  # stopped when the batch ends, even by Ctrl-C
BATCH_ENDING = threading.Event()  # set first, so that no slot starts a runner again


def grade_locally(jobs: list[dict], options: BatchOptions, answers: "queue.Queue[dict]") -> list[threading.Thread]:
    """Grades ``jobs`` on ``options.jobs`` runners; each answer goes to ``answers``."""
    pending: "queue.Queue[dict]" = queue.Queue()
    for job in jobs:
        pending.put(job)

    def slot() -> None:
        runner = RunnerProcess()
        LOCAL_RUNNERS.append(runner)
        try:
            while not BATCH_ENDING.is_set():
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    answers.put(runner.grade(job, job_seconds(options)))
                except Exception as error:  # noqa: BLE001 - one job's failure never stops the batch
                    runner.stop()
                    answers.put(error_answer(job["id"], f"grading failed: {type(error).__name__}: {error}"))
        finally:
            runner.stop()

    BATCH_ENDING.clear()
    threads = [threading.Thread(target=slot, daemon=True) for _ in range(max(1, min(options.jobs, len(jobs))))]
    for thread in threads:
        thread.start()
    return threads


# ---------------------------------------------------------------- Dask
_dask_runner: RunnerProcess | None = None
_dask_lock = threading.Lock()


def grade_on_dask_worker(job: dict, seconds: float) -> dict:
    """Runs on a Dask worker: grades ``job`` with that worker's own runner (started once, kept)."""
    global _dask_runner
    with _dask_lock:  # one runner per worker process, one job at a time
        if _dask_runner is None:
            _dask_runner = RunnerProcess()
        return _dask_runner.grade(job, seconds)


def grade_on_dask(jobs: list[dict], options: BatchOptions, answers: "queue.Queue[dict]") -> list[threading.Thread]:
    """Submits ``jobs`` to the Dask scheduler at ``options.dask``; each answer goes to ``answers``."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BatchError("--dask needs the 'distributed' package: pip install -e '.[tensorflow,cluster]'") from None
    try:
        client = Client(options.dask, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise BatchError(f"--dask {options.dask}: cannot reach the scheduler ({error}).") from None

    def collect() -> None:
        try:
            futures = {client.submit(grade_on_dask_worker, job, job_seconds(options), pure=False,
                                     key=f"grade-{job['id']}-{os.urandom(4).hex()}"): job["id"] for job in jobs}
            for future in as_completed(futures):
                try:
                    answers.put(future.result())
                except Exception as error:  # noqa: BLE001 - a lost worker costs only its job
                    answers.put(error_answer(futures[future], dask_failure(error)))
        finally:
            client.close()

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    return [thread]


def dask_failure(error: Exception) -> str:
    """Why a Dask task failed, with what to do when the scheduler or a worker could not read it."""
    reason = f"the Dask task failed: {type(error).__name__}: {error}"
    if "deserializ" in str(error).lower():  # the scheduler or a worker cannot import grader.instructor.batch
        reason += (" (the scheduler and every worker need the course installed: pip install -e "
                   "'.[tensorflow,cluster]' in a checkout of the same commit)")
    return reason


# ---------------------------------------------------------------- output folder
def prepare_output(out: Path) -> None:
    """Creates ``out``, or accepts it if it is empty or this command's own; refuses anything else."""
    if out.exists() and not out.is_dir():
        raise BatchError(f"--out {out}: a file of that name exists; choose a folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BatchError(f"--out {out}: this folder holds other files and is not a gradebook folder; "
                         "choose a new or empty folder (nothing was written).")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by python -m grader grade --out; safe to re-run into\n")


def already_graded(out: Path, submission: Submission) -> dict | None:
    """The saved record of ``submission`` if it was graded with the same fingerprint."""
    try:
        record = json.loads((out / submission.id / "grading.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") == submission.fingerprint and record.get("status") == STATUS_GRADED:
        return record
    return None


def save(out: Path, submission: Submission, answer: dict) -> dict:
    """Writes one submission's files; returns its gradebook record."""
    folder = out / submission.id
    folder.mkdir(exist_ok=True)
    book = Gradebook.from_record(answer["result"]) if answer.get("result") else None
    error = submission.error or answer.get("error")
    if not error and (book is None or book.crash):
        error = f"the grading run did not finish: {book.crash}"[:500] if book else "the grading run wrote no results."
    record = {
        "id": submission.id,
        "source": str(submission.source),
        "fingerprint": submission.fingerprint,
        "status": STATUS_ERROR if error else STATUS_GRADED,
        "error": error,
        "notes": submission.notes,
        "found": sorted(submission.modules),
        "seconds": answer.get("seconds", 0.0),
        "exit_status": answer.get("exit"),  # pytest's: 0 full marks, 1 some check did not pass, 3-4 broken
        "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "points": {name: list(book.points_of(name)) for name in book.exercises() if name in EXERCISES} if book else {},
        "score": book.score if book else 0.0,
        "max_score": book.max_score if book else 0.0,
        "fence": book.fence if book else None,  # what held (results.fence_held)
    }
    for name, payload in (("results.json", answer.get("gradescope")), ("classroom.json", answer.get("classroom"))):
        if payload is not None:
            write_atomically(folder / name, json.dumps(payload, indent=2) + "\n")
    write_atomically(folder / "output.txt", answer.get("output", ""))
    write_atomically(folder / "feedback.md", feedback_markdown(record, book))
    write_atomically(folder / "grading.json", json.dumps(record, indent=2) + "\n")
    return record


def saved_records(out: Path) -> dict[str, dict]:
    """Every submission's record in ``out`` (this run's and earlier runs'), by id."""
    records = {}
    for path in sorted(out.glob("*/grading.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        records[record.get("id", path.parent.name)] = record
    return records


def write_gradebook(out: Path, records: list[dict], exercises: tuple[str, ...]) -> Path:
    """``out/gradebook.csv``: one row per submission, by id; a column per exercise graded in any of them."""
    graded = {name for record in records for name in record.get("points", {})}
    exercises = tuple(name for name in EXERCISES if name in graded) or exercises
    # A submission that could not be graded is out of the same maximum as the others.
    maxima = [r["max_score"] for r in records if r.get("status") == STATUS_GRADED and r.get("max_score")]
    usual_max = max(set(maxima), key=maxima.count) if maxima else 0.0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *exercises, "total", "max_score", "status", "error"])
    for record in records:
        points = record.get("points", {})
        writer.writerow([record["id"], *(_number(points.get(name, [0.0])[0]) for name in exercises),
                         _number(record.get("score", 0.0)), _number(record.get("max_score") or usual_max),
                         record["status"], (record.get("error") or "").replace("\n", " ")[:500]])
    path = out / "gradebook.csv"
    write_atomically(path, buffer.getvalue())
    return path


def _number(value: float) -> str:
    return f"{float(value):g}"


# ---------------------------------------------------------------- feedback
def feedback_markdown(record: dict, book: Gradebook | None) -> str:
    """The learner's feedback: the score per exercise, every check that did not pass, and what to do next."""
    lines = [f"# Feedback for {record['id']}", ""]
    if record["status"] == STATUS_ERROR:
        lines += ["**Your submission could not be graded.**", "", "```text", record["error"] or "", "```", ""]
    if book is None:
        return "\n".join(lines)
    lines += [f"**Score: {_number(book.score)} / {_number(book.max_score)}**", "", "| exercise | points |", "|---|---|"]
    for name, (earned, available) in record["points"].items():
        lines.append(f"| {exercise_number(name)}. {name} | {_number(earned)} / {_number(available)} |")
    failures = [(number, check) for number, check in book.numbered() if check.status != "passed"]
    lines += ["", "## Checks that did not pass" if failures else "## Every check passed", ""]
    for number, check in failures:
        message = check_output(check)
        if len(message) > FEEDBACK_MESSAGE_LIMIT:
            message = message[:FEEDBACK_MESSAGE_LIMIT] + "\n… (cut)"
        lines += [f"### {number} {check.exercise}: {check.name} ({_number(check.score)} / {_number(check.points)})",
                  "", "```text", message.replace("```", "'''"), "```", ""]
    next_steps = book.next_step_lines() if book.checks else []
    if next_steps:
        lines += ["## What to do next", "", "```text", *(line.replace("```", "'''") for line in next_steps), "```", ""]
    if record.get("notes"):
        lines += ["## Files not taken from your submission", "", *(f"- {note}" for note in record["notes"]), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the command
def grade_batch(paths: list[Path], out: Path, options: BatchOptions,
                overrides: dict[str, BatchOptions] | None = None) -> int:
    """Grades every submission under ``paths`` into ``out``; returns 0 if each was graded, 2 otherwise.

    Args:
        paths: submissions, or folders of them.
        out: the gradebook folder (new, empty, or written by this command before).
        options: how to grade.
        overrides: options of their own for some submissions, by id (the
            project's mutant tests grade each mutant with the check that
            catches it).
    """
    found = find_submissions(paths, out)
    if not found:
        raise BatchError("no submissions found under " + ", ".join(map(str, paths)))
    prepare_output(out)
    course = course_fingerprint()
    overrides = overrides or {}
    submissions = [take_apart(identifier, path, overrides.get(identifier, options), course)
                   for identifier, path in found]
    records: dict[str, dict] = {}
    jobs, skipped = [], 0
    for submission in submissions:
        previous = None if options.force else already_graded(out, submission)
        if previous is not None:
            records[submission.id] = previous
            skipped += 1
        elif submission.error:
            records[submission.id] = save(out, submission, error_answer(submission.id, submission.error))
        else:
            jobs.append(job_for(submission, overrides.get(submission.id, options), course))
    by_id = {s.id: s for s in submissions}
    print(f"{len(submissions)} submissions: {len(jobs)} to grade, {skipped} already graded"
          f"{' (use --force to grade them again)' if skipped else ''}, "
          f"{len(submissions) - len(jobs) - skipped} unreadable.", file=sys.stderr, flush=True)
    if jobs:
        answers: "queue.Queue[dict]" = queue.Queue()
        start = grade_on_dask if options.dask else grade_locally
        try:
            start(jobs, options, answers)
            with Progress(len(jobs), options.progress) as progress:
                for _ in range(len(jobs)):
                    answer = answers.get()
                    record = records[answer["id"]] = save(out, by_id[answer["id"]], answer)
                    progress.done(record)
        finally:
            BATCH_ENDING.set()
            for runner in list(LOCAL_RUNNERS):  # on Ctrl-C too: no runner grades on for nobody
                runner.stop()
    everything = saved_records(out)
    path = write_gradebook(out, list(everything.values()), options.exercises)
    errors = [r for r in records.values() if r["status"] == STATUS_ERROR]
    print(f"Gradebook: {path} ({len(everything)} submissions, {len(records)} in this run, "
          f"{len(errors)} of them not graded).", file=sys.stderr)
    return 2 if errors else 0


class Progress:
    """A progress bar with an ETA on a terminal (tqdm); one line per submission in a log."""

    def __init__(self, total: int, bar: bool | None):
        self.total, self.count, self.started = total, 0, time.monotonic()
        self.bar = None
        if bar is None:
            bar = sys.stderr.isatty()
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="submission", dynamic_ncols=True, file=sys.stderr)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def done(self, record: dict) -> None:
        self.count += 1
        line = (f"{record['id']}: {_number(record['score'])} / {_number(record['max_score'])}"
                f" in {record['seconds']:.0f} s" + (f" (error: {record['error'][:120]})" if record["error"] else ""))
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        left = elapsed / self.count * (self.total - self.count)
        print(f"[{self.count}/{self.total}, about {left:.0f} s left] {line}", file=sys.stderr, flush=True)
