"""The learner's path (``pytest checks``) on Linux machines that give the fence less than this one.

Each run goes through ``tests/machine_without.py``: every capability dropped
(uid 0 then gets namespaces only through a user namespace, as a user without
root does), and ``mount`` or ``unshare`` refused by a seccomp filter on the
run's whole process tree (AppArmor's restriction of user namespaces on Ubuntu
23.10 and later; Docker without CAP_SYS_ADMIN). The reference earns full
marks, stubs read "not started", and the fence line says what held.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MACHINE_WITHOUT = ROOT / "tests" / "machine_without.py"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux namespaces and seccomp")


def learner_run(tmp_path, refused: list[str], target: str, *check_files: str) -> tuple[str, dict]:
    """``pytest CHECK_FILES --target=TARGET --show-fence`` under ``machine_without.py --capabilities REFUSED``."""
    classroom = tmp_path / f"classroom-{target}.json"
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    done = subprocess.run(
        [sys.executable, str(MACHINE_WITHOUT), "--capabilities", *refused, "--",
         sys.executable, "-m", "pytest", *check_files, f"--target={target}", "--show-fence",
         f"--classroom-json={classroom}", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    statuses = {t["name"]: t["status"] for t in json.loads(classroom.read_text())["tests"]} if classroom.exists() else {}
    return done.stdout + done.stderr, statuses


def fence_line(output: str) -> str:
    return next((line for line in output.splitlines() if line.startswith("Fence (")), "")


@pytest.mark.parametrize("refused, held, not_tried", [
    ([], "project read-only", []),
    (["--deny", "mount"], "project not mounted read-only", ["mount namespace: not tried"]),
], ids=["user-namespaces", "mounts-refused"])
def test_the_reference_earns_full_marks_without_root(tmp_path, refused, held, not_tried):
    """Without root, with or without mounts in a user namespace: full marks, and the fence says what held."""
    output, statuses = learner_run(tmp_path, refused, "solutions", "checks/test_conv.py", "checks/test_curves.py")
    assert statuses and set(statuses.values()) == {"pass"}, output[-3000:]
    assert "38 / 38" in output, output[-3000:]
    line = fence_line(output)
    assert held in line and "no network (namespace)" in line, line
    for problem in not_tried:
        assert problem in line, line


def test_without_namespaces_every_exercise_runs_and_stubs_are_not_started(tmp_path):
    """No namespaces at all: none is retried per worker, and reading a folder of images (a thread pool's
    locks, without a /dev/shm of the worker's own) still works: convnet's make_datasets lost 8 points here."""
    output, statuses = learner_run(tmp_path, ["--deny", "unshare"], "solutions",
                                   "checks/test_conv.py", "checks/test_convnet.py")
    assert statuses and set(statuses.values()) == {"pass"}, output[-3000:]
    line = fence_line(output)
    assert "network namespace: not tried" in line and "mount namespace: not tried" in line, line
    output, _ = learner_run(tmp_path, ["--deny", "unshare"], "exercises", "checks/test_conv.py")
    assert re.search(r"1\. conv\s+0\s+0\s+14\s+0 / 25", output), output[-3000:]


WITHOUT_POSIX = ROOT / "tests" / "without_posix.py"


def run_without_posix(temporary: Path, *arguments: str) -> str:
    """``pytest ARGUMENTS`` with the POSIX-only pieces taken away (``tests/without_posix.py``)."""
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    env["TMPDIR"] = str(temporary)
    done = subprocess.run([sys.executable, str(WITHOUT_POSIX), "-m", "pytest", *arguments, "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    return done.stdout + done.stderr


def test_without_the_posix_only_pieces_the_learners_path_holds(tmp_path):
    """No fork, SIGALRM, sessions, fd passing or select on pipes (Windows lacks them): workers connect back
    over loopback; full marks on conv, mnist and curves, stubs not started, an endless loop times out, and
    nothing is left running."""
    from lab.learner_smoke import ENDLESS, left_behind

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    output = run_without_posix(temporary, "checks/test_conv.py")
    assert re.search(r"1\. conv\s+0\s+0\s+14\s+0 / 25", output), output[-3000:]
    output = run_without_posix(temporary, "checks/test_conv.py", "checks/test_mnist.py", "checks/test_curves.py",
                               "--target=solutions")
    assert "57 / 57" in output, output[-3000:]
    looping = tmp_path / "looping"
    looping.mkdir()
    (looping / "conv.py").write_text((ROOT / "solutions" / "conv.py").read_text() + "\n\n" + ENDLESS)
    output = run_without_posix(temporary, "checks/test_conv.py", f"--target={looping}", "-k", "output_length_by_hand",
                               "--check-timeout=5")
    assert "timed out after 5 s" in output, output[-3000:]
    assert not left_behind(temporary), left_behind(temporary)


def test_without_the_posix_only_pieces_the_notebooks_grade_works(tmp_path):
    """``grade()`` (the notebook's, and the watch's runner) without fd passing or select on pipes: the runner
    answers on its stdout, read by a thread."""
    env = {k: v for k, v in os.environ.items() if k != "CHECKS_TARGET"}
    env["TMPDIR"] = str(tmp_path)
    mine = tmp_path / "mine"  # a folder of its own: no grade kept from an earlier run (its .grader/ is beside it)
    mine.mkdir()
    (mine / "conv.py").write_text((ROOT / "solutions" / "conv.py").read_text())
    code = (f"from grader import grade; r = grade('conv', target={str(mine)!r}); "
            "print('GRADED', r.score, r.max_score, r.seconds)")
    done = subprocess.run([sys.executable, str(WITHOUT_POSIX), "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    assert "GRADED 25.0 25.0" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
