"""Shared parsing helpers of the annotation readers: text, numbers and intervals."""

from __future__ import annotations

import math
import os
from pathlib import Path

from proxyseg.errors import LabelFormatError


def read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LabelFormatError(f"{path}: not a UTF-8 text file ({error.reason})") from None


def parse_number(token: str, path, line: int, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise LabelFormatError(f"{path}:{line}: {what} {token!r} is not a number") from None
    if not math.isfinite(value):
        raise LabelFormatError(f"{path}:{line}: {what} {token!r} is not a finite number")
    return value


def check_interval(start: float, end: float, path, line: int) -> None:
    if start < 0:
        raise LabelFormatError(f"{path}:{line}: negative start time {start}")
    if end < start:
        raise LabelFormatError(f"{path}:{line}: end {end} < start {start} (negative duration)")
