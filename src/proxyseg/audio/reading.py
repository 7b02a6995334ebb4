"""Reading audio: a file's description, its samples block by block, or all at once, as float32 mono at 16 kHz."""

from __future__ import annotations

import math
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import miniaudio
import numpy as np
import soundfile as sf
import soxr

from proxyseg.audio.diagnostics import (BYTES_PER_SAMPLE, DECODER_COMPLAINT, NEGLIGIBLE_SECONDS, damage_in_log,
                                        decoder_messages, first_match, message, openable, undecodable)
from proxyseg.errors import (
    AudioError,
    AudioFormatError,
    AudioNotFoundError,
    AudioTooShortError,
    CorruptAudioError,
    DamagedAudioWarning,
    EmptyAudioError,
)
from proxyseg.grid import SAMPLE_RATE

#: File suffixes taken as audio when a folder is searched (what libsndfile reads).
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64"})


# Suffixes of samples without a header: libsndfile would need their rate and encoding from us.
_HEADERLESS_SUFFIXES = frozenset({".raw", ".pcm"})


#: Largest sample magnitude taken (60 dB above full scale): floating-point audio is on the [-1, 1]
#: scale, and much larger samples are integers stored as floats or garbage, not sound to segment.
MAX_AMPLITUDE = 1000.0


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file holds, read from its header without decoding it.

    ``num_samples`` counts frames (one sample per channel) at the native
    ``sample_rate``, as the header announces them; ``format`` and ``subtype`` are
    libsndfile's names, e.g. ``"WAV"`` and ``"PCM_16"``; ``damage`` is the first sign
    that the file is truncated or damaged, if its header shows one.

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
    damage: str | None = None

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
    if not stat.S_ISREG(path.stat().st_mode):
        # A FIFO or a device would block the decoder, or never end.
        raise AudioNotFoundError(path, "not a regular file")
    if not os.access(path, os.R_OK):
        # libsndfile would only say "System error", which reads like corruption.
        raise AudioError(path, "permission denied")
    if path.stat().st_size == 0:
        raise EmptyAudioError(path, "empty file (0 bytes)")
    if path.suffix.lower() in _HEADERLESS_SUFFIXES:
        raise AudioFormatError(path, "headerless samples: their rate and encoding are unknown; convert the file "
                                     "to WAV or FLAC")
    try:
        with decoder_messages() as complaints, openable(path) as name:
            header = sf.info(name)
    except sf.LibsndfileError as error:
        raise undecodable(path, message(error)) from error
    if header.format == "RAW":
        # libsndfile's last resort for a header it does not recognise: a guess, not a decoding.
        raise undecodable(path, "header not recognised")
    rate, channels, frames = header.samplerate, header.channels, header.frames
    if header.format == "MP3":
        rate, channels, frames = _mp3_layout(path)
    if frames <= 0:
        raise EmptyAudioError(path, "contains no audio samples")
    bytes_per_second = rate * channels * BYTES_PER_SAMPLE.get(header.subtype, 1)
    damage = first_match(DECODER_COMPLAINT, complaints.getvalue()) or damage_in_log(header.extra_info, bytes_per_second)
    return AudioInfo(path, rate, channels, frames, header.format, header.subtype, damage)


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
        iterating, :class:`CorruptAudioError` on a decoding error, a NaN or infinite sample,
        or one beyond :data:`MAX_AMPLITUDE`.
    ValueError
        If ``sample_rate`` or ``block_duration`` is not positive.

    Warns
    -----
    DamagedAudioWarning
        Once the last block is read, if the file is truncated or damaged (see the module's
        documentation): the blocks are what could be decoded.
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
    decoded = 0
    for data in _decoded(described, block_frames):
        if problem := _unusable(data):
            raise CorruptAudioError(path, problem)
        decoded += len(data)
        mono = np.ascontiguousarray(data.mean(axis=1, dtype=np.float32))
        block = mono if resampler is None else resampler.resample_chunk(mono)
        if len(block):
            yield block
    if resampler is not None:
        # The resampler holds back its last few samples until told the input has ended.
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if len(tail):
            yield tail
    signs = [described.damage]
    if described.num_samples - decoded > NEGLIGIBLE_SECONDS * described.sample_rate:
        signs.append(f"its header announces {described.duration:.3f} s")
    if signs := [sign for sign in signs if sign]:
        warnings.warn(DamagedAudioWarning(path, f"damaged or truncated ({'; '.join(signs)}); the "
                                                f"{decoded / described.sample_rate:.3f} s that decode are used"),
                      stacklevel=2)


