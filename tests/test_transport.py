"""The plain-data transport between grader and worker: what crosses, and what never can."""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from grader.remote import transport


def round_trip(value, extension=None, extensions=None):
    buffers: list[bytes] = []
    tree = transport.encode(value, buffers, extension)
    return transport.decode(tree, buffers, extensions)


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("inf"), "text", b"bytes", [1, [2, 3]], (1, (2.0, "x")), {"a": 1, 2: (3,)},
    {1, 2}, pathlib.Path("/tmp/x"),
])
def test_plain_values_keep_their_types(value):
    got = round_trip(value)
    assert got == value and type(got) is type(value)


def test_arrays_and_numpy_scalars_keep_dtype_and_shape():
    for array in (np.arange(12, dtype=np.float32).reshape(3, 4), np.zeros((0, 2), np.int64), np.array(True),
                  np.array([1 + 2j])):
        got = round_trip(array)
        assert got.dtype == array.dtype and got.shape == array.shape and np.array_equal(got, array)
    scalar = round_trip(np.float32(1.5))
    assert isinstance(scalar, np.float32) and scalar == 1.5


def test_nan_survives():
    assert np.isnan(round_trip(float("nan")))


def test_unknown_objects_travel_as_their_type_name_only():
    class Sneaky:
        def __repr__(self):
            return "Sneaky()"

        def __reduce__(self):  # a pickle of this would run code: it must never be made
            raise AssertionError("pickled")

    got = round_trip([Sneaky()])[0]
    assert isinstance(got, transport.Opaque) and got.type_name == "Sneaky" and "Sneaky()" in repr(got)
    assert isinstance(round_trip(np.array([object()], dtype=object)), transport.Opaque)


def test_a_pickled_array_is_refused():
    payload = io.BytesIO()
    np.save(payload, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(transport.ProtocolError, match="not plain .npy"):
        transport.decode({"$array": 0}, [payload.getvalue()])
    with pytest.raises(transport.ProtocolError):
        transport.decode({"$pickle": 0}, [pickle.dumps(print)])


@pytest.mark.parametrize("tree", [
    {"$list": 3}, {"$tuple": [1], "$list": [2]}, {"$array": 5}, {"$float": "1e999"}, {"$mystery": 1}, [1, 2],
    {"$dict": [[[1], 2]]},
])
def test_malformed_trees_are_refused(tree):
    with pytest.raises(transport.ProtocolError):
        transport.decode(tree, [])


def test_framing_round_trip_and_limits():
    left, right = socket.socketpair()
    with left, right:
        transport.send(left, {"op": "x", "n": 1}, [b"abc", b""])
        header, buffers = transport.receive(right, deadline=None)
        assert header["op"] == "x" and buffers == [b"abc", b""]
        left.sendall(transport.LENGTH.pack(transport.MAX_HEADER_BYTES + 1))
        with pytest.raises(transport.ProtocolError, match="header"):
            transport.receive(right, deadline=None)


def test_receive_gives_up_at_the_deadline_and_on_close():
    import time

    left, right = socket.socketpair()
    with right:
        started = time.monotonic()
        with pytest.raises(transport.ChannelTimeout):
            transport.receive(right, deadline=time.monotonic() + 0.2)
        assert time.monotonic() - started < 2
        threading.Thread(target=left.close).start()
        with pytest.raises(transport.ChannelClosed):
            transport.receive(right, deadline=time.monotonic() + 5)


def test_clean_text_cuts_and_removes_terminal_controls():
    text = transport.clean_text("\x1b[2J\x1b[HTOTAL 25 / 25" + "x" * 3000, limit=100)
    assert "\x1b" not in text and text.startswith("?[2J?[HTOTAL") and "more characters cut" in text


def _figure_of_two_series(figsize=(6.4, 4.8)):
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    ax = figure.add_subplot(1, 2, 1)
    ax.scatter([1, 2, 3], [0.5, 0.6, 0.7], label="Training acc")
    ax.plot([1, 2, 3], [0.4, 0.5, 0.55], "b-", label="Validation acc")
    ax.set_title("Training and validation accuracy")
    ax.set_xlabel("Epochs")
    ax.legend()
    return figure


def test_figures_cross_as_what_they_show_never_as_a_figure():
    from grader.engine import described, objects

    buffers: list[bytes] = []
    tree = {"$figure": transport.encode(_worker_module().describe_figure(_figure_of_two_series()), buffers)}
    drawn = objects.decode_result(tree, buffers, objects.Originals([], {}))
    assert isinstance(drawn, described.DrawnFigure) and drawn.drawing_error is None and drawn.too_large is None
    (axes,) = drawn.axes
    assert axes.title == "Training and validation accuracy" and axes.xlabel == "Epochs"
    (line,) = axes.lines
    assert line.y.tolist() == [0.4, 0.5, 0.55] and line.label == "Validation acc" and line.linestyle == "-"
    (dots,) = axes.collections
    assert dots.offsets.tolist() == [[1, 0.5], [2, 0.6], [3, 0.7]] and dots.label == "Training acc"
    assert axes.legend == ["Training acc", "Validation acc"]


def test_a_huge_figure_is_neither_drawn_nor_described():
    """The 25,000-pixel canvas of a hostile plot_history costs the worker nothing and the grader less."""
    import time

    started = time.monotonic()
    description = _worker_module().describe_figure(_figure_of_two_series(figsize=(250, 250)))
    assert time.monotonic() - started < 2
    assert "625 million pixels" in description["too_large"] and description["axes"] == []


def _worker_module():
    import sys

    from grader import remote

    sys.path.insert(0, str(remote.FOLDER))
    try:
        import worker
    finally:
        sys.path.pop(0)
    return worker


def _small_base(seed):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="block1_pool")(x)
    return keras.Model(inputs, keras.layers.Conv2D(3, 2, name="block2_conv1")(x), name="small_base")


