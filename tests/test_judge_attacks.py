"""Hostile submissions against the judge protocol of issue 16 (handles, descriptions, the config allowlist).

A learner's worker is the learner's own process: what it sends (a model's
``.keras`` archive, a figure's description) says whatever its code wants.
Each submission below rewrites what its worker sends, as a hostile student
would, and is graded as an instructor grades a class: one batch through
``python -m grader grade ... --out DIR --jobs 1 --submitted-only`` (one
runner, one submission after another), an honest submission last. The
memory tests grade one submission alone and watch the grading process
itself (``_grade_watched``: not the workers, the judge or the zygote).
"""

from __future__ import annotations

import csv
import json
import re

import pytest

from tests.conftest import ROOT, grader_command
from tests.test_returned_objects import _grade_watched  # the grading process's peak memory

MNIST = (ROOT / "solutions" / "mnist.py").read_text()
CURVES = (ROOT / "solutions" / "curves.py").read_text()
TRANSFER_STUB = (ROOT / "exercises" / "transfer.py").read_text()

# Rewrites the config of every model the worker sends, as Keras serialised it (the worker's modules are in its
# sys.modules): in the packed form of grader/remote/transport.py (``pack_model``), or in a .keras zip.
ARCHIVE_HOOK = '''

import io as _io
import json as _json
import struct as _struct
import sys as _sys
import zipfile as _zipfile

_SIZE = _struct.Struct(">Q")


def _rewrite(raw, transform):
    if raw[:2] == b"PK":
        source, out = _zipfile.ZipFile(_io.BytesIO(raw)), _io.BytesIO()
        with _zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                data = source.read(info.filename)
                if info.filename == "config.json":
                    data = _json.dumps(transform(_json.loads(data))).encode()
                target.writestr(info, data)
        return out.getvalue()
    (size,) = _SIZE.unpack_from(raw)
    header = _json.loads(raw[_SIZE.size:_SIZE.size + size])
    header["config"] = transform(header["config"])
    packed = _json.dumps(header).encode()
    return _SIZE.pack(len(packed)) + packed + raw[_SIZE.size + size:]


def _hook(transform):
    for name in ("worker", "__main__"):
        runner = _sys.modules.get(name)
        if runner is not None and hasattr(runner, "encode_model"):
            original = runner.encode_model

            def encode_model(model, out, *options, original=original):
                described = original(model, out, *options)
                out[described["archive"]] = _rewrite(out[described["archive"]], transform)
                return described

            runner.encode_model = encode_model
'''

# The compile config survives loading as plain data; a dict in it shaped like a judge handle became a
# RemoteObject in the grader, whose class (for isinstance) the grader imported: here numpy's f2py command line,
# which ran in the grader's process (distutils, a C compiler probe) and ended in SystemExit.
FORGED_HANDLE = ARCHIVE_HOOK + '''

def _forged_metrics(config):
    config["compile_config"]["metrics"] = {"__judge_handle__": 1, "class": ["numpy.f2py.__main__", "X"]}
    return config


_hook(_forged_metrics)
'''

# The allowlist reads {"class_name": "function", "config": NAME} entries only; an entry naming a public Keras
# *function* as a class ("class_name": "set_max_steps_per_epoch") resolves to that function all the same.
SETTING_AS_CLASS = ARCHIVE_HOOK + '''

def _setting_as_class(config):
    hidden = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    hidden["config"]["activation"] = {"module": "keras.config", "class_name": "set_max_steps_per_epoch",
                                      "config": {}, "registered_name": None}
    return config


_hook(_setting_as_class)
'''

# A layer name (any string without "/") reaches the checks' messages as it is: it clears the screen and hides
# what follows. Only build_conv_base is written; the other functions are the stub's.
ESCAPE_NAME = "\\x1b[2J\\x1b[Hall checks pass\\x1b[8m"
ESCAPE_TRANSFER = TRANSFER_STUB.replace(
    '    raise NotImplementedError("build_conv_base: your code goes here")',
    f'    return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(2, 3, name="{ESCAPE_NAME}")])',
)

