"""Tests of `python -m lab.figures` and of the CAM model behind exercise 7."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from grader.instructor.stubgen import make_stub
from tests.conftest import ROOT

CURVE_FILES = ["curves_from_scratch.png", "curves_from_scratch_smoothed.png",
               "curves_augmented.png", "curves_augmented_smoothed.png"]
VISUALIZE_FILES = ["activations.png", "filter_patterns.png", "cam_overlays.png"]


def run_figures(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["DISPLAY"] = ""  # a window would need a screen: the script must never try
    return subprocess.run([sys.executable, "-m", "lab.figures", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def expect_pictures(folder, names):
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not written"
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 300 and image.height >= 200, (name, image.size)
            pixels = np.asarray(image.convert("L"), dtype=float)
        assert pixels.std() > 5, f"{name} looks blank"


def test_reference_figures(tmp_path):
    """The reference draws every figure (short training runs), as non-empty PNGs."""
    out = tmp_path / "figures"
    run = run_figures("--target", "solutions", "--out", out, "--epochs", 2)
    assert run.returncode == 0, run.stdout + run.stderr
    expect_pictures(out, CURVE_FILES + VISUALIZE_FILES)
    assert "7 figure file(s) written" in run.stdout, run.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(CURVE_FILES + VISUALIZE_FILES)


def test_unwritten_functions_are_named_not_hidden(tmp_path):
    """With curves done and visualize a stub, the curves are drawn and every other figure says what it waits for."""
    target = tmp_path / "work"
    target.mkdir()
    shutil.copy(ROOT / "solutions" / "curves.py", target / "curves.py")
    (target / "visualize.py").write_text(make_stub((ROOT / "solutions" / "visualize.py").read_text(), "visualize"))
    out = tmp_path / "figures"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    run = run_figures("--target", target, "--out", out, "--epochs", 1)
    assert run.returncode == 0, run.stdout + run.stderr
    expect_pictures(out, CURVE_FILES)
    for title, function in (("activations", "build_activation_model"), ("filter patterns", "generate_filter_pattern"),
                            ("CAM and Grad-CAM overlays", "class_activation_map")):
        assert f"skipped {title}: `{function}` in {target / 'visualize.py'} is not implemented yet" in run.stdout, run.stdout
    assert not any((out / name).exists() for name in VISUALIZE_FILES)
    assert (out / "notes.txt").read_text() == "mine"


def test_broken_code_fails_its_figure_only(tmp_path):
    """A module that does not import costs its figures, says why, and the exit status says so."""
    target = tmp_path / "work"
    target.mkdir()
    (target / "curves.py").write_text("def smooth_curve(points, factor=0.8):\n    return [\n")
    (target / "visualize.py").write_text(make_stub((ROOT / "solutions" / "visualize.py").read_text(), "visualize"))
    out = tmp_path / "figures"
    run = run_figures("--target", target, "--out", out, "--epochs", 1)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "skipped training curves:" in run.stdout and "could not be imported: SyntaxError" in run.stdout, run.stdout
    assert "skipped activations: `build_activation_model` in" in run.stdout, run.stdout


def test_cam_model_weights_match_the_script():
    """The committed weights fit the architecture of data/train_cam_model.py and localise the held-out animals."""
    pytest.importorskip("keras")
    from data import train_cam_model as cam

    model = cam.load_cam_model()
    canvases, labels, quadrants = cam.localisation_set()
    assert canvases.shape == (50, 56, 56, 1) and set(np.unique(quadrants)) == {0, 1, 2, 3}
    assert cam.localisation_fraction(model) >= 0.98
    held_x, held_y = cam.split()[1]
    probabilities = model.predict(cam.paste(held_x, np.arange(len(held_x)) % 4), verbose=0)
    assert np.mean(probabilities.argmax(axis=1) == held_y) >= 0.8
