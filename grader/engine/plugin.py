"""The grading plugin: target switch, points, learner-facing failures, a score
table, per-check time limits, and result files for Gradescope and GitHub
Classroom.

Run ``pytest checks`` to grade ``exercises/``; ``pytest checks
--target=solutions`` (or ``CHECKS_TARGET=solutions``) grades the reference.
``checks/conftest.py`` loads this plugin.

The learner's code never runs in this process: the ``exercise`` fixture is a
``grader.engine.workers.RemoteModule``, whose calls run in a fenced worker process.
This process alone decides each verdict and writes the result files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow
# TensorFlow's oneDNN kernels give wrong Conv2D results for some strided
# kernels (seen with TF 2.21: a 1x2 kernel at strides (1, 2) returns zeros)
# and differ in rounding across CPUs. The reference must be right and the
# same everywhere, so the checks use TensorFlow's own kernels.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

if sys.version_info < (3, 11):  # a builtin from 3.11; Hypothesis raises the backport's groups on 3.10
    from exceptiongroup import BaseExceptionGroup  # novermin: the backport, imported on 3.10 only

from grader import course, options, results
from grader.engine.verdicts import (
    CheckFailure,
    CheckTimeout,
    ExerciseImportError,
    FenceRefused,
    MissingName,
    NotStarted,
    RunDeadline,
    StudentRaised,
    WorkerKeepsEnding,
    describe_student_error,
)
from grader.engine.workers import PORTABLE_CHANNEL, Engine
from grader.instructor import stubgen
from grader.remote import fence
from grader.remote.transport import clean_text
from grader.runner.server import limit_grader_memory

DEFAULT_CHECK_TIMEOUT = course.CHECK_SECONDS
DEFAULT_RUN_TIMEOUT = course.RUN_SECONDS
PUBLIC_SEED = 1234
PRINTED_LIMIT = 2_000  # characters of what student code printed shown under a failure

settings.register_profile(
    "grading",
    derandomize=True,  # the same examples on every run and machine: a grade never flips
    database=None,
    deadline=None,
    max_examples=40,
    print_blob=False,
    # No "explain" phase: its coverage notes point at the checks' own lines, not the learner's.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.load_profile("grading")


def pytest_addoption(parser):
    options.add_to_pytest(parser.getgroup("grading"), (
        "target", "target_label", "gradescope_json", "classroom_json", "classroom_json_dir", "all_failures",
        "grade_untouched_stubs", "show_traceback", "show_fence", "require_fence", "run_timeout", "grading_seed",
        "grading_seed_file", "check_timeout", "grader_memory_gb",
    ))


MISSING_TENSORFLOW = (
    "TensorFlow is not installed in this Python environment, and the checks compare your code with Keras. "
    "On your own machine: pip install -e \".[tensorflow]\" (TensorFlow's CPU build). Where TensorFlow is "
    "installed already (Colab, a GPU setup), pip install -e . keeps it: run the checks with that Python."
)


def pytest_configure(config):
    config.stash[RUN_STARTED] = time.monotonic()  # the run's deadline counts from here (engine_of)
    if importlib.util.find_spec("tensorflow") is None:
        raise pytest.UsageError(MISSING_TENSORFLOW)
    if course.MANIFEST_ERROR is not None:
        raise pytest.UsageError(f"{course.MANIFEST_ERROR}: the course cannot be graded without it.")
    config.addinivalue_line("markers", "points(n, task=None, timeout=None): points the check is worth")
    limit_grader_memory(config.getoption("--grader-memory-gb"))
    target = config.getoption("--target") or os.environ.get("CHECKS_TARGET") or "exercises"
    try:
        target_dir = course.resolve_target(target)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    seed_text = config.getoption("--grading-seed") or os.environ.get("CHECKS_GRADING_SEED")
    seed_file = config.getoption("--grading-seed-file")
    if seed_file:
        try:
            seed_text = course.read_seed_file(seed_file)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    config.stash[SEED] = grading_seed(seed_text)
    course.SECRET_SEED[0] = None
    _collection_errors.clear()  # a batch runner runs many sessions in one process
    if seed_text:
        settings.register_profile("secret", settings.get_profile("grading"), derandomize=False)
        settings.load_profile("secret")
        course.SECRET_SEED[0] = config.stash[SEED]
    else:
        settings.load_profile("grading")
    config.stash[TARGET_LABEL] = config.getoption("--target-label") or course.relative_path(target_dir)
    book = results.Gradebook(target=config.stash[TARGET_LABEL], outputs={
        name: path for name in options.RESULT_FILES if (path := config.getoption(options.OPTIONS[name].flag))})
    config.stash[GRADEBOOK] = book
    config.stash[TARGET_DIR] = target_dir
    if book.outputs:
        # Read from the catalog of the checks (milliseconds), so that a run killed while collecting reads 0 of the
        # real maximum; unknown (0) when an option selects checks in a way only collection can tell.
        selecting = any(config.getoption(name) for name in ("keyword", "markexpr", "deselect", "ignore", "ignore_glob"))
        if not selecting:
            book.expect(course.declared_points(config.args, config.invocation_params.dir))
    book.write_placeholder()
    # Warnings come from the grader's own process (its libraries' notes), never from the learner's code, which
    # runs elsewhere: shown and counted only on request (-rw, or with --show-traceback).
    config.stash[SHOW_WARNINGS] = "w" in (config.option.reportchars or "") or config.getoption("--show-traceback")
    if not config.getoption("--show-traceback"):
        config.option.reportchars = ""  # the score table below replaces pytest's short summary
    keep_terminal(config)


GRADEBOOK = pytest.StashKey["results.Gradebook"]()
TARGET_DIR = pytest.StashKey["object"]()
ENGINE = pytest.StashKey["Engine"]()
TARGET_LABEL = pytest.StashKey[str]()
SEED = pytest.StashKey[int]()
SHOW_WARNINGS = pytest.StashKey[bool]()


def engine_of(config) -> Engine:
    """The run's engine, started on first use (after pytest has made its temporary folder)."""
    engine = config.stash.get(ENGINE, None)
    if engine is None:
        run_seconds = config.getoption("--run-timeout") or DEFAULT_RUN_TIMEOUT
        engine = config.stash[ENGINE] = Engine(
            shared_dirs=[config._tmp_path_factory.getbasetemp()], run_seconds=run_seconds,
            required_fence=tuple(fence.FENCE_PARTS) if config.getoption("--require-fence") else ())
        # From the run's start, not the engine's: collection (importing the checks) is part of the run, and an
        # outside watchdog (python -m grader grade, a batch) counts from there too.
        engine.run_deadline = min(engine.run_deadline, config.stash[RUN_STARTED] + run_seconds)
        engine.recipe_salt = config.stash[SEED]
    return engine