def _decoded(described: AudioInfo, block_frames: int) -> Iterator[np.ndarray]:
    """The file's samples as decoded: float32 blocks ``(frames, channels)`` at its own rate."""
    path = described.path
    if described.format == "MP3":
        # libsndfile stops at the length it estimates from the first frame when a variable-bitrate
        # file has no Xing header (3 s of a 21 s file in a test); dr_mp3 decodes every frame.
        try:
            with openable(path) as name:
                for chunk in miniaudio.stream_file(name, miniaudio.SampleFormat.FLOAT32, described.channels,
                                                   described.sample_rate, block_frames):
                    yield np.frombuffer(chunk, dtype=np.float32).reshape(-1, described.channels)
        except miniaudio.MiniaudioError as error:
            raise CorruptAudioError(path, f"decoding failed: {error}") from error
        return
    try:
        with openable(path) as name, sf.SoundFile(name) as audio:
            # Until libsndfile returns nothing (it stops at its header's count, exact for these formats).
            while len(data := audio.read(block_frames, dtype="float32", always_2d=True)):
                yield data
    except sf.LibsndfileError as error:
        raise CorruptAudioError(path, f"decoding failed: {message(error)}") from error


def _mp3_layout(path: Path) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)`` of an MP3 file as dr_mp3 finds them: the Xing header's
    count, or every frame counted (libsndfile estimates from the first frame without a Xing header)."""
    try:
        with openable(path) as name:
            found = miniaudio.mp3_get_file_info(name)
    except miniaudio.MiniaudioError as error:
        raise undecodable(path, str(error) or type(error).__name__) from error
    return found.sample_rate, found.nchannels, found.num_frames


def as_waveform(samples: np.ndarray | list[float]) -> np.ndarray:
    """Check that ``samples`` are a waveform the models can take; them as float32 ``(samples,)``.

    Raises
    ------
    ValueError
        If they are not 1-D, not floating point (integer PCM must be scaled to [-1, 1] first),
        or hold a NaN or infinite sample, or one beyond :data:`MAX_AMPLITUDE`.

    Examples
    --------
    >>> as_waveform([0.0, 0.5]).dtype
    dtype('float32')
    >>> as_waveform(np.zeros((2, 8)))
    Traceback (most recent call last):
    ...
    ValueError: a waveform is mono, of shape (samples,), not (2, 8): mix the channels down first, e.g. with .mean(axis=0)
    """
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"a waveform is mono, of shape (samples,), not {array.shape}: mix the channels down "
                         "first, e.g. with .mean(axis=0)")
    if not np.issubdtype(array.dtype, np.floating):
        integers = np.issubdtype(array.dtype, np.signedinteger)
        scale = f": divide by {2 ** (8 * array.dtype.itemsize - 1)}" if integers else ""
        raise ValueError(f"a waveform holds floating-point samples in [-1, 1], not {array.dtype}{scale}")
    if problem := _unusable(array):
        raise ValueError(f"the waveform {problem}")
    return array.astype(np.float32, copy=False)


def _unusable(samples: np.ndarray) -> str | None:
    """Why the models cannot take these decoded ``samples``, if they cannot."""
    if not np.isfinite(samples).all():
        return "contains NaN or infinite samples"
    peak = float(np.abs(samples).max(initial=0.0))
    if peak > MAX_AMPLITUDE:
        return (f"has samples of {peak:.3g}, {20 * math.log10(peak):.0f} dB above full scale: floating-point "
                "audio is on the [-1, 1] scale (integer samples stored as floats?)")
    return None


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
