"""Atomic file output: a reader sees the previous file or the complete new one, never a part.

Every file proxyseg writes goes through :func:`atomic_output`: the content is written under a
hidden temporary name in the target's folder (so the final rename stays within one file
system), then renamed over the target; on any failure the temporary file is removed. A process
killed outright (SIGKILL, power loss) cannot remove it: the next complete write of the same target
removes such leftovers.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# mkstemp creates files readable by their owner only; give the result the usual permissions.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` when the block exits normally.

    The parent folder is created if needed. The temporary path keeps ``path``'s suffix, for
    writers that pick the format from it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "out.txt"
    ...     with atomic_output(target) as partial:
    ...         _ = partial.write_text("done")
    ...     sorted(p.name for p in Path(folder).iterdir()), target.read_text()
    (['out.txt'], 'done')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{path.name}.", f".tmp{path.suffix}"
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        os.chmod(partial, 0o666 & ~_UMASK)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # Of earlier writes of ``path`` killed outright (mkstemp's names have 8 random characters: no
    # other target's temporary file matches, even one whose name starts with this one's).
    for leftover in path.parent.glob(glob.escape(prefix) + "?" * 8 + glob.escape(suffix)):
        leftover.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends on every platform)."""
    with atomic_output(path) as partial:
        partial.write_text(text, encoding="utf-8", newline="")


def write_json(path: str | os.PathLike, content) -> None:
    """Write ``content`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(content, indent=2) + "\n")
