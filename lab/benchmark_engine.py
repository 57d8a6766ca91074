"""Times a grading run on the isolated engine against the old in-process one.

Usage::

    python -m lab.benchmark_engine [--baseline f54393d] [--target solutions] [--repeats 1]

Runs ``pytest checks --target=TARGET`` and ``pytest checks/test_conv.py
--target=TARGET`` (wall time, TensorFlow import included) in this checkout,
where every call into the learner's code runs in a fenced worker process, and
in a copy of the ``--baseline`` commit (the last one whose engine imported
the learner's module into the process holding the checks), on the same
machine, one after the other. Prints one row per run and the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import ROOT

BASELINE = "f54393d"  # "results: drop an unused table_lines flag": the in-process engine


def timed_run(folder: Path, arguments: list[str]) -> tuple[float, str]:
    """Seconds of wall time of ``pytest ARGUMENTS`` in ``folder``, and its last line."""
    environ = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pytest", *arguments, "-q", "-p", "no:cacheprovider",
                          "-W", "ignore::UserWarning"], cwd=folder, capture_output=True, text=True, env=environ)
    seconds = time.perf_counter() - start
    lines = run.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else run.stderr[-200:]


def baseline_copy(commit: str, into: Path) -> Path:
    """The tree of ``commit``, unpacked from this repository into ``into``."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"commit of the in-process engine (default {BASELINE})")
    parser.add_argument("--target", default="solutions")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each; the best is reported")
    args = parser.parse_args(argv)
    runs = {"all checks": ["checks", f"--target={args.target}"],
            "exercise 1 (conv)": ["checks/test_conv.py", f"--target={args.target}"]}
    with tempfile.TemporaryDirectory(prefix="baseline-") as scratch:
        old = baseline_copy(args.baseline, Path(scratch))
        print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; baseline {args.baseline} in {old}")
        print(f"{'run':<20}{'in-process s':>14}{'isolated s':>12}{'ratio':>8}")
        for name, arguments in runs.items():
            before = min(timed_run(old, arguments)[0] for _ in range(args.repeats))
            results = [timed_run(ROOT, arguments) for _ in range(args.repeats)]
            after = min(seconds for seconds, _ in results)
            print(f"{name:<20}{before:>14.1f}{after:>12.1f}{after / before:>7.2f}x   ({results[-1][1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
