"""The worker: the one process that runs a learner's module.

The grader starts it as ``python -I worker.py FD CONFIG_JSON`` from a private
copy of this file, ``transport.py`` and ``fence.py``, with a connected socket
on ``FD`` (or ``worker.py connect PORT CONFIG_JSON``: it connects back to the
grader on loopback, where no socket can be inherited) and stdout/stderr going
to a file the grader reads. The worker

1. fences itself (``fence.apply``: file system, network, signals, limits),
   before NumPy is imported and before any of the learner's code runs;
2. imports the learner's module from its copy in the worker's folder, and says
   which names it defines (or why the import failed);
3. answers calls: ``{"op": "call", "function", "args", "kwargs"}`` -> the
   result, the arguments the call changed in place, or the exception.

Nothing here judges anything: the worker only reports, as plain data (see
``transport``), what the learner's code did. The grader, in its own process,
decides what that is worth.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import fence  # noqa: E402
import transport  # noqa: E402

CONFIG: dict = {}
SOCKET = None
# Ids of arguments of the current call (id -> reference) so that a result that
# is, or contains, an argument says so instead of travelling as a copy.
ARGUMENT_IDS: dict[int, list] = {}
# The Keras models among them, (model, reference): a returned model that holds
# one of their layers (a functional model spliced onto ``conv_base.output``) says so.
ARGUMENT_MODELS: list = []
# Ids of the models among them that the judge holds (its own copy of each): a
# returned model that embeds one is packed without that layer's weights.
JUDGED_MODELS: set[int] = set()
# id(model) -> its state after the call, once read (``changed``), for ``encode_changed``.
STATES_AFTER: dict[int, dict] = {}


# --------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------


def main() -> None:
    """``worker.py FD CONFIG``: a socket inherited on FD; ``worker.py connect PORT CONFIG``: connects back.

    Connecting back (where no socket can be inherited: Windows) happens before the fence, which would
    refuse it; the token naming this worker comes on stdin, never on the command line.
    """
    import socket

    if sys.argv[1] == "connect":
        token = sys.stdin.readline().strip()
        channel = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
        channel.sendall(token.encode("ascii"))
        run(channel, json.loads(sys.argv[3]))
    else:
        run(socket.socket(fileno=int(sys.argv[1])), json.loads(sys.argv[2]))


def run(channel, config: dict) -> None:
    """Fences this process, imports the learner's module and answers calls on the socket ``channel``."""
    global SOCKET, CONFIG

    CONFIG = config
    SOCKET = channel
    os.chdir(CONFIG["workdir"])
    spec = fence.FenceSpec(**CONFIG["fence"])
    report = fence.apply(spec)
    # Said before anything of the learner's runs here, so what a module's import does cannot rewrite it.
    transport.send(SOCKET, {"op": transport.FENCED, "fence": report})
    missing = fence.unheld(report, CONFIG.get("required_fence") or ())
    if missing:
        transport.send(SOCKET, {"op": transport.FENCE_REFUSED, "missing": [part for part, _ in missing]})
        return
    if report.get("threads") != 1:
        # Landlock and namespaces bind only the calling thread: a second thread would escape them.
        transport.send(SOCKET, {"op": transport.IMPORT_ERROR, "error": {
            "type": "RuntimeError", "bases": ["RuntimeError", "Exception"], "frames": [],
            "message": "the worker could not fence itself (it had more than one thread)"}})
        return
    if CONFIG.get("require_mounts") and not fence.mounts_held(spec, report):
        # The machine gives workers their own mount namespace, this one did not get it: without its
        # read-only mount of the project, nothing of the learner's may run. The grader starts another.
        transport.send(SOCKET, {"op": transport.FENCE_INCOMPLETE})
        return
    if set(spec.private_tmpfs) - set(report.get("private_tmpfs") or ()):
        _locks_without_shared_memory()
    _block_packages(CONFIG.get("blocked_packages", ()))
    module, problem = _import_module()
    if module is None:
        transport.send(SOCKET, {"op": transport.IMPORT_ERROR, "error": problem})
        return
    names = {name: _kind(value) for name, value in vars(module).items() if not name.startswith("__")}
    transport.send(SOCKET, {"op": transport.READY, "names": names})
    _serve(module)


