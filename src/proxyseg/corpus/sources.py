"""Where the corpus's speech, music and noise come from.

A :class:`Source` is one audio file of one kind with a *group*: the speaker, music track or
noise recording it belongs to. Splits never share a group, so that the test split holds voices,
tracks and recordings that training never heard.

Sources come from Debian data packages (:mod:`proxyseg.corpus.catalogue`, DESIGN §5) or from a
user's MUSAN-like ``speech/ music/ noise/`` folders (:func:`folder_sources`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxyseg.audio import AUDIO_SUFFIXES
from proxyseg.errors import CorpusError

KINDS = ("speech", "music", "noise")


@dataclass(frozen=True)
class Source:
    """One source recording.

    Attributes
    ----------
    kind
        ``speech``, ``music`` or ``noise``.
    group
        Speaker, track or recording identity; never shared between splits.
    name
        Stable unique identifier, e.g. ``fillets/city/vit-hs-klid1``.
    path
        An audio file.
    """

    kind: str
    group: str
    name: str
    path: Path


def folder_sources(folder: Path, group_depth: int = 0) -> list[Source]:
    """Sources from a user's folder holding ``speech/``, ``music/`` and ``noise/`` (any depth).

    Parameters
    ----------
    folder
        The folder; each kind's sub-folder is searched recursively for audio files.
    group_depth
        How a file's group (speaker, track, recording) is found: 0 makes every file its own
        group (MUSAN's convention); N > 0 groups files by the first N folders under the kind's
        folder, e.g. 1 for ``speech/<speaker>/...`` (LibriSpeech's layout).

    Returns
    -------
    list of Source
    """
    folder = Path(folder)
    if group_depth < 0:
        raise ValueError(f"group_depth must be >= 0, got {group_depth}")
    missing = [kind for kind in KINDS if not (folder / kind).is_dir()]
    if missing:
        raise CorpusError(
            f"{folder}: missing sub-folder(s) {', '.join(missing)}/ "
            "(a sources folder holds speech/, music/ and noise/)"
        )
    sources = []
    for kind in KINDS:
        kind_dir = folder / kind
        for path in sorted(kind_dir.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in AUDIO_SUFFIXES:
                continue
            relative = path.relative_to(kind_dir)
            parents = relative.parts[:-1]
            if group_depth and len(parents) >= group_depth:
                group = "/".join(parents[:group_depth])
            else:
                group = relative.with_suffix("").as_posix()
            name = relative.with_suffix("").as_posix()
            sources.append(Source(kind, f"{kind}:{group}", f"{kind}/{name}", path))
    return sources
