"""RTTM and UEM files, read with pyannote.database's loaders after a strict line check."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable

from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm, load_uem

from proxyseg.atomic import write_text
from proxyseg.errors import LabelFormatError
from proxyseg.formats._parsing import check_interval, parse_number, read_text


def _with_uris(items, kind: type) -> list:
    """``items`` as a list, each with a uri that fits one space-separated field (whitespace becomes ``_``)."""
    items = [items] if isinstance(items, kind) else list(items)
    written = []
    for item in items:
        # pyannote would write "<NA>", which reads back as a missing value.
        if not item.uri:
            raise ValueError(f"every {kind.__name__} needs a uri to be written, got {item.uri!r}")
        field = "_".join(item.uri.split())
        if field != item.uri:
            item = item.copy()
            item.uri = field
        written.append(item)
    return written


def write_rttm(path: str | os.PathLike, annotations: Annotation | Iterable[Annotation]) -> None:
    """Write annotations to an RTTM file.

    Parameters
    ----------
    path : str or PathLike
        Output file.
    annotations : Annotation or iterable of Annotation
        One line ``SPEAKER <uri> 1 <start> <duration> <NA> <NA> <label> <NA> <NA>`` per
        track, times in seconds with 3 decimals. Uris are required; whitespace in a uri is written
        as ``_`` (fields are space-separated).
    """
    buffer = io.StringIO()
    for annotation in _with_uris(annotations, Annotation):
        annotation.write_rttm(buffer)
    write_text(path, buffer.getvalue())


def _validated(path, columns: int, check) -> tuple[list[str], set[str]]:
    """Validate a whitespace-separated file with ``check(tokens, line_number)``.

    Returns the lines to give pandas (those for which ``check`` returns a uri) and
    the set of their uris.
    """
    kept, uris = [], set()
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith(";;"):
            continue
        if len(tokens) != columns:
            raise LabelFormatError(
                f"{path}:{number}: expected {columns} columns, got {len(tokens)}"
            )
        uri = check(tokens, number)
        if uri is not None:
            kept.append(" ".join(tokens))
            uris.add(uri)
    return kept, uris


def _load(path, loader, kept: list[str], uris: set[str], kind: str) -> dict:
    try:
        loaded = loader(io.StringIO("\n".join(kept)))
    except Exception as error:  # pandas raises many types; all mean "unparsable"
        raise LabelFormatError(f"{path}: cannot parse {kind} ({error})") from None
    # pandas reads tokens such as "NA" or "null" as missing values, which would drop
    # rows silently; refuse the file instead.
    if set(loaded) != uris:
        raise LabelFormatError(f"{path}: a uri reads as a missing value (e.g. 'NA', 'null')")
    return loaded


def read_rttm(path: str | os.PathLike) -> dict[str, Annotation]:
    """Read an RTTM file.

    Only ``SPEAKER`` lines are kept (other types need 10 columns too, but are not
    parsed further); blank lines and ``;;`` comments are skipped.

    Parameters
    ----------
    path : str or PathLike
        RTTM file.

    Returns
    -------
    dict of str to Annotation
        Annotation of each uri in the file, ``{}`` for a file without segments.
    """

    def check(tokens: list[str], number: int) -> str | None:
        # Other types (SPKR-INFO, ...) may hold <NA> times; they carry no segment.
        if tokens[0] != "SPEAKER":
            return None
        start = parse_number(tokens[3], path, number, "start time")
        duration = parse_number(tokens[4], path, number, "duration")
        check_interval(start, start + duration, path, number)
        return tokens[1] if Segment(start, start + duration) else None

    kept, uris = _validated(path, 10, check)
    if not kept:
        return {}
    loaded = _load(path, load_rttm, kept, uris, "RTTM")
    labels = [label for annotation in loaded.values() for label in annotation.labels()]
    if not all(isinstance(label, str) for label in labels):
        raise LabelFormatError(f"{path}: a label reads as a missing value (e.g. 'NA', 'null')")
    return loaded


def write_uem(path: str | os.PathLike, timelines: Timeline | Iterable[Timeline]) -> None:
    """Write evaluation maps to a UEM file.

    Parameters
    ----------
    path : str or PathLike
        Output file.
    timelines : Timeline or iterable of Timeline
        One line ``<uri> 1 <start> <end>`` per segment, times with 3 decimals. Uris
        are required; whitespace in a uri is written as ``_``.
    """
    buffer = io.StringIO()
    for timeline in _with_uris(timelines, Timeline):
        timeline.write_uem(buffer)
    write_text(path, buffer.getvalue())


def read_uem(path: str | os.PathLike) -> dict[str, Timeline]:
    """Read a UEM file.

    Parameters
    ----------
    path : str or PathLike
        UEM file, lines ``<uri> <channel> <start> <end>``.

    Returns
    -------
    dict of str to Timeline
        Evaluated regions of each uri, ``{}`` for an empty file.
    """

    def check(tokens: list[str], number: int) -> str | None:
        start = parse_number(tokens[2], path, number, "start time")
        end = parse_number(tokens[3], path, number, "end time")
        check_interval(start, end, path, number)
        return tokens[0] if Segment(start, end) else None

    kept, uris = _validated(path, 4, check)
    return _load(path, load_uem, kept, uris, "UEM") if kept else {}
