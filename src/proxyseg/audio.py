"""Reading and writing audio files.

Every waveform inside proxyseg is float32 mono at :data:`SAMPLE_RATE`. This module turns
any file libsndfile decodes into that form, block by block so memory does not grow with
the file, and every way a file can be unusable into a :mod:`proxyseg.errors` type.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from proxyseg.atomic import atomic_output
from proxyseg.errors import (
    AudioError,
    AudioFormatError,
    AudioNotFoundError,
    AudioTooShortError,
    CorruptAudioError,
    EmptyAudioError,
)

SAMPLE_RATE = 16_000  # Hz, the rate of every waveform the library works on

#: File suffixes taken as audio when a folder is searched (what libsndfile reads).
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64"})

# Extensions whose files libsndfile can decode; an unreadable file with one of them is
# corrupt, any other unreadable file is simply not audio we know about.
_COMMON_EXTENSIONS = ("wav", "flac", "ogg", "mp3")
_KNOWN_EXTENSIONS = frozenset(
    [name.lower() for name in sf.available_formats()]
    + ["ogg", "oga", "opus", "mp3", "aif", "aiff", "wav", "flac"]
)
# Suffixes whose container name differs from the suffix itself.
_FORMAT_ALIASES = {"aif": "AIFF", "oga": "OGG"}


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file holds, read from its header without decoding it.

    ``num_samples`` counts frames (one sample per channel) at the native
    ``sample_rate``; ``format`` and ``subtype`` are libsndfile's names, e.g. ``"WAV"``
    and ``"PCM_16"``.

    Examples
    --------
    >>> AudioInfo(Path("a.wav"), 16000, 2, 8000, "WAV", "PCM_16").duration
    0.5
    """

    path: Path
    sample_rate: int
    channels: int
    num_samples: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length of the file, in seconds."""
        return self.num_samples / self.sample_rate


def info(path: str | Path) -> AudioInfo:
    """Check that a file is usable audio and describe it, without decoding it.

    Parameters
    ----------
    path
        The audio file.

    Returns
    -------
    AudioInfo
        The file's native sample rate, channel count, length and encoding.

    Raises
    ------
    AudioNotFoundError
        If ``path`` does not exist or is a directory.
    EmptyAudioError
        If the file holds no bytes, or no samples.
    CorruptAudioError, AudioFormatError
        If libsndfile cannot open the file: corrupt if its extension names a format
        libsndfile knows, of unknown format otherwise.
    """
    path = Path(path)
    if not path.exists():
        raise AudioNotFoundError(path, "no such file")
    if path.is_dir():
        raise AudioNotFoundError(path, "is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        # libsndfile would only say "System error", which reads like corruption.
        raise AudioError(path, "permission denied")
    if path.stat().st_size == 0:
        raise EmptyAudioError(path, "empty file (0 bytes)")
    try:
        header = sf.info(str(path))
    except sf.LibsndfileError as error:
        raise _undecodable(path, error) from error
    if header.frames <= 0:
        raise EmptyAudioError(path, "contains no audio samples")
    return AudioInfo(
        path, header.samplerate, header.channels, header.frames, header.format, header.subtype
    )


def stream(
    path: str | Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    block_duration: float = 60.0,
    min_duration: float = 0.025,
) -> Iterator[np.ndarray]:
    """Decode a file block by block, as float32 mono at ``sample_rate``.

    The file is checked with :func:`info` when ``stream`` is called, not when the first
    block is requested. Memory is bounded by the block size whatever the file's length.

    Parameters
    ----------
    path
        The audio file.
    sample_rate
        Output sample rate, in Hz.
    block_duration
        Seconds of audio read at a time; yielded blocks are about that long.
    min_duration
        Files shorter than this, in seconds, are rejected.

    Returns
    -------
    Iterator[np.ndarray]
        Consecutive non-empty float32 blocks ``(samples,)``, the mean of the channels.

    Raises
    ------
    AudioError
        As :func:`info`; :class:`AudioTooShortError` below ``min_duration``; while
        iterating, :class:`CorruptAudioError` on a decoding error or a NaN or inf sample.
    ValueError
        If ``sample_rate`` or ``block_duration`` is not positive.
    """
    if sample_rate <= 0 or block_duration <= 0:
        raise ValueError("sample_rate and block_duration must be positive")
    described = info(path)
    if described.duration < min_duration:
        raise AudioTooShortError(
            described.path,
            f"too short: {described.duration:.3f} s, at least {min_duration:.3f} s needed",
        )
    block_frames = max(1, math.ceil(block_duration * described.sample_rate))
    return _blocks(described, sample_rate, block_frames)


def _blocks(described: AudioInfo, sample_rate: int, block_frames: int) -> Iterator[np.ndarray]:
    path = described.path
    resampler = None
    if described.sample_rate != sample_rate:
        resampler = soxr.ResampleStream(
            described.sample_rate, sample_rate, 1, dtype="float32", quality="HQ"
        )
    try:
        with sf.SoundFile(str(path)) as audio:
            # Read until libsndfile returns nothing rather than trusting the header's frame
            # count, which is an estimate for some compressed formats.
            while len(data := audio.read(block_frames, dtype="float32", always_2d=True)):
                if not np.isfinite(data).all():
                    raise CorruptAudioError(path, "contains NaN or infinite samples")
                mono = np.ascontiguousarray(data.mean(axis=1, dtype=np.float32))
                block = mono if resampler is None else resampler.resample_chunk(mono)
                if len(block):
                    yield block
    except sf.LibsndfileError as error:
        raise CorruptAudioError(path, f"decoding failed: {_message(error)}") from error
    if resampler is not None:
        # The resampler holds back its last few samples until told the input has ended.
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if len(tail):
            yield tail


def load(
    path: str | Path, *, sample_rate: int = SAMPLE_RATE, min_duration: float = 0.025
) -> np.ndarray:
    """Decode a whole file as float32 mono at ``sample_rate``.

    This is the concatenation of :func:`stream`, so both always agree.

    Parameters
    ----------
    path, sample_rate, min_duration
        As for :func:`stream`.

    Returns
    -------
    np.ndarray
        float32 waveform of shape ``(samples,)``.

    Raises
    ------
    AudioError
        As :func:`stream`.
    """
    blocks = list(stream(path, sample_rate=sample_rate, min_duration=min_duration))
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(blocks)


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


def _undecodable(path: Path, error: sf.LibsndfileError) -> AudioError:
    extension = path.suffix.lower().lstrip(".")
    if extension in _KNOWN_EXTENSIONS:
        return CorruptAudioError(
            path, f"cannot be decoded as {extension.upper()}: {_message(error)}"
        )
    others = sorted(_KNOWN_EXTENSIONS.difference(_COMMON_EXTENSIONS))
    readable = ", ".join([*_COMMON_EXTENSIONS, *others])
    return AudioFormatError(path, f"unknown audio format; readable formats: {readable}")


def _message(error: sf.LibsndfileError) -> str:
    return str(getattr(error, "error_string", error)).rstrip(".")
