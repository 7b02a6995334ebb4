"""Reading and writing annotation files: RTTM, UEM, CSV, JSON, Praat TextGrid, Audacity.

Writers are atomic (a temporary file in the target directory is renamed over the
target) and create missing parent directories. Readers raise
:class:`~proxyseg.errors.LabelFormatError`, naming the file and, when known, the line,
for anything they cannot parse.

>>> import tempfile
>>> from pathlib import Path
>>> from pyannote.core import Annotation, Segment
>>> annotation = Annotation(uri="demo")
>>> annotation[Segment(0.0, 1.5)] = "speech"
>>> with tempfile.TemporaryDirectory() as directory:
...     path = Path(directory) / "demo.csv"
...     write_annotation(path, annotation, "csv")
...     text = path.read_text()
...     read = read_annotation(path)
>>> text.splitlines()
['start,end,label', '0.000,1.500,speech']
>>> read.uri, [(s.start, s.end, label) for s, _, label in read.itertracks(yield_label=True)]
('demo', [(0.0, 1.5, 'speech')])
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm, load_uem

from proxyseg.atomic import write_text
from proxyseg.errors import LabelFormatError
from proxyseg.labels import CLASSES

__all__ = [
    "EXTENSIONS", "FORMATS", "read_annotation", "read_rttm", "read_uem",
    "write_annotation", "write_rttm", "write_uem",
]

FORMATS = ("rttm", "csv", "json", "textgrid", "audacity")
"""Formats understood by :func:`write_annotation` and :func:`read_annotation`."""

EXTENSIONS = {
    "rttm": "rttm", "csv": "csv", "json": "json", "textgrid": "TextGrid", "audacity": "txt",
}
"""File extension (without dot) of each format."""


def _read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LabelFormatError(f"{path}: not a UTF-8 text file ({error.reason})") from None


def _number(token: str, path, line: int, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise LabelFormatError(f"{path}:{line}: {what} {token!r} is not a number") from None
    if not math.isfinite(value):
        raise LabelFormatError(f"{path}:{line}: {what} {token!r} is not a finite number")
    return value


def _interval(start: float, end: float, path, line: int) -> None:
    if start < 0:
        raise LabelFormatError(f"{path}:{line}: negative start time {start}")
    if end < start:
        raise LabelFormatError(f"{path}:{line}: end {end} < start {start} (negative duration)")


def _with_uris(items, kind: type) -> list:
    items = [items] if isinstance(items, kind) else list(items)
    for item in items:
        # pyannote would write "<NA>", which reads back as a missing value.
        if not item.uri:
            raise ValueError(f"every {kind.__name__} needs a uri to be written, got {item.uri!r}")
    return items


def write_rttm(path: str | os.PathLike, annotations: Annotation | Iterable[Annotation]) -> None:
    """Write annotations to an RTTM file.

    Parameters
    ----------
    path : str or PathLike
        Output file.
    annotations : Annotation or iterable of Annotation
        One line ``SPEAKER <uri> 1 <start> <duration> <NA> <NA> <label> <NA> <NA>`` per
        track, times in seconds with 3 decimals. Uris are required.
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
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
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
        start = _number(tokens[3], path, number, "start time")
        duration = _number(tokens[4], path, number, "duration")
        _interval(start, start + duration, path, number)
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
        are required.
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
        start = _number(tokens[2], path, number, "start time")
        end = _number(tokens[3], path, number, "end time")
        _interval(start, end, path, number)
        return tokens[0] if Segment(start, end) else None

    kept, uris = _validated(path, 4, check)
    return _load(path, load_uem, kept, uris, "UEM") if kept else {}


def _segments(annotation: Annotation) -> list[tuple[float, float, str]]:
    tracks = annotation.itertracks(yield_label=True)
    return sorted((segment.start, segment.end, label) for segment, _, label in tracks)


def _to_annotation(segments: Iterable[tuple[float, float, str]], uri: str | None) -> Annotation:
    annotation = Annotation(uri=uri)
    for track, (start, end, label) in enumerate(segments):
        if Segment(start, end):
            annotation[Segment(start, end), track] = label
    return annotation


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"unknown annotation format {format!r}; allowed: {FORMATS}")


