"""From probabilities to activity: per-class binarisation, and its thresholds tuned on a dev set.

:class:`Binarization` holds one class's thresholds (hysteresis onset and offset, minimum
durations), :func:`binarize` applies them to ``(frame, class)`` scores, :func:`tune_binarization`
searches them on a dev set; :func:`fill_short_gaps` is the gap filling they share with the corpus
builder's activity labels.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from proxyseg.grid import FRAME_STEP
from proxyseg.labels import CLASSES, EPSILON, active_runs, check_frames, check_step
from proxyseg.metrics import frame_f1

@dataclass(frozen=True)
class Binarization:
    """Thresholds turning one class's scores into activity.

    Parameters
    ----------
    onset : float
        A region starts on a frame whose score is above ``onset``.
    offset : float
        It continues while the score stays above ``offset`` (``offset <= onset``).
    min_duration_on : float
        Active regions shorter than this (seconds) are removed.
    min_duration_off : float
        Gaps shorter than this (seconds) between two active regions are filled.
    """

    onset: float = 0.5
    offset: float = 0.5
    min_duration_on: float = 0.0
    min_duration_off: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"Binarization.{field.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"Binarization.{field.name} must be a finite number, got {value!r}")
        if not 0.0 <= self.offset <= self.onset <= 1.0:
            raise ValueError(
                f"Binarization needs 0 <= offset <= onset <= 1, got onset={self.onset!r} "
                f"and offset={self.offset!r}"
            )
        for name in ("min_duration_on", "min_duration_off"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"Binarization.{name} must be >= 0 seconds, got {value!r}")

    def to_dict(self) -> dict[str, float]:
        """Return the thresholds as a JSON-serialisable dictionary.

        Returns
        -------
        dict
            ``{"onset": ..., "offset": ..., "min_duration_on": ..., "min_duration_off": ...}``.

        Examples
        --------
        >>> Binarization.from_dict(Binarization(onset=0.6, offset=0.4).to_dict())
        Binarization(onset=0.6, offset=0.4, min_duration_on=0.0, min_duration_off=0.0)
        """
        return {key: float(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> Binarization:
        """Build thresholds from a dictionary written by :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            Any subset of the four fields; missing ones take their default.

        Returns
        -------
        Binarization
            The validated thresholds.
        """
        allowed = [field.name for field in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(f"unknown Binarization field(s) {unknown}; allowed: {allowed}")
        return cls(**data)


def _hysteresis(scores: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """Binarization state machine on one score vector, vectorised.

    The state on a frame is set by the latest decisive frame up to it: a score above
    ``onset`` switches on, a score at or below ``offset`` switches off, anything in
    between keeps the previous state (off before the first decisive frame).
    """
    switch_on = scores > onset
    decisive = switch_on | (scores <= offset)
    latest = np.where(decisive, np.arange(len(scores)), -1)
    latest = np.maximum.accumulate(latest)
    return (latest >= 0) & switch_on[np.maximum(latest, 0)]


def fill_short_gaps(active: np.ndarray, min_duration: float, step: float = FRAME_STEP) -> np.ndarray:
    """Fill the inactive stretches shorter than ``min_duration`` that lie between two active ones.

    Leading and trailing inactivity is not a gap between two regions and stays untouched.

    Parameters
    ----------
    active : np.ndarray, shape (frame,)
        Boolean activity of one class.
    min_duration : float
        Gaps shorter than this (seconds) are filled.
    step : float
        Frame step in seconds.

    Returns
    -------
    np.ndarray, shape (frame,), dtype bool
        A new array.

    Examples
    --------
    >>> fill_short_gaps(np.array([0, 1, 0, 0, 1, 0, 0, 0, 1, 0], dtype=bool), 0.05).astype(int)
    array([0, 1, 1, 1, 1, 0, 0, 0, 1, 0])
    """
    active = np.array(active, dtype=bool)
    runs = active_runs(active)
    for (_, gap_start), (gap_end, _) in zip(runs[:-1], runs[1:]):
        if (gap_end - gap_start) * step < min_duration - EPSILON:
            active[gap_start:gap_end] = True
    return active


def _binarize_one(scores: np.ndarray, binarization: Binarization, step: float) -> np.ndarray:
    active = _hysteresis(scores, binarization.onset, binarization.offset)
    if binarization.min_duration_off > 0:
        active = fill_short_gaps(active, binarization.min_duration_off, step)
    if binarization.min_duration_on > 0:
        for first, last in active_runs(active):
            if (last - first) * step < binarization.min_duration_on - EPSILON:
                active[first:last] = False
    return active


def binarize(
    scores: np.ndarray,
    binarization: Binarization | Mapping[str, Binarization],
    *,
    classes: Sequence[str] = CLASSES,
    step: float = FRAME_STEP,
) -> np.ndarray:
    """Turn frame scores into activity with hysteresis thresholds.

    For each class, in this order (the order of pyannote.audio's ``Binarize``):
    a region starts on a frame scoring above ``onset`` and lasts while the score stays
    above ``offset``; gaps between two regions shorter than ``min_duration_off`` are
    filled; regions shorter than ``min_duration_on`` are removed.

    Parameters
    ----------
    scores : np.ndarray, shape (frame, class)
        Scores (typically probabilities) of each class on each frame.
    binarization : Binarization or mapping of str to Binarization
        One set of thresholds for every class, or one per class name; classes missing
        from the mapping use ``Binarization()``.
    classes : sequence of str
        Name of each column of ``scores``.
    step : float
        Frame step in seconds, converting run lengths into durations.

    Returns
    -------
    np.ndarray, shape (frame, class), dtype bool
        Activity of each class on each frame.

    Examples
    --------
    >>> scores = np.array([[0.1, 0.6, 0.45, 0.45, 0.3, 0.7]]).T
    >>> binarize(scores, Binarization(onset=0.5, offset=0.4), classes=["speech"])[:, 0].astype(int)
    array([0, 1, 1, 1, 0, 1])
    """
    check_step(step)
    array = check_frames(scores, classes, "scores").astype(float)
    if np.isnan(array).any():
        raise ValueError("scores must not contain NaN")
    if isinstance(binarization, Binarization):
        per_class = {label: binarization for label in classes}
    elif isinstance(binarization, Mapping):
        unknown = sorted(set(binarization) - set(classes))
        if unknown:
            raise ValueError(
                f"binarization given for unknown class(es) {unknown}; classes are {tuple(classes)}"
            )
        for label, value in binarization.items():
            if not isinstance(value, Binarization):
                raise ValueError(f"binarization[{label!r}] must be a Binarization, got {value!r}")
        per_class = {label: binarization.get(label, Binarization()) for label in classes}
    else:
        raise ValueError(
            "binarization must be a Binarization or a mapping of class name to Binarization, "
            f"got {binarization!r}"
        )
    active = np.zeros(array.shape, dtype=bool)
    for column, label in enumerate(classes):
        active[:, column] = _binarize_one(array[:, column], per_class[label], step)
    return active


#: The grid searched per class.
ONSETS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2))
OFFSET_GAPS = (0.0, 0.1, 0.2)
MIN_DURATIONS = (0.0, 0.1, 0.2, 0.4)


def tune_binarization(probabilities: list[np.ndarray], targets: list[np.ndarray], masks: list[np.ndarray],
                      classes: tuple[str, ...] = CLASSES) -> dict[str, Binarization]:
    """Per class, the hysteresis thresholds and minimum durations that maximise frame F1.

    Parameters
    ----------
    probabilities, targets, masks
        Per file, ``(frame, class)`` arrays: model probabilities, reference labels and where
        the reference is known. Binarisation runs file by file; F1 is accumulated over files.
    classes
        Classes to tune (others keep the default ``Binarization()``).

    Returns
    -------
    dict
        class name → :class:`Binarization`.
    """
    tuned = {}
    for name in classes:
        column = CLASSES.index(name)
        best, best_f1 = Binarization(), -1.0
        for onset, gap, min_on, min_off in itertools.product(ONSETS, OFFSET_GAPS, MIN_DURATIONS, MIN_DURATIONS):
            if onset - gap < 0.05:
                continue
            candidate = Binarization(float(onset), float(round(onset - gap, 2)), min_on, min_off)
            predicted = [binarize(p[:, [column]], candidate, classes=[name])[:, 0] for p in probabilities]
            f1 = frame_f1(np.concatenate([p[m[:, column]] for p, m in zip(predicted, masks)]),
                          np.concatenate([t[m[:, column], column] for t, m in zip(targets, masks)]))
            if f1 > best_f1 + 1e-9:
                best, best_f1 = candidate, f1
        tuned[name] = best
    return tuned
