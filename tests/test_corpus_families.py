import io
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from proxyseg.corpus.families import effects, music, voices
from proxyseg.corpus.families.conversion import converted, decode_g722
from proxyseg.corpus.families.queen import _queen_decode, _queen_index, queen_sources
from proxyseg.corpus.families.sameness import drop_copies, merge_same_recordings
from proxyseg.corpus.sources import Source

# --------------------------------------------------------------------------------------------
# Helpers: tiny real files in the layouts the providers expect
# --------------------------------------------------------------------------------------------


def write_audio(path: Path, samples: np.ndarray, rate: int = 8000, **kwargs) -> Path:
    """Write ``samples`` with soundfile (the format follows the suffix unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".ogg" and not kwargs:
        kwargs = {"format": "OGG", "subtype": "VORBIS"}
    sf.write(path, samples, rate, **kwargs)
    return path


def noise(seconds: float, seed: int, rate: int = 8000, level: float = 0.3) -> np.ndarray:
    return level * np.random.default_rng(seed).standard_normal(int(round(seconds * rate)))


def tone(frequency: float, seconds: float, rate: int, level: float = 0.5) -> np.ndarray:
    return level * np.sin(2 * np.pi * frequency * np.arange(int(round(seconds * rate))) / rate)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def g722_bytes(samples: np.ndarray) -> bytes:
    """Raw G.722 at 64 kbit/s, as Asterisk ships it (the ``g722`` package's encoder)."""
    import G722

    return bytes(G722.G722(16000, 64000).encode(np.asarray(samples, dtype=np.int16)))


def write_noises(folder: Path, files: dict[str, float]) -> None:
    """``relative path -> seconds`` of loud noise, each file its own recording.

    Every duration is distinct by more than the 2 % + 20 ms that
    :func:`merge_same_recordings` allows, so the expected groups come from the naming rules only.
    """
    for seed, (relative, seconds) in enumerate(files.items()):
        write_audio(folder / relative, noise(seconds, seed))


def groups_by_name(sources: list[Source]) -> dict[str, str]:
    return {source.name: source.group for source in sources}


def assert_sorted_by_name(sources: list[Source]) -> None:
    names = [source.name for source in sources]
    assert names == sorted(names)


# --------------------------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------------------------


def test_converted_writes_16_bit_wav_once_and_does_not_decode_again(tmp_path):
    calls = []
    samples = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)

    def decode():
        calls.append(1)
        return samples, 11025

    target = tmp_path / "deep" / "folder" / "clip.wav"
    assert converted(target, decode) == target
    assert converted(target, decode) == target
    assert len(calls) == 1
    info = sf.info(target)
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 11025, 1)
    written, rate = sf.read(target, dtype="int16")
    assert rate == 11025
    np.testing.assert_array_equal(written, samples)
    assert sorted(path.name for path in target.parent.iterdir()) == ["clip.wav"]  # no leftover


def test_decode_g722_gives_16_khz_int16_with_the_encoded_tone(tmp_path):
    """One second of a 1 kHz tone, G.722-encoded (4 bits a sample at 16 kHz), decodes to one
    second at 16 kHz whose spectrum peaks at 1 kHz."""
    rate = 16000
    path = tmp_path / "tone.g722"
    path.write_bytes(g722_bytes(np.round(tone(1000, 1.0, rate, level=0.25) * 32767)))
    assert path.stat().st_size == 8000  # 64 kbit/s
    samples, decoded_rate = decode_g722(path)
    assert decoded_rate == 16000
    assert samples.dtype == np.int16 and samples.shape == (16000,)
    assert dominant_frequency(samples, rate) == pytest.approx(1000, abs=3)
    # The codec keeps the level (within its quantisation): 0.25 of full scale, not silence.
    assert 0.2 * 32767 < np.abs(samples[2000:]).max() < 0.3 * 32767


# --------------------------------------------------------------------------------------------
# voices
# --------------------------------------------------------------------------------------------


