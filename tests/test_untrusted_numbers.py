"""Numbers from the command line are checked for finiteness and a sane range before anything is allocated.

Issue 13, "Numbers and files from others are untrusted": `corpus build --hours 1e9` grew until
killed, `--window nan|inf` and `--hours nan|inf` ended in tracebacks. Numbers read from files
(annotations, model configs) have their own tests (test_untrusted_annotations.py,
test_untrusted_models.py).
"""

from __future__ import annotations

import math
import shutil
from collections import namedtuple

import pytest
from click.testing import CliRunner

from proxyseg.cli import cli
from proxyseg.errors import CorpusError

# Each: a command line with one bad number, and the option the refusal must name.
BAD_NUMBERS = [
    (["corpus", "build", "{out}", "--hours", "nan"], "--hours"),
    (["corpus", "build", "{out}", "--hours", "inf"], "--hours"),
    (["corpus", "build", "{out}", "--hours", "1e9"], "--hours"),
    (["corpus", "build", "{out}", "--seed", "-1"], "--seed"),
    (["corpus", "build", "{out}", "--jobs", "100000"], "--jobs"),
    (["segment", "{audio}", "-o", "{out}", "--jobs", "1000000"], "--jobs"),
    (["explain", "{audio}", "-o", "{out}", "--window", "nan"], "--window"),
    (["explain", "{audio}", "-o", "{out}", "--window", "inf"], "--window"),
    (["explain", "{audio}", "-o", "{out}", "--window", "1e12"], "--window"),
    (["explain", "{audio}", "-o", "{out}", "--threshold", "nan"], "--threshold"),
    (["explain", "{audio}", "-o", "{out}", "--random-draws", "1000000000"], "--random-draws"),
    (["explain", "{audio}", "-o", "{out}", "--seed", "18446744073709551616"], "--seed"),
    (["nmf", "learn", "{corpus}", "-o", "{out}", "--rank", "100000000"], "--rank"),
    (["nmf", "learn", "{corpus}", "-o", "{out}", "--sparsity", "inf"], "--sparsity"),
    (["nmf", "learn", "{corpus}", "-o", "{out}", "--max-iter", "1000000000000"], "--max-iter"),
    (["train", "teacher", "{corpus}", "-o", "{out}", "--batch-size", "1000000000"], "--batch-size"),
    (["train", "teacher", "{corpus}", "-o", "{out}", "--max-minutes", "nan"], "--max-minutes"),
    (["train", "proxy", "{corpus}", "-o", "{out}", "--loss-weights", "10", "nan", "0.1"], "--loss-weights"),
    (["train", "proxy", "{corpus}", "-o", "{out}", "--loss-weights", "10", "-1", "0.1"], "--loss-weights"),
    (["train", "proxy", "{corpus}", "-o", "{out}", "--repeats", "10000000"], "--repeats"),
    (["train", "proxy", "{corpus}", "-o", "{out}", "--rank", "10000000"], "--rank"),
]


@pytest.mark.parametrize("arguments, option", BAD_NUMBERS, ids=[" ".join(a[:2] + a[-2:]) for a, _ in BAD_NUMBERS])
def test_a_bad_number_on_the_command_line_is_refused_naming_its_option(arguments, option, tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"")
    places = {"out": str(tmp_path / "out"), "audio": str(audio), "corpus": str(tmp_path)}
    result = CliRunner().invoke(cli, [argument.format(**places) for argument in arguments])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("hours", [math.nan, math.inf, -1.0, 0.0, 1e9])
def test_the_library_refuses_corpus_hours_out_of_range(tmp_path, hours):
    from proxyseg.corpus import build_corpus

    with pytest.raises(CorpusError, match="hours must be in"):
        build_corpus(tmp_path / "corpus", hours=hours, progress=False)
    assert not (tmp_path / "corpus").exists()


def test_a_corpus_that_cannot_fit_on_the_disk_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    from proxyseg.corpus import build_corpus

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 9 * 10**8, 10**8))
    with pytest.raises(CorpusError, match=r"2 hours of audio need about 0\.2 GB; its file system has 0\.1 GB free"):
        build_corpus(tmp_path / "corpus", hours=2, progress=False)
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("option, value", [("window", math.nan), ("window", math.inf), ("window", 0.0),
                                           ("threshold", math.nan), ("threshold", 1.5),
                                           ("random_draws", 10**9), ("random_draws", 2.5)])
def test_the_explainer_refuses_settings_out_of_range(option, value):
    from proxyseg.explain.explainer import Explainer

    with pytest.raises(ValueError, match=option):
        Explainer.from_pretrained("proxy", **{option: value})
