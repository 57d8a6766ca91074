"""The grader's side of the judge (``grader/remote/judge.py``): handles to Keras objects that live there.

A check reads a model the learner's code returned as it would a local one
(``model.layers``, ``layer.get_config()``, ``model(images)``,
``model.fit(x, y)``, ``isinstance(model, keras.Model)``); each of these is a
call to the judge, answered as plain data or as another handle. Nothing the
learner's code built is ever loaded, called or drawn in the grader's process.

Objects a check builds for the learner's functions to use (a VGG16 base, the
embedded pretrained base, a model to freeze) are built in the judge as well
(``exercise.judge.keras.applications.VGG16(...)``, ``exercise.judge.adopt(model)``),
so that what a learner's function returns can hold them, as it would in the
learner's own process, and the checks' later questions are answered on the
very objects the learner's code was given.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from grader.engine.verdicts import CheckFailure, GradingInterrupt, StudentRaised, WorkerEnded
from grader.remote import transport

HANDLE = "__judge_handle__"  # grader/remote/judge.py's mark of a handle
JUDGE_MODULE = "judge"
# Classes a handle may claim to be, for isinstance: only these libraries' own (the judge never loads others).
CLASS_ROOTS = ("keras", "tensorflow", "numpy", "builtins")
ARCHIVES_KEPT = 2
RESET_SECONDS = 10.0  # for the judge to drop a check's objects after the check


class RemoteObject:
    """A handle to an object in the judge; reading or calling it asks the judge."""

    __slots__ = ("_judge", "_key", "_class_path", "_worker", "_shown")

    def __init__(self, judge: "Judge", key: int, class_path, worker, shown: str = ""):
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_class_path", tuple(class_path))
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_shown", shown or f"<{tuple(class_path)[-1]}>")

    @property
    def __class__(self):  # isinstance(model, keras.Model) and model.__class__.__name__ work on a handle
        return self._judge.class_of(self._class_path)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._judge.ask("get", self, name)

    def __setattr__(self, name: str, value) -> None:
        self._judge.ask("put", self, name, value)

    def __call__(self, *args, **kwargs):
        return self._judge.ask("call", self, args, kwargs)

    def __len__(self) -> int:
        return self._judge.ask("length", self)

    def __getitem__(self, index):
        return self._judge.ask("item", self, index)

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    def __bool__(self) -> bool:
        return True

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._judge.ask("as_array", self), dtype=dtype)

    def __repr__(self) -> str:
        return self._shown  # the object's own repr, as the judge saw it


class JudgeNamespace:
    """``exercise.judge.keras.layers.Dense(256)``: builds a library object in the judge and returns its handle."""

    def __init__(self, judge: "Judge", path: str = ""):
        self._judge, self._path = judge, path

    def __getattr__(self, name: str) -> "JudgeNamespace":
        if name.startswith("_"):
            raise AttributeError(name)
        return JudgeNamespace(self._judge, f"{self._path}.{name}" if self._path else name)

    def __call__(self, *args, **kwargs):
        return self._judge.ask("new", self._path, args, kwargs, self._judge.engine.recipe_salt)

    def adopt(self, model) -> RemoteObject:
        """A copy, in the judge, of a model the check built here (from the course's own files, never the learner's)."""
        return self._judge.adopt(model)


class Judge:
    """The judge process of one grading run, started on first use, and the handles of the current check."""

    def __init__(self, engine):
        self.engine = engine
        self.module = engine.module(engine.runtime, JUDGE_MODULE, "the grader's model process", ())
        self.proxies: dict[int, RemoteObject] = {}
        self.worker = None
        self.archives: dict[str, tuple] = {}  # fingerprint -> (archive, flags) of models sent to learners' workers
        self.trusted_sent: set[str] = set()
        self.classes: dict[tuple, type] = {}

    # ------------------------------------------------------------ calls
    def ask(self, function: str, *args):
        """Calls ``grader/remote/judge.py``'s ``function`` on the current worker; handles in and out."""
        worker = self.engine.worker_for(self.module)
        if worker is not self.worker:  # a new process: the handles of the last one are gone
            self.proxies.clear()
            self.trusted_sent.clear()
            self.worker = worker
        try:
            value = self.module.call(function, *self._unwrap(args))
        except WorkerEnded as error:
            raise CheckFailure("running what your code returned ended the process that runs it: "
                               + str(error).split("ended the process that runs your code", 1)[-1].strip(" .")
                               ) from None
        except Exception as error:  # noqa: BLE001 - the judge's own verdicts become the check's
            if isinstance(error, StudentRaised) and error.student.get("type") == "JudgeVerdict":
                raise CheckFailure(str(error)) from None
            raise
        return self._wrap(value)

    def end_check(self) -> None:
        """Drops the check's objects in the judge (if it is running)."""
        if self.proxies and self.worker is not None and self.worker.alive():
            self.engine.check_deadline = time.monotonic() + RESET_SECONDS
            try:
                self.module.call("reset")
            except (Exception, GradingInterrupt):  # noqa: BLE001 - a judge that cannot reset is replaced
                self.engine.retire(self.worker)
            finally:
                self.engine.check_deadline = None
        self.proxies.clear()

    def _unwrap(self, value, depth: int = 0):
        if type(value) is RemoteObject:
            if value._worker is not self.worker:
                raise CheckFailure("the check used an object of a model process that has since restarted "
                                   "(an earlier call in this check timed out or crashed it).")
            return {HANDLE: value._key}
        if depth > 8:
            return value
        if type(value) in (list, tuple):
            items = [self._unwrap(v, depth + 1) for v in value]
            return items if type(value) is list else tuple(items)
        if type(value) is dict:
            return {k: self._unwrap(v, depth + 1) for k, v in value.items()}
        return value

    def _wrap(self, value, depth: int = 0):
        if isinstance(value, dict):
            if HANDLE in value:
                key = value[HANDLE]
                proxy = self.proxies.get(key)
                if proxy is None:
                    proxy = self.proxies[key] = RemoteObject(self, key, value.get("class") or ("?", "?"), self.worker,
                                                             transport.clean_text(value.get("repr", ""), 200))
                return proxy
            return {k: self._wrap(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self._wrap(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v, depth + 1) for v in value)
        return value

    def class_of(self, class_path: tuple) -> type:
        """The local class a handle's object is an instance of (for isinstance), or a stand-in of that name."""
        cls = self.classes.get(class_path)
        if cls is None:
            module, qualname = (str(part) for part in (tuple(class_path) + ("?", "?"))[:2])
            # Only a module this process has already imported, of a library the judge uses: naming a class
            # never makes the grader import anything (a module's import runs its code).
            cls = sys.modules.get(module) if module.split(".")[0] in CLASS_ROOTS else None
            for part in qualname.split("."):
                cls = getattr(cls, part, None) if cls is not None and part.isidentifier() else None
            if not isinstance(cls, type):
                cls = type(qualname.rsplit(".", 1)[-1], (), {"__module__": "judge"})
            self.classes[class_path] = cls
        return cls

    # ------------------------------------------------------------ models across processes
    def adopt(self, model) -> RemoteObject:
        """A new copy in the judge of ``model``, a trusted model of the check's (sent once per session)."""
        from grader.engine.objects import ARCHIVES, archive_digest

        kept = ARCHIVES.archive(model)
        digest, raw = archive_digest(kept), bytes(kept)
        answer = self.ask("load_trusted", digest, None if digest in self.trusted_sent else raw)
        if isinstance(answer, dict) and "missing" in answer:  # the judge restarted since it was sent
            answer = self.ask("load_trusted", digest, raw)
        self.trusted_sent.add(digest)
        return answer

    def model_argument(self, proxy: RemoteObject, buffers: list[bytes], sent: set | None, recipes: bool) -> dict:
        """A judge's model as an argument of a learner's function: its recipe, its digest or its packed self.

        Args:
            proxy: the handle of the model.
            buffers: the message's buffers, where a packed model goes.
            sent: the digests of the packed models the worker keeps.
            recipes: False once the worker built a recipe into other weights than the judge's.
        """
        from grader.engine.objects import digested, model_argument

        exported = self.ask("export", proxy, list(self.archives), recipes)
        if "recipe" in exported:
            payload = {"recipe": exported["recipe"], "trainable": exported["trainable"]}
        else:
            kept = self.archives.get(exported["fingerprint"])
            if kept is None:
                kept = self.archives[exported["fingerprint"]] = (digested(exported["archive"]), exported["trainable"])
                while len(self.archives) > ARCHIVES_KEPT:
                    self.archives.pop(next(iter(self.archives)))
            payload = model_argument(*kept, buffers, sent)[transport.MODEL]
        return {transport.MODEL: dict(payload, judged=True)}

    def import_returned(self, archive: bytes, embedded: list, originals, weights_of=None) -> RemoteObject:
        """A model a learner's function returned, loaded in the judge; its argument layers are the check's own.

        ``weights_of``: the names of the layers whose weights the check reads, if it asked for those only.
        """
        arguments, numbered = [], []
        for entry in embedded:
            if not isinstance(entry, list) or len(entry) not in (2, 3):
                continue
            original = originals.get(entry[1])
            if type(original) is not RemoteObject:
                continue  # a model the check kept in the grader: the returned model keeps its copy
            arguments.append(original)
            numbered.append([entry[0], len(arguments) - 1, *entry[2:]])
        weights_of = None if weights_of is None else [str(name) for name in weights_of]
        return self.ask("import_returned", archive, numbered, arguments, weights_of)