def test_drascula_clips_are_decoded_from_unsigned_8_bit_at_11025_hz(tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    folder = root / "usr/share/scummvm/drascula"
    raw = bytes([0, 1, 127, 128, 129, 255, 64, 192])
    files = {
        "en/I12.ALS": raw,  # Igor
        "en/12.ALS": raw[::-1],  # John Hacker (no prefix)
        "en/D5.ALS": raw,  # Drascula (D <= 40)
        "en/D70.ALS": raw,  # the blind man (D 68-81)
        "en/D60.ALS": raw,  # D 56-67: shared by several speakers, left out
        "en/S3.ALS": raw,  # a sound effect
        "en/F1.ALS": raw,  # unknown prefix
        "es/I12.ALS": raw[:4],  # Igor's Spanish actor
        "es/VB3.ALS": raw,  # von Braun
    }
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    sources = voices.drascula_sources(root, cache)
    assert groups_by_name(sources) == {
        "drascula/en/12": "drascula:en-hacker",
        "drascula/en/D5": "drascula:en-drascula",
        "drascula/en/D70": "drascula:en-blind-man",
        "drascula/en/I12": "drascula:en-igor",
        "drascula/es/I12": "drascula:es-igor",
        "drascula/es/VB3": "drascula:es-von-braun",
    }
    assert_sorted_by_name(sources)
    assert {source.kind for source in sources} == {"speech"}
    by_name = {source.name: source for source in sources}
    assert by_name["drascula/en/I12"].path == cache / "drascula/en/I12.wav"
    for name, relative in [("drascula/en/I12", "en/I12.ALS"), ("drascula/en/12", "en/12.ALS"),
                           ("drascula/es/I12", "es/I12.ALS")]:
        samples, rate = sf.read(by_name[name].path, dtype="int16")
        assert rate == 11025
        expected = (np.frombuffer(files[relative], dtype=np.uint8).astype(np.int32) - 128) * 256
        np.testing.assert_array_equal(samples, expected)
    # byte 0 -> -32768, byte 128 -> 0, byte 255 -> 32512
    assert sf.read(by_name["drascula/en/I12"].path, dtype="int16")[0][[0, 3, 5]].tolist() == [-32768, 0, 32512]


def test_asterisk_prompts_are_grouped_by_voice_without_silence_tones_or_empty_files(tmp_path):
    """en-US and es-MX Allison are one group; silence/, tones and empty files are left out; a folder
    that is not one of the known voices is not read."""
    root, cache = tmp_path / "root", tmp_path / "cache"
    sounds = root / "usr/share/asterisk/sounds"
    prompt = g722_bytes(np.round(tone(440, 0.1, 16000, level=0.2) * 32767))
    files = [
        "en_US_f_Allison/hello.g722", "en_US_f_Allison/digits/1.g722",
        "en_US_f_Allison/silence/1.g722", "en_US_f_Allison/beep.g722",
        "en_US_f_Allison/digits/beeperr.g722", "es_MX_f_Allison/hola.g722",
        "fr_CA_f_June/bonjour.g722", "it_IT_m_Carlo/ciao.g722", "ru_RU_f_IvrvoiceRU/privet.g722",
        "en_GB_f_Someone/hello.g722", "fr_CA_f_June/hello.gsm",
    ]
    for relative in files:
        (sounds / relative).parent.mkdir(parents=True, exist_ok=True)
        (sounds / relative).write_bytes(prompt)
    (sounds / "ru_RU_f_IvrvoiceRU/is.g722").write_bytes(b"")
    sources = voices.asterisk_g722_sources(root, cache)
    assert groups_by_name(sources) == {
        "asterisk/en_US_f_Allison/digits/1": "asterisk:allison",
        "asterisk/en_US_f_Allison/hello": "asterisk:allison",
        "asterisk/es_MX_f_Allison/hola": "asterisk:allison",
        "asterisk/fr_CA_f_June/bonjour": "asterisk:june",
        "asterisk/it_IT_m_Carlo/ciao": "asterisk:carlo",
        "asterisk/ru_RU_f_IvrvoiceRU/privet": "asterisk:ivrvoiceru",
    }
    assert_sorted_by_name(sources)
    source = {source.name: source for source in sources}["asterisk/en_US_f_Allison/digits/1"]
    assert source.path == cache / "asterisk/en_US_f_Allison/digits/1.wav"
    samples, rate = sf.read(source.path, dtype="int16")
    assert rate == 16000
    np.testing.assert_array_equal(samples, decode_g722(sounds / "en_US_f_Allison/digits/1.g722")[0])


def test_tuxpaint_speech_is_the_spoken_descriptions_grouped_by_language(tmp_path):
    stamps = tmp_path / "usr/share/tuxpaint/stamps"
    clip = tone(200, 0.2, 8000)
    for relative in ["animals/cat_desc_fr.ogg", "animals/cat_desc_pt_BR.ogg", "animals/birds/owl_desc_fr.ogg",
                     "animals/cat.ogg", "symbols/1_en.ogg", "animals/cat_desc.ogg"]:
        write_audio(stamps / relative, clip)
    sources = voices.tuxpaint_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "tuxpaint/fr/animals/birds/owl": "tuxpaint:fr",
        "tuxpaint/fr/animals/cat": "tuxpaint:fr",
        "tuxpaint/pt_BR/animals/cat": "tuxpaint:pt_BR",
    }  # the stamp's sound, a spoken numeral and a description without language are not read speech
    assert_sorted_by_name(sources)
    assert {source.path for source in sources} == {
        stamps / "animals/cat_desc_fr.ogg", stamps / "animals/cat_desc_pt_BR.ogg",
        stamps / "animals/birds/owl_desc_fr.ogg"}
    assert {source.kind for source in sources} == {"speech"}