def write_annotation(
    path: str | os.PathLike,
    annotation: Annotation,
    format: str,
    *,
    duration: float | None = None,
    classes: Sequence[str] = CLASSES,
) -> None:
    """Write one annotation in one of :data:`FORMATS`.

    ``rttm``
        See :func:`write_rttm`; the file stem stands for a missing uri.
    ``csv``
        Header ``start,end,label``, one row per segment sorted by (start, end, label),
        times with 3 decimals.
    ``json``
        ``{"uri": str or null, "duration": float or null, "classes": [str, ...],
        "segments": [{"start": float, "end": float, "label": str}, ...]}``, segments
        sorted as for csv, times rounded to 3 decimals.
    ``textgrid``
        Praat long-format TextGrid with one IntervalTier per class, in ``classes``
        order even when empty, spanning ``[0, duration]`` (or ``[0, end of the last
        segment]``); empty-text intervals fill the gaps. Praat tiers cannot overlap, so
        overlapping segments of one label are merged: the only lossy case. Touching
        segments stay separate intervals.
    ``audacity``
        Audacity label track, lines ``start<TAB>end<TAB>label``, times with 6 decimals.

    Parameters
    ----------
    path : str or PathLike
        Output file; its parent directory is created if needed.
    annotation : Annotation
        Segments to write; every label must be in ``classes``.
    format : str
        One of :data:`FORMATS`.
    duration : float, optional
        Duration of the annotated file (stored by json and textgrid); no segment may
        end after it.
    classes : sequence of str
        The class vocabulary (stored by json, one tier each in textgrid).
    """
    _check_format(format)
    unknown = sorted(set(annotation.labels()) - set(classes))
    if unknown:
        raise ValueError(f"label(s) {unknown} not in classes {tuple(classes)}")
    segments = _segments(annotation)
    extent = max((end for _, end, _ in segments), default=0.0)
    if duration is not None and not (math.isfinite(duration) and duration >= extent - 1e-9):
        raise ValueError(
            f"duration must be finite and >= the end of the last segment ({extent}), "
            f"got {duration!r}"
        )
    if format == "rttm":
        if not annotation.uri:
            annotation = annotation.copy()
            annotation.uri = Path(path).stem
        write_rttm(path, annotation)
        return
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["start", "end", "label"])
        writer.writerows([f"{start:.3f}", f"{end:.3f}", label] for start, end, label in segments)
        text = buffer.getvalue()
    elif format == "json":
        document = {
            "uri": annotation.uri,
            "duration": None if duration is None else round(float(duration), 3),
            "classes": list(classes),
            "segments": [
                {"start": round(start, 3), "end": round(end, 3), "label": label}
                for start, end, label in segments
            ],
        }
        text = json.dumps(document, indent=2) + "\n"
    elif format == "textgrid":
        text = _textgrid(segments, extent if duration is None else float(duration), classes)
    else:
        for _, _, label in segments:
            if any(character in label for character in "\t\r\n"):
                raise ValueError(f"audacity labels cannot contain tabs or newlines, got {label!r}")
        text = "".join(f"{start:.6f}\t{end:.6f}\t{label}\n" for start, end, label in segments)
    write_text(path, text)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _textgrid(
    segments: list[tuple[float, float, str]], xmax: float, classes: Sequence[str]
) -> str:
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0"]
    lines += [f"xmax = {xmax:.6f}", "tiers? <exists>", f"size = {len(classes)}", "item []:"]
    for number, label in enumerate(classes, start=1):
        merged: list[list[float]] = []
        for start, end, _ in (s for s in segments if s[2] == label):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        intervals, cursor = [], 0.0
        for start, end in merged:
            if start > cursor:
                intervals.append((cursor, start, ""))
            intervals.append((start, end, label))
            cursor = end
        if cursor < xmax or not intervals:
            intervals.append((cursor, xmax, ""))
        lines += [f"    item [{number}]:", '        class = "IntervalTier"']
        lines += [f"        name = {_quote(label)}", "        xmin = 0"]
        lines += [f"        xmax = {xmax:.6f}", f"        intervals: size = {len(intervals)}"]
        for index, (start, end, text) in enumerate(intervals, start=1):
            lines += [f"        intervals [{index}]:", f"            xmin = {start:.6f}"]
            lines += [f"            xmax = {end:.6f}", f"            text = {_quote(text)}"]
    return "\n".join(lines) + "\n"


class _TextGridReader:
    """Line-by-line parser of the long TextGrid format, one ``key = value`` per line."""

    def __init__(self, path, lines: list[str]):
        self.path = path
        self.lines = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
        self.position = 0

    def fail(self, reason: str) -> NoReturn:
        line = self.lines[min(self.position, len(self.lines) - 1)][0] if self.lines else 0
        raise LabelFormatError(f"{self.path}:{line}: {reason}")

    def expect(self, pattern: str) -> str:
        if self.position >= len(self.lines):
            self.fail(f"unexpected end of TextGrid, expected {pattern!r}")
        match = re.fullmatch(pattern, self.lines[self.position][1])
        if match is None:
            self.fail(f"expected {pattern!r} in TextGrid, got {self.lines[self.position][1]!r}")
        self.position += 1
        return match.group(1) if match.groups() else ""

    def string(self, key: str, required: str | None = None) -> str:
        value = self.expect(key + r'\s*=\s*"((?:[^"]|"")*)"').replace('""', '"')
        if required is not None and value != required:
            self.position -= 1
            self.fail(f"{key} must be {required!r}, got {value!r}")
        return value

    def number(self, key: str) -> float:
        value = self.expect(key + r"\s*=\s*(\S+)")
        return _number(value, self.path, self.lines[self.position - 1][0], key)

    def count(self, key: str) -> int:
        return int(self.expect(key + r"\s*=\s*(\d+)"))

    def segments(self) -> list[tuple[float, float, str]]:
        self.string("File type", "ooTextFile")
        self.string("Object class", "TextGrid")
        self.number("xmin")
        self.number("xmax")
        self.expect(r"tiers\?\s*<exists>")
        tiers = self.count("size")
        self.expect(r"item\s*\[\s*\]\s*:")
        segments = []
        for tier in range(1, tiers + 1):
            self.expect(rf"item\s*\[\s*{tier}\s*\]\s*:")
            self.string("class", "IntervalTier")
            name = self.string("name")
            self.number("xmin")
            self.number("xmax")
            for interval in range(1, self.count(r"intervals\s*:\s*size") + 1):
                self.expect(rf"intervals\s*\[\s*{interval}\s*\]\s*:")
                start, end = self.number("xmin"), self.number("xmax")
                _interval(start, end, self.path, self.lines[self.position - 1][0])
                if self.string("text"):
                    segments.append((start, end, name))
        if self.position < len(self.lines):
            self.fail(f"unexpected content after the last tier: {self.lines[self.position][1]!r}")
        return segments


