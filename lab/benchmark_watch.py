"""How soon ``python -m grader watch`` shows its first screen, and its verdict after a learner saves a file.

Usage::

    python -m lab.benchmark_watch [EXERCISE] [--starts 5] [--saves 10]

First screen: starts ``python -m grader watch [EXERCISE]`` ``--starts``
times, each on a fresh copy of the stubs (seven untouched stubs, no
``.grader/`` state: a fresh clone), and measures the wall time from starting
the process to the end of its first screen (its last line, "Watching …").

Saves: on the last watch started, 1 s after its first screen, saves the
exercise's file (``exercises/conv.py`` when none is named) ``--saves`` times
(1 s apart), alternating between a learner's correct file and the same file
with a realistic bug in it. For exercise 1 the file has a correct
``conv_output_length`` (the bug: ``valid-off-by-one``) and the other
functions still raise NotImplementedError: where a learner of exercise 1
starts. For the others the whole exercise is written (the reference
solution) and the bug is the first of its mutants in ``tests/mutants``
that applies. For each save it
measures the wall time from the save (an editor's rename over the file) to
the end of the redrawn screen. The watch debounces saves for 0.3 s (editors
save in bursts); that is part of the figure. The first save also waits for
the grading runner's start (TensorFlow's import), which the first screen
does not: it is reported apart.

It prints each time, the median and the maximum.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import EXERCISES, ROOT

READY = b"Watching "  # the last line of every redraw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", nargs="?", choices=EXERCISES, help="start the watch on it (default: none named)")
    parser.add_argument("--starts", type=int, default=5, help="first screens to time (default 5)")
    parser.add_argument("--saves", type=int, default=10, help="saves of the exercise's file to time")
    args = parser.parse_args(argv)
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    sys.path.insert(0, str(ROOT))
    command = ["watch", *([args.exercise] if args.exercise else [])]
    firsts = []
    with tempfile.TemporaryDirectory(prefix="benchmark-watch-") as scratch:
        for start in range(args.starts):
            folder = Path(scratch) / f"start-{start}" / "exercises"
            shutil.copytree(ROOT / "exercises", folder, ignore=shutil.ignore_patterns(".backup", "__pycache__"))
            started = time.monotonic()
            watch = subprocess.Popen([sys.executable, "-m", "grader", *command, "--target", str(folder)], cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                output = Output(watch.stdout)
                output.wait_for_ready(seconds=300)
                firsts.append(time.monotonic() - started)
                print(f"`python -m grader {' '.join(command)}` start {start + 1}: first screen after {firsts[-1]:.2f} s")
                if start == args.starts - 1 and args.saves:
                    time_saves(folder, output, args.saves, args.exercise or "conv")
            finally:
                watch.kill()
                watch.wait()
    print(f"first screen: median {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s over {len(firsts)} starts")
    return 0


def saved_versions(exercise: str) -> list[str]:
    """The two files a learner saves in turn: a correct one, and the same with a realistic bug."""
    import importlib
    import re

    from tests.test_learner import learner_module, with_bug

    if exercise == "conv":
        correct = learner_module("conv", written=("conv_output_length",))
        return [correct, with_bug(correct, "valid-off-by-one")]
    solution = (ROOT / "solutions" / f"{exercise}.py").read_text()
    correct = learner_module(exercise, written=tuple(re.findall(r"^def (\w+)\(", solution, re.MULTILINE)))
    for mutant in importlib.import_module(f"tests.mutants.{exercise}").MUTANTS:
        if all(correct.count(old) == 1 for old, _ in mutant.edits):
            return [correct, with_bug(correct, mutant.name, [mutant])]
    raise SystemExit(f"no mutant of {exercise} applies to its solution")


def time_saves(folder: Path, output: "Output", saves: int, exercise: str) -> None:
    """Saves ``exercises/EXERCISE.py`` ``saves`` times and prints how soon each verdict is on screen."""
    versions = saved_versions(exercise)
    times = []
    for index in range(saves):
        time.sleep(1.0)  # a learner's pause: the watcher is idle when the save comes
        temporary = folder / f".{exercise}.py.swp"
        temporary.write_text(versions[index % 2])
        saved = time.monotonic()
        os.replace(temporary, folder / f"{exercise}.py")
        output.wait_for_ready(seconds=120)
        times.append(time.monotonic() - saved)
        print(f"save {index + 1}: {'correct' if index % 2 == 0 else 'bug'} -> verdict in {times[-1]:.2f} s")
    print(f"the first save (1 s after the first screen, the grading runner still starting): {times[0]:.2f} s")
    if len(times) > 1:
        later = times[1:]
        print(f"save to verdict after it: median {statistics.median(later):.2f} s, max {max(later):.2f} s "
              f"over {len(later)} saves")


class Output:
    """Reads the watch's output and tells when a redraw ends."""

    def __init__(self, stream):
        self.stream, self.pending = stream, b""

    def wait_for_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            line, newline, rest = self.pending.partition(b"\n")
            if newline:
                self.pending = rest
                if line.startswith(READY):
                    return
                continue
            ready, _, _ = select.select([self.stream], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError(f"no screen within {seconds:g} s")
            chunk = os.read(self.stream.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("the watch ended")
            self.pending += chunk


if __name__ == "__main__":
    sys.exit(main())
