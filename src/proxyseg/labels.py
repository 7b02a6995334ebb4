"""Class vocabulary, label frame grid, and conversions between frames and segments.

Every array of labels or scores in proxyseg is laid out ``(frame, class)`` with the
columns in :data:`CLASSES` order and the rows on the :data:`FRAMES` grid.

The grid has one frame every 20 ms, frame ``i`` covering ``[0.02 i, 0.02 (i + 1))``.
The spectrogram's 25 ms analysis windows also have a 20 ms hop, so their centres sit
2.5 ms after the centres of these frames. That offset is negligible next to the frame
step, and it buys segment boundaries that are exact multiples of 20 ms, which survive
the millisecond precision of RTTM files unchanged.

>>> import numpy as np
>>> frames = np.zeros((5, len(CLASSES)), dtype=bool)
>>> frames[1:3, 0] = True
>>> annotation = frames_to_annotation(frames, uri="demo")
>>> [(s.start, s.end, label) for s, _, label in annotation.itertracks(yield_label=True)]
[(0.02, 0.06, 'speech')]
>>> bool((annotation_to_frames(annotation, 5) == frames).all())
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from pyannote.core import Annotation, Segment, SlidingWindow, Timeline

from proxyseg.grid import FRAME_STEP

__all__ = [
    "CLASSES", "EPSILON", "FRAMES",
    "active_runs", "annotation_to_frames", "check_frames", "check_step", "frames_to_annotation", "num_frames",
    "speaker_turns_to_classes", "timeline_to_frames",
]

CLASSES: tuple[str, ...] = ("speech", "music", "noise", "overlap")
"""The class vocabulary; every ``(frame, class)`` array uses this column order."""

FRAMES = SlidingWindow(start=0.0, duration=FRAME_STEP, step=FRAME_STEP)
"""The label frame grid: frame ``i`` covers ``[0.02 i, 0.02 (i + 1))``."""

# Absolute tolerance, in seconds or frames, absorbing float error in comparisons
# such as ``0.3 < 0.1 + 0.2``; far below any meaningful duration.
EPSILON = 1e-9


def active_runs(active: np.ndarray) -> np.ndarray:
    """Run-length encode a boolean vector.

    Parameters
    ----------
    active : np.ndarray, shape (frame,)
        Boolean vector.

    Returns
    -------
    np.ndarray, shape (run, 2)
        ``(start, end)`` frame indices of each maximal run of True values, ``end``
        excluded, in increasing order.
    """
    padded = np.concatenate(([0], np.asarray(active, dtype=np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return edges.reshape(-1, 2)


def check_step(step: float) -> None:
    if not (isinstance(step, numbers.Real) and math.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive finite number of seconds, got {step!r}")


def _check_duration(duration: float) -> None:
    if not (isinstance(duration, numbers.Real) and math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {duration!r}")


def check_frames(frames: np.ndarray, classes: Sequence[str], name: str) -> np.ndarray:
    array = np.asarray(frames)
    if array.ndim != 2 or array.shape[1] != len(classes):
        raise ValueError(
            f"{name} must have shape (frame, class) with {len(classes)} columns "
            f"for classes {tuple(classes)}, got shape {array.shape}"
        )
    return array


def num_frames(duration: float, step: float = FRAME_STEP) -> int:
    """Number of label frames whose centre lies inside ``[0, duration)``.

    The count is ``duration / step`` rounded to the nearest integer, a half being
    rounded down because a centre exactly at ``duration`` is outside the half-open
    interval. A 1e-9 tolerance keeps float error (``30.0 / 0.02`` is not exactly
    1500) from moving a frame across that boundary. With this rule, clipping the last
    segment at ``duration`` (see :func:`frames_to_annotation`) never excludes the
    centre of a counted frame, so frames survive a round trip through segments.

    Parameters
    ----------
    duration : float
        Duration of the signal in seconds, ``>= 0``.
    step : float
        Frame step in seconds.

    Returns
    -------
    int
        The number of frames.

    Examples
    --------
    >>> num_frames(30.0), num_frames(0.009), num_frames(0.01), num_frames(0.011)
    (1500, 0, 0, 1)
    """
    check_step(step)
    _check_duration(duration)
    return int(math.floor(duration / step + 0.5 - EPSILON))


def frames_to_annotation(
    frames: np.ndarray,
    *,
    uri: str | None = None,
    classes: Sequence[str] = CLASSES,
    step: float = FRAME_STEP,
    duration: float | None = None,
) -> Annotation:
    """Turn frame-level labels into segments.

    Each maximal run of active frames ``i..j`` of class ``c`` becomes the segment
    ``[i * step, (j + 1) * step)`` labelled ``classes[c]``, on a track of its own.

    Parameters
    ----------
    frames : np.ndarray, shape (frame, class)
        Boolean (or 0/1) activity of each class on each frame.
    uri : str, optional
        Identifier of the annotated file.
    classes : sequence of str
        Label of each column of ``frames``.
    step : float
        Frame step in seconds.
    duration : float, optional
        Duration of the file; segments are clipped to ``[0, duration)`` and those left
        empty (frames entirely past the end) are dropped.

    Returns
    -------
    Annotation
        One track per segment, labels from ``classes``.
    """
    check_step(step)
    array = check_frames(frames, classes, "frames")
    if duration is not None:
        _check_duration(duration)
    annotation = Annotation(uri=uri)
    track = 0
    for column, label in enumerate(classes):
        for first, last in active_runs(array[:, column] != 0):
            # Rounding to 1e-9 s turns 35 * 0.02 = 0.7000000000000001 into 0.7
            # without moving any boundary meaningfully.
            start = round(float(first) * step, 9)
            end = round(float(last) * step, 9)
            if duration is not None:
                end = min(end, float(duration))
            segment = Segment(start, end)
            if not segment:
                continue
            annotation[segment, track] = label
            track += 1
    return annotation


def annotation_to_frames(
    annotation: Annotation,
    num_frames: int,
    *,
    classes: Sequence[str] = CLASSES,
    step: float = FRAME_STEP,
) -> np.ndarray:
    """Turn segments into frame-level labels.

    Frame ``i`` is active for class ``c`` when its centre ``(i + 0.5) * step`` lies in
    a segment labelled ``c``, segments being half-open ``[start, end)``. This is the
    exact inverse of :func:`frames_to_annotation`.

    Parameters
    ----------
    annotation : Annotation
        Segments; labels not in ``classes`` are ignored.
    num_frames : int
        Number of frames of the output.
    classes : sequence of str
        Label of each output column.
    step : float
        Frame step in seconds.

    Returns
    -------
    np.ndarray, shape (frame, class), dtype bool
        Activity of each class on each frame.

    Examples
    --------
    >>> from pyannote.core import Segment
    >>> annotation = Annotation()
    >>> annotation[Segment(0.03, 0.07)] = "music"
    >>> annotation_to_frames(annotation, 5)[:, 1].astype(int)
    array([0, 1, 1, 0, 0])
    """
    check_step(step)
    integer = isinstance(num_frames, numbers.Integral) and not isinstance(num_frames, bool)
    if not integer or num_frames < 0:
        raise ValueError(f"num_frames must be an integer >= 0, got {num_frames!r}")
    column_of = {label: column for column, label in enumerate(classes)}
    frames = np.zeros((int(num_frames), len(classes)), dtype=bool)
    centres = (np.arange(num_frames) + 0.5) * step
    for segment, _, label in annotation.itertracks(yield_label=True):
        column = column_of.get(label)
        if column is None:
            continue
        first = np.searchsorted(centres, segment.start, side="left")
        last = np.searchsorted(centres, segment.end, side="left")
        frames[first:last, column] = True
    return frames


def speaker_turns_to_classes(turns: Annotation) -> Annotation:
    """Speech and overlap segments from a diarization reference (one label per speaker).

    Speech is where at least one speaker talks, overlap where at least two do: this turns
    DIHARD- or AMI-style RTTM files into proxyseg references for those two classes.

    Parameters
    ----------
    turns : Annotation
        Speaker turns, any labels.

    Returns
    -------
    Annotation
        Segments labelled ``speech`` and ``overlap``, same uri.

    Examples
    --------
    >>> turns = Annotation(uri="call")
    >>> turns[Segment(0, 5)] = "alice"
    >>> turns[Segment(4, 8)] = "bob"
    >>> sorted((s.start, s.end, l) for s, _, l in speaker_turns_to_classes(turns).itertracks(yield_label=True))
    [(0, 8, 'speech'), (4, 5, 'overlap')]
    """
    classes = Annotation(uri=turns.uri)
    for track, segment in enumerate(turns.get_timeline().support()):
        classes[segment, f"speech{track}"] = "speech"
    for track, segment in enumerate(turns.get_overlap()):
        classes[segment, f"overlap{track}"] = "overlap"
    return classes


def timeline_to_frames(timeline: Timeline, num_frames: int, step: float = FRAME_STEP) -> np.ndarray:
    """Frames whose centre lies inside ``timeline`` (e.g. a UEM), with the rule of
    :func:`annotation_to_frames`.

    Returns
    -------
    np.ndarray, shape (frame,), dtype bool

    Examples
    --------
    >>> timeline_to_frames(Timeline([Segment(0.02, 0.06)]), 4).astype(int)
    array([0, 1, 1, 0])
    """
    regions = Annotation()
    for track, segment in enumerate(timeline):
        regions[segment, track] = "inside"
    return annotation_to_frames(regions, num_frames, classes=["inside"], step=step)[:, 0]
