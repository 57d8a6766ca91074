"""The grader's side of objects beyond plain data: Keras models, datasets, figures.

What a worker sends is rebuilt here from plain data only:

- a Keras model from its ``.keras`` archive, loaded with ``safe_mode=True``
  (a ``Lambda`` layer or other custom code is refused, never run); a model
  argument it holds (the base of a frozen model: in a Sequential, called in a
  functional model, or its layers spliced in through ``.output``) is the
  check's own object again, if its weights are those the check passed in;
- a ``tf.data`` dataset as the passes the worker recorded, replayed in order;
- a Matplotlib figure redrawn from its description (axes, titles, labels,
  legend texts, every line and scatter collection with its data and style);
- a tensor as a constant; a History as a History.

Objects a check passes in travel the other way: a model as its archive, a
dataset as a handle whose passes the worker reads from here on demand, so a
dataset that reshuffles on every pass does so for the learner's code too.
What a call changes in place is reported, not applied, except a model's
trainable flags and compilation (``apply_changes``).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from grader import transport
from grader.verdicts import CheckFailure


class Originals:
    """The arguments of one call, as the check passed them (for ``$argument`` references)."""

    def __init__(self, args, kwargs):
        self.args, self.kwargs = list(args), dict(kwargs)

    def get(self, reference):
        kind, key = reference
        if kind == "arg" and isinstance(key, int) and 0 <= key < len(self.args):
            return self.args[key]
        if kind == "kwarg" and key in self.kwargs:
            return self.kwargs[key]
        raise transport.ProtocolError(f"a reference to an argument that does not exist ({reference!r})")


# --------------------------------------------------------------------------
# Arguments, grader -> worker
# --------------------------------------------------------------------------


class DatasetHandles:
    """The datasets of one call, served pass by pass to the worker."""

    def __init__(self):
        self.datasets: list = []
        self.iterators: dict[int, object] = {}

    def add(self, dataset) -> int:
        self.datasets.append(dataset)
        return len(self.datasets) - 1

    def serve(self, sock, request: dict) -> None:
        import tensorflow as tf

        handle = request.get("handle")
        if not isinstance(handle, int) or not 0 <= handle < len(self.datasets):
            raise transport.ProtocolError("a request for a dataset that was not passed")
        if request.get("action") == "open":
            self.iterators[handle] = iter(self.datasets[handle])
        iterator = self.iterators.get(handle)
        try:
            element = next(iterator) if iterator is not None else None
        except StopIteration:
            element = None
        if element is None:
            transport.send(sock, {"end": True})
            return
        buffers: list[bytes] = []
        tree = transport.encode(tf.nest.map_structure(_to_numpy, element), buffers)
        transport.send(sock, {"element": tree}, buffers)


def _to_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def encode_argument(value, buffers: list[bytes], handles: DatasetHandles):
    """Encodes an object a check passes to student code (None: not an object this knows)."""
    module = type(value).__module__ or ""
    if not module.startswith(("keras", "tensorflow")):
        return None
    import keras
    import tensorflow as tf

    if isinstance(value, keras.Model):
        buffers.append(ARCHIVES.archive(value))
        return {"$keras": {"archive": len(buffers) - 1, "trainable": trainable_flags(value)}}
    if isinstance(value, tf.data.Dataset):
        return {"$dataset_handle": {"handle": handles.add(value), "cardinality": int(value.cardinality().numpy()),
                                    "spec": transport.describe_spec(value.element_spec)}}
    if isinstance(value, keras.callbacks.History):
        return {"$history": transport.encode(dict(value.history), buffers)}
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return {"$tensor": transport.encode(value.numpy(), buffers)}
    return None


class ArchiveCache:
    """Archives of the models checks pass in, kept while the model stays as it was.

    A check that calls Grad-CAM on 50 images with one model saves it once.
    """

    def __init__(self, size: int = 8):
        self.size = size
        self.entries: dict[int, tuple] = {}  # id(model) -> (weak reference, fingerprint, archive)

    def archive(self, model) -> bytes:
        import weakref

        fingerprint = model_fingerprint(model)
        entry = self.entries.get(id(model))
        if entry is not None and entry[0]() is model and entry[1] == fingerprint:
            return entry[2]
        raw = model_archive(model)
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[id(model)] = (weakref.ref(model), fingerprint, raw)
        return raw


def model_fingerprint(model) -> str:
    """A digest of everything an archive holds that a check may change: weights, flags, compilation."""
    import hashlib
    import json

    digest = hashlib.blake2b(digest_size=16)
    for weight in model.get_weights():
        digest.update(str(weight.shape).encode())
        digest.update(np.ascontiguousarray(weight).tobytes())
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    digest.update(json.dumps([trainable_flags(model), compile_config, model.name], default=str).encode())
    return digest.hexdigest()


ARCHIVES = ArchiveCache()


def model_archive(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as archive:
            return archive.read()


def all_layers(model) -> list:
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += all_layers(layer)
    return found


def trainable_flags(model) -> list[bool]:
    return [layer.trainable for layer in all_layers(model)] + [model.trainable]


# --------------------------------------------------------------------------
# Results, worker -> grader
# --------------------------------------------------------------------------


def decode_result(tree, buffers, originals: Originals):
    return transport.decode(tree, buffers, _decoders(originals))


def _decoders(originals: Originals) -> dict:
    return {
        "$argument": lambda payload, buffers: originals.get(payload),
        "$keras": lambda payload, buffers: load_model(payload, buffers, originals),
        "$tensor": lambda payload, buffers: _constant(transport.decode(payload, buffers)),
        "$history": lambda payload, buffers: _history(transport.decode(payload, buffers)),
        "$dataset": lambda payload, buffers: recorded_dataset(payload, buffers),
        "$figure": lambda payload, buffers: rebuild_figure(transport.decode(payload, buffers)),
    }


def _constant(array):
    import tensorflow as tf

    return tf.constant(array)


def _history(history_dict):
    import keras

    history = keras.callbacks.History()
    history.history = history_dict
    return history


def load_archive(raw: bytes):
    """A model from a worker's ``.keras`` archive; custom code in it is refused, never run."""
    import keras

    _fix_keras_round_trips(keras)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as archive:
            archive.write(raw)
        try:
            return fresh_graph(keras.saving.load_model(path, compile=True, safe_mode=True))
        except Exception as error:  # noqa: BLE001 - the learner's model, not the grader, is at fault
            raise CheckFailure(
                "the model your code returned cannot be loaded safely "
                f"({type(error).__name__}: {transport.clean_text(error, 400)}). Build it from Keras' own layers, "
                "without Lambda layers or custom classes."
            ) from None


