"""Property-based: random bytes under an audio name, and random waveforms, never crash the library or the
command line. Each ends in a result that holds together or in a refusal of the documented kind."""

import io
import math
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from proxyseg.audio import AUDIO_SUFFIXES, MAX_AMPLITUDE, load
from proxyseg.cli import cli
from proxyseg.errors import AudioError
from proxyseg.explain.explainer import Explainer
from proxyseg.grid import num_feature_frames



def fuzz(examples: int) -> settings:
    """``examples`` examples, the same at every run (CI stays reproducible), without time limits."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _valid_start(format: str, subtype: str) -> bytes:
    """The first bytes of a valid file: fuzzing after them reaches the decoders, not just the format sniffing."""
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(4000, np.float32), 16_000, format=format, subtype=subtype)
    return buffer.getvalue()[:64]


HEADERS = [b"", *(_valid_start(*kind) for kind in
                  [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III"),
                   ("AIFF", "PCM_24"), ("AU", "ULAW"), ("CAF", "ALAC_16"), ("W64", "PCM_32")])]
random_files = st.tuples(st.sampled_from(HEADERS), st.binary(max_size=6000), st.sampled_from(sorted(AUDIO_SUFFIXES)))


@pytest.fixture(scope="module")
def explainer():
    return Explainer.from_pretrained("proxy", random_draws=1)


def _holds_together(result, samples: int) -> None:
    """A segmentation of ``samples`` at 16 kHz: probabilities in [0, 1], segments inside the audio."""
    assert result.duration == pytest.approx(samples / 16_000)
    assert np.isfinite(result.probabilities).all()
    assert ((result.probabilities >= 0) & (result.probabilities <= 1)).all()
    assert len(result.probabilities) == num_feature_frames(samples)
    for segment in result.annotation.itersegments():
        assert 0 <= segment.start < segment.end <= result.duration + 1e-6


@fuzz(150)
@given(random_files)
def test_random_bytes_decode_to_usable_samples_or_raise_an_audio_error(tmp_path, file):
    header, body, suffix = file
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(header + body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged files warn: tested elsewhere
        try:
            waveform = load(path)
        except AudioError as error:
            assert error.path == path and str(error).startswith(f"{path}: ")
            return
    assert waveform.dtype == np.float32 and waveform.ndim == 1 and len(waveform) >= 400
    assert np.isfinite(waveform).all() and np.abs(waveform).max(initial=0) <= MAX_AMPLITUDE


@fuzz(40)
@given(random_files)
def test_random_bytes_through_segment_are_one_line_or_a_result(tmp_path, file):
    header, body, suffix = file
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(header + body)
    output = tmp_path / "out" / "fuzz.rttm"
    output.unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["segment", str(path), "-o", str(tmp_path / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    if result.exit_code:
        assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith(f"proxyseg: error: {path}: ")
        assert not output.exists()
    else:
        assert output.exists() and len(lines) <= 1
        assert all(line.startswith(f"proxyseg: warning: {path}: damaged or truncated") for line in lines)


finite = st.floats(-2.0, 2.0, width=32)
anything = st.floats(width=32)  # NaN, infinities, huge and subnormal values too
waveforms = st.one_of(arrays(np.float32, st.integers(0, 12_000), elements=finite),
                      arrays(np.float32, st.integers(0, 3_000), elements=anything),
                      arrays(np.float64, st.integers(0, 3_000), elements=st.floats(width=64)))


def _unfit(waveform: np.ndarray) -> bool:
    """Whether the models must refuse ``waveform``: shorter than a frame, or a sample non-finite or beyond the limit."""
    peak = np.abs(waveform).max(initial=0) if np.isfinite(waveform).all() else math.inf
    return len(waveform) < 400 or peak > MAX_AMPLITUDE


@fuzz(120)
@given(waveforms)
def test_random_waveforms_are_segmented_or_refused_with_a_value_error(segmenter, waveform):
    try:
        result = segmenter(waveform)
    except ValueError as error:
        assert _unfit(waveform), error
        return
    assert not _unfit(waveform)
    _holds_together(result, len(waveform))


@fuzz(15)
@given(waveforms)
def test_random_waveforms_are_explained_or_refused_with_a_value_error(explainer, waveform):
    try:
        explanation = explainer(waveform)
    except ValueError as error:
        assert _unfit(waveform), error
        return
    assert not _unfit(waveform)
    for item in explanation.classes.values():
        assert 0 <= item.detected_seconds <= len(waveform) / 16_000 + 0.02
        assert np.isfinite(item.prototype).all() and (item.prototype >= 0).all()
        if item.audio is not None:
            assert len(item.audio) == len(waveform) and np.isfinite(item.audio).all()


@fuzz(25)
@given(arrays(np.float32, st.tuples(st.integers(1, 30_000), st.integers(1, 6)), elements=finite),
       st.sampled_from([8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000]))
def test_random_files_of_any_rate_and_channels_segment_for_their_whole_length(tmp_path, segmenter, samples, rate):
    path = tmp_path / "random.wav"
    sf.write(path, samples, rate, subtype="FLOAT")
    try:
        result = segmenter(path)
    except AudioError as error:
        assert "too short" in str(error) and len(samples) / rate < 0.025
        return
    resampled = len(load(path))
    assert resampled == pytest.approx(len(samples) * 16_000 / rate, abs=1)
    _holds_together(result, resampled)
