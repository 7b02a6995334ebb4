"""On-the-fly augmentation with exact labels (after the paper's recipe, DESIGN §1).

A training chunk is mixed with another chunk of the training set: a speech-rich one at 1–10 dB
below it, to make overlapped speech (p = 0.3), or one without speech (music, noise) at 1–20 dB
below it, to put speech over music or noise (p = 0.5); then its level is changed. Speech is
never buried 20 dB under something else by the augmentation, as its labels would then ask for
the impossible. Labels follow the mixture exactly:
each class is the union of the two chunks' classes, and overlap also appears wherever both
chunks have speech (with a teacher's probabilities as targets, the probability of either of two
independent events). A class that either chunk leaves unannotated stays masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from proxyseg.labels import CLASSES

SPEECH, OVERLAP = CLASSES.index("speech"), CLASSES.index("overlap")


@dataclass(frozen=True)
class Augmentation:
    """Probabilities and level ranges (dB) of the mixing augmentation."""

    overlap_probability: float = 0.3
    overlap_level: tuple[float, float] = (-10.0, -1.0)
    mix_probability: float = 0.5
    mix_level: tuple[float, float] = (-20.0, -1.0)
    gain: tuple[float, float] = (-12.0, 6.0)
    min_partner_speech: float = 0.3

    def __call__(self, waveform, targets, mask, dataset):
        """Augment one chunk; ``dataset`` (a :class:`~proxyseg.training.data.ChunkDataset`) gives partners."""
        draw = _uniform(0.0, 1.0)
        if draw < self.overlap_probability:
            partner = self._partner(dataset, lambda speech: speech >= self.min_partner_speech)
            level = self.overlap_level
        elif draw < self.overlap_probability + self.mix_probability:
            partner = self._partner(dataset, lambda speech: speech == 0.0)
            level = self.mix_level
        else:
            partner = None
        if partner is not None:
            waveform, targets, mask = mix(waveform, targets, mask, *partner, _uniform(*level))
        gain = 10.0 ** (_uniform(*self.gain) / 20.0)
        return np.clip(waveform * gain, -1.0, 1.0), targets, mask

    @staticmethod
    def _partner(dataset, accept, attempts: int = 8):
        """A random chunk whose share of speech frames satisfies ``accept``, or None."""
        for _ in range(attempts):
            partner = dataset.random_chunk()
            if accept(partner[1][:, SPEECH].mean()):
                return partner
        return None


def mix(waveform, targets, mask, other, other_targets, other_mask, level_db: float):
    """Add ``other`` at ``level_db`` relative to ``waveform`` (RMS), with the labels of the mixture.

    Examples
    --------
    >>> a = np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)   # speech on frame 0
    >>> b = np.array([[1, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)   # speech on both, music on frame 1
    >>> m = np.ones((2, 4), dtype=bool)
    >>> _, labels, _ = mix(np.ones(8), a, m, np.ones(8), b, m, -6.0)
    >>> labels.astype(int).tolist()
    [[1, 0, 0, 1], [1, 1, 0, 0]]
    >>> p = np.array([[0.5, 0, 0, 0]]); _, mixed, _ = mix(np.ones(8), p, m[:1], np.ones(8), p, m[:1], -6.0)
    >>> mixed[0].tolist()  # speech in either of two chunks; overlap where both speak
    [0.75, 0.0, 0.0, 0.25]
    """
    rms, other_rms = _rms(waveform), _rms(other)
    if other_rms > 0:
        scale = (rms if rms > 0 else other_rms) * 10.0 ** (level_db / 20.0) / other_rms
        waveform = waveform + other * scale
    a, b = targets.astype(np.float32), other_targets.astype(np.float32)
    mixed = _either(a, b)
    mixed[:, OVERLAP] = _either(mixed[:, OVERLAP], a[:, SPEECH] * b[:, SPEECH])
    return waveform, mixed.astype(np.result_type(targets, other_targets)), mask & other_mask


def _either(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The probability of either of two independent events (with labels of 0 and 1: their union)."""
    return a + b - a * b


def _rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def _uniform(low: float, high: float) -> float:
    # torch's generator: seeded by Lightning per run (and per data-loader worker).
    return low + (high - low) * float(torch.rand(()).item())
