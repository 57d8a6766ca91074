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

from grader.stubgen import make_stub
from tests.mutants.conv import MUTANTS as CONV_MUTANTS

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


def with_bug(text: str, mutant_name: str) -> str:
    mutant = next(m for m in CONV_MUTANTS if m.name == mutant_name)
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
    conv = checkout / "conv.py"
    watch = terminal(f"cd {ROOT} && {sys.executable} -m grader watch --target {checkout}")
    screen = watch.wait_for("Exercise 1: conv", "Watching", seconds=180)
    assert "not started" in screen and "0/166 points" in screen, screen

    save(conv, learner_module("conv", written=("conv_output_length",)))
    screen = watch.wait_for("✓ conv_output_length gives the sizes", "3/25 points")
    assert "First to fix (task `extract_patches`)" in screen, screen

    save(conv, with_bug(learner_module("conv", written=("conv_output_length",)), "valid-off-by-one"))
    screen = watch.wait_for("✗ conv_output_length gives the sizes")
    assert "First to fix (task `conv_output_length`)" in screen and "Hint:" in screen, screen
    assert "expected" in screen.split("First to fix", 1)[1], screen

    save(conv, learner_module("conv", written=("conv_output_length",)).replace("def conv2d(", "def conv2d(:", 1))
    screen = watch.wait_for("SyntaxError", "Watching")
    assert "WATCH-ENDED" not in screen

    watch.type("h", "Enter")
    screen = watch.wait_for("Hint 1 of 3 for `conv_output_length`")

    save(conv, (ROOT / "solutions" / "conv.py").read_text())
    screen = watch.wait_for("Exercise 2: mnist", "Exercise 1 (conv) is done", seconds=180)
    assert "1/7 exercises done · 25/166 points" in screen, screen

    watch.type("C-c")  # Ctrl-C leaves cleanly: a message, exit status 0, and the grading runner stopped
    screen = watch.wait_for("WATCH-ENDED 0", seconds=30)
    assert "Stopped watching" in screen and "Traceback" not in screen, screen


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


# ----------------------------------------------------------------------------- pytest checks, calm by default


def test_pytest_checks_prints_only_the_current_exercises_failures(checkout):
    save(checkout / "conv.py", with_bug(learner_module("conv", written=("conv_output_length",)), "valid-off-by-one"))
    command = [sys.executable, "-m", "pytest", "checks/test_conv.py", "checks/test_mnist.py", f"--target={checkout}"]
    calm = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "test_output_length_by_hand" in calm.stdout  # the conv failure, in full
    assert "still raises NotImplementedError" not in calm.stdout  # no block per check not started
    assert "preprocess_images" not in calm.stdout.split("Grading", 1)[0]
    assert "2. mnist             0       0           13        0 / 19" in calm.stdout
    assert "warnings summary" not in calm.stdout

    full = subprocess.run([*command, "--all-failures"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert full.stdout.count("still raises NotImplementedError") >= 13 + 11


def test_watch_screen_lines_break_between_words():
    from grader.loop import wrapped

    message = "  not started: `conv_output_length` in exercises/conv.py still raises NotImplementedError."
    lines = wrapped(["short", message], 40)
    assert lines[0] == "short" and all(len(line) <= 40 for line in lines)
    assert lines[1].startswith("  not started:") and all(line.startswith("    ") for line in lines[2:])
    assert " ".join(line.strip() for line in lines[1:]) == message.strip()  # no word cut or lost
