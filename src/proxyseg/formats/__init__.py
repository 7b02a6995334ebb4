"""Reading and writing annotation files: RTTM, UEM, CSV, JSON, Praat TextGrid, Audacity.

RTTM and UEM live in :mod:`proxyseg.formats.rttm`, TextGrid in :mod:`proxyseg.formats.textgrid`;
this module dispatches on the format and holds the simple ones (CSV, JSON, Audacity).

Writers are atomic (a temporary file in the target directory is renamed over the
target) and create missing parent directories. Readers take files from others: they read
UTF-8 text with or without a byte-order mark (or UTF-16 with one), refuse times that are
negative, not finite or beyond :data:`MAX_TIME`, and raise one
:class:`~proxyseg.errors.LabelFormatError`, naming the file and, when known, the line (or
segment) and the field, for anything they cannot parse; a path that is not a regular file
(a folder, a FIFO) is refused without being opened for reading.

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
from collections.abc import Iterable, Sequence
from pathlib import Path

from pyannote.core import Annotation, Segment

from proxyseg.atomic import write_text
from proxyseg.errors import LabelFormatError
from proxyseg.formats._parsing import MAX_TIME, check_interval, check_time, parse_number, read_text, shown
from proxyseg.formats.rttm import read_rttm, read_uem, write_rttm, write_uem
from proxyseg.formats.textgrid import TextGridReader, textgrid_text
from proxyseg.labels import CLASSES

__all__ = [
    "EXTENSIONS", "FORMATS", "MAX_TIME", "read_annotation", "read_rttm", "read_uem",
    "write_annotation", "write_rttm", "write_uem",
]

FORMATS = ("rttm", "csv", "json", "textgrid", "audacity")
"""Formats understood by :func:`write_annotation` and :func:`read_annotation`."""

EXTENSIONS = {
    "rttm": "rttm", "csv": "csv", "json": "json", "textgrid": "TextGrid", "audacity": "txt",
}
"""File extension (without dot) of each format."""


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
        text = textgrid_text(segments, extent if duration is None else float(duration), classes)
    else:
        for _, _, label in segments:
            if any(character in label for character in "\t\r\n"):
                raise ValueError(f"audacity labels cannot contain tabs or newlines, got {label!r}")
        text = "".join(f"{start:.6f}\t{end:.6f}\t{label}\n" for start, end, label in segments)
    write_text(path, text)


def _json_time(value, where: str, what: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise LabelFormatError(f"{where}: {what} {shown(value)} is not a number")
    return check_time(value, where, what)


def _json_document(path) -> dict:
    try:
        document = json.loads(read_text(path))
    except RecursionError:
        raise LabelFormatError(f"{path}: not a proxyseg JSON annotation (nested too deeply)") from None
    except ValueError as error:  # JSONDecodeError, and integers of more than 4,300 digits
        raise LabelFormatError(f"{path}: not a proxyseg JSON annotation ({shown(str(error))})") from None
    if not (isinstance(document, dict) and isinstance(document.get("segments"), list)):
        raise LabelFormatError(f"{path}: not a proxyseg JSON annotation (an object with a list of 'segments')")
    return document


def _read_json(path) -> tuple[list[tuple[float, float, str]], str | None]:
    document = _json_document(path)
    uri, classes = document.get("uri"), document.get("classes")
    if uri is not None and not isinstance(uri, str):
        raise LabelFormatError(f"{path}: uri must be a string or null, got {shown(uri)}")
    if classes is not None and not (
        isinstance(classes, list) and all(isinstance(label, str) for label in classes)
    ):
        raise LabelFormatError(f"{path}: classes must be a list of strings, got {shown(classes)}")
    segments = []
    for number, item in enumerate(document["segments"], start=1):
        where = f"{path}: segment #{number}"
        if not (isinstance(item, dict) and {"start", "end", "label"} <= item.keys()):
            raise LabelFormatError(f"{where}: expected an object with start, end and label, got {shown(item)}")
        start, end = _json_time(item["start"], where, "start time"), _json_time(item["end"], where, "end time")
        label = item["label"]
        if not isinstance(label, str) or (classes is not None and label not in classes):
            raise LabelFormatError(f"{where}: label {shown(label)} is not a string of the file's classes")
        check_interval(start, end, where)
        segments.append((start, end, label))
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
                f"{path}:{number}: expected 3 fields start, end, non-empty label, got {shown(row)}"
            )
        where = f"{path}:{number}"
        start, end = parse_number(row[0], where, "start time"), parse_number(row[1], where, "end time")
        check_interval(start, end, where)
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
    text = read_text(path)
    if format == "textgrid":
        segments = TextGridReader(path, text.splitlines()).segments()
    else:
        segments = _read_delimited(path, text, format)
    return _to_annotation(segments, uri if uri is not None else path.stem)
