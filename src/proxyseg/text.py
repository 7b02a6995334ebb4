"""Text made from names the tool did not choose: file names that are not valid UTF-8, or that hold
control characters, turned into text that can be written to a UTF-8 file or shown on one line."""

from __future__ import annotations

import re

# Bytes of a file name that are not UTF-8 arrive as lone surrogates (Python's surrogateescape).
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# What would break or forge a one-line message: control characters (newlines, terminal escapes),
# lone surrogates, and the bidirectional overrides that reorder what a terminal shows.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return repr(match.group())[1:-1] if code < 0x100 else f"\\u{code:04x}"


def decodable(name: str) -> str:
    r"""``name`` with the bytes that were not UTF-8 written as ``\xNN``.

    >>> decodable(b"caf\xe9".decode("utf-8", "surrogateescape"))
    'caf\\xe9'
    """
    return _UNDECODABLE.sub(_escape, name)


def printable(text: str) -> str:
    r"""``text`` with control characters, undecodable bytes and bidirectional overrides escaped, so
    that it shows as one line and cannot pass for something else.

    >>> printable("take\nproxyseg: error: forged.wav\x1b[31m")
    'take\\nproxyseg: error: forged.wav\\x1b[31m'
    """
    return _UNPRINTABLE.sub(_escape, text)
