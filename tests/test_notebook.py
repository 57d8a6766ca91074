"""The example notebook, ``notebooks/chapter5.ipynb``, run as a learner runs it.

The reference run executes every cell with ``CHECKS_TARGET=solutions`` from the
repository root in a Jupyter kernel of this interpreter (a kernel spec written
to a temporary folder, so no ``ipykernel install`` is needed) and requires: no
cell fails, every cell tagged ``figure`` drew a PNG, and the cells tagged
``grade`` that it runs (``GRADED_IN_TEST``) show full marks as an HTML table.
The stub run starts the notebook from
``notebooks/`` on the untouched stubs and requires the one-line "not started
yet" message where the first stub is called, not a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs pip install -e '.[dev]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs pip install -e '.[dev]'")
pytest.importorskip("ipykernel", reason="the notebook test needs pip install -e '.[dev]'")

from grader import course  # noqa: E402
from tests.conftest import EXERCISE_MAX, ROOT  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "chapter5.ipynb"
# The grade cells the reference run executes. Grading is what costs most (seconds per grade cell
# on 2 cores shared with other work: conv 5-9 with the runner's start, mnist 5-10, dataset 7-12,
# convnet 8-10, transfer 29-43, curves 2-3, visualize 5-7), and tests/test_grading.py already grades the reference in full: here two cells
# show that grade() works from a kernel, on CHECKS_TARGET's folder, for plain functions and figures
# (grade() hands Keras models to the same runner as every batch; tests/test_mutants.py grades those).
# NOTEBOOK_GRADE_ALL=1 runs every grade cell (about 90 s more).
GRADED_IN_TEST = course.EXERCISES if os.environ.get("NOTEBOOK_GRADE_ALL") == "1" else ("conv", "curves")
CELL_TIMEOUT = 240  # seconds, per cell: the longest cells train for a few seconds, a grade cell grades one exercise
KERNEL_NAME = "convnet-course-python"


def kernel_manager(folder: Path, env: dict[str, str] | None = None, exec_lines: tuple[str, ...] = ()):
    """A kernel manager whose kernel is this interpreter, from a kernel spec in ``folder``.

    Args:
        folder: where the kernel spec and the connection file are written.
        env: environment variables the kernel starts with (the spec's ``env``).
        exec_lines: Python lines the kernel runs as it starts, before any cell.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 *(f"--IPKernelApp.exec_lines={line}" for line in exec_lines)],
        "display_name": "Python (course tests)",
        "language": "python",
        "env": env or {},
    }))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs,
                         connection_file=str(folder / "connection.json"))


def execute(notebook, tmp_path: Path, cwd: Path, **kernel):
    """Runs ``notebook`` in place; raises nbclient's CellExecutionError at the first failing cell.

    ``kernel`` goes to ``kernel_manager`` (``env``, ``exec_lines``).
    """
    client = nbclient.NotebookClient(
        notebook, km=kernel_manager(tmp_path, **kernel), timeout=CELL_TIMEOUT, startup_timeout=120,
        resources={"metadata": {"path": str(cwd)}}, record_timing=True,
    )
    client.execute()
    return notebook


