"""*OpenTTD*'s free base sets: OpenMSX's MIDI songs (``openttd-openmsx``, rendered with FluidSynth and
the ``timgm6mb-soundfont``) and OpenSFX's recordings of trains, wind, machines and animals
(``openttd-opensfx``)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from proxyseg.atomic import atomic_output
from proxyseg.corpus.midi import fluidsynth_available, render_midi
from proxyseg.corpus.opensfx import read_catalogue
from proxyseg.corpus.sources import Source

_OPENTTD = Path("usr/share/games/openttd/baseset")
_SOUNDFONT = Path("usr/share/sounds/sf2/TimGM6mb.sf2")


def openmsx_sources(root: Path, cache_dir: Path) -> list[Source]:
    """OpenMSX's MIDI songs rendered to ``cache_dir/openmsx/<song>.wav``, one group per song; none, with
    a warning, when ``fluidsynth`` is not installed."""
    songs = sorted((Path(root) / _OPENTTD / "openmsx").glob("*.mid"))
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
        rendered = Path(cache_dir) / "openmsx" / f"{song.stem}.wav"
        if not rendered.exists():
            render_midi(song, Path(root) / _SOUNDFONT, rendered)
        sources.append(Source("music", f"openmsx:{song.stem}", f"openmsx/{song.stem}", rendered))
    return sources


def opensfx_sources(root: Path, cache_dir: Path) -> list[Source]:
    """OpenSFX's recordings, extracted from its catalogue to ``cache_dir/opensfx/``; takes of one
    original recording share a group."""
    catalogue = Path(root) / _OPENTTD / "opensfx" / "opensfx.cat"
    if not catalogue.exists():
        return []
    sources = []
    for entry in read_catalogue(catalogue):
        slug = re.sub(r"[^a-z0-9]+", "-", entry.title.lower()).strip("-")
        path = Path(cache_dir) / "opensfx" / f"{entry.index:02d}-{slug}.wav"
        if not path.exists():
            with atomic_output(path) as partial:
                partial.write_bytes(entry.wav)
        sources.append(Source("noise", f"opensfx:{entry.recording}", f"opensfx/{path.stem}", path))
    return sources
