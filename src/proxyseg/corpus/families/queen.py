"""English acted dialogue of *Flight of the Amazon Queen* (``flight-of-the-amazon-queen``).

The CD version, repacked by ScummVM's tools, keeps every resource in ``queen.1c``: a table of
entries (name, bundle, offset, size) and the files themselves. Speech clips (``*.SB``) are MP3 at
11025 Hz mono; the speaker of each is found from the game's own data: dialogue files (``*.DOG``)
name the person Joe talks to, and cutaway scripts (``*.CUT``) the person object saying each line.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from proxyseg.corpus.families.conversion import converted
from proxyseg.corpus.sources import Source

_QUEEN_DATA = Path("usr/share/scummvm/flight-of-the-amazon-queen/queen.1c")
# Each resource file (DOG, CUT, JAS) starts with a 20-byte header the engine skips.
_QUEEN_FILE_HEADER = 20

# Dialogue files (*.DOG): the voice of the person Joe talks to. The DOG name minus its digits
# names the character; where it does not plainly, the person's own lines were read.
_QUEEN_DOG_SPEAKERS = {
    "AND": "anderson", "APE": "gorilla", "BOB": "trader-bob", "BUD": "bud", "CHEF": "chef",
    "CHIEF": "pygmy-chief", "DEATH": "ferryman", "DOG": "guard-dog", "FAYE": "faye",
    "FRANK": "frank", "HENRY": "henry", "IAN": "ian", "JIM": "jimmy", "JOHN": "john",
    "KLUNK": "klunk", "LARIS": "mike-laris", "LOLA": "lola", "LOU": "skip", "MAN": "prisoner",
    "NAOMI": "naomi", "ORACLE": "guardian", "PRIN": "azura", "SEC": "secretary",
    "SHOWERAM": "showering-amazon", "SPARKY": "sparky", "TALLPYG": "tall-pygmy",
    "TAM": "mary-lou", "WEDGE": "wedgewood", "WITCH": "witch-doctor", "ZOMBIE": "zombie-woman",
}

# Cutaway speakers are person objects; their names (QUEEN2.JAS) map to the same characters.
# Objects whose name is a leftover of object reuse ("note", "smoke", ...) and whose speaker
# could not be established are left out.
_QUEEN_OBJECT_SPEAKERS = {
    "Amazon": "amazon", "Anderson": "anderson", "Bud": "bud", "Eddy": "eddy", "Faye": "faye",
    "Frank": "frank", "Henry": "henry", "Hugh": "hugh", "Ian": "ian", "Jimmy": "jimmy",
    "Joe King": "joe", "John": "john", "Klunk": "klunk", "Lola": "lola", "Mary-Lou": "mary-lou",
    "Naomi": "naomi", "Princess Azura": "azura", "Rico": "rico", "Rita": "rita", "Skip": "skip",
    "Sparky": "sparky", "Trader Bob": "trader-bob", "Wedgewood": "wedgewood",
    "azura obj": "azura", "bedraggled prisoner": "prisoner", "bellboy": "mike-laris",
    "chef": "chef", "chief": "pygmy-chief", "dino rat": "dino-rat", "ferryman": "ferryman",
    "gorilla": "gorilla", "gorilla in costume": "gorilla", "guard": "guard",
    "guard dog": "guard-dog", "guardian": "guardian", "secretary": "secretary",
    "showering Amazon": "showering-amazon", "tall pygmy": "tall-pygmy",
    "tired prisoner": "prisoner", "vicious dinosaur": "gorilla", "witch doctor": "witch-doctor",
    "zombie woman": "zombie-woman",
    # Reused objects whose lines identify the speaker:
    "path": "wedgewood",  # C5C: "SQWAWK! Princess Azura is in trouble!" (the parrot)
    "door": "azura",  # C103G: "We must hurry back to my people! ... I shall see you soon!"
}

_QUEEN_DIALOGUE = re.compile(r"(\d\d)([0-9A-F]{4}|SSSS|XXXX)([JP])[0-9A-F]")
_QUEEN_JOE_DESCRIPTION = re.compile(r"JOE\d{5}")


def _queen_index(data: bytes) -> dict[str, tuple[int, int]]:
    """The resource table of a rebuilt ``queen.1c``: name -> (offset, size) in bytes.

    Layout (big-endian): ``QTBL``, 6-byte version (``CEM10\\0``), 2 bytes skipped, 1-byte
    compression (1 = MP3), uint16 entry count, then 21-byte entries: 12-byte name, uint8
    bundle, uint32 offset, uint32 size.
    """
    if data[:4] != b"QTBL":
        raise ValueError("queen.1c: no QTBL resource table")
    count = struct.unpack_from(">H", data, 13)[0]
    index = {}
    for i in range(count):
        entry = 15 + 21 * i
        name = data[entry:entry + 12].rstrip(b"\0").decode("ascii")
        _bundle, offset, size = struct.unpack_from(">BII", data, entry + 12)
        index[name] = (offset, size)
    return index


def _queen_file(data: bytes, index: dict[str, tuple[int, int]], name: str) -> bytes:
    """A resource's bytes, less the header the engine skips."""
    offset, size = index[name]
    return data[offset + _QUEEN_FILE_HEADER:offset + size]


