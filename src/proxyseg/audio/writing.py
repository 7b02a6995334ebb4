"""Writing audio files atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg.atomic import atomic_output
from proxyseg.grid import SAMPLE_RATE

# Suffixes whose container name differs from the suffix itself.
_FORMAT_ALIASES = {"aif": "AIFF", "oga": "OGG"}


def save(
    path: str | Path,
    waveform: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    subtype: str = "PCM_16",
) -> None:
    """Write a mono waveform atomically, creating the parent directory.

    The file is written under a hidden temporary name beside ``path`` then renamed, so
    no reader sees a half-written file and a failure leaves nothing behind. libsndfile
    clips samples outside [-1, 1] for PCM subtypes.

    Parameters
    ----------
    path
        Destination; its suffix selects the format (WAV when there is none).
    waveform
        Floating-point samples, shape ``(samples,)``.
    sample_rate
        Sample rate of ``waveform``, in Hz.
    subtype
        libsndfile encoding. The default ``"PCM_16"`` is replaced by the format's own
        default for formats that have no such encoding, such as OGG and MP3.

    Raises
    ------
    ValueError
        If ``waveform`` is not a 1-D floating-point array, or the suffix or subtype is
        not one libsndfile can write.
    OSError
        If the file or its parent directory cannot be created.
    """
    path = Path(path)
    waveform = np.asarray(waveform)
    if waveform.ndim != 1 or not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(
            f"waveform must be a 1-D float array, got {waveform.dtype} {waveform.shape}"
        )
    suffix = path.suffix.lower().lstrip(".")
    container = _FORMAT_ALIASES.get(suffix, suffix.upper() or "WAV")
    if container not in sf.available_formats():
        raise ValueError(f"{path}: cannot write audio with suffix {path.suffix!r}")
    if subtype == "PCM_16" and not sf.check_format(container, subtype):
        subtype = sf.default_subtype(container)

    with atomic_output(path) as partial:
        sf.write(str(partial), waveform, sample_rate, subtype=subtype, format=container)
