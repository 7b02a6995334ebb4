"""Noise: real sound effects of four game and education packages, without their voices and music.

The packages ship many voices (unit acknowledgements, death cries, spoken descriptions, choirs,
children, crowds) and musical stingers, which must not enter the noise class: every provider keeps
files by an explicit rule, and every rule that drops or keeps a file for its content is a named
constant below with its reason. The rules were set by file name and checked with the shipped
teacher's speech probability (which also scores animal calls and hits as speech: it only chose the
files to inspect) and by reading spectrograms.

A group is one recording: numbered takes (``rain1``, ``rain2``) share one, byte-identical copies are
kept once, and the same recording under other bytes or names is merged into one group
(:mod:`proxyseg.corpus.families.sameness`). The one copy across packages (megaglest's
``mudchute_cow_1``, tuxpaint's ``cow_white``) is left out of megaglest. Every kept file is WAV or
Ogg Vorbis, decoded as shipped (``cache_dir`` is unused); files shorter than :data:`MIN_SECONDS`
and silent files (:data:`SILENT_PEAK`) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg.corpus.families.sameness import decode, drop_copies, merge_same_recordings
from proxyseg.corpus.sources import Source

# --------------------------------------------------------------------------------------------
# Common
# --------------------------------------------------------------------------------------------

#: Shorter files are clicks too brief to be looped into a noise bed without turning into a buzz.
MIN_SECONDS = 0.1
#: Files whose decoded peak stays below this are silent placeholders (tuxpaint ships four:
#: nandou, iguana, giraffe, wombat are 1.07 s of digital silence).
SILENT_PEAK = 1e-3
_AUDIO = (".ogg", ".wav")

# --------------------------------------------------------------------------------------------
# tuxpaint-stamps-default
# --------------------------------------------------------------------------------------------

_TUXPAINT = Path("usr/share/tuxpaint/stamps")
#: Spoken descriptions of a stamp: ``<stamp>_desc.ogg``, ``<stamp>_desc_<lang>[_<COUNTRY>].ogg``.
TUXPAINT_SPOKEN_DESCRIPTION = re.compile(r"_desc(_[A-Za-z]{2,3}(_[A-Za-z]{2,4})?)?$")
#: Folders whose sounds are voices: ``symbols/`` holds letters and digits read aloud in ~20
#: languages (``0_bg.ogg``, ``a_filled_en_GB.ogg``...).
TUXPAINT_SPOKEN_FOLDERS = ("symbols",)
#: Folders whose sounds are musical instruments (the music class): cello, violin, bassoon,
#: drum kit, tom-tom, cymbal.
TUXPAINT_MUSIC_FOLDERS = ("hobbies/music",)
#: Single stamps whose sound is a voice or music although the stamp is an object (checked on
#: spectrograms: formant tracks, syllable rhythm).
TUXPAINT_EXCLUDED = {
    "military/final-roll-call": "bugle call (music)",
    "space/apollo_lander": "radio speech ('the Eagle has landed')",
    "seasonal/hanukkah/dreydl-gimmel": "spoken Hebrew letter name",
    "seasonal/hanukkah/dreydl-hay": "spoken Hebrew letter name",
    "seasonal/hanukkah/dreydl-nun": "spoken Hebrew letter name",
    "seasonal/hanukkah/dreydl-shin": "spoken Hebrew letter name",
    "seasonal/halloween/ghost": "human 'oooh' ghost voice",
    "town/roadsigns/xing_school": "children's voices",
}
#: Stamps that are variants of one recording (different names, same sound source).
TUXPAINT_VARIANTS = {
    "household/arttools/scissors_small_closed": "household/arttools/scissors",
    "household/arttools/scissors_small_open": "household/arttools/scissors",
    "animals/mammals/pig_golden2": "animals/mammals/pig_golden",
}


def tuxpaint_noise_sources(root: Path, cache_dir: Path) -> list[Source]:
    """Tux Paint stamps' sound effects: animals, vehicles, household objects, weather.

    Left out: spoken descriptions (``*_desc*``), the spoken letters and digits of ``symbols/``,
    the musical instruments of ``hobbies/music/`` and :data:`TUXPAINT_EXCLUDED`. Animal calls are
    kept: they are noise to a speech/music segmenter.
    """
    stamps = Path(root) / _TUXPAINT
    sources = []
    for path in _audio_files(stamps):
        stamp = path.relative_to(stamps).with_suffix("").as_posix()
        if (
            TUXPAINT_SPOKEN_DESCRIPTION.search(path.stem)
            or _under(stamp, TUXPAINT_SPOKEN_FOLDERS + TUXPAINT_MUSIC_FOLDERS)
            or stamp in TUXPAINT_EXCLUDED
        ):
            continue
        recording = TUXPAINT_VARIANTS.get(stamp, stamp)
        sources.append(Source("noise", f"tuxpaint-sfx:{recording}", f"tuxpaint-sfx/{stamp}", path))
    return _finish(sources)


# --------------------------------------------------------------------------------------------
# megaglest-data
# --------------------------------------------------------------------------------------------

_MEGAGLEST = Path("usr/share/games/megaglest")
#: Shared effects in ``techs/megapack/commondata/sounds`` kept, by name without the take number.
#: Everything else there is a unit voice: ``*_ack`` and ``*_select`` (spoken replies),
#: ``*_die`` of people (death cries), ``*_attack`` of people (battle shouts mixed with weapon
#: swishes), ``*_work_end``, ``shaman_heal``, ``summoner_summon`` (chants); also left out:
#: ``archmage_hit``/``summoner_hit`` (tonal magic chimes), ``tech_click`` (UI click) and the
#: 40 ms ``*_build`` clicks (below MIN_SECONDS).
MEGAGLEST_COMMON_KEPT = frozenset({
    "ab_attack", "ab_die",  # air ballista: launch and crash
    "air_attack", "air_hit", "dragon_hit", "eagle_hit",  # air strikes and their impacts
    "anvil", "arrow_hit",
    "catapult_attack", "catapult_die", "catapult_hit", "catapult_walk",
    "tower_attack", "tower_hit", "defense_tower_attack", "tech_building_fall",
    "golem_attack", "golem_die", "golem_hit", "golem_walk",  # stone golem: rock impacts, no voice
    "horseman_walk", "orni_fly", "orni_standing",
    "worker_harvest_wood", "worker_mine",
    "cow_ack", "cow_die", "cow_select", "pig_ack", "pig_die", "pig_select",  # farm animals
})
#: Faction units whose every sound is an animal, a machine or an impact (no rider's voice).
MEGAGLEST_NONVOCAL_UNITS = frozenset({
    "egypt/chicken", "indian/bull", "indian/beehive", "indian/thunderbird",
    "magic/dragon", "magic/evil_dragon", "magic/wicker_behemoth", "magic/archmage_tower",
    "norsemen/wild_sow", "persian/elephant", "persian/sheep", "persian/snake_basket",
    "romans/eagle_pillar", "tech/airship", "tech/battle_machine", "tech/ornithopter",
})
#: Units with a voice whose impact sounds are nevertheless kept: unit -> kept name prefixes.
MEGAGLEST_UNIT_IMPACTS = {
    "magic/behemoth": ("behemoth_walk",),
    "persian/flying_carpet": ("carpet_hit",),
    "persian/genie": ("arrow_hit",),
    "tech/technician": ("technician_hit", "technician_mine"),
}
#: Interface sounds, not recordings.
MEGAGLEST_UI = re.compile(r"(^|_)click$")
#: Byte-identical to tuxpaint's ``cow_white.ogg``: left to the tuxpaint family.
MEGAGLEST_CROSS_PACKAGE_COPIES = frozenset({"tilesets/pine_peat/sounds/mudchute_cow_1"})


def megaglest_noise_sources(root: Path, cache_dir: Path) -> list[Source]:
    """MegaGlest ambiences (rain, wind, forest day and night, birds, wolves), water, machines,
    impacts and animals.

    Kept: every tileset sound, ``data/core/water_sounds``, the shared effects named in
    :data:`MEGAGLEST_COMMON_KEPT`, the units of :data:`MEGAGLEST_NONVOCAL_UNITS` and the impacts
    of :data:`MEGAGLEST_UNIT_IMPACTS`. Everything else (unit voices, faction and menu music, menu
    sounds) is left out. The 19 tilesets share many files: each recording is kept once.
    """
    base = Path(root) / _MEGAGLEST
    sources = []
    for path in _audio_files(base / "tilesets"):
        relative = path.relative_to(base).with_suffix("").as_posix()
        if relative in MEGAGLEST_CROSS_PACKAGE_COPIES:
            continue
        tileset = path.parent.parent.name
        sources.append(_megaglest(f"tileset-{tileset}-{path.stem}", relative, path))
    for path in _audio_files(base / "data/core/water_sounds"):
        sources.append(_megaglest("water", path.relative_to(base).with_suffix("").as_posix(), path))
    for path in _audio_files(base / "techs/megapack/commondata/sounds"):
        if _take_name(path.stem) in MEGAGLEST_COMMON_KEPT:
            sources.append(_megaglest(_take_name(path.stem), f"common/{path.stem}", path))
    factions = base / "techs/megapack/factions"
    for path in _audio_files(factions):
        parts = path.relative_to(factions).parts  # <faction>/units/<unit>/sounds/<file>
        if len(parts) != 5 or parts[1] != "units" or MEGAGLEST_UI.search(path.stem):
            continue
        unit = f"{parts[0]}/{parts[2]}"
        impacts = MEGAGLEST_UNIT_IMPACTS.get(unit, ())
        if unit in MEGAGLEST_NONVOCAL_UNITS or path.stem.startswith(impacts):
            recording = f"{parts[2]}-{_take_name(path.stem)}"
            sources.append(_megaglest(recording, f"{unit}/{path.stem}", path))
    return _finish(sources)


def _megaglest(recording: str, name: str, path: Path) -> Source:
    return Source("noise", f"megaglest:{recording}", f"megaglest/{name}", path)


# --------------------------------------------------------------------------------------------
# lincity-ng-data
# --------------------------------------------------------------------------------------------

_LINCITY = Path("usr/share/games/lincity-ng/sounds")
#: Building sounds made of people's voices: classrooms, sports crowds, market chatter.
LINCITY_CROWDS = re.compile(r"^(School|SportsCroud|Market)")
#: Interface sounds, not recordings.
LINCITY_UI = frozenset({"Click", "WindowClose", "WindowOpen"})
#: Sounds the teacher hears as mostly speech (more than half of the frames above 0.5) and that a
#: spectrogram did not clear (residential streets, hospitals, parks, a transformer with speech-like
#: formants...), and Farm1, a sung-like harmonic stack on the spectrogram. Left out as possibly
#: voiced.
LINCITY_SPEECH_LIKE = frozenset({
    "Build1", "Commune1", "Commune2", "DirtTrack1", "DirtTrack2", "Farm1", "FireStation2",
    "Harbor1", "Health1", "Health2", "Health3", "Health4", "Monument2", "OreMine2",
    "ParklandLake1", "ParklandLake2", "ParklandPlane1", "ParklandPlane2", "Pottery1", "Pottery2",
    "Raze1", "Recycle3", "ResidentialHigh1", "ResidentialLow1", "ResidentialLow3",
    "ResidentialMed1", "ResidentialMed3", "Rocket3", "Shanty1", "Shanty3", "Substation3",
    "Substation4", "SubstationOff", "SubstationOn", "University2", "University3",
})
# Flagged by the teacher but cleared on the spectrogram (machines, clicks, chisels, birds):
# FireStation3 (siren), Green2, Mill2, Monument1, PowerSolar2, RailTrain1, ResidentialLow2,
# Water3, WindMill2.


def lincity_noise_sources(root: Path, cache_dir: Path) -> list[Source]:
    """LinCity-NG building and city sounds: industry, traffic, trains, rockets, fire, water,
    farms, construction (mostly 11 kHz, ~4 s loops).

    Left out: crowd categories (:data:`LINCITY_CROWDS`), interface sounds (:data:`LINCITY_UI`),
    possibly voiced sounds (:data:`LINCITY_SPEECH_LIKE`) and the three music tracks. Numbered
    variants of one building (``CoalMine1..3``) share a group.
    """
    folder = Path(root) / _LINCITY
    sources = []
    for path in _audio_files(folder):
        stem = path.stem
        if LINCITY_CROWDS.match(stem) or stem in LINCITY_UI or stem in LINCITY_SPEECH_LIKE:
            continue
        building = re.sub(r"\d+$", "", stem)
        sources.append(Source("noise", f"lincity:{building}", f"lincity/{stem}", path))
    return _finish(sources)


# --------------------------------------------------------------------------------------------
# wesnoth-1.16-data
# --------------------------------------------------------------------------------------------

_WESNOTH = Path("usr/share/games/wesnoth/1.16/data/core/sounds")
#: Hit and death vocalisations of people and humanoid monsters: ``human-hit-1``,
#: ``orc-small-die-2``, ``human-female-hit-3``... (``<creature>[-<variant>]-(hit|die)[-n]``).
WESNOTH_VOICED_CREATURES = (
    "drake", "dwarf", "elf", "ghoul", "goblin", "human", "lich", "mermaid", "mermen", "naga",
    "ogre", "orc", "troll", "wose", "yeti", "zombie",
)
WESNOTH_CREATURE_CRY = re.compile(
    rf"^({'|'.join(WESNOTH_VOICED_CREATURES)})(-[a-z]+)*-(hit|die|attack)(-\d+)?$"
)
#: Vocal sounds not named after a creature: laughs, groans, grunts, wails, hisses.
WESNOTH_VOCAL = frozenset({
    "dwarf-laugh", "groan", "ugg", "wail", "wail-long", "wail-sml",
    "hiss", "hiss-big", "hiss-die", "hiss-hit",
})
#: Music or choir-like tones: fanfare, horn calls, war drums, holy-magic choir swells, fairy
#: chimes, healing chime.
WESNOTH_MUSICAL = re.compile(
    r"^(fanfare-short|horn-signals/.*|ambient/wardrums|magic-holy-.*|magic-faeriefire.*|heal)$"
)


def wesnoth_noise_sources(root: Path, cache_dir: Path) -> list[Source]:
    """Battle for Wesnoth's sound effects: weapons, impacts, magic, fire, explosions, animals
    (wolves, horses, bats, gryphons, tuskers) and ambiences (birds, campfire, night, ship).

    Only ``data/core/sounds`` is used (``sounds/`` at the top holds interface blips and the
    World Conquest campaign a witch's laugh). Left out: creature cries
    (:data:`WESNOTH_CREATURE_CRY`), other vocal sounds (:data:`WESNOTH_VOCAL`) and music
    (:data:`WESNOTH_MUSICAL`). ``miss`` variants and numbered takes share the group of their
    hit sound (``magic-missile-2-miss`` -> ``magic-missile``).
    """
    folder = Path(root) / _WESNOTH
    files = _audio_files(folder)
    stems = [path.relative_to(folder).with_suffix("").as_posix() for path in files]
    sources = []
    for path, name in zip(files, stems):
        if WESNOTH_CREATURE_CRY.match(name) or name in WESNOTH_VOCAL or WESNOTH_MUSICAL.match(name):
            continue
        recording = re.sub(r"(-\d+)?(-miss)?(-\d+)?$", "", name)
        # mace.ogg and mace.wav (likewise spear, staff) are different sounds: name both apart.
        unique = name if stems.count(name) == 1 else f"{name}-{path.suffix[1:].lower()}"
        sources.append(Source("noise", f"wesnoth-sfx:{recording}", f"wesnoth-sfx/{unique}", path))
    return _finish(sources)


# --------------------------------------------------------------------------------------------
# All four
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _audio_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in _AUDIO and p.is_file())


def _under(relative: str, folders: Iterable[str]) -> bool:
    return any(relative == folder or relative.startswith(folder + "/") for folder in folders)


def _take_name(stem: str) -> str:
    """``catapult_walk3`` -> ``catapult_walk``; ``machine_attack1b`` -> ``machine_attack``."""
    return re.sub(r"_?\d+[a-z]?$", "", stem)


def _finish(sources: list[Source]) -> list[Source]:
    """Drop too-short and silent files and byte-identical copies, merge same recordings, sort;
    every file decoded once."""
    decoded = {}
    for source in sources:
        if _seconds(source.path) >= MIN_SECONDS:
            samples = decode(source.path)
            if float(np.abs(samples).max(initial=0.0)) >= SILENT_PEAK:
                decoded[source.path] = samples
    return merge_same_recordings(drop_copies([source for source in sources if source.path in decoded]), decoded)


def _seconds(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate
