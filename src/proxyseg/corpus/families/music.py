"""Music: game soundtracks (orchestral, electronic, rock, adventure), songs mixed from their stems,
and music on hold.

Groups are compositions: one per track, except that two versions of one piece (an "enhanced"
remake, an "old" take, a "revisited" remix) share one, so that no split hears a piece another
split trained on (grouping by composer would leave too few groups to split). A few tracks hold a
voice (``nexuiz/digital-pursuit`` spoken or vocoded over most of it; ``drascula`` tracks 29 and 31
sung, 1, 2 and 30 in parts): they stay music, a known confusion with speech. Tracks shorter than
:data:`MIN_SECONDS` (victory and defeat stings) are left out: the scene mixer picks tracks
uniformly and loops a short one.

Conversions are written once, at the file's own sample rate, through
:func:`proxyseg.atomic.atomic_output`: the Ogg files of ``ufoai-music`` and ``nexuiz-music`` are
extracted unchanged from their zips (``.pk3``); a Frets on Fire song is the sum of its stems,
scaled so that it cannot clip (:func:`_mix_stems`); the G.722 music on hold is decoded to WAV.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf

from proxyseg.atomic import atomic_output
from proxyseg.corpus.families.conversion import converted, decode_g722
from proxyseg.corpus.sources import Source

#: Peak a stem mix is scaled down to when the plain sum would exceed it (-0.09 dBFS).
MIX_PEAK = 0.99
#: Shorter files are victory/defeat stings: the scene mixer picks music files uniformly and
#: loops a short one, so a 5 s sting would be heard as often as a 10 min track, repeated.
MIN_SECONDS = 20.0

_WARZONE = Path("usr/share/games/warzone2100/music")
_UFOAI = Path("usr/share/games/ufoai/base/0music.pk3")
_WESNOTH = Path("usr/share/games/wesnoth/1.16/data/core/music")
_NEXUIZ = Path("usr/share/games/nexuiz/data/music.pk3")
_FRETSONFIRE = Path("usr/share/games/fretsonfire/data/songs")
_ASTERISK_MOH = Path("usr/share/asterisk/moh")
_DRASCULA = Path("usr/share/scummvm/drascula/audio")

# Two versions of one composition: file stem -> the stem that names the group.
_WARZONE_VERSIONS = {"menu_enhanced": "menu", "track3_enhanced": "track3"}
_WESNOTH_VERSIONS = {"frantic-old": "frantic"}
_NEXUIZ_VERSIONS = {"sixtyfour_revisited": "sixtyfour"}
_NEXUIZ_STEMS = {"sixtyfour_": "sixtyfour"}
# track30 is another take of track1: same tempo and length, matching fingerprints all along.
_DRASCULA_VERSIONS = {"track30": "track1"}

# Not music: 10 s of digital silence; four thunderclaps at 11 kHz.
_WESNOTH_EXCLUDED = frozenset({"silence"})
_NEXUIZ_EXCLUDED = frozenset({"thunder"})


def warzone_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``warzone2100-music``: the original soundtrack and two community albums (Opus, 48 kHz).

    Names are ``warzone/<album>/<stem>`` (``warzone/menu`` for the menu theme outside any
    album); the "enhanced" remakes of the menu theme and of track 3 share the original's group.
    """
    music_dir = Path(root) / _WARZONE
    sources = []
    for path in sorted(music_dir.rglob("*.opus")):
        relative = path.relative_to(music_dir).with_suffix("")
        parts = relative.parts[1:] if relative.parts[0] == "albums" else relative.parts
        group = _WARZONE_VERSIONS.get(path.stem, path.stem)
        sources.append(_music("warzone", group, "/".join(parts), path))
    return _finish(sources)


def ufoai_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``ufoai-music``: the Ogg tracks of ``0music.pk3``, extracted to ``cache_dir/ufoai``."""
    extracted = _extract_pk3(Path(root) / _UFOAI, "music/", Path(cache_dir) / "ufoai")
    return _finish([_music("ufoai", path.stem, path.stem, path) for path in extracted])


def wesnoth_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``wesnoth-1.16-music``: orchestral tracks (Ogg Vorbis, 44.1 kHz).

    The silent filler track is left out (and, as everywhere, files under :data:`MIN_SECONDS`:
    the victory and defeat stings).
    """
    return _finish([
        _music("wesnoth-music", _WESNOTH_VERSIONS.get(path.stem, path.stem), path.stem, path)
        for path in sorted((Path(root) / _WESNOTH).glob("*.ogg"))
        if path.stem not in _WESNOTH_EXCLUDED
    ])


