"""A run killed at any moment leaves each output complete or absent, never half-written or mismatched;
the next run finishes the job and leaves no temporary file behind."""

import json
import signal
import subprocess
import sys
import time

import soundfile as sf
from proxyseg.corpus import Corpus
from proxyseg.errors import CorpusError, ModelError
from proxyseg.nmf import Dictionary

#: Moments of the kills, as shares of an uninterrupted run's duration (start-up included).
KILL_AT = (0.45, 0.6, 0.75, 0.9)


def _proxyseg(*args: str) -> list[str]:
    return [sys.executable, "-m", "proxyseg", *map(str, args)]


def _timed(command: list[str]) -> float:
    """Run ``command`` to its end; its duration in seconds."""
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    return time.monotonic() - start


def _killed(command: list[str], after: float) -> None:
    """Start ``command`` and SIGKILL it ``after`` seconds later, unless it ended before."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()


def _temporary_files(folder) -> list:
    return [path for path in folder.rglob(".*") if path.is_file()]


def _outputs(folder) -> dict:
    """``{name: content}`` of the files in ``folder`` but temporary ones; the samples of WAV files (the
    PEAK chunk of libsndfile's float WAVs holds the time of writing)."""
    if not folder.exists():
        return {}
    return {path.name: sf.read(path)[0].tobytes() if path.suffix == ".wav" else path.read_bytes()
            for path in folder.iterdir() if not path.name.startswith(".")}


def test_segment_outputs_are_the_complete_previous_ones_or_the_complete_new_ones(tiny_corpus, tmp_path):
    files = [tiny_corpus.audio_path(uri) for split in ("train", "test") for uri in tiny_corpus.uris(split)]
    reference, output = tmp_path / "reference", tmp_path / "output"
    duration = _timed(_proxyseg("segment", *files, "-o", reference, "-q"))
    expected = _outputs(reference)
    command = _proxyseg("segment", *files, "-o", output, "--overwrite", "-q")
    for share in KILL_AT:
        _killed(command, share * duration)
        assert all(content == expected[name] for name, content in _outputs(output).items())
    subprocess.run(command, check=True, timeout=600)
    assert _outputs(output) == expected
    assert not _temporary_files(output)  # a complete write removes what killed ones left


def test_an_explanation_folder_with_its_explanation_json_is_complete(tiny_corpus, tmp_path):
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    folder = tmp_path / "explained"
    command = _proxyseg("explain", audio, "-o", folder, "--random-draws", "1", "--overwrite", "-q")
    duration = _timed(command)
    expected = _outputs(folder)
    for share in KILL_AT:
        _killed(command, share * duration)
        written = _outputs(folder)
        marker = written.pop("explanation.json", None)
        assert all(content == expected[name] for name, content in written.items())
        if marker is not None and json.loads(marker).get("status", "complete") == "complete":
            assert {**written, "explanation.json": marker} == expected
    subprocess.run([part for part in command if part != "--overwrite"], check=True, timeout=600)
    assert _outputs(folder) == expected


def test_a_killed_corpus_build_is_refused_until_built_again(source_folder, tmp_path):
    command = _proxyseg("corpus", "build", tmp_path / "corpus", "--hours", "0.03", "--seed", "1", "--sources",
                        source_folder, "--group-depth", "1", "--cache-dir", tmp_path / "cache", "--jobs", "1",
                        "--overwrite", "-q")
    duration = _timed(command)
    expected = json.loads((tmp_path / "corpus" / "stats.json").read_text())
    for share in KILL_AT:
        _killed(command, share * duration)
        try:
            corpus = Corpus(tmp_path / "corpus")
        except CorpusError as error:
            assert "interrupted build" in str(error) or "not a corpus" in str(error)
            continue
        assert json.loads((corpus.root / "stats.json").read_text()) == expected
        assert all(corpus.audio_path(uri).exists() for split in ("train", "dev", "test") for uri in corpus.uris(split))
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert json.loads((tmp_path / "corpus" / "stats.json").read_text()) == expected
    assert not _temporary_files(tmp_path / "corpus")


def test_a_dictionary_is_loadable_and_whole_or_refused(tiny_corpus, tmp_path):
    command = _proxyseg("nmf", "learn", tiny_corpus.root, "-o", tmp_path / "dictionary", "--rank", "8",
                        "--max-iter", "300")
    duration = _timed(command)
    expected = Dictionary.load(tmp_path / "dictionary").atoms
    for share in KILL_AT:
        _killed(command, share * duration)
        try:
            atoms = Dictionary.load(tmp_path / "dictionary").atoms
        except ModelError:
            continue
        assert (atoms == expected).all()
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert (Dictionary.load(tmp_path / "dictionary").atoms == expected).all()
    assert not _temporary_files(tmp_path / "dictionary")
