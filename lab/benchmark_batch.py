"""Throughput of batch re-grading, and the memory one submission's grading takes.

Usage::

    python -m lab.benchmark_batch [--submissions 8] [--jobs 1 2]

Builds a batch of whole-course submissions, as a class would hand them in
(the reference with one realistic bug in one exercise each, cycling through
the exercises; every fourth one the untouched stubs), grades it with
``python -m grader grade BATCH --out DIR --jobs N --force`` for each N, and
prints submissions graded per minute (wall time of the whole command, runner
start-up included). It then grades the reference alone in one runner and
samples the memory of the runner and everything below it (its workers
and zygote; proportional set size, so that pages a forked worker shares
are not counted twice) every 0.1 s: the peak is what one grading needs.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.course import EXERCISES, ROOT
from grader.engine.workers import descendants_of
from grader.runner.client import RunnerProcess


def build_batch(folder: Path, count: int) -> None:
    """``count`` whole-course submissions under ``folder``."""
    sys.path.insert(0, str(ROOT))
    from tests.mutants import all_mutants

    solutions = {name: (ROOT / "solutions" / f"{name}.py").read_text() for name in EXERCISES}
    stubs = {name: (ROOT / "exercises" / f"{name}.py").read_text() for name in EXERCISES}
    by_exercise = {name: [m for e, m in all_mutants() if e == name and m.check_timeout is None] for name in EXERCISES}
    for index in range(count):
        modules = dict(stubs) if index % 4 == 3 else dict(solutions)
        if index % 4 != 3:
            exercise = EXERCISES[index % len(EXERCISES)]
            mutant = by_exercise[exercise][index % len(by_exercise[exercise])]
            modules[exercise] = mutant.apply(solutions[exercise])
        for name, text in modules.items():
            path = folder / f"student-{index:02d}" / "exercises" / f"{name}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def throughput(batch: Path, out: Path, jobs: int) -> float:
    """Submissions per minute of ``grade BATCH --out OUT --jobs JOBS --force``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "grade", str(batch), "--out", str(out), "--jobs", str(jobs),
                    "--force", "--no-progress"], cwd=ROOT, check=False, capture_output=True)
    minutes = (time.perf_counter() - started) / 60
    return len([p for p in batch.iterdir() if p.is_dir()]) / minutes


def peak_memory_of_one_grading() -> tuple[float, float]:
    """(peak GB (PSS) of a runner and all below it while grading the reference, seconds it took)."""
    runner = RunnerProcess()
    modules = {name: base64.b64encode((ROOT / "solutions" / f"{name}.py").read_bytes()).decode()
               for name in EXERCISES}
    runner.grade({"id": "warm-up", "modules": modules, "exercises": ["conv"], "options": {}}, 600)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_rss(pid) for pid in [runner.process.pid, *descendants_of(runner.process.pid)]))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    runner.grade({"id": "reference", "modules": modules, "exercises": list(EXERCISES), "options": {}}, 1800)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    runner.stop()
    return peak[0] / 2**30, seconds


def _rss(pid: int) -> int:
    """Bytes of memory ``pid`` holds, its pages shared with other processes (forked workers) counted in part."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark_batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="benchmark-batch-") as scratch:
        batch = Path(scratch) / "batch"
        build_batch(batch, args.submissions)
        print(f"{args.submissions} whole-course submissions (7 exercises each)")
        for jobs in args.jobs:
            rate = throughput(batch, Path(scratch) / "out", jobs)
            print(f"--jobs {jobs}: {rate:.2f} submissions per minute ({60 / rate:.1f} s each)", flush=True)
    gigabytes, seconds = peak_memory_of_one_grading()
    print(f"one reference submission, all 7 exercises, in a warm runner: {seconds:.1f} s, "
          f"peak memory (PSS) of the runner and its workers {gigabytes:.2f} GB")


if __name__ == "__main__":
    main()
