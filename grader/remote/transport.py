"""Plain data between the grader and a worker: framing and a codec.

A message is a JSON header followed by raw buffers::

    8 bytes   big-endian length of the header
    header    UTF-8 JSON; ``header["buffers"]`` lists the length of each buffer
    buffers   the bytes of each buffer, back to back

Values travel as a JSON tree in which anything JSON cannot say is a tagged
object (``{"$tuple": [...]}``, ``{"$array": buffer index}``, ...). Arrays travel
as ``.npy`` bytes and are read back with ``allow_pickle=False``: nothing that
crosses can carry code, and neither side ever unpickles what the other sent.

This module is copied into each worker's private runtime folder and imported
there with ``python -I``: it uses only the standard library, NumPy and, for the
element specs of datasets, TensorFlow (both lazily, so a worker can start
before they are imported).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import select
import struct
import time

# A worker is untrusted: whatever it sends is read within these bounds, so a
# flood of output costs the check that caused it, not the grader's memory.
MAX_HEADER_BYTES = 16 * 2**20
# Every answer is held whole in memory before it is read: far above any honest answer (VGG16's weights, the
# largest, are 58 MB), far below what would strain the grader.
MAX_MESSAGE_BYTES = 128 * 2**20
MAX_DEPTH = 64
MAX_TEXT = 2_000  # characters of student text (messages, reprs) kept per item

LENGTH = struct.Struct(">Q")


class ChannelClosed(EOFError):
    """The other side closed the channel (a worker that died or exited)."""


class ChannelTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


class ProtocolError(ValueError):
    """What arrived is not a message this protocol allows."""


class MessageTooLarge(ProtocolError):
    """A message larger than the protocol allows: refused before it is read."""

    def __init__(self, what: str, size: int, limit: int):
        super().__init__(f"{what} of {size / 2**20:,.1f} MB, where at most {limit / 2**20:,.0f} MB may cross")
        self.size, self.limit = size, limit


# --------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------


# The protocol's tags beyond plain data, declared once: ``{TAG: payload}`` in a tree, made by one side and read
# by the other through ``decode``'s ``extensions`` (grep a name to find both ends).
MODEL = "$keras"  # a Keras model: config and weights packed, a digest the other side keeps, or a recipe
MODEL_STATE = "$model_state"  # what a call did to a model argument: trainable flags, compilation, weights changed
ARGUMENT = "$argument"  # one of the call's own arguments, returned as it is (named, never sent back)
DATASET = "$dataset"  # a dataset the learner's code returned: the passes the worker recorded
DATASET_HANDLE = "$dataset_handle"  # a dataset the check passed: served by the grader, one batch at a time
HISTORY = "$history"  # a keras.callbacks.History: its history dict and epochs
FIGURE = "$figure"  # a Matplotlib figure: its description (grader/engine/described.py)
TENSOR = "$tensor"  # a TensorFlow tensor, as its NumPy array

# The protocol's messages, declared once: a header ``{"op": NAME, ...its fields}`` (grep a name for both ends).
# A worker, as it starts, says one of the first five (after FENCED, one of the other four):
FENCED = "fenced"  # {fence: the fence's report}, before anything of the learner's runs
FENCE_REFUSED = "fence_refused"  # {missing: [parts]}: a required part of the fence did not hold; nothing ran
FENCE_INCOMPLETE = "fence_incomplete"  # {}: no mount namespace where the machine gives one; the grader starts another
IMPORT_ERROR = "import_error"  # {error: the exception, described}: the learner's module could not be imported
READY = "ready"  # {names: {name: kind}}: the module is imported, calls may come
# Then the grader calls, and the worker answers each call with one of the next four, after any SERVE_DATASET:
CALL = "call"  # {function, args, kwargs, options, seed, environ}
RETURNED = "returned"  # {value, changed: the arguments the call changed in place}
RAISED = "raised"  # {error, changed, while?}: the learner's exception (or one reading its result)
FAILED = "failed"  # {why}: the worker could not read the arguments
MISSING_ARCHIVE = "missing_archive"  # {digest}: a model named by digest the worker no longer keeps: send it again
SERVE_DATASET = "dataset"  # {handle, action: "open" or "next"}: the next batch of a dataset the grader serves

def send(sock, header: dict, buffers: list[bytes] = ()) -> None:
    """Sends one message: ``header`` (JSON-able) and its raw ``buffers``."""
    header = dict(header, buffers=[len(b) for b in buffers])
    body = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    sock.sendall(LENGTH.pack(len(body)) + body)
    for buffer in buffers:
        sock.sendall(buffer)


def receive(sock, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Receives one message, waiting at most until ``deadline`` (``time.monotonic``).

    Raises:
        ChannelTimeout: the deadline passed first.
        ChannelClosed: the other side closed the channel.
        ProtocolError: the message is malformed or too large.
    """
    (size,) = LENGTH.unpack(_read_exactly(sock, LENGTH.size, deadline))
    if size > MAX_HEADER_BYTES:
        raise MessageTooLarge("a message header", size, MAX_HEADER_BYTES)
    try:
        header = json.loads(_read_exactly(sock, size, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"a message header that is not JSON ({error})") from None
    lengths = header.get("buffers") if isinstance(header, dict) else None
    if not isinstance(lengths, list) or not all(isinstance(n, int) and n >= 0 for n in lengths):
        raise ProtocolError("a message without a valid list of buffer lengths")
    if sum(lengths) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge("an answer", sum(lengths), MAX_MESSAGE_BYTES)
    return header, [_read_exactly(sock, n, deadline) for n in lengths]


def _read_exactly(sock, count: int, deadline: float | None) -> bytearray:
    """``count`` bytes from ``sock``, received in place (a model's weights are tens of megabytes: one copy)."""
    received = bytearray(count)
    view, done = memoryview(received), 0
    while done < count:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                raise ChannelTimeout()
        got = sock.recv_into(view[done:], min(count - done, 1 << 22))
        if not got:
            raise ChannelClosed()
        done += got
    return received


# --------------------------------------------------------------------------
# Codec of plain values
# --------------------------------------------------------------------------


def encode(value, buffers: list[bytes], extension=None, _depth: int = 0):
    """Returns a JSON-able tree for ``value``, appending raw data to ``buffers``.

    Args:
        value: None, bool, int, float, str, bytes, list, tuple, dict, set,
            NumPy arrays and scalars, ``pathlib`` paths, or whatever
            ``extension`` knows.
        buffers: receives array bytes; the tree refers to them by index.
        extension: ``extension(value, buffers) -> tree or None`` for other
            types (Keras models, figures, datasets); None means "not mine".
    Returns:
        The tree. A value no codec knows becomes ``{"$opaque": ...}``: its type
        name and a short repr, never the object.
    """
    if _depth > MAX_DEPTH:
        return {"$opaque": {"type": type(value).__name__, "repr": "(nested too deeply)"}}
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    nested = lambda v: encode(v, buffers, extension, _depth + 1)  # noqa: E731
    if type(value) is list:
        return {"$list": [nested(v) for v in value]}
    if type(value) is tuple:
        return {"$tuple": [nested(v) for v in value]}
    if type(value) is dict:
        return {"$dict": [[nested(k), nested(v)] for k, v in value.items()]}
    if type(value) in (set, frozenset):
        return {"$set": [nested(v) for v in value]}
    if type(value) in (bytes, bytearray):  # a bytearray (a buffer as received) arrives as bytes
        buffers.append(value)
        return {"$bytes": len(buffers) - 1}
    numpy = _numpy_if_loaded()
    if numpy is not None:
        if isinstance(value, numpy.ndarray) and type(value) is numpy.ndarray:
            return _encode_array(value, buffers, numpy)
        if isinstance(value, numpy.generic):
            return {"$npscalar": _encode_array(numpy.asarray(value), buffers, numpy)}
    if type(value).__module__ == "pathlib":
        return {"$path": str(value)}
    if extension is not None:
        tree = extension(value, buffers)
        if tree is not None:
            return tree
    if isinstance(value, (list, tuple, dict, int, float, str)):  # subclasses: judged as their base type
        base = next(t for t in (bool, int, float, str, list, tuple, dict) if isinstance(value, t))
        return nested(base(value))
    return {"$opaque": {"type": type(value).__name__, "repr": safe_repr(value)}}


def _encode_array(array, buffers, numpy):
    if array.dtype.hasobject or array.dtype.kind == "V":
        return {"$opaque": {"type": f"numpy array of dtype {array.dtype}", "repr": safe_repr(array)}}
    out = io.BytesIO()
    numpy.save(out, numpy.ascontiguousarray(array) if array.ndim else array, allow_pickle=False)
    buffers.append(out.getvalue())
    return {"$array": len(buffers) - 1}


def _numpy_if_loaded():
    import sys

    return sys.modules.get("numpy")


def decode(tree, buffers: list[bytes], extensions: dict | None = None, _depth: int = 0):
    """The value ``encode`` made ``tree`` from.

    Args:
        extensions: ``{tag: function(payload, buffers)}`` for tags beyond the
            plain ones (``MODEL``, ``FIGURE``, ...: the tags above).
    Raises:
        ProtocolError: an unknown tag or a malformed tree.
    """
    if _depth > MAX_DEPTH + 8:
        raise ProtocolError("a value nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if not isinstance(tree, dict) or len(tree) != 1:
        raise ProtocolError(f"a malformed value ({type(tree).__name__})")
    ((tag, payload),) = tree.items()
    nested = lambda t: decode(t, buffers, extensions, _depth + 1)  # noqa: E731
    if tag == "$list":
        return [nested(v) for v in _expect(payload, list)]
    if tag == "$tuple":
        return tuple(nested(v) for v in _expect(payload, list))
    if tag == "$dict":
        return {_hashable(nested(k)): nested(v) for k, v in _expect(payload, list)}
    if tag == "$set":
        return {_hashable(nested(v)) for v in _expect(payload, list)}
    if tag == "$float":
        if payload not in ("nan", "inf", "-inf"):
            raise ProtocolError(f"a malformed float {payload!r}")
        return float(payload)
    if tag == "$bytes":
        return bytes(_buffer(buffers, payload))
    if tag == "$array":
        return _decode_array(_buffer(buffers, payload))
    if tag == "$npscalar":
        return nested(payload)[()]
    if tag == "$path":
        import pathlib

        return pathlib.Path(_expect(payload, str))
    if tag == "$opaque":
        payload = _expect(payload, dict)
        return Opaque(str(payload.get("type", "?"))[:200], str(payload.get("repr", ""))[:MAX_TEXT])
    if extensions and tag in extensions:
        return extensions[tag](payload, buffers)
    raise ProtocolError(f"an unknown tag {tag!r}")


def _decode_array(raw: bytes):
    import numpy

    try:
        array = numpy.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as error:
        raise ProtocolError(f"an array that is not plain .npy data ({error})") from None
    return array


def _buffer(buffers, index):
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise ProtocolError(f"a reference to a missing buffer {index!r}")
    return buffers[index]


def _expect(payload, kind):
    if not isinstance(payload, kind):
        raise ProtocolError(f"a malformed value: expected {kind.__name__}, got {type(payload).__name__}")
    return payload


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        raise ProtocolError("an unhashable dictionary key or set item") from None
    return value


class Opaque:
    """Stands for an object that cannot cross: its type name and a short repr."""

    def __init__(self, type_name: str, text: str):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object: {self.text}>"


def safe_repr(value, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters; never raises."""
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a hostile __repr__ gets no say
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_text(text, limit: int = MAX_TEXT) -> str:
    """Student text as reports may show it: printable, and at most ``limit`` characters.

    Control characters (terminal escapes that could move the cursor and draw
    over the score table) become ``?``; what is cut is said.
    """
    text = str(text)
    cleaned = "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text[: limit + 1])
    if len(text) > limit:
        cleaned = cleaned[:limit] + f"... [{len(text) - limit:,} more characters cut]"
    return cleaned


# --------------------------------------------------------------------------
# Dataset element specs (TensorFlow imported only by a side that has datasets)
# --------------------------------------------------------------------------


def describe_spec(spec):
    """A ``tf.data`` dataset's ``element_spec`` as plain data."""
    import tensorflow as tf

    if isinstance(spec, tf.TensorSpec):
        return {"shape": None if spec.shape.rank is None else spec.shape.as_list(), "dtype": spec.dtype.name}
    if isinstance(spec, tuple):
        return {"tuple": [describe_spec(s) for s in spec]}
    if isinstance(spec, dict):
        return {"dict": [[k, describe_spec(s)] for k, s in spec.items()]}
    raise TypeError(f"datasets of {type(spec).__name__} elements cannot cross between processes")


def tensor_spec(described):
    """The ``element_spec`` ``describe_spec`` made ``described`` from."""
    import tensorflow as tf

    if not isinstance(described, dict):
        raise ProtocolError("a malformed dataset element spec")
    if "tuple" in described:
        return tuple(tensor_spec(s) for s in described["tuple"])
    if "dict" in described:
        return {str(k): tensor_spec(s) for k, s in described["dict"]}
    return tf.TensorSpec(described["shape"], tf.dtypes.as_dtype(str(described["dtype"])))


# --------------------------------------------------------------------------
# Keras models as one buffer: their config as JSON and their weights as raw bytes
# --------------------------------------------------------------------------
#
# Faster than a ``.keras`` archive both ways (no zip, no HDF5: VGG16 packed and
# unpacked in 0.28 s, against 0.47 s saved and loaded as an archive) and read
# the same way: the config is deserialised with Keras' safe mode, and the
# weights are plain numbers.

MODEL_HEADER = struct.Struct(">Q")
MODEL_CONFIG_BYTES = 16 * 2**20


def pack_model(model, omitted=(), left_out=()) -> bytearray:
    """``model`` as bytes: its serialised config (compilation included) and its weights.

    Args:
        model: a Keras model.
        omitted: indices in ``model.layers`` of layers whose weights the receiver
            already holds (a model it passed in): only their digest
            (``weights_digest``) is packed, and ``unpack_model`` leaves them as
            zeros for the receiver to put its own layer in their place.
        left_out: indices of layers whose weights the receiver does not read
            (a check that asked for some layers' weights only): packed as
            nothing, unpacked as zeros.
    """
    import keras
    import numpy

    groups = _variables_by_layer(model) if omitted or left_out else None
    if groups is None:  # nothing to leave out, or weights that are not the layers' own in order
        groups, omitted, left_out = [list(model.weights)], (), ()
    digests = {index: weights_digest(_values(groups[index])) for index in omitted if 0 <= index < len(groups)}
    digests.update({index: None for index in left_out if 0 <= index < len(groups) and index not in digests})
    weights = [numpy.ascontiguousarray(w) for index, group in enumerate(groups) if index not in digests
               for w in _values(group)]
    header = json.dumps({
        "config": keras.saving.serialize_keras_object(model),
        "weights": [[w.dtype.str, list(w.shape)] for w in weights],
        "omitted": [[index, digest] for index, digest in digests.items()],
    }, default=str).encode()
    packed = bytearray(MODEL_HEADER.size + len(header) + sum(w.nbytes for w in weights))
    MODEL_HEADER.pack_into(packed, 0, len(header))
    offset = MODEL_HEADER.size + len(header)
    packed[MODEL_HEADER.size:offset] = header
    for weight in weights:
        packed[offset:offset + weight.nbytes] = memoryview(weight.reshape(-1).view(numpy.uint8))
        offset += weight.nbytes
    return packed


def _values(variables) -> list:
    return [variable.numpy() for variable in variables]


def _variables_by_layer(model) -> list | None:
    """``model.weights`` split by layer of ``model.layers``, or None where it is not in that order."""
    layered = [list(layer.weights) for layer in model.layers]
    if [id(w) for group in layered for w in group] != [id(w) for w in model.weights]:
        return None
    return layered


def weights_digest(weights) -> str:
    """A digest of a list of weight arrays: their dtypes, shapes and values."""
    import hashlib

    import numpy

    digest = hashlib.sha256()
    for weight in weights:
        weight = numpy.ascontiguousarray(weight)
        digest.update(f"{weight.dtype.str}{weight.shape};".encode())
        digest.update(weight.data)
    return digest.hexdigest()


def model_config(raw: bytes) -> dict:
    """The config a packed model holds, read without building anything (to be judged before loading)."""
    if len(raw) < MODEL_HEADER.size:
        raise ProtocolError("a model of fewer bytes than its header")
    (size,) = MODEL_HEADER.unpack_from(raw)
    if size > MODEL_CONFIG_BYTES or MODEL_HEADER.size + size > len(raw):
        raise ProtocolError(f"a model whose config is {size:,} bytes (at most {MODEL_CONFIG_BYTES:,})")
    try:
        header = json.loads(raw[MODEL_HEADER.size:MODEL_HEADER.size + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"a model whose config is not JSON ({error})") from None
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise ProtocolError("a model without a config")
    return header


def history_record(history) -> dict:
    """A ``keras.callbacks.History`` as plain data: its ``history`` dict and its epochs."""
    return {"history": dict(history.history), "epoch": list(history.epoch)}


def fresh_graph(model):
    """A loaded Sequential whose layers' ``.output`` belong to its current graph.

    Loading adds the layers one by one, and Keras rebuilds the graph at each
    step; each layer's ``.output`` then still names its first, stale call, and
    ``keras.Model(model.inputs, layer.output)`` (Grad-CAM, activation models)
    would be disconnected. The model is rebuilt once, from clean layers.
    """
    import keras

    if isinstance(model, keras.Sequential) and getattr(model, "_functional", None) is not None:
        for layer in model.layers:
            layer._inbound_nodes.clear()
            layer._outbound_nodes.clear()
        model._maybe_rebuild()
    return model


def unpack_model(raw: bytes):
    """The model ``pack_model`` made ``raw`` from, built with Keras' safe mode (no Lambda, no custom code).

    Returns:
        ``(model, omitted)``: ``omitted`` maps the index in ``model.layers`` of
        each layer packed without its weights to their digest (None for a layer
        left out: ``pack_model``'s ``left_out``); those layers hold zeros.
    """
    import keras
    import numpy

    header = model_config(raw)
    offset = MODEL_HEADER.size + MODEL_HEADER.unpack_from(raw)[0]
    weights = []
    for entry in header.get("weights") or []:
        try:
            dtype, shape = numpy.dtype(str(entry[0])), tuple(int(d) for d in entry[1])
        except (TypeError, ValueError, IndexError):
            raise ProtocolError(f"a model weight described as {entry!r}") from None
        if dtype.hasobject or any(d < 0 for d in shape):
            raise ProtocolError(f"a model weight described as {entry!r}")
        size = dtype.itemsize * math.prod(shape)
        if offset + size > len(raw):
            raise ProtocolError("a model whose weights are shorter than their description")
        weights.append(numpy.frombuffer(raw, dtype, count=math.prod(shape), offset=offset).reshape(shape))
        offset += size
    try:
        omitted = {int(index): None if digest is None else str(digest) for index, digest in header.get("omitted") or []}
    except (TypeError, ValueError):
        raise ProtocolError("a model with a malformed list of layers packed without weights") from None
    with _weights_start_as_zeros() as zeroed:
        model = keras.saving.deserialize_keras_object(header["config"], safe_mode=True)
    _initialize_unless_among(zeroed, model.weights)
    if not omitted:
        model.set_weights(weights)
        return model, omitted
    groups = _variables_by_layer(model)
    if groups is None or not all(0 <= index < len(groups) for index in omitted):
        raise ProtocolError("a model packed without some layers' weights, whose layers do not match")
    kept = [index for index in range(len(groups)) if index not in omitted]
    if sum(len(groups[index]) for index in kept) != len(weights):
        raise ProtocolError("a model whose weights do not match its layers")
    start = 0
    for index in kept:
        count = len(groups[index])
        model.layers[index].set_weights(weights[start:start + count])
        start += count
    return model, omitted


# Weights kept per recipe, on each side (``recipe_key``): a VGG16 takes 58 MB, and a check may build it at two sizes.
RECIPE_WEIGHTS_KEPT = 2


def recipe_key(path: str, args, kwargs) -> str:
    """One text per recipe (a Keras function by its dotted name and plain arguments), for caches and seeds."""
    return json.dumps([str(path), args, kwargs], sort_keys=True, default=str)


def recipe_seed(key: str) -> int:
    """The seed a recipe is built from (``key``: the recipe, and the run's grading seed in the judge): the same
    key gets the same weights in every process."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 2**31


def build_seeded(function, args, kwargs, seed: int, kept: list | None = None):
    """``function(*args, **kwargs)`` with Keras seeded by ``seed``.

    Args:
        kept: the weights a model built from the same recipe got before. The
            model starts from them instead of its initializers' random draws
            (VGG16: about 0.1 s instead of 0.2 s); they are what the draws give.
    """
    import keras

    keras.utils.set_random_seed(seed)
    if kept is None:
        return function(*args, **kwargs)
    with _weights_start_as_zeros() as zeroed:
        model = function(*args, **kwargs)
    _initialize_unless_among(zeroed, model.weights)
    model.set_weights(kept)
    return model


def keep_recipe_weights(cache: dict, key: str, entry) -> None:
    """Keeps ``entry`` (a recipe's weights) under ``key``, the latest ``RECIPE_WEIGHTS_KEPT`` recipes only."""
    cache.pop(key, None)
    cache[key] = entry
    while len(cache) > RECIPE_WEIGHTS_KEPT:
        cache.pop(next(iter(cache)))


@contextlib.contextmanager
def _weights_start_as_zeros():
    """Variables made with a Keras initializer start as zeros while a model is unpacked.

    Its weights are set right after, so the random draws of the initializers
    (most of the time it takes to unpack VGG16: 0.12 s, 0.05 s with zeros)
    would be thrown away. A variable made otherwise (a dropout layer's seed
    state, which is not among the weights) is made as usual. Where Keras keeps
    its variables elsewhere (another backend or version), nothing changes.

    Yields:
        A list that receives ``(variable, initializer)`` for each variable made
        as zeros: ``_initialize_unless_among`` gives those that are not weights
        (a compiled model's optimizer state) their own values.
    """
    import keras

    zeroed: list = []
    try:
        from keras.src.backend.tensorflow.core import Variable
    except ImportError:
        Variable = None
    original = getattr(Variable, "_initialize_with_initializer", None) if Variable is not None else None
    if original is None:
        yield zeroed
        return

    def initialize(variable, initializer):
        if not isinstance(initializer, keras.initializers.Initializer):
            return original(variable, initializer)
        import tensorflow as tf

        variable._initialize(lambda: tf.zeros(variable._shape, dtype=variable._dtype))
        zeroed.append((variable, initializer))

    Variable._initialize_with_initializer = initialize
    try:
        yield zeroed
    finally:
        Variable._initialize_with_initializer = original


def _initialize_unless_among(zeroed: list, weights: list) -> None:
    """Gives each variable made as zeros that is not one of ``weights`` the value of its own initializer.

    Args:
        zeroed: ``(variable, initializer)`` pairs from ``_weights_start_as_zeros``.
        weights: the variables whose values are set next (a model's weights).
    """
    kept = {id(weight) for weight in weights}
    for variable, initializer in zeroed:
        if id(variable) not in kept:
            variable.assign(initializer(variable.shape, variable.dtype))


def all_layers(model) -> list:
    """Every layer of ``model``, depth first: a nested model and its own layers too."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += all_layers(layer)
    return found


def trainable_flags(model) -> list:
    """The trainable flag of every layer (``all_layers``), then the model's own."""
    return [layer.trainable for layer in all_layers(model)] + [model.trainable]


def set_trainable_flags(model, flags: list) -> bool:
    """Gives ``model`` the flags ``trainable_flags`` read from a copy of it; False if its layers are not the copy's."""
    layers = all_layers(model)
    if len(flags) != len(layers) + 1:
        return False
    model.trainable = bool(flags[-1])
    for layer, flag in zip(layers, flags[:-1]):
        layer.trainable = bool(flag)
    return True


def fingerprint(model) -> str:
    """A digest of all an archive holds: architecture (input shape included), weights, flags, compilation."""
    import numpy as np

    digest = hashlib.blake2b(digest_size=16)
    try:
        digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    except Exception:  # noqa: BLE001 - a model without a config: its class and layers stand for it
        digest.update(repr([type(model), [type(layer) for layer in all_layers(model)]]).encode())
    for weight in model.get_weights():
        digest.update(str(weight.shape).encode())
        digest.update(np.ascontiguousarray(weight).tobytes())
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    digest.update(json.dumps([trainable_flags(model), compile_config, model.name], default=str).encode())
    return digest.hexdigest()
