#!/usr/bin/env bash
# Gradescope runs this once, as root in /autograder/source, when it builds the
# autograder's image (base image Ubuntu 22.04, whose python3 is 3.10; the course
# runs on Python 3.10 or newer).
#
# It installs Python and the course's dependencies from PyPI into /autograder/venv:
# TensorFlow (CPU), Keras 3, NumPy, Matplotlib, Pillow, pytest, pytest-timeout and
# Hypothesis, tqdm, watchfiles and psutil (the list is pyproject.toml's; exceptiongroup and tomli too on
# Python 3.10).
# Grading itself never downloads anything.
set -euo pipefail

root="${AUTOGRADER_ROOT:-/autograder}"
cd "$root/source"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates

python3 -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --no-cache-dir --upgrade pip
# The project itself installs no package: this pulls in pyproject.toml's dependencies and TensorFlow's CPU build.
"$root/venv/bin/python" -m pip install --no-cache-dir "$root/source[tensorflow]"

# Fail the build here, not at the first submission, if anything is missing.
"$root/venv/bin/python" - <<'PYTHON'
import sys

import hypothesis, keras, matplotlib, numpy, PIL, psutil, pytest, pytest_timeout, tensorflow, tqdm, watchfiles  # noqa: F401, E401

if sys.version_info < (3, 11):
    import exceptiongroup, tomli  # noqa: F401, E401
print(f"Python {sys.version.split()[0]}, TensorFlow {tensorflow.__version__}, Keras {keras.__version__}, "
      f"NumPy {numpy.__version__}: ready")
PYTHON

# What this machine lets the grader enforce on student code (Landlock, namespaces, seccomp).
"$root/venv/bin/python" -m grader fence || echo "note: python -m grader fence could not probe this machine"
