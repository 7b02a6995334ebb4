"""Long inputs explained window by window, and where the audio of an explanation goes.

A window starts every ``length`` samples (a multiple of the 320-sample frame hop) and reads the
80 samples after its end that its last 25 ms frame needs, so the frames of consecutive windows
are exactly the frames of the whole file, one after another. A last piece shorter than
``minimum`` joins the window before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE, WIN_LENGTH

#: Samples a window reads beyond its end: the rest of its last frame.
OVERLAP = WIN_LENGTH - HOP_LENGTH


@dataclass(frozen=True)
class Window:
    """``samples`` of the file from sample ``start`` (its first frame is ``start // 320``); ``last``
    says whether it is the final window, which owns all its samples; the others own all but the
    last :data:`OVERLAP`."""

    start: int
    samples: np.ndarray
    last: bool

    @property
    def first_frame(self) -> int:
        return self.start // HOP_LENGTH

    @property
    def owned(self) -> int:
        """How many of its samples belong to this window alone."""
        return len(self.samples) if self.last else len(self.samples) - OVERLAP


def windows(blocks: Iterable[np.ndarray], length: int, minimum: int = SAMPLE_RATE) -> Iterator[Window]:
    """Cut a waveform given as consecutive blocks ``(samples,)`` into :class:`Window` s of ``length`` samples.

    Examples
    --------
    >>> cut = list(windows([np.zeros(1000, np.float32)] * 5, length=3200, minimum=400))
    >>> [(window.start, len(window.samples), window.owned) for window in cut]
    [(0, 3280, 3200), (3200, 1800, 1800)]
    >>> [len(window.samples) for window in windows([np.zeros(5000, np.float32)], length=3200, minimum=3200)]
    [5000]
    """
    if length % HOP_LENGTH:
        raise ValueError(f"a window's length must be a multiple of {HOP_LENGTH} samples, not {length}")
    buffer, start = np.zeros(0, dtype=np.float32), 0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        while len(buffer) >= length + OVERLAP + minimum:  # what would remain is long enough for a window
            yield Window(start, buffer[:length + OVERLAP], last=False)
            buffer, start = buffer[length:], start + length
    if len(buffer):
        yield Window(start, buffer, last=True)


class AudioSink(Protocol):
    """Where an explanation's audio goes, piece by piece in time order."""

    def input(self, samples: np.ndarray) -> None:
        """The next piece of the input ``(samples,)``."""

    def explained(self, name: str, kept: np.ndarray, rest: np.ndarray) -> None:
        """The next piece of what class ``name``'s components keep of the input, and of the rest."""


class MemorySink:
    """An :class:`AudioSink` that keeps every piece in memory."""

    def __init__(self):
        self.pieces: dict[str, list[np.ndarray]] = {}

    def input(self, samples: np.ndarray) -> None:
        self.pieces.setdefault("input", []).append(samples)

    def explained(self, name: str, kept: np.ndarray, rest: np.ndarray) -> None:
        self.pieces.setdefault(name, []).append(kept)
        self.pieces.setdefault(f"{name}.rest", []).append(rest)

    def joined(self, name: str) -> np.ndarray | None:
        """All the pieces of ``name`` (``"input"``, a class, ``"<class>.rest"``), or None."""
        return np.concatenate(self.pieces[name]) if name in self.pieces else None


@dataclass
class Pooled:
    """Columns of ``factor`` consecutive frames averaged, accumulated window by window."""

    factor: int
    columns: list[np.ndarray] = field(default_factory=list)
    _carry: np.ndarray | None = None  # (dim, frame) not yet a full column

    def add(self, values: np.ndarray) -> None:
        """Append ``values`` ``(dim, frame)``."""
        values = values if self._carry is None else np.concatenate([self._carry, values], axis=1)
        full = values.shape[1] // self.factor * self.factor
        if full:
            self.columns.append(values[:, :full].reshape(values.shape[0], -1, self.factor).mean(axis=2))
        self._carry = values[:, full:]

    def result(self) -> np.ndarray:
        """``(dim, column)``; a last partial column averages what it has."""
        parts = list(self.columns)
        if self._carry is not None and self._carry.shape[1]:
            parts.append(self._carry.mean(axis=1, keepdims=True))
        return np.concatenate(parts, axis=1)
