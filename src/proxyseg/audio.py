"""Reading and writing audio files.

Every waveform inside proxyseg is float32 mono at :data:`SAMPLE_RATE`. This module turns
any file libsndfile decodes into that form, block by block so memory does not grow with
the file, and every way a file can be unusable into a :mod:`proxyseg.errors` type.

MP3 files are decoded with dr_mp3 (through miniaudio), which reads every frame, and everything
else with libsndfile. A file that decodes only in part (truncated, or with damaged stretches the
decoder skips) is used for what decodes, with one :class:`~proxyseg.errors.DamagedAudioWarning`
saying so: the signs are libsndfile's own log of the file (chunk sizes beyond the file's end, Ogg
holes), libmpg123's complaints about an MP3 header, and fewer samples decoded than announced.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import miniaudio
import numpy as np
import soundfile as sf
import soxr
from wurlitzer import pipes

from proxyseg.atomic import atomic_output
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

# Extensions whose files libsndfile can decode; an unreadable file with one of them is
# corrupt, any other unreadable file is simply not audio we know about.
_COMMON_EXTENSIONS = ("wav", "flac", "ogg", "mp3")
_KNOWN_EXTENSIONS = frozenset(
    [name.lower() for name in sf.available_formats()]
    + ["ogg", "oga", "opus", "mp3", "aif", "aiff", "wav", "flac"]
)
# Suffixes of samples without a header: libsndfile would need their rate and encoding from us.
_HEADERLESS_SUFFIXES = frozenset({".raw", ".pcm"})
# Suffixes whose container name differs from the suffix itself.
_FORMAT_ALIASES = {"aif": "AIFF", "oga": "OGG"}
# Sizes in libsndfile's log of a WAV, AIFF, AU or W64 file that the file's length contradicts (of
# the whole file or of its audio chunk: "data : 128000 (should be 63978)"), and an Ogg stream with
# pages skipped, a hole, or cut short.
_SIZE_IN_LOG = re.compile(r"^\s*(?:RIFF|RIFX|riff|FORM|data|SSND|Data Size)\s*:\s*(\d+) \(should be (\d+)\)",
                          re.MULTILINE)
_OGG_DAMAGE_IN_LOG = re.compile(r"^Ogg.*(?:Corrupted|\bhole\b|lacks an end-of-stream|Junk after).*$", re.MULTILINE)
_BYTES_PER_SAMPLE = {"PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                     "FLOAT": 4, "DOUBLE": 8}
# What libmpg123 prints on stderr about a damaged stream ("Note: Illegal Audio-MPEG-Header ...",
# "Warning: Xing stream size off ...", "[src/libmpg123/layer3.c:...] error: dequantization failed!").
_DECODER_COMPLAINT = re.compile(r"^\s*(?:Note|Warning|\[[^]\n]*\] \w+):\s*(.+)$", re.MULTILINE)
# Missing audio shorter than half a 20 ms frame cannot change a segmentation: not reported (some
# WAV writers miscount a few bytes).
_NEGLIGIBLE_SECONDS = 0.01
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
        with _decoder_messages() as complaints, _openable(path) as name:
            header = sf.info(name)
    except sf.LibsndfileError as error:
        raise _undecodable(path, _message(error)) from error
    if header.format == "RAW":
        # libsndfile's last resort for a header it does not recognise: a guess, not a decoding.
        raise _undecodable(path, "header not recognised")
    rate, channels, frames = header.samplerate, header.channels, header.frames
    if header.format == "MP3":
        rate, channels, frames = _mp3_layout(path)
    if frames <= 0:
        raise EmptyAudioError(path, "contains no audio samples")
    bytes_per_second = rate * channels * _BYTES_PER_SAMPLE.get(header.subtype, 1)
    damage = _first(_DECODER_COMPLAINT, complaints.getvalue()) or _damage_in_log(header.extra_info, bytes_per_second)
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
    if described.num_samples - decoded > _NEGLIGIBLE_SECONDS * described.sample_rate:
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
            with _openable(path) as name:
                for chunk in miniaudio.stream_file(name, miniaudio.SampleFormat.FLOAT32, described.channels,
                                                   described.sample_rate, block_frames):
                    yield np.frombuffer(chunk, dtype=np.float32).reshape(-1, described.channels)
        except miniaudio.MiniaudioError as error:
            raise CorruptAudioError(path, f"decoding failed: {error}") from error
        return
    try:
        with _openable(path) as name, sf.SoundFile(name) as audio:
            # Until libsndfile returns nothing (it stops at its header's count, exact for these formats).
            while len(data := audio.read(block_frames, dtype="float32", always_2d=True)):
                yield data
    except sf.LibsndfileError as error:
        raise CorruptAudioError(path, f"decoding failed: {_message(error)}") from error


def _mp3_layout(path: Path) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)`` of an MP3 file as dr_mp3 finds them: the Xing header's
    count, or every frame counted (libsndfile estimates from the first frame without a Xing header)."""
    try:
        with _openable(path) as name:
            found = miniaudio.mp3_get_file_info(name)
    except miniaudio.MiniaudioError as error:
        raise _undecodable(path, str(error) or type(error).__name__) from error
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


@contextmanager
def _openable(path: Path) -> Iterator[str]:
    """A name of ``path`` that the decoders can open: itself, or, when it is not valid UTF-8 (the
    decoders encode names strictly), the open file's name under ``/proc/self/fd``."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    yield name


def _undecodable(path: Path, reason: str) -> AudioError:
    extension = path.suffix.lower().lstrip(".")
    if extension in _KNOWN_EXTENSIONS:
        return CorruptAudioError(path, f"cannot be decoded as {extension.upper()}: {reason}")
    others = sorted(_KNOWN_EXTENSIONS.difference(_COMMON_EXTENSIONS))
    readable = ", ".join([*_COMMON_EXTENSIONS, *others])
    return AudioFormatError(path, f"unknown audio format; readable formats: {readable}")


@contextmanager
def _decoder_messages() -> Iterator[io.StringIO]:
    """What libsndfile prints on the process's stderr meanwhile (libmpg123, which it uses to read
    MP3 headers, reports damaged streams there): one warning instead of C library chatter."""
    with pipes(stdout=None, stderr=io.StringIO()) as (_, captured):
        yield captured


def _damage_in_log(log: str, bytes_per_second: int) -> str | None:
    """The first line of libsndfile's ``log`` of a file saying that part of its audio is missing: a
    size stated in the header beyond what the file holds by more than :data:`_NEGLIGIBLE_SECONDS`,
    or a damaged Ogg stream."""
    for match in _SIZE_IN_LOG.finditer(log):
        stated, held = int(match.group(1)), int(match.group(2))
        if stated - held > _NEGLIGIBLE_SECONDS * bytes_per_second:
            return " ".join(match.group(0).split())
    return _first(_OGG_DAMAGE_IN_LOG, log, 0)


def _first(pattern: re.Pattern, text: str, group: int = 1) -> str | None:
    """The ``group`` of ``pattern``'s first match in ``text``, whitespace collapsed."""
    match = pattern.search(text)
    return " ".join(match.group(group).split()) if match else None


def _message(error: sf.LibsndfileError) -> str:
    return str(getattr(error, "error_string", error)).rstrip(".")
