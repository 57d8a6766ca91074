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


def kernel_manager(folder: Path):
    """A kernel manager whose kernel is this interpreter, from a kernel spec in ``folder``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (course tests)",
        "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs,
                         connection_file=str(folder / "connection.json"))


def execute(notebook, tmp_path: Path, cwd: Path):
    """Runs ``notebook`` in place; raises nbclient's CellExecutionError at the first failing cell."""
    client = nbclient.NotebookClient(
        notebook, km=kernel_manager(tmp_path), timeout=CELL_TIMEOUT, startup_timeout=120,
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
    assert str(ROOT / "exercises") in text_of(ran[0]), "the setup cell must find the root from notebooks/"
