"""Which files a batch run processes, and under which names.

Inputs are files, folders (searched recursively for audio) and list files (``.txt``/``.lst``: one
path per line, relative to the list's folder; blank lines and ``#`` comments ignored; lists may name
other lists). A file given directly or through a list is named by its stem, a file found in a folder
by its path relative to that folder, without suffix: that name, the *uri*, places its outputs. An
input that cannot be used is one message (naming the list and the line it comes from), the others
are still collected.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from proxyseg.audio import AUDIO_SUFFIXES
from proxyseg.text import decodable

LIST_SUFFIXES = frozenset({".txt", ".lst"})


@dataclass(frozen=True)
class Job:
    """One input file and the name (uri) its outputs take."""

    path: Path
    uri: str


@dataclass
class Inputs:
    """The jobs found in the inputs, and the inputs that could not be used (one message each)."""

    jobs: list[Job] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def collect(inputs: Iterable[Path], exclude: Callable[[Path], bool] | None = None) -> Inputs:
    """Expand files, folders and list files into jobs, in the order given (folders sorted).

    ``exclude`` tells the files of a folder that are not inputs (the outputs of a run: see
    :func:`proxyseg.explain.writer.is_explanation_output`); a file given by name, or listed, is always used.
    Uris are text: bytes of a name that are not UTF-8 are written ``\\xNN``.

    Examples
    --------
    >>> collect([Path("missing.wav")]).errors
    ['missing.wav: no such file or folder']
    """
    found, uris = Inputs(), {}
    for path, uri, where in _expand(inputs, found.errors, exclude or (lambda file: False)):
        if uri in uris:
            found.errors.append(f"{where}{path}: its outputs would be named {uri!r}, like those of {uris[uri]}; "
                                "skipped")
            continue
        uris[uri] = path
        found.jobs.append(Job(path, uri))
    return found


def _expand(inputs: Iterable[Path], errors: list[str], exclude: Callable[[Path], bool]):
    """``(path, uri, where)`` of every audio file the inputs designate (``where``: ``"<list>:<line>: "`` for
    a listed path, else ``""``); what cannot be used goes to ``errors``, one message each.

    Lists are expanded depth first with a stack, not by recursion: a deep chain of lists cannot
    exhaust Python's stack, and a list that includes itself (directly or through others: the
    lists on the stack) is one error.
    """
    stack = [(((Path(path), "") for path in inputs), None)]
    while stack:
        entry = next(stack[-1][0], None)
        if entry is None:
            stack.pop()
            continue
        path, where = entry
        try:
            status = path.stat()
        except (OSError, ValueError) as error:
            errors.append(f"{where}{path}: {_unusable(error)}")
            continue
        if stat.S_ISDIR(status.st_mode):
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not exclude(p))
            if not files:
                errors.append(f"{where}{path}: no audio file in this folder")
            yield from ((file, decodable((file.parent.relative_to(path) / _name(file)).as_posix()), where)
                        for file in files)
        elif not stat.S_ISREG(status.st_mode):
            # A FIFO or a device would block its reader, or never end.
            errors.append(f"{where}{path}: not a regular file")
        elif path.suffix.lower() in LIST_SUFFIXES:
            identity = (status.st_dev, status.st_ino)
            if any(identity == listed for _, listed in stack):
                errors.append(f"{where}{path}: a list that includes itself; skipped")
            else:
                stack.append((_listed(path, errors), identity))
        else:
            yield path, decodable(_name(path)), where  # reading it tells what is wrong with it, if anything


def _unusable(error: Exception) -> str:
    """Why a path given as input cannot be used, from the error of its ``stat``."""
    if isinstance(error, ValueError):
        return "holds a NUL byte, which no path does"
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return "no such file or folder"
    return error.strerror or str(error)


def _name(path: Path) -> str:
    """A file's stem, or its whole name when the stem is only dots (``...wav`` would name ``..``).

    >>> _name(Path("a/news.wav")), _name(Path("...wav"))
    ('news', '...wav')
    """
    return path.stem if path.stem.strip(".") else path.name


#: No path is longer (Linux's PATH_MAX): a longer line is not one, and is not read into memory.
_LONGEST_LINE = 4096


def _listed(path: Path, errors: list[str]):
    """``(path, where)`` of each path of a list file, relative ones taken from the list's folder.

    Lines are file names in the file system's encoding (UTF-8, with bytes that are not UTF-8
    kept as they are, as Python does for names), a byte-order mark at the start is ignored, and
    so are blank lines and ``#`` comments. Lines that cannot be paths go to ``errors``.
    """
    try:
        file = open(path, "rb")
    except OSError as error:
        errors.append(f"{path}: {error.strerror}")
        return
    with file:
        for number, line in enumerate(_lines(file), start=1):
            where = f"{path}:{number}: "
            if line is None:
                errors.append(f"{where}line longer than any path ({_LONGEST_LINE} bytes); skipped")
                continue
            text = os.fsdecode(line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line).strip()
            if text and not text.startswith("#"):
                listed = path.parent / text
                if not _decodes(line) and not os.path.lexists(listed):
                    errors.append(f"{where}{listed}: no such file or folder (the line is not UTF-8 text)")
                    continue
                yield listed, where


def _lines(file):
    """The lines of a binary ``file``, None for each line longer than :data:`_LONGEST_LINE` bytes."""
    while line := file.readline(_LONGEST_LINE + 2):  # the longest line, its newline, and one byte more
        if len(line.removesuffix(b"\n")) <= _LONGEST_LINE:
            yield line
            continue
        while line and not line.endswith(b"\n"):  # the rest of it, a block at a time
            line = file.readline(_LONGEST_LINE)
        yield None


def _decodes(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
