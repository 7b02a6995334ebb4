"""Bad input never crashes and never lies: every awkward input (see ``bad_audio.py``), through the
library and through each command that takes audio, ends in a correct result or in one line on
stderr and a non-zero exit."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from bad_audio import case_names, speech_like, write_cases
from proxyseg.audio import load
from proxyseg.cli import cli
from proxyseg.errors import AudioError, DamagedAudioWarning
from proxyseg.formats import read_rttm

NAMES = case_names()


@pytest.fixture(scope="session")
def cases(tmp_path_factory):
    return write_cases(tmp_path_factory.mktemp("bad audio"))


def _outcome(case, result, outputs) -> None:
    """Assert the rule for one command's ``result`` on ``case``; ``outputs`` are the files it writes."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    if result.exit_code:
        assert result.exit_code == 1 and case.expect != "ok", result.stderr
        assert len(lines) == 1 and lines[0].startswith(f"proxyseg: error: {case.path}: "), result.stderr
        assert not any(path.exists() for path in outputs)
        return
    assert case.expect != "error", f"{case.path} was accepted: {result.stdout}"
    assert all(path.exists() for path in outputs)
    warned = [line.startswith(f"proxyseg: warning: {case.path}: damaged or truncated") for line in lines]
    expected = {"ok": [[]], "damaged": [[True]], "any": [[], [True]]}[case.expect]
    assert warned in expected, result.stderr  # a result for part of a file says so, once


@pytest.mark.parametrize("name", NAMES)
def test_segment(name, cases, tmp_path):
    case = cases[name]
    result = CliRunner().invoke(cli, ["segment", str(case.path), "-o", str(tmp_path), "--format", "json"])
    _outcome(case, result, [tmp_path / f"{case.path.stem}.json"])


@pytest.mark.parametrize("name", NAMES)
def test_explain(name, cases, tmp_path):
    case = cases[name]
    result = CliRunner().invoke(cli, ["explain", str(case.path), "-o", str(tmp_path), "--random-draws", "0"])
    _outcome(case, result, [tmp_path / "explanation.json", tmp_path / "report.html", tmp_path / "input.wav"])


