"""Stopping a run (issue 13, cases 1 and 7): SIGINT to the process group (Ctrl-C) or SIGTERM to the
main process stops every worker within seconds, leaves every output present complete and no temporary
file, and exits with 128 + the signal's number after one line, ``proxyseg: interrupted``."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from bad_audio import speech_like

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: Seconds a stopped run has to exit, and its workers to be gone.
PROMPTLY = 15.0


def _proxyseg(*args) -> list[str]:
    return [sys.executable, "-m", "proxyseg", *map(str, args)]


def _hidden(folder: Path) -> list[Path]:
    return [path for path in folder.rglob(".*") if path.is_file()] if folder.exists() else []


def _group(leader: int) -> list[int]:
    """The live (not zombie) processes of the process group of ``leader``."""
    members = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = status.read_text()
        except OSError:
            continue
        state, _, group = text[text.rindex(")") + 2:].split()[:3]
        if int(group) == leader and state != "Z":
            members.append(int(status.parent.name))
    return members


def _catches_stop_signals(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM: proxyseg's main sets it before it imports
    torch or loads a model, which then take over a second."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def _moment(kind: str, pid: int, folder: Path):
    """When to signal: ``"loading"`` (0.2 s after the run's handlers are set: modules and model
    loading), ``"writing"`` (a temporary file exists), ``"written"`` (an output is complete)."""
    handled = []

    def loading() -> bool:
        if not handled and _catches_stop_signals(pid):
            handled.append(time.monotonic())
        return bool(handled) and time.monotonic() - handled[0] > 0.2

    return {"loading": loading,
            "writing": lambda: bool(_hidden(folder)),
            "written": lambda: any(not path.name.startswith(".") for path in folder.rglob("*.rttm"))}[kind]


def _default_stop_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _interrupted(command: list[str], signum: int, to_group: bool, moment: str, watched: Path, log: Path) -> tuple:
    """Run ``command`` in a new process group, send ``signum`` to the group or to its main process at
    ``moment``; its exit status and stderr, once no process of its group is left."""
    with open(log, "w") as stderr:
        # As from a terminal: a run started by a background job or nohup inherits SIGINT or SIGHUP
        # ignored, and (rightly) keeps them so.
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
                                   preexec_fn=_default_stop_signals)
    try:
        reached = _moment(moment, process.pid, watched)
        while not reached():
            assert process.poll() is None, f"the run ended before the moment {moment!r}"
            time.sleep(0.01)
        (os.killpg if to_group else os.kill)(process.pid, signum)
        status = process.wait(PROMPTLY)
        deadline = time.monotonic() + PROMPTLY
        while _group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(process.pid) == [], "processes of the run are left"
        return status, log.read_text()
    finally:
        for pid in _group(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()


def _check_stopped(status: int, stderr: str, signum: int) -> None:
    assert status == 128 + signum, stderr
    assert stderr.splitlines()[-1:] == ["proxyseg: interrupted"] and "Traceback" not in stderr, stderr


def _contents(folder: Path) -> dict:
    """``{relative path: content}`` of the files in ``folder`` but temporary ones (samples for WAV files)."""
    return {path.relative_to(folder).as_posix(): sf.read(path)[0].tobytes() if path.suffix == ".wav"
            else path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.name.startswith(".")}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """Four recordings, long enough for a run to be interrupted at each of its moments."""
    folder = tmp_path_factory.mktemp("recordings")
    for index, seconds in enumerate((90, 60, 60, 90)):
        sf.write(folder / f"take{index}.wav", speech_like(seconds, seed=index), 16_000)
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The output folder of every run of this module: outputs name it (explanations hold their paths)."""
    return tmp_path_factory.mktemp("workspace")


def _expected(command: list[str], output: Path) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    expected = _contents(output)
    shutil.rmtree(output)
    return expected


@pytest.fixture(scope="module")
def segmented(recordings, workspace) -> dict:
    return _expected(_proxyseg("segment", recordings, "-o", workspace / "out", "-q"), workspace / "out")


@pytest.fixture(scope="module")
def explained(recordings, workspace) -> dict:
    return _expected(_proxyseg("explain", recordings, "-o", workspace / "out", "--random-draws", "1", "-q"),
                     workspace / "out")


#: Ctrl-C (to the whole process group), and ``kill -TERM <pid>`` (to the main process alone).
STOPS = [pytest.param(signal.SIGINT, True, id="SIGINT-to-group"),
         pytest.param(signal.SIGTERM, False, id="SIGTERM-to-main")]


