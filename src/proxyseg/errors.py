"""Exception types raised by proxyseg.

Every error a user can cause (a bad file, a bad option, a malformed annotation) is a
:class:`ProxysegError`; the command line turns it into one line on stderr and a non-zero
exit status.
"""

from __future__ import annotations

from pathlib import Path


class ProxysegError(Exception):
    """Base class of the errors a user can cause and act upon."""


class _AboutAFile:
    """A message about one file, ``"<path>: <reason>"``, that keeps both and pickles with both (it
    crosses from worker processes; pickle would rebuild it from the message alone).

    Parameters
    ----------
    path
        The offending file.
    reason
        What is wrong with it, in words a user understands.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)


class AudioError(_AboutAFile, ProxysegError):
    """An audio input that cannot be used (see :class:`_AboutAFile` for the arguments)."""


class AudioNotFoundError(AudioError):
    """The path does not exist, or is not a regular file."""


class AudioFormatError(AudioError):
    """The file is not in a format that can be read (e.g. a text file renamed .wav)."""


class CorruptAudioError(AudioError):
    """The file announces a known format but its content cannot be decoded."""


class EmptyAudioError(AudioError):
    """The file holds no bytes or no samples."""


class AudioTooShortError(AudioError):
    """The file is shorter than one analysis frame."""


class DamagedAudioWarning(_AboutAFile, UserWarning):
    """An audio file that decodes only in part (truncated, or damaged stretches skipped): what
    decodes is used, and this says so. Arguments as for :class:`AudioError`."""


class LabelFormatError(ProxysegError):
    """An annotation file (RTTM, UEM, CSV, ...) that cannot be parsed."""


class CorpusError(ProxysegError):
    """A corpus that cannot be built or read (missing sources, bad layout)."""


class ModelError(ProxysegError):
    """A model directory that cannot be loaded (missing or malformed files, unknown type)."""


class OutputError(ProxysegError):
    """An output that cannot be written without replacing files proxyseg cannot prove it wrote."""
