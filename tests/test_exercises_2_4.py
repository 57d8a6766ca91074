"""Project tests of exercises 2-4 beyond their mutants: the training demo runs."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_training_quick_runs():
    """`python -m lab.demo_training --quick` trains every model once and prints every figure."""
    run = subprocess.run([sys.executable, "-m", "lab.demo_training", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"MNIST convnet .* test accuracy \d+\.\d%", run.stdout), run.stdout
    for model in ("plain", "augmentation \\+ dropout 0.5"):
        assert re.search(rf"^{model} +1 +[\d.]+% +[\d.]+% +[+-][\d.]+%", run.stdout, re.MULTILINE), run.stdout
