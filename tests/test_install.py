"""Installing the course: TensorFlow only where it is asked for, so that one already there is never replaced.

pip reads this checkout's ``pyproject.toml`` (``pip install --dry-run``,
offline); its requirements' markers are then evaluated for each platform a
learner uses.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
TENSORFLOW_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly",
                            "tensorflow-gpu"}
PLATFORMS = {  # PEP 508 environment markers of the machines learners use
    "linux-x86_64": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "windows": {"sys_platform": "win32", "platform_machine": "AMD64"},
    "macos-arm64": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "macos-x86_64": {"sys_platform": "darwin", "platform_machine": "x86_64"},
}
EXPECTED = {"linux-x86_64": "tensorflow-cpu", "linux-aarch64": "tensorflow", "windows": "tensorflow-cpu",
            "macos-arm64": "tensorflow", "macos-x86_64": "tensorflow"}  # tensorflow-cpu has no macOS wheels


@pytest.fixture(scope="module")
def requires_dist() -> list[Requirement]:
    """The project's requirements as pip reads them from this checkout (its metadata, built offline)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation", "--no-deps",
         "--disable-pip-version-check", "--quiet", "--report", "-", "-e", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    project = next(item for item in json.loads(done.stdout)["install"]
                   if item["metadata"]["name"] == "convnet-exercises")
    return [Requirement(text) for text in project["metadata"]["requires_dist"]]


def tensorflow_asked(requirements: list[Requirement], platform: str, extra: str) -> list[str]:
    environment = {**PLATFORMS[platform], "extra": extra}
    return [r.name.lower() for r in requirements
            if r.name.lower() in TENSORFLOW_DISTRIBUTIONS and (r.marker is None or r.marker.evaluate(environment))]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_plain_install_adds_no_tensorflow_so_one_already_there_stays_alone(requires_dist, platform):
    """Colab, a GPU build: `pip install -e .` keeps the TensorFlow there (two builds would share tensorflow/)."""
    assert tensorflow_asked(requires_dist, platform, "") == []


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_tensorflow_extra_adds_exactly_one_build(requires_dist, platform):
    """A fresh machine: `pip install -e ".[tensorflow]"` asks for one TensorFlow distribution, one that has wheels."""
    assert tensorflow_asked(requires_dist, platform, "tensorflow") == [EXPECTED[platform]]


def test_without_tensorflow_the_checks_say_how_to_install_it(tmp_path):
    """Installed without the extra on a machine that has no TensorFlow: one line saying what to run, no traceback."""
    code = ("import sys; sys.modules['tensorflow'] = None; import pytest; "
            "sys.exit(pytest.main(['checks/test_conv.py', '--target=solutions', '-p', 'no:cacheprovider', '-q']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert 'pip install -e ".[tensorflow]"' in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
