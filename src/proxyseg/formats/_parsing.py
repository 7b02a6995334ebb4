"""Shared parsing helpers of the annotation readers: text, numbers and intervals.

Annotation files come from others: every number is checked before it is used, and every
message quotes what it refuses in a short, escaped form (one line, whatever the file holds).
"""

from __future__ import annotations

import codecs
import math
import os
import re
import reprlib

from proxyseg.errors import LabelFormatError
from proxyseg.files import UnreadableFile, read_regular

MAX_TIME = 1e7
"""Largest time, in seconds, an annotation file may hold (about 116 days).

Longer than any recording one annotates as one file, and small enough that float64 times keep
nanosecond resolution (a time near ``MAX_TIME`` is exact to 2e-9 s, far below pyannote's 1 µs
precision), that frame indices of the 20 ms grid fit in 32 bits (5e8), and that sums of durations
stay far from overflow. Beyond it a time is a typo or a hostile file, refused before anything is
allocated from it.
"""

# Plain decimal numbers, as RTTM, UEM, CSV, TextGrid and Audacity files write them; Python's
# float() also takes '1_000', 'infinity' and non-ASCII digits, which no annotation tool writes.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_shown = reprlib.Repr()
_shown.maxstring = _shown.maxother = _shown.maxlong = 60


#: Longest quote of a file's content in a message (reprlib alone lets nested containers run to hundreds).
MAX_SHOWN = 100


def shown(value) -> str:
    """``repr(value)`` cut to a few dozen characters: quotes a file's content in one short line."""
    text = _shown.repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def read_text(path: str | os.PathLike) -> str:
    """The text of an annotation file: UTF-8, with or without a byte-order mark, or UTF-16 with one.

    Windows editors start UTF-8 files with a byte-order mark, and Praat and Notepad write UTF-16
    with one; a mark left in the text would stick to the first field and change its meaning.

    Raises
    ------
    LabelFormatError
        The path is not a regular file, or its bytes are not text in these encodings.
    OSError
        The file cannot be opened (missing, no permission).
    """
    try:
        data = read_regular(path)
    except UnreadableFile as error:
        raise LabelFormatError(f"{path}: {error}") from None
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = "utf-16" if utf16 else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        name = "a UTF-16" if utf16 else "a UTF-8"
        raise LabelFormatError(f"{path}: not {name} text file ({error.reason} at byte {error.start})") from None


def check_time(value: float, where: str, what: str, written: str | None = None) -> float:
    """``value`` as a float if it is a finite time within ``±MAX_TIME`` seconds.

    Parameters
    ----------
    value : int or float
        The number read (a JSON integer may have any size: compared exactly, before conversion).
    where : str
        ``"<file>:<line>"`` or another location, starting the message.
    what : str
        The field, e.g. ``"start time"``.
    written : str, optional
        The field as written in the file, quoted instead of ``value``.
    """
    quoted = shown(value if written is None else written)
    # An infinity written as digits (1e999) is a large number; written as a word, not a number.
    if isinstance(value, float) and (math.isnan(value) or (math.isinf(value) and written is None)):
        raise LabelFormatError(f"{where}: {what} {quoted} is not a finite number")
    if not -MAX_TIME <= value <= MAX_TIME:
        raise LabelFormatError(
            f"{where}: {what} {quoted} is beyond {MAX_TIME:.0f} s (about 116 days), the longest accepted"
        )
    return float(value)


def parse_number(token: str, where: str, what: str) -> float:
    """The time written as ``token``, a plain decimal number within ``±MAX_TIME`` seconds.

    Parameters
    ----------
    token : str
        The field as written in the file.
    where : str
        ``"<file>:<line>"``, starting the message.
    what : str
        The field, e.g. ``"start time"``.
    """
    if _NUMBER.fullmatch(token) is None:
        infinite = token.strip().lstrip("+-").lower() in {"inf", "infinity", "nan"}
        reason = "is not a finite number" if infinite else "is not a number"
        raise LabelFormatError(f"{where}: {what} {shown(token)} {reason}")
    # Digits too many for a float read as infinity: beyond MAX_TIME like any other large number.
    return check_time(float(token), where, what, token)


def check_interval(start: float, end: float, where: str, end_name: str = "end time") -> None:
    """Refuse a negative start, an end before the start and an end beyond :data:`MAX_TIME`."""
    if start < 0:
        raise LabelFormatError(f"{where}: negative start time {start}")
    if end < start:
        raise LabelFormatError(f"{where}: end {end} < start {start} (negative duration)")
    check_time(end, where, end_name)
