"""Channels a mixed scene may be heard through: the telephone band and lossy codecs at low rates.

Real recordings reach a segmenter through phones, voice-over-IP and compressed files; a corpus
of clean studio mixtures teaches nothing of that. :func:`through_channel` passes a scene through
one channel. Labels stay those of the clean scene (a channel changes how a sound is heard, not when
it is there); libsndfile's decoders remove the codecs' delays, so the audio stays on the labels'
frames (tests/test_corpus_conditions.py checks it for every channel).
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import butter, sosfiltfilt

from proxyseg.grid import SAMPLE_RATE

#: ``telephone``: 8 kHz, 300–3400 Hz; ``mulaw``: that, stored as 8-bit μ-law; ``gsm``: GSM 06.10
#: (mobile phones, 13 kbit/s); ``mp3`` and ``opus``: at 16 kHz and low bit rates (their compression
#: level drawn from 0.6 to 1, where 1 is the strongest).
CHANNELS = ("telephone", "mulaw", "gsm", "mp3", "opus")
_NARROW_RATE = 8000


def through_channel(waveform: np.ndarray, channel: str, rng: np.random.Generator) -> np.ndarray:
    """``waveform`` (float32 ``(samples,)`` at 16 kHz) as heard through ``channel`` (one of
    :data:`CHANNELS`): the same length, aligned with the input, float32."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; choose from {', '.join(CHANNELS)}")
    if channel in ("mp3", "opus"):
        level = float(rng.uniform(0.6, 1.0))
        heard = _codec(waveform, SAMPLE_RATE, *{"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS")}[channel],
                       compression_level=level)
        return _fitted(heard, len(waveform))
    narrow = _telephone_band(soxr.resample(waveform, SAMPLE_RATE, _NARROW_RATE))
    if channel == "mulaw":
        narrow = _codec(narrow, _NARROW_RATE, "WAV", "ULAW")
    elif channel == "gsm":
        narrow = _fitted(_codec(narrow, _NARROW_RATE, "WAV", "GSM610"), len(narrow))
    heard = soxr.resample(narrow, _NARROW_RATE, SAMPLE_RATE)
    return _fitted(heard, len(waveform))


def _telephone_band(narrow: np.ndarray) -> np.ndarray:
    """300–3400 Hz of 8 kHz audio, without phase shift (a 4th-order Butterworth band-pass, both ways)."""
    sections = butter(4, (300, 3400), btype="bandpass", fs=_NARROW_RATE, output="sos")
    return sosfiltfilt(sections, narrow).astype(np.float32)


def _codec(samples: np.ndarray, rate: int, file_format: str, subtype: str, **options) -> np.ndarray:
    """``samples`` encoded and decoded again in memory by libsndfile."""
    encoded = io.BytesIO()
    sf.write(encoded, np.clip(samples, -1.0, 1.0), rate, format=file_format, subtype=subtype, **options)
    encoded.seek(0)
    decoded, _ = sf.read(encoded, dtype="float32")
    return decoded if decoded.ndim == 1 else decoded.mean(axis=1)


def _fitted(samples: np.ndarray, length: int) -> np.ndarray:
    """``samples`` cut or zero-padded to ``length``, float32."""
    out = np.zeros(length, dtype=np.float32)
    out[:min(length, len(samples))] = samples[:length]
    return out
