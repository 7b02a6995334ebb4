import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from proxyseg.batch import Job, collect, parse_shard, run as run_batch, shard


def run(*args: str) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "proxyseg", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def inputs(tiny_corpus, tmp_path) -> Path:
    """A folder of five audio files (two nested) and one that is not audio."""
    folder = tmp_path / "in"
    (folder / "nested" / "deeper").mkdir(parents=True)
    uris = tiny_corpus.uris("train")[:3] + tiny_corpus.uris("dev")[:1] + tiny_corpus.uris("test")[:1]
    places = ["", "", "nested/", "nested/deeper/", "nested/"]
    for uri, place in zip(uris, places):
        shutil.copy(tiny_corpus.audio_path(uri), folder / place)
    (folder / "notes.md").write_text("not audio, not looked at")
    return folder


def outputs(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): path.read_text() for path in sorted(folder.rglob("*.rttm"))}


def test_inputs_are_files_folders_and_lists(inputs, tmp_path):
    listing = tmp_path / "lists" / "some.txt"
    listing.parent.mkdir()
    nested = sorted((inputs / "nested").glob("*.wav"))
    listing.write_text(f"# two files\n\n../in/{nested[0].relative_to(inputs)}\n{nested[1]}\n")
    found = collect([inputs, listing, tmp_path / "missing.wav", tmp_path / "lists"])
    uris = [job.uri for job in found.jobs]
    assert len(uris) == 7 and uris[:5] == sorted(uris[:5])  # the folder, recursively, by relative names
    assert any(uri.startswith("nested/deeper/") for uri in uris)
    assert uris[5:] == [nested[0].stem, nested[1].stem]  # listed files, by their stems
    assert found.jobs[5].path.resolve() == nested[0].resolve()  # a relative line is relative to the list
    assert len(found.errors) == 2
    assert "missing.wav: no such file" in found.errors[0] and "no audio file in this folder" in found.errors[1]


def test_two_inputs_with_the_same_name_are_refused_not_overwritten(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.wav").write_bytes(b"")
    found = collect([tmp_path / "a" / "x.wav", tmp_path / "b" / "x.wav"])
    assert [job.uri for job in found.jobs] == ["x"]
    assert len(found.errors) == 1 and "like those of" in found.errors[0]


def test_shards_are_disjoint_and_cover_every_file():
    jobs = [Job(Path(f"{n}.wav"), f"{n:02d}") for n in range(11)]
    shards = [shard(jobs, index, 3) for index in (1, 2, 3)]
    assert sorted(job.uri for part in shards for job in part) == sorted(job.uri for job in jobs)
    assert sum(map(len, shards)) == len(jobs)
    for text in ("0/2", "3/2", "a/b", "1"):
        with pytest.raises(ValueError):
            parse_shard(text)


def test_segment_a_folder_in_parallel_shards_resumes_and_reports_failures(inputs, tmp_path):
    (inputs / "broken.wav").write_text("not audio")
    whole = tmp_path / "whole"
    result = run("segment", str(inputs), "-o", str(whole), "--jobs", "2")
    assert result.returncode == 1  # the broken file, reported after the others were done
    assert result.stderr.count("proxyseg: error:") == 1 and "broken.wav" in result.stderr
    expected = outputs(whole)
    assert len(expected) == 5 and any(name.startswith("nested/deeper/") for name in expected)

    # Two shards, one process each, into one folder: the same files, byte for byte.
    sharded = tmp_path / "sharded"
    for part in ("1/2", "2/2"):
        run("segment", str(inputs), "-o", str(sharded), "--shard", part)
    assert outputs(sharded) == expected

    # Resuming: the files done are skipped, a missing one is redone.
    first = sorted(sharded.rglob("*.rttm"))[0]
    first.unlink()
    stamps = {path: path.stat().st_mtime_ns for path in sharded.rglob("*.rttm")}
    result = run("segment", str(inputs), "-o", str(sharded))
    assert "4 of 6 files skipped" in result.stderr and first.exists()
    assert all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())
    assert outputs(sharded) == expected
    result = run("segment", str(inputs), "-o", str(sharded), "--overwrite", "-q")
    assert "skipped" not in result.stderr and all(path.stat().st_mtime_ns != stamp for path, stamp in stamps.items())


def test_explain_shards_then_summarises_the_whole_set(inputs, tmp_path):
    out = tmp_path / "why"
    for part in ("1/2", "2/2"):
        result = run("explain", str(inputs), "-o", str(out), "--shard", part, "--random-draws", "0")
        assert result.returncode == 0, result.stderr
        assert not (out / "summary.json").exists()
    result = run("explain", str(inputs), "-o", str(out), "--random-draws", "0")
    assert result.returncode == 0 and "5 of 5 files skipped" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["files"]) == 5 and (out / "report.html").exists()
    assert all((out / uri / "explanation.json").exists() for uri in summary["files"])


def test_output_names_never_leave_the_output_folder(tmp_path):
    from proxyseg.tasks import ExplainTask, SegmentTask

    folder = tmp_path / "in" / "a b"
    folder.mkdir(parents=True)
    for name in ("é è.wav", "..wav", "...wav", ".hidden.wav"):
        (folder / name).write_bytes(b"")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "...wav").write_bytes(b"")
    listing = tmp_path / "lists" / "up.txt"
    listing.parent.mkdir()
    listing.write_text("../elsewhere/...wav\n")
    found = collect([tmp_path / "in", listing])
    assert len(found.jobs) == 5 and not found.errors
    out = (tmp_path / "out").resolve()
    segment, explain = SegmentTask("proxy", out, "rttm"), ExplainTask("proxy", out)
    for job in found.jobs:
        assert segment.output(job).resolve().parent.is_relative_to(out)
        assert explain.folder(job).resolve().is_relative_to(out) and explain.folder(job).resolve() != out


class _DeadlyTask:
    """Names its jobs' files, except one, which kills its process outright (like the OOM killer)."""

    def setup(self) -> None:
        pass

    def done(self, job: Job) -> bool:
        return False

    def __call__(self, job: Job) -> str:
        if job.uri == "deadly":
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        return job.path.name


def test_a_worker_that_dies_fails_only_its_own_file():
    jobs = [Job(Path(f"{name}.wav"), name) for name in ("a", "b", "deadly", "c", "d", "e")]
    report = run_batch(_DeadlyTask(), jobs, workers=2, progress=False)
    assert report.results == {name: f"{name}.wav" for name in ("a", "b", "c", "d", "e")}
    assert report.failures == ["deadly.wav: the process working on it died (out of memory, or killed by a signal)"]
