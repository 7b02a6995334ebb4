"""Every kind of awkward audio input a user can hand the tool, written to a folder by name.

Each case says what a well-behaved command must do with it: ``"error"`` (one line on stderr,
non-zero exit, no output), ``"ok"`` (a correct result, nothing on stderr), ``"damaged"`` (a file
whose content is partly lost: either refused as an error, or a result for what could be decoded with
one warning saying so) or ``"any"`` (garbled bytes that may still be valid audio: an error, or a
result with at most one warning).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

#: The formats proxyseg reads, with an encoding libsndfile writes for each.
FORMATS = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS", ".mp3": "MPEG_LAYER_III", ".aiff": "PCM_16",
           ".au": "PCM_16", ".caf": "PCM_16", ".w64": "PCM_16"}


@dataclass(frozen=True)
class Case:
    """An input and what must come of it."""

    path: Path
    expect: str  # "ok", "error", "damaged" or "any"


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced bursts with pauses and a noise floor at 16 kHz, nothing above 3 kHz (so that it
    passes unchanged through 8 kHz): audio the models segment into something."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    syllables = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2  # smooth: no clicks above 3 kHz
    floor = soxr.resample(soxr.resample(0.003 * rng.standard_normal(len(t)), 16_000, 6_000), 6_000, 16_000)
    return (0.25 * voiced * syllables + floor[: len(t)]).astype(np.float32)


def write_cases(folder: Path) -> dict[str, Case]:
    """Write every case into ``folder``; ``{name: Case}``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    cases = {}

    def case(name: str, expect: str, path: Path) -> None:
        cases[name] = Case(path, expect)

    case("missing", "error", folder / "missing.wav")
    (folder / "empty folder").mkdir(exist_ok=True)
    case("directory", "error", folder / "empty folder")
    (folder / "empty.wav").touch()
    case("empty file", "error", folder / "empty.wav")
    sf.write(folder / "zero-length.wav", np.zeros(0, np.float32), 16_000)
    case("zero-length audio", "error", folder / "zero-length.wav")
    (folder / "notes.wav").write_text("this is a text file, not audio\n")
    case("text renamed .wav", "error", folder / "notes.wav")
    sf.write(folder / "short.wav", np.zeros(100, np.float32), 16_000)
    case("shorter than one frame", "error", folder / "short.wav")
    for bad in ("nan", "inf"):
        waveform = speech_like(2.0)
        waveform[5000:5010] = float(bad)
        sf.write(folder / f"{bad}.wav", waveform, 16_000, subtype="FLOAT")
        case(f"{bad} samples", "error", folder / f"{bad}.wav")

    sf.write(folder / "int16 as float.wav", 32767 * speech_like(2.0), 16_000, subtype="FLOAT")
    case("integer samples stored as floats", "error", folder / "int16 as float.wav")
    sf.write(folder / "silence.wav", np.zeros(16_000 * 5, np.float32), 16_000)
    case("all-zero silence", "ok", folder / "silence.wav")
    sf.write(folder / "clipped.wav", np.sign(rng.standard_normal(16_000 * 5)).astype(np.float32), 16_000)
    case("clipped full-scale noise", "ok", folder / "clipped.wav")
    for rate in (8_000, 192_000):  # the 16 kHz sound, resampled
        sf.write(folder / f"rate {rate}.wav", soxr.resample(speech_like(6.0), 16_000, rate), rate, subtype="FLOAT")
        case(f"{rate // 1000} kHz", "ok", folder / f"rate {rate}.wav")
    channels = np.stack([speech_like(6.0, seed=channel) * (channel + 1) / 6 for channel in range(6)], axis=1)
    sf.write(folder / "six channels.wav", channels, 16_000)
    case("6 channels", "ok", folder / "six channels.wav")
    sf.write(folder / "réunion du 3 février — été.flac", speech_like(6.0), 16_000)
    case("unicode and spaces in the name", "ok", folder / "réunion du 3 février — été.flac")

    for suffix, subtype in FORMATS.items():
        kind = suffix.lstrip(".")
        good = folder / f"good {kind}{suffix}"
        sf.write(good, speech_like(6.0, seed=1), 16_000, subtype=subtype)
        case(f"valid {kind}", "ok", good)
        content = good.read_bytes()
        truncated = folder / f"truncated {kind}{suffix}"
        truncated.write_bytes(content[: len(content) // 2])
        case(f"truncated {kind}", "damaged", truncated)
        header = folder / f"corrupt header {kind}{suffix}"
        header.write_bytes(rng.integers(0, 256, 64, dtype=np.uint8).tobytes() + content[64:])
        case(f"corrupt header {kind}", "any", header)
        payload = folder / f"corrupt payload {kind}{suffix}"
        quarter = len(content) // 4
        payload.write_bytes(content[:quarter] + rng.integers(0, 256, 2 * quarter, dtype=np.uint8).tobytes()
                            + content[3 * quarter:])
        case(f"corrupt payload {kind}", "any", payload)
    return cases


def case_names() -> list[str]:
    """The names of the cases, in order (writes them once to a temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        return list(write_cases(Path(folder)))
