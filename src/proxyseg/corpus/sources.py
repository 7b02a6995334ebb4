"""Where the corpus's speech, music and noise come from.

A :class:`Source` is one audio file of one kind with a *group*: the speaker, music track or
noise recording it belongs to. Splits never share a group, so that the test split holds voices,
tracks and recordings that training never heard.

Two providers: :func:`default_sources` (real material from Debian data packages, DESIGN §5) and
:func:`folder_sources` (a user's MUSAN-like ``speech/ music/ noise/`` folders).
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from proxyseg.atomic import atomic_output
from proxyseg.audio import AUDIO_SUFFIXES
from proxyseg.corpus.debian import DEFAULT_PACKAGES, fetch_packages
from proxyseg.corpus.midi import fluidsynth_available, render_midi
from proxyseg.corpus.opensfx import read_catalogue
from proxyseg.errors import CorpusError

logger = logging.getLogger(__name__)

KINDS = ("speech", "music", "noise")


_FILLETS = Path("usr/share/games/fillets-ng")
_OPENTTD = Path("usr/share/games/openttd/baseset")
_SOUNDFONT = Path("usr/share/sounds/sf2/TimGM6mb.sf2")
# The two fish are voiced by the same two actors in every level; other characters are
# identified by their level and character code.
_MAIN_CHARACTERS = {"m", "v"}


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


def default_sources(cache_dir: Path) -> list[Source]:
    """The default offline sources, fetched from Debian into ``cache_dir`` on first use.

    Speech: ``fillets-ng-data-cs`` (Czech voice acting). Music: ``fillets-ng-data``'s game music
    and ``openttd-openmsx``'s MIDI songs rendered with FluidSynth (left out, with a warning, when
    ``fluidsynth`` is not installed). Noise: ``openttd-opensfx``'s recordings and
    ``fillets-ng-data``'s water and impact effects.
    """
    root = fetch_packages(DEFAULT_PACKAGES, cache_dir)
    sources = [
        *_fillets_speech(root / _FILLETS / "sound"),
        *_fillets_music(root / _FILLETS / "music"),
        *_openmsx_music(root / _OPENTTD / "openmsx", root / _SOUNDFONT, cache_dir / "openmsx"),
        *_opensfx_noise(root / _OPENTTD / "opensfx" / "opensfx.cat", cache_dir / "opensfx"),
        *_fillets_effects(root / _FILLETS / "sound" / "share"),
    ]
    return sorted(sources, key=lambda source: (source.kind, source.name))


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


def _fillets_speech(sound_dir: Path) -> list[Source]:
    # One line per file, named <level>-<character>-<id>.ogg (or <character>-<id>.ogg).
    sources = []
    for path in sorted(sound_dir.glob("*/cs/*.ogg")):
        level = path.parent.parent.name
        parts = path.stem.split("-")
        if len(parts) < 2:
            continue  # no character code: cannot be attributed to a speaker
        character = parts[1] if len(parts) >= 3 else parts[0]
        group = character if character in _MAIN_CHARACTERS else f"{level}-{character}"
        sources.append(Source("speech", f"fillets:{group}", f"fillets/{level}/{path.stem}", path))
    return sources


def _fillets_music(music_dir: Path) -> list[Source]:
    return [
        Source("music", f"fillets-music:{path.stem}", f"fillets-music/{path.stem}", path)
        for path in sorted(music_dir.glob("*.ogg"))
    ]


def _fillets_effects(share_dir: Path) -> list[Source]:
    # sp-bubles_00 ... sp-bubles_05 are takes of one recording: group them.
    sources = []
    for path in sorted(share_dir.glob("*.ogg")):
        recording = re.sub(r"_\d+$", "", path.stem)
        sources.append(Source("noise", f"fillets-sfx:{recording}", f"fillets-sfx/{path.stem}", path))
    return sources


def _openmsx_music(midi_dir: Path, soundfont: Path, render_dir: Path) -> list[Source]:
    songs = sorted(midi_dir.glob("*.mid"))
    if not songs:
        return []
    if not fluidsynth_available():
        warnings.warn(
            "fluidsynth is not installed: the OpenMSX MIDI songs are left out of the music "
            "sources (install it with 'apt-get install fluidsynth')",
            stacklevel=3,
        )
        return []
    sources = []
    for song in songs:
        rendered = render_dir / f"{song.stem}.wav"
        if not rendered.exists():
            render_midi(song, soundfont, rendered)
        sources.append(Source("music", f"openmsx:{song.stem}", f"openmsx/{song.stem}", rendered))
    return sources


def _opensfx_noise(catalogue: Path, extract_dir: Path) -> list[Source]:
    if not catalogue.exists():
        return []
    sources = []
    for entry in read_catalogue(catalogue):
        slug = re.sub(r"[^a-z0-9]+", "-", entry.title.lower()).strip("-")
        path = extract_dir / f"{entry.index:02d}-{slug}.wav"
        if not path.exists():
            with atomic_output(path) as partial:
                partial.write_bytes(entry.wav)
        sources.append(Source("noise", f"opensfx:{entry.recording}", f"opensfx/{path.stem}", path))
    return sources
