"""Tests of proxyseg.metrics: detection scores against pyannote, frame F1 and fidelity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.detection import (
    DFS_PRECISION_RETRIEVED,
    DFS_RECALL_RELEVANT,
    DetectionPrecisionRecallFMeasure,
)

from proxyseg.labels import CLASSES
from proxyseg.metrics import ClassScores, Fidelity, default_uem, detection_scores, fidelity


def _annotation(uri: str, *segments: tuple[float, float, str]) -> Annotation:
    annotation = Annotation(uri=uri)
    for track, (start, end, label) in enumerate(segments):
        annotation[Segment(start, end), track] = label
    return annotation


def _uem(*segments: tuple[float, float]) -> Timeline:
    return Timeline([Segment(start, end) for start, end in segments])


def test_half_overlap_gives_half_precision_and_recall():
    reference = _annotation("a", (0, 10, "speech"))
    hypothesis = _annotation("a", (5, 15, "speech"))
    scores = detection_scores({"a": reference}, {"a": hypothesis}, {"a": _uem((0, 20))})
    assert list(scores) == ["speech"]
    speech = scores["speech"]
    assert isinstance(speech, ClassScores)
    assert speech.precision == pytest.approx(0.5)
    assert speech.recall == pytest.approx(0.5)
    assert speech.f1 == pytest.approx(0.5)
    assert speech.frame_f1 == pytest.approx(0.5)
    assert speech.reference_duration == pytest.approx(10)
    assert speech.hypothesis_duration == pytest.approx(10)


def test_precision_and_recall_differ_per_class():
    reference = _annotation("a", (0, 10, "speech"), (0, 4, "music"))
    hypothesis = _annotation("a", (0, 5, "speech"), (0, 8, "music"))
    scores = detection_scores({"a": reference}, {"a": hypothesis}, {"a": _uem((0, 10))})
    assert (scores["speech"].precision, scores["speech"].recall) == pytest.approx((1.0, 0.5))
    assert (scores["music"].precision, scores["music"].recall) == pytest.approx((0.5, 1.0))
    assert scores["speech"].f1 == pytest.approx(2 / 3)


def test_overlapping_tracks_of_one_class_are_not_counted_twice():
    reference = _annotation("a", (0, 6, "speech"), (4, 10, "speech"))
    hypothesis = _annotation("a", (0, 10, "speech"))
    speech = detection_scores({"a": reference}, {"a": hypothesis}, {"a": _uem((0, 10))})["speech"]
    assert speech.reference_duration == pytest.approx(10)
    assert speech.precision == speech.recall == pytest.approx(1.0)


def test_classes_absent_from_every_reference_are_skipped():
    references = {"a": _annotation("a", (0, 5, "noise")), "b": _annotation("b", (0, 5, "speech"))}
    # The hypothesis predicts music, which no reference holds: it is not scored.
    hypotheses = {"a": _annotation("a", (0, 5, "noise"), (0, 5, "music"))}
    scores = detection_scores(references, hypotheses)
    assert list(scores) == ["speech", "noise"]  # CLASSES order, not reference order


def test_missing_hypothesis_counts_as_empty():
    a, b = _annotation("a", (0, 10, "speech")), _annotation("b", (0, 30, "speech"))
    references, hypotheses = {"a": a, "b": b}, {"a": a, "z": _annotation("z", (0, 99, "speech"))}
    speech = detection_scores(references, hypotheses)["speech"]
    assert speech.precision == pytest.approx(1.0)
    assert speech.recall == pytest.approx(10 / 40)
    assert speech.reference_duration == pytest.approx(40)
    assert speech.hypothesis_duration == pytest.approx(10)  # the extra uri is ignored


def test_empty_hypothesis_everywhere_gives_zero_recall():
    speech = detection_scores({"a": _annotation("a", (1, 3, "speech"))}, {})["speech"]
    assert (speech.precision, speech.recall, speech.f1, speech.frame_f1) == (1.0, 0.0, 0.0, 0.0)


def test_uem_restricts_scoring():
    reference = _annotation("a", (0, 10, "speech"))
    hypothesis = _annotation("a", (5, 15, "speech"), (18, 20, "speech"))
    speech = detection_scores({"a": reference}, {"a": hypothesis}, {"a": _uem((0, 8))})["speech"]
    assert speech.reference_duration == pytest.approx(8)
    assert speech.hypothesis_duration == pytest.approx(3)
    assert (speech.precision, speech.recall) == pytest.approx((1.0, 3 / 8))
    # Two disjoint evaluated regions, the false alarm [18, 20] inside the second one.
    uems = {"a": _uem((0, 10), (16, 20))}
    speech = detection_scores({"a": reference}, {"a": hypothesis}, uems)["speech"]
    assert (speech.precision, speech.recall) == pytest.approx((5 / 7, 0.5))


def test_default_uem_spans_zero_to_end_of_reference():
    reference = _annotation("a", (2, 10, "speech"))
    hypothesis = _annotation("a", (0, 12, "speech"))
    assert list(default_uem(reference)) == [Segment(0, 10)]
    speech = detection_scores({"a": reference}, {"a": hypothesis})["speech"]
    # [0, 2] is a false alarm (the recording starts at 0); [10, 12] is beyond the reference.
    assert (speech.precision, speech.recall) == pytest.approx((0.8, 1.0))
    assert default_uem(Annotation(uri="empty")) == Timeline(uri="empty")


def test_empty_reference_without_uem_is_not_scored():
    references = {"a": Annotation(uri="a"), "b": _annotation("b", (0, 4, "speech"))}
    hypotheses = {"a": _annotation("a", (0, 5, "speech"))}
    speech = detection_scores(references, hypotheses)["speech"]
    assert speech.hypothesis_duration == 0.0 and speech.reference_duration == pytest.approx(4)


def test_frame_f1_ignores_frames_outside_the_uem():
    reference = _annotation("a", (0, 1, "speech"))
    hypothesis = _annotation("a", (0, 1, "speech"), (3, 4, "speech"))
    speech = detection_scores({"a": reference}, {"a": hypothesis}, {"a": _uem((0, 2))})["speech"]
    assert speech.frame_f1 == 1.0 and speech.f1 == 1.0


def _pyannote_scores(references, hypotheses, uems, label):
    metric = DetectionPrecisionRecallFMeasure(collar=0.0, skip_overlap=False)
    for uri, reference in references.items():
        hypothesis = hypotheses.get(uri, Annotation(uri=uri))
        metric(reference.subset([label]), hypothesis.subset([label]), uem=uems[uri])
    return metric.compute_metrics(), metric.accumulated_


_TIME = st.integers(min_value=0, max_value=500)  # in 20 ms steps: frame-aligned, up to 10 s


@st.composite
def _segments(draw, grid: float):
    segments = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        start, length = draw(_TIME), draw(st.integers(min_value=1, max_value=100))
        segments.append((start * grid, (start + length) * grid, draw(st.sampled_from(CLASSES))))
    return segments


@st.composite
def _files(draw, grid: float):
    """References, hypotheses and UEMs of 1 to 3 files, times on a grid of ``grid`` seconds."""
    references, hypotheses, uems = {}, {}, {}
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        uri = f"file{index}"
        references[uri] = _annotation(uri, *draw(_segments(grid)))
        if draw(st.booleans()) or index == 0:
            hypotheses[uri] = _annotation(uri, *draw(_segments(grid)))
        regions = []
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            start, length = draw(_TIME), draw(st.integers(min_value=1, max_value=300))
            regions.append((start * grid, (start + length) * grid))
        uems[uri] = _uem(*regions).support()
    return references, hypotheses, uems


@settings(max_examples=25, deadline=None)
@given(_files(grid=0.013))
def test_duration_scores_agree_with_pyannote(files):
    references, hypotheses, uems = files
    scores = detection_scores(references, hypotheses, uems)
    present = {label for reference in references.values() for label in reference.labels()}
    assert list(scores) == [label for label in CLASSES if label in present]
    for label, result in scores.items():
        (precision, recall, f1), accumulated = _pyannote_scores(references, hypotheses, uems, label)
        assert result.precision == pytest.approx(precision)
        assert result.recall == pytest.approx(recall)
        assert result.f1 == pytest.approx(f1)
        assert result.reference_duration == pytest.approx(accumulated[DFS_RECALL_RELEVANT])
        assert result.hypothesis_duration == pytest.approx(accumulated[DFS_PRECISION_RETRIEVED])


@settings(max_examples=25, deadline=None)
@given(_files(grid=0.02))
def test_frame_f1_equals_duration_f1_on_aligned_segments(files):
    references, hypotheses, uems = files
    for result in detection_scores(references, hypotheses, uems).values():
        assert result.frame_f1 == pytest.approx(result.f1, abs=1e-9)


def test_no_warning_about_approximated_uem():
    # pyannote warns when it has to guess the UEM; we always pass one.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detection_scores({"a": _annotation("a", (0, 1, "speech"))}, {})


def test_fidelity_on_hand_made_probabilities():
    teacher = np.array([[0.9, 0.1], [0.8, 0.1], [0.2, 0.1], [0.1, 0.1]])
    proxy = np.array([[0.7, 0.2], [0.3, 0.0], [0.4, 0.1], [0.1, 0.9]])
    result = fidelity([teacher], [proxy], classes=["speech", "music"])
    speech, music = result["speech"], result["music"]
    assert isinstance(speech, Fidelity)
    assert speech.f1 == pytest.approx(2 / 3)  # teacher active on 2 frames, proxy finds 1
    assert speech.agreement == pytest.approx(0.75)
    assert speech.mean_absolute_difference == pytest.approx((0.2 + 0.5 + 0.2 + 0.0) / 4)
    assert speech.frames == 4
    # Teacher never active, proxy once: no true positive.
    assert music.f1 == 0.0 and music.agreement == pytest.approx(0.75)


def test_fidelity_accumulates_over_files_and_uses_strict_threshold():
    teacher = [np.array([[1.0]]), np.array([[0.0], [0.5]])]
    proxy = [np.array([[1.0]]), np.array([[1.0], [0.5]])]
    speech = fidelity(teacher, proxy, classes=["speech"])["speech"]
    # 0.5 is not above the threshold: frames are teacher 1,0,0 and proxy 1,1,0.
    assert speech.frames == 3
    assert speech.f1 == pytest.approx(2 / 3)
    assert speech.agreement == pytest.approx(2 / 3)
    assert speech.mean_absolute_difference == pytest.approx(1 / 3)
    # Both never active: perfect agreement.
    quiet = fidelity(np.zeros((5, 4)), np.full((5, 4), 0.2))
    assert list(quiet) == list(CLASSES)
    assert quiet["noise"].f1 == 1.0 and quiet["noise"].agreement == 1.0


@pytest.mark.parametrize(
    "teacher, proxy",
    [
        ([np.zeros((3, 4))], [np.zeros((4, 4))]),
        ([np.zeros((3, 4))], [np.zeros((3, 4)), np.zeros((3, 4))]),
        ([np.zeros((3, 2))], [np.zeros((3, 2))]),
        ([np.full((3, 4), np.nan)], [np.zeros((3, 4))]),
        ([np.full((3, 4), 1.5)], [np.zeros((3, 4))]),
        ([], []),
    ],
)
def test_fidelity_rejects_bad_inputs(teacher, proxy):
    with pytest.raises(ValueError):
        fidelity(teacher, proxy)