RUN_STARTED = pytest.StashKey[float]()


def grading_seed(text: str | None) -> int:
    """The seed every check starts from: the public one, or one derived from the instructor's secret."""
    if not text:
        return PUBLIC_SEED
    return int.from_bytes(hashlib.sha256(f"grading-seed:{text}".encode()).digest()[:4], "big")


def item_seed(config, nodeid: str) -> int:
    """One check's seed: the public one for every check, or the secret one mixed with the check's id."""
    if course.SECRET_SEED[0] is None:
        return PUBLIC_SEED
    return int.from_bytes(hashlib.sha256(f"{config.stash[SEED]}:{nodeid}".encode()).digest()[:4], "big")


def exercise_name(item_or_module) -> str:
    module = getattr(item_or_module, "module", item_or_module)
    return module.__name__.rsplit(".", 1)[-1].removeprefix("test_")


@pytest.fixture
def exercise(request):
    """The module under test (``exercises/NAME.py`` or the ``--target``), run in a worker process."""
    target_dir = request.config.stash[TARGET_DIR]
    name = exercise_name(request.module)
    return engine_of(request.config).module(
        target_dir, name, f"{request.config.stash[TARGET_LABEL]}/{name}.py",
        blocked_packages=blocked_packages(name),
    )


def blocked_packages(name: str) -> tuple[str, ...]:
    """What the workers of exercise ``name`` may not import (the manifest's ``blocked_packages``)."""
    entry = course.exercise(name)
    return entry.blocked_packages if entry is not None else ()


@pytest.fixture(autouse=True)
def _fixed_seeds(request):
    """Every check starts from the same random state, so grades never flip."""
    seed = item_seed(request.config, request.node.nodeid)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed % 2**32)
    if "tensorflow" in sys.modules:  # training checks: the same seed gives the same weights, whatever the threads
        sys.modules["tensorflow"].config.experimental.enable_op_determinism()
    yield


