"""Evaluation metrics: per-class detection scores and proxy-to-teacher fidelity.

Pure computations on pyannote annotations and ``(frame, class)`` arrays; reading
files and presenting results is :mod:`proxyseg.evaluation`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.base import f_measure
from pyannote.metrics.detection import (
    DFS_PRECISION_RETRIEVED,
    DFS_RECALL_RELEVANT,
    DFS_RELEVANT_RETRIEVED,
    DetectionPrecisionRecallFMeasure,
)

from proxyseg import intervals
from proxyseg.labels import CLASSES, num_frames

_COMPONENTS = (DFS_PRECISION_RETRIEVED, DFS_RECALL_RELEVANT, DFS_RELEVANT_RETRIEVED)

__all__ = ["ClassScores", "Fidelity", "default_uem", "detection_scores", "fidelity"]


@dataclass(frozen=True)
class ClassScores:
    """Detection scores of one class over a set of files.

    ``precision``, ``recall`` and ``f1`` are duration-based, as pyannote's
    ``DetectionPrecisionRecallFMeasure(collar=0.0)``; ``frame_f1`` counts the 20 ms frames
    whose centre lies inside the UEM; ``reference_duration`` and ``hypothesis_duration``
    are the seconds of the class inside the UEM.
    """

    precision: float
    recall: float
    f1: float
    frame_f1: float
    reference_duration: float
    hypothesis_duration: float


@dataclass(frozen=True)
class Fidelity:
    """Agreement of a proxy with its teacher on one class.

    ``f1``: of the proxy's binary frames against the teacher's; ``agreement``: share of
    frames where both binary decisions agree; ``mean_absolute_difference``: mean of
    ``|p_teacher - p_proxy|``; ``frames``: number of frames compared.
    """

    f1: float
    agreement: float
    mean_absolute_difference: float
    frames: int


def _counts(reference: np.ndarray, hypothesis: np.ndarray) -> np.ndarray:
    """True positives, retrieved and relevant frames of two boolean vectors."""
    counts = [reference & hypothesis, hypothesis, reference]
    return np.array([np.count_nonzero(count) for count in counts], dtype=np.int64)


def frame_f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """F1 of boolean frame vectors, with the conventions of the other scores (1.0 when both are empty).

    >>> frame_f1(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool))
    0.6666666666666666
    """
    true_positive = np.sum(predicted & actual)
    return _f1(np.array([true_positive, np.sum(predicted), np.sum(actual)]))


def _f1(counts: np.ndarray) -> float:
    # pyannote's conventions for empty sets, so that frame and duration scores agree
    # on edge cases: nothing retrieved is precision 1, nothing relevant is recall 1.
    true_positive, retrieved, relevant = (int(count) for count in counts)
    precision = 1.0 if retrieved == 0 else true_positive / retrieved
    recall = 1.0 if relevant == 0 else true_positive / relevant
    return float(f_measure(precision, recall))


def default_uem(reference: Annotation) -> Timeline:
    """The evaluation map used when a file has none: ``[0, end of the last reference segment]``.

    It starts at 0 rather than at the first reference segment (pyannote's extent) because
    a recording starts at 0: false alarms before the first reference segment are errors.

    Parameters
    ----------
    reference : Annotation
        Reference of one file, all classes.

    Returns
    -------
    Timeline
        One segment, or none for an empty reference (the file is then not scored).

    Examples
    --------
    >>> reference = Annotation(uri="a")
    >>> reference[Segment(2.0, 7.5)] = "speech"
    >>> list(default_uem(reference))
    [<Segment(0, 7.5)>]
    """
    end = reference.get_timeline(copy=False).extent().end if reference else 0.0
    return Timeline([Segment(0.0, end)] if end > 0 else [], uri=reference.uri)


def _duration_components(reference: np.ndarray, hypothesis: np.ndarray, uem: np.ndarray) -> dict[str, float]:
    """``DetectionPrecisionRecallFMeasure.compute_components`` (collar 0) of one file and class.

    Parameters
    ----------
    reference, hypothesis : np.ndarray, shape (segment, 2)
        Sorted non-empty ``(start, end)`` segments of the class.
    uem : np.ndarray, shape (segment, 2)
        Support of the evaluated regions.
    """
    reference, hypothesis = intervals.crop(reference, uem), intervals.crop(hypothesis, uem)
    true_positive = intervals.overlap(reference, hypothesis)
    false_positive = intervals.overlap(intervals.gaps(reference, uem), hypothesis)
    false_negative = intervals.overlap(reference, intervals.gaps(hypothesis, uem))
    return {
        DFS_PRECISION_RETRIEVED: true_positive + false_positive,
        DFS_RECALL_RELEVANT: true_positive + false_negative,
        DFS_RELEVANT_RETRIEVED: true_positive,
    }


def _frame_counts(reference: np.ndarray, hypothesis: np.ndarray, uem: np.ndarray, count: int) -> np.ndarray:
    """True positive, retrieved and relevant frames (see :func:`_counts`) among the first ``count``
    frames whose centre lies inside ``uem``, in memory that follows the number of segments."""
    reference, hypothesis, uem = (intervals.first_frames(segments, count) for segments in (reference, hypothesis, uem))
    return np.array([
        intervals.frames_in_all(reference, hypothesis, uem), intervals.frames_in_all(hypothesis, uem),
        intervals.frames_in_all(reference, uem),
    ], dtype=np.int64)


def _by_label(annotation: Annotation) -> dict[str, np.ndarray]:
    """Sorted ``(start, end)`` segments of each label."""
    segments: dict[str, list[tuple[float, float]]] = {}
    for segment, _, label in annotation.itertracks(yield_label=True):
        segments.setdefault(label, []).append((segment.start, segment.end))
    return {label: intervals.ordered(pairs) for label, pairs in segments.items()}


def detection_scores(
    references: Mapping[str, Annotation],
    hypotheses: Mapping[str, Annotation],
    uems: Mapping[str, Timeline] | None = None,
    classes: Sequence[str] = CLASSES,
) -> dict[str, ClassScores]:
    """Per-class detection precision, recall and F1, accumulated over files.

    Duration-based scores are those of pyannote's
    ``DetectionPrecisionRecallFMeasure(collar=0.0, skip_overlap=False)``, one metric per
    class fed with the segments of that class only. Frame F1 counts 20 ms frames of the
    label grid (:func:`proxyseg.labels.annotation_to_frames`) whose centre lies in the UEM.

    Parameters
    ----------
    references : mapping of str to Annotation
        Reference of each uri; only these uris are scored.
    hypotheses : mapping of str to Annotation
        Hypothesis of each uri; a missing uri counts as an empty hypothesis, extra uris
        are ignored.
    uems : mapping of str to Timeline, optional
        Evaluated regions of each uri. A uri without one is scored on
        :func:`default_uem` of its reference: ``[0, end of its last reference segment]``.
    classes : sequence of str
        Classes to score; labels outside them are ignored.

    Returns
    -------
    dict of str to ClassScores
        In ``classes`` order, without the classes absent from every reference.

    Examples
    --------
    >>> reference, hypothesis = Annotation(uri="a"), Annotation(uri="a")
    >>> reference[Segment(0, 10)] = "speech"
    >>> hypothesis[Segment(5, 15)] = "speech"
    >>> uems = {"a": Timeline([Segment(0, 20)])}
    >>> speech = detection_scores({"a": reference}, {"a": hypothesis}, uems)["speech"]
    >>> speech.precision, speech.recall, speech.f1, speech.frame_f1
    (0.5, 0.5, 0.5, 0.5)
    """
    uems = {} if uems is None else uems
    present = {label for reference in references.values() for label in reference.labels()}
    scored = [label for label in classes if label in present]
    components = {label: dict.fromkeys(_COMPONENTS, 0.0) for label in scored}
    counts = {label: np.zeros(3, dtype=np.int64) for label in scored}  # see _counts
    nothing = np.zeros((0, 2))
    for uri, reference in references.items():
        hypothesis = hypotheses.get(uri) or Annotation(uri=uri)
        uem = uems.get(uri)
        # Supported, so that overlapping UEM lines are not counted twice.
        uem = default_uem(reference) if uem is None else uem
        uem = intervals.support(intervals.ordered([(segment.start, segment.end) for segment in uem]))
        frames = num_frames(uem[-1, 1]) if len(uem) else 0
        references_of, hypotheses_of = _by_label(reference), _by_label(hypothesis)
        for label in scored:
            ours, theirs = references_of.get(label, nothing), hypotheses_of.get(label, nothing)
            for name, value in _duration_components(ours, theirs, uem).items():
                components[label][name] += value  # file after file, as pyannote accumulates
            counts[label] += _frame_counts(ours, theirs, uem, frames)
    metric = DetectionPrecisionRecallFMeasure(collar=0.0, skip_overlap=False)
    scores = {}
    for label in scored:
        precision, recall, f1 = metric.compute_metrics(detail=components[label])
        scores[label] = ClassScores(
            precision=float(precision),
            recall=float(recall),
            f1=float(f1),
            frame_f1=_f1(counts[label]),
            reference_duration=float(components[label][DFS_RECALL_RELEVANT]),
            hypothesis_duration=float(components[label][DFS_PRECISION_RETRIEVED]),
        )
    return scores


def _as_files(probabilities, name: str, classes: Sequence[str]) -> list[np.ndarray]:
    # A single 2-D array is one file; iterating it would silently yield frames instead.
    if isinstance(probabilities, np.ndarray) and probabilities.ndim == 2:
        probabilities = [probabilities]
    files = []
    for index, array in enumerate(probabilities):
        array = np.asarray(array, dtype=float)
        if array.ndim != 2 or array.shape[1] != len(classes):
            shape = f"(frame, {len(classes)}) for classes {tuple(classes)}"
            raise ValueError(f"{name}[{index}] must have shape {shape}, got {array.shape}")
        if not (np.isfinite(array).all() and ((array >= 0) & (array <= 1)).all()):
            raise ValueError(f"{name}[{index}] must hold finite probabilities in [0, 1]")
        files.append(array)
    return files


def fidelity(
    teacher_probabilities: Sequence[np.ndarray],
    proxy_probabilities: Sequence[np.ndarray],
    classes: Sequence[str] = CLASSES,
    threshold: float = 0.5,
) -> dict[str, Fidelity]:
    """How faithfully a proxy reproduces its teacher, per class, accumulated over files.

    A frame is active when its probability is above ``threshold`` (as the ``onset`` of
    :class:`proxyseg.postprocessing.Binarization`). F1 treats the teacher's decisions as the
    reference, with pyannote's conventions for empty sets (both never active: F1 = 1).

    Parameters
    ----------
    teacher_probabilities, proxy_probabilities : sequence of np.ndarray, shape (frame, class)
        Probabilities of each file, paired in order with the same shapes; a single 2-D
        array stands for one file.
    classes : sequence of str
        Name of each column.
    threshold : float
        Decision threshold in ``[0, 1]``.

    Returns
    -------
    dict of str to Fidelity
        One entry per class, in ``classes`` order.

    Examples
    --------
    >>> teacher = np.array([[0.9], [0.8], [0.2], [0.1]])
    >>> proxy = np.array([[0.7], [0.3], [0.4], [0.1]])
    >>> scores = fidelity([teacher], [proxy], classes=["speech"])["speech"]
    >>> round(scores.f1, 3), scores.agreement, round(scores.mean_absolute_difference, 3)
    (0.667, 0.75, 0.225)
    """
    if not (0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    teachers = _as_files(teacher_probabilities, "teacher_probabilities", classes)
    proxies = _as_files(proxy_probabilities, "proxy_probabilities", classes)
    if len(teachers) != len(proxies):
        raise ValueError(f"got {len(teachers)} teacher files but {len(proxies)} proxy files")
    for index, (teacher, proxy) in enumerate(zip(teachers, proxies)):
        if teacher.shape != proxy.shape:
            raise ValueError(f"file {index}: teacher shape {teacher.shape} != proxy {proxy.shape}")
    if sum(len(teacher) for teacher in teachers) == 0:
        raise ValueError("no frames to compare")
    teacher, proxy = np.concatenate(teachers), np.concatenate(proxies)
    teacher_active, proxy_active = teacher > threshold, proxy > threshold
    result = {}
    for column, label in enumerate(classes):
        ref, hyp = teacher_active[:, column], proxy_active[:, column]
        result[label] = Fidelity(
            f1=_f1(_counts(ref, hyp)),
            agreement=float(np.mean(ref == hyp)),
            mean_absolute_difference=float(np.abs(teacher[:, column] - proxy[:, column]).mean()),
            frames=len(teacher),
        )
    return result
