"""``python -m grader gradescope``: the autograder zip, unpacked into Gradescope's layout (moved by
AUTOGRADER_ROOT) and run on the reference, the stubs, a partial, a broken and a hostile submission."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.instructor import stubgen
from tests.conftest import ROOT

try:
    import tomllib  # novermin: Python 3.11+, tomli below
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

REFERENCE = (ROOT / "solutions" / "conv.py").read_text()
STUB = stubgen.make_stub(REFERENCE, "conv")
MEAN_POOL = REFERENCE.replace(".max(axis=(3, 4))", ".mean(axis=(3, 4))")  # pools by the mean: a classic slip
CONV_CHECKS = 14
CONV_POINTS = 25.0

# Where setup.sh must check each dependency of pyproject.toml: distribution -> module.
IMPORT_NAMES = {"tensorflow-cpu": "tensorflow", "tensorflow": "tensorflow", "keras": "keras", "numpy": "numpy",
                "matplotlib": "matplotlib", "pillow": "PIL", "pytest": "pytest", "pytest-timeout": "pytest_timeout",
                "hypothesis": "hypothesis", "exceptiongroup": "exceptiongroup", "tqdm": "tqdm",
                "watchfiles": "watchfiles", "psutil": "psutil", "tomli": "tomli"}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    """The zip an instructor uploads, built for exercise 1 only (one run takes seconds, not a minute)."""
    dest = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    run = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(dest), "--exercise", "conv"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return dest


def unpack(archive: Path, into: Path) -> None:
    """Unzips as Gradescope does, keeping the modes the zip stores (``unzip`` does; ``extractall`` does not)."""
    with zipfile.ZipFile(archive) as zipped:
        for entry in zipped.infolist():
            path = Path(zipped.extract(entry, into))
            mode = (entry.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def lay_out(autograder_zip: Path, root: Path, submission: dict[str, str]) -> None:
    """Lays out ``root`` as Gradescope lays out /autograder: source/ (the zip), submission/, run_autograder."""
    unpack(autograder_zip, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    (root / "submission").mkdir()
    for relative, text in submission.items():
        (root / "submission" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / relative).write_text(text)


def run_autograder(root: Path, timeout=180, prefix=()):
    """Runs ``root/run_autograder`` with this interpreter's python3 first on PATH (after ``prefix``'s command).

    Returns:
        The finished process and results.json, read.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKS_", "PYTEST_")) and k != "PYTHONPATH"}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    environ["AUTOGRADER_ROOT"] = str(root)
    run = subprocess.run([*prefix, str(root / "run_autograder")], cwd=root, capture_output=True, text=True, timeout=timeout,
                         env=environ)
    results = root / "results" / "results.json"
    assert results.is_file(), run.stdout[-3000:] + run.stderr[-2000:]
    return run, json.loads(results.read_text())


def autograde(autograder_zip: Path, root: Path, submission: dict[str, str]):
    """Grades ``submission`` (path -> text) as Gradescope would; returns the process and results.json."""
    lay_out(autograder_zip, root, submission)
    return run_autograder(root)


def statuses(results: dict) -> list[str]:
    return [test["status"] for test in results["tests"]]


