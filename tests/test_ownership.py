"""The tool removes or replaces only files it can prove it wrote, and its outputs never become inputs.

Each test is a case of issue 13 ("Data loss"): an explanation written into a folder of the user's
files, an explanation of one file taken for another's, an output folder inside the input folder,
and ``corpus build --overwrite`` on a folder that merely holds a file named ``corpus.json``.
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

from proxyseg.errors import CorpusError, OutputError
from proxyseg.explain.writer import EXPLANATION, ExplanationWriter, write_explanation
from proxyseg.inputs import Job

RATE = 16_000


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "proxyseg", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its content."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def noise(path: Path, seconds: float = 3.0, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.3 * np.random.default_rng(seed).standard_normal(int(seconds * RATE)), RATE)
    return path


def silence(path: Path, seconds: float = 3.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * RATE)), RATE)
    return path


@pytest.fixture(scope="module")
def explainer():
    from proxyseg.explain.explainer import Explainer

    return Explainer.from_pretrained("proxy", random_draws=0)


# -- explain: the user's files ---------------------------------------------------------------


def test_explain_into_a_folder_of_the_users_audio_refuses_and_touches_nothing(tmp_path):
    """Case 1: `explain myaudio/silence.wav -o myaudio` deleted speech/music/noise.wav and replaced input.wav."""
    folder = tmp_path / "myaudio"
    for seed, name in enumerate(("speech", "music", "noise", "input")):
        noise(folder / f"{name}.wav", 1.0, seed)
    silence(folder / "silence.wav")
    before = snapshot(folder)
    result = run("explain", str(folder / "silence.wav"), "-o", str(folder))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("proxyseg: error: ")
    assert "did not write (input.wav, music.wav, noise.wav, …)" in lines[0]
    assert snapshot(folder) == before


def test_a_foreign_explanation_json_is_refused_even_as_a_fifo(tmp_path, explainer):
    """A file named explanation.json that is not ours (another tool's, or a FIFO that would block) is not replaced."""
    audio = noise(tmp_path / "a.wav")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / EXPLANATION).write_text('{"my": "notes"}')
    with pytest.raises(OutputError, match="not an explanation of proxyseg's"):
        write_explanation(explainer, audio, mine, "a")
    assert snapshot(mine) == {EXPLANATION: b'{"my": "notes"}'}
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / EXPLANATION)
    with pytest.raises(OutputError, match="not a regular file"):
        write_explanation(explainer, audio, fifo, "a")


def test_explain_replaces_and_removes_only_the_files_its_explanation_names(tmp_path, explainer):
    """The class audio of an earlier explanation goes; a file of the user's beside it stays."""
    out = tmp_path / "out"
    first = write_explanation(explainer, noise(tmp_path / "noisy.wav"), out, "noisy")
    assert first["classes"]["noise"]["detected"] and (out / "noise.wav").exists()
    assert first["status"] == "complete" and "noise.wav" in first["outputs"]
    (out / "notes.txt").write_text("mine")
    second = write_explanation(explainer, silence(tmp_path / "quiet.wav"), out, "quiet", replace=True)
    assert not any(item["detected"] for item in second["classes"].values())
    assert sorted(path.name for path in out.iterdir()) == ["explanation.json", "input.wav", "notes.txt", "report.html"]
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / EXPLANATION).read_text())["outputs"] == ["explanation.json", "input.wav", "report.html"]


def test_another_files_explanation_is_neither_taken_as_done_nor_replaced_silently(tmp_path, explainer):
    """Case 1: explaining another file into a folder holding an explanation was skipped as "outputs exist"."""
    out = tmp_path / "out"
    first, other = noise(tmp_path / "a" / "x.wav"), noise(tmp_path / "b" / "x.wav", seconds=2.0)
    write_explanation(explainer, first, out, "x")
    task = ExplanationWriter("proxy", out, single=True)
    assert task.done(Job(first, "x"))
    assert not task.done(Job(other, "x"))  # same name, another file
    with pytest.raises(OutputError, match=r"holds the explanation of .*a/x\.wav; --overwrite replaces it"):
        write_explanation(explainer, other, out, "x")
    replaced = write_explanation(explainer, other, out, "x", replace=True)
    assert replaced["input"]["bytes"] == other.stat().st_size and task.done(Job(other, "x"))