# --------------------------------------------------------------------------------------------
# effects
# --------------------------------------------------------------------------------------------


def test_tuxpaint_noise_keeps_stamp_sounds_and_leaves_out_voices_music_short_and_silent_files(tmp_path):
    stamps = tmp_path / "usr/share/tuxpaint/stamps"
    write_noises(stamps, {
        # kept
        "animals/cat.ogg": 0.3,
        "household/arttools/scissors.wav": 0.4,
        "household/arttools/scissors_small_closed.wav": 0.5,
        "household/arttools/scissors_small_open.ogg": 0.6,
        "hobbies/music_box.wav": 0.7,  # beside hobbies/music/, not in it
        # left out by name
        "animals/cat_desc.ogg": 1.0,
        "animals/cat_desc_fr.ogg": 1.0,
        "animals/cat_desc_pt_BR.ogg": 1.0,
        "symbols/a_en.ogg": 1.0,
        "hobbies/music/cello.wav": 1.0,
        "space/apollo_lander.ogg": 1.0,
        "town/roadsigns/xing_school.wav": 1.0,
        # left out by content
        "animals/mouse.wav": 0.05,  # shorter than MIN_SECONDS
    })
    write_audio(stamps / "animals/iguana.ogg", np.zeros(8000))  # digital silence
    sources = effects.tuxpaint_noise_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "tuxpaint-sfx/animals/cat": "tuxpaint-sfx:animals/cat",
        "tuxpaint-sfx/hobbies/music_box": "tuxpaint-sfx:hobbies/music_box",
        "tuxpaint-sfx/household/arttools/scissors": "tuxpaint-sfx:household/arttools/scissors",
        "tuxpaint-sfx/household/arttools/scissors_small_closed": "tuxpaint-sfx:household/arttools/scissors",
        "tuxpaint-sfx/household/arttools/scissors_small_open": "tuxpaint-sfx:household/arttools/scissors",
    }
    assert_sorted_by_name(sources)
    assert {source.kind for source in sources} == {"noise"}
    assert effects.MIN_SECONDS > 0.05


def test_wesnoth_noise_leaves_out_creature_cries_vocal_sounds_and_music(tmp_path):
    sounds = tmp_path / "usr/share/games/wesnoth/1.16/data/core/sounds"
    write_noises(sounds, {
        # kept: animals, weapons, ambiences
        "wolf-die.ogg": 0.3,
        "bow.ogg": 0.4,
        "bow-miss.ogg": 0.5,
        "mace.ogg": 0.6,
        "mace.wav": 0.7,
        "ambient/campfire.ogg": 0.8,
        "fire-2.wav": 0.9,
        # creature cries
        "human-hit-1.ogg": 1.5,
        "orc-small-die-2.wav": 1.5,
        "human-female-hit-3.ogg": 1.5,
        "drake-die.ogg": 1.5,
        "wose-attack.wav": 1.5,
        # other voices
        "groan.wav": 1.5,
        "hiss-big.ogg": 1.5,
        "dwarf-laugh.wav": 1.5,
        # music
        "horn-signals/horn-2.ogg": 1.5,
        "ambient/wardrums.ogg": 1.5,
        "magic-holy-1.ogg": 1.5,
        "magic-faeriefire.ogg": 1.5,
        "fanfare-short.wav": 1.5,
        "heal.wav": 1.5,
    })
    sources = effects.wesnoth_noise_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "wesnoth-sfx/ambient/campfire": "wesnoth-sfx:ambient/campfire",
        "wesnoth-sfx/bow": "wesnoth-sfx:bow",
        "wesnoth-sfx/bow-miss": "wesnoth-sfx:bow",
        "wesnoth-sfx/fire-2": "wesnoth-sfx:fire",
        "wesnoth-sfx/mace-ogg": "wesnoth-sfx:mace",  # mace.ogg and mace.wav: two files, both kept
        "wesnoth-sfx/mace-wav": "wesnoth-sfx:mace",
        "wesnoth-sfx/wolf-die": "wesnoth-sfx:wolf-die",
    }
    assert_sorted_by_name(sources)


