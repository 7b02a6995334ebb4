"""*Fish Fillets NG* (``fillets-ng-data``, ``fillets-ng-data-cs``, ``fillets-ng-data-nl``): its voice
acting, one line per file, its music and its water and impact effects."""

from __future__ import annotations

import re
from pathlib import Path

from proxyseg.corpus.families.conversion import has_samples
from proxyseg.corpus.sources import Source

_FILLETS = Path("usr/share/games/fillets-ng")
# The level scripts (package fillets-ng-data) give each line's font, i.e. its speaker:
#   dialogId("init-0", "font_big", "We are locked in.")
_FILLETS_DIALOG = re.compile(r'dialogId\(\s*"([^"]+)"\s*,\s*"font_([^"]+)"')
# The small fish and the big fish are voiced by the same two actors in every level.
_FISH = {"small": "m", "big": "v"}


def fillets_sources(root: Path, language: str) -> list[Source]:
    """Voice acting of Fish Fillets NG in ``language`` (``cs``: ``fillets-ng-data-cs``, ``nl``:
    ``fillets-ng-data-nl``): ``sound/<level>/<language>/*.ogg``.

    A line's speaker is its font in ``script/<level>/dialogs_<language>.lua`` (package
    ``fillets-ng-data``, unpacked into the same ``root``): the two fish (groups ``m`` and ``v``,
    the same actors in every level) or a character of the level (``<level>-<font>``). A line the
    script does not list is attributed by an ``m``/``v`` code in its name, or left out; files
    without samples are left out. Groups are prefixed ``fillets-<language>:`` (Czech: ``fillets:``).
    """
    tag = "fillets" if language == "cs" else f"fillets-{language}"
    sources = []
    for path in sorted((Path(root) / _FILLETS / "sound").glob(f"*/{language}/*.ogg")):
        level = path.parent.parent.name
        speaker = _fillets_speaker(level, path.stem, _fillets_fonts(Path(root) / _FILLETS / "script" / level, language))
        if speaker is None or not has_samples(path):
            continue
        sources.append(Source("speech", f"{tag}:{speaker}", f"{tag}/{level}/{path.stem}", path))
    return sources


def _fillets_fonts(script_dir: Path, language: str) -> dict[str, str]:
    """Dialogue id → font name (``small``, ``big``, ``statue``…), empty without the script."""
    script = script_dir / f"dialogs_{language}.lua"
    if not script.exists():
        return {}
    text = script.read_text(encoding="utf-8", errors="replace")
    return {match[1]: match[2] for match in _FILLETS_DIALOG.finditer(text)}


def _fillets_speaker(level: str, stem: str, fonts: dict[str, str]) -> str | None:
    """The speaker of line ``stem`` of ``level``: from its font, else from a lone ``m``/``v`` code in its name."""
    if stem in fonts:
        return _FISH.get(fonts[stem], f"{level}-{fonts[stem]}")
    codes = [part for part in re.split(r"[-_]", stem) if part in ("m", "v")]
    return codes[0] if len(codes) == 1 else None


def fillets_music_sources(root: Path) -> list[Source]:
    """The game's music tracks (``music/*.ogg``), one group per track."""
    return [
        Source("music", f"fillets-music:{path.stem}", f"fillets-music/{path.stem}", path)
        for path in sorted((Path(root) / _FILLETS / "music").glob("*.ogg"))
    ]


def fillets_effects_sources(root: Path) -> list[Source]:
    """Water and impact effects (``sound/share/*.ogg``); takes of one recording
    (``sp-bubles_00`` … ``sp-bubles_05``) share a group."""
    sources = []
    for path in sorted((Path(root) / _FILLETS / "sound" / "share").glob("*.ogg")):
        recording = re.sub(r"_\d+$", "", path.stem)
        sources.append(Source("noise", f"fillets-sfx:{recording}", f"fillets-sfx/{path.stem}", path))
    return sources
