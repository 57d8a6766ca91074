"""The learner's loop as a learner uses it: ``watch`` in a terminal (driven by tmux), ``list``,
``hint``, ``reset``, and the calm output of ``pytest checks``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.course import COURSE, EXERCISES
from grader.instructor.stubgen import make_stub
from tests.conftest import COURSE_MAX, EXERCISE_MAX
from tests.mutants.conv import MUTANTS as CONV_MUTANTS
from tests.mutants.curves import MUTANTS as CURVES_MUTANTS

HINTS = {exercise.name: exercise.tasks for exercise in COURSE}  # the manifest's hint ladders

ROOT = Path(__file__).resolve().parent.parent


def learner_module(name: str, written=()) -> str:
    """``solutions/NAME.py`` as a learner has it after writing the functions ``written``.

    The other functions still raise NotImplementedError. The stub's
    fingerprint line is gone: the file has been edited.
    """
    out, function = [], None
    for line in (ROOT / "solutions" / f"{name}.py").read_text().splitlines(keepends=True):
        match = re.match(r"^def (\w+)\(", line)
        if match:
            function = match.group(1)
        if function in written and line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            continue
        out.append(line)
    return make_stub("".join(out), name).split("\n", 1)[1]


def with_bug(text: str, mutant_name: str, mutants=CONV_MUTANTS) -> str:
    mutant = next(m for m in mutants if m.name == mutant_name)
    for old, new in mutant.edits:
        assert text.count(old) == 1, f"mutant {mutant_name} does not apply"
        text = text.replace(old, new)
    return text


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A learner's folder of fresh stubs (its state goes to tmp_path/.grader)."""
    folder = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", folder, ignore=shutil.ignore_patterns(".backup", "__pycache__"))
    return folder


