"""When is a source active? Frame energies on the 20 ms label grid, relative to the source's peak.

A source is active on the frames whose energy is within a fixed range of its own loudest frame;
short gaps between active stretches are bridged, as a human annotator would not mark the
pause between two syllables. Because the rule is relative to the source itself, the level at
which the source is mixed does not change its labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from proxyseg.grid import HOP_LENGTH
from proxyseg.postprocessing import fill_short_gaps


@dataclass(frozen=True)
class ActivityRule:
    """How activity is read off a source's frame energies.

    Attributes
    ----------
    range_db
        A frame is active when its energy is at most this far below the source's loudest frame.
    min_gap
        Inactive stretches shorter than this (seconds) between two active ones are filled.
    """

    range_db: float
    min_gap: float

    def to_dict(self) -> dict:
        """JSON-ready form, for the corpus's description."""
        return asdict(self)


#: Rules per kind of source: 30 dB below the peak, about where a source mixed under others stops
#: being audible; music bridges longer rests than speech does.
RULES = {
    "speech": ActivityRule(range_db=30.0, min_gap=0.2),
    "music": ActivityRule(range_db=30.0, min_gap=0.5),
    "noise": ActivityRule(range_db=30.0, min_gap=0.3),
}


def frame_energy(signal: np.ndarray, frame_samples: int = HOP_LENGTH) -> np.ndarray:
    """Mean energy per non-overlapping frame (the last frame is zero-padded).

    Parameters
    ----------
    signal
        Waveform, ``(samples,)``.

    Returns
    -------
    np.ndarray
        ``(frames,)`` with ``frames = ceil(samples / frame_samples)``.

    Examples
    --------
    >>> frame_energy(np.ones(5), frame_samples=2)
    array([1. , 1. , 0.5])
    """
    num_frames = -(-signal.shape[0] // frame_samples)
    padded = np.zeros(num_frames * frame_samples)
    padded[: signal.shape[0]] = signal
    return np.mean(padded.reshape(num_frames, frame_samples) ** 2, axis=1)


def active_frames(
    signal: np.ndarray, rule: ActivityRule, frame_samples: int = HOP_LENGTH,
    sample_rate: int = 16_000,
) -> np.ndarray:
    """Frames on which a source is active.

    Parameters
    ----------
    signal
        The source alone, ``(samples,)``.
    rule
        Range below the peak and gap bridging.

    Returns
    -------
    np.ndarray
        Boolean, ``(frames,)`` as :func:`frame_energy`.

    Examples
    --------
    >>> x = np.concatenate([np.ones(320), np.zeros(640), np.ones(320), np.zeros(3200)])
    >>> active_frames(x, ActivityRule(range_db=30.0, min_gap=0.05)).astype(int)
    array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    """
    energy = frame_energy(signal, frame_samples)
    peak = energy.max(initial=0.0)
    if peak <= 0.0:
        return np.zeros(energy.shape, dtype=bool)
    active = energy >= peak * 10.0 ** (-rule.range_db / 10.0)
    return fill_short_gaps(active, rule.min_gap, step=frame_samples / sample_rate)


def audible_frames(source: np.ndarray, rest: np.ndarray, within_db: float, window: float = 0.5,
                   frame_samples: int = HOP_LENGTH, sample_rate: int = 16_000) -> np.ndarray:
    """Frames where ``source`` is heard over ``rest`` (the rest of the mixture).

    Both frame energies are averaged over ``window`` seconds (a word's pauses do not unmask a
    source for an instant); the source is audible where its average is at most ``within_db``
    below the rest's.

    Parameters
    ----------
    source, rest
        Waveforms ``(samples,)`` of equal length.

    Returns
    -------
    np.ndarray
        Boolean, ``(frames,)`` as :func:`frame_energy`.

    Examples
    --------
    >>> quiet, loud = np.full(16000, 0.01), np.concatenate([np.ones(8000), np.zeros(8000)])
    >>> audible_frames(quiet, loud, within_db=20.0, window=0.1)[[0, -1]].tolist()
    [False, True]
    """
    size = max(1, int(round(window * sample_rate / frame_samples)))
    own = uniform_filter1d(frame_energy(source, frame_samples), size, mode="nearest")
    other = uniform_filter1d(frame_energy(rest, frame_samples), size, mode="nearest")
    return own >= other * 10.0 ** (-within_db / 10.0)