def _frozen_model(base, style):
    import keras

    base.trainable = False
    if style == "sequential":
        return keras.Sequential([keras.Input((8, 8, 1)), base, keras.layers.Flatten(),
                                 keras.layers.Dense(1, activation="sigmoid")])
    if style == "functional":
        inputs = keras.Input((8, 8, 1))
        x = keras.layers.Flatten()(base(inputs))
    else:  # "spliced": the head grafted onto the base's own output tensor
        inputs, x = base.input, keras.layers.Flatten()(base.output)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def _judge_module():
    """``grader/remote/judge.py`` as the judge's worker imports it (its functions take and return plain data)."""
    import importlib.util

    from grader import remote

    runtime = remote.FOLDER
    spec = importlib.util.spec_from_file_location("judge", runtime / "judge.py")
    judge = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(runtime))  # its `import transport` finds the runtime's, as in the judge's folder
    try:
        spec.loader.exec_module(judge)
    finally:
        sys.path.pop(0)
    return judge


def _returned_into_the_judge(judge, model, argument, ours):
    """The judge's handle of ``model``, returned by a call whose first argument (the judge's ``ours``) the
    learner's worker held as ``argument``."""
    embedded = _embedded_as_the_worker_reports(_worker_module(), model, argument)
    assert embedded, "the worker did not see the argument in the model it returned"
    numbered = [[entry[0], 0, *entry[2:]] for entry in embedded]
    archive = judge._archive(model)
    handle = judge.import_returned(archive, numbered, [{judge.HANDLE: judge._handle(ours)[judge.HANDLE]}])
    return judge.HANDLES[handle[judge.HANDLE]]


@pytest.mark.parametrize("style", ["sequential", "functional", "spliced"])
def test_a_returned_model_gets_the_checks_own_base_back(style):
    """A model built around an argument (in a Sequential, called on an input, or spliced through .output)
    comes back, in the judge, holding the check's own base, so the check's freezing and unfreezing change
    what it trains."""
    import keras

    judge = _judge_module()
    ours, theirs = _small_base(1), _small_base(1)  # the check's base (in the judge), and the worker's copy of it
    theirs.set_weights(ours.get_weights())
    model = _frozen_model(theirs, style)
    ours.trainable = False  # as the call left it (apply_changes mirrors the flags before the result is decoded)
    loaded = _returned_into_the_judge(judge, model, theirs, ours)
    held = {id(v) for v in loaded.weights}
    assert all(id(v) in held for v in ours.weights)
    assert len(loaded.trainable_weights) == 2  # the Dense head only
    ours.trainable = True
    assert len(loaded.trainable_weights) == 6
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
    assert np.allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)


def _embedded_as_the_worker_reports(worker, model, argument):
    """What the worker says of ``model`` returned from a call whose first argument was ``argument``."""
    worker.ARGUMENT_IDS.update({id(argument): ["arg", 0]})
    worker.ARGUMENT_MODELS[:] = [(argument, ["arg", 0])]
    try:
        return worker.embedded_layers(model)
    finally:
        worker.ARGUMENT_IDS.clear()
        worker.ARGUMENT_MODELS.clear()


