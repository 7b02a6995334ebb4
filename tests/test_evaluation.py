"""Tests of proxyseg.evaluation: folders of RTTM/UEM files in, report out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from proxyseg.errors import LabelFormatError, ProxysegError
from proxyseg.evaluation import EvaluationReport, evaluate_directories


def _line(uri: str, start: float, end: float, label: str) -> str:
    return f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {label} <NA> <NA>\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus-like root: rttm/ for a and b, uem/ for a only, plus lists/ and audio/ it ignores."""
    root = tmp_path / "corpus"
    _write(root / "rttm" / "a.rttm", _line("a", 0, 10, "speech") + _line("a", 12, 16, "music"))
    _write(root / "rttm" / "b.rttm", _line("b", 0, 20, "speech"))
    _write(root / "uem" / "a.uem", "a 1 0.000 14.000\n")
    _write(root / "lists" / "test.txt", "a\nb\n")
    return root


@pytest.fixture
def hypotheses(tmp_path: Path) -> Path:
    """Hypotheses for a and for an unknown uri c; b has none."""
    folder = tmp_path / "hyp"
    _write(folder / "a.rttm", _line("a", 5, 15, "speech") + _line("a", 12, 20, "music"))
    _write(folder / "c.rttm", _line("c", 0, 5, "noise"))
    return folder


def test_corpus_root_uses_its_uem_folder(corpus, hypotheses):
    report = evaluate_directories(corpus, hypotheses)
    assert report.files == 2
    assert report.missing_uris == ["b"]
    assert report.extra_uris == ["c"]
    assert list(report.scores) == ["speech", "music"]
    speech, music = report.scores["speech"], report.scores["music"]
    # a is scored on [0, 14]: speech ref 10 s, hyp [5, 14] = 9 s with 5 s right;
    # b has no hypothesis and no UEM: [0, 20] of reference speech is all missed.
    assert speech.reference_duration == pytest.approx(30)
    assert speech.hypothesis_duration == pytest.approx(9)
    assert (speech.precision, speech.recall) == pytest.approx((5 / 9, 5 / 30))
    assert (music.precision, music.recall) == pytest.approx((1.0, 1.0))
    assert music.reference_duration == pytest.approx(2)


def test_plain_folder_recursive_with_explicit_uem_file(tmp_path, corpus, hypotheses):
    plain = tmp_path / "plain"
    _write(plain / "nested" / "deeper" / "a.rttm", (corpus / "rttm" / "a.rttm").read_text())
    uem = _write(tmp_path / "eval.uem", "a 1 0.000 10.000\n")
    report = evaluate_directories(plain, hypotheses, uem=uem)
    assert report.files == 1 and report.missing_uris == [] and report.extra_uris == ["c"]
    # Inside [0, 10] music is absent from the reference but still a reference class:
    # it is scored (no music in [0, 10], nothing predicted there).
    speech = report.scores["speech"]
    assert (speech.precision, speech.recall) == pytest.approx((1.0, 0.5))
    # Without UEM, a is scored on [0, 16], the end of its last reference segment.
    speech = evaluate_directories(plain, hypotheses).scores["speech"]
    assert (speech.precision, speech.recall) == pytest.approx((0.5, 0.5))


def test_explicit_uem_overrides_the_corpus_one(corpus, hypotheses, tmp_path):
    uem = _write(tmp_path / "uems" / "x.uem", "a 1 0.000 10.000\nb 1 0.000 10.000\n")
    speech = evaluate_directories(corpus, hypotheses, uem=uem.parent).scores["speech"]
    assert speech.reference_duration == pytest.approx(20)
    assert speech.recall == pytest.approx(5 / 20)


def test_empty_hypothesis_file_is_present_not_missing(corpus, tmp_path):
    folder = tmp_path / "hyp"
    _write(folder / "a.rttm", "")
    _write(folder / "b.rttm", _line("b", 0, 20, "speech"))
    report = evaluate_directories(corpus, folder)
    assert report.missing_uris == [] and report.extra_uris == []
    assert report.scores["speech"].recall == pytest.approx(20 / 30)
    assert report.scores["music"].hypothesis_duration == 0.0


@pytest.mark.parametrize(
    "content, message",
    [
        ("SPEAKER a 1 zero 1.0 <NA> <NA> speech <NA> <NA>\n", "not a number"),
        ("SPEAKER a 1 0.0 1.0 <NA> <NA> speech\n", "columns"),
        (_line("a", 0, 1, "spk_A"), "not classes"),
    ],
)
def test_malformed_hypothesis_raises_label_format_error(corpus, tmp_path, content, message):
    _write(tmp_path / "bad" / "a.rttm", content)
    with pytest.raises(LabelFormatError, match=message):
        evaluate_directories(corpus, tmp_path / "bad")


def test_missing_or_empty_inputs_raise(corpus, hypotheses, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelFormatError, match="no RTTM file found in"):
        evaluate_directories(corpus, tmp_path / "empty")
    with pytest.raises(LabelFormatError, match="no RTTM file found in"):
        evaluate_directories(tmp_path / "empty", hypotheses)
    with pytest.raises(ProxysegError, match="no such file"):
        evaluate_directories(tmp_path / "nowhere", hypotheses)
    with pytest.raises(LabelFormatError, match="no UEM file found"):
        evaluate_directories(corpus, hypotheses, uem=tmp_path / "empty")


def test_empty_corpus_uem_folder_is_allowed(corpus, hypotheses):
    for path in (corpus / "uem").iterdir():
        path.unlink()
    assert evaluate_directories(corpus, hypotheses).files == 2


def test_uri_in_two_files_is_refused(corpus, hypotheses):
    _write(hypotheses / "again" / "a.rttm", _line("a", 0, 1, "speech"))
    with pytest.raises(LabelFormatError, match="also annotated"):
        evaluate_directories(corpus, hypotheses)


def test_to_dict_round_trips_through_json(corpus, hypotheses):
    report = evaluate_directories(corpus, hypotheses)
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["files"] == 2 and data["missing_uris"] == ["b"] and data["extra_uris"] == ["c"]
    speech = data["classes"]["speech"]
    assert speech["precision"] == round(5 / 9, 4) == 0.5556
    assert speech["recall"] == 0.1667
    assert speech["reference_duration"] == 30.0
    assert set(speech) == {
        "precision", "recall", "f1", "frame_f1", "reference_duration", "hypothesis_duration",
    }


def test_table_shows_percentages_and_minutes(corpus, hypotheses):
    table = evaluate_directories(corpus, hypotheses).table()
    headers = [column.header for column in table.columns]
    assert headers == [
        "class", "precision %", "recall %", "F1 %", "frame F1 %", "reference min", "hypothesis min",
    ]
    assert table.row_count == 2
    console = Console(record=True, width=140)
    console.print(table)
    text = console.export_text()
    assert "55.6" in text and "16.7" in text  # speech precision and recall
    assert "0.50" in text  # 30 s of reference speech
    assert "1 without hypothesis" in text


def test_report_of_nothing_is_empty():
    report = EvaluationReport(scores={}, files=0)
    assert report.to_dict() == {"files": 0, "missing_uris": [], "extra_uris": [], "classes": {}}
    assert report.table().row_count == 0