def fresh_graph(model):
    """A loaded Sequential model whose layers' ``.output`` belong to its current graph.

    Loading adds the layers one by one, and Keras rebuilds the graph at each
    step; each layer's ``.output`` then still names its first, stale call,
    and ``keras.Model(model.inputs, layer.output)`` (Grad-CAM, activation
    models) would be disconnected. The model is rebuilt once, from clean layers.
    """
    import keras

    if isinstance(model, keras.Sequential) and getattr(model, "_functional", None) is not None:
        for layer in model.layers:
            layer._inbound_nodes.clear()
            layer._outbound_nodes.clear()
        model._maybe_rebuild()
    return model


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


def load_model(payload: dict, buffers, originals: Originals):
    """A returned model; layers of it that were arguments of the call are the check's own objects again.

    The learner's model holds the very ``conv_base`` it was given (put in a
    ``Sequential``, called on a functional model's input, or its layers
    spliced into a functional model through ``conv_base.output``). The
    archive holds a copy; the check's own base (or its layers) takes the
    copy's place, so that what the check then does to its base (freeze,
    unfreeze) changes what the model trains, as it would in the learner's
    process. Only a copy with the very weights the check passed in is
    replaced: a model whose embedded base has other weights is refused with
    a message, never silently given the check's.
    """
    import keras

    model = load_archive(transport._buffer(buffers, payload.get("archive")))
    replacements = _embedded_replacements(model, payload.get("embedded") or [], originals, keras)
    if not replacements:
        return model
    layers = list(model.layers)
    try:
        if isinstance(model, keras.Sequential):
            for index, replacement in replacements.items():
                layers[index] = replacement
            compile_config = model.get_compile_config() if model.compiled else None
            rebuilt = keras.Sequential([keras.Input(model.input_shape[1:]), *layers], name=model.name)
            if compile_config:
                rebuilt.compile_from_config(compile_config)
        elif _is_functional(model):
            by_id = {id(layers[index]): replacement for index, replacement in replacements.items()}
            rebuilt = keras.models.clone_model(model, clone_function=lambda layer: by_id.get(id(layer), layer))
        else:
            return model
    except Exception as error:  # noqa: BLE001 - a model Keras cannot rebuild around the check's own layers
        raise CheckFailure(
            "the model your code returned holds the model it was given, but it cannot be rebuilt around it "
            f"({type(error).__name__}: {transport.clean_text(error, 300)}). Build it from Keras' own layers, "
            "with the given model used as a layer (keras.Sequential([..., conv_base, ...]) or x = conv_base(inputs))."
        ) from None
    if not model.trainable:  # the outer flag only: setting it would also set every layer's, the base's included
        rebuilt._trainable = False
    return rebuilt