def test_a_returned_model_whose_base_weights_changed_is_refused():
    judge = _judge_module()
    ours, theirs = _small_base(1), _small_base(2)  # the worker's base no longer holds the check's weights
    model = _frozen_model(theirs, "functional")
    with pytest.raises(judge.JudgeVerdict, match="with other weights"):
        _returned_into_the_judge(judge, model, theirs, ours)


def _sent_without_base_weights(judge, model, ours, digest=None, embedded=True):
    """``model`` as a worker that packs its layer 0 without weights (stating ``digest``) sends it to the judge."""
    from grader.remote import transport as sent

    packed = sent.pack_model(model, omitted=[0])
    if digest is not None:  # a worker that states a digest of its choosing
        header = sent.model_config(packed)
        header["omitted"] = [[0, digest]]
        head = json.dumps(header).encode()
        rest = packed[sent.MODEL_HEADER.size + sent.MODEL_HEADER.unpack_from(packed)[0]:]
        packed = sent.MODEL_HEADER.pack(len(head)) + head + rest
    described = [[0, 0]] if embedded else []
    return judge.import_returned(packed, described, [{judge.HANDLE: judge._handle(ours)[judge.HANDLE]}])


def test_a_base_sent_as_a_digest_is_the_checks_own_base_in_the_judge():
    judge = _judge_module()
    ours, theirs = _small_base(1), _small_base(1)
    theirs.set_weights(ours.get_weights())
    loaded = judge.HANDLES[_sent_without_base_weights(judge, _frozen_model(theirs, "sequential"), ours)[judge.HANDLE]]
    assert loaded.layers[0] is ours


def test_a_digest_that_is_not_the_bases_is_refused():
    """A worker stating another digest for the base it sent without weights: its weights changed."""
    judge = _judge_module()
    ours, theirs = _small_base(1), _small_base(2)
    with pytest.raises(judge.JudgeVerdict, match="with other weights: its weight tensors differ"):
        _sent_without_base_weights(judge, _frozen_model(theirs, "sequential"), ours)


def test_another_kind_of_layer_stated_as_the_base_is_refused():
    """A worker that states the base's own digest for a layer of other shapes (found by the red team, who
    passed off a fresh VGG16: of the same shapes, that stays the README's stated limit)."""
    import keras

    from grader.remote import transport as sent

    judge = _judge_module()
    ours = _small_base(1)
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 1))
    other = keras.Model(inputs, keras.layers.Conv2D(3, 7, name="block1_conv1")(inputs), name="small_base")
    model = _frozen_model(other, "sequential")
    with pytest.raises(judge.JudgeVerdict, match="its kind or the shapes of its weight tensors differ"):
        _sent_without_base_weights(judge, model, ours, digest=sent.weights_digest(ours.get_weights()))


def test_weights_left_out_of_a_layer_that_is_no_argument_are_refused():
    """A model packed without the weights of a layer the worker does not say is the check's: nothing to put there."""
    judge = _judge_module()
    ours, theirs = _small_base(1), _small_base(1)
    theirs.set_weights(ours.get_weights())
    with pytest.raises(judge.JudgeVerdict, match="could not be read"):
        _sent_without_base_weights(judge, _frozen_model(theirs, "sequential"), ours, embedded=False)


@pytest.mark.parametrize("optimizer", ["LossScaleOptimizer", "Adagrad"])
def test_an_unpacked_compiled_model_keeps_its_optimizers_own_starting_state(optimizer):
    """Weights are made as zeros while a model is unpacked (they are set next), but not the optimizer's state:
    a loss scale of 0 would train an honest model to NaN (found by the red team)."""
    import keras

    made = {"LossScaleOptimizer": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.RMSprop()),
            "Adagrad": lambda: keras.optimizers.Adagrad(initial_accumulator_value=0.1)}[optimizer]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=made(), loss="mse")
    model.optimizer.build(model.trainable_variables)
    back, _ = transport.unpack_model(transport.pack_model(model))
    assert len(model.optimizer.variables) == len(back.optimizer.variables)
    for ours, unpacked in zip(model.optimizer.variables, back.optimizer.variables):
        value, got = keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(unpacked)
        assert np.array_equal(value, got), f"{ours.path}: {value} before packing, {got} after"
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), back.get_weights()))


@pytest.mark.parametrize("hook", ["keras.config.set_epsilon", "keras.config.set_max_steps_per_epoch",
                                  "keras.utils.set_random_seed"])
