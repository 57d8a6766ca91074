"""The learner's path in a few minutes, on whatever machine runs it: the smoke test of every platform's CI.

    python -m lab.learner_smoke

1. the stubs of exercise 1 read "not started";
2. the reference earns full marks on conv and curves (``pytest checks``, as a learner runs it);
3. an endless loop in a learner's function times out within its check's limit, and no process of the run
   is left behind.

Prints each step; exits 1 at the first that fails. ``.github/workflows/learner-smoke.yml`` runs it on
GitHub's Linux, macOS and Windows machines (it cannot run from here; it ran here on Linux by hand).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ENDLESS = "def conv_output_length(input_length, kernel_size, padding='valid', stride=1):\n    while True:\n        pass\n"
CHECK_SECONDS = 5


def learner_pytest(*arguments: str, temporary: Path) -> tuple[str, float]:
    """``python -m pytest ARGUMENTS`` from the course root, its temporary files in ``temporary``."""
    environ = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    environ["TMPDIR"] = environ["TEMP"] = environ["TMP"] = str(temporary)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", *arguments, "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env=environ)
    return done.stdout + done.stderr, time.monotonic() - started


def left_behind(temporary: Path) -> list[str]:
    """Processes still running whose command line names the run's temporary folder (its workers')."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if str(temporary) in command:
            found.append(f"{process.info['pid']}: {command[:200]}")
    return found


def step(name: str, passed: bool, output: str) -> None:
    print(f"{'ok  ' if passed else 'FAIL'} {name}", flush=True)
    if not passed:
        print(output[-4000:])
        sys.exit(1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="learner-smoke-", ignore_cleanup_errors=True) as scratch:
        scratch_path = Path(scratch)
        output, _ = learner_pytest("checks/test_conv.py", temporary=scratch_path)
        step("the stubs of exercise 1 read 'not started'",
             re.search(r"1\. conv\s+0\s+0\s+14\s+0 / 25", output) is not None, output)

        output, _ = learner_pytest("checks/test_conv.py", "checks/test_curves.py", "--target=solutions",
                                   "--show-fence", temporary=scratch_path)
        step("the reference earns full marks on conv and curves", "38 / 38" in output, output)
        print("     " + next((line for line in output.splitlines() if line.startswith("Fence (")), "no fence line"))

        looping = scratch_path / "looping"
        looping.mkdir()
        (looping / "conv.py").write_text((ROOT / "solutions" / "conv.py").read_text() + "\n\n" + ENDLESS)
        output, seconds = learner_pytest("checks/test_conv.py", f"--target={looping}", "-k",
                                         "output_length_by_hand", f"--check-timeout={CHECK_SECONDS}",
                                         temporary=scratch_path)
        step(f"an endless loop times out ({seconds:.1f} s for a {CHECK_SECONDS} s limit)",
             f"timed out after {CHECK_SECONDS} s" in output and "0 / 1" in output and seconds < 60, output)
        time.sleep(1)
        leftovers = left_behind(scratch_path)
        step("no process of the runs is left", not leftovers, "\n".join(leftovers))


if __name__ == "__main__":
    main()