def _is_functional(model) -> bool:
    from keras.src.models.functional import Functional

    return isinstance(model, Functional)


def _embedded_replacements(model, embedded, originals: Originals, keras) -> dict:
    """``{index in model.layers: the check's own layer}`` for the layers the worker says are arguments (or theirs)."""
    layers = list(model.layers)
    replacements = {}
    for entry in embedded:
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise transport.ProtocolError(f"an embedded layer described as {entry!r}")
        index, original = entry[0], originals.get(entry[1])
        if len(entry) == 3:
            owned = getattr(original, "layers", None)
            if not isinstance(entry[2], int) or owned is None or not 0 <= entry[2] < len(owned):
                raise transport.ProtocolError(f"an embedded layer described as {entry!r}")
            original = owned[entry[2]]
        if not isinstance(index, int) or not 0 <= index < len(layers):
            raise transport.ProtocolError(f"an embedded layer described as {entry!r}")
        if not isinstance(original, keras.layers.Layer) or type(original).__name__ == "InputLayer":
            continue
        _expect_same_weights(layers[index], original)
        replacements[index] = original
    return replacements


def _expect_same_weights(copy, original) -> None:
    """Checks that the archive's copy of a layer the check passed in still holds that layer's weights."""
    ours, theirs = original.get_weights(), copy.get_weights()
    same = type(copy) is type(original) and len(ours) == len(theirs) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(ours, theirs))
    if not same:
        differ = sum(1 for a, b in zip(ours, theirs) if a.shape != b.shape or not np.array_equal(a, b))
        differ += abs(len(ours) - len(theirs))
        raise CheckFailure(
            f"the model your code returned holds `{original.name}`, the model (or layer) it was given, but with other "
            f"weights: {differ} of its {max(len(ours), len(theirs))} weight tensors differ from the ones it was "
            "given. Building a model around it must leave its weights as they are (no fit, set_weights, "
            "load_weights or re-initialising here)."
        )


def recorded_dataset(payload: dict, buffers):
    """A dataset the learner's code returned, as the passes the worker recorded, replayed in order."""
    import tensorflow as tf

    spec = transport.tensor_spec(payload["spec"])
    passes = [[transport.decode(e, buffers) for e in elements] for elements in payload["passes"]]
    state = {"next": 0}

    def replay():
        if state["next"] >= len(passes):
            raise CheckFailure(f"the check read the dataset more than the {len(passes)} times recorded")
        elements = passes[state["next"]]
        state["next"] += 1
        yield from elements

    dataset = tf.data.Dataset.from_generator(replay, output_signature=spec)
    cardinality = int(payload.get("cardinality", -2))
    return dataset.apply(tf.data.experimental.assert_cardinality(cardinality)) if cardinality >= 0 else dataset


