"""What runs only on Linux (or only on POSIX) is guarded so that a type checker of another platform sees it.

``mypy --platform win32`` and ``--platform darwin`` over ``grader/`` and
``checks/`` must report nothing that the Linux run does not: a call of
``os.fork``, ``signal.SIGALRM``, ``socket.send_fds``, ``os.getsid`` and the like
sits behind ``sys.platform`` where mypy reads it. (The Linux run's own
findings, untyped code's, are not the subject here.)
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def findings(platform: str, cache: Path) -> set[str]:
    """mypy's errors for ``platform``, without line numbers (guards move lines)."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--platform", platform, "--check-untyped-defs",
                           "--ignore-missing-imports", "--no-error-summary", "--cache-dir", str(cache),
                           "grader", "checks"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    return {re.sub(r"^([^:]+):\d+:", r"\1:", line) for line in done.stdout.splitlines() if ": error:" in line}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def on_linux(cache) -> set[str]:
    return findings("linux", cache)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_no_platform_finds_what_linux_does_not(platform, cache, on_linux):
    other = findings(platform, cache)
    assert not other - on_linux, "\n".join(sorted(other - on_linux))


def test_the_smoke_workflow_installs_as_the_readme_says_and_runs_the_smoke_script():
    """``.github/workflows/learner-smoke.yml`` cannot run here: its install and its command are the tested ones."""
    workflow = (ROOT / ".github" / "workflows" / "learner-smoke.yml").read_text()
    assert 'python -m pip install -e ".[tensorflow]"' in workflow
    assert "run: python -m lab.learner_smoke" in workflow
    assert "os: [ubuntu-latest, macos-latest, windows-latest]" in workflow
    assert (ROOT / "lab" / "learner_smoke.py").is_file()
