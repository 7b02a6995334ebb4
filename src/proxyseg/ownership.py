"""Which files in an output folder proxyseg wrote, and may therefore replace or remove.

A command that writes several files into a folder (an explanation, a corpus, a model) keeps a
marker there: a small JSON file of ours, recognised by its ``schema`` (or another key that only
we write), naming the files it wrote. proxyseg replaces or removes a file only when such a marker
names it; anything else in the way is refused with one line (:class:`~proxyseg.errors.OutputError`),
before anything is written or removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from proxyseg.errors import OutputError
from proxyseg.files import UnreadableFile, read_regular

#: Markers are small (an explanation's is ~30 kB): anything far larger is not one of ours.
MARKER_BYTES = 16 * 2**20


class ForeignMarker(Exception):
    """A file at a marker's name that is not a marker of ours (its reason in the message)."""


def read_marker(path: Path, is_ours: Callable[[dict], bool]) -> dict | None:
    """The content of the marker at ``path``, ``None`` when there is none.

    Raises
    ------
    ForeignMarker
        Something is at ``path`` that is not a marker of ours: not a regular file (a FIFO would
        block the reader), larger than :data:`MARKER_BYTES`, not a JSON object, or refused by
        ``is_ours``.
    """
    if not _present(path):
        return None
    try:
        content = json.loads(read_regular(path, MARKER_BYTES))
    except UnreadableFile as error:
        raise ForeignMarker(f"{path}: {error}") from None
    except (ValueError, RecursionError):
        raise ForeignMarker(f"{path} is not proxyseg's (not JSON)") from None
    if not isinstance(content, dict) or not is_ours(content):
        raise ForeignMarker(f"{path} is not proxyseg's")
    return content


def listed_names(content: dict, key: str = "outputs") -> set[str]:
    """The plain file names a marker lists under ``key`` (anything else in the list is ignored)."""
    names = content.get(key)
    if not isinstance(names, list):
        return set()
    return {name for name in names if isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")}


def refuse_foreign(folder: Path, names: Iterable[str], owned: Iterable[str], what: str) -> None:
    """Refuse if any of ``names`` exists in ``folder`` (as anything, even a broken link) without being in ``owned``.

    Raises
    ------
    OutputError
        Naming the first few such files and ``what`` would have replaced them.
    """
    owned = set(owned)
    foreign = sorted(name for name in names if name not in owned and _present(folder / name))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise OutputError(f"{folder}: holds files {what} did not write ({shown}); choose an empty or new folder")


def _present(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True
