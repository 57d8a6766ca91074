"""Times `python -m grader grade` on each exercise and measures the grader's own peak memory.

Usage::

    python -m lab.benchmark_grading [--exercise NAME ...] [--baseline COMMIT] [--repeats 1]

For each exercise (all seven by default, then the whole course), runs
``python -m grader grade solutions --exercise NAME`` in this checkout and,
with ``--baseline``, in a copy of that commit, one after the other on the
same machine. Prints, per run: the wall time of the command, the time pytest
spent in the checks (its own "in N s"), and the peak resident memory of the
grading process itself (the process that holds the checks: its workers, the
judge and the zygote not counted), polled every 50 ms with psutil.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from grader.course import EXERCISES, ROOT
from lab.benchmark_engine import baseline_copy

CHECKS_SECONDS = re.compile(r" in ([0-9.]+)s")


def graded(folder: Path, exercises: list[str]) -> tuple[float, float, float, str]:
    """``(wall seconds, seconds in the checks, grader peak GB, TOTAL line)`` of one grading of the reference."""
    arguments = [a for name in exercises for a in ("--exercise", name)]
    command = [sys.executable, "-m", "grader", "grade", str(folder / "solutions"), *arguments]
    environ = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=environ)
    peak = 0
    while process.poll() is None:
        peak = max(peak, grader_rss(process.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    output = process.stdout.read()
    in_checks = [float(m) for m in CHECKS_SECONDS.findall(output)]
    total = next((line for line in output.splitlines() if line.startswith("TOTAL")), output[-200:])
    return wall, in_checks[-1] if in_checks else float("nan"), peak / 2**30, " ".join(total.split())


def grader_rss(pid: int) -> int:
    """The largest resident memory among the grading processes under ``pid`` (itself included): the ones
    that hold the checks, not the workers, the judge or the zygote (which run from the grader's runtime copy)."""
    largest = 0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        try:
            if any("/runtime/" in part for part in process.cmdline()):
                continue
            largest = max(largest, process.memory_info().rss)
        except psutil.Error:
            continue
    return largest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercise", action="append", choices=EXERCISES, help="only these (repeatable)")
    parser.add_argument("--baseline", help="a commit to measure the same way, for comparison")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each; the fastest is reported")
    args = parser.parse_args(argv)
    runs = [[name] for name in (args.exercise or EXERCISES)]
    if not args.exercise:
        runs.append(list(EXERCISES))
    with tempfile.TemporaryDirectory(prefix="baseline-") as scratch:
        folders = {"this checkout": ROOT}
        if args.baseline:
            folders[args.baseline] = baseline_copy(args.baseline, Path(scratch))
        print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"{'code':<16}{'exercises':<14}{'wall s':>8}{'checks s':>10}{'grader GB':>11}   result")
        for exercises in runs:
            shown = exercises[0] if len(exercises) == 1 else "all seven"
            for label, folder in folders.items():
                wall, checks, peak, total = min((graded(folder, exercises) for _ in range(args.repeats)),
                                                key=lambda row: row[0])
                print(f"{label:<16}{shown:<14}{wall:>8.1f}{checks:>10.1f}{peak:>11.2f}   {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
