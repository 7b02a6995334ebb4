"""Recordings the decoders cannot read as shipped, converted once to 16-bit WAV in the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg.atomic import atomic_output

#: Sample rate of G.722 (wideband: 50 Hz – 7 kHz).
G722_RATE = 16000


def converted(target: Path, decode: Callable[[], tuple[np.ndarray, int]]) -> Path:
    """``target``, written by ``decode()`` (int16 samples ``(frames,)``, their rate in Hz) unless it
    exists: conversions are deterministic (no dithering, no resampling), written atomically."""
    if not target.exists():
        samples, rate = decode()
        with atomic_output(target) as partial:
            sf.write(partial, samples, rate, subtype="PCM_16", format="WAV")
    return target


def decode_g722(path: Path) -> tuple[np.ndarray, int]:
    """A raw G.722 file at 64 kbit/s (as Asterisk ships its prompts and music) → int16 ``(frames,)``
    at 16 kHz, with a fresh decoder state (the ``g722`` package: sippy's libg722, bit-identical to
    FFmpeg's decoder)."""
    import G722  # PyPI "g722"

    return np.asarray(G722.G722(G722_RATE, 64000).decode(path.read_bytes()), dtype=np.int16), G722_RATE


def has_samples(path: Path) -> bool:
    """Whether libsndfile finds samples in ``path`` (a few shipped Ogg files hold none)."""
    try:
        return sf.info(path).frames > 0
    except (sf.LibsndfileError, RuntimeError):
        return False