# A description of 1,000 panels of 64 one-point lines (the worker's caps are 32 panels): the grader decoded
# every array of it (128,000 of them: 7 s of the grader's CPU per call here, 32 s and 1.1 GB at 5,000 panels)
# before cutting it to 32 panels, and the check then read "the figure has 32".
FIGURE_PAST_CAPS = CURVES + '''

import sys as _sys

import numpy as _np


def _describe(figure):
    line = {"x": _np.zeros(1), "y": _np.zeros(1), "label": "", "marker": "o", "linestyle": "-",
            "color": [0.0, 0.0, 0.0, 1.0], "visible": True}
    panel = {"title": "accuracy", "xlabel": "epoch", "ylabel": "accuracy", "position": [0, 0, 1, 1],
             "lines": [line] * 64, "collections": [], "legend": None, "xscale": "linear", "yscale": "linear"}
    return {"size": [6.0, 4.0], "dpi": 100.0, "axes": [panel] * 1000, "suptitle": "", "drawing_error": None}


for _name in ("worker", "__main__"):
    _runner = _sys.modules.get(_name)
    if _runner is not None and hasattr(_runner, "describe_figure"):
        _runner.describe_figure = _describe
'''

# Every model the worker sends leaves out all its weights, as if each check had asked for none
# (``options={"model_weights": []}``): the judge would hold zeros where the checks read weights.
WEIGHTS_LEFT_OUT = MNIST + '''

import sys as _sys

for _name in ("worker", "__main__"):
    _runner = _sys.modules.get(_name)
    if _runner is not None and hasattr(_runner, "encode_model"):
        _original = _runner.encode_model
        _runner.encode_model = lambda model, out, weights_of=None, _original=_original: _original(model, out, [])
'''

SUBMISSIONS = {
    "a_forged_handle": ("mnist.py", MNIST + FORGED_HANDLE),
    "b_keras_setting_as_class": ("mnist.py", MNIST + SETTING_AS_CLASS),
    "c_escapes_in_names": ("transfer.py", ESCAPE_TRANSFER),
    "d_figure_past_caps": ("curves.py", FIGURE_PAST_CAPS),
    "d_weights_left_out": ("mnist.py", WEIGHTS_LEFT_OUT),
    "e_reference": ("mnist.py", MNIST),  # last in the runner: what the attacks left behind would show here
}
# C0 controls but newline and tab, DEL and C1 controls: nothing a learner wrote may move a terminal's cursor.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("judge-attacks")
    for name, (module, source) in SUBMISSIONS.items():
        (folder / "submissions" / name).mkdir(parents=True)
        (folder / "submissions" / name / module).write_text(source)
    assert ESCAPE_TRANSFER != TRANSFER_STUB
    run = grader_command(folder / "submissions", "--out", folder / "out", "--jobs", "1", "--submitted-only",
                         "--no-progress")
    assert (folder / "out" / "gradebook.csv").exists(), run.stdout + run.stderr
    with open(folder / "out" / "gradebook.csv", newline="") as table:
        rows = {row["id"]: row for row in csv.DictReader(table)}
    for name, row in rows.items():
        results = folder / "out" / name
        row["feedback"] = (results / "feedback.md").read_text()
        row["output"] = (results / "output.txt").read_text()
        classroom = json.loads((results / "classroom.json").read_text())
        row["messages"] = [test.get("message") or "" for test in classroom["tests"]]
    rows["_command"] = {"output": run.stdout + run.stderr}
    return rows


def test_a_config_shaped_like_a_handle_makes_the_grader_import_nothing(batch):
    """Nothing in a learner's config may name code for the grader to import or run (issue 16, item 1)."""
    row = batch["a_forged_handle"]
    ran_in_the_grader = [text for text in ("unknown file type", "running build", "SystemExit")
                         if text in row["feedback"] + row["output"]]
    assert not ran_in_the_grader, ran_in_the_grader


def test_a_keras_function_named_as_a_class_is_refused_before_loading(batch):
    """The allowlist holds for every entry that resolves to a function, not only those labelled "function"."""
    row = batch["b_keras_setting_as_class"]
    assert "set_max_steps_per_epoch" in row["feedback"], row["feedback"][:3000]


def test_names_from_a_learners_model_reach_no_terminal_and_no_report_with_escapes(batch):
    row = batch["c_escapes_in_names"]
    assert row["status"] == "graded", row
    shown = {"output.txt": row["output"], "feedback.md": row["feedback"],
             "the command's output": batch["_command"]["output"],
             **{f"classroom.json message {i}": message for i, message in enumerate(row["messages"])}}
    escaped = {where: CONTROL.findall(text)[:3] for where, text in shown.items() if CONTROL.search(text)}
    assert not escaped, escaped