@pytest.mark.parametrize("name", NAMES)
def test_info(name, cases):
    """``info`` reads headers only: a description row, or one error line (a header that cannot be read)."""
    case = cases[name]
    result = CliRunner().invoke(cli, ["info", str(case.path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    rows, lines = result.stdout.strip().splitlines()[1:], result.stderr.strip().splitlines()
    if result.exit_code:
        assert case.expect != "ok" and not rows
        assert len(lines) == 1 and lines[0].startswith(f"proxyseg: error: {case.path}: ")
    else:
        assert len(rows) == 1 and rows[0].startswith(f"{case.path}\t")
        assert not lines if case.expect == "ok" else len(lines) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_library(name, cases, segmenter):
    """The library raises an AudioError, never anything else, or segments (warning when damaged)."""
    case = cases[name]
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always", DamagedAudioWarning)
        try:
            result = segmenter(case.path)
        except AudioError as error:
            assert case.expect != "ok" and error.path == case.path
            return
    assert case.expect != "error"
    damaged = [warning for warning in raised if warning.category is DamagedAudioWarning]
    assert len(damaged) in {"ok": [0], "damaged": [1], "any": [0, 1]}[case.expect]
    assert np.isfinite(result.probabilities).all() and result.duration > 0


def test_every_case_in_one_run_of_the_real_command(cases, tmp_path):
    """One process over every file, two workers: one stderr line per file refused or damaged and
    nothing else (no traceback, no C library chatter), every other file segmented."""
    files = [case.path for case in cases.values() if case.path.exists() and case.path.is_file()]
    result = subprocess.run([sys.executable, "-m", "proxyseg", "segment", *map(str, files), "-o", str(tmp_path),
                             "--jobs", "2", "-q"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(("proxyseg: error: ", "proxyseg: warning: ")) for line in lines), result.stderr
    for case in cases.values():
        if case.path not in files:
            continue
        said = [line for line in lines if f" {case.path}: " in line]
        written = (tmp_path / f"{case.path.stem}.rttm").exists()
        if case.expect == "error":
            assert len(said) == 1 and said[0].startswith("proxyseg: error: ") and not written
        elif case.expect == "ok":
            assert not said and written
        else:
            assert len(said) <= 1 and written == (not said or "warning" in said[0])


def test_silence_gives_no_segments_and_nothing_to_explain(cases, tmp_path):
    path = cases["all-zero silence"].path
    result = CliRunner().invoke(cli, ["segment", str(path), "-o", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "silence.rttm").read_text() == ""
    earlier = [tmp_path / "explained" / name for name in ("speech.wav", "speech.rest.wav", "music.wav")]
    for stale in earlier:  # the class audio of an earlier explanation in the same folder (killed: incomplete)
        stale.parent.mkdir(exist_ok=True)
        stale.write_bytes(b"RIFF")
    (tmp_path / "explained" / "explanation.json").write_text(json.dumps({
        "schema": "proxyseg.explanation/1", "status": "incomplete", "input": {"uri": "silence"},
        "outputs": [stale.name for stale in earlier]}))
    result = CliRunner().invoke(cli, ["explain", str(path), "-o", str(tmp_path / "explained")])
    document = json.loads((tmp_path / "explained" / "explanation.json").read_text())
    assert result.exit_code == 0 and not any(item["detected"] for item in document["classes"].values())
    assert not any(stale.exists() for stale in earlier)


def test_clipped_full_scale_noise_is_noise(cases, segmenter):
    assert segmenter(cases["clipped full-scale noise"].path).annotation.labels() == ["noise"]


@pytest.mark.parametrize("name", ["8 kHz", "192 kHz"])
def test_other_sample_rates_are_segmented_like_the_same_sound_at_16_khz(name, cases, segmenter):
    result = segmenter(cases[name].path)
    assert result.duration == pytest.approx(6.0, abs=1e-3)
    assert np.abs(result.probabilities - segmenter(speech_like(6.0)).probabilities).max() < 0.01


def test_six_channels_are_segmented_as_their_mean(cases, segmenter):
    path = cases["6 channels"].path
    channels, _ = sf.read(path, dtype="float32")
    assert segmenter(path).probabilities == pytest.approx(segmenter(channels.mean(axis=1)).probabilities, abs=1e-4)


def test_unicode_and_spaces_name_the_outputs(cases, tmp_path):
    path = cases["unicode and spaces in the name"].path
    result = CliRunner().invoke(cli, ["segment", str(path), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "réunion du 3 février — été.rttm"
    assert list(read_rttm(written)) in ([], ["réunion_du_3_février_—_été"])


def test_a_damaged_file_says_how_much_was_used(cases):
    with pytest.warns(DamagedAudioWarning, match=r"truncated wav\.wav: damaged or truncated .*the 2\.99\d s that decode"):
        waveform = load(cases["truncated wav"].path)
    assert len(waveform) == pytest.approx(3 * 16_000, abs=32)


def test_info_flags_a_truncated_header(cases):
    result = CliRunner().invoke(cli, ["info", str(cases["truncated wav"].path)])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"proxyseg: warning: {cases['truncated wav'].path}: damaged or truncated (RIFF")


@pytest.mark.parametrize("waveform, message", [
    (np.full(16_000, np.nan, np.float32), "NaN or infinite"),
    (np.r_[np.zeros(8_000), np.inf].astype(np.float32), "NaN or infinite"),
    (np.zeros((2, 16_000), np.float32), r"mono, of shape \(samples,\), not \(2, 16000\)"),
    ((1000 * np.ones(16_000)).astype(np.int16), "divide by 32768"),
    (32767 * np.ones(16_000, np.float32), "integer samples stored as floats"),
    (np.zeros(100, np.float32), "shorter than one 25 ms frame"),
    (np.zeros(0, np.float32), "shorter than one 25 ms frame"),
])
def test_waveforms_the_models_cannot_take_are_refused(waveform, message, segmenter):
    from proxyseg.explain.explainer import Explainer

    explainer = Explainer.from_pretrained("proxy", random_draws=0)
    for model in (segmenter, explainer):
        with pytest.raises(ValueError, match=message):
            model(waveform)


def test_a_waveform_may_be_any_sequence_of_floats(segmenter):
    assert len(segmenter([0.0] * 16_000).annotation) == 0
