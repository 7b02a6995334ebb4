"""From probabilities to segments: per-class binarisation thresholds tuned on a dev set."""

from __future__ import annotations

import itertools

import numpy as np

from proxyseg.labels import CLASSES, Hysteresis, binarize

#: The grid searched per class.
ONSETS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2))
OFFSET_GAPS = (0.0, 0.1, 0.2)
MIN_DURATIONS = (0.0, 0.1, 0.2, 0.4)


def frame_f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """F1 of boolean frame vectors (1.0 when both are empty).

    >>> frame_f1(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool))
    0.6666666666666666
    """
    tp = np.sum(predicted & actual)
    denominator = 2 * tp + np.sum(predicted & ~actual) + np.sum(~predicted & actual)
    return 1.0 if denominator == 0 else float(2 * tp / denominator)


def tune_binarization(probabilities: list[np.ndarray], targets: list[np.ndarray], masks: list[np.ndarray],
                      classes: tuple[str, ...] = CLASSES) -> dict[str, Hysteresis]:
    """Per class, the hysteresis thresholds and minimum durations that maximise frame F1.

    Parameters
    ----------
    probabilities, targets, masks
        Per file, ``(frame, class)`` arrays: model probabilities, reference labels and where
        the reference is known. Binarisation runs file by file; F1 is accumulated over files.
    classes
        Classes to tune (others keep the default ``Hysteresis()``).

    Returns
    -------
    dict
        class name → :class:`~proxyseg.labels.Hysteresis`.
    """
    tuned = {}
    for name in classes:
        column = CLASSES.index(name)
        best, best_f1 = Hysteresis(), -1.0
        for onset, gap, min_on, min_off in itertools.product(ONSETS, OFFSET_GAPS, MIN_DURATIONS, MIN_DURATIONS):
            if onset - gap < 0.05:
                continue
            candidate = Hysteresis(float(onset), float(round(onset - gap, 2)), min_on, min_off)
            predicted = [binarize(p[:, [column]], candidate, classes=[name])[:, 0] for p in probabilities]
            f1 = frame_f1(np.concatenate([p[m[:, column]] for p, m in zip(predicted, masks)]),
                          np.concatenate([t[m[:, column], column] for t, m in zip(targets, masks)]))
            if f1 > best_f1 + 1e-9:
                best, best_f1 = candidate, f1
        tuned[name] = best
    return tuned