def test_zip_holds_the_course_without_solutions_tests_or_stubs(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        entries = {entry.filename: entry for entry in zipped.infolist()}
        options = zipped.read("grade-options").decode()
    names = set(entries)
    assert {"setup.sh", "run_autograder", "grade-options", "course.toml", "pyproject.toml", "README.md"} <= names
    assert "checks/test_conv.py" in names and "grader/engine/plugin.py" in names and "data/mnist_5k.npz" in names
    for forbidden in ("solutions/", "tests/", "exercises/", "lab/", ".ci/", "data/convert.py"):
        assert not [name for name in names if name.startswith(forbidden)], forbidden
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(entries[script].external_attr >> 16) == 0o755
    assert options == "--exercise\nconv\n"


def test_zip_never_overwrites_and_keeps_a_secret_seed_private(autograder_zip, tmp_path):
    before = autograder_zip.read_bytes()
    run = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(autograder_zip)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "exists" in run.stderr and autograder_zip.read_bytes() == before
    seed = tmp_path / "seed"
    seed.write_text("course-2026-secret\n")
    seeded = tmp_path / "seeded.zip"
    run = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(seeded), "--grading-seed-file", str(seed),
                          "--check-timeout", "90", "--run-timeout", "600"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(seeded) as zipped:
        assert zipped.read("grading-seed") == b"course-2026-secret\n"
        assert stat.S_IMODE(zipped.getinfo("grading-seed").external_attr >> 16) == 0o600
        assert zipped.read("grade-options") == b"--check-timeout\n90\n--run-timeout\n600\n"
    assert "--grading-seed-file" in (ROOT / "grader" / "instructor" / "autograder" / "run_autograder").read_text()


def test_setup_script_is_valid_bash_and_checks_every_dependency():
    setup = ROOT / "grader" / "instructor" / "autograder" / "setup.sh"
    for script in (setup, ROOT / "grader" / "instructor" / "autograder" / "run_autograder"):
        syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
    text = setup.read_text()
    imported = {name.strip() for names in re.findall(r"^\s*import ([\w, ]+)", text, re.M) for name in names.split(",")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dependency in project["dependencies"] + project["optional-dependencies"]["tensorflow"]:
        name = re.match(r"[A-Za-z0-9_.-]+", dependency).group(0).lower()
        assert IMPORT_NAMES.get(name) in imported, f"setup.sh does not check {name}"
    assert 'pip install --no-cache-dir "$root/source[tensorflow]"' in text  # pyproject.toml's list and TensorFlow
    assert "python3-venv" in text


def test_reference_earns_full_marks(autograder_zip, tmp_path):
    run, results = autograde(autograder_zip, tmp_path, {"conv.py": REFERENCE})
    assert (results["score"], results["max_score"]) == (CONV_POINTS, CONV_POINTS), run.stdout[-2000:]
    assert statuses(results) == ["passed"] * CONV_CHECKS
    assert sum(test["max_score"] for test in results["tests"]) == CONV_POINTS
    assert run.returncode == 0


def test_partial_submission_earns_the_checks_it_passes(autograder_zip, tmp_path):
    # A zip of a folder, made on a Mac: Gradescope unpacks it with its top folder and macOS' __MACOSX/.
    upload = {"my-work/conv.py": MEAN_POOL, "__MACOSX/my-work/._conv.py": "resource fork"}
    run, results = autograde(autograder_zip, tmp_path, upload)
    failed = {test["number"]: test["max_score"] for test in results["tests"] if test["status"] == "failed"}
    # The two checks of max_pool2d's values (by hand, against MaxPooling2D); the NumPy-only check passes: a wrong
    # pooling costs the checks about pooling only.
    assert failed == {"1.12": 1.0, "1.13": 3.0}, run.stdout[-3000:]
    assert (results["score"], results["max_score"]) == (21.0, CONV_POINTS)
    assert results["score"] == sum(test["score"] for test in results["tests"])


def test_syntax_error_fails_every_check_and_says_why(autograder_zip, tmp_path):
    run, results = autograde(autograder_zip, tmp_path, {"conv.py": REFERENCE.replace("def conv2d(", "def conv2d((")})
    assert (results["score"], results["max_score"]) == (0.0, CONV_POINTS), run.stdout[-2000:]
    assert statuses(results) == ["failed"] * CONV_CHECKS
    assert "SyntaxError" in json.dumps(results)


def test_stubs_in_a_hostile_repository_earn_nothing(autograder_zip, tmp_path):
    """The untouched stubs, beside a root conftest.py that passes every check and a checks/test_conv.py of their
    own: neither is read, so every check reads "not started"."""
    hostile = {
        "conftest.py": "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                       "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
        "checks/test_conv.py": "def test_conv():\n    pass\n",
        "exercises/conv.py": STUB,
        "exercises/__init__.py": "",
    }
    run, results = autograde(autograder_zip, tmp_path, hostile)
    assert (results["score"], results["max_score"]) == (0.0, CONV_POINTS), run.stdout[-2000:]
    assert statuses(results) == ["failed"] * CONV_CHECKS
    assert all(test["output"].startswith("not started") for test in results["tests"])
    with zipfile.ZipFile(autograder_zip) as zipped:
        assert (tmp_path / "source" / "checks" / "test_conv.py").read_bytes() == zipped.read("checks/test_conv.py")


def test_results_are_written_when_grading_cannot_start(autograder_zip, tmp_path):
    """A broken grader (here: its plugin raises on import) still leaves a zero that says so, never a stale grade."""
    lay_out(autograder_zip, tmp_path, {"conv.py": REFERENCE})
    (tmp_path / "source" / "grader" / "engine" / "plugin.py").write_text("raise RuntimeError('the plugin is broken')\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text('{"score": 25.0}')  # a previous run's grade must not stand
    run, results = run_autograder(tmp_path)
    assert run.returncode == 0
    assert results["score"] == 0.0
    assert statuses(results) == ["failed"]
    assert "could not grade" in results["output"] and "the plugin is broken" in results["output"]


def test_results_are_written_for_a_submission_that_cannot_be_read(autograder_zip, tmp_path):
    lay_out(autograder_zip, tmp_path, {})
    (tmp_path / "submission").rmdir()
    (tmp_path / "submission").write_text("not a folder, not a zip")
    run, results = run_autograder(tmp_path)
    assert (results["score"], results["max_score"]) == (0.0, CONV_POINTS) and statuses(results) == ["failed"]
    # Written by the grader itself (python -m grader grade exits 2), in the learner's words.
    assert "your submission could not be read" in results["output"] and "not a folder or a .zip" in results["output"]
    assert "exited with status 2" in run.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Landlock and seccomp are Linux's")
def test_a_zip_built_to_require_the_fence_grades_zero_with_the_reason_where_it_does_not_hold(tmp_path):
    """``--require-fence``: on a machine without Landlock the reference earns 0 and results.json says why."""
    from grader.remote import fence

    strict = tmp_path / "strict.zip"
    built = subprocess.run([sys.executable, "-m", "grader", "gradescope", str(strict), "--exercise", "conv",
                            "--require-fence"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0 and "only where the fence holds" in built.stdout, built.stdout + built.stderr
    with zipfile.ZipFile(strict) as zipped:
        assert zipped.read("grade-options") == b"--exercise\nconv\n--require-fence\n"
    lay_out(strict, tmp_path / "without", {"conv.py": REFERENCE})
    machine_without = [sys.executable, str(ROOT / "tests" / "machine_without.py"), "--deny", "landlock_create_ruleset",
                       "--"]
    run, results = run_autograder(tmp_path / "without", prefix=machine_without)
    assert results["score"] == 0, run.stdout[-3000:]
    assert "requires a fence this machine did not give: filesystem" in results["output"], results["output"][:2000]
    assert results["extra_data"]["fence"]["filesystem"] is None
    if fence.landlock_abi():
        lay_out(strict, tmp_path / "with", {"conv.py": REFERENCE})
        run, results = run_autograder(tmp_path / "with")
        assert results["score"] == CONV_POINTS, run.stdout[-3000:]