def grader(*arguments, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, arguments)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def save(path: Path, text: str) -> None:
    """Writes as an editor does: a temporary file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    temporary.replace(path)


def passed_state(checkout: Path, exercises) -> None:
    """Writes the state of a learner who earned full marks in ``exercises`` (their files as they are now).

    What ``list``, ``hint`` and the watch read instead of grading again; the
    check lists come from the checks files, as the plugin registers them.
    """
    from grader.course import course_fingerprint, declared_checks
    from grader.learner.state import Checkout, source_digest

    book = Checkout.open(checkout)
    for exercise in exercises:
        checks = [{**{k: v for k, v in check.items() if k != "function"}, "status": "passed", "message": "",
                   "import_error": None} for check in declared_checks(exercise)]
        book.state["results"][exercise] = {"module": source_digest(book.source(exercise)),
                                           "course": course_fingerprint(), "checks": checks}
    book.save_state()


# ----------------------------------------------------------------------------- watch, in a terminal


class Terminal:
    """A tmux session of 120 x 50 running one command."""

    def __init__(self, command: str, name: str):
        self.name = name
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "50",
                        f"{command}; echo WATCH-ENDED $?; sleep 600"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name], capture_output=True,
                              text=True).stdout

    def wait_for(self, *texts: str, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"waited {seconds:g} s for {texts!r}; the terminal shows:\n{self.screen()}")

    def type(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal(request):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed to test `python -m grader watch` as a learner uses it (apt-get install tmux)")
    opened = []

    def open_terminal(command: str) -> Terminal:
        opened.append(Terminal(command, f"watch-{abs(hash(request.node.nodeid)) % 10**8}"))
        return opened[-1]

    yield open_terminal
    for each in opened:
        each.close()


def test_watch_grades_each_save_and_moves_on_at_full_marks(checkout, terminal):
    """A learner who has done exercises 2-5 and 7 (graded before: the state file says so) writes 1, then 6.

    The watch grades each save, moves on at full marks, and says so in the
    right words when the last exercise reaches full marks.
    """
    done = [e for e in EXERCISES if e not in ("conv", "curves")]
    for exercise in done:
        shutil.copy(ROOT / "solutions" / f"{exercise}.py", checkout / f"{exercise}.py")
    passed_state(checkout, done)
    conv = checkout / "conv.py"
    watch = terminal(f"cd {ROOT} && {sys.executable} -m grader watch --target {checkout}")
    screen = watch.wait_for("Exercise 1: conv", "Watching", seconds=180)
    points_done = sum(EXERCISE_MAX[e] for e in done)
    assert "not started" in screen and f"5/7 exercises done · {points_done:g}/{COURSE_MAX:g} points" in screen, screen
    assert f"Hint 1 of 3, a nudge (h: the next step): {HINTS['conv']['conv_output_length'][0][:30]}" in screen, screen

    save(conv, learner_module("conv", written=("conv_output_length",)))
    screen = watch.wait_for("✓ conv_output_length gives the sizes", "3/25 points")
    assert "First to fix (task `extract_patches`)" in screen, screen

    save(conv, with_bug(learner_module("conv", written=("conv_output_length",)), "valid-off-by-one"))
    screen = watch.wait_for("✗ conv_output_length gives the sizes")
    assert "First to fix (task `conv_output_length`)" in screen and "Hint 1 of 3" in screen, screen
    assert "expected" in screen.split("First to fix", 1)[1], screen

    save(conv, learner_module("conv", written=("conv_output_length",)).replace("def conv2d(", "def conv2d(:", 1))
    screen = watch.wait_for("SyntaxError", "Watching")
    assert "WATCH-ENDED" not in screen

    watch.type("h", "Enter")  # the first step is on screen already: h shows the second
    watch.wait_for(f"Hint 2 of 3, the idea (h: the next step): {HINTS['conv']['conv_output_length'][1][:30]}")

    save(conv, (ROOT / "solutions" / "conv.py").read_text())
    screen = watch.wait_for("Exercise 6: curves", "Exercise 1 (conv) is done", seconds=180)
    assert f"6/7 exercises done · {points_done + EXERCISE_MAX['conv']:g}/{COURSE_MAX:g} points" in screen, screen
    assert "Exercise 1 (conv) is done: full marks! On to exercise 6 (curves)." in screen, screen

    save(checkout / "curves.py", (ROOT / "solutions" / "curves.py").read_text())
    screen = watch.wait_for("Every exercise is done", seconds=180)
    assert "Exercise 6 (curves) is done: full marks! That was the last one." in screen, screen
    assert f"7/7 exercises done · {COURSE_MAX:g}/{COURSE_MAX:g} points" in screen, screen
    assert "On to the next one" not in screen and "Next:" not in screen, screen
    watch.type("h", "Enter")
    watch.wait_for("Every exercise is at full marks: no hint needed.")

    watch.type("C-c")  # Ctrl-C leaves cleanly: a message, exit status 0, and the grading runner stopped
    screen = watch.wait_for("WATCH-ENDED 0", seconds=30)
    assert "Stopped watching" in screen and "Traceback" not in screen, screen
    hint, listing = grader("hint", "--target", checkout), grader("list", "--target", checkout)
    assert "Every exercise is done: no hint needed." in hint.stdout, hint.stdout + hint.stderr
    assert "All exercises are done" in listing.stdout and "grading" not in listing.stderr, listing.stdout


def test_watch_starts_on_the_named_exercise_and_grades_the_others_afterwards(checkout, terminal):
    """A learner assigned exercise 5 only, in a fresh copy: `watch transfer` shows it at once, not exercise 1.

    Their curves.py is edited but was never graded: it is graded after the
    first screen, in the background, and the progress line then counts it.
    """
    save(checkout / "curves.py", learner_module("curves", written=("smooth_curve",)))
    watch = terminal(f"cd {ROOT} && {sys.executable} -m grader watch transfer --target {checkout}")
    screen = watch.wait_for("Exercise 5: transfer", "Watching", seconds=60)
    assert f"not started · 0/{EXERCISE_MAX['transfer']:g} points" in screen and "Exercise 1" not in screen, screen
    assert "(curves: grading in the background)" in screen, screen
    assert f"Hint 1 of 3, a nudge (h: the next step): {HINTS['transfer']['build_conv_base'][0][:20]}" in screen, \
        screen  # the task's first hint, as `python -m grader hint` gives it

    screen = watch.wait_for(f"0/7 exercises done · 6/{COURSE_MAX:g} points\n", seconds=180)
    assert "Exercise 5: transfer" in screen and "in the background" not in screen, screen
    watch.type("h", "Enter")
    watch.wait_for(f"Hint 2 of 3, the idea (h: the next step): {HINTS['transfer']['build_conv_base'][1][:20]}")
    watch.type("q", "Enter")
    screen = watch.wait_for("WATCH-ENDED 0", seconds=30)
    assert "Traceback" not in screen, screen


# ----------------------------------------------------------------------------- list, hint, reset


def test_list_hint_and_reset(checkout):
    conv = checkout / "conv.py"
    partial = learner_module("conv", written=("conv_output_length",))
    save(conv, partial)

    listing = grader("list", "--target", checkout)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert re.search(r"^1\. conv \(.*conv\.py\)\s+in progress\s+3 / 25$", listing.stdout, re.M), listing.stdout
    assert any(re.match(r"^\s+conv_output_length\s+done\s+3 / 3$", line) for line in lines), listing.stdout
    assert any(re.match(r"^\s+extract_patches\s+not started\s+0 / 4$", line) for line in lines), listing.stdout
    assert re.search(r"^7\. visualize .*not started\s+0 / 34$", listing.stdout, re.M), listing.stdout
    assert "Next: exercise 1" in listing.stdout and "extract_patches" in listing.stdout

    again = grader("list", "--target", checkout)  # from the state file: nothing saved since
    assert again.stdout == listing.stdout and "grading" not in again.stderr

    first, second = grader("hint", "--target", checkout), grader("hint", "--target", checkout)
    assert "Hint 1 of 3 (a nudge) for `extract_patches`" in first.stdout, first.stdout + first.stderr
    assert "Hint 2 of 3 (the idea) for `extract_patches`" in second.stdout, second.stdout
    texts = [out.stdout.splitlines()[1].strip() for out in (first, second)]
    assert texts[0] != texts[1] and all(texts)
    state = json.loads((checkout.parent / ".grader" / "state.json").read_text())
    assert state["hint_steps"] == {"conv/extract_patches": 2}

    reset = grader("reset", "conv", "--target", checkout)
    assert reset.returncode == 0, reset.stderr
    backups = list((checkout.parent / ".grader" / "backups").glob("conv.*.py"))
    assert len(backups) == 1 and backups[0].read_text() == partial
    assert str(backups[0]) in reset.stdout
    assert conv.read_text() == (ROOT / "exercises" / "conv.py").read_text()
    assert "already the stub" in grader("reset", "conv", "--target", checkout).stdout
    assert len(list(backups[0].parent.iterdir())) == 1

    unknown = grader("reset", "convolution", "--target", checkout)
    assert unknown.returncode == 2 and "no exercise named 'convolution'" in unknown.stderr
    unknown = grader("watch", "convolution", "--target", checkout)
    assert unknown.returncode == 2 and "the exercises are conv, mnist, dataset" in unknown.stderr, unknown.stderr


def test_untouched_stubs_need_no_grading():
    """An untouched stub's result is made without a runner, and reads as the plugin's would (nothing graded)."""
    from grader.learner.state import Checkout, LearnerGrader

    checkout = Checkout(ROOT / "exercises", {"version": 1, "results": {}, "hint_steps": {}})
    known = LearnerGrader(checkout).known()
    assert list(known) == list(EXERCISES) and all(r.state == "not started" for r in known.values())
    assert {e: r.max_points for e, r in known.items()} == EXERCISE_MAX
    assert known["conv"].checks[0].as_record() == {
        "nodeid": "checks/test_conv.py::test_output_length_by_hand", "exercise": "conv",
        "name": "conv_output_length gives the sizes worked out by hand", "points": 1.0, "task": "conv_output_length",
        "status": "not started", "import_error": None, "calls": [],
        "message": "not started: `conv_output_length` in exercises/conv.py still raises NotImplementedError. "
                   "Replace the `raise NotImplementedError(...)` line with your code."}


# ----------------------------------------------------------------------------- pytest checks, calm by default


def table_counts(output: str) -> dict[str, int]:
    """Passed, failed and not started checks, summed over the rows of the score table."""
    rows = re.findall(r"^\d\. \w+\s+(\d+)\s+(\d+)\s+(\d+)\s", output, re.M)
    return {kind: sum(int(row[i]) for row in rows) for i, kind in enumerate(("passed", "failed", "not started"))}


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last line ("1 failed, 5 passed, 104 not started in 9.9s")."""
    last = output.strip().splitlines()[-1]
    return {kind: int(count) for count, kind in re.findall(r"(\d+) (passed|failed|not started|warnings?)", last)}


