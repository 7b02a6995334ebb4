"""Voices: read and acted speech of several games and programs, in a dozen languages.

- :func:`tuxpaint_sources`: *Tux Paint*'s spoken stamp descriptions, one reader per language;
- :func:`drascula_sources`: *Drascula*'s English and Spanish voices (raw 8-bit, 11025 Hz);
- :func:`asterisk_g722_sources`: the Asterisk PBX's prompts by four professional voices (G.722);
- :func:`armelle_sources`: Armelle's French Asterisk prompts (GSM at 8 kHz: telephone band).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg.corpus.families.conversion import converted, decode_g722
from proxyseg.corpus.sources import Source

_TUXPAINT = Path("usr/share/tuxpaint/stamps")
_TUXPAINT_DESCRIPTION = re.compile(r"(?P<stamp>.+)_desc_(?P<lang>[a-z]{2}(?:_[A-Z]{2})?)(?:\.ogg)?")


def tuxpaint_sources(root: Path, cache_dir: Path) -> list[Source]:
    """Read stamp descriptions of ``tuxpaint-stamps-default`` (``*_desc_<lang>.ogg``, 44.1 kHz).

    Group = language: each language's descriptions were contributed by one reader (two for
    French, a few GCI students for others, per the changelog); no finer voice identity is
    recorded, so a language is the smallest group that never splits a reader. Stamp sound
    effects (``<stamp>.ogg``) and spoken numerals/letters (``<n>_<lang>.ogg``) are not
    included. ``cache_dir`` is unused: Ogg Vorbis decodes as shipped.
    """
    sources = []
    stamps = Path(root) / _TUXPAINT
    for path in sorted(stamps.rglob("*_desc_*.ogg")):
        match = _TUXPAINT_DESCRIPTION.fullmatch(path.name[:-len(".ogg")])
        if not match:
            continue  # a language code the pattern does not read (3 letters): left out
        relative = path.relative_to(stamps).parent / match["stamp"]
        lang = match["lang"]
        sources.append(Source("speech", f"tuxpaint:{lang}", f"tuxpaint/{lang}/{relative.as_posix()}", path))
    return sorted(sources, key=lambda source: source.name)


_DRASCULA = Path("usr/share/scummvm/drascula")
_DRASCULA_RATE = 11025  # Hz; raw unsigned 8-bit mono (ScummVM's playFile)
_DRASCULA_FILE = re.compile(r"(?P<prefix>[A-Z]*)(?P<number>\d+)\.ALS")
# File-name prefix -> speaker, from ScummVM's engines/drascula/talk.cpp (talk_* functions).
_DRASCULA_SPEAKERS = {
    "": "hacker",  # talk(): John Hacker, the hero
    "B": "drunk",
    "BJ": "bj",  # B.J., the heroine
    "E": "musician",  # talk_mus
    "I": "igor",
    "L": "werewolf",  # talk_wolf
    "P": "pianist",
    "T": "bartender",
    "VB": "von-braun",
}


def _drascula_speaker(prefix: str, number: int) -> str | None:
    """Speaker of ``<prefix><number>.ALS``, or None (sound effects ``S*``, unknown ``F*``, and
    the ``D`` numbers the engine shares between several speakers)."""
    if prefix == "D":
        if number <= 40:
            return "drascula"  # talk_drascula / talk_dr_grande
        if 68 <= number <= 81:
            return "blind-man"  # talk_blind: d<index + 67>
        return None  # d57 is Hacker's, d82/d83 the bartender's and the trunk's; 56-67 unsure
    return _DRASCULA_SPEAKERS.get(prefix)


def _drascula_decode(path: Path) -> tuple[np.ndarray, int]:
    """Raw unsigned 8-bit samples -> int16 ``(frames,)`` at 11025 Hz."""
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    return ((raw.astype(np.int16) - 128) << 8).astype(np.int16), _DRASCULA_RATE


def drascula_sources(root: Path, cache_dir: Path) -> list[Source]:
    """Voices of *Drascula* in English (``drascula``, ``en/``) and Spanish
    (``drascula-spanish``, ``es/``): raw ``*.ALS`` files converted to
    ``cache_dir/drascula/<lang>/<file>.wav``.

    Group = language and character (``drascula:en-igor``): the two languages have separate
    casts. Sound effects and ambiguous ``D`` files are left out.
    """
    sources = []
    for lang in ("en", "es"):
        folder = Path(root) / _DRASCULA / lang
        for path in sorted(folder.glob("*.ALS")):
            match = _DRASCULA_FILE.fullmatch(path.name)
            speaker = match and _drascula_speaker(match["prefix"], int(match["number"]))
            if not speaker:
                continue
            target = Path(cache_dir) / "drascula" / lang / f"{path.stem}.wav"
            converted(target, lambda path=path: _drascula_decode(path))
            sources.append(Source("speech", f"drascula:{lang}-{speaker}",
                                  f"drascula/{lang}/{path.stem}", target))
    return sorted(sources, key=lambda source: source.name)


_ASTERISK = Path("usr/share/asterisk/sounds")
# One professional voice per package; the folder names the voice.
_ASTERISK_VOICES = ("en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo",
                    "ru_RU_f_IvrvoiceRU")
# Tones, not speech (their spectra are single peaks at 344-875 Hz).
_ASTERISK_TONES = {"ascending-2tone", "descending-2tone", "beep", "beeperr"}


def _asterisk_is_speech(relative: Path) -> bool:
    """Whether a prompt is speech: not under ``silence/``, not a tone."""
    return relative.parts[0] != "silence" and relative.stem not in _ASTERISK_TONES


def asterisk_g722_sources(root: Path, cache_dir: Path) -> list[Source]:
    """Asterisk core prompts in G.722 (``asterisk-core-sounds-{en,es,fr,it,ru}-g722``),
    converted to ``cache_dir/asterisk/<voice>/<prompt>.wav``.

    Group = voice, named by the folder: ``june`` (fr-CA), ``carlo`` (it-IT), ``ivrvoiceru``
    (ru-RU) and ``allison`` for both en-US and es-MX, whose folders name the same voice
    (merging them can only keep one reader out of two splits). Silence files and tones are left out.
    """
    sources = []
    for voice in _ASTERISK_VOICES:
        folder = Path(root) / _ASTERISK / voice
        speaker = voice.split("_")[-1].lower()  # allison (en and es), june, carlo, ivrvoiceru
        for path in sorted(folder.rglob("*.g722")):
            relative = path.relative_to(folder)
            if not _asterisk_is_speech(relative) or path.stat().st_size == 0:
                continue  # ru_RU's "is.g722" is empty
            stem = relative.with_suffix("").as_posix()
            target = Path(cache_dir) / "asterisk" / voice / f"{stem}.wav"
            converted(target, lambda path=path: decode_g722(path))
            sources.append(Source("speech", f"asterisk:{speaker}", f"asterisk/{voice}/{stem}", target))
    return sorted(sources, key=lambda source: source.name)


def _gsm_decode(path: Path) -> tuple[np.ndarray, int]:
    """Headerless GSM 06.10 -> int16 ``(frames,)`` at 8 kHz (libsndfile's RAW + GSM610)."""
    samples, rate = sf.read(path, format="RAW", subtype="GSM610", samplerate=8000, channels=1,
                            dtype="int16")
    return samples, rate


def armelle_sources(root: Path, cache_dir: Path) -> list[Source]:
    """French prompts read by Armelle (``asterisk-prompt-fr-armelle``): headerless GSM
    ``usr/share/asterisk/sounds/fr/**/*.gsm`` at 8 kHz, converted to
    ``cache_dir/armelle/<prompt>.wav``. One voice: group ``armelle:armelle``.
    """
    folder = Path(root) / _ASTERISK / "fr"
    sources = []
    for path in sorted(folder.rglob("*.gsm")):
        stem = path.relative_to(folder).with_suffix("").as_posix()
        target = Path(cache_dir) / "armelle" / f"{stem}.wav"
        converted(target, lambda path=path: _gsm_decode(path))
        sources.append(Source("speech", "armelle:armelle", f"armelle/{stem}", target))
    return sorted(sources, key=lambda source: source.name)