def test_wesnoth_miss_variants_and_takes_share_the_group_named_by_the_hit_sound(tmp_path):
    """The docstring's own example: ``magic-missile-2-miss`` -> group ``magic-missile``."""
    sounds = tmp_path / "usr/share/games/wesnoth/1.16/data/core/sounds"
    write_noises(sounds, {"magic-missile-1.ogg": 0.3, "magic-missile-2-miss.ogg": 0.4})
    sources = effects.wesnoth_noise_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "wesnoth-sfx/magic-missile-1": "wesnoth-sfx:magic-missile",
        "wesnoth-sfx/magic-missile-2-miss": "wesnoth-sfx:magic-missile",
    }


def test_lincity_numbered_variants_share_a_group_and_crowds_ui_and_speech_like_sounds_are_left_out(tmp_path):
    write_noises(tmp_path / "usr/share/games/lincity-ng/sounds", {
        "CoalMine1.wav": 0.3,
        "CoalMine2.wav": 0.4,
        "Farm2.wav": 0.5,
        "RailTrain1.ogg": 0.6,
        "School1.wav": 1.5,  # crowds
        "SportsCroud2.wav": 1.5,
        "Market1.wav": 1.5,
        "Click.wav": 1.5,  # interface
        "Farm1.wav": 1.5,  # speech-like
        "Health3.wav": 1.5,
    })
    sources = effects.lincity_noise_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "lincity/CoalMine1": "lincity:CoalMine",
        "lincity/CoalMine2": "lincity:CoalMine",
        "lincity/Farm2": "lincity:Farm",
        "lincity/RailTrain1": "lincity:RailTrain",
    }
    assert_sorted_by_name(sources)


def test_megaglest_keeps_tilesets_water_named_common_effects_and_nonvocal_units_only(tmp_path):
    base = tmp_path / "usr/share/games/megaglest"
    write_noises(base, {
        # kept
        "tilesets/forest/sounds/rain1.wav": 0.3,
        "data/core/water_sounds/water1.wav": 0.4,
        "techs/megapack/commondata/sounds/catapult_walk3.wav": 0.5,
        "techs/megapack/factions/tech/units/airship/sounds/airship_move1.ogg": 0.6,
        "techs/megapack/factions/magic/units/behemoth/sounds/behemoth_walk2.wav": 0.7,
        # left out
        "tilesets/pine_peat/sounds/mudchute_cow_1.ogg": 1.5,  # tuxpaint's cow_white
        "techs/megapack/commondata/sounds/archer_ack1.wav": 1.5,
        "techs/megapack/commondata/sounds/tech_click.wav": 1.5,
        "techs/megapack/factions/tech/units/airship/sounds/airship_click.wav": 1.5,
        "techs/megapack/factions/magic/units/behemoth/sounds/behemoth_die.wav": 1.5,
        "techs/megapack/factions/norsemen/units/archer/sounds/archer_die1.wav": 1.5,
        "techs/megapack/factions/tech/music/theme.ogg": 1.5,
        "data/core/menu/music/menu_music.ogg": 1.5,
        "techs/megapack/commondata/sounds/tower_attack_1.wav": 0.02,  # too short
    })
    sources = effects.megaglest_noise_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "megaglest/common/catapult_walk3": "megaglest:catapult_walk",
        "megaglest/data/core/water_sounds/water1": "megaglest:water",
        "megaglest/magic/behemoth/behemoth_walk2": "megaglest:behemoth-behemoth_walk",
        "megaglest/tech/airship/airship_move1": "megaglest:airship-airship_move",
        "megaglest/tilesets/forest/sounds/rain1": "megaglest:tileset-forest-rain1",
    }
    assert_sorted_by_name(sources)