def _locks_without_shared_memory() -> None:
    """Makes multiprocessing's locks thread locks, where this worker has no /dev/shm of its own.

    Its POSIX semaphores are files in /dev/shm, which the fence leaves unwritable when it is shared
    with the machine (no mount namespace here: Docker, a host that refuses mounts in user namespaces).
    Keras' directory listing makes a ThreadPool, whose queue takes two such locks: without this, a
    learner's correct ``image_dataset_from_directory`` would fail with PermissionError. Threads need
    no shared memory; processes the learner's code starts would not share these locks.
    """
    import multiprocessing.context
    import threading

    multiprocessing.context.BaseContext.Lock = lambda self: threading.Lock()
    multiprocessing.context.BaseContext.RLock = lambda self: threading.RLock()


def _block_packages(names) -> None:
    """Makes ``import NAME`` fail for the blocked packages.

    The fence already leaves their folders unreadable, so this is not the
    barrier; it turns the file system's refusal into a plain ImportError.
    """
    for name in names:
        sys.modules[name] = None


def _kind(value) -> str:
    if isinstance(value, type):
        return "class"
    return "function" if callable(value) else "value"


def _import_module():
    import importlib.util

    path, name = CONFIG["module_file"], CONFIG["module_name"]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except SyntaxError as error:
        return None, {"type": "SyntaxError", "bases": ["SyntaxError"], "message": transport.clean_text(error.msg),
                      "filename": error.filename, "lineno": error.lineno, "offset": error.offset,
                      "text": transport.clean_text(error.text or "", 500), "frames": []}
    except BaseException as error:  # noqa: BLE001 - every failure of the learner's import is reported
        return None, describe_error(error)
    return module, None


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------


def _serve(module) -> None:
    while True:
        try:
            header, buffers = transport.receive(SOCKET)
        except transport.ChannelClosed:
            return
        if header.get("op") == transport.CALL:
            _answer(module, header, buffers)


def _answer(module, header: dict, buffers: list[bytes]) -> None:
    out: list[bytes] = []
    JUDGED_MODELS.clear()
    FRESH_DIGESTS.clear()
    try:
        args = transport.decode(header["args"], buffers, DECODERS)
        kwargs = transport.decode(header["kwargs"], buffers, DECODERS)
    except MissingArchive as missing:
        transport.send(SOCKET, {"op": transport.MISSING_ARCHIVE, "digest": str(missing)})
        return
    except BaseException as error:  # noqa: BLE001
        transport.send(SOCKET, {"op": transport.FAILED, "why": f"the worker could not read the arguments: {error!r}"})
        return
    _set_environment(header.get("environ", {}))
    _seed(header.get("seed"))
    references = [["arg", i] for i in range(len(args))] + [["kwarg", k] for k in kwargs]
    values = list(args) + list(kwargs.values())
    ARGUMENT_IDS.clear()
    ARGUMENT_IDS.update({id(v): r for v, r in zip(values, references) if not _is_immutable(v)})
    keras = sys.modules.get("keras")
    ARGUMENT_MODELS[:] = [(v, r) for v, r in zip(values, references)
                          if keras is not None and isinstance(v, keras.Model)]
    snapshots = [snapshot(v) for v in values]
    FRESH_DIGESTS.clear()
    function = getattr(module, header["function"], None)
    try:
        result = function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the exception is the learner's answer
        reply = {"op": transport.RAISED, "error": describe_error(error)}
    else:
        try:
            reply = {"op": transport.RETURNED, "value": encode_result(result, out, header.get("options", {}))}
        except BaseException as error:  # noqa: BLE001
            reply = {"op": transport.RAISED, "error": describe_error(error), "while": "reading the result"}
    try:
        reply["changed"] = [[r, encode_changed(v, s, out)] for r, v, s in zip(references, values, snapshots)
                            if s is not None and changed(v, s)]
    except BaseException as error:  # noqa: BLE001
        reply["changed"], reply["changed_error"] = [], transport.safe_repr(error)
    ARGUMENT_IDS.clear()
    ARGUMENT_MODELS.clear()
    JUDGED_MODELS.clear()
    STATES_AFTER.clear()
    transport.send(SOCKET, reply, out)


