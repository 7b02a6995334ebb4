"""Atomic file output: a reader sees the previous file or the complete new one, never a part.

Every file proxyseg writes goes through :func:`atomic_output`: the content is written under a
hidden temporary name in the target's folder (so the final rename stays within one file
system), then renamed over the target; on any failure, or when the process is interrupted
(SIGINT, SIGTERM), the temporary file is removed. A process killed outright (SIGKILL, power loss)
cannot remove it: the next complete write of the same target removes such leftovers, and only
those.

Telling a leftover from a file another write is still producing (another run into the same
folder, or a write of the same target nested in this one) cannot rely on names or process ids
alone: a pid can be reused, and means nothing on another machine sharing the folder. So each
writer holds an exclusive ``flock`` on its temporary file from its creation to its rename, and a
temporary file is a leftover only when that lock can be taken: the kernel (or the NFS server)
releases it when its holder dies, however it dies. ``flock`` rather than ``fcntl`` record locks:
these are per process, so a write nested in another write of the same process would take its
lock and remove its file. A file system without locks keeps every leftover (none can be proved
dead).
"""

from __future__ import annotations

import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from proxyseg.errors import ProxysegError

# mkstemp creates files readable by their owner only; give the result the usual permissions.
_UMASK = os.umask(0)
os.umask(_UMASK)

#: A temporary file's name: ``.<hash of the target's name>.<8 random characters>.tmp<target's suffix>``.
_TEMPORARY = re.compile(r"\.[0-9a-f]{16}\.[a-z0-9_]{8}\.tmp(\.[^./]{1,16})?")
# Suffixes longer than this are not kept on the temporary name (no writer picks a format from one).
_SUFFIX_BYTES = 16


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` when the block exits normally.

    The parent folder is created if needed. The temporary path is short whatever the length of
    ``path``'s name, and keeps its suffix, for writers that pick the format from it. An error
    about the temporary file (a read-only folder, a full disk) is raised as an ``OSError``
    naming ``path``; a writer's error that hides its cause (libsndfile's "System error") while
    the file system is full is raised as ``ENOSPC`` naming ``path``.

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
    # Signals wait from before the temporary file exists until the block that removes it on failure
    # is entered: an interruption (KeyboardInterrupt, or SIGTERM made an exception) in between would
    # leave it behind.
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _make_folder(path.parent)
        descriptor, partial = _create(path)
    except BaseException as error:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        if isinstance(error, OSError):
            raise _about(error, path, None) from error
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        yield partial
        os.fchmod(descriptor, 0o666 & ~_UMASK)
        os.replace(partial, path)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, Exception):
            raise _about(error, path, partial) from error
        raise  # an interruption stays one
    finally:
        os.close(descriptor)  # releases the lock
    _remove_leftovers(path)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is that of a temporary file of :func:`atomic_output` (of a write in
    progress, or left by a killed one).

    >>> is_temporary(".0123456789abcdef.k1ll3d_x.tmp.wav"), is_temporary(".hidden.wav")
    (True, False)
    """
    return _TEMPORARY.fullmatch(name) is not None


def _pattern(path: Path) -> tuple[str, str]:
    """The prefix and suffix of ``path``'s temporary names: short (a 255-byte name must still get
    one), and found again from ``path`` alone."""
    digest = hashlib.blake2b(os.fsencode(path.name), digest_size=8).hexdigest()
    suffix = path.suffix if len(os.fsencode(path.suffix)) <= _SUFFIX_BYTES else ""
    return f".{digest}.", f".tmp{suffix}"


def _make_folder(folder: Path) -> None:
    """Make ``folder`` and its parents if needed; the error says what is in the way, if anything."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # mkdir's word for anything but a folder there: a file, a link to nowhere or a loop
        folder.stat()  # the link's error
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def _create(path: Path) -> tuple[int, Path]:
    """A new temporary file for ``path``, locked: its descriptor and its path."""
    prefix, suffix = _pattern(path)
    while True:
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
        try:
            # Blocks only while another write that found the file unlocked (between its creation
            # and this lock) removes it; then the file is gone and a new one is made.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:
            return descriptor, Path(name)  # no locks on this file system: it is kept as if alive
        if os.fstat(descriptor).st_nlink:
            return descriptor, Path(name)
        os.close(descriptor)


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files of earlier writes of ``path`` whose writer is dead (unlocked)."""
    prefix, suffix = _pattern(path)
    for leftover in path.parent.glob(glob.escape(prefix) + "?" * 8 + glob.escape(suffix)):
        try:
            descriptor = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone, or not ours to open
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Still the file opened (not renamed into place meanwhile): remove it, lock held.
            if os.path.samestat(os.fstat(descriptor), leftover.lstat()):
                leftover.unlink()
        except OSError:
            pass  # locked by a live write, or gone
        finally:
            os.close(descriptor)


def _about(error: Exception, path: Path, partial: Path | None) -> Exception:
    """``error`` as it concerns ``path``: an ``OSError`` about the temporary file ``partial`` (or, with
    ``partial`` None, any), or a write error that names no file, names ``path``; a writer's error of
    another kind while the file system is full is ``ENOSPC``. Anything else is returned as it is."""
    if isinstance(error, OSError):
        about_partial = partial is None or _names(error.filename, partial) or (
            error.filename is None and error.errno in _WRITE_ERRORS)
        return OSError(error.errno, error.strerror, str(path)) if about_partial and error.errno else error
    if not isinstance(error, ProxysegError) and _full(path.parent):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return error


#: The errors of a write() that say why without naming the file.
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _names(filename, partial: Path) -> bool:
    """Whether an ``OSError``'s ``filename`` (a str, bytes or path-like, or None) is ``partial``."""
    return filename is not None and os.fsdecode(filename) == str(partial)


def _full(folder: Path) -> bool:
    """Whether the file system holding ``folder`` has no block left for an ordinary user."""
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends on every platform)."""
    with atomic_output(path) as partial:
        partial.write_text(text, encoding="utf-8", newline="")


def write_json(path: str | os.PathLike, content) -> None:
    """Write ``content`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(content, indent=2) + "\n")
