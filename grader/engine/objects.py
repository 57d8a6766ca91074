"""The grader's side of objects beyond plain data: Keras models, datasets, figures.

What a worker sends back is never rebuilt into a live object here:

- a Keras model goes, packed (``transport.pack_model``), to the judge (``grader/remote/judge.py``),
  a separate fenced process where the checks' own Keras objects live; the
  check gets a handle to it (``grader/engine/handles.py``). Layers of it that were
  arguments of the call (the base of a frozen model) become the check's own
  objects again there, if their weights are those the check passed in;
- a ``tf.data`` dataset, a Matplotlib figure and a ``History`` arrive as the
  plain data they hold (``grader/engine/described.py``); a tensor as a NumPy array.

Objects a check passes in travel the other way: a model as its archive (from
the judge for a handle, or made here for a model of the check's own), a
dataset as a handle whose passes the worker reads from here on demand, so a
dataset that reshuffles on every pass does so for the learner's code too.
What a call changes in place is reported; a model's trainable flags and
compilation are applied to the check's model, in the judge (flags only to a
model the check keeps here).
"""

from __future__ import annotations


import numpy as np

from grader.engine import described
from grader.engine.verdicts import CheckFailure
from grader.remote import transport


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


def encode_argument(value, buffers: list[bytes], handles: DatasetHandles, engine=None, sent: set | None = None,
                    recipes: bool = True):
    """Encodes an object a check passes to student code (None: not an object this knows).

    A model travels packed (config and weights) the first time, and by its digest
    after that (``sent`` holds the digests the worker keeps); one the judge built
    and kept as built travels as its recipe (while ``recipes``).
    """
    from grader.engine.handles import RemoteObject

    if type(value) is RemoteObject:
        return engine.judge.model_argument(value, buffers, sent, recipes)
    module = type(value).__module__ or ""
    if not module.startswith(("keras", "tensorflow")):
        return None
    import keras
    import tensorflow as tf

    if isinstance(value, keras.Model):
        return model_argument(ARCHIVES.archive(value), transport.trainable_flags(value), buffers, sent)
    if isinstance(value, tf.data.Dataset):
        return {transport.DATASET_HANDLE: {"handle": handles.add(value),
                                           "cardinality": int(value.cardinality().numpy()),
                                           "spec": transport.describe_spec(value.element_spec)}}
    if isinstance(value, keras.callbacks.History):
        return {transport.HISTORY: transport.encode(transport.history_record(value), buffers)}
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return {transport.TENSOR: transport.encode(value.numpy(), buffers)}
    return None


def model_argument(archive: bytes, flags: list, buffers: list[bytes], sent: set | None) -> dict:
    digest = archive_digest(archive)
    if sent is not None and digest in sent:
        return {transport.MODEL: {"digest": digest, "trainable": flags}}
    buffers.append(archive)
    if sent is not None:
        sent.add(digest)
    return {transport.MODEL: {"archive": len(buffers) - 1, "trainable": flags}}


class _Digested(bytes):
    """An archive that remembers its digest (the caches below keep these, so each is hashed once)."""

    digest: str


def digested(archive: bytes) -> bytes:
    import hashlib

    kept = _Digested(archive)
    kept.digest = hashlib.sha256(archive).hexdigest()
    return kept


def archive_digest(archive: bytes) -> str:
    import hashlib

    return getattr(archive, "digest", None) or hashlib.sha256(archive).hexdigest()


class ArchiveCache:
    """Archives of the models checks pass in, kept while the model stays as it was.

    A check that calls Grad-CAM on 50 images with one model saves it once.
    """

    def __init__(self, size: int = 4):
        self.size = size
        self.entries: dict[int, tuple] = {}  # id(model) -> (weak reference, fingerprint, archive)

    def archive(self, model) -> bytes:
        import weakref

        fingerprint = transport.fingerprint(model)
        entry = self.entries.get(id(model))
        if entry is not None and entry[0]() is model and entry[1] == fingerprint:
            return entry[2]
        raw = model_archive(model)
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        raw = digested(raw)
        self.entries[id(model)] = (weakref.ref(model), fingerprint, raw)
        return raw


ARCHIVES = ArchiveCache()


def model_archive(model) -> bytes:
    return transport.pack_model(model)


# --------------------------------------------------------------------------
# Results, worker -> grader
# --------------------------------------------------------------------------


def decode_result(tree, buffers, originals: Originals, engine=None, options: dict | None = None):
    """What a call returned, for the check: ``options`` are the call's (``model_weights``: the layers whose
    weights a returned model brings; the others hold zeros in the judge)."""
    return transport.decode(tree, buffers, _decoders(originals, engine, (options or {}).get("model_weights")))


