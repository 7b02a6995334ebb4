"""The time grid every part of proxyseg shares: 16 kHz audio, 20 ms frames.

Features follow the paper's analysis (DESIGN §1): a 25 ms Hann window (400 samples, zero-padded
to an FFT of 512), a 20 ms hop (320 samples) and no centre padding, so ``frames = 1 + (samples -
400) // 320``, the frame count of WavLM, and 199 for 4 s. Feature frame ``i`` is centred at
``0.02 i + 0.0125`` s, 2.5 ms after the centre of label frame ``i``, which covers ``[0.02 i,
0.02 (i + 1))`` (:mod:`proxyseg.labels`): a negligible offset, so both grids share their index.

This module imports nothing: every layer may use it.
"""

SAMPLE_RATE = 16_000
"""Hz, the rate of every waveform the library works on."""

N_FFT = 512
"""FFT size of the features: 257 frequency bins from 0 to 8 kHz."""

WIN_LENGTH = 400
"""Samples per analysis window (25 ms)."""

HOP_LENGTH = 320
"""Samples between frames (20 ms)."""

FRAME_STEP = HOP_LENGTH / SAMPLE_RATE
"""Duration and step of a frame, in seconds (0.02)."""


def num_feature_frames(num_samples: int) -> int:
    """Frames of a waveform of ``num_samples`` samples (0 when shorter than one window).

    >>> num_feature_frames(64000), num_feature_frames(399), num_feature_frames(400)
    (199, 0, 1)
    """
    return 0 if num_samples < WIN_LENGTH else 1 + (num_samples - WIN_LENGTH) // HOP_LENGTH


def frame_samples(first: int, last: int) -> tuple[int, int]:
    """The sample range ``[start, end)`` that feature frames ``first .. last - 1`` read."""
    return first * HOP_LENGTH, (last - 1) * HOP_LENGTH + WIN_LENGTH
