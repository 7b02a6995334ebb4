"""Property-based (issue 13, case 8): random list files, of random bytes or of random lines mixing audio
files, missing paths, folders, other lists (cycles included), comments and garbage, never make
``inputs.collect`` raise: every line that names something is one job per audio file it designates or one
message naming the list and the line, in bounded time."""

import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxyseg.inputs import collect

BOM = b"\xef\xbb\xbf"
#: The longest line read as a path (Linux's PATH_MAX).
LONGEST = 4096
#: Seconds one example may take.
BOUND = 10.0


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _names_something(line: bytes, first: bool) -> bool:
    """Whether a line of a list is an entry (not blank, not a comment): it gives a job or an error."""
    if len(line) > LONGEST:
        return True
    text = os.fsdecode(line.removeprefix(BOM) if first else line).strip()
    return bool(text) and not text.startswith("#")


@fuzz(150)
@given(st.binary(max_size=3000).filter(lambda data: b"/" not in data), st.booleans())
def test_a_list_of_random_bytes_is_one_error_per_entry(data, bom):
    """Without "/", a line can only name the list's own folder, its parent or the list itself, none of
    which holds audio: every entry is one error."""
    with tempfile.TemporaryDirectory() as root:
        listing = Path(root) / "a" / "b" / "list.txt"
        listing.parent.mkdir(parents=True)
        listing.write_bytes((BOM if bom else b"") + data)
        start = time.monotonic()
        found = collect([listing])
        assert time.monotonic() - start < BOUND
    lines = ((BOM if bom else b"") + data).split(b"\n")
    entries = sum(_names_something(line, number == 0) for number, line in enumerate(lines))
    assert found.jobs == [] and len(found.errors) == entries
    assert all(error.startswith(f"{listing}:") for error in found.errors)


AUDIO = ("a0.wav", "a1.flac", "a2.mp3")
ENTRIES = st.one_of(
    st.tuples(st.just("audio"), st.integers(0, len(AUDIO) - 1), st.booleans()),
    st.tuples(st.just("missing"), st.binary(max_size=40)),
    st.tuples(st.just("folder"), st.sampled_from(["full", "empty"])),
    st.tuples(st.just("list"), st.integers(0, 2)),
    st.tuples(st.just("comment"), st.text(max_size=12)),
    st.tuples(st.just("blank"), st.sampled_from(["", "  ", "\t", "\r"])),
    st.tuples(st.just("long"), st.integers(LONGEST + 1, 3 * LONGEST)),
)


def _line(entry: tuple, root: Path) -> bytes:
    kind, value = entry[:2]
    if kind == "audio":
        return os.fsencode(root / "audio" / AUDIO[value]) if entry[2] else f"../audio/{AUDIO[value]}".encode()
    if kind == "missing":  # "~" is nowhere: a path starting with it does not exist, whatever follows
        return b"~" + value.replace(b"\n", b"")
    if kind == "folder":
        return f"../folders/{value}".encode()
    if kind == "list":
        return f"list{value}.txt".encode()
    if kind == "comment":
        return ("#" + value.replace("\n", "")).encode("utf-8", "surrogatepass")
    if kind == "blank":
        return value.encode()
    return b"~" * value


def _expected(lists: list[list[tuple]], index: int, chain: tuple[int, ...]) -> int:
    """Jobs and errors the list ``index`` gives, expanded from the lists of ``chain``."""
    count = 0
    for entry in lists[index]:
        kind, value = entry[:2]
        if kind == "list":
            count += 1 if value in chain + (index,) else _expected(lists, value, chain + (index,))
        elif kind == "folder":
            count += 2 if value == "full" else 1
        elif kind not in ("comment", "blank"):
            count += 1
    return count


@fuzz(100)
@given(st.lists(st.lists(ENTRIES, max_size=8), min_size=3, max_size=3), st.booleans(), st.booleans())
def test_lists_of_random_entries_give_a_job_or_an_error_each(lists, crlf, bom):
    """Audio files (by relative or absolute paths, maybe more than once), missing paths of random bytes,
    folders with and without audio, lists listing each other or themselves, comments, blank lines, lines
    longer than any path; Unix or Windows line ends, with or without a byte-order mark."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name in AUDIO:
            (root / "audio").mkdir(exist_ok=True)
            (root / "audio" / name).write_bytes(b"RIFF")
        (root / "folders" / "full").mkdir(parents=True)
        (root / "folders" / "empty").mkdir()
        for name in ("x.wav", "y.flac"):
            (root / "folders" / "full" / name).write_bytes(b"RIFF")
        (root / "lists").mkdir()
        for index, entries in enumerate(lists):
            content = (b"\r\n" if crlf else b"\n").join(_line(entry, root) for entry in entries)
            (root / "lists" / f"list{index}.txt").write_bytes((BOM if bom else b"") + content)
        start = time.monotonic()
        found = collect([root / "lists" / "list0.txt"])
        assert time.monotonic() - start < BOUND
        assert len(found.jobs) + len(found.errors) == _expected(lists, 0, ())
        audio = {*(root / "audio" / name for name in AUDIO), *(root / "folders" / "full").iterdir()}
        assert all(job.path.resolve() in audio for job in found.jobs)
        assert len({job.uri for job in found.jobs}) == len(found.jobs)
        assert all(error.startswith(str(root / "lists" / "list")) for error in found.errors)
