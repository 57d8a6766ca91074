"""The judge: the process where the checks' Keras objects live and where a learner's model is run.

The grader never loads or runs anything the learner's code built. A model that
a learner's function returns travels from its worker, packed (its config and
raw weights, ``transport.pack_model``), to this process: a worker like the
others (forked from the same template, fenced and limited the same way, killed
at the check's deadline) that never imports a learner's module, so no code of
theirs ran here before the checks ask their questions. The checks hold handles
(``grader/engine/handles.py``): every attribute they read, every call they make
(``model(images)``, ``model.fit(...)``, ``layer.get_config()``) is one call of
this module's functions, answered as plain data (numbers, strings, arrays, or
further handles).

The worker's machinery (``worker.py``) imports this file as it would a
learner's module and calls its functions; they take and return plain data
only. Objects are kept in ``HANDLES`` until the check ends (``reset``).

An archive from a learner is refused before anything of it is loaded when its
config names a function that is not one of Keras' activations, losses or
metrics (safe mode accepts any public Keras function, ``keras.config.set_epsilon``
included), or a class from outside Keras.
"""

from __future__ import annotations

import hashlib
import sys

import transport  # the runtime's, beside this file in the judge's folder

HANDLE = "__judge_handle__"
HANDLES: dict[int, object] = {}
KEYS: dict[int, int] = {}  # id(object) -> its handle, so one object always has one handle
NEXT_KEY = [0]
TRUSTED_ARCHIVES: dict[str, bytes] = {}  # digest -> a model file the grader sent (the checks' own models)
# id(model) -> how ``new`` built it from plain arguments: a learner's worker builds it the
# same way rather than receiving it, and checks that it got the judge's weights as they are now.
RECIPES: dict[int, dict] = {}
RECIPE_WEIGHTS: dict[str, list] = {}  # recipe -> the weights its models start with (the checks' own, never a learner's)
ROOTS = ("keras", "numpy")
FUNCTION_MODULES = ("activations", "losses", "metrics")
NESTING = 8


class JudgeVerdict(Exception):
    """What a check concludes here, worded for the learner (the grader turns it into a failed check)."""


# --------------------------------------------------------------------------
# Handles: what crosses is plain data, or a handle to an object kept here
# --------------------------------------------------------------------------


def _handle(value) -> dict:
    key = KEYS.get(id(value))
    if key is None or HANDLES.get(key) is not value:
        NEXT_KEY[0] += 1
        key = NEXT_KEY[0]
        HANDLES[key], KEYS[id(value)] = value, key
    cls = type(value)
    try:
        shown = _text(_shown(value), 200)
    except Exception:  # noqa: BLE001 - a repr that fails shows the class
        shown = f"<{cls.__qualname__}>"
    return {HANDLE: key, "class": [cls.__module__, cls.__qualname__], "repr": shown}


def _shown(value) -> str:
    """``repr(value)``, but a variable's without its values: Keras reads and prints the whole tensor, a tenth
    of a second for a VGG16's weights, on every ``model.weights`` a check reads."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Variable):
        return f"<Variable path={value.path}, shape={tuple(value.shape)}, dtype={value.dtype}>"
    return repr(value)


def _out(value, depth: int = 0):
    """``value`` as plain data: numbers, strings, arrays and containers of them; anything else a handle."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return value
    if depth < NESTING and type(value) in (list, tuple):
        items = [_out(v, depth + 1) for v in value]
        return items if type(value) is list else tuple(items)
    if (depth < NESTING and type(value) is dict and HANDLE not in value
            and all(isinstance(k, (str, int)) for k in value)):  # a dict shaped like a handle stays a handle
        return {k: _out(v, depth + 1) for k, v in value.items()}
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(value, tf.Tensor) and hasattr(value, "numpy"):  # eager, not symbolic
        return value.numpy()
    if tf is not None and isinstance(value, tf.TensorShape):
        return tuple(value.as_list()) if value.rank is not None else None
    return _handle(value)