# --------------------------------------------------------------------------------------------
# sameness
# --------------------------------------------------------------------------------------------


def test_drop_copies_keeps_the_first_by_name_of_byte_identical_files(tmp_path):
    one = write_audio(tmp_path / "one.wav", noise(0.2, 0))
    copy = tmp_path / "copy.wav"
    shutil.copyfile(one, copy)
    other = write_audio(tmp_path / "other.wav", noise(0.2, 1))
    sources = [Source("noise", "g:c", "x/c", one), Source("noise", "g:a", "x/b", copy),
               Source("noise", "g:d", "x/a", other)]
    kept = drop_copies(sources)
    assert [(source.name, source.path) for source in kept] == [("x/a", other), ("x/b", copy)]


def test_merge_same_recordings_joins_reencoded_and_rescaled_copies_and_keeps_other_recordings_apart(tmp_path):
    """One recording (noise bursts) as 44.1 kHz WAV, as Ogg Vorbis and at a third of the gain: one group,
    the smallest of theirs; another recording of the same length, and a tone sweep, keep theirs."""
    rate = 44100
    rng = np.random.default_rng(3)

    def bursts() -> np.ndarray:
        envelope = np.repeat(rng.uniform(0.05, 1.0, 20), rate // 20)
        return np.clip(0.5 * envelope * rng.standard_normal(rate), -0.95, 0.95)

    recording, other = bursts(), bursts()
    t = np.arange(rate) / rate
    sweep = 0.5 * np.sin(2 * np.pi * (300 + 2000 * t) * t)
    sources = [
        Source("noise", "pack:zeta", "pack/zeta", write_audio(tmp_path / "zeta.wav", recording, rate)),
        Source("noise", "pack:beta", "pack/beta", write_audio(tmp_path / "beta.ogg", recording, rate)),
        Source("noise", "pack:mu", "pack/mu", write_audio(tmp_path / "mu.wav", recording / 3, rate)),
        Source("noise", "pack:alpha", "pack/alpha", write_audio(tmp_path / "alpha.wav", other, rate)),
        Source("noise", "pack:sweep", "pack/sweep", write_audio(tmp_path / "sweep.wav", sweep, rate)),
    ]
    merged = merge_same_recordings(sources)
    assert groups_by_name(merged) == {
        "pack/alpha": "pack:alpha",
        "pack/beta": "pack:beta",
        "pack/mu": "pack:beta",
        "pack/sweep": "pack:sweep",
        "pack/zeta": "pack:beta",
    }
    assert_sorted_by_name(merged)
    assert {source.name: source.path for source in merged} == {source.name: source.path for source in sources}


def test_merge_same_recordings_keeps_apart_the_same_sound_at_very_different_lengths(tmp_path):
    """A recording and its first half are two files of different lengths: not merged."""
    recording = noise(1.0, 5)
    sources = [
        Source("noise", "pack:a", "pack/a", write_audio(tmp_path / "a.wav", recording)),
        Source("noise", "pack:b", "pack/b", write_audio(tmp_path / "b.wav", recording[:4000])),
    ]
    assert groups_by_name(merge_same_recordings(sources)) == {"pack/a": "pack:a", "pack/b": "pack:b"}


# --------------------------------------------------------------------------------------------
# music
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_ogg(tmp_path_factory) -> bytes:
    """21 s of a chord at 8 kHz mono, Ogg Vorbis: just longer than music.MIN_SECONDS."""
    path = tmp_path_factory.mktemp("music") / "long.ogg"
    write_audio(path, tone(220, 21.0, 8000, 0.2) + tone(330, 21.0, 8000, 0.2))
    return path.read_bytes()


@pytest.fixture(scope="module")
def short_ogg(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("music") / "short.ogg"
    write_audio(path, tone(220, 2.0, 8000, 0.3))
    return path.read_bytes()


def test_extract_pk3_extracts_the_ogg_members_under_the_prefix_unchanged_and_nothing_else(tmp_path, short_ogg):
    pk3 = tmp_path / "0music.pk3"
    members = {
        "music/": b"",
        "music/battle.ogg": short_ogg,
        "music/Calm.OGG": short_ogg[:-10] + b"0123456789",  # any bytes: extracted, not decoded
        "music/readme.txt": b"not audio",
        "sound/explosion.ogg": short_ogg,
        "musicx/other.ogg": short_ogg,
    }
    with zipfile.ZipFile(pk3, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    out = tmp_path / "out"
    extracted = music._extract_pk3(pk3, "music/", out)
    assert extracted == [out / "Calm.OGG", out / "battle.ogg"]
    assert sorted(path.name for path in out.iterdir()) == ["Calm.OGG", "battle.ogg"]
    assert (out / "battle.ogg").read_bytes() == members["music/battle.ogg"]
    assert (out / "Calm.OGG").read_bytes() == members["music/Calm.OGG"]
    assert music._extract_pk3(tmp_path / "missing.pk3", "music/", out) == []


def test_nexuiz_music_renames_the_sixtyfour_stem_groups_its_remix_and_leaves_out_thunder_and_stings(
        tmp_path, long_ogg, short_ogg):
    pk3 = tmp_path / "root/usr/share/games/nexuiz/data/music.pk3"
    pk3.parent.mkdir(parents=True)
    with zipfile.ZipFile(pk3, "w") as archive:
        for name in ("sixtyfour_", "sixtyfour_revisited", "thunder", "chase"):
            archive.writestr(f"sound/cdtracks/{name}.ogg", long_ogg)
        archive.writestr("sound/cdtracks/sting.ogg", short_ogg)
    sources = music.nexuiz_music_sources(tmp_path / "root", tmp_path / "cache")
    assert groups_by_name(sources) == {
        "nexuiz/chase": "nexuiz:chase",
        "nexuiz/sixtyfour": "nexuiz:sixtyfour",
        "nexuiz/sixtyfour_revisited": "nexuiz:sixtyfour",
    }
    assert_sorted_by_name(sources)
    assert all(source.path.parent == tmp_path / "cache/nexuiz" for source in sources)
    assert {source.kind for source in sources} == {"music"}


def test_fretsonfire_song_is_the_sum_of_its_stems_scaled_to_at_most_mix_peak(tmp_path):
    """A loud song's mix is its stems' sum times one constant, MIX_PEAK / peak; a quiet song's is the sum
    itself; a song shorter than MIN_SECONDS is left out."""
    rate, seconds = 8000, 20.5
    songs = tmp_path / "root/usr/share/games/fretsonfire/data/songs"
    rng = np.random.default_rng(7)
    envelope = np.repeat(rng.uniform(0.2, 1.0, 41), rate // 2)[: int(seconds * rate)]
    loud = songs / "muldjord" / "Loud Song"
    write_audio(loud / "song.ogg", 0.6 * envelope * np.sin(2 * np.pi * 110 * np.arange(len(envelope)) / rate))
    write_audio(loud / "guitar.ogg", tone(110, seconds, rate, 0.5))
    quiet = songs / "sectoid" / "quiet"
    write_audio(quiet / "song.ogg", tone(220, seconds, rate, 0.2))
    write_audio(quiet / "guitar.ogg", tone(330, seconds, rate, 0.1))
    short = songs / "sectoid" / "Sting"
    write_audio(short / "song.ogg", tone(220, 3.0, rate, 0.2))
    write_audio(short / "guitar.ogg", tone(330, 3.0, rate, 0.2))

    sources = music.fretsonfire_music_sources(tmp_path / "root", tmp_path / "cache")
    assert groups_by_name(sources) == {
        "fretsonfire/muldjord/loud_song": "fretsonfire:muldjord/loud_song",
        "fretsonfire/sectoid/quiet": "fretsonfire:sectoid/quiet",
    }
    by_name = {source.name: source.path for source in sources}
    assert by_name["fretsonfire/muldjord/loud_song"] == tmp_path / "cache/fretsonfire/muldjord/loud_song.flac"

    def plain_sum(folder: Path) -> np.ndarray:
        return sum(sf.read(folder / stem, dtype="float64")[0] for stem in ("song.ogg", "guitar.ogg"))

    lsb = 1 / 32768
    for name, folder, loud_mix in [("fretsonfire/muldjord/loud_song", loud, True),
                                   ("fretsonfire/sectoid/quiet", quiet, False)]:
        mixed, mixed_rate = sf.read(by_name[name], dtype="float64")
        assert mixed_rate == rate
        assert sf.info(by_name[name]).format == "FLAC" and sf.info(by_name[name]).subtype == "PCM_16"
        total = plain_sum(folder)
        assert mixed.shape == total.shape
        peak = np.abs(total).max()
        assert bool(peak > music.MIX_PEAK) is loud_mix
        gain = min(1.0, music.MIX_PEAK / peak)
        np.testing.assert_allclose(mixed, gain * total, atol=2 * lsb)
        assert np.abs(mixed).max() <= music.MIX_PEAK + 2 * lsb
        strong = np.abs(total) > 0.1
        ratios = mixed[strong] / total[strong]
        assert ratios.max() - ratios.min() < 1e-3  # one gain for the whole song: dynamics kept
    # The short song was mixed too (to read its length) but is not a source; no temporary file is left.
    assert sorted(path.name for path in (tmp_path / "cache/fretsonfire/sectoid").iterdir()) == ["quiet.flac",
                                                                                             "sting.flac"]


def test_fretsonfire_mix_is_written_once(tmp_path):
    song = tmp_path / "root/usr/share/games/fretsonfire/data/songs/pack/Song"
    write_audio(song / "song.ogg", tone(220, 20.5, 8000, 0.2))
    write_audio(song / "guitar.ogg", tone(330, 20.5, 8000, 0.2))
    [source] = music.fretsonfire_music_sources(tmp_path / "root", tmp_path / "cache")
    before = source.path.read_bytes()
    # A later call reuses the cached mix: changing a stem does not change it.
    write_audio(song / "song.ogg", np.zeros(8000 * 21))
    [again] = music.fretsonfire_music_sources(tmp_path / "root", tmp_path / "cache")
    assert again.path == source.path
    assert again.path.read_bytes() == before


def test_warzone_enhanced_remakes_share_the_group_of_the_original(tmp_path):
    folder = tmp_path / "usr/share/games/warzone2100/music"
    opus = {"format": "OGG", "subtype": "OPUS"}
    long = tone(220, 20.5, 8000, 0.3)
    write_audio(folder / "menu.opus", long, **opus)
    for relative in ("menu_enhanced.opus", "albums/original/track3.opus", "albums/remixes/track3_enhanced.opus"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / "menu.opus", folder / relative)
    write_audio(folder / "albums/original/victory.opus", tone(220, 4.0, 8000, 0.3), **opus)
    sources = music.warzone_music_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "warzone/menu": "warzone:menu",
        "warzone/menu_enhanced": "warzone:menu",
        "warzone/original/track3": "warzone:track3",
        "warzone/remixes/track3_enhanced": "warzone:track3",
    }
    assert_sorted_by_name(sources)


def test_wesnoth_music_old_take_shares_the_group_and_silence_and_stings_are_left_out(tmp_path, long_ogg, short_ogg):
    folder = tmp_path / "usr/share/games/wesnoth/1.16/data/core/music"
    folder.mkdir(parents=True)
    for stem in ("frantic", "frantic-old", "silence", "battle"):
        (folder / f"{stem}.ogg").write_bytes(long_ogg)
    (folder / "defeat.ogg").write_bytes(short_ogg)
    sources = music.wesnoth_music_sources(tmp_path, tmp_path / "cache")
    assert groups_by_name(sources) == {
        "wesnoth-music/battle": "wesnoth-music:battle",
        "wesnoth-music/frantic": "wesnoth-music:frantic",
        "wesnoth-music/frantic-old": "wesnoth-music:frantic",
    }
    assert {source.path for source in sources} == {folder / "battle.ogg", folder / "frantic.ogg",
                                                   folder / "frantic-old.ogg"}


# --------------------------------------------------------------------------------------------
# queen
# --------------------------------------------------------------------------------------------


def queen_table(entries: list[tuple[str, int, int, int]]) -> bytes:
    """A ``QTBL`` resource table: header, uint16 count, 21-byte (name, bundle, offset, size) entries."""
    table = b"QTBL" + b"CEM10\0" + b"\0\0" + bytes([1]) + struct.pack(">H", len(entries))
    for name, bundle, offset, size in entries:
        table += name.encode("ascii").ljust(12, b"\0") + struct.pack(">BII", bundle, offset, size)
    return table


def test_queen_index_reads_the_big_endian_qtbl_table():
    data = queen_table([("QUEEN.JAS", 1, 1000, 20), ("JOE00011.SB", 2, 70000, 1234),
                        ("ABCDEFGH.CUT", 3, 2 ** 31 + 5, 2 ** 24)])
    assert len(data) == 15 + 3 * 21
    assert _queen_index(data + b"file bytes") == {
        "QUEEN.JAS": (1000, 20),
        "JOE00011.SB": (70000, 1234),
        "ABCDEFGH.CUT": (2 ** 31 + 5, 2 ** 24),  # a 12-character name fills its field
    }
    with pytest.raises(ValueError, match="QTBL"):
        _queen_index(b"RIFF" + data[4:])


def mp3_clip(frequency: float, seconds: float = 0.5) -> bytes:
    """A mono 11025 Hz MP3 (MPEG-2.5 layer III, as the game's ``*.SB`` clips), written by libsndfile."""
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3 (needs libsndfile >= 1.1 built with LAME)")
    buffer = io.BytesIO()
    sf.write(buffer, tone(frequency, seconds, 11025, 0.4), 11025, format="MP3")
    return buffer.getvalue()


def test_queen_decode_gives_the_mp3_clip_at_11025_hz_mono():
    samples, rate = _queen_decode(mp3_clip(1000, 0.5))
    assert rate == 11025
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert abs(len(samples) - 5512) <= 1152  # at most one MPEG-2.5 frame of encoder padding
    assert dominant_frequency(samples, rate) == pytest.approx(1000, abs=5)


def test_queen_sources_attribute_dialogue_lines_joe_descriptions_and_cutaway_lines(tmp_path):
    """A minimal ``queen.1c``: one person object (Faye), one dialogue file with talk key 1
    (FAYE1.DOG), one cutaway whose record 1 is Joe's line and record 2 Faye's, and speech clips."""
    header = b"\0" * 20  # every resource file starts with a header the engine skips
    jas = header + struct.pack(">4H", 0, 1, 1, 0) + struct.pack(">hHHHhHHh", 1, 0, 0, 0, 0, 0, 0, -3)
    jas2 = b"Faye\r\n"
    dog = header + b"\0\0\0\0" + struct.pack(">h", 1)

    def record(number: int) -> bytes:
        """A cutaway object record: 17 int16 fields (object number first, no animation), no people."""
        return struct.pack(">17h", number, *([0] * 16)) + struct.pack(">h", 0)

    cut = header + struct.pack(">hh", 0, 2) + b"\0" * 8 + record(0) + record(1)
    clips = {name: mp3_clip(frequency, 0.2) for name, frequency in [
        ("01000AP1", 500), ("01000AJ1", 600), ("02000AP1", 700), ("JOE00011", 800),
        ("C5C__01A", 900), ("C5C__02A", 1000), ("SFX00001", 1100)]}
    files = {"QUEEN.JAS": jas, "QUEEN2.JAS": jas2, "FAYE1.DOG": dog, "C5C.CUT": cut,
             **{f"{name}.SB": clip for name, clip in clips.items()}}
    offset = 15 + 21 * len(files)
    entries, body = [], b""
    for name, data in files.items():
        entries.append((name, 1, offset + len(body), len(data)))
        body += data
    path = tmp_path / "root/usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
    path.parent.mkdir(parents=True)
    path.write_bytes(queen_table(entries) + body)

    sources = queen_sources(tmp_path / "root", tmp_path / "cache")
    assert groups_by_name(sources) == {
        "queen/01000AJ1": "queen:joe",  # J: Joe's side of the dialogue
        "queen/01000AP1": "queen:faye",  # P: the person of talk key 01 (FAYE1.DOG)
        "queen/C5C__01A": "queen:joe",
        "queen/C5C__02A": "queen:faye",
        "queen/JOE00011": "queen:joe",
    }  # talk key 02 has no dialogue file, SFX00001 no speaker: left out
    assert_sorted_by_name(sources)
    source = {source.name: source for source in sources}["queen/C5C__02A"]
    assert source.path == tmp_path / "cache/queen/C5C__02A.wav"
    samples, rate = sf.read(source.path, dtype="int16")
    assert rate == 11025
    np.testing.assert_array_equal(samples, _queen_decode(clips["C5C__02A"])[0])
    assert dominant_frequency(samples, rate) == pytest.approx(1000, abs=10)
