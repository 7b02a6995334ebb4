from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyannote.core import Annotation, Segment

from proxyseg.grid import FRAME_STEP
from proxyseg.labels import CLASSES, FRAMES, annotation_to_frames, frames_to_annotation, num_frames
from proxyseg.postprocessing import Binarization, binarize


def triples(annotation: Annotation) -> list[tuple[float, float, str]]:
    tracks = annotation.itertracks(yield_label=True)
    return sorted((segment.start, segment.end, label) for segment, _, label in tracks)


def test_label_frame_i_covers_20_ms_from_0_02_i_in_class_columns_and_num_frames_counts_them():
    """Frame ``i`` of the label grid is ``[0.02 i, 0.02 (i + 1))`` and column ``c`` is the ``c``-th class
    of (speech, music, noise, overlap): one active frame converts to exactly that segment, with that
    label, and back; segments placed at known times convert to the frames whose centres they hold;
    ``num_frames`` counts the frames whose centre lies before the end, on and off frame boundaries."""
    for i in (0, 1, 7, 35, 1499, 179_999):  # 35 * 0.02 is 0.7000000000000001 in floats
        assert FRAMES[i].start == pytest.approx(i / 50, abs=1e-9)
        assert FRAMES[i].end == pytest.approx((i + 1) / 50, abs=1e-9)
        for column, name in enumerate(("speech", "music", "noise", "overlap")):
            frames = np.zeros((i + 2, len(CLASSES)), dtype=bool)
            frames[i, column] = True
            annotation = frames_to_annotation(frames)
            # i / 50 is the float nearest to 0.02 i: boundaries are exact multiples of 20 ms
            assert triples(annotation) == [(i / 50, (i + 1) / 50, name)]
            np.testing.assert_array_equal(annotation_to_frames(annotation, i + 2), frames)

    annotation = Annotation()
    annotation[Segment(0.06, 0.14), "a"] = "music"  # on the grid: frames 3 to 6
    annotation[Segment(0.071, 0.13), "b"] = "speech"  # holds the centres 0.09 and 0.11, not 0.07 nor 0.13 (its end)
    annotation[Segment(0.0, 0.011), "c"] = "overlap"  # holds the centre 0.01 of frame 0
    frames = annotation_to_frames(annotation, 10)
    assert [np.flatnonzero(frames[:, column]).tolist() for column in range(4)] == [[4, 5], [3, 4, 5, 6], [], [0]]
    assert triples(frames_to_annotation(frames)) == [(0.0, 0.02, "overlap"), (0.06, 0.14, "music"),
                                                     (0.08, 0.12, "speech")]

    for k in (0, 1, 2, 35, 1500, 180_000):
        on = k / 50  # frame k - 1 ends here
        assert num_frames(on) == k
        assert num_frames(on + 0.005) == k  # the centre of frame k, at on + 0.01, is not reached
        assert num_frames(on + 0.01) == k  # that centre is the end itself, outside [0, duration)
        assert num_frames(on + 0.015) == k + 1
        for duration in (on, on + 0.005, on + 0.015):
            # labels over a whole file of that duration: its frames, clipped to the file, and back
            count = num_frames(duration)
            everything = np.ones((count, len(CLASSES)), dtype=bool)
            annotation = frames_to_annotation(everything, duration=duration)
            end = min(count / 50, duration)
            assert triples(annotation) == ([(0.0, end, name) for name in sorted(CLASSES)] if count else [])
            np.testing.assert_array_equal(annotation_to_frames(annotation, count), everything)


def test_frames_to_annotation_hand_made():
    frames = np.zeros((6, 4), dtype=bool)
    frames[0:2, 0] = True  # speech from the very first frame
    frames[4:6, 0] = True  # ... and up to the very last one
    frames[1:5, 1] = True
    frames[3, 3] = True
    annotation = frames_to_annotation(frames, uri="f")
    assert annotation.uri == "f"
    assert triples(annotation) == [
        (0.0, 0.04, "speech"),
        (0.02, 0.1, "music"),
        (0.06, 0.08, "overlap"),
        (0.08, 0.12, "speech"),
    ]
    # one track per segment, even for two segments of one label
    assert len(list(annotation.itertracks())) == 4
    np.testing.assert_array_equal(annotation_to_frames(annotation, 6), frames)