def _decoders(originals: Originals, engine, weights_of) -> dict:
    return {
        transport.ARGUMENT: lambda payload, buffers: originals.get(payload),
        transport.MODEL: lambda payload, buffers: returned_model(payload, buffers, originals, engine, weights_of),
        transport.HISTORY: lambda payload, buffers: _history(transport.decode(payload, buffers)),
        transport.DATASET: lambda payload, buffers: recorded_dataset(payload, buffers),
        transport.FIGURE: lambda payload, buffers: returned_figure(payload, buffers),
    }


def returned_figure(payload, buffers) -> described.DrawnFigure:
    """A figure's description, judged against the caps before any of it is decoded."""
    size = described.encoded_size(payload)
    if size > described.FIGURE_VALUES:
        return described.DrawnFigure(axes=[], suptitle="", size_inches=(0.0, 0.0), dpi=0.0,
                                     too_large=f"its description holds {size:,} values and arrays (at most "
                                               f"{described.FIGURE_VALUES:,} are read)")
    return described.figure_from(transport.decode(payload, buffers))


def returned_model(payload, buffers, originals: Originals, engine, weights_of=None):
    """A model the learner's code returned: loaded in the judge, never here; the check gets its handle."""
    if not isinstance(payload, dict):
        raise transport.ProtocolError("a malformed model")
    archive = transport._buffer(buffers, payload.get("archive"))
    embedded = payload.get("embedded") or []
    if not isinstance(embedded, list):
        raise transport.ProtocolError("a malformed list of embedded layers")
    return engine.judge.import_returned(archive, embedded, originals, weights_of)


def _history(recorded) -> described.RecordedHistory:
    if not isinstance(recorded, dict) or not isinstance(recorded.get("history"), dict):
        raise transport.ProtocolError("a malformed History")
    return described.RecordedHistory(history=recorded["history"], epoch=list(recorded.get("epoch") or []))


def recorded_dataset(payload: dict, buffers) -> described.RecordedDataset:
    """A dataset the learner's code returned, as the passes the worker recorded (plain arrays, never a tf.data dataset)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("passes"), list):
        raise transport.ProtocolError("a malformed recorded dataset")
    passes = [[transport.decode(e, buffers) for e in elements] for elements in payload["passes"]]
    cardinality = payload.get("cardinality", -2)
    return described.RecordedDataset(passes, cardinality if isinstance(cardinality, int) else -2, payload.get("spec"))


# --------------------------------------------------------------------------
# In-place changes of arguments, mirrored on the check's own objects
# --------------------------------------------------------------------------


def apply_changes(changes, buffers, originals: Originals, function: str, engine=None) -> dict:
    """What the call did to its arguments in place.

    A model's trainable flags and compilation are applied to the check's own
    model, in the judge: freezing, unfreezing and recompiling are what the
    course's functions are for. A model the check keeps in this process gets
    the flags only (plain booleans; a compilation stays in the judge's world).
    Nothing else is applied (a check's arrays stay as the check made them, so
    no answer can be planted in them); it is returned, ``{("arg", i) or
    ("kwarg", name): value as the call left it}``, for checks that arguments
    were left alone.
    """
    from grader.engine.handles import RemoteObject

    changed = {}
    for reference, tree in changes:
        original = originals.get(reference)
        key = (str(reference[0]), reference[1])
        if isinstance(tree, dict) and transport.MODEL_STATE in tree:
            state = transport.decode(tree[transport.MODEL_STATE], buffers)
            if type(original) is RemoteObject:
                engine.judge.ask("apply_state", original, state, function)
            else:
                apply_trainable_flags(original, state.get("trainable") or [], function)
            changed[key] = ModelChanged(bool(state.get("weights_changed")))
            continue
        changed[key] = transport.decode(tree, buffers, _decoders(originals, engine, None))
    return changed


class ModelChanged:
    """Stands for a model argument the call changed (flags, compilation, or weights)."""

    def __init__(self, weights_changed: bool):
        self.weights_changed = weights_changed

    def __repr__(self) -> str:
        return "<a model the call changed" + (", weights included>" if self.weights_changed else ">")


def apply_trainable_flags(model, flags: list, function: str) -> None:
    """Gives a model the check keeps here the trainable flags the call left its copy with."""
    if not transport.set_trainable_flags(model, flags):
        raise CheckFailure(f"`{function}` changed the layers of the model it was given; it should only change "
                           "their settings.")
