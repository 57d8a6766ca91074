"""Shared helpers of the project's own tests: running the graded checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class GradingRun:
    returncode: int
    output: str
    classroom: dict
    gradescope: dict

    def statuses(self) -> dict[str, str]:
        """Check name -> status as the classroom file reports it."""
        return {t["name"]: t["status"] for t in self.classroom["tests"]}

    def messages(self) -> dict[str, str]:
        return {t["name"]: t["message"] or "" for t in self.classroom["tests"]}


def run_checks(target, tmp_path: Path, *args: str, timeout: float = 900) -> GradingRun:
    """Runs ``pytest checks`` on ``target`` in a subprocess, as a student would."""
    classroom, gradescope = tmp_path / "classroom.json", tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    command = [
        sys.executable, "-m", "pytest", *(args or ("checks",)), f"--target={target}",
        f"--classroom-json={classroom}", f"--gradescope-json={gradescope}", "-p", "no:cacheprovider",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    read = lambda p: json.loads(p.read_text()) if p.exists() else {}
    return GradingRun(run.returncode, run.stdout + run.stderr, read(classroom), read(gradescope))


@pytest.fixture
def grade(tmp_path):
    """``grade(target, *pytest_args)`` runs the checks and returns a ``GradingRun``."""
    return lambda target, *args, **kwargs: run_checks(target, tmp_path, *args, **kwargs)