def _set_environment(overrides: dict) -> None:
    """Applies the variables a check set for this call (KERAS_HOME, HOME); None unsets one."""
    for name in CONFIG.get("synced_environ", ()):
        value = overrides.get(name, CONFIG["environ_defaults"].get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _seed(seed) -> None:
    """Starts the call from the random state the check chose: the same code gets the same weights on every run."""
    if not isinstance(seed, int):
        return
    import random

    random.seed(seed)
    numpy, keras, tf = (sys.modules.get(name) for name in ("numpy", "keras", "tensorflow"))  # None: not loaded, or blocked
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    if keras is not None:
        keras.utils.set_random_seed(seed % 2**32)
    if tf is not None:
        tf.config.experimental.enable_op_determinism()


def _is_immutable(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, bytes, tuple, frozenset))


def describe_error(error: BaseException) -> dict:
    """An exception as plain data: its type, the builtin types it derives from, its message, the learner's frames."""
    bases = [t.__name__ for t in type(error).__mro__ if t.__module__ == "builtins"]
    frames = []
    module_file = os.path.realpath(CONFIG.get("module_file", ""))
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.realpath(frame.filename) == module_file:
            frames.append([frame.lineno, frame.name, transport.clean_text(frame.line or "", 300)])
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - a hostile __str__ gets no say
        message = "(the exception's message could not be read)"
    described = {"type": transport.clean_text(type(error).__name__, 100), "bases": bases,
                 "message": transport.clean_text(message), "frames": frames[-3:]}
    if isinstance(error, SystemExit):
        described["code"] = transport.safe_repr(error.code)
    return described


# --------------------------------------------------------------------------
# Objects beyond plain data: Keras models, tensors, datasets, figures
# --------------------------------------------------------------------------


def encode_result(value, out: list[bytes], options: dict):
    """Encodes what the learner's function returned."""
    return transport.encode(value, out, lambda v, o: _encode_object(v, o, options))


def _encode_object(value, out, options):
    reference = ARGUMENT_IDS.get(id(value))
    if reference is not None:
        return {transport.ARGUMENT: reference}
    module = type(value).__module__ or ""
    if module.startswith(("keras", "tensorflow", "tf_keras")):
        keras = sys.modules.get("keras")
        tf = sys.modules.get("tensorflow")
        if keras is not None and isinstance(value, keras.Model):
            return {transport.MODEL: encode_model(value, out, options.get("model_weights"))}
        if tf is not None and isinstance(value, tf.data.Dataset):
            return {transport.DATASET: record_dataset(value, out, options)}
        if tf is not None and isinstance(value, (tf.Tensor, tf.Variable)) or (
                keras is not None and isinstance(value, keras.Variable)):
            return transport.encode(keras.ops.convert_to_numpy(value) if keras else value.numpy(), out)
        if keras is not None and isinstance(value, keras.callbacks.History):
            return {transport.HISTORY: transport.encode(transport.history_record(value), out)}
    if module.startswith("matplotlib"):
        figure_class = sys.modules["matplotlib.figure"].Figure
        if isinstance(value, figure_class):
            return {transport.FIGURE: transport.encode(describe_figure(value), out)}
    return None


