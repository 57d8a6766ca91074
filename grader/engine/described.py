"""What learner code returned, as the checks read it: plain descriptions, never live objects.

A worker describes a Matplotlib figure, a Keras ``History`` or a ``tf.data``
dataset its function returned, as plain data (``grader/remote/worker.py``). Here the
grader wraps that data in small read-only classes for the checks. Nothing is
rebuilt: no figure is drawn, no dataset is built, no Keras object is made
from the learner's output in the grader's process. The worker drew the
figure itself (within its own time and memory limits) and says whether that
worked; what a check reads is the data the figure shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.remote import transport

# A worker refuses to describe more than this; the check then fails with ``DescribedFigure.too_large``.
FIGURE_PIXELS = 40_000_000
FIGURE_AXES = 32
SERIES_PER_AXES = 64
POINTS_PER_SERIES = 100_000
# Items of an encoded description (values, arrays, containers) read at most: what the caps above allow, with room.
FIGURE_VALUES = FIGURE_AXES * SERIES_PER_AXES * 2 * 16 + 1_000


def encoded_size(tree, limit: int = FIGURE_VALUES) -> int:
    """How many items an encoded tree holds (counting stops just past ``limit``), without decoding any."""
    count, stack = 0, [tree]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return count


@dataclass(frozen=True)
class DrawnLine:
    """A ``Line2D`` of an axes (``ax.plot``): its data and how it is drawn."""

    x: np.ndarray
    y: np.ndarray
    label: str
    marker: str
    linestyle: str
    color: tuple
    visible: bool


@dataclass(frozen=True)
class DrawnCollection:
    """A collection of an axes (``ax.scatter``): its points and their look."""

    kind: str
    offsets: np.ndarray
    label: str
    visible: bool
    facecolors: np.ndarray
    sizes: np.ndarray


@dataclass(frozen=True)
class DrawnAxes:
    """One panel: its texts, scales, legend entries (None: no legend), lines and collections."""

    title: str
    xlabel: str
    ylabel: str
    position: tuple
    xscale: str
    yscale: str
    legend: list | None
    lines: list = field(default_factory=list)
    collections: list = field(default_factory=list)


@dataclass(frozen=True)
class DrawnFigure:
    """A Matplotlib figure the learner's code returned, as the worker described it.

    ``drawing_error`` is None when the worker drew the figure to a PNG
    without error, or what went wrong. ``too_large`` says which cap the
    figure exceeded (pixels, panels, series or points), and then nothing
    else is described.
    """

    axes: list
    suptitle: str
    size_inches: tuple
    dpi: float
    drawing_error: str | None = None
    too_large: str | None = None


def figure_from(payload) -> DrawnFigure:
    """A ``DrawnFigure`` from a worker's description; a malformed one is a ``ProtocolError``."""
    try:
        return DrawnFigure(
            axes=[_axes(ax) for ax in payload.get("axes", [])[:FIGURE_AXES]],
            suptitle=_text(payload.get("suptitle", "")),
            size_inches=tuple(float(v) for v in payload.get("size") or (0.0, 0.0))[:2],
            dpi=float(payload.get("dpi", 0.0)),
            drawing_error=None if payload.get("drawing_error") is None else _text(payload["drawing_error"]),
            too_large=None if payload.get("too_large") is None else _text(payload["too_large"]),
        )
    except (AttributeError, TypeError, ValueError, KeyError) as error:
        raise transport.ProtocolError(f"a malformed figure description ({error})") from None


def _axes(ax: dict) -> DrawnAxes:
    legend = ax.get("legend")
    return DrawnAxes(
        title=_text(ax.get("title", "")), xlabel=_text(ax.get("xlabel", "")), ylabel=_text(ax.get("ylabel", "")),
        position=tuple(float(v) for v in ax.get("position") or ()), xscale=_text(ax.get("xscale", "linear")),
        yscale=_text(ax.get("yscale", "linear")),
        legend=None if legend is None else [_text(t) for t in legend[:SERIES_PER_AXES]],
        lines=[DrawnLine(
            x=_floats(line["x"]), y=_floats(line["y"]), label=_text(line.get("label", "")),
            marker=_text(line.get("marker", "None")), linestyle=_text(line.get("linestyle", "None")),
            color=tuple(float(c) for c in line.get("color") or ()), visible=bool(line.get("visible", True)),
        ) for line in ax.get("lines", [])[:SERIES_PER_AXES]],
        collections=[DrawnCollection(
            kind=_text(c.get("kind", "")), offsets=_floats(c["offsets"]).reshape(-1, 2), label=_text(c.get("label", "")),
            visible=bool(c.get("visible", True)), facecolors=_floats(c.get("facecolors", [])).reshape(-1, 4),
            sizes=_floats(c.get("sizes", [])).reshape(-1),
        ) for c in ax.get("collections", [])[:SERIES_PER_AXES]],
    )


def _floats(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.size > POINTS_PER_SERIES * 2:
        raise ValueError("a series longer than the cap")
    return array


def _text(value) -> str:
    return transport.clean_text(value, 500)


@dataclass(frozen=True)
class RecordedHistory:
    """A Keras ``History`` the learner's code returned: its ``history`` dict and ``epoch`` list, as data."""

    history: dict
    epoch: list


class RecordedDataset:
    """A ``tf.data`` dataset the learner's code returned, as the passes the worker read from it.

    Iterating it gives the next recorded pass, element by element (NumPy
    arrays, in tuples or dicts as the dataset yields them); a check reads it
    at most as many times as were recorded. ``cardinality`` is what
    ``dataset.cardinality()`` said in the worker (-1 infinite, -2 unknown).
    """

    def __init__(self, passes: list, cardinality: int, element_spec):
        self.passes = passes
        self.cardinality = cardinality
        self.element_spec = element_spec
        self._next_pass = 0

    def __iter__(self):
        from grader.engine.verdicts import CheckFailure

        if self._next_pass >= len(self.passes):
            raise CheckFailure(f"the check read the dataset more than the {len(self.passes)} times recorded")
        elements = self.passes[self._next_pass]
        self._next_pass += 1
        return iter(elements)

    def __repr__(self) -> str:
        return f"<a dataset your code returned: {len(self.passes)} recorded passes, cardinality {self.cardinality}>"
