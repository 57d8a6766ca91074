"""Times the checks of one exercise on the reference, start-up and collection left out.

Usage::

    python -m lab.benchmark_checks --exercise transfer [--baseline COMMIT] [--repeats 3]

Runs ``pytest checks/test_NAME.py --target=solutions --durations=0`` and adds
up what pytest's ``--durations`` reports (each check's setup, call and
teardown): the time the checks themselves take, without Python's start,
TensorFlow's import and collection, which ``python -m lab.benchmark_grading``
counts. With ``--baseline``, the same run in a copy of that commit comes
right after each run here (this machine's speed drifts by a third from one
minute to the next, so the two are compared pair by pair).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.course import EXERCISES, ROOT
from lab.benchmark_engine import baseline_copy

DURATION = re.compile(r"^([0-9.]+)s (?:setup|call|teardown) ", re.MULTILINE)
SUMMARY = re.compile(r"^=*\s*(.*(?:passed|failed).*?)\s*=*$", re.MULTILINE)


def checks_seconds(folder: Path, exercise: str) -> tuple[float, str]:
    """``(sum of the checks' durations, pytest's summary line)`` of one run in ``folder``."""
    environ = {k: v for k, v in os.environ.items() if k not in ("CHECKS_TARGET", "PYTEST_ADDOPTS")}
    done = subprocess.run([sys.executable, "-m", "pytest", f"checks/test_{exercise}.py", "--target=solutions",
                           "--durations=0", "-q", "-p", "no:cacheprovider"],
                          cwd=folder, capture_output=True, text=True, env=environ)
    summaries = SUMMARY.findall(done.stdout)
    return sum(float(seconds) for seconds in DURATION.findall(done.stdout)), summaries[-1] if summaries else "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercise", required=True, choices=EXERCISES)
    parser.add_argument("--baseline", help="a commit to measure the same way, run by run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="baseline-") as scratch:
        folders = {"this checkout": ROOT}
        if args.baseline:
            folders[args.baseline] = baseline_copy(args.baseline, Path(scratch))
        print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; checks/test_{args.exercise}.py, reference")
        seconds: dict[str, list[float]] = {label: [] for label in folders}
        for run in range(1, args.repeats + 1):
            for label, folder in folders.items():
                spent, summary = checks_seconds(folder, args.exercise)
                seconds[label].append(spent)
                print(f"run {run}  {label:<16}{spent:>7.2f} s   ({summary})", flush=True)
        for label, values in seconds.items():
            print(f"{label:<16} min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
                  f"max {max(values):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
