import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from proxyseg.batch import parse_shard, run as run_batch, shard
from proxyseg.inputs import Job, collect


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


def test_explain_files_explains_a_folder_or_a_file_as_the_command_does(inputs, tmp_path):
    from proxyseg import explain_files

    explained = explain_files([inputs], tmp_path / "why", progress=False, random_draws=0)
    assert not explained.single and not explained.report.failures
    assert sorted(explained.summary["files"]) == sorted(job.uri for job in explained.report.jobs)
    assert explained.summary_report == tmp_path / "why" / "report.html" and explained.summary_report.exists()
    first = explained.report.jobs[0]
    one = explain_files([first.path], tmp_path / "one", progress=False, random_draws=0)
    assert one.single and one.summary is None and list(one.report.results) == [first.path.stem]
    assert json.loads((tmp_path / "one" / "explanation.json").read_text())["status"] == "complete"


def test_output_names_never_leave_the_output_folder(tmp_path):
    from proxyseg.explain.writer import ExplanationWriter
    from proxyseg.segmentation import SegmentWriter

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
    segment, explain = SegmentWriter("proxy", out, "rttm"), ExplanationWriter("proxy", out)
    for job in found.jobs:
        assert segment.output(job).resolve().parent.is_relative_to(out)
        assert explain.folder(job).resolve().is_relative_to(out) and explain.folder(job).resolve() != out


class _DeadlyWriter:
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
    report = run_batch(_DeadlyWriter(), jobs, workers=2, progress=False)
    assert report.results == {name: f"{name}.wav" for name in ("a", "b", "c", "d", "e")}
    assert report.failures == ["deadly.wav: the process working on it died (out of memory, or killed by a signal)"]


# Rule: list files never crash the run; each bad line is one message naming the list and the line,
# and the other lines are processed (issue 13, case 5).

@pytest.fixture
def audio(tmp_path) -> Path:
    """A short audio file (never read by ``collect``)."""
    path = tmp_path / "take.wav"
    path.write_bytes(b"RIFF")
    return path


def test_a_list_that_lists_itself_is_one_error(tmp_path, audio):
    """Case 5: it used to recurse until RecursionError."""
    listing = tmp_path / "self.txt"
    listing.write_text("take.wav\nself.txt\n")
    found = collect([listing])
    assert [job.path for job in found.jobs] == [audio]
    assert found.errors == [f"{listing}:2: {listing}: a list that includes itself; skipped"]


def test_two_lists_that_list_each_other_are_one_error(tmp_path, audio):
    """Case 5: a cycle through two lists, one of them named by another path (``./``)."""
    (tmp_path / "sub").mkdir()
    first, second = tmp_path / "first.lst", tmp_path / "sub" / "second.txt"
    first.write_text("sub/second.txt\n")
    second.write_text("../take.wav\n./../first.lst\n")
    found = collect([first])
    assert [job.path.resolve() for job in found.jobs] == [audio]
    assert found.errors == [f"{second}:2: {tmp_path / 'sub' / './../first.lst'}: a list that includes itself; skipped"]


def test_a_list_that_is_not_utf8_names_files_as_the_file_system_does(tmp_path, audio):
    """Case 5: a Latin-1 list (once a UnicodeDecodeError traceback): its lines are file names in the file
    system's terms, an undecodable one that exists is processed, one that does not is one error."""
    named, missing = (tmp_path / os.fsdecode(name) for name in (b"caf\xe9.wav", b"na\xefve.wav"))
    named.write_bytes(b"RIFF")
    listing = tmp_path / "latin1.txt"
    listing.write_bytes(b"caf\xe9.wav\nna\xefve.wav\ntake.wav\n")
    found = collect([listing])
    assert [job.path for job in found.jobs] == [named, audio]
    assert found.errors == [f"{listing}:2: {missing}: no such file or folder (the line is not UTF-8 text)"]


def test_bad_lines_are_one_error_each_and_the_others_are_processed(tmp_path, audio):
    """Case 5: a FIFO (reading it would block), a NUL byte, a name too long for the file system, a line
    longer than any path, a path holding a newline (two lines, neither of which exists), a folder
    without audio, a Windows list (CRLF, BOM)."""
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "empty").mkdir()
    (tmp_path / "two\nlines.wav").write_bytes(b"RIFF")
    listing = tmp_path / "bad.txt"
    lines = [b"\xef\xbb\xbftake.wav", b"pipe.wav", b"nul\0.wav", b"n" * 300 + b".wav", b"x" * 5000, b"two",
             b"lines.wav", b"empty", b"# a comment", b"", b"take.wav"]
    listing.write_bytes(b"\r\n".join(lines) + b"\r\n")
    found = collect([listing])
    assert [job.path for job in found.jobs] == [audio]
    reasons = {2: "not a regular file", 3: "holds a NUL byte", 4: "File name too long", 5: "longer than any path",
               6: "no such file or folder", 7: "no such file or folder", 8: "no audio file in this folder",
               11: "like those of"}
    assert len(found.errors) == len(reasons)
    for error, (number, reason) in zip(found.errors, reasons.items()):
        assert error.startswith(f"{listing}:{number}: ") and reason in error, error