def _is_time(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_json(path) -> tuple[list[tuple[float, float, str]], str | None]:
    try:
        document = json.loads(_read_text(path))
        segments = [(item["start"], item["end"], item["label"]) for item in document["segments"]]
        uri, classes = document.get("uri"), document.get("classes")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        reason = f"{type(error).__name__}: {error}"
        raise LabelFormatError(f"{path}: not a proxyseg JSON annotation ({reason})") from None
    if uri is not None and not isinstance(uri, str):
        raise LabelFormatError(f"{path}: uri must be a string or null, got {uri!r}")
    if classes is not None and not (
        isinstance(classes, list) and all(isinstance(label, str) for label in classes)
    ):
        raise LabelFormatError(f"{path}: classes must be a list of strings, got {classes!r}")
    for number, (start, end, label) in enumerate(segments, start=1):
        known = isinstance(label, str) and (classes is None or label in classes)
        if not (_is_time(start) and _is_time(end) and known):
            segment = (start, end, label)
            raise LabelFormatError(f"{path}: segment #{number} is invalid: {segment!r}")
        _interval(start, end, path, number)
    return segments, uri


def _read_delimited(path, text: str, format: str) -> list[tuple[float, float, str]]:
    if format == "csv":
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as error:
            raise LabelFormatError(f"{path}: not a CSV file ({error})") from None
        if not rows or [cell.strip() for cell in rows[0]] != ["start", "end", "label"]:
            raise LabelFormatError(f"{path}:1: expected the CSV header 'start,end,label'")
        numbered = list(enumerate(rows, start=1))[1:]
    else:
        # Audacity writes spectral selections as extra lines starting with a backslash.
        lines = enumerate(text.splitlines(), start=1)
        numbered = [(n, line.split("\t")) for n, line in lines if not line.startswith("\\")]
    segments = []
    for number, row in numbered:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3 or not row[2]:
            raise LabelFormatError(
                f"{path}:{number}: expected 3 fields start, end, non-empty label, got {row!r}"
            )
        start = _number(row[0], path, number, "start time")
        end = _number(row[1], path, number, "end time")
        _interval(start, end, path, number)
        segments.append((start, end, row[2]))
    return segments


def read_annotation(
    path: str | os.PathLike, format: str | None = None, *, uri: str | None = None
) -> Annotation:
    """Read one annotation written in one of :data:`FORMATS`.

    Parameters
    ----------
    path : str or PathLike
        Annotation file.
    format : str, optional
        One of :data:`FORMATS`; inferred from the extension when None (``.txt`` is
        audacity, case is ignored).
    uri : str, optional
        Uri of the returned annotation. For rttm it selects the file's annotation (an
        empty one when the uri has no line); without it the file must hold at most one
        uri. Other formats default to the stored uri (json, when not null) or else
        the file stem.

    Returns
    -------
    Annotation
        The segments, one track each.
    """
    path = Path(path)
    if format is None:
        by_extension = {extension.lower(): name for name, extension in EXTENSIONS.items()}
        format = by_extension.get(path.suffix.lower().lstrip("."))
        if format is None:
            raise LabelFormatError(
                f"{path}: cannot infer the annotation format from {path.suffix!r}; "
                f"pass format= one of {FORMATS}"
            )
    _check_format(format)
    if format == "rttm":
        annotations = read_rttm(path)
        if uri is None:
            if len(annotations) > 1:
                raise LabelFormatError(
                    f"{path}: holds several uris {sorted(annotations)}; choose one with uri="
                )
            uri = next(iter(annotations), path.stem)
        return annotations.get(uri, Annotation(uri=uri))
    if format == "json":
        segments, stored_uri = _read_json(path)
        if uri is None:
            uri = path.stem if stored_uri is None else stored_uri
        return _to_annotation(segments, uri)
    text = _read_text(path)
    if format == "textgrid":
        segments = _TextGridReader(path, text.splitlines()).segments()
    else:
        segments = _read_delimited(path, text, format)
    return _to_annotation(segments, uri if uri is not None else path.stem)