def _resolve(value, depth: int = 0):
    """Arguments from the grader: handles become the objects they stand for."""
    if isinstance(value, dict):
        if set(value) == {HANDLE}:
            return _object(value[HANDLE])
        return {k: _resolve(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, depth + 1) for v in value)
    return value


def _object(key):
    if isinstance(key, dict):
        key = key.get(HANDLE)
    try:
        return HANDLES[key]
    except (KeyError, TypeError):
        raise LookupError(f"no object {key!r}: the objects of a check are dropped when it ends") from None


def _dotted(path: str):
    """``keras.applications.VGG16`` and the like: a trusted library's attribute, never the learner's."""
    parts = str(path).split(".")
    if parts[0] not in ROOTS or any(p.startswith("_") for p in parts):
        raise LookupError(f"the judge builds objects from {ROOTS} only, not {path!r}")
    value = __import__(parts[0])
    for part in parts[1:]:
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------
# The calls the grader makes (every one takes and returns plain data)
# --------------------------------------------------------------------------


def new(path, args=(), kwargs=None, salt=0):
    """Calls a library function or class by its dotted name: ``new("keras.layers.Dense", (256,), {...})``.

    A Keras model built from plain arguments alone (no handle among them) is
    built from its recipe's own seed (``transport.recipe_seed`` of the recipe
    and ``salt``, the run's grading seed), so that each build of it in a run
    gets the same weights (kept here after the first: later builds skip the
    random draws), and keeps its recipe (``export``).
    """
    function, kwargs = _dotted(path), kwargs or {}
    resolved_args, resolved_kwargs = _resolve(args), _resolve(kwargs)
    keras = sys.modules.get("keras")
    if keras is None or not (_plain(args) and _plain(kwargs)):
        return _out(function(*resolved_args, **resolved_kwargs))
    key = f"{salt}:{transport.recipe_key(path, list(args), dict(kwargs))}"
    seed = transport.recipe_seed(key)
    value = transport.build_seeded(function, resolved_args, resolved_kwargs, seed, RECIPE_WEIGHTS.get(key))
    if isinstance(value, keras.Model):
        RECIPES[id(value)] = {"model": value, "path": path, "args": list(args), "kwargs": dict(kwargs),
                              "seed": seed}
        if key not in RECIPE_WEIGHTS and value.weights:
            transport.keep_recipe_weights(RECIPE_WEIGHTS, key, value.get_weights())
    return _out(value)


