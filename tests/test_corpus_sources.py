import io
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from proxyseg.corpus.catalogue import FAMILIES, HELD_OUT, SOURCE_SETS, set_sources
from proxyseg.corpus.debian import default_cache_dir
from proxyseg.corpus.families.fillets import fillets_sources
from proxyseg.corpus.opensfx import read_catalogue
from proxyseg.corpus.sources import KINDS, folder_sources
from proxyseg.errors import CorpusError


def wav_bytes(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(seconds * 8000)), 8000, format="WAV")
    return buffer.getvalue()


def catalogue(entries: list[tuple[str, bytes]]) -> bytes:
    """An OpenSFX-style catalogue: (offset | 1 << 31, size) table, then name-prefixed entries."""
    table, body = [], b""
    start = 8 * len(entries)
    for name, wav in entries:
        record = bytes([len(name) + 1]) + name.encode("latin-1") + b"\0" + wav
        table.append((start + len(body), len(record)))
        body += record
    header = b"".join(struct.pack("<II", offset | (1 << 31) if i == 0 else offset, size)
                      for i, (offset, size) in enumerate(table))
    return header + body


def test_opensfx_catalogue_keeps_noise_and_groups_takes_of_one_recording(tmp_path):
    path = tmp_path / "opensfx.cat"
    path.write_bytes(catalogue([
        ('"Wind". Original "wind1.wav" by "Anton". License: CC-BY 3.0.', wav_bytes()),
        ('"Heavy wind". Original "wind1.wav" by "Anton". License: CC-BY 3.0.', wav_bytes()),
        ('"Applause". Original "audience.wav" by "x". License: CC-BY 3.0.', wav_bytes()),
        ('"Good Year". By Janis Lukss. License: CC-BY 3.0.', wav_bytes()),
        ('"Unused/Nothing". Trivial empty sound file.', b"not a wav"),
        ('"Cow". By Someone. License: CC-BY 3.0.', wav_bytes(0.2)),
    ]))
    entries = read_catalogue(path)
    assert [entry.title for entry in entries] == ["Wind", "Heavy wind", "Cow"]
    assert [entry.recording for entry in entries] == ["wind1.wav", "wind1.wav", "Cow"]
    assert sf.info(io.BytesIO(entries[2].wav)).duration == pytest.approx(0.2)


def test_truncated_catalogue_is_a_clear_error(tmp_path):
    path = tmp_path / "opensfx.cat"
    path.write_bytes(catalogue([('"Wind". By A.', wav_bytes())])[:40])
    with pytest.raises(CorpusError, match="outside the file"):
        read_catalogue(path)


def test_fillets_speakers_are_the_fonts_of_the_level_scripts(tmp_path):
    """Each line's speaker is its font in the level's script: the two fish (the same actors in every
    level) or a character of the level; a line the script does not list, by an m/v code in its name."""
    sound, script = tmp_path / "usr/share/games/fillets-ng/sound", tmp_path / "usr/share/games/fillets-ng/script"
    names = ["city/cs/vit-hs-klid1", "city/cs/vit-m-hlava", "city/cs/key-start", "city/cs/vit-v-ahoj",
             "bathroom/cs/m-myslis", "reactor/cs/help23", "city/en/vit-x-end"]
    for name in names:
        (sound / f"{name}.ogg").parent.mkdir(parents=True, exist_ok=True)
        sf.write(sound / f"{name}.ogg", np.zeros(800), 8000, format="OGG", subtype="VORBIS")
    (sound / "city/cs/vit-m-empty.ogg").touch()  # no samples
    (script / "city").mkdir(parents=True)
    (script / "city" / "dialogs_cs.lua").write_text(
        'dialogId("vit-hs-klid1", "font_statue", "Klid.")\n'
        'dialogId("vit-m-hlava", "font_small", "Hlava.")\n'
        'dialogId( "key-start", "font_big", "Start.")\n')
    groups = {source.name: source.group for source in fillets_sources(tmp_path, "cs")}
    assert groups == {
        "fillets/city/vit-hs-klid1": "fillets:city-statue",
        "fillets/city/vit-m-hlava": "fillets:m",
        "fillets/city/key-start": "fillets:v",  # its name says nothing: the script says the big fish
        "fillets/city/vit-v-ahoj": "fillets:v",
        "fillets/bathroom/m-myslis": "fillets:m",
    }  # neither script nor code (help23), another language and an empty file are left out
    assert {s.group for s in fillets_sources(tmp_path, "en")} == set()


def test_folder_sources_groups_by_file_or_by_folder(source_folder):
    by_file = folder_sources(source_folder)
    assert {source.kind for source in by_file} == set(KINDS)
    speech = [source for source in by_file if source.kind == "speech"]
    assert len({source.group for source in speech}) == len(speech) == 18
    by_speaker = folder_sources(source_folder, group_depth=1)
    assert {source.group for source in by_speaker if source.kind == "speech"} == {f"speech:spk{i}" for i in range(6)}


def test_folder_sources_needs_the_three_kinds(tmp_path, source_folder):
    shutil.copytree(source_folder / "speech", tmp_path / "speech")
    with pytest.raises(CorpusError, match="music, noise"):
        folder_sources(tmp_path)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXYSEG_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("PROXYSEG_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "proxyseg"


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="the default sources come from Debian packages")
def test_default_sources_from_debian_packages():
    """The real default material: fetched once into the user's cache (about 125 MB)."""
    read = []
    sources = set_sources("default", default_cache_dir(), on_family=lambda: read.append(1))
    assert len(read) == len(SOURCE_SETS["default"])  # the progress of a first, slow reading
    kinds = {kind: [s for s in sources if s.kind == kind] for kind in KINDS}
    assert len(kinds["speech"]) > 1500
    assert len({s.group for s in kinds["speech"]}) >= 30
    assert len({s.group for s in kinds["music"]}) >= 15
    assert len({s.group for s in kinds["noise"]}) >= 40
    assert all(source.path.exists() for source in sources)
    if shutil.which("fluidsynth"):
        assert any(source.name.startswith("openmsx/") for source in kinds["music"])


def test_source_sets_hold_out_whole_families_of_every_kind():
    """The cross-source test's families are in no other set a model trains on, and cover every kind."""
    from proxyseg.cli.making import SOURCE_SET_NAMES

    assert SOURCE_SET_NAMES == tuple(SOURCE_SETS)
    assert set(SOURCE_SETS["held-out"]) == set(HELD_OUT)
    assert not set(HELD_OUT) & (set(SOURCE_SETS["real"]) | set(SOURCE_SETS["default"]))
    assert set(SOURCE_SETS["real"]) | set(HELD_OUT) == set(FAMILIES)
    for name in ("real", "held-out", "default"):
        assert {FAMILIES[family].kind for family in SOURCE_SETS[name]} == set(KINDS)
    with pytest.raises(CorpusError, match="no source set 'nope'"):
        set_sources("nope", Path("."))
