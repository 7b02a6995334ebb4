"""RTTM and UEM files: every line checked, then read into pyannote.core objects."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator

from pyannote.core import Annotation, Segment, Timeline

from proxyseg.atomic import write_text
from proxyseg.errors import LabelFormatError
from proxyseg.formats._parsing import check_interval, parse_number, read_text, shown


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


# The line types of the RTTM specification (NIST RT-09 evaluation plan, appendix A). Any other first
# field is a mistake (a lowercase "speaker", a stray character) that would drop the line silently.
RTTM_TYPES = frozenset({
    "SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER", "EDIT",
    "IP", "SU", "CB", "A/P", "SPEAKER", "SPKR-INFO",
})

# The tokens pandas reads as missing values (pandas.read_csv's default na_values), and so do the
# loaders of pyannote.database: a uri or label written so means nothing to those tools, and is
# refused rather than read differently here.
_MISSING = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


def _lines(path, columns: int) -> Iterator[tuple[str, list[str]]]:
    """``("<path>:<line>", fields)`` of each line that is neither blank nor a ``;;`` comment."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith(";;"):
            continue
        if len(tokens) != columns:
            raise LabelFormatError(f"{path}:{number}: expected {columns} columns, got {len(tokens)}")
        yield f"{path}:{number}", tokens


def _name(token: str, where: str, what: str) -> str:
    if token in _MISSING:
        raise LabelFormatError(
            f"{where}: {what} {token!r} reads as a missing value (e.g. 'NA', 'null') in pandas and pyannote"
        )
    return token


def read_rttm(path: str | os.PathLike) -> dict[str, Annotation]:
    """Read an RTTM file.

    Only ``SPEAKER`` lines are kept (other types of the RTTM specification need 10 columns too, but
    are not parsed further; an unknown type is refused); blank lines and ``;;`` comments are skipped.
    Times are plain decimal numbers; a segment may not start before 0 nor end after
    :data:`~proxyseg.formats.MAX_TIME`. Uris and labels that pandas reads as missing values
    (``NA``, ``null``, ...) are refused.

    Parameters
    ----------
    path : str or PathLike
        RTTM file: UTF-8, with or without a byte-order mark, or UTF-16 with one.

    Returns
    -------
    dict of str to Annotation
        Annotation of each uri in the file, in uri order, ``{}`` for a file without segments;
        track ``i`` is the ``i``-th non-empty segment of the file, as pyannote.database numbers them.

    Raises
    ------
    LabelFormatError
        One line naming the file, the line and the field.
    """
    annotations: dict[str, Annotation] = {}
    track = 0
    for where, tokens in _lines(path, 10):
        if tokens[0] not in RTTM_TYPES:
            raise LabelFormatError(f"{where}: unknown RTTM type {shown(tokens[0])} (segments are 'SPEAKER' lines)")
        # Other types (SPKR-INFO, ...) may hold <NA> times; they carry no segment.
        if tokens[0] != "SPEAKER":
            continue
        uri, label = _name(tokens[1], where, "uri"), _name(tokens[7], where, "label")
        start = parse_number(tokens[3], where, "start time")
        end = start + parse_number(tokens[4], where, "duration")
        check_interval(start, end, where, "end time (start + duration)")
        segment = Segment(start, end)
        if segment:
            if uri not in annotations:
                annotations[uri] = Annotation(uri=uri)
            annotations[uri][segment, track] = label
            track += 1
    return {uri: annotations[uri] for uri in sorted(annotations)}


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

    Times are checked as in :func:`read_rttm`.

    Parameters
    ----------
    path : str or PathLike
        UEM file, lines ``<uri> <channel> <start> <end>``.

    Returns
    -------
    dict of str to Timeline
        Evaluated regions of each uri, in uri order, ``{}`` for an empty file.

    Raises
    ------
    LabelFormatError
        One line naming the file, the line and the field.
    """
    segments: dict[str, list[Segment]] = {}
    for where, tokens in _lines(path, 4):
        uri = _name(tokens[0], where, "uri")
        start = parse_number(tokens[2], where, "start time")
        end = parse_number(tokens[3], where, "end time")
        check_interval(start, end, where)
        if Segment(start, end):
            segments.setdefault(uri, []).append(Segment(start, end))
    return {uri: Timeline(segments[uri], uri=uri) for uri in sorted(segments)}