def encode_model(model, out: list[bytes], weights_of=None) -> dict:
    """A Keras model as its packed config and weights, plus which of its layers are arguments of the call.

    The layers that are (or belong to) a model the judge holds are packed
    without their weights: the judge puts its own in their place. Where the
    check reads the weights of some layers only (``weights_of``, their names),
    the others are left out.
    """
    import warnings

    embedded = embedded_layers(model)
    judged = {id(value) for value, _ in ARGUMENT_MODELS if id(value) in JUDGED_MODELS}
    owners = {id(layer): id(value) for value, _ in ARGUMENT_MODELS for layer in getattr(value, "layers", [])}
    omitted = [index for index, *_ in embedded if model.layers[index].weights
               and (id(model.layers[index]) in judged or owners.get(id(model.layers[index])) in judged)]
    left_out = [] if weights_of is None else [
        index for index, layer in enumerate(model.layers) if layer.weights and layer.name not in weights_of]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own notes are not the learner's output
        out.append(transport.pack_model(model, omitted, left_out))
    return {"archive": len(out) - 1, "embedded": embedded, "class": type(model).__name__}


def embedded_layers(model) -> list:
    """Which layers of a returned model are arguments of the call, or layers of a model argument.

    ``[index in model.layers, reference]`` for an argument itself (``conv_base``
    in a Sequential, or called on a functional model's input), ``[index,
    reference, index in that argument's layers]`` for one of its layers (a
    functional model built on ``conv_base.output``). The grader puts its own
    objects back in their place.
    """
    parts = {}
    for value, reference in ARGUMENT_MODELS:
        for sub_index, layer in enumerate(getattr(value, "layers", [])):
            parts.setdefault(id(layer), [reference, sub_index])
    embedded = []
    for index, layer in enumerate(model.layers):
        if id(layer) in ARGUMENT_IDS:
            embedded.append([index, ARGUMENT_IDS[id(layer)]])
        elif id(layer) in parts:
            reference, sub_index = parts[id(layer)]
            embedded.append([index, reference, sub_index])
    return embedded


def record_dataset(dataset, out, options) -> dict:
    """A ``tf.data`` dataset as the elements of ``passes`` passes over it (what a check reads)."""
    import tensorflow as tf

    passes = int(options.get("dataset_passes", 2))
    limit = int(options.get("dataset_elements", 2_000))
    cardinality = int(dataset.cardinality().numpy())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        passes = 1
    recorded = []
    for _ in range(passes):
        elements = []
        for element in dataset:
            if len(elements) >= limit:
                break
            elements.append(transport.encode(tf.nest.map_structure(lambda t: t.numpy(), element), out))
        recorded.append(elements)
    return {"passes": recorded, "cardinality": cardinality, "spec": transport.describe_spec(dataset.element_spec)}


# Caps of a figure's description (the grader reads it, grader/engine/described.py, with the same caps).
FIGURE_PIXELS = 40_000_000
FIGURE_AXES = 32
SERIES_PER_AXES = 64
POINTS_PER_SERIES = 100_000