def rebuild_figure(description: dict):
    """A Matplotlib figure drawn from a worker's description of one.

    Every axes is placed where it was, with its title, labels, scales and
    legend; every line and scatter collection is drawn again with its data,
    label, marker, line style and colour. Checks then judge it as a figure.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=tuple(description.get("size") or (6.4, 4.8)))
    if description.get("suptitle"):
        figure.suptitle(str(description["suptitle"]))
    for axes in description.get("axes", []):
        ax = figure.add_axes(axes.get("position") or [0.1, 0.1, 0.8, 0.8])
        ax.set_title(str(axes.get("title", "")))
        ax.set_xlabel(str(axes.get("xlabel", "")))
        ax.set_ylabel(str(axes.get("ylabel", "")))
        for line in axes.get("lines", []):
            ax.plot(line["x"], line["y"], label=line.get("label"), marker=_marker(line.get("marker")),
                    linestyle=_linestyle(line.get("linestyle")), color=tuple(line.get("color") or (0, 0, 0, 1)),
                    visible=bool(line.get("visible", True)))
        for collection in axes.get("collections", []):
            offsets = np.asarray(collection.get("offsets"), dtype=float).reshape(-1, 2)
            colours = np.asarray(collection.get("facecolors"), dtype=float).reshape(-1, 4)
            sizes = np.asarray(collection.get("sizes"), dtype=float).reshape(-1)
            ax.scatter(offsets[:, 0], offsets[:, 1], label=collection.get("label"),
                       c=colours if len(colours) in (1, len(offsets)) else None,
                       s=sizes if len(sizes) in (1, len(offsets)) else None,
                       visible=bool(collection.get("visible", True)))
        for scale, setter in (("xscale", ax.set_xscale), ("yscale", ax.set_yscale)):
            try:
                setter(str(axes.get(scale, "linear")))
            except ValueError:
                pass
        if axes.get("legend") is not None:
            handles, labels = ax.get_legend_handles_labels()
            by_label = dict(zip(labels, handles))
            texts = [str(t) for t in axes["legend"]]
            if all(t in by_label for t in texts):
                ax.legend([by_label[t] for t in texts], texts)
            else:  # a legend whose texts name no series: kept as texts, in their order
                ax.legend(handles[: len(texts)], texts[: len(handles)]) if handles else ax.legend(texts)
    return figure


def _marker(marker):
    return None if marker in (None, "None", "none", "") else str(marker)


def _linestyle(style):
    return "None" if style in (None, "None", "none", "") else str(style)


# --------------------------------------------------------------------------
# In-place changes of arguments, mirrored on the check's own objects
# --------------------------------------------------------------------------


def apply_changes(changes, buffers, originals: Originals, function: str) -> dict:
    """What the call did to its arguments in place.

    A model's trainable flags and compilation are applied to the check's own
    model: freezing, unfreezing and recompiling are what the course's
    functions are for. Nothing else is applied (a check's arrays stay as the
    check made them, so no answer can be planted in them); it is returned,
    ``{("arg", i) or ("kwarg", name): value as the call left it}``, for
    checks that arguments were left alone.
    """
    changed = {}
    for reference, tree in changes:
        original = originals.get(reference)
        key = (str(reference[0]), reference[1])
        if isinstance(tree, dict) and "$model_state" in tree:
            state = transport.decode(tree["$model_state"], buffers)
            apply_model_state(original, state, function)
            changed[key] = ModelChanged(bool(state.get("weights_changed")))
            continue
        changed[key] = transport.decode(tree, buffers, _decoders(originals))
    return changed


class ModelChanged:
    """Stands for a model argument the call changed (flags, compilation, or weights)."""

    def __init__(self, weights_changed: bool):
        self.weights_changed = weights_changed

    def __repr__(self) -> str:
        return "<a model the call changed" + (", weights included>" if self.weights_changed else ">")


def apply_model_state(model, state: dict, function: str) -> None:
    """Gives the check's model the trainable flags and compilation the call left its copy with."""
    flags = state.get("trainable") or []
    layers = all_layers(model)
    if len(flags) != len(layers) + 1:
        raise CheckFailure(f"`{function}` changed the layers of the model it was given; it should only change "
                           "their settings.")
    model.trainable = bool(flags[-1])
    for layer, flag in zip(layers, flags[:-1]):
        layer.trainable = bool(flag)
    compile_config = state.get("compile_config")
    rate = state.get("learning_rate")
    if not state.get("recompiled") and isinstance(rate, float) and getattr(model, "optimizer", None) is not None:
        try:  # a learning rate assigned in place, without compiling again
            model.optimizer.learning_rate.assign(rate)
        except Exception:  # noqa: BLE001 - a schedule, not a variable: nothing to mirror
            pass
    if state.get("recompiled") and isinstance(compile_config, dict):
        try:
            model.compile_from_config(compile_config)
        except Exception as error:  # noqa: BLE001 - the learner's compile settings are at fault
            raise CheckFailure(f"`{function}` compiled the model with settings that cannot be read back "
                               f"({type(error).__name__}: {transport.clean_text(error, 300)}).") from None