def test_frames_to_annotation_accepts_01_and_clips_to_duration():
    frames = np.zeros((5, 4), dtype=int)
    frames[2:5, 2] = 1
    annotation = frames_to_annotation(frames, duration=0.095)
    assert triples(annotation) == [(0.04, 0.095, "noise")]
    assert num_frames(0.095) == 5
    np.testing.assert_array_equal(annotation_to_frames(annotation, 5), frames.astype(bool))
    # frames entirely past the end disappear
    assert triples(frames_to_annotation(frames, duration=0.03)) == []


def test_frames_to_annotation_validates_shape():
    with pytest.raises(ValueError, match="4 columns"):
        frames_to_annotation(np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        frames_to_annotation(np.zeros(3, dtype=bool))
    frames = np.ones((2, 2), dtype=bool)
    annotation = frames_to_annotation(frames, classes=("a", "b"))
    assert triples(annotation) == [(0.0, 0.04, "a"), (0.0, 0.04, "b")]


@settings(max_examples=60, deadline=None, database=None)
@given(arrays(np.bool_, st.tuples(st.integers(0, 400), st.just(len(CLASSES)))))
def test_round_trip_random(frames):
    annotation = frames_to_annotation(frames, uri="x")
    np.testing.assert_array_equal(annotation_to_frames(annotation, len(frames)), frames)
    for start, end, _ in triples(annotation):
        # boundaries are exact multiples of the step, as decimal numbers with 2 digits
        assert start == round(start, 2) and end == round(end, 2)
        assert round(start / FRAME_STEP) * FRAME_STEP == pytest.approx(start, abs=1e-12)


@settings(max_examples=30, deadline=None, database=None)
@given(
    arrays(np.bool_, st.tuples(st.integers(1, 200), st.just(len(CLASSES)))),
    st.floats(0.0, 0.0199),
)
def test_round_trip_with_duration_clipping(frames, extra):
    # any duration whose frame count is len(frames) keeps the round trip exact
    duration = round((len(frames) - 0.5) * FRAME_STEP + 1e-6 + extra / 2, 6)
    assert num_frames(duration) == len(frames)
    annotation = frames_to_annotation(frames, duration=duration)
    assert all(end <= duration for _, end, _ in triples(annotation))
    np.testing.assert_array_equal(annotation_to_frames(annotation, len(frames)), frames)


def test_annotation_to_frames_centre_rule():
    annotation = Annotation()
    # centres are 0.01, 0.03, 0.05, 0.07, 0.09: [0.03, 0.07) holds 0.03 and 0.05 only
    annotation[Segment(0.03, 0.07), "a"] = "music"
    annotation[Segment(0.031, 0.049), "b"] = "speech"  # holds no centre
    annotation[Segment(0.0, 1.0), "c"] = "laughter"  # not a class: ignored
    frames = annotation_to_frames(annotation, 5)
    assert frames.dtype == bool and frames.shape == (5, 4)
    np.testing.assert_array_equal(frames[:, 1], [False, True, True, False, False])
    assert not frames[:, [0, 2, 3]].any()
    # segments past the last frame are truncated, not an error
    np.testing.assert_array_equal(annotation_to_frames(annotation, 2)[:, 1], [False, True])


def test_annotation_to_frames_validates():
    with pytest.raises(ValueError, match="num_frames"):
        annotation_to_frames(Annotation(), -1)
    with pytest.raises(ValueError, match="step"):
        annotation_to_frames(Annotation(), 3, step=0.0)


@pytest.mark.parametrize(
    "duration, expected",
    [
        (0.0, 0), (0.009, 0), (0.01, 0), (0.0101, 1), (0.02, 1), (0.03, 1), (0.0301, 2),
        (30.0, 1500), (29.99, 1499), (3600.0, 180000),
    ],
)
def test_num_frames(duration, expected):
    assert num_frames(duration) == expected


def test_num_frames_counts_centres_inside():
    for duration in np.linspace(0.0, 3.0, 301):
        n = num_frames(float(duration))
        assert (n - 0.5) * FRAME_STEP < duration + 1e-9 or n == 0
        assert (n + 0.5) * FRAME_STEP >= duration - 1e-9


@pytest.mark.parametrize("duration", [-0.1, float("nan"), float("inf")])
def test_num_frames_rejects(duration):
    with pytest.raises(ValueError, match="duration"):
        num_frames(duration)


def column(values, hysteresis, step=FRAME_STEP):
    scores = np.asarray(values, dtype=float)[:, None]
    return binarize(scores, hysteresis, classes=["speech"], step=step)[:, 0].astype(int).tolist()


def test_binarize_hysteresis():
    scores = [0.1, 0.6, 0.45, 0.45, 0.3, 0.7, 0.5, 0.41, 0.4, 0.45, 0.51]
    assert column(scores, Binarization(onset=0.5, offset=0.4)) == [0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1]
    # without hysteresis the plain threshold applies (score > 0.5)
    assert column(scores, Binarization()) == [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    # between the thresholds at the very start: stays off
    assert column([0.45, 0.45, 0.6], Binarization(onset=0.5, offset=0.4)) == [0, 0, 1]


def test_binarize_min_duration_off_fills_inner_gaps_only():
    scores = [0.0, 0.0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    hysteresis = Binarization(min_duration_off=0.05)  # gaps of 2 frames (0.04 s) are filled
    assert column(scores, hysteresis) == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0]
    # a gap of exactly min_duration_off is not shorter than it: kept
    assert column(scores, Binarization(min_duration_off=0.04)) == [int(s) for s in scores]
    gap = [1] + [0] * 15 + [1]
    assert column(gap, Binarization(min_duration_off=0.1 + 0.2)) == gap  # 0.3 s is not < 0.1 + 0.2
    # edge gaps touch the start or the end of the file: never filled
    assert column([0, 1, 0, 1, 0], Binarization(min_duration_off=1.0)) == [0, 1, 1, 1, 0]


def test_binarize_min_duration_on_removes_blips_after_filling():
    scores = [0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0]
    expected = [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert column(scores, Binarization(min_duration_on=0.05)) == expected
    # filling happens first: 1 + gap + 1 becomes one region of 3 frames, long enough
    both = Binarization(min_duration_on=0.05, min_duration_off=0.03)
    assert column(scores, both) == [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0]
    # a region of exactly min_duration_on is kept, despite float error (0.1 + 0.2 > 0.3)
    region = [0] + [1] * 15 + [0]
    assert column(region, Binarization(min_duration_on=0.1 + 0.2)) == region
    assert column([0] + [1] * 14 + [0], Binarization(min_duration_on=0.1 + 0.2)) == [0] * 16


def test_binarize_per_class_mapping():
    scores = np.tile(np.array([[0.2], [0.6], [0.35], [0.8]]), (1, 4))
    per_class = {"music": Binarization(onset=0.5, offset=0.3), "noise": Binarization(0.1, 0.1)}
    active = binarize(scores, per_class)
    assert active.dtype == bool and active.shape == (4, 4)
    np.testing.assert_array_equal(active[:, 0], [0, 1, 0, 1])  # default Binarization()
    np.testing.assert_array_equal(active[:, 1], [0, 1, 1, 1])
    np.testing.assert_array_equal(active[:, 2], [1, 1, 1, 1])
    np.testing.assert_array_equal(active[:, 3], [0, 1, 0, 1])


def test_binarize_validates():
    with pytest.raises(ValueError, match="unknown class"):
        binarize(np.zeros((3, 4)), {"singing": Binarization()})
    with pytest.raises(ValueError, match="4 columns"):
        binarize(np.zeros((3, 2)), Binarization())
    with pytest.raises(ValueError, match="NaN"):
        binarize(np.full((3, 4), np.nan), Binarization())
    with pytest.raises(ValueError, match="Binarization"):
        binarize(np.zeros((3, 4)), 0.5)
    assert binarize(np.zeros((0, 4)), Binarization()).shape == (0, 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"onset": 0.4, "offset": 0.5}, "offset <= onset"),
        ({"onset": 1.5, "offset": 0.5}, "onset <= 1"),
        ({"offset": -0.1}, "0 <= offset"),
        ({"min_duration_on": -1.0}, "min_duration_on"),
        ({"min_duration_off": -0.01}, "min_duration_off"),
        ({"onset": float("nan")}, "onset"),
        ({"onset": "0.5"}, "onset"),
    ],
)
def test_hysteresis_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Binarization(**kwargs)


def test_hysteresis_dict_round_trip():
    hysteresis = Binarization(onset=0.7, offset=0.3, min_duration_on=0.1, min_duration_off=0.2)
    data = hysteresis.to_dict()
    assert data == {"onset": 0.7, "offset": 0.3, "min_duration_on": 0.1, "min_duration_off": 0.2}
    assert Binarization.from_dict(data) == hysteresis
    assert Binarization.from_dict({"onset": 0.8}) == Binarization(onset=0.8)
    with pytest.raises(ValueError, match="threshold"):
        Binarization.from_dict({"threshold": 0.5})