def _queen_object_names(data: bytes, index: dict[str, tuple[int, int]]) -> dict[int, str]:
    """Object number -> name, for objects that are persons (image -3 or -4).

    QUEEN.JAS: uint16 rooms, names, objects, descriptions, then 16-byte objects (int16 name,
    x, y, description, entry, room, state, image). QUEEN2.JAS: text lines, descriptions first,
    then object names.
    """
    jas = _queen_file(data, index, "QUEEN.JAS")
    _rooms, names, objects, descriptions = struct.unpack_from(">4H", jas, 0)
    offset, size = index["QUEEN2.JAS"]
    lines = data[offset:offset + size].decode("latin-1").replace("\r", "").split("\n")
    object_names = lines[descriptions:descriptions + names]
    persons = {}
    for number in range(1, objects + 1):
        name, *_rest, image = struct.unpack_from(">hHHHhHHh", jas, 8 + 16 * (number - 1))
        if image in (-3, -4) and name:
            persons[number] = object_names[abs(name) - 1]
    return persons


def _queen_string(blob: bytes, offset: int) -> tuple[str, int]:
    """A length-prefixed string and the offset after it (aligned to 2 bytes)."""
    length = blob[offset]
    text = blob[offset + 1:offset + 1 + length].decode("latin-1")
    end = offset + 1 + length
    return text, (end + 1) & ~1 if length else end


def _queen_cutaway_speakers(cut: bytes, persons: dict[int, str]) -> dict[int, int | None]:
    """For each object record of a cutaway (1-based index): the speaking object number
    (0 = Joe), or None for a record that is not a person's line (text-only, animation).

    Mirrors ScummVM's Cutaway::load/run: 17 int16 fields, a person list, and, for animated
    objects, 9-int16 frames up to a -2 header.
    """
    count = abs(struct.unpack_from(">h", cut, 2)[0])
    position = 12
    speakers: dict[int, int | None] = {}
    for record in range(1, count + 1):
        fields = struct.unpack_from(">17h", cut, position)
        position += 34
        number, anim_list, execute, from_object = fields[0], fields[4], fields[5], fields[12]
        people = struct.unpack_from(">h", cut, position)[0]
        position += 2 + 2 * people
        if number == -1:  # room fade: Joe
            number = 0
        is_person = (number == 0 and not anim_list) or (
            number > 0 and not anim_list and number in persons)
        animated = not is_person and from_object <= 0 and number >= 0 and bool(execute)
        if animated:
            while struct.unpack_from(">h", cut, position)[0] != -2:
                position += 2 + 18
            position += 2
        speakers[record] = number if is_person and from_object <= 0 else None
    return speakers


def _queen_speakers(data: bytes, index: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Speech clip name (without ``.SB``) -> speaker, for every clip whose speaker is known."""
    persons = _queen_object_names(data, index)
    dog_speaker = {}
    for name in index:
        if name.endswith(".DOG"):
            talk_key = struct.unpack_from(">h", _queen_file(data, index, name), 4)[0]
            code = re.sub(r"\d+$", "", name[:-4])
            if code in _QUEEN_DOG_SPEAKERS:
                dog_speaker[talk_key] = _QUEEN_DOG_SPEAKERS[code]
    cut_speaker = {}
    for name in index:
        if name.endswith(".CUT"):
            prefix = name[:-4].ljust(5, "_")
            cut = _queen_file(data, index, name)
            for record, number in _queen_cutaway_speakers(cut, persons).items():
                if number == 0:
                    speaker = "joe"
                elif number is not None:
                    speaker = _QUEEN_OBJECT_SPEAKERS.get(persons[number])
                else:
                    speaker = None
                if speaker:
                    # ScummVM's findCdCut: 5-character name, then the record number in 2 digits.
                    cut_speaker[prefix + f"{record:02d}"[:2]] = speaker
    speakers = {}
    for name in index:
        if not name.endswith(".SB"):
            continue
        clip = name[:-3]
        if match := _QUEEN_DIALOGUE.fullmatch(clip):
            speaker = "joe" if match[3] == "J" else dog_speaker.get(int(match[1]))
        elif _QUEEN_JOE_DESCRIPTION.fullmatch(clip):
            speaker = "joe"  # Logic::makeJoeSpeak: JOE%04i + segment
        else:
            speaker = cut_speaker.get(clip[:7])  # sound effects (*SSSSSS) and leftovers: None
        if speaker:
            speakers[clip] = speaker
    return speakers


def _queen_decode(clip: bytes) -> tuple[np.ndarray, int]:
    """Decode one MP3 clip (MPEG-2.5 layer III, 11025 Hz mono) at its own rate."""
    import miniaudio  # proxyseg's own MP3 decoder (dr_mp3)

    decoded = miniaudio.mp3_read_s16(clip)
    samples = np.frombuffer(decoded.samples, dtype=np.int16).reshape(-1, decoded.nchannels)
    return np.ascontiguousarray(samples[:, 0]), decoded.sample_rate


def queen_sources(root: Path, cache_dir: Path) -> list[Source]:
    """English acted dialogue of *Flight of the Amazon Queen* (``flight-of-the-amazon-queen``).

    ``queen.1c`` holds every resource; the speech clips (``*.SB``, MP3 at 11025 Hz mono) are
    extracted and converted to ``cache_dir/queen/<clip>.wav``. Groups are characters: Joe
    (the hero, also every ``J`` dialogue line and ``JOE*`` description), the person of each
    dialogue file, and the person object speaking each cutaway line. Sound effects, text-only
    cutaway lines and lines of reused objects without a known speaker are left out.
    """
    data = (Path(root) / _QUEEN_DATA).read_bytes()
    index = _queen_index(data)
    out_dir = Path(cache_dir) / "queen"
    sources = []
    for clip, speaker in sorted(_queen_speakers(data, index).items()):
        offset, size = index[clip + ".SB"]
        path = converted(out_dir / f"{clip}.wav",
                          lambda offset=offset, size=size: _queen_decode(data[offset:offset + size]))
        sources.append(Source("speech", f"queen:{speaker}", f"queen/{clip}", path))
    return sources
