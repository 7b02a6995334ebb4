"""Atomic writes (issue 13): a write removes only the temporary files of dead writes, temporary names fit
any legal name, and a failed write names its output, never a temporary file."""

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from proxyseg.atomic import atomic_output, is_temporary, write_text
from proxyseg.batch import run as run_batch
from proxyseg.inputs import Job
from proxyseg.segmentation import SegmentWriter

from bad_audio import speech_like


def _temporary(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


#: Writes argv[1] atomically, says so once its temporary file exists, then finishes when told to,
#: or (argv[2] == "die") kills itself mid-write, as the OOM killer would.
WRITER = """
import os, signal, sys
from proxyseg.atomic import atomic_output
with atomic_output(sys.argv[1]) as partial:
    partial.write_text("the other run")
    print("writing", flush=True)
    if sys.argv[2] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()
"""


def _writer(target: Path, then: str) -> subprocess.Popen:
    """A process in the middle of writing ``target`` (its temporary file exists when this returns)."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target), then], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    return process


# Rule: a write removes the temporary files of dead writes of its target, never those of live ones (case 2).

def test_two_runs_writing_the_same_file_keep_each_others_temporary_files(tmp_path):
    """Case 2: another process's write in progress survives this one; a killed write's leftover does not."""
    target = tmp_path / "x.rttm"
    killed = _writer(target, "die")
    killed.wait()
    assert killed.returncode == -signal.SIGKILL and len(_temporary(tmp_path)) == 1
    live = _writer(target, "finish")
    write_text(target, "this run")
    assert len(_temporary(tmp_path)) == 1  # the leftover went, the live write's file stayed
    live.communicate("go\n", timeout=60)
    assert live.returncode == 0 and target.read_text() == "the other run"
    assert _temporary(tmp_path) == []


def test_a_write_nested_in_a_write_of_the_same_file_keeps_its_temporary_file(tmp_path):
    """Case 2: nested writes of one target, in one process. Nor do writes of other files remove a killed
    write's leftover, even of names that start like its own; hidden files of the user's stay."""
    killed = _writer(tmp_path / "x.rttm", "die")
    killed.wait()
    (tmp_path / ".x.rttm.notes").write_text("the user's")
    leftovers = _temporary(tmp_path)
    for name in ("x.rttm.rttm", "x.rtt", "y.rttm"):
        write_text(tmp_path / name, "other")
    assert _temporary(tmp_path) == leftovers
    with atomic_output(tmp_path / "x.rttm") as outer:
        outer.write_text("outer")
        write_text(tmp_path / "x.rttm", "inner")
        assert outer.exists() and (tmp_path / "x.rttm").read_text() == "inner"
    assert (tmp_path / "x.rttm").read_text() == "outer" and _temporary(tmp_path) == [".x.rttm.notes"]


# Rule: temporary names fit whatever the length of the output's name (case 3).

def test_a_file_with_a_255_byte_name_is_written(tmp_path):
    """Case 3: the longest legal name (multi-byte characters included)."""
    target = tmp_path / ("é" * 125 + "x.wav")
    assert len(os.fsencode(target.name)) == 255
    with atomic_output(target) as partial:
        assert is_temporary(partial.name) and partial.suffix == ".wav" and len(os.fsencode(partial.name)) < 64
        sf.write(partial, np.zeros(1600, np.float32), 16_000)
    assert sf.info(target).frames == 1600 and _temporary(tmp_path) == []


def test_an_input_with_a_long_name_is_segmented(tmp_path):
    """Case 3: a 250-byte input name gives a 251-byte output name, which fits."""
    source = tmp_path / "in" / ("a" * 246 + ".wav")
    source.parent.mkdir()
    sf.write(source, speech_like(3.0), 16_000)
    out = tmp_path / "out"
    report = run_batch(SegmentWriter("proxy", out, "rttm"), [Job(source, source.stem)], progress=False)
    assert report.failures == [] and (out / (source.stem + ".rttm")).exists()


# Rule: a failed write names its output, never a temporary file; a full disk says "No space left" (case 4).

def test_an_error_about_the_temporary_file_names_the_output(tmp_path):
    """Case 4: the writer failing on its temporary file (e.g. opening it)."""
    target = tmp_path / "x.rttm"
    with pytest.raises(OSError) as raised:
        with atomic_output(target) as partial:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(partial))
    assert isinstance(raised.value, PermissionError) and raised.value.filename == str(target)
    assert _temporary(tmp_path) == []


def test_a_write_error_without_a_name_names_the_output(tmp_path):
    """Case 4: write() fails with ENOSPC, naming no file (as numpy and Python's files do); an error about
    another file (an input read during the write) still names that file."""
    target = tmp_path / "x.npy"
    with pytest.raises(OSError) as raised:
        with atomic_output(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert "No space left" in str(raised.value)
    with pytest.raises(FileNotFoundError) as raised:
        with atomic_output(target):
            (tmp_path / "missing.wav").read_bytes()
    assert raised.value.filename == str(tmp_path / "missing.wav")


def test_an_output_folder_that_cannot_be_made_is_named_with_the_reason(tmp_path):
    """Case 7: a folder that is a symbolic link loop (once "File exists"), or a file."""
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "file").write_text("not a folder")
    for folder, reason in [("loop", "Too many levels of symbolic links"), ("file", "Not a directory")]:
        with pytest.raises(OSError) as raised:
            write_text(tmp_path / folder / "x.rttm", "x")
        assert str(raised.value) == f"[Errno {raised.value.errno}] {reason}: '{tmp_path / folder / 'x.rttm'}'"


@pytest.fixture
def small_disk(tmp_path):
    """A file system of 256 kB of its own (a tmpfs: mounting one needs root), unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount") or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("needs root, to mount a small file system")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb", buffering=0) as filler, pytest.raises(OSError, match="No space left"):
        while True:
            filler.write(b"\0" * 4096)


def test_a_full_disk_is_said_to_be_full_naming_the_output(small_disk):
    """Case 4 on a real full file system: a text file, and audio written by libsndfile (which only says
    "System error")."""
    _fill(small_disk)
    for name, write in [("x.rttm", lambda partial: partial.write_text("x" * 100_000)),
                        ("x.wav", lambda partial: sf.write(partial, np.zeros(100_000, np.float32), 16_000))]:
        with pytest.raises(OSError) as raised:
            with atomic_output(small_disk / name) as partial:
                write(partial)
        assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(small_disk / name)
    assert _temporary(small_disk) == []


def test_segment_on_a_full_or_read_only_disk_names_the_outputs(small_disk, tmp_path):
    """Case 4 and 7, from the command line: one line per file, naming its output."""
    source = tmp_path / "take.wav"
    sf.write(source, speech_like(3.0), 16_000)
    command = [sys.executable, "-m", "proxyseg", "segment", str(source), "-o", str(small_disk / "out")]
    _fill(small_disk)
    full = subprocess.run(command, capture_output=True, text=True, timeout=300)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read_only = subprocess.run(command, capture_output=True, text=True, timeout=300)
    for result, reason in [(full, "No space left on device"), (read_only, "Read-only file system")]:
        assert result.returncode == 1
        assert result.stderr.strip() == f"proxyseg: error: {small_disk / 'out' / 'take.rttm'}: {reason}"