def describe_figure(figure) -> dict:
    """What a Matplotlib figure shows, as plain data: every axes and every drawn series.

    The figure is drawn here, to a PNG in memory, so that a figure Matplotlib
    cannot draw says so; one larger than ``FIGURE_PIXELS`` or with more
    panels, series or points than the caps is not drawn or described, only
    said to be too large (the grader never draws a learner's figure).
    """
    import io

    import numpy as np

    width, height = (float(v) for v in figure.get_size_inches())
    dpi = float(figure.dpi)
    sized = {"size": [width, height], "dpi": dpi, "axes": [], "suptitle": ""}
    pixels = width * dpi * height * dpi
    if not pixels <= FIGURE_PIXELS:
        return dict(sized, too_large=f"it is {width:g} x {height:g} inches at {dpi:g} dpi, {pixels / 1e6:,.0f} million "
                                     f"pixels (at most {FIGURE_PIXELS / 1e6:.0f} million are drawn)")
    if len(figure.axes) > FIGURE_AXES:
        return dict(sized, too_large=f"it has {len(figure.axes)} panels (at most {FIGURE_AXES} are read)")
    axes = []
    for ax in figure.axes:
        if len(ax.get_lines()) > SERIES_PER_AXES or len(ax.collections) > SERIES_PER_AXES:
            return dict(sized, too_large=f"a panel holds {len(ax.get_lines())} lines and {len(ax.collections)} "
                                         f"collections (at most {SERIES_PER_AXES} of each are read)")
        lines, collections = [], []
        for line in ax.get_lines():
            x, y = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
            if max(x.size, y.size) > POINTS_PER_SERIES:
                return dict(sized, too_large=f"a line has {max(x.size, y.size):,} points (at most "
                                             f"{POINTS_PER_SERIES:,} are read)")
            lines.append({"x": x, "y": y, "label": str(line.get_label()), "marker": str(line.get_marker()),
                          "linestyle": str(line.get_linestyle()), "color": [float(c) for c in _rgba(line.get_color())],
                          "visible": bool(line.get_visible())})
        for collection in ax.collections:
            offsets = np.asarray(collection.get_offsets(), dtype=float).reshape(-1, 2)
            if len(offsets) > POINTS_PER_SERIES:
                return dict(sized, too_large=f"a scatter has {len(offsets):,} points (at most "
                                             f"{POINTS_PER_SERIES:,} are read)")
            collections.append({
                "kind": type(collection).__name__, "offsets": offsets, "label": str(collection.get_label()),
                "visible": bool(collection.get_visible()),
                "facecolors": np.asarray(collection.get_facecolor(), dtype=float).reshape(-1, 4)[:POINTS_PER_SERIES],
                "sizes": np.asarray(collection.get_sizes(), dtype=float).reshape(-1)[:POINTS_PER_SERIES],
            })
        legend = ax.get_legend()
        axes.append({
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "position": [float(v) for v in ax.get_position().bounds], "lines": lines, "collections": collections,
            "legend": None if legend is None else [t.get_text() for t in legend.get_texts()][:SERIES_PER_AXES],
            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
        })
    try:
        figure.savefig(io.BytesIO(), format="png", dpi=dpi)
        drawing_error = None
    except Exception as error:  # noqa: BLE001 - a figure that cannot be drawn is the learner's answer
        drawing_error = f"{type(error).__name__}: {transport.clean_text(error, 500)}"
    title = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) is not None else ""
    return dict(sized, axes=axes, suptitle=title, drawing_error=drawing_error)


def _rgba(color):
    from matplotlib.colors import to_rgba

    return to_rgba(color)


def snapshot(value):
    """What is needed to tell whether a call changed ``value`` in place (None: cannot change)."""
    import copy

    numpy = sys.modules.get("numpy")
    if numpy is not None and type(value) is numpy.ndarray:
        return value.copy()
    if type(value) in (list, dict, set):
        try:
            return ("container", copy.deepcopy(value))
        except Exception:  # noqa: BLE001
            return None
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        # The compile config and optimizer the state names by id stay alive until the call is compared: a new
        # one made at a freed one's address would read as the same.
        alive = (getattr(value, "_compile_config", None), getattr(value, "optimizer", None))
        return ("model", model_state(value), alive)
    return None


def model_state(model):
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    digest = FRESH_DIGESTS.pop(id(model), None)
    return {
        "trainable": transport.trainable_flags(model),
        "weights": digest or transport.weights_digest(model.get_weights()),
        # Each compile() makes a new compile-config object: a new one means "recompiled", while a
        # learning rate assigned in place only changes the config's content.
        "compile": (id(getattr(model, "_compile_config", None)), json.dumps(compile_config, sort_keys=True, default=str)),
        "optimizer": id(getattr(model, "optimizer", None)),
    }


