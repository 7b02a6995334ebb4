"""Reading small files that others put in place: regular files only, read without blocking, of a
bounded size, and JSON parsed strictly.

A name can hold anything: a FIFO (opening it waits for a writer, forever), a device (``/dev/zero``
never ends), a folder, or a file far larger than what belongs there. These functions read such a
name without hanging and without growing, and say what is wrong in a few words; each reader turns
that into its own error naming the file.
"""

from __future__ import annotations

import json
import os
import stat


class UnreadableFile(ValueError):
    """A name that does not hold a regular file of a sensible size (the reason is the message)."""


def read_regular(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit`` of them.

    Raises
    ------
    UnreadableFile
        A folder, FIFO or device, or more than ``limit`` bytes.
    OSError
        The file cannot be opened (missing, no permission).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise UnreadableFile("not a regular file (a folder, FIFO or device)")
    if limit is not None and status.st_size > limit:
        os.close(descriptor)
        raise UnreadableFile(f"{status.st_size:,} bytes, more than the {limit:,} such a file may have")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read() if limit is None else file.read(limit + 1)
    if limit is not None and len(data) > limit:  # grown since it was measured
        raise UnreadableFile(f"more than the {limit:,} bytes such a file may have")
    return data


def parse_json_strictly(data: bytes):
    """The JSON value of UTF-8 ``data``, refusing what Python's parser lets through.

    NaN and infinities (not JSON, though Python reads them), numbers beyond a float, integers of
    more than 30 digits (Python would spend quadratic time on a long one), a key repeated in an
    object (the last one would win silently), and nesting deep enough to exhaust the stack.

    Raises
    ------
    ValueError
        Saying what is wrong, in one line.
    """
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_float=_finite, parse_int=_short_int)
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text (byte {data[error.start]:#04x} at {error.start})") from None
    except RecursionError:
        raise ValueError("malformed JSON: nested too deeply") from None
    except ValueError as error:  # json.JSONDecodeError, and the hooks' refusals
        raise ValueError(f"malformed JSON: {error}") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) < len(keys):
        raise ValueError(f"key {next(k for k in keys if keys.count(k) > 1)[:40]!r} appears twice in an object")
    return dict(pairs)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number (JSON has no NaN or infinity)")


def _finite(text: str) -> float:
    number = float(text)
    if abs(number) == float("inf"):
        raise ValueError(f"{text[:40]} is beyond the range of a float")
    return number


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)
