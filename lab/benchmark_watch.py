"""How soon ``python -m grader watch`` shows its verdict after a learner saves a file.

Usage::

    python -m lab.benchmark_watch [--saves 10]

Starts the watch on a copy of the stubs, waits until it is ready, then saves
``exercises/conv.py`` ``--saves`` times, alternating between a learner's file
with a correct ``conv_output_length`` and the same file with a realistic bug
in it (``valid-off-by-one``; the other functions still raise
NotImplementedError: where a learner of exercise 1 starts). For each save it
measures the wall time from the save (an editor's rename over the file) to
the end of the redrawn screen, and prints each time, the median and the
maximum. The watch debounces saves for 0.3 s (editors save in bursts); that
is part of the figure.
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

from grader.course import ROOT

READY = b"Watching "  # the last line of every redraw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.test_learner import learner_module, with_bug

    correct = learner_module("conv", written=("conv_output_length",))
    versions = [correct, with_bug(correct, "valid-off-by-one")]
    with tempfile.TemporaryDirectory(prefix="benchmark-watch-") as scratch:
        folder = Path(scratch) / "exercises"
        shutil.copytree(ROOT / "exercises", folder, ignore=shutil.ignore_patterns(".backup", "__pycache__"))
        started = time.monotonic()
        watch = subprocess.Popen([sys.executable, "-m", "grader", "watch", "--target", str(folder)], cwd=ROOT,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output = Output(watch.stdout)
            output.wait_for_ready(seconds=300)
            print(f"ready after {time.monotonic() - started:.1f} s (runner start and the first grade)")
            times = []
            for index in range(args.saves):
                time.sleep(1.0)  # a learner's pause: the watcher is idle when the save comes
                temporary = folder / ".conv.py.swp"
                temporary.write_text(versions[index % 2])
                saved = time.monotonic()
                os.replace(temporary, folder / "conv.py")
                output.wait_for_ready(seconds=120)
                times.append(time.monotonic() - saved)
                print(f"save {index + 1}: {'correct' if index % 2 == 0 else 'bug'} -> verdict in {times[-1]:.2f} s")
        finally:
            watch.kill()
            watch.wait()
    print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)} saves")
    return 0


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
                raise TimeoutError(f"no verdict within {seconds:g} s")
            chunk = os.read(self.stream.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("the watch ended")
            self.pending += chunk


if __name__ == "__main__":
    sys.exit(main())