# Rule: a stopped run stops all its processes, leaves complete outputs only, and says so (case 1).

@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("moment", ["loading", "written"])
@pytest.mark.parametrize("signum, to_group", STOPS)
def test_segment_stops_cleanly(recordings, workspace, segmented, signum, to_group, moment, jobs, tmp_path):
    """Case 1 (and case 7: a signal while the model loads)."""
    output = workspace / "out"
    shutil.rmtree(output, ignore_errors=True)
    command = _proxyseg("segment", recordings, "-o", output, "--jobs", jobs, "-q")
    status, stderr = _interrupted(command, signum, to_group, moment, output, tmp_path / "stderr")
    _check_stopped(status, stderr, signum)
    assert _hidden(output) == [], stderr
    assert all(content == segmented[name] for name, content in _contents(output).items())


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("signum, to_group", STOPS)
def test_explain_stops_cleanly_while_writing(recordings, workspace, explained, signum, to_group, jobs, tmp_path):
    """Case 1, while explanations' audio is being written: each file present is complete, a folder whose
    explanation.json says it is complete is the whole explanation."""
    output = workspace / "out"
    shutil.rmtree(output, ignore_errors=True)
    command = _proxyseg("explain", recordings, "-o", output, "--random-draws", "1", "--jobs", jobs, "-q")
    status, stderr = _interrupted(command, signum, to_group, "writing", output, tmp_path / "stderr")
    _check_stopped(status, stderr, signum)
    assert _hidden(output) == [], stderr
    written = _contents(output)
    for name, content in written.items():
        if not name.endswith("explanation.json"):
            assert content == explained[name], name
        elif b'"incomplete"' not in content:
            folder = name.rpartition("/")[0]
            assert {n: c for n, c in written.items() if n.startswith(folder)} == \
                   {n: c for n, c in explained.items() if n.startswith(folder)}


@pytest.mark.parametrize("signum, to_group", STOPS)
def test_corpus_build_stops_cleanly_while_writing(source_folder, signum, to_group, tmp_path):
    """Case 1 for the pools of ``corpus build`` (preparing sources, mixing scenes)."""
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    command = _proxyseg("corpus", "build", corpus, "--hours", "0.1", "--sources", source_folder, "--group-depth", "1",
                        "--cache-dir", cache, "--jobs", "2", "-q")
    status, stderr = _interrupted(command, signum, to_group, "writing", tmp_path, tmp_path / "stderr")
    _check_stopped(status, stderr, signum)
    assert _hidden(corpus) == [] and _hidden(cache) == []
    for audio in (corpus / "audio").glob("*.wav"):
        assert sf.info(audio).duration > 0  # complete: readable to its end
        sf.read(audio)


# Rule: workers never outlive their run, however it ends (cases 1 and 7).

def test_workers_die_with_a_killed_main_process(recordings, workspace, tmp_path):
    """Case 1: SIGKILL to the main process (workers used to be left running, as orphans); the workers
    still remove their temporary files."""
    output = workspace / "out"
    shutil.rmtree(output, ignore_errors=True)
    command = _proxyseg("explain", recordings, "-o", output, "--random-draws", "1", "--jobs", "2", "-q")
    status, _ = _interrupted(command, signal.SIGKILL, False, "writing", output, tmp_path / "stderr")
    assert status == -signal.SIGKILL and _hidden(output) == []


def test_a_closed_terminal_stops_the_run(recordings, workspace, segmented, tmp_path):
    """Case 7: SIGHUP to the process group."""
    output = workspace / "out"
    shutil.rmtree(output, ignore_errors=True)
    command = _proxyseg("segment", recordings, "-o", output, "--jobs", "2", "-q")
    status, stderr = _interrupted(command, signal.SIGHUP, True, "written", output, tmp_path / "stderr")
    _check_stopped(status, stderr, signal.SIGHUP)
    assert _hidden(output) == [], stderr
    assert all(content == segmented[name] for name, content in _contents(output).items())


def test_a_closed_stdout_does_not_stop_segment(recordings, tmp_path):
    """Case 7: ``proxyseg segment … | head -0`` (the progress bar is drawn on stderr)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(_proxyseg("segment", recordings / "take1.wav", recordings / "take2.wav", "-o",
                                          tmp_path / "out"), stdout=writer, stderr=subprocess.PIPE, text=True,
                                timeout=600)
    finally:
        os.close(writer)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["take1.rttm", "take2.rttm"]