def pytest_collectstart(collector):
    """Warms the engine up as collection starts, if a checks file of the run has workers that import TensorFlow.

    Importing the checks (Keras, in this process) and the template (TensorFlow, in its own) then
    overlap. An exercise whose workers block packages (the manifest's ``blocked_packages``) needs
    no template.
    """
    config = collector.config
    if config.stash.get(LOOKED_AHEAD, False):  # the first collector of this folder (its conftest holds the plugin)
        return
    config.stash[LOOKED_AHEAD] = True
    for path in checks_files_named(config):
        name = path.stem.removeprefix("test_")
        if not config.getoption("--grade-untouched-stubs") and is_untouched_stub(config.stash[TARGET_DIR] / f"{name}.py"):
            continue
        if not blocked_packages(name):
            engine_of(config).warm_up()
            return


LOOKED_AHEAD = pytest.StashKey[bool]()


def checks_files_named(config) -> list[Path]:
    """The ``test_*.py`` files the command line names, directly or in a folder it names (before -k)."""
    files: list[Path] = []
    for argument in config.args:
        path = Path(config.invocation_params.dir, argument.split("::")[0])
        if path.is_dir():
            files += sorted(path.glob("test_*.py"))
        elif path.name.startswith("test_") and path.suffix == ".py":
            files.append(path)
    return files


def pytest_itemcollected(item):
    """Starts the worker of the first exercise now, if it imports no TensorFlow, while the other checks files import.

    Such a worker (exercise 1's, NumPy only) starts as a process of its own, not from the template:
    nothing to wait for but its own start, which then overlaps the rest of the collection.
    """
    config = item.config
    name = exercise_name(item)
    blocked = blocked_packages(name)
    if not blocked or item.get_closest_marker("points") is None:
        return
    engine = engine_of(config)
    target_dir = config.stash[TARGET_DIR]
    if engine.workers or engine.import_errors or (
            not config.getoption("--grade-untouched-stubs") and is_untouched_stub(target_dir / f"{name}.py")):
        return
    engine.start_early(engine.module(target_dir, name, f"{config.stash[TARGET_LABEL]}/{name}.py", blocked))


def pytest_collection_finish(session):
    """Registers the checks that will run (after -k and other selection)."""
    config = session.config
    book = config.stash[GRADEBOOK]
    override = config.getoption("--check-timeout")
    modules = {}
    for item in session.items:
        if item.get_closest_marker("points") is not None and exercise_name(item) not in modules:
            modules[exercise_name(item)] = blocked_packages(exercise_name(item))
    stubs = set()
    if not config.getoption("--grade-untouched-stubs"):
        # No worker for a stub: its checks read "not started" without running it (pytest_runtest_setup).
        stubs = {name for name in modules if is_untouched_stub(config.stash[TARGET_DIR] / f"{name}.py")}
        modules = {name: blocked for name, blocked in modules.items() if name not in stubs}
    config.stash[UNTOUCHED_STUBS] = stubs
    if modules:
        engine = engine_of(config)
        target_dir, label = config.stash[TARGET_DIR], config.stash[TARGET_LABEL]
        engine.prepare([engine.module(target_dir, name, f"{label}/{name}.py", blocked) for name, blocked in modules.items()])
    for item in session.items:
        marker = item.get_closest_marker("points")
        if marker is None:
            continue
        seconds = override or marker.kwargs.get("timeout") or DEFAULT_CHECK_TIMEOUT
        item.stash[CHECK_SECONDS] = seconds
        # A grader-side backstop: the engine ends calls into student code at the limit.
        item.add_marker(pytest.mark.timeout(seconds + 30))
        if hasattr(item.obj, "hypothesis"):
            # Set or cleared every run: a batch runner's next session may have no secret seed.
            item.obj._hypothesis_internal_use_seed = (
                item_seed(config, item.nodeid) if course.SECRET_SEED[0] is not None else None)
        line_no, test_code = results.check_source(item.function)
        entry = course.exercise(exercise_name(item))
        book.add_check(
            nodeid=item.nodeid,
            exercise=exercise_name(item),
            name=first_line(item.function.__doc__) or item.name,
            points=float(marker.args[0]) if marker.args else 1.0,
            task=marker.kwargs.get("task"),
            tasks=tuple(entry.tasks) if entry else (),
            line_no=line_no,
            test_code=test_code,
        )
    book.write_placeholder()  # again, now listing every check that will run, and their real maximum