def _plain(value, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if depth < NESTING and type(value) in (list, tuple):
        return all(_plain(v, depth + 1) for v in value)
    if depth < NESTING and type(value) is dict and HANDLE not in value:
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False




def get(key, name):
    return _out(getattr(_object(key), name))


def put(key, name, value):
    setattr(_object(key), name, _resolve(value))


def call(key, args=(), kwargs=None):
    return _out(_object(key)(*_resolve(args), **_resolve(kwargs or {})))


def item(key, index):
    return _out(_object(key)[_resolve(index)])


def length(key):
    return len(_object(key))


def as_array(key):
    """The object's value as a NumPy array (a variable, a tensor)."""
    import keras

    return keras.ops.convert_to_numpy(_object(key))


def reset():
    """Drops every object of the check that ended."""
    HANDLES.clear()
    KEYS.clear()
    RECIPES.clear()


def load_trusted(digest, raw=None):
    """A new model from a file the grader sent (kept by digest: sent once, loaded as often as asked)."""
    if raw is not None:
        if hashlib.sha256(raw).hexdigest() != digest:
            raise ValueError("the model file does not match its digest")
        TRUSTED_ARCHIVES[digest] = raw
    if digest not in TRUSTED_ARCHIVES:
        return {"missing": digest}
    return _out(_load(TRUSTED_ARCHIVES[digest], check=False)[0])


def import_returned(archive, embedded=(), arguments=(), weights_of=None):
    """A model a learner's function returned, as its archive; refused before loading if its config is not safe.

    ``embedded`` lists, as the learner's worker saw them, which layers are
    arguments of the call (``[index in model.layers, argument number]``) or
    layers of a model argument (``[index, argument number, index in its
    layers]``); ``arguments`` holds the handles of the check's own objects
    for those arguments (None for one that is not here). Those layers are
    put back as the check's own objects, so that freezing the check's base
    afterwards changes what the returned model trains, as in the learner's
    own process. Only a copy with the very weights the check passed in is
    replaced: one with other weights is refused with a message. The worker
    packs such a layer without its weights, only their digest.

    ``weights_of``: the names of the layers whose weights the check reads,
    where it asked for those only (None: all). The worker leaves the others
    out; they hold zeros here.
    """
    import keras

    model, omitted = _load(archive, check=True)
    left_out = {index for index, digest in omitted.items() if digest is None}
    if left_out and (weights_of is None or any(model.layers[index].name in weights_of for index in left_out)):
        raise JudgeVerdict("the model your code returned could not be read (it came without the weights of "
                           "layers the check reads).")
    replacements = _replacements(model, embedded, [_resolve(a) for a in arguments], omitted, keras)
    if any(model.layers[index].weights for index in set(omitted) - set(replacements) - left_out):
        raise JudgeVerdict("the model your code returned could not be read (it came without the weights of "
                           "layers that are not the ones the check passed in).")
    return _out(_relinked(model, replacements, keras) if replacements else model)


def export(key, known=(), recipes=True):
    """A model of the judge's as an archive with its trainable flags, for a learner's function to receive.

    ``known`` lists the fingerprints of the archives the grader keeps: for one
    of those, only the fingerprint comes back. A model ``new`` built (and
    not compiled since) comes as its recipe instead, with the digest of its
    weights as they are now: a worker builds it in a tenth of a second, and
    asks for the model itself if the weights it got differ. (Nothing else of a
    built model changes but its flags, which travel apart, and the names
    Keras numbers as it goes, which no check reads.)
    """
    model = _object(key)
    recipe = RECIPES.get(id(model))
    if recipes and recipe is not None and recipe["model"] is model and not getattr(model, "compiled", False):
        return {"recipe": {"path": recipe["path"], "args": recipe["args"], "kwargs": recipe["kwargs"],
                           "seed": recipe["seed"], "weights": transport.weights_digest(model.get_weights())},
                "trainable": transport.trainable_flags(model)}
    digest = transport.fingerprint(model)
    if digest in known:
        return {"fingerprint": digest}
    return {"archive": _archive(model), "trainable": transport.trainable_flags(model), "fingerprint": digest}


def apply_state(key, state, function):
    """Gives the check's model the trainable flags and compilation its copy in the learner's worker was left with."""
    model = _object(key)
    if not transport.set_trainable_flags(model, state.get("trainable") or []):
        raise JudgeVerdict(f"`{function}` changed the layers of the model it was given; it should only change "
                           "their settings.")
    compile_config, rate = state.get("compile_config"), state.get("learning_rate")
    if not state.get("recompiled") and isinstance(rate, float) and getattr(model, "optimizer", None) is not None:
        try:  # a learning rate assigned in place, without compiling again
            model.optimizer.learning_rate.assign(rate)
        except Exception:  # noqa: BLE001 - a schedule, not a variable: nothing to mirror
            pass
    if state.get("recompiled") and isinstance(compile_config, dict):
        _refuse_unsafe_functions(compile_config)
        kept = getattr(model, "optimizer", None) if state.get("optimizer_kept") else None
        try:
            if kept is None:
                model.compile_from_config(compile_config)
            else:  # compiled again with the optimizer it had: this model's own, as it is (built for what it trained)
                import keras

                settings = keras.saving.deserialize_keras_object(compile_config)
                model.compile(**dict(settings, optimizer=kept))
                if isinstance(rate, float):
                    kept.learning_rate.assign(rate)
        except Exception as error:  # noqa: BLE001 - the learner's compile settings are at fault
            raise JudgeVerdict(f"`{function}` compiled the model with settings that cannot be read back "
                               f"({type(error).__name__}: {_text(error, 300)}).") from None


# --------------------------------------------------------------------------
# Models as bytes ("archives": packed by transport.pack_model)
# --------------------------------------------------------------------------


def _archive(model) -> bytes:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transport.pack_model(model)


def _load(raw: bytes, check: bool):
    import warnings

    import keras

    try:
        config = transport.model_config(raw)["config"]
    except transport.ProtocolError as error:
        raise JudgeVerdict(f"the model your code returned could not be read ({error}).") from None
    if check:
        _refuse_unsafe_functions(config)
    _fix_keras_round_trips(keras)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' notes on loading are not the learner's output
            model, omitted = transport.unpack_model(raw)
    except transport.ProtocolError as error:
        raise JudgeVerdict(f"the model your code returned could not be read ({error}).") from None
    except Exception as error:  # noqa: BLE001 - the learner's model, not the grader, is at fault
        raise JudgeVerdict(
            "the model your code returned cannot be loaded safely "
            f"({type(error).__name__}: {_text(error, 400)}). Build it from Keras' own layers, "
            "without Lambda layers or custom classes."
        ) from None
    return transport.fresh_graph(model), omitted


def _refuse_unsafe_functions(config) -> None:
    """Refuses a config naming anything but Keras' own classes and its activations, losses and metrics.

    A function counts only by name among Keras' activations, losses and
    metrics. Any other entry must name, by module and class, a class of
    Keras' (Keras would return a function named as a class as it is, and
    call it); ``Lambda`` and ``TFSMLayer`` (code, or a saved graph, inside a
    layer) are refused outright.
    """
    import inspect

    import keras

    allowed = {name for module in FUNCTION_MODULES for name, value in vars(getattr(keras, module)).items()
               if inspect.isfunction(value) and name not in ("get", "serialize", "deserialize")}
    stack = [config]
    while stack:
        entry = stack.pop()
        if isinstance(entry, list):
            stack += entry
        elif isinstance(entry, dict):
            stack += entry.values()
            named, module = entry.get("class_name"), entry.get("module")
            if named == "function" and entry.get("config") not in allowed:
                raise JudgeVerdict(
                    f"the model your code returned uses `{_text(entry.get('config'), 100)}` as an activation, loss "
                    "or metric; only Keras' own activations, losses and metrics may be named there "
                    "(e.g. activation=\"relu\", loss=\"binary_crossentropy\").")
            if isinstance(named, str) and named != "function" and not (module is None and named in KERAS_MARKERS):
                _expect_keras_class(module, named, entry.get("registered_name"))


REFUSED_CLASSES = ("Lambda", "TFSMLayer")
# Entries of a config that are values, not objects (a functional model's tensors, arrays, bytes, slices).
KERAS_MARKERS = ("__keras_tensor__", "__tensor__", "__numpy__", "__typespec__", "__bytes__", "__slice__",
                 "__ellipsis__", "__tuple__")


def _expect_keras_class(module, named: str, registered) -> None:
    """Refuses an entry that does not name a class of Keras' own (by its module and name)."""
    import importlib
    import inspect

    found = None
    if isinstance(module, str) and (module == "keras" or module.startswith("keras.")) and named.isidentifier():
        try:
            found = getattr(importlib.import_module(module), named, None)
        except ImportError:
            found = None
    if (not inspect.isclass(found) or named in REFUSED_CLASSES
            or registered not in (None, named) and registered != f"{module}>{named}"):
        raise JudgeVerdict(f"the model your code returned holds `{_text(named, 100)}` from `{_text(module, 100)}`, "
                           "which is not one of Keras' own classes (or is a Lambda layer); build it from Keras' own "
                           "layers, without Lambda layers or custom classes.")


def _fix_keras_round_trips(keras) -> None:
    """Lets Keras read back what it wrote: ``RandomShear`` saves ``0.2`` as ``[-0.2, 0.2]`` and refuses it."""
    shear = keras.layers.RandomShear
    if getattr(shear, "_grader_round_trip", False):
        return
    original = shear.from_config.__func__

    def from_config(cls, config):
        for key in ("x_factor", "y_factor"):
            value = config.get(key)
            if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == -value[1]:
                config = dict(config, **{key: abs(value[1])})
        return original(cls, config)

    shear.from_config = classmethod(from_config)
    shear._grader_round_trip = True


def _replacements(model, embedded, arguments, omitted, keras) -> dict:
    """``{index in model.layers: the check's own layer}`` for the layers the worker says are arguments (or theirs)."""
    layers = list(model.layers)
    found = {}
    for entry in embedded:
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise ValueError(f"an embedded layer described as {entry!r}")
        index, number = entry[0], entry[1]
        if not isinstance(number, int) or not 0 <= number < len(arguments) or arguments[number] is None:
            continue  # an argument that does not live here (the check kept it in the grader): the copy stays
        original = arguments[number]
        if len(entry) == 3:
            owned = getattr(original, "layers", None)
            if not isinstance(entry[2], int) or owned is None or not 0 <= entry[2] < len(owned):
                raise ValueError(f"an embedded layer described as {entry!r}")
            original = owned[entry[2]]
        if not isinstance(index, int) or not 0 <= index < len(layers):
            raise ValueError(f"an embedded layer described as {entry!r}")
        if not isinstance(original, keras.layers.Layer) or type(original).__name__ == "InputLayer":
            continue
        if index in omitted:
            _expect_same_digest(omitted[index], layers[index], original)
        else:
            _expect_same_weights(layers[index], original)
        found[index] = original
    return found


def _relinked(model, replacements, keras):
    from keras.src.models.functional import Functional

    layers = list(model.layers)
    try:
        if isinstance(model, keras.Sequential):
            for index, replacement in replacements.items():
                layers[index] = replacement
            compile_config = model.get_compile_config() if model.compiled else None
            rebuilt = keras.Sequential([keras.Input(model.input_shape[1:]), *layers], name=model.name)
            if compile_config:
                rebuilt.compile_from_config(compile_config)
        elif isinstance(model, Functional):
            by_id = {id(layers[index]): replacement for index, replacement in replacements.items()}
            rebuilt = keras.models.clone_model(model, clone_function=lambda layer: by_id.get(id(layer), layer))
        else:
            return model
    except Exception as error:  # noqa: BLE001 - a model Keras cannot rebuild around the check's own layers
        raise JudgeVerdict(
            "the model your code returned holds the model it was given, but it cannot be rebuilt around it "
            f"({type(error).__name__}: {_text(error, 300)}). Build it from Keras' own layers, "
            "with the given model used as a layer (keras.Sequential([..., conv_base, ...]) or x = conv_base(inputs))."
        ) from None
    if not model.trainable:  # the outer flag only: setting it would also set every layer's, the base's included
        rebuilt._trainable = False
    return rebuilt


def _expect_same_weights(copy, original) -> None:
    import numpy as np

    ours, theirs = original.get_weights(), copy.get_weights()
    same = type(copy) is type(original) and len(ours) == len(theirs) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(ours, theirs))
    if not same:
        differ = sum(1 for a, b in zip(ours, theirs) if a.shape != b.shape or not np.array_equal(a, b))
        differ += abs(len(ours) - len(theirs))
        _other_weights(original, f"{differ} of its {max(len(ours), len(theirs))} weight tensors differ")


def _expect_same_digest(digest: str, copy, original) -> None:
    """A layer sent without its weights (``copy`` holds zeros) must be of ``original``'s kind and shapes, and
    stand, by the worker's word (``digest``), for ``original``'s very weights."""
    shapes = [tuple(w.shape) for w in copy.weights] == [tuple(w.shape) for w in original.weights]
    if type(copy) is not type(original) or not shapes:
        _other_weights(original, "its kind or the shapes of its weight tensors differ")
    if transport.weights_digest(original.get_weights()) != digest:
        _other_weights(original, "its weight tensors differ")


def _other_weights(original, how: str) -> None:
    raise JudgeVerdict(
        f"the model your code returned holds `{original.name}`, the model (or layer) it was given, but with other "
        f"weights: {how} from the ones it was given. Building a model around it must leave its weights as they "
        "are (no fit, set_weights, load_weights or re-initialising here)."
    )


def _text(value, limit: int) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
