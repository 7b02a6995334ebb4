"""What the decoders say about a file: damage in libsndfile's log, libmpg123's complaints, unreadable formats."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import soundfile as sf
from wurlitzer import pipes

from proxyseg.errors import AudioError, AudioFormatError, CorruptAudioError

# Extensions whose files libsndfile can decode; an unreadable file with one of them is
# corrupt, any other unreadable file is simply not audio we know about.
COMMON_EXTENSIONS = ("wav", "flac", "ogg", "mp3")


KNOWN_EXTENSIONS = frozenset(
    [name.lower() for name in sf.available_formats()]
    + ["ogg", "oga", "opus", "mp3", "aif", "aiff", "wav", "flac"]
)


# Sizes in libsndfile's log of a WAV, AIFF, AU or W64 file that the file's length contradicts (of
# the whole file or of its audio chunk: "data : 128000 (should be 63978)"), and an Ogg stream with
# pages skipped, a hole, or cut short.
SIZE_IN_LOG = re.compile(r"^\s*(?:RIFF|RIFX|riff|FORM|data|SSND|Data Size)\s*:\s*(\d+) \(should be (\d+)\)",
                          re.MULTILINE)


OGG_DAMAGE_IN_LOG = re.compile(r"^Ogg.*(?:Corrupted|\bhole\b|lacks an end-of-stream|Junk after).*$", re.MULTILINE)


BYTES_PER_SAMPLE = {"PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                     "FLOAT": 4, "DOUBLE": 8}


# What libmpg123 prints on stderr about a damaged stream ("Note: Illegal Audio-MPEG-Header ...",
# "Warning: Xing stream size off ...", "[src/libmpg123/layer3.c:...] error: dequantization failed!").
DECODER_COMPLAINT = re.compile(r"^\s*(?:Note|Warning|\[[^]\n]*\] \w+):\s*(.+)$", re.MULTILINE)


# Missing audio shorter than half a 20 ms frame cannot change a segmentation: not reported (some
# WAV writers miscount a few bytes).
NEGLIGIBLE_SECONDS = 0.01


@contextmanager
def openable(path: Path) -> Iterator[str]:
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


def undecodable(path: Path, reason: str) -> AudioError:
    extension = path.suffix.lower().lstrip(".")
    if extension in KNOWN_EXTENSIONS:
        return CorruptAudioError(path, f"cannot be decoded as {extension.upper()}: {reason}")
    others = sorted(KNOWN_EXTENSIONS.difference(COMMON_EXTENSIONS))
    readable = ", ".join([*COMMON_EXTENSIONS, *others])
    return AudioFormatError(path, f"unknown audio format; readable formats: {readable}")


@contextmanager
def decoder_messages() -> Iterator[io.StringIO]:
    """What libsndfile prints on the process's stderr meanwhile (libmpg123, which it uses to read
    MP3 headers, reports damaged streams there): one warning instead of C library chatter."""
    with pipes(stdout=None, stderr=io.StringIO()) as (_, captured):
        yield captured


def damage_in_log(log: str, bytes_per_second: int) -> str | None:
    """The first line of libsndfile's ``log`` of a file saying that part of its audio is missing: a
    size stated in the header beyond what the file holds by more than :data:`NEGLIGIBLE_SECONDS`,
    or a damaged Ogg stream."""
    for match in SIZE_IN_LOG.finditer(log):
        stated, held = int(match.group(1)), int(match.group(2))
        if stated - held > NEGLIGIBLE_SECONDS * bytes_per_second:
            return " ".join(match.group(0).split())
    return first_match(OGG_DAMAGE_IN_LOG, log, 0)


def first_match(pattern: re.Pattern, text: str, group: int = 1) -> str | None:
    """The ``group`` of ``pattern``'s first match in ``text``, whitespace collapsed."""
    match = pattern.search(text)
    return " ".join(match.group(group).split()) if match else None


def message(error: sf.LibsndfileError) -> str:
    return str(getattr(error, "error_string", error)).rstrip(".")
