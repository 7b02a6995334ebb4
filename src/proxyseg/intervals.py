"""Segments as ``(start, end)`` arrays, with pyannote.core's rules, in time that follows their number.

pyannote's ``Timeline.co_iter``, on which its crop, gaps and detection scores rest, compares each
segment with every earlier one, quadratic in the segments of a file (10^5 segments: hours). These
functions repeat its steps with its rules (segments not longer than pyannote.core's precision are
empty; gaps not longer are closed) and add the same floats in the same order, so that
:mod:`proxyseg.metrics` gives pyannote's figures to the last bit (tests/test_untrusted_annotations.py).
Every array is ``(segment, 2)``; "sorted" means by start, then end, as a Timeline.
"""

from __future__ import annotations

import numpy as np
from pyannote.core import segment as pyannote_segment

from proxyseg.grid import FRAME_STEP


def precision() -> float:
    # Read when used, as pyannote.core does (Segment.set_precision changes it; proxyseg never does).
    return pyannote_segment.SEGMENT_PRECISION


def ordered(segments) -> np.ndarray:
    """``(start, end)`` rows in the order of a pyannote Timeline: by start, then end."""
    array = np.asarray(segments, dtype=float).reshape(-1, 2)
    return array[np.lexsort((array[:, 1], array[:, 0]))]


def merge(segments: np.ndarray, tolerance: float) -> np.ndarray:
    """Union of sorted segments: one joins the previous group when the gap since the group's
    furthest end is not longer than ``tolerance``."""
    if len(segments) == 0:
        return segments
    furthest = np.maximum.accumulate(segments[:, 1])
    first = np.flatnonzero(np.concatenate(([True], segments[1:, 0] - furthest[:-1] > tolerance)))
    last = np.append(first[1:] - 1, len(segments) - 1)
    return np.column_stack((segments[first, 0], furthest[last]))


def support(segments: np.ndarray) -> np.ndarray:
    """``Timeline.support()`` of sorted non-empty segments."""
    return merge(segments, precision())


def overlapped(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each segment of ``first``, the range ``[low, high)`` of the segments of ``second``
    (disjoint and sorted) that it overlaps."""
    low = np.searchsorted(second[:, 1], first[:, 0], side="right")
    high = np.searchsorted(second[:, 0], first[:, 1], side="left")
    return low, np.maximum(high, low)


def pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of the overlapping segments of two disjoint sorted sets, ordered by ``i``
    then ``j`` as ``Timeline.co_iter`` yields them: at most ``len(first) + len(second)`` pairs."""
    low, high = overlapped(first, second)
    counts = high - low
    rows = np.repeat(np.arange(len(first)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, np.repeat(low, counts) + offsets


def intersections(first: np.ndarray, second: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The non-empty ``first[row] & second[column]`` of each pair."""
    starts = np.maximum(first[rows, 0], second[columns, 0])
    ends = np.minimum(first[rows, 1], second[columns, 1])
    kept = ends - starts > precision()
    return np.column_stack((starts[kept], ends[kept]))


def crop(segments: np.ndarray, uem: np.ndarray) -> np.ndarray:
    """``Annotation.crop(uem, mode="intersection").get_timeline().support()``.

    A segment spanning many UEM segments would make as many pieces: only the pieces at both ends
    of its run are cut; the UEM segments strictly inside a run are pieces whole, counted once
    however many segments span them, so that the work follows ``len(segments) + len(uem)``.
    """
    low, high = overlapped(segments, uem)
    spanning = np.flatnonzero(high > low)
    rows = np.concatenate((spanning, spanning))
    cut = intersections(segments, uem, rows, np.concatenate((low[spanning], high[spanning] - 1)))
    inside = high - low > 2
    covered = np.zeros(len(uem) + 1, dtype=np.int64)
    np.add.at(covered, low[inside] + 1, 1)
    np.add.at(covered, high[inside] - 1, -1)
    whole = uem[np.cumsum(covered)[:-1] > 0]
    return support(ordered(np.concatenate((cut, whole))))


def gaps(support: np.ndarray, uem: np.ndarray) -> np.ndarray:
    """``Timeline.gaps(support=uem)`` of a support lying inside ``uem`` (also a support).

    In each UEM segment the gaps run from its start or a segment's end to the next segment's
    start or its end; these bounds, sorted, pair up as they follow each other.
    """
    starts = np.sort(np.concatenate((uem[:, 0], support[:, 1])))
    ends = np.sort(np.concatenate((support[:, 0], uem[:, 1])))
    kept = ends - starts > precision()
    return np.column_stack((starts[kept], ends[kept]))


def overlap(first: np.ndarray, second: np.ndarray) -> float:
    """``sum((a & b).duration for a, b in first.co_iter(second))``, added in that order."""
    durations = intersections(first, second, *pairs(first, second))
    # cumsum adds one after the other, as pyannote's loop (np.sum adds pairwise).
    return float(np.cumsum(durations[:, 1] - durations[:, 0])[-1]) if len(durations) else 0.0


def first_frames(times: np.ndarray, count: int) -> np.ndarray:
    """Index of the first of ``count`` label frames whose centre is at or after each time
    (``count`` if none): ``np.searchsorted((np.arange(count) + 0.5) * FRAME_STEP, times)``, the
    rule of :func:`proxyseg.labels.annotation_to_frames`, without the array of centres."""
    guess = np.clip(np.floor(times / FRAME_STEP - 0.5) + 1, 0, count).astype(np.int64)
    # The division may land a frame off the float comparison of centres that defines the rule.
    while True:
        down = (guess > 0) & ((guess - 1 + 0.5) * FRAME_STEP >= times)
        up = (guess < count) & ((guess + 0.5) * FRAME_STEP < times)
        if not (down.any() or up.any()):
            return guess
        guess = guess - down + up


def frames_in_all(*runs: np.ndarray) -> int:
    """Number of frames inside every one of the sets, each given as ``[first, last)`` index runs."""
    # Overlapping runs of one set are merged first, so that the depth below counts sets.
    merged = [merge(run[np.argsort(run[:, 0], kind="stable")], 0) for run in runs]
    bounds = np.concatenate([run.ravel() for run in merged])
    steps = np.concatenate([np.tile([1, -1], len(run)) for run in merged])
    order = np.argsort(bounds, kind="stable")
    depth = np.cumsum(steps[order])
    return int(np.diff(bounds[order])[depth[:-1] == len(runs)].sum())
