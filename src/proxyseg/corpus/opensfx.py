"""Read OpenSFX's ``opensfx.cat`` sound archive (the ``openttd-opensfx`` Debian package).

Layout: a table of ``(offset, size)`` little-endian uint32 pairs, whose first offset (bit 31
cleared) divided by 8 is the entry count; each entry is a 1-byte name length, the name (which
carries the metadata: title, author, licence), then a RIFF WAV file.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from proxyseg.errors import CorpusError

# Items that are not noise: voices (applause and the crowd's "oooh" are vocal), musical
# jingles, and the archive's empty placeholders.
_EXCLUDED_TITLES = re.compile(r"applause|oooh|unused|good year|bad year", re.IGNORECASE)


@dataclass(frozen=True)
class SoundEntry:
    """One sound of the archive.

    Attributes
    ----------
    index
        Position in the archive.
    title
        The quoted title of the metadata, e.g. ``Wind``.
    recording
        The original recording it was edited from, when the metadata names one, else the title:
        several entries are cut from the same recording and must stay in the same split.
    metadata
        The full name field (title, author, licence).
    wav
        The RIFF WAV bytes.
    """

    index: int
    title: str
    recording: str
    metadata: str
    wav: bytes


def read_catalogue(path: Path) -> list[SoundEntry]:
    """Parse ``opensfx.cat`` and return its noise entries (vocal and musical items left out).

    Parameters
    ----------
    path
        The ``.cat`` file.

    Returns
    -------
    list of SoundEntry
    """
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise CorpusError(f"{path}: not an OpenSFX catalogue (too short)")
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    entries = []
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        if offset + size > len(data) or size < 2:
            raise CorpusError(f"{path}: entry {index} lies outside the file")
        name_length = data[offset]
        metadata = data[offset + 1 : offset + 1 + name_length].rstrip(b"\0").decode("latin-1")
        wav = data[offset + 1 + name_length : offset + size]
        title = _first_quoted(metadata) or metadata
        if _EXCLUDED_TITLES.search(title) or not wav.startswith(b"RIFF"):
            continue
        original = re.search(r'Original\s+"([^"]+)"', metadata)
        recording = original.group(1) if original else title
        entries.append(SoundEntry(index, title, recording, metadata, wav))
    return entries


def _first_quoted(text: str) -> str | None:
    match = re.match(r'\s*"([^"]*)"', text)
    return match.group(1) if match else None