def test_an_explanation_claims_its_files_while_it_writes_them(tmp_path, explainer, monkeypatch):
    """explanation.json says "incomplete" while the files are written; interrupted, the run leaves the folder as it was."""
    audio, out = noise(tmp_path / "a.wav"), tmp_path / "out"
    seen = {}

    def interrupted(self, blocks, uri, source, sink, progress=None):
        seen.update(json.loads((out / EXPLANATION).read_text()))
        sink.input(np.zeros(RATE, dtype=np.float32))
        raise KeyboardInterrupt

    monkeypatch.setattr(type(explainer), "explain", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_explanation(explainer, audio, out, "a")
    assert seen["status"] == "incomplete" and {"noise.wav", "input.wav", "report.html"} <= set(seen["outputs"])
    assert list(out.iterdir()) == []


def test_the_files_of_an_explanation_killed_outright_are_replaced_by_the_next_run(tmp_path, explainer):
    """What a SIGKILL leaves (the incomplete explanation.json and some audio) is ours: the rerun replaces it."""
    audio, out = noise(tmp_path / "a.wav"), tmp_path / "out"
    out.mkdir()
    (out / EXPLANATION).write_text(json.dumps({"schema": "proxyseg.explanation/1", "status": "incomplete",
                                               "input": {"uri": "a"}, "outputs": ["input.wav", "music.wav"]}))
    (out / "input.wav").write_bytes(b"RIFF")
    (out / "music.wav").write_bytes(b"RIFF")
    assert not ExplanationWriter("proxy", out, single=True).done(Job(audio, "a"))
    document = write_explanation(explainer, audio, out, "a")
    assert document["status"] == "complete" and not (out / "music.wav").exists()


def test_the_set_folder_is_checked_before_any_file_is_explained(tmp_path):
    """A report.html of the user's in OUTDIR: refused at once, not after explaining the whole set."""
    inputs = tmp_path / "in"
    noise(inputs / "a.wav"), noise(inputs / "b.wav", seed=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("<p>my report</p>")
    result = run("explain", str(inputs), "-o", str(out), "--random-draws", "0")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "did not write (report.html)" in result.stderr
    assert snapshot(out) == {"report.html": b"<p>my report</p>"}


# -- outputs never become inputs -------------------------------------------------------------


def test_an_output_folder_inside_the_input_folder_is_not_read_back(tmp_path):
    """Case 1: `explain dir -o dir/out` run again took its own outputs for inputs (1 -> 6 -> 29 files)."""
    inputs = tmp_path / "dir"
    noise(inputs / "a.wav")
    for _ in range(2):
        result = run("explain", str(inputs), "-o", str(inputs / "out"), "--random-draws", "0", "-q")
        assert result.returncode == 0, result.stderr
        assert sorted(path.name for path in (inputs / "out").iterdir()) == ["a", "report.html", "summary.json"]
    assert json.loads((inputs / "out" / "summary.json").read_text())["files"] == ["a"]


def test_explanation_audio_is_not_collected_as_input(tmp_path, explainer):
    """Audio an explanation wrote beside the user's is skipped when its folder is searched; given by name, it is used."""
    from proxyseg.inputs import collect
    from proxyseg.explain.writer import is_explanation_output

    folder = tmp_path / "myaudio"
    audio = noise(folder / "take.wav")
    write_explanation(explainer, audio, folder, "take")
    assert (folder / "noise.wav").exists() and is_explanation_output(folder / "noise.wav")
    assert not is_explanation_output(audio)
    found = collect([folder], exclude=is_explanation_output)
    assert [job.uri for job in found.jobs] == ["take"]
    assert [job.uri for job in collect([folder / "noise.wav"], exclude=is_explanation_output).jobs] == ["noise"]


# -- corpus build --overwrite ----------------------------------------------------------------


def test_corpus_overwrite_refuses_a_folder_whose_corpus_json_is_not_ours(tmp_path, source_folder):
    """Case 2: `corpus build DIR --overwrite` deleted any folder holding a file named corpus.json."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "thesis.tex").write_text("\\chapter{One}")
    (project / "corpus.json").write_text('{"name": "my corpus"}')
    before = snapshot(project)
    from proxyseg.corpus import build_corpus

    with pytest.raises(CorpusError, match=r"project is not a corpus \(.*corpus.json is not proxyseg's\)"):
        build_corpus(project, hours=0.01, sources=source_folder, overwrite=True, progress=False)
    assert snapshot(project) == before


def test_corpus_overwrite_removes_nothing_when_anything_but_a_corpus_is_there(tmp_path, tiny_corpus):
    """Our own corpus.json beside files a build did not write: nothing is removed, and the refusal names them."""
    import shutil

    from proxyseg.corpus import build_corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus.root, corpus)
    (corpus / "audio" / "favourite.wav").write_bytes(b"RIFF")
    (corpus / "notes").mkdir()
    before = snapshot(corpus)
    with pytest.raises(CorpusError, match=r"did not write \(audio/favourite.wav, notes\); not replaced"):
        build_corpus(corpus, hours=0.01, overwrite=True, progress=False)
    assert snapshot(corpus) == before


def test_corpus_overwrite_replaces_an_interrupted_corpus_of_ours(tmp_path, source_folder, tiny_corpus):
    """A corpus of ours, with the temporary file a killed write left, is replaced."""
    import shutil

    from proxyseg.corpus import build_corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus.root, corpus)
    description = json.loads((corpus / "corpus.json").read_text())
    (corpus / "corpus.json").write_text(json.dumps({**description, "status": "incomplete"}))
    (corpus / "audio" / ".0123456789abcdef.k1ll3d_x.tmp.wav").write_bytes(b"RIFF")  # see atomic.is_temporary
    built = build_corpus(corpus, hours=0.02, seed=1, sources=source_folder, group_depth=1, overwrite=True,
                         cache_dir=tmp_path / "cache", jobs=1, progress=False)
    assert json.loads((corpus / "corpus.json").read_text())["status"] == "complete"
    assert not list(corpus.rglob(".*.tmp.*"))
    assert sorted(path.stem for path in (corpus / "audio").iterdir()) == sorted(
        uri for split in ("train", "dev", "test") for uri in built.uris(split))


# -- models and dictionaries -------------------------------------------------------------------


def test_saving_a_model_refuses_to_replace_another_tools_model(tmp_path):
    """`train ... -o FOLDER` on a folder holding another tool's config.json (a Hugging Face model) leaves it whole."""
    from proxyseg.artefacts import load_model, save_model

    folder = tmp_path / "hf-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "wavlm"}')
    (folder / "model.safetensors").write_bytes(b"weights of another tool")
    before = snapshot(folder)
    with pytest.raises(OutputError, match="holds a model that is not proxyseg's"):
        save_model(folder, load_model("teacher").model)
    assert snapshot(folder) == before
    save_model(tmp_path / "ours", load_model("teacher").model)
    save_model(tmp_path / "ours", load_model("teacher").model)  # our own is replaced


def test_saving_a_dictionary_refuses_to_replace_another_files_dictionary_json(tmp_path):
    from proxyseg.nmf import Dictionary

    atoms = Dictionary(np.ones((257, 4), dtype=np.float32) / 16.0)
    (tmp_path / "dictionary.json").write_text('{"words": ["a", "b"]}')
    with pytest.raises(OutputError, match="dictionary.json that is not proxyseg's"):
        atoms.save(tmp_path)
    assert (tmp_path / "dictionary.json").read_text() == '{"words": ["a", "b"]}'
    atoms.save(tmp_path / "ours")
    atoms.save(tmp_path / "ours")