def text_of(cell) -> str:
    """Everything a cell printed or displayed, as text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
        else:
            data = output.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(parts)


def seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    try:
        started = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        ended = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except KeyError:
        return 0.0
    return (ended - started).total_seconds()


def tagged(notebook, tag: str) -> list:
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def section_costs(notebook) -> dict[str, float]:
    """Seconds per section (the cell ids' prefix) and per grade cell."""
    costs: dict[str, float] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            key = cell.id if "grade" in cell.metadata.get("tags", []) else cell.id.split("-")[0]
            costs[key] = costs.get(key, 0.0) + seconds(cell)
    return costs


def test_committed_notebook_is_clean_and_generated():
    """Valid nbformat 4, no outputs, and exactly what notebooks/make_chapter5.py writes."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} has outputs: clear them"
    run = subprocess.run([sys.executable, str(ROOT / "notebooks" / "make_chapter5.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    grades = [cell.source for cell in tagged(notebook, "grade")]
    assert grades == [f'grade("{name}")' for name in course.EXERCISES], "one grade cell per exercise, in course order"
    figure_sections = {cell.id.split("-")[0] for cell in tagged(notebook, "figure")}
    assert figure_sections == set(course.EXERCISES), "every section draws a figure"


@pytest.mark.timeout(900)
def test_notebook_runs_on_the_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHECKS_TARGET", "solutions")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    grade_cells = dict(zip(course.EXERCISES, tagged(notebook, "grade")))
    for name, cell in grade_cells.items():
        if name not in GRADED_IN_TEST:
            cell.source = f"# {cell.source}: left out of this test (GRADED_IN_TEST)"
    started = time.perf_counter()
    execute(notebook, tmp_path, cwd=ROOT)
    wall = time.perf_counter() - started

    errors = [cell.id for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors, f"cells with errors: {errors}"
    text = "\n".join(text_of(cell) for cell in notebook.cells)
    assert "not started yet" not in text
    setup = next(cell for cell in notebook.cells if cell.id == "setup")
    assert str(ROOT / "solutions") in text_of(setup), "the setup cell must choose CHECKS_TARGET's folder"

    for cell in tagged(notebook, "figure"):
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert pictures, f"cell {cell.id} drew no figure"

    for name in GRADED_IN_TEST:
        cell = grade_cells[name]
        shown = text_of(cell)
        points = EXERCISE_MAX[name]
        full = re.search(rf"\b{points:g}\s*/\s*{points:g}(</b>)?\s+points", shown) and "Full marks" in shown
        assert full, f"grade({name!r}) on the reference should show {points:g} / {points:g}:\n{shown[:2000]}"
        assert any("text/html" in o.get("data", {}) for o in cell.outputs), f"grade({name!r}) shows no HTML table"

    with capsys.disabled():
        costs = section_costs(notebook)
        print(f"\nnotebook on the reference: {wall:.1f} s wall (kernel start included); seconds per part: "
              + ", ".join(f"{key} {value:.1f}" for key, value in costs.items()))


@pytest.mark.timeout(300)
def test_an_unwritten_stub_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    """From notebooks/, on the stubs: the first call of a stub stops with the short message."""
    monkeypatch.delenv("CHECKS_TARGET", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        execute(notebook, tmp_path, cwd=ROOT / "notebooks")
    ran = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.execution_count is not None]
    failed = ran[-1]
    assert failed.id == "conv-lengths", [cell.id for cell in ran]
    shown = text_of(failed)
    assert "not started yet: write `conv_output_length` in exercises/conv.py" in shown, shown
    assert "Traceback" not in shown and len(shown.splitlines()) <= 2, shown
    setup = next(cell for cell in ran if cell.id == "setup")
    assert str(ROOT / "exercises") in text_of(setup), "the setup cell must find the root from notebooks/"


def in_colab(tmp_path: Path) -> dict:
    """What makes a kernel look like Colab's to the notebook: ``google.colab`` imported before any cell.

    The stand-in's ``drive.mount`` fails: the tests keep the course outside ``/content/drive``.
    """
    package = tmp_path / "colab-stand-in" / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "drive.py").write_text("def mount(path):\n    raise AssertionError('Drive mounted in a test')\n")
    return {"env": {"PYTHONPATH": os.pathsep.join([str(package.parents[1]), os.environ.get("PYTHONPATH", "")])},
            "exec_lines": ("import google.colab",)}


def colab_notebook(repository: str, folder: Path, cells: tuple[str, ...]):
    """The notebook as a learner in Colab runs it: the ``colab`` cell filled in, then ``cells``."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.id: cell for cell in notebook.cells}
    colab = by_id["colab"]
    for name, value in (("COURSE_REPOSITORY", repository), ("COURSE_FOLDER", str(folder))):
        colab.source, replaced = re.subn(rf'^{name} = "[^"\n]*"', f"{name} = {value!r}", colab.source, flags=re.M)
        assert replaced == 1, f"the colab cell has no line {name} = \"...\""
    notebook.cells = [by_id[cell_id] for cell_id in ("colab", *cells)]
    return notebook


@pytest.mark.timeout(300)
def test_in_colab_the_notebook_fetches_the_course_and_grades_it(tmp_path, monkeypatch):
    """In a kernel that looks like Colab's, opened alone (no course around it), the colab cell clones
    the course into COURSE_FOLDER and moves there; the setup cells find it, and grade() grades the
    exercise written there with the clone's own grader.
    A folder that has files but no course is refused and left as it is."""
    if not (ROOT / ".git").exists():
        pytest.skip("the course is not a git repository here: nothing to clone")
    monkeypatch.delenv("CHECKS_TARGET", raising=False)
    opened_in = tmp_path / "content"  # Colab's working folder: no course above it
    opened_in.mkdir()
    course_folder = tmp_path / "drive" / "convnet-exercises"
    notebook = colab_notebook(str(ROOT), course_folder, ("setup", "helpers", "conv-grade"))
    # The learner writes exercise 1 in the clone (here: the reference), so that only the clone's grader,
    # grading the clone's exercises/, can give full marks (this checkout's exercises/ are the stubs).
    notebook.cells.insert(3, nbformat.v4.new_code_cell(
        'Path("exercises/conv.py").write_text(Path("solutions/conv.py").read_text())\n'
        'import grader; print("grader from", Path(grader.__file__).parent.parent)'))
    execute(notebook, tmp_path / "kernel", cwd=opened_in, **in_colab(tmp_path))

    colab, setup, _, written, grade_cell = notebook.cells
    assert f"the course is in {course_folder}" in text_of(colab), text_of(colab)
    assert (course_folder / "exercises" / "conv.py").is_file() and (course_folder / ".git").is_dir()
    assert f"repository: {course_folder}" in text_of(setup), text_of(setup)
    assert f"grader from {course_folder}" in text_of(written), text_of(written)
    shown = text_of(grade_cell)
    assert "25/25" in shown.replace(" ", "") and "failed" not in shown, shown

    kept = tmp_path / "drive" / "my-notes"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    notebook = colab_notebook(str(ROOT), kept, ())
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="has files but no course in it"):
        execute(notebook, tmp_path / "kernel-2", cwd=opened_in, **in_colab(tmp_path / "again"))
    assert [path.name for path in kept.iterdir()] == ["notes.txt"] and (kept / "notes.txt").read_text() == "mine"