def changed(value, before) -> bool:
    import numpy

    if isinstance(before, numpy.ndarray):
        return value.shape != before.shape or not numpy.array_equal(value, before, equal_nan=True)
    kind, state = before[:2]
    if kind == "container":
        try:
            return not _same(value, state)
        except Exception:  # noqa: BLE001
            return True
    now = STATES_AFTER[id(value)] = model_state(value)
    return now != state


def _same(a, b) -> bool:
    import numpy

    if isinstance(a, numpy.ndarray) or isinstance(b, numpy.ndarray):
        return isinstance(a, numpy.ndarray) and isinstance(b, numpy.ndarray) and numpy.array_equal(a, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def encode_changed(value, before, out):
    """An argument the call changed in place, as the grader will see it.

    A model travels as its trainable flags, whether it was recompiled (and
    how), and whether its weights changed: no archive.
    """
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        _forget_loaded(value)
        state, old = STATES_AFTER.pop(id(value), None) or model_state(value), before[1]
        weights_changed = state["weights"] != old["weights"]
        recompiled = state["compile"][0] != old["compile"][0]
        # Compiled again with the optimizer it had: Keras keeps that one as it is, built for the weights it knew.
        optimizer_kept = recompiled and getattr(value, "optimizer", None) is not None and state["optimizer"] == old["optimizer"]
        return {transport.MODEL_STATE: transport.encode({
            "recompiled": recompiled, "optimizer_kept": optimizer_kept, "trainable": state["trainable"],
            "weights_changed": weights_changed,
            "compile_config": value.get_compile_config() if recompiled and value.compiled else None,
            "learning_rate": _learning_rate(value),
        }, out)}
    ARGUMENT_IDS.pop(id(value), None)
    return transport.encode(value, out, lambda v, o: _encode_object(v, o, {}))


def _learning_rate(model) -> float | None:
    try:
        return float(model.optimizer.learning_rate.numpy())
    except Exception:  # noqa: BLE001 - no optimizer, or a schedule
        return None


LOADED_MODELS: dict[str, object] = {}  # archive digest -> model, while no call has changed it
RECIPE_WEIGHTS: dict[str, tuple] = {}  # recipe and seed -> (digest, weights) of the model the judge built from it
# id(model) -> the digest of the weights a model was just built with, read by the call's snapshot: that call only.
FRESH_DIGESTS: dict[int, str] = {}


def _forget_loaded(model) -> None:
    for digest, cached in list(LOADED_MODELS.items()):
        if cached is model:
            del LOADED_MODELS[digest]


KEPT_ARCHIVES: dict[str, bytes] = {}  # sha256 -> an archive the grader sent, so that it is sent once
KEPT_ARCHIVES_LIMIT = 4


class MissingArchive(LookupError):
    """The grader named an archive by its digest that this worker does not keep (any more)."""


def decode_model(payload, buffers):
    """A model the grader passes in: unpacked from its config and weights, compiled as it was.

    An archive comes once; after that the grader names it by its digest.
    The same archive passed again (Grad-CAM on 50 images with one model)
    reuses the model loaded the first time, unless a call changed it since.
    """
    import hashlib

    if "recipe" in payload:
        return _model_from_recipe(payload)
    if "archive" in payload:
        raw = transport._buffer(buffers, payload["archive"])
        digest = hashlib.sha256(raw).hexdigest()
        KEPT_ARCHIVES.pop(digest, None)
        KEPT_ARCHIVES[digest] = raw
        while len(KEPT_ARCHIVES) > KEPT_ARCHIVES_LIMIT:
            KEPT_ARCHIVES.pop(next(iter(KEPT_ARCHIVES)))
    else:
        digest = str(payload.get("digest"))
        raw = KEPT_ARCHIVES.get(digest)
        if raw is None:
            raise MissingArchive(digest)
    return _kept_model(digest, payload, lambda: _load_model(payload, raw))


def _kept_model(digest: str, payload, load):
    key = digest + json.dumps(payload.get("trainable"))
    model = LOADED_MODELS.get(key)
    if model is None:
        model = load()
        if len(LOADED_MODELS) >= 8:
            LOADED_MODELS.pop(next(iter(LOADED_MODELS)))
        LOADED_MODELS[key] = model
    if payload.get("judged"):
        JUDGED_MODELS.add(id(model))
    return model


def _model_from_recipe(payload):
    """A model the judge built from a Keras function and plain arguments, built here the same way.

    ``keras.applications.VGG16(weights=None)`` takes 0.1 s to build, where
    its 58 MB of weights would cross two processes. The judge seeded the build
    and sends the digest of the model's weights as they are now: a build that
    got others (the check changed them since) makes the grader send the model
    itself.
    """
    import keras

    recipe = payload["recipe"]

    def build():
        if not str(recipe.get("path", "")).startswith("keras."):
            raise MissingArchive("recipe")
        function = keras
        for part in str(recipe["path"]).split(".")[1:]:
            function = getattr(function, part)
        args, kwargs = recipe.get("args", ()), recipe.get("kwargs", {})
        key = transport.recipe_key(recipe["path"], args, kwargs) + str(recipe["seed"])
        digest, kept = RECIPE_WEIGHTS.get(key, (None, None))
        if digest == recipe.get("weights"):  # built before: its weights are known, and their digest
            model = transport.build_seeded(function, args, kwargs, int(recipe["seed"]), kept)
        else:
            model = transport.build_seeded(function, args, kwargs, int(recipe["seed"]))
            weights = model.get_weights()
            digest = transport.weights_digest(weights)
            if digest != recipe.get("weights"):
                raise MissingArchive("recipe")
            transport.keep_recipe_weights(RECIPE_WEIGHTS, key, (digest, weights))
        FRESH_DIGESTS[id(model)] = digest
        flags = payload.get("trainable")
        if flags:
            transport.set_trainable_flags(model, flags)
        return model

    return _kept_model("recipe:" + json.dumps(recipe, sort_keys=True, default=str), payload, build)


def _load_model(payload, raw):
    model = transport.fresh_graph(transport.unpack_model(raw)[0])
    flags = payload.get("trainable")
    if flags:
        transport.set_trainable_flags(model, flags)
    return model


def decode_dataset(payload, buffers):
    """A dataset the grader passes in: each pass is read from the grader as the learner's code iterates.

    The grader iterates its own dataset, so a dataset that reshuffles on
    every pass does so here too, and a check can count the passes taken.
    """
    import tensorflow as tf

    handle, cardinality = payload["handle"], payload["cardinality"]
    spec = transport.tensor_spec(payload["spec"])

    def one_pass():
        transport.send(SOCKET, {"op": transport.SERVE_DATASET, "handle": handle, "action": "open"})
        while True:
            header, data = transport.receive(SOCKET)
            if header.get("end"):
                return
            yield transport.decode(header["element"], data)
            transport.send(SOCKET, {"op": transport.SERVE_DATASET, "handle": handle, "action": "next"})

    dataset = tf.data.Dataset.from_generator(one_pass, output_signature=spec)
    if cardinality == tf.data.INFINITE_CARDINALITY:
        return dataset.repeat()
    if cardinality >= 0:
        return dataset.apply(tf.data.experimental.assert_cardinality(cardinality))
    return dataset


def decode_history(payload, buffers):
    import keras

    recorded = transport.decode(payload, buffers)
    history = keras.callbacks.History()
    history.history = recorded["history"]
    history.epoch = recorded["epoch"]
    return history


def decode_tensor(payload, buffers):
    import tensorflow as tf

    return tf.constant(transport.decode(payload, buffers))


DECODERS = {transport.MODEL: decode_model, transport.DATASET_HANDLE: decode_dataset,
            transport.HISTORY: decode_history, transport.TENSOR: decode_tensor}


if __name__ == "__main__":
    main()