def test_pytest_checks_agrees_with_its_score_table(checkout, tmp_path):
    """`pytest checks` as a learner runs it, with a bug in exercises 1 and 6 and five untouched stubs.

    It prints the failures of exercise 1 only; pytest's letters, last line
    and exit status agree with the table; the hint is the failing task's.
    The untouched stubs' checks read exactly as the watch reads them
    without grading them.
    """
    save(checkout / "conv.py", with_bug(learner_module("conv", written=("conv_output_length",)), "valid-off-by-one"))
    save(checkout / "curves.py", with_bug(learner_module("curves", written=("smooth_curve",)), "factor-swapped",
                                          CURVES_MUTANTS))
    classroom = tmp_path / "classroom.json"
    command = [sys.executable, "-m", "pytest", "checks", f"--target={checkout}"]
    calm = subprocess.run([*command, f"--classroom-json={classroom}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert calm.returncode == 1, calm.stdout[-3000:]
    assert "test_output_length_by_hand" in calm.stdout  # the conv failure, in full
    assert "still raises NotImplementedError" not in calm.stdout  # no block per check not started
    assert "factor and 1 - factor swapped" not in calm.stdout  # exercise 6's failures wait their turn
    assert "failing checks of later exercises are not printed here" in calm.stdout
    assert f"checks/test_mnist.py {'n' * 13} " in calm.stdout, calm.stdout  # pytest's letter for "not started"
    counts = table_counts(calm.stdout)
    assert counts["failed"] > 0 and counts["not started"] > 0
    assert summary_counts(calm.stdout) == counts, calm.stdout[-600:]  # no warnings counted either
    assert f"\nHint: {HINTS['conv']['conv_output_length'][0]}\n" in calm.stdout  # the failing task's first hint

    from grader.learner.state import Checkout

    graded = json.loads(classroom.read_text())["tests"]
    book = Checkout.open(checkout)
    for exercise in ("mnist", "dataset", "convnet", "transfer", "visualize"):
        local = [(f"{exercise}: {c.name}", c.points, c.message) for c in book.untouched_stub_result(exercise).checks]
        assert local == [(t["name"], t["max_score"], t["message"]) for t in graded if t["name"].startswith(exercise + ":")]

    full = subprocess.run([sys.executable, "-m", "pytest", "checks/test_conv.py", "checks/test_curves.py",
                           f"--target={checkout}", "--all-failures"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert "factor and 1 - factor swapped" in full.stdout, full.stdout[-3000:]


def test_watch_screen_lines_break_between_words():
    from grader.learner.watch import wrapped

    message = "  not started: `conv_output_length` in exercises/conv.py still raises NotImplementedError."
    lines = wrapped(["short", message], 40)
    assert lines[0] == "short" and all(len(line) <= 40 for line in lines)
    assert lines[1].startswith("  not started:") and all(line.startswith("    ") for line in lines[2:])
    assert " ".join(line.strip() for line in lines[1:]) == message.strip()  # no word cut or lost


# ----------------------------------------------------------------------------- a save grades what it changed


def test_function_digests_follow_what_each_function_uses():
    """A function's digest changes with its own code, the functions it calls and the module's other statements."""
    from grader.learner.state import function_digests

    module = ("import numpy as np\nSIZE = 3\n\n\ndef helper(x):\n    return x + 1\n\n\n"
              "def uses_helper(x):\n    return helper(x) * SIZE\n\n\ndef alone(x):\n    # a note\n    return x\n")
    before = function_digests(module.encode())
    assert set(before) == {"helper", "uses_helper", "alone", "*"}

    def changed(edited: str) -> set[str]:
        after = function_digests(edited.encode())
        return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}

    assert changed(module.replace("# a note", "# another note").replace("    return x\n", "    return (x)\n")) == {"*"}
    assert changed(module.replace("x + 1", "x + 2")) == {"helper", "uses_helper", "*"}
    assert changed(module.replace("return x\n", "return -x\n")) == {"alone", "*"}
    assert changed(module.replace("SIZE = 3", "SIZE = 4")) == set(before)
    assert changed(module.replace("import numpy as np", "import numpy")) == set(before)
    assert changed(module + "\n\ndef new_one():\n    pass\n") == {"new_one", "*"}
    dynamic = module.replace("    return x\n", '    return globals()["helper"](x)\n')
    assert changed(dynamic) == {"alone", "*"}
    assert function_digests(dynamic.encode())["alone"] != function_digests(
        dynamic.replace("x + 1", "x + 2").encode())["alone"], "a function reaching others by name depends on all"
    compiles = module + "\n\ndef fit(model):\n    model.compile(optimizer=\"sgd\")\n    return model\n"
    assert function_digests(compiles.encode())["fit"] == function_digests(compiles.replace("x + 1", "x + 2").encode())[
        "fit"], "model.compile is not the builtin compile: a method of that name reaches nothing dynamically"
    assert function_digests(b"def broken(:\n") is None


@pytest.mark.parametrize("reach", [
    'TABLE = {"max": helper}\n\n\ndef caller(x):\n    return TABLE["max"](x)\n',
    'TABLE = {}\n\n\ndef register(f):\n    TABLE[f.__name__] = f\n    return f\n\n\n@register\ndef placed(x):\n'
    '    return helper(x)\n\n\ndef caller(x):\n    return TABLE["placed"](x)\n',
    'class Pool:\n    run = staticmethod(helper)\n\n\ndef caller(x):\n    return Pool.run(x)\n',
    'def caller(x):\n    import mine\n    return mine.helper(x)\n',
    'def caller(x):\n    from . import mine\n    return mine.helper(x)\n',
])
def test_a_function_reached_without_its_name_changes_its_callers_digest(reach):
    """A table, a decorator, a class or an import of the module itself can reach ``helper`` for ``caller``
    (found by the red team: the watch kept a stale pass). Such a change re-grades ``caller``'s checks."""
    from grader.learner.state import function_digests

    module = "def helper(x):\n    return x + 1\n\n\n" + reach
    before = function_digests(module.encode(), "mine")["caller"]
    assert function_digests(module.replace("x + 1", "x + 2").encode(), "mine")["caller"] != before


def test_a_check_that_reads_the_text_runs_again_after_any_change():
    """``exercise.source()`` (the NumPy-only check) records the text itself among what the check used."""
    from grader.learner.state import checks_to_run, function_digests

    module = b"import numpy as np\n\n\ndef helper(x):\n    return x\n"
    entry = {"course": "c", "functions": function_digests(module, "conv"),
             "checks": [{"nodeid": "a", "status": "passed", "calls": ["*"]},
                        {"nodeid": "b", "status": "passed", "calls": ["helper"]}]}
    added = module + b"\n\ndef unused():\n    import tensorflow\n"
    assert [check["nodeid"] for check in checks_to_run(entry, function_digests(added, "conv"), "c")] == ["a"]


def test_grading_again_by_hand_runs_every_check(checkout):
    """The watch's ``r`` (Checkout.forget_checks): the next grade runs every check, not only a save's."""
    from grader.learner.state import Checkout, checks_to_run, function_digests

    book = Checkout.open(checkout)
    module = b"def helper(x):\n    return x\n"
    book.state["results"]["conv"] = {"course": "c", "functions": function_digests(module, "conv"),
                                     "checks": [{"nodeid": "a", "status": "passed", "calls": ["helper"]}]}
    assert checks_to_run(book.state["results"]["conv"], function_digests(module, "conv"), "c") == []
    book.forget_checks("conv")
    assert checks_to_run(book.state["results"]["conv"], function_digests(module, "conv"), "c") is None


def test_a_save_regrades_only_the_checks_of_the_functions_it_changed(checkout):
    """After a save that changes one function, only the checks that use it run; the result is a full grade's."""
    from grader.learner.state import Checkout, LearnerGrader

    solution = (ROOT / "solutions" / "conv.py").read_text()
    correct = learner_module("conv", written=tuple(re.findall(r"^def (\w+)\(", solution, re.M)))
    book = Checkout.open(checkout)
    grader = LearnerGrader(book)
    started = []

    def grade() -> dict:
        started.clear()
        result = grader.grade(["conv"], on_event=lambda e: started.append(e["nodeid"]) if e["event"] == "start"
                              else None)["conv"]
        assert result.error is None, result.error
        return {check.nodeid: (check.status, check.message) for check in result.checks}

    try:
        save(checkout / "conv.py", correct)
        first = grade()
        assert len(started) == len(first) and all(status == "passed" for status, _ in first.values())
        calls = {c["nodeid"]: c["calls"] for c in book.state["results"]["conv"]["checks"]}
        assert all(calls.values()), "every check records the learner's functions it used"

        save(checkout / "conv.py", with_bug(correct, "pool-mean"))  # max_pool2d only, which no other function uses
        incremental = grade()
        using = {nodeid for nodeid, names in calls.items() if "max_pool2d" in names}
        assert sorted(started) == sorted(using) and 0 < len(using) < len(first)
        assert any(status == "failed" for status, _ in incremental.values())

        book.state["results"].clear()  # nothing known: every check runs
        book.save_state()
        assert grade() == incremental and len(started) == len(first)

        save(checkout / "conv.py", with_bug(correct, "pool-mean") + "\n# a note at the end\n")
        reading = sorted(nodeid for nodeid, names in calls.items() if "*" in names)
        assert reading == ["checks/test_conv.py::test_numpy_only"], "the check that reads the text says so"
        assert grade() == incremental and started == reading, "a save that changes no code grades only the text's"
    finally:
        grader.stop()
