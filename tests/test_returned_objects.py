"""What learner code returns never acts in the grader, and the same code earns the same grade (issue 16).

A model's config may name any public Keras function, and Keras' safe mode
loads it: ``keras.config.set_epsilon`` as an activation ran in the grader
and changed how it computed every later loss; ``set_max_steps_per_epoch``
stayed in a batch runner and cost the next student points. Such a model is
now refused before anything of it is loaded. The submissions below are
graded as an instructor grades them, one batch through ``python -m grader
grade ... --out DIR`` with one runner, the hostile ones first.
"""

from __future__ import annotations

import csv
import re

import pytest

from tests.conftest import ROOT, grader_command, run_checks

SOLUTION = (ROOT / "solutions" / "mnist.py").read_text()
WRONG_LOSS = ('model.compile(optimizer="rmsprop", loss="categorical_crossentropy"',
              'model.compile(optimizer="rmsprop", loss="mean_squared_error"')
HIDDEN_LAYER = 'keras.layers.Dense(64, activation="relu")'


def mnist_variant(*edits: tuple[str, str]) -> str:
    source = SOLUTION
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


SUBMISSIONS = {
    # First in the runner: a Keras setting that, once set, broke training for whoever came next.
    "a_max_steps_hook": mnist_variant((HIDDEN_LAYER, 'keras.layers.Dense(64, activation=keras.config.set_max_steps_per_epoch)')),
    # A wrong loss that passed "compiled with categorical cross-entropy" by changing the grader's epsilon.
    "b_epsilon_hook": mnist_variant(WRONG_LOSS, (HIDDEN_LAYER, 'keras.layers.Dense(64, activation=keras.config.set_epsilon)')),
    "c_reference": SOLUTION,
    "d_wrong_loss": mnist_variant(WRONG_LOSS),
    "e_wrong_loss_again": mnist_variant(WRONG_LOSS),
}


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("returned-objects")
    for name, source in SUBMISSIONS.items():
        (folder / "submissions" / name).mkdir(parents=True)
        (folder / "submissions" / name / "mnist.py").write_text(source)
    run = grader_command(folder / "submissions", "--out", folder / "out", "--jobs", "1", "--exercise", "mnist",
                         "--no-progress")
    assert (folder / "out" / "gradebook.csv").exists(), run.stdout + run.stderr
    with open(folder / "out" / "gradebook.csv", newline="") as table:
        rows = {row["id"]: row for row in csv.DictReader(table)}
    for row in rows.values():
        row["feedback"] = (folder / "out" / row["id"] / "feedback.md").read_text()
    return rows


def test_a_model_naming_a_keras_setting_is_refused_and_earns_less_than_honest_code(gradebook):
    hostile, honest = gradebook["b_epsilon_hook"], gradebook["d_wrong_loss"]
    assert float(hostile["total"]) < float(honest["total"])
    assert "uses `set_epsilon` as an activation, loss or metric" in hostile["feedback"]


def test_a_hostile_model_first_in_a_runner_leaves_the_next_student_full_marks(gradebook):
    assert "uses `set_max_steps_per_epoch`" in gradebook["a_max_steps_hook"]["feedback"]
    reference = gradebook["c_reference"]
    assert reference["status"] == "graded" and float(reference["total"]) == float(reference["max_score"]) == 19


def test_a_borderline_submission_earns_the_same_score_alone_and_anywhere_in_a_batch(gradebook, tmp_path):
    """A wrong loss is the borderline case: whether "learns" passed once depended on the run (17, 17, 15, 17)."""
    in_batch = {float(gradebook[name]["total"]) for name in ("d_wrong_loss", "e_wrong_loss_again")}
    folder = tmp_path / "alone"
    folder.mkdir()
    (folder / "mnist.py").write_text(SUBMISSIONS["d_wrong_loss"])
    alone = []
    for attempt in range(5):  # each a pytest session of its own, with workers of its own
        (tmp_path / str(attempt)).mkdir()
        run = run_checks(folder, tmp_path / str(attempt), "checks/test_mnist.py", "-k", "compiled or learns")
        alone.append(float(run.classroom["score"]))
    # The wrong loss touches only these two checks (4 points); the other 15 points are the same in every run.
    assert len(in_batch) == 1 and len(set(alone)) == 1 and in_batch == {15 + alone[0]}, (in_batch, alone)


# --------------------------------------------------------------------------
# What a returned object costs: bounded by the worker's and the judge's limits, never the grader's
# --------------------------------------------------------------------------

COSTLY = {
    # Valid models whose forward pass the submission makes as long, or as large, as it likes.
    "mnist_slow": mnist_variant((
        "keras.Input(shape=IMAGE_SHAPE),",
        "keras.Input(shape=IMAGE_SHAPE), keras.layers.UpSampling2D(8), keras.layers.Conv2D(512, 15),")),
    "mnist_huge": mnist_variant((
        "keras.Input(shape=IMAGE_SHAPE),",
        "keras.Input(shape=IMAGE_SHAPE), keras.layers.UpSampling2D(100), keras.layers.Conv2D(4, 1),")),
}
HUGE_FIGURE = (ROOT / "solutions" / "curves.py").read_text()


def _grade_watched(submission, *options) -> tuple[float, float, str]:
    """Runs ``python -m grader grade SUBMISSION OPTIONS``; returns its seconds, the grading process's peak
    resident memory in GB (its workers, judge and zygote not counted), and what it printed."""
    import subprocess
    import sys
    import time

    from lab.benchmark_grading import grader_rss

    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(submission), *options], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, grader_rss(process.pid))
        time.sleep(0.05)
    return time.monotonic() - started, peak / 2**30, process.stdout.read()


@pytest.mark.parametrize("name", sorted(COSTLY))
def test_a_costly_model_costs_its_own_checks_time_and_never_the_graders_memory(name, tmp_path):
    (tmp_path / "mnist.py").write_text(COSTLY[name])
    seconds, peak_gb, output = _grade_watched(tmp_path, "--exercise", "mnist", "--check-timeout", "3",
                                              "--run-timeout", "15")
    assert seconds < 15 + 15, output  # the run's deadline, plus start-up and the result files
    assert peak_gb < 1.5, f"the grader's process peaked at {peak_gb:.2f} GB"
    total = float(re.search(r"^TOTAL\s+(\S+) / 19", output, re.MULTILINE).group(1))
    # Not the chapter's model: its layer table (3), output shapes (1) and parameter count (1) always fail; a check
    # that runs it once may pass or time out, as it would anywhere.
    assert total <= 19 - 5, output


def test_a_huge_figure_is_refused_in_the_worker_without_costing_the_grader(tmp_path):
    source = HUGE_FIGURE.replace('fig = Figure(figsize=(11, 4), layout="constrained")', "fig = Figure(figsize=(250, 250))")
    assert source != HUGE_FIGURE
    (tmp_path / "curves.py").write_text(source)
    seconds, peak_gb, output = _grade_watched(tmp_path, "--exercise", "curves")
    assert "the figure is too large to grade" in output and peak_gb < 1.0, (peak_gb, output)
    # smooth_curve's 6 points and the ValueError check of plot_history: every check that reads the figure failed.
    assert re.search(r"^TOTAL\s+(\S+) / 13", output, re.MULTILINE).group(1) == "7", output