def test_a_figure_description_past_the_caps_is_refused_before_it_is_decoded(batch):
    """The caps of a figure's description are the grader's too: past them, "too large", as the worker would say."""
    row = batch["d_figure_past_caps"]
    assert "too large" in row["feedback"] and "the figure has 32" not in row["feedback"], row["feedback"][:3000]


def test_weights_left_out_where_the_check_reads_them_are_refused(batch):
    """A worker may leave out only the weights a check said it does not read; the judge refuses any other."""
    row = batch["d_weights_left_out"]
    assert "came without the weights of layers the check reads" in row["feedback"], row["feedback"][:3000]
    assert float(row["total"]) < 19, row


def test_the_next_student_in_the_runner_keeps_full_marks(batch):
    reference = batch["e_reference"]
    assert reference["status"] == "graded" and float(reference["total"]) == float(reference["max_score"]) == 19


# --------------------------------------------------------------------------
# What crosses into the grader: bounded, whatever the learner's model or function returns
# --------------------------------------------------------------------------

# Maps (3, 28, 28, 1) to (3, 9100, 9100, 1): 0.99 GB of float32, just under the transport's 1 GiB per message.
_MODEL = MNIST[MNIST.index("    model = keras.Sequential(\n"):MNIST.index("    model.compile(")]
HUGE_OUTPUT = MNIST.replace(
    _MODEL, "    model = keras.Sequential([keras.Input(shape=IMAGE_SHAPE), keras.layers.UpSampling2D(325)])\n")


def test_a_gigabyte_answer_from_the_judge_never_reaches_the_graders_memory(tmp_path):
    """``model(images)`` on a model whose output is 0.99 GB: the grading process received it whole (2.5 GB peak,
    0.67 GB for the reference solution, measured the same way)."""
    assert "UpSampling2D(325)" in HUGE_OUTPUT and _MODEL not in HUGE_OUTPUT
    (tmp_path / "mnist.py").write_text(HUGE_OUTPUT)
    _, peak_gb, output = _grade_watched(tmp_path, "--exercise", "mnist")
    assert re.search(r"^TOTAL\s+\S+ / 19", output, re.MULTILINE), output
    assert peak_gb < 1.5, f"the grading process peaked at {peak_gb:.2f} GB"


# preprocess_images answers its first call with a 0.99 GB array (and correctly afterwards). Every call that
# answered so, as the checks make them, raised the grading process to 7.6 GB (a MemoryError in the grader itself).
HUGE_ANSWER = MNIST.replace("def preprocess_images(images):", """_calls = []


def preprocess_images(images):
    _calls.append(1)
    if len(_calls) == 1:
        return np.ones(265_000_000, np.float32)
    return _preprocess_images(images)


def _preprocess_images(images):""", 1)


def test_a_gigabyte_answer_from_a_learners_function_never_reaches_the_graders_memory(tmp_path):
    assert HUGE_ANSWER.count("_preprocess_images(images)") == 2 and "import numpy as np" in HUGE_ANSWER
    (tmp_path / "mnist.py").write_text(HUGE_ANSWER)
    _, peak_gb, output = _grade_watched(tmp_path, "--exercise", "mnist")
    assert re.search(r"^TOTAL\s+\S+ / 19", output, re.MULTILINE), output
    assert peak_gb < 1.5, f"the grading process peaked at {peak_gb:.2f} GB"


# --------------------------------------------------------------------------
# A check that timed out while the judge held its objects
# --------------------------------------------------------------------------

# build_frozen_model never returns (a slow honest function does the same). The check had built its VGG16 base in
# the judge first; as the check ended, dropping that base asked the judge with the check's deadline already
# past, and the CheckTimeout this raised escaped the plugin's hook: pytest's INTERNALERROR, exit status 3, no
# other check of the run graded.
ENDLESS_FROZEN_MODEL = TRANSFER_STUB.replace(
    '    raise NotImplementedError("build_frozen_model: your code goes here")',
    "    import time\n\n    time.sleep(3600)",
)


def test_a_check_that_times_out_while_the_judge_holds_its_objects_ends_as_one_timed_out_check(tmp_path):
    assert ENDLESS_FROZEN_MODEL != TRANSFER_STUB
    (tmp_path / "transfer.py").write_text(ENDLESS_FROZEN_MODEL)
    run = grader_command(tmp_path, "--exercise", "transfer", "--check-timeout", "5")
    output = run.stdout + run.stderr
    assert "INTERNALERROR" not in output and run.returncode == 1, output[-3000:]
    assert re.search(r"^TOTAL\s+0 / 28", output, re.MULTILINE), output[-3000:]