def test_a_huge_list_is_read_in_bounded_memory_and_time(tmp_path):
    """Case 5: a 64 MB list without a newline, and one of 200,000 lines."""
    import time
    import tracemalloc

    one_line, many_lines = tmp_path / "one.txt", tmp_path / "many.txt"
    one_line.write_bytes(b"x" * 64 * 2**20)
    many_lines.write_bytes(b"missing.wav\n" * 200_000)
    tracemalloc.start()
    start = time.monotonic()
    found = collect([one_line])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert found.errors == [f"{one_line}:1: line longer than any path (4096 bytes); skipped"] and peak < 2**20
    found = collect([many_lines])
    assert len(found.errors) == 200_000 and time.monotonic() - start < 30


def test_segment_reports_a_bad_list_line_and_processes_the_others(tiny_corpus, tmp_path):
    """Case 5 from the command line: no traceback, one line per bad line, exit status 1."""
    listing = tmp_path / "self.txt"
    audio = os.fsencode(tiny_corpus.audio_path(tiny_corpus.uris("test")[0]))
    listing.write_bytes(audio + b"\nself.txt\n\xff.wav\n")
    result = run("segment", str(listing), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"proxyseg: error: {listing}:2: {listing}: a list that includes itself; skipped",
        f"proxyseg: error: {listing}:3: {tmp_path}/\\xff.wav: no such file or folder (the line is not UTF-8 text)"]
    assert len(list((tmp_path / "out").glob("*.rttm"))) == 1


# Rule: a task whose setup fails (a missing or malformed model) is one error, raised once by the
# run, never a worker "dying" file after file (issue 13, case 6).

class _UnloadableWriter(_DeadlyWriter):
    def setup(self) -> None:
        from proxyseg.errors import ModelError

        raise ModelError("nowhere: no such model")


def test_a_setup_that_fails_in_the_workers_is_raised_once(capfd):
    """Case 6: it broke the pool (a traceback per worker) and every file "died (out of memory)"."""
    from proxyseg.errors import ModelError

    jobs = [Job(Path(f"{name}.wav"), name) for name in ("a", "b", "c", "d")]
    with pytest.raises(ModelError, match="nowhere: no such model"):
        run_batch(_UnloadableWriter(), jobs, workers=2, progress=False)
    assert "Traceback" not in capfd.readouterr().err


def test_segment_with_a_missing_model_says_so_once(inputs, tmp_path):
    """Case 6 from the command line."""
    result = run("segment", str(inputs), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "nowhere"),
                 "--jobs", "2", "-q")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "out of memory" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "nowhere" in result.stderr


class _ThreadsWriter(_DeadlyWriter):
    """Gives the number of torch threads of the process that runs each job."""

    def __call__(self, job: Job) -> int:
        import torch

        return torch.get_num_threads()


@pytest.mark.parametrize("workers, threads", [(2, 1), (2, 2), (1, 2), (1, 1)])
def test_every_process_runs_torch_with_the_threads_asked(workers, threads):
    import torch

    before = torch.get_num_threads()
    jobs = [Job(Path(f"{name}.wav"), name) for name in ("a", "b", "c")]
    try:
        report = run_batch(_ThreadsWriter(), jobs, workers=workers, progress=False, threads=threads)
    finally:
        torch.set_num_threads(before)
    assert report.results == {"a": threads, "b": threads, "c": threads}


def test_the_command_line_runs_one_torch_thread_per_process_unless_told(tmp_path, monkeypatch):
    """Issue 14's policy: more threads than one spin while they wait for a busy core."""
    import torch
    from click.testing import CliRunner

    from proxyseg.cli import cli
    from proxyseg.segmentation import SegmentWriter

    seen = []
    monkeypatch.setattr(SegmentWriter, "setup", lambda self: None)
    monkeypatch.setattr(SegmentWriter, "__call__", lambda self, job: seen.append(torch.get_num_threads()))
    (tmp_path / "a.wav").write_bytes(b"")
    before = torch.get_num_threads()
    try:
        for option, expected in (([], 1), (["--threads", "2"], 2)):
            result = CliRunner().invoke(cli, ["segment", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"),
                                              "--overwrite", *option])
            assert result.exit_code == 0, result.output
            assert seen.pop() == expected
    finally:
        torch.set_num_threads(before)