def test_a_model_naming_a_keras_function_that_is_no_activation_is_refused_unloaded(hook):
    """Safe mode would load (and the model's first call run) any public Keras function named in its config."""
    import keras

    judge = _judge_module()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation=eval(hook))])  # noqa: S307
    with pytest.raises(judge.JudgeVerdict, match=f"uses `{hook.rsplit('.', 1)[1]}` as an activation"):
        judge.import_returned(judge._archive(model))
    honest = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation=keras.activations.relu)])
    honest.compile(loss=keras.losses.categorical_crossentropy, metrics=[keras.metrics.binary_accuracy])
    assert judge.HANDLE in judge.import_returned(judge._archive(honest))


def test_the_runtime_copied_into_workers_imports_nothing_else_of_the_grader(tmp_path):
    """The package ``grader.remote`` (worker, transport, fence, zygote, judge) imports itself and libraries only.

    Its modules are copied into every worker's folder, and a worker's fence hides the project from it: an import
    of another grader module would work in a test run from the repository and fail in a fenced worker. Each file
    is imported from such a copy in a fresh interpreter where ``grader`` cannot be imported at all.
    """
    import ast

    from grader import remote

    assert set(remote.FILES) == {"fence.py", "judge.py", "transport.py", "worker.py", "zygote.py"}
    runtime = {name.removesuffix(".py") for name in remote.FILES}
    for name in remote.FILES:
        tree = ast.parse((remote.FOLDER / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert "grader" not in imported and "checks" not in imported, f"grader/remote/{name} imports {imported}"
        assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree)), name
    copy = tmp_path / "runtime"
    copy.mkdir()
    for name in remote.FILES:
        (copy / name).write_bytes((remote.FOLDER / name).read_bytes())
    code = ("import sys; sys.modules['grader'] = None; sys.modules['checks'] = None; "  # any import of them fails
            f"sys.path.insert(0, {str(copy)!r}); "
            f"import {', '.join(sorted(runtime))}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grader', 'checks') and sys.modules[m]))")
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr[-3000:]


def test_layers_left_out_arrive_as_zeros_and_only_where_the_check_asked_for_some_weights_only():
    """A check that reads some layers' weights only (``options={"model_weights": [...]}``) gets the others as
    zeros; a model that comes without weights the check reads, or without any when it asked for all, is refused."""
    import keras

    from grader.remote import transport as sent

    judge = _judge_module()
    model = _small_base(4)
    packed = sent.pack_model(model, left_out=[3])  # block2_conv1
    assert len(packed) < len(sent.pack_model(model))
    loaded = judge.HANDLES[judge.import_returned(packed, weights_of=["block1_conv1"])[judge.HANDLE]]
    assert isinstance(loaded, keras.Model)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_layer("block1_conv1").get_weights(),
                                                    model.get_layer("block1_conv1").get_weights()))
    assert all(not w.any() for w in loaded.get_layer("block2_conv1").get_weights())
    for weights_of in (None, ["block2_conv1"]):
        with pytest.raises(judge.JudgeVerdict, match="without the weights of layers the check reads"):
            judge.import_returned(sent.pack_model(model, left_out=[3]), weights_of=weights_of)


def test_a_recipe_builds_the_same_weights_from_its_kept_copy_as_from_its_seed():
    """The judge and the workers build a recipe from its own seed, later from the weights kept after the first
    build (no random draws): the same weights either way, so that the worker's digest still matches."""
    import keras

    from grader.remote import transport as sent

    key = sent.recipe_key("keras.applications.MobileNet", [], {"weights": None, "input_shape": [32, 32, 3]})
    seed = sent.recipe_seed(key)
    assert seed == sent.recipe_seed(key) and 0 <= seed < 2**31
    build = keras.applications.MobileNet
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "alpha": 0.25}
    drawn = sent.build_seeded(build, (), kwargs, seed)
    kept = sent.build_seeded(build, (), kwargs, seed, drawn.get_weights())
    again = sent.build_seeded(build, (), kwargs, seed)
    assert sent.weights_digest(kept.get_weights()) == sent.weights_digest(drawn.get_weights())
    assert sent.weights_digest(again.get_weights()) == sent.weights_digest(drawn.get_weights())


def test_the_models_checks_build_in_the_judge_change_with_the_grading_seed_only():
    """A recipe gets the same weights at every build of a run, and other weights under another grading seed
    (a secret seed changes every input the checks make, VGG16's weights too)."""
    judge = _judge_module()
    kwargs = {"alpha": 0.25, "weights": None, "input_shape": [32, 32, 3]}

    def weights(salt):
        model = judge.HANDLES[judge.new("keras.applications.MobileNet", (), kwargs, salt)[judge.HANDLE]]
        return model.get_weights()

    public, again, secret = weights(1), weights(1), weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(public, again))
    assert not all(np.array_equal(a, b) for a, b in zip(public, secret))
