"""Every message is one line that says what went wrong, whatever the names in it; never a traceback.

Issue 13, "Never a traceback, never a wrong result with exit 0": names that are not UTF-8, names
holding a newline or a terminal escape, headerless `.raw` files, a FIFO given as audio, and the
console's account of `explain --threshold 1`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RATE = 16_000


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it (arguments may be bytes-escaped names)."""
    return subprocess.run([sys.executable, "-m", "proxyseg", *args], capture_output=True, text=True, timeout=timeout,
                          errors="surrogateescape")


def noise(path: Path, seconds: float = 3.0) -> Path:
    sf.write(os.fsencode(path), 0.3 * np.random.default_rng(0).standard_normal(int(seconds * RATE)), RATE)
    return path


def undecodable(folder: Path, name: bytes) -> Path:
    """A path in ``folder`` whose name is the bytes ``name`` (not valid UTF-8), as Python names it."""
    return folder / os.fsdecode(name)


def test_a_name_that_is_not_utf8_is_described_and_segmented(tmp_path):
    """`info` on a name that is not valid UTF-8 ended in a traceback; so did reading it with the decoders."""
    for name in (b"caf\xe9.wav", b"caf\xe9.mp3"):
        noise(undecodable(tmp_path, name))
    result = run("info", str(undecodable(tmp_path, b"caf\xe9.wav")), str(undecodable(tmp_path, b"caf\xe9.mp3")))
    assert result.returncode == 0 and result.stderr == ""
    rows = result.stdout.splitlines()[1:]
    assert [row.split("\t")[0] for row in rows] == [f"{tmp_path}/caf\\xe9.wav", f"{tmp_path}/caf\\xe9.mp3"]
    assert all(row.split("\t")[1] == "3.000" for row in rows)
    out = tmp_path / "out"
    result = run("segment", str(undecodable(tmp_path, b"caf\xe9.wav")), "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = [path.name for path in out.iterdir()]
    assert written == ["caf\\xe9.rttm"]  # a name that is text, as the uri inside it
    assert all(line.split()[1] == "caf\\xe9" for line in (out / written[0]).read_text().splitlines())


@pytest.mark.parametrize("name, shown", [
    ("evil\nproxyseg: error: forged.wav", "evil\\nproxyseg: error: forged.wav"),
    ("esc\x1b[31mred.wav", "esc\\x1b[31mred.wav"),
    ("right\u202eto-left.wav", "right\\u202eto-left.wav"),
])
def test_a_name_cannot_split_or_forge_the_one_line_message(tmp_path, name, shown):
    (tmp_path / name).write_bytes(b"not audio at all")
    for command in (["info"], ["segment", "-o", str(tmp_path / "out")]):
        result = run(*command, str(tmp_path / name))
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"proxyseg: error: {tmp_path}/{shown}: "), lines


def test_log_lines_show_names_safely(tmp_path):
    audio = noise(tmp_path / "a.wav")
    result = run("-v", "segment", str(audio), "-o", str(tmp_path / "out\nput"))
    assert result.returncode == 0, result.stderr
    assert result.stderr and all(line.startswith("proxyseg: ") for line in result.stderr.splitlines())
    assert "out\\nput" in result.stderr


@pytest.mark.parametrize("suffix", [".raw", ".pcm"])
def test_headerless_samples_are_refused_in_one_line(tmp_path, suffix):
    """A `.raw` file ended in "unexpected TypeError: samplerate must be specified"."""
    path = tmp_path / f"take{suffix}"
    path.write_bytes(np.zeros(16000, dtype=np.int16).tobytes())
    result = run("segment", str(path), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"proxyseg: error: {path}: headerless samples: their rate and encoding "
                                          "are unknown; convert the file to WAV or FLAC"]


def test_a_fifo_given_as_audio_is_refused_without_waiting_for_it(tmp_path):
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)
    result = run("info", str(fifo), timeout=60)
    assert result.returncode == 1 and result.stderr.splitlines() == [f"proxyseg: error: {fifo}: not a regular file"]


def test_explain_says_what_explanation_json_says_at_any_threshold(tmp_path):
    """`explain --threshold 1` printed "not detected" for classes explanation.json marks detected."""
    audio, out = noise(tmp_path / "a.wav"), tmp_path / "out"
    result = run("explain", str(audio), "-o", str(out), "--threshold", "1", "--random-draws", "0")
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "explanation.json").read_text())
    said = {line.split(":")[0]: line for line in result.stdout.splitlines() if ":" in line}
    assert any(item["detected"] for item in document["classes"].values())
    for name, item in document["classes"].items():
        if item["detected"]:
            assert f"{item['detected_seconds']:.1f} s" in said[name] and "not detected" not in said[name]
        else:
            assert said[name] == f"{name}: not detected"