CHECK_SECONDS = pytest.StashKey[float]()


def first_line(text: str | None) -> str:
    import inspect

    return (inspect.cleandoc(text or "").splitlines() or [""])[0]


def _exception_only(excinfo) -> str:
    return excinfo.exconly()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A check of a module the graded folder lacks fails at once, before its fixtures do any work.

    A submission may hold only some of the exercises; the checks of the
    others would otherwise build their data and reference models for nothing.
    Past the run's deadline every check reads "not run" here, so that the run
    ends soon after its deadline, well before the outside watchdog's.
    """
    if item.get_closest_marker("points") is None:
        return
    if item.nodeid in item.config.stash[GRADEBOOK].checks and not item.config.getoption("--show-traceback"):
        # pytest_runtest_makereport puts the check's message in place of pytest's own report of a failure, which
        # would first read and parse the source of every frame of the traceback (0.1 s per failed check).
        item.repr_failure = _exception_only
    engine = item.config.stash.get(ENGINE, None)
    if engine is not None and time.monotonic() >= engine.run_deadline:  # not even the check's own set-up
        raise RunDeadline(engine.run_seconds)
    name = exercise_name(item)
    module_file = item.config.stash[TARGET_DIR] / f"{name}.py"
    shown = f"{item.config.stash[TARGET_LABEL]}/{name}.py"
    if not module_file.is_file():
        raise ExerciseImportError(shown, f"there is no file {shown}.")
    if name in item.config.stash.get(UNTOUCHED_STUBS, set()):  # decided once, as collection ended
        task = item.get_closest_marker("points").kwargs.get("task")
        raise NotStarted(task or item.name, shown)


def pytest_report_teststatus(report, config):
    """pytest's letter, word and count of a check agree with the score table.

    A check whose function still raises NotImplementedError is "not started"
    (letter ``n``, counted as "N not started" on pytest's last line), not
    failed. Its report stays a failure, so that the exit status stays
    non-zero below full marks. A check stopped in its setup (by the learner's
    module, missing or not importable, or by the run's deadline) failed, as
    the table counts it: pytest would count it as an error of the check
    itself ("E", "ERROR at setup").
    """
    if not report.failed or report.when not in ("setup", "call"):
        return None
    check = config.stash[GRADEBOOK].checks.get(report.nodeid)
    if check is not None and check.status == "not started":
        return "not started", "n", ("NOT STARTED", {"yellow": True})
    if check is not None and report.when == "setup":
        return "failed", "F", "FAILED"
    return None


UNTOUCHED_STUBS = pytest.StashKey[set]()


def is_untouched_stub(path: Path) -> bool:
    """True if ``path`` is still the stub as generated (every function in it raises NotImplementedError)."""
    try:
        return stubgen.is_untouched(path.read_text())
    except (OSError, UnicodeDecodeError):
        return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Gives each check its time limit for calls into student code (setup and call together)."""
    engine = engine_of(item.config)
    engine.printed()  # what earlier checks printed is theirs
    engine.begin_check(item.stash.get(CHECK_SECONDS, DEFAULT_CHECK_TIMEOUT), seed=item_seed(item.config, item.nodeid))
    notice = SlowCheckNotice.start(item)
    try:
        return (yield)
    finally:
        if notice is not None:
            notice.stop()
        engine.end_check()


class SlowCheckNotice:
    """On a terminal, a check that runs for more than a few seconds says which it is and for how long.

    Written after pytest's progress dots, and erased when the check ends. It
    goes to the terminal the run started on (a copy of its descriptor taken
    at configure time): during a check, pytest captures descriptor 1.
    """

    AFTER_SECONDS = 3.0

    def __init__(self, terminal_fd: int, name: str, column: int, width: int):
        self.terminal_fd, self.name, self.column, self.width = terminal_fd, name, column, width
        self.done = threading.Event()
        self.shown = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def start(cls, item) -> "SlowCheckNotice | None":
        terminal_fd = item.config.stash.get(TERMINAL_FD, None)
        check = item.config.stash[GRADEBOOK].checks.get(item.nodeid)
        reporter = item.config.pluginmanager.get_plugin("terminalreporter")
        if terminal_fd is None or check is None or reporter is None:
            return None
        notice = cls(terminal_fd, check.name, reporter._tw.width_of_current_line, reporter._tw.fullwidth)
        notice.thread.start()
        return notice

    def _run(self) -> None:
        started = time.monotonic()
        if self.done.wait(self.AFTER_SECONDS):
            return
        while not self.done.is_set():
            room = self.width - self.column - 12
            name = self.name if len(self.name) <= room else self.name[: max(room - 1, 0)] + "…"
            text = f" [{time.monotonic() - started:.0f} s: {name}]" if room > 10 else f" [{time.monotonic() - started:.0f} s]"
            self._write(("\x1b8\x1b[K" if self.shown else "\x1b7") + text)
            self.shown = True
            self.done.wait(1.0)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        if self.shown:
            self._write("\x1b8\x1b[K")

    def _write(self, text: str) -> None:
        try:
            os.write(self.terminal_fd, text.encode(errors="replace"))
        except OSError:
            pass


TERMINAL_FD = pytest.StashKey[int]()


def keep_terminal(config) -> None:
    """Keeps the terminal's descriptor for ``SlowCheckNotice`` (on a terminal only, and not under xdist)."""
    if os.isatty(1) and not hasattr(config, "workerinput") and config.option.verbose >= 0:
        config.stash[TERMINAL_FD] = os.dup(1)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """A SIGALRM timer that raises ``CheckTimeout``.

    pytest-timeout's own signal handler calls ``pytest.fail``, which Hypothesis
    catches and retries while shrinking: an endless loop would then hang the
    run. ``CheckTimeout`` ends the check at once.
    """
    if item.get_closest_marker("points") is None or threading.current_thread() is not threading.main_thread():
        return None
    if sys.platform == "win32" or PORTABLE_CHANNEL:
        # No SIGALRM: every call into the learner's code already ends by the check's deadline (the engine's).
        item.cancel_timeout = lambda: None
        return True

    def on_alarm(signum, frame):
        raise CheckTimeout(settings.timeout)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    book = item.config.stash[GRADEBOOK]
    if item.nodeid not in book.checks or report.when == "teardown" and report.passed:
        return report
    # Which of the learner's functions the check used: the watch re-runs it only when one of them changes.
    book.checks[item.nodeid].calls = sorted(name for module, name in engine_of(item.config).names_used
                                            if module == exercise_name(item))
    if report.passed and report.when == "call":
        book.record(item.nodeid, "passed", "")
    elif report.failed or report.skipped:
        status, message = verdict(call.excinfo, book, item)
        printed = clean_text(engine_of(item.config).printed().strip(), PRINTED_LIMIT)
        if printed and status not in ("not started", "skipped"):
            message += "\nYour code printed:\n" + "\n".join("    | " + line for line in printed.splitlines())
        if report.skipped:
            status = "skipped"
        book.record(item.nodeid, status, message)
        if report.failed and not item.config.getoption("--show-traceback"):
            report.longrepr = message
        elif report.failed:
            report.longrepr = f"{message}\n\n{report.longrepr}"
    return report


MESSAGE_LIMIT = 10_000


def verdict(excinfo, book, item) -> tuple[str, str]:
    """The status and learner-facing message of a check that did not pass.

    Every message may quote the learner's text (a layer's name, an exception's): terminal control characters
    are replaced, so that no message can move the cursor or draw over the score table.
    """
    status, message = _verdict(excinfo, book, item)
    return status, clean_text(message, MESSAGE_LIMIT)


def _verdict(excinfo, book, item) -> tuple[str, str]:
    if excinfo is None:
        return "error", "the check did not run."
    error = excinfo.value
    extra = ""
    if isinstance(error, BaseExceptionGroup):
        inner = error.exceptions
        extra = f"\n(and {len(inner) - 1} other failure(s) on other inputs)" if len(inner) > 1 else ""
        error = inner[0]
    notes = "\n".join(n for n in getattr(error, "__notes__", []) if not n.startswith("You can"))
    if notes:
        extra += "\n" + notes
    if isinstance(error, NotStarted):
        return "not started", str(error)
    if isinstance(error, CheckTimeout):
        return "timed out", str(error) + extra
    if isinstance(error, RunDeadline):
        return "not run", str(error)
    if isinstance(error, WorkerKeepsEnding):
        return "failed", str(error)
    if isinstance(error, ExerciseImportError):
        book.fence_refused |= isinstance(error, FenceRefused)
        if book.import_failed(item.nodeid, error.module_path, str(error)):
            return "failed", str(error)
        return "failed", f"{error.module_path} {error.headline} (the error is shown under the first check of this exercise)."
    if isinstance(error, (CheckFailure, MissingName)):
        return "failed", str(error) + extra
    if isinstance(error, pytest.skip.Exception):
        return "skipped", str(error)
    if isinstance(error, pytest.fail.Exception):
        return "failed", str(error) + extra
    if isinstance(error, StudentRaised):
        return "failed", f"your code raised {describe_student_error(error)}{extra}"
    description = f"{type(error).__name__}: {clean_text(error, 1000)}"
    return "failed", f"the check could not use what your code returned: {description}{extra}"


def pytest_collectreport(report):
    if report.failed:
        _collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")


_collection_errors: list[str] = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The score table, after the failures of the exercise the learner is on.

    Around pytest's own summary: its FAILURES section then lists only that
    exercise's failing checks (all with ``--all-failures``); the counts of
    pytest's last line still include every check.
    """
    book = config.stash[GRADEBOOK]
    if not config.stash.get(SHOW_WARNINGS, False):
        # Warnings of the grader's own process (Keras', while rebuilding a model) are not the learner's:
        # neither their section nor their count on the last line.
        terminalreporter.reportchars = terminalreporter.reportchars.replace("w", "")
        terminalreporter.stats.pop("warnings", None)
    hidden = {}
    if book.checks and not config.getoption("--all-failures"):
        hidden = _hide_other_failures(terminalreporter.stats, book)
    try:
        return (yield)
    finally:
        for kind, reports in hidden.items():
            terminalreporter.stats.setdefault(kind, []).extend(reports)
        if book.checks:
            for line in book.table_lines():
                terminalreporter.write_line(line)
            failing_elsewhere = sum(book.checks[report.nodeid].status != "not started"
                                    for reports in hidden.values() for report in reports)
            if failing_elsewhere:
                terminalreporter.write_line(
                    f"({failing_elsewhere} failing checks of later exercises are not printed here: "
                    "`pytest checks --all-failures` prints every message.)")
        if config.getoption("--show-fence"):
            terminalreporter.write_line(results.fence_line(book.fence))
        elif note := results.fence_note(book.fence):
            terminalreporter.write_line(note)


def _hide_other_failures(stats: dict, book) -> dict[str, list]:
    """Takes out of ``stats`` the failed reports to keep quiet; returns them by kind.

    Kept: the failures of the first exercise that is not at full marks (checks
    not started are not among them: ``pytest_report_teststatus``).
    """
    current = book.current_exercise()
    hidden = {}
    for kind in ("failed", "error"):
        shown, quiet = [], []
        for report in stats.get(kind, []):
            check = book.checks.get(getattr(report, "nodeid", None))
            if check is not None and (check.exercise != current or check.status == "not started"):
                quiet.append(report)
            else:
                shown.append(report)
        if quiet:
            stats[kind] = shown
            hidden[kind] = quiet
    return hidden


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    engine = session.config.stash.get(ENGINE, None)
    if engine is not None:
        engine.shutdown()  # every worker, and all they started, is dead before the files are written
    book = session.config.stash.get(GRADEBOOK, None)
    if book is None:
        return
    book.fence = results.fence_held(engine.fence_report if engine is not None else None)
    crash = None
    if _collection_errors:
        crash = "some checks could not be collected:\n" + "\n".join(_collection_errors)
    elif exitstatus == pytest.ExitCode.INTERRUPTED:
        crash = "the grading run was interrupted before it finished."
    elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        crash = "the grading run stopped with an internal error."
    elif engine is not None and engine.fence_refusal:
        crash = engine.fence_refusal
    book.write(crash=crash, duration=time.time() - book.started)


def pytest_internalerror(excrepr, excinfo):
    for engine in Engine.live:
        engine.shutdown()
    for book in results.Gradebook.live:
        book.write(crash=f"internal error: {excinfo.exconly()}", duration=0.0)


def pytest_unconfigure(config):
    terminal_fd = config.stash.get(TERMINAL_FD, None)
    if terminal_fd is not None:
        os.close(terminal_fd)
        del config.stash[TERMINAL_FD]
