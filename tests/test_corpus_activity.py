import numpy as np
import pytest

from proxyseg.corpus.activity import ActivityRule, active_frames, frame_energy

RULE = ActivityRule(range_db=30.0, min_gap=0.2)


def burst(frames_on: list[tuple[int, int]], total: int, amplitude: float = 1.0) -> np.ndarray:
    signal = np.zeros(total * 320)
    for start, end in frames_on:
        signal[start * 320 : end * 320] = amplitude
    return signal


def test_frame_energy_pads_the_last_frame():
    energy = frame_energy(np.ones(321))
    assert energy.shape == (2,)
    assert energy[0] == 1.0 and energy[1] == pytest.approx(1 / 320)


def test_activity_marks_exactly_the_frames_of_the_bursts():
    expected = np.zeros(100, dtype=bool)
    expected[10:30] = expected[60:70] = True
    assert np.array_equal(active_frames(burst([(10, 30), (60, 70)], 100), RULE), expected)


def test_activity_does_not_depend_on_the_level():
    signal = burst([(10, 30), (60, 70)], 100) * np.random.default_rng(0).standard_normal(32000)
    assert np.array_equal(active_frames(signal, RULE), active_frames(signal * 1e-3, RULE))


def test_frames_below_the_range_are_inactive():
    signal = burst([(0, 10)], 50) + burst([(20, 30)], 50, amplitude=10 ** (-35 / 20))
    active = active_frames(signal, RULE)
    assert active[:10].all() and not active[20:30].any()


def test_short_gaps_are_bridged_but_edges_are_not():
    # Gap of 5 frames (0.1 s) is filled; gap of 20 frames (0.4 s) is not; edges stay inactive.
    active = active_frames(burst([(10, 20), (25, 35), (55, 60)], 80), RULE)
    assert active[10:35].all()
    assert not active[35:55].any()
    assert not active[:10].any() and not active[60:].any()


def test_silence_is_never_active():
    assert not active_frames(np.zeros(3200), RULE).any()