def nexuiz_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``nexuiz-music``: electronic tracks of ``music.pk3``, extracted to ``cache_dir/nexuiz``.

    ``thunder.ogg`` (a thunderstorm recording at 11 kHz, not music) is left out; the
    "revisited" remix of *sixtyfour* shares its group.
    """
    extracted = _extract_pk3(Path(root) / _NEXUIZ, "sound/cdtracks/", Path(cache_dir) / "nexuiz")
    sources = []
    for path in extracted:
        if path.stem in _NEXUIZ_EXCLUDED:
            continue
        stem = _NEXUIZ_STEMS.get(path.stem, path.stem)
        sources.append(_music("nexuiz", _NEXUIZ_VERSIONS.get(stem, stem), stem, path))
    return _finish(sources)


def fretsonfire_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``fretsonfire-songs-muldjord`` and ``-sectoid``: metal/rock songs mixed from their stems.

    Each song folder holds ``song.ogg`` (band without lead guitar) and ``guitar.ogg``; their sum
    is written once to ``cache_dir/fretsonfire/<pack>/<song>.flac`` (see :func:`_mix_stems`).
    Names are ``fretsonfire/<pack>/<song>`` with the song folder's name in lower case, spaces
    as ``_``.
    """
    songs_dir = Path(root) / _FRETSONFIRE
    sources = []
    for folder in sorted(path.parent for path in songs_dir.glob("*/*/song.ogg")):
        stems = sorted(folder.glob("*.ogg"))
        pack, song = folder.parent.name, _slug(folder.name)
        mixed = Path(cache_dir) / "fretsonfire" / pack / f"{song}.flac"
        if not mixed.exists():
            _mix_stems(stems, mixed)
        sources.append(_music("fretsonfire", f"{pack}/{song}", f"{pack}/{song}", mixed))
    return _finish(sources)


def asterisk_moh_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``asterisk-moh-opsound-g722``: five music-on-hold tracks, G.722 decoded to 16 kHz WAV.

    The 8 kHz ``-wav`` and ``-gsm`` packages hold the same five tracks: never use them beside
    this one (the groups would leak between splits).
    """
    sources = []
    for path in sorted((Path(root) / _ASTERISK_MOH).glob("*.g722")):
        decoded = converted(Path(cache_dir) / "asterisk-moh" / f"{path.stem}.wav",
                            lambda path=path: decode_g722(path))
        sources.append(_music("asterisk-moh", path.stem, path.stem, decoded))
    return _finish(sources)


def drascula_music_sources(root: Path, cache_dir: Path) -> list[Source]:
    """``drascula-music``: the adventure game's soundtrack (Ogg Vorbis, 44.1 kHz).

    One group a track, except ``track30``, a second take of ``track1``. Several tracks are
    sung (see :data:`VOICED`).
    """
    return _finish([
        _music("drascula-music", _DRASCULA_VERSIONS.get(path.stem, path.stem), path.stem, path)
        for path in sorted((Path(root) / _DRASCULA).glob("*.ogg"))
    ])


def _music(family: str, group: str, name: str, path: Path) -> Source:
    return Source("music", f"{family}:{group}", f"{family}/{name}", path)


def _sorted(sources: list[Source]) -> list[Source]:
    return sorted(sources, key=lambda source: source.name)


def _finish(sources: list[Source]) -> list[Source]:
    """Drop files shorter than :data:`MIN_SECONDS` (by their header) and sort by name."""
    return _sorted([source for source in sources if sf.info(source.path).duration >= MIN_SECONDS])


def _slug(text: str) -> str:
    return "_".join(text.lower().split())


def _extract_pk3(pk3: Path, prefix: str, out_dir: Path) -> list[Path]:
    """Extract the ``.ogg`` members under ``prefix`` of a zip, unchanged; return their paths, sorted."""
    if not pk3.exists():
        return []
    paths = []
    with zipfile.ZipFile(pk3) as archive:
        for member in sorted(archive.namelist()):
            inner = PurePosixPath(member)
            if not member.startswith(prefix) or inner.suffix.lower() != ".ogg":
                continue
            path = out_dir / inner.relative_to(prefix)  # subfolders kept: two x.ogg stay two files
            if not path.exists():
                with atomic_output(path) as partial:
                    partial.write_bytes(archive.read(member))  # checks the member's CRC
            paths.append(path)
    return sorted(paths)


def _mix_stems(stems: list[Path], out: Path) -> None:
    """Sum equal-rate stems (padding the shorter ones) and write 16-bit FLAC.

    The sum is multiplied by ``min(1, MIX_PEAK / peak)``: one gain for the whole song, so the
    mix keeps its dynamics and never clips.
    """
    signals, rates = [], set()
    for stem in stems:
        signal, rate = sf.read(stem, dtype="float64", always_2d=True)
        signals.append(signal)
        rates.add(rate)
    if len(rates) != 1 or len({signal.shape[1] for signal in signals}) != 1:
        raise ValueError(f"stems of {out.stem} differ in sample rate or channels")
    mix = np.zeros((max(len(signal) for signal in signals), signals[0].shape[1]))
    for signal in signals:
        mix[: len(signal)] += signal
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    if peak > MIX_PEAK:
        mix *= MIX_PEAK / peak
    with atomic_output(out) as partial:
        sf.write(partial, mix, rates.pop(), subtype="PCM_16", format="FLAC")
