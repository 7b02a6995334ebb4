"""Praat long-format TextGrid: one IntervalTier per class."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NoReturn

from proxyseg.errors import LabelFormatError
from proxyseg.formats._parsing import check_interval, parse_number, shown


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def textgrid_text(
    segments: list[tuple[float, float, str]], xmax: float, classes: Sequence[str]
) -> str:
    """The long-format TextGrid of ``segments``: one IntervalTier per class, spanning ``[0, xmax]``.

    Empty-text intervals fill the gaps; overlapping segments of one class are merged (a tier
    cannot overlap itself), touching ones stay apart.
    """
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


class TextGridReader:
    """Parser of the long TextGrid format, one ``key = value`` per line.

    ``TextGridReader(path, lines).segments()`` gives ``(start, end, tier name)`` for every
    interval with a non-empty text; anything else raises :class:`LabelFormatError`.
    """

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
            self.fail(f"expected {pattern!r} in TextGrid, got {shown(self.lines[self.position][1])}")
        self.position += 1
        return match.group(1) if match.groups() else ""

    def string(self, key: str, required: str | None = None) -> str:
        value = self.expect(key + r'\s*=\s*"((?:[^"]|"")*)"').replace('""', '"')
        if required is not None and value != required:
            self.position -= 1
            self.fail(f"{key} must be {required!r}, got {shown(value)}")
        return value

    def where(self) -> str:
        """``"<path>:<line>"`` of the line just read."""
        return f"{self.path}:{self.lines[self.position - 1][0]}"

    def number(self, key: str) -> float:
        return parse_number(self.expect(key + r"\s*=\s*(\S+)"), self.where(), key)

    def count(self, key: str, name: str) -> int:
        digits = self.expect(key + r"\s*=\s*([0-9]+)").lstrip("0")
        # More digits than the number of lines: more items than the file can describe (and int()
        # refuses more than 4,300 digits with a ValueError).
        if len(digits) > len(str(len(self.lines))):
            self.position -= 1
            self.fail(f"{name} {shown(digits)} is more than the file's lines can hold")
        return int(digits or "0")

    def segments(self) -> list[tuple[float, float, str]]:
        self.string("File type", "ooTextFile")
        self.string("Object class", "TextGrid")
        self.number("xmin")
        self.number("xmax")
        self.expect(r"tiers\?\s*<exists>")
        tiers = self.count("size", "size")
        self.expect(r"item\s*\[\s*\]\s*:")
        segments = []
        for tier in range(1, tiers + 1):
            self.expect(rf"item\s*\[\s*{tier}\s*\]\s*:")
            self.string("class", "IntervalTier")
            name = self.string("name")
            self.number("xmin")
            self.number("xmax")
            for interval in range(1, self.count(r"intervals\s*:\s*size", "intervals: size") + 1):
                self.expect(rf"intervals\s*\[\s*{interval}\s*\]\s*:")
                start, end = self.number("xmin"), self.number("xmax")
                check_interval(start, end, self.where(), "xmax")
                if self.string("text"):
                    segments.append((start, end, name))
        if self.position < len(self.lines):
            self.fail(f"unexpected content after the last tier: {shown(self.lines[self.position][1])}")
        return segments
