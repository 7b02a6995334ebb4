"""Tests of proxyseg.audio: decoding, resampling, downmixing, streaming, errors, saving."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st

from proxyseg import audio
from proxyseg.errors import (
    AudioFormatError,
    AudioNotFoundError,
    AudioTooShortError,
    CorruptAudioError,
    EmptyAudioError,
)


def sine(frequency: float, duration: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(duration * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def peak_frequency(x: np.ndarray, rate: int) -> float:
    # Zero-padding interpolates the spectrum so the peak is located to well under 1 Hz.
    n = 8 * len(x)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=n))
    return float(np.argmax(spectrum) * rate / n)


def noise(frames: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    x = 0.2 * np.random.default_rng(seed).standard_normal((frames, channels))
    return x.astype(np.float32).squeeze()


# --- resampling and downmixing -------------------------------------------------------------


@pytest.mark.parametrize("native_rate", [44_100, 8_000])
def test_load_resamples_to_16k_keeping_frequency_and_length(tmp_path, native_rate):
    path = tmp_path / "sine.wav"
    duration = 1.5
    sf.write(path, sine(440.0, duration, native_rate), native_rate, subtype="FLOAT")

    y = audio.load(path)

    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - duration * audio.SAMPLE_RATE) <= 1
    assert abs(peak_frequency(y, audio.SAMPLE_RATE) - 440.0) < 2.0
    # The amplitude survives resampling (away from the edges).
    assert np.max(np.abs(y[1000:-1000])) == pytest.approx(0.5, abs=0.01)


def test_load_honours_requested_sample_rate(tmp_path):
    path = tmp_path / "sine.wav"
    sf.write(path, sine(440.0, 1.0, 16_000), 16_000, subtype="FLOAT")
    y = audio.load(path, sample_rate=22_050)
    assert abs(len(y) - 22_050) <= 1
    assert abs(peak_frequency(y, 22_050) - 440.0) < 2.0


def test_stereo_opposite_channels_cancel(tmp_path):
    path = tmp_path / "stereo.wav"
    x = noise(8_000)
    sf.write(path, np.stack([x, -x], axis=1), 16_000, subtype="FLOAT")
    assert np.max(np.abs(audio.load(path))) < 1e-7


def test_stereo_with_silent_channel_is_halved(tmp_path):
    path = tmp_path / "stereo.wav"
    x = noise(8_000)
    sf.write(path, np.stack([x, np.zeros_like(x)], axis=1), 16_000, subtype="FLOAT")
    np.testing.assert_allclose(audio.load(path), x / 2, atol=1e-7)


def test_six_channels_are_averaged(tmp_path):
    path = tmp_path / "surround.wav"
    x = noise(8_000)
    gains = np.arange(1, 7) / 6
    sf.write(path, x[:, None] * gains[None, :], 16_000, subtype="FLOAT")
    np.testing.assert_allclose(audio.load(path), x * gains.mean(), atol=1e-6)


# --- streaming -----------------------------------------------------------------------------


def test_stream_matches_one_shot_resampling_of_whole_file(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(path, noise(2 * 44_100, channels=2), 44_100, subtype="FLOAT")
    whole, _ = sf.read(path, dtype="float32")
    expected = soxr.resample(whole.mean(axis=1), 44_100, 16_000, quality="HQ")

    blocks = list(audio.stream(path, block_duration=0.37))

    assert len(blocks) > 1
    assert all(len(b) > 0 and b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    streamed = np.concatenate(blocks)
    assert len(streamed) == len(expected)
    assert np.max(np.abs(streamed - expected)) < 1e-4


def test_stream_at_native_rate_is_bit_exact(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(path, noise(40_000), 16_000, subtype="FLOAT")
    whole, _ = sf.read(path, dtype="float32")

    blocks = list(audio.stream(path, block_duration=0.37))

    assert len(blocks) == 7  # ceil(40000 / 5920)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


@pytest.fixture(scope="module")
def noise_44k(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "noise.wav"
    sf.write(path, noise(44_100, seed=1), 44_100, subtype="FLOAT")
    return path, audio.load(path)


@settings(max_examples=15, deadline=None)
@given(block_duration=st.floats(min_value=0.001, max_value=2.0))
def test_stream_agrees_with_load_whatever_the_block_size(noise_44k, block_duration):
    path, loaded = noise_44k
    streamed = np.concatenate(list(audio.stream(path, block_duration=block_duration)))
    assert len(streamed) == len(loaded)
    assert np.max(np.abs(streamed - loaded)) < 1e-4


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "subtype"),
    [("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")],
)
def test_formats_load_with_expected_length(tmp_path, suffix, subtype):
    path = tmp_path / f"sine.{suffix}"
    try:
        sf.write(path, sine(440.0, 2.0, 44_100), 44_100, subtype=subtype)
    except (sf.LibsndfileError, ValueError, TypeError) as error:
        pytest.skip(f"soundfile cannot write {suffix}: {error}")

    described = audio.info(path)
    y = audio.load(path)

    assert described.format == suffix.upper() and described.sample_rate == 44_100
    assert described.duration == pytest.approx(2.0, rel=0.01)
    assert len(y) == pytest.approx(2.0 * audio.SAMPLE_RATE, rel=0.01)
    assert abs(peak_frequency(y, audio.SAMPLE_RATE) - 440.0) < 2.0


def test_info_describes_without_decoding(tmp_path):
    path = tmp_path / "stereo.flac"
    sf.write(path, noise(12_000, channels=2), 24_000, subtype="PCM_24")
    assert audio.info(str(path)) == audio.AudioInfo(
        path=path, sample_rate=24_000, channels=2, num_samples=12_000, format="FLAC",
        subtype="PCM_24",
    )
    assert audio.info(path).duration == 0.5


# --- errors --------------------------------------------------------------------------------


def assert_names_file(excinfo, path):
    assert str(path) in str(excinfo.value)
    assert excinfo.value.path == path


def test_missing_file(tmp_path):
    path = tmp_path / "missing.wav"
    with pytest.raises(AudioNotFoundError, match="no such file") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_directory(tmp_path):
    path = tmp_path / "folder.wav"
    path.mkdir()
    with pytest.raises(AudioNotFoundError, match="is a directory") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(EmptyAudioError, match=r"0 bytes") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_text_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are meeting notes, not audio\n" * 20)
    with pytest.raises(CorruptAudioError, match="cannot be decoded as WAV") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, noise(16_000), 16_000)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(CorruptAudioError, match="cannot be decoded as WAV") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_unknown_extension_with_garbage(tmp_path):
    path = tmp_path / "blob.xyz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioFormatError, match="unknown audio format.*wav, flac") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_unknown_extension_with_real_audio_is_read(tmp_path):
    # libsndfile recognises formats by content, so the suffix does not matter.
    path = tmp_path / "audio.bin"
    sf.write(path, noise(16_000), 16_000, format="WAV", subtype="FLOAT")
    assert len(audio.load(path)) == 16_000


def test_wav_without_samples(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(EmptyAudioError, match="no audio samples") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)


def test_too_short(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, noise(100), 16_000)
    with pytest.raises(AudioTooShortError, match=r"0\.006 s, at least 0\.025 s") as excinfo:
        audio.load(path)
    assert_names_file(excinfo, path)
    # The threshold is the caller's to choose.
    assert len(audio.load(path, min_duration=0.005)) == 100


def test_stream_checks_the_file_before_iteration(tmp_path):
    with pytest.raises(AudioNotFoundError):
        audio.stream(tmp_path / "missing.wav")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    path = tmp_path / "nan.wav"
    x = noise(16_000)
    x[12_345] = bad  # in a later block, after good blocks were yielded
    sf.write(path, x, 16_000, subtype="FLOAT")
    with pytest.raises(CorruptAudioError, match="NaN or infinite") as excinfo:
        list(audio.stream(path, block_duration=0.1))
    assert_names_file(excinfo, path)


# --- saving --------------------------------------------------------------------------------


def test_save_round_trip_pcm16(tmp_path):
    path = tmp_path / "out.wav"
    x = noise(16_000).astype(np.float64)
    audio.save(path, x)

    described = audio.info(path)
    assert (described.format, described.subtype, described.channels) == ("WAV", "PCM_16", 1)
    assert described.sample_rate == audio.SAMPLE_RATE
    np.testing.assert_allclose(audio.load(path), x, atol=2 / 32768)


def test_save_clips_out_of_range_pcm(tmp_path):
    path = tmp_path / "loud.wav"
    audio.save(path, np.array([1.5, -1.5, 0.5] * 200, dtype=np.float32))
    y = audio.load(path)
    assert y.max() == pytest.approx(1.0, abs=1e-4) and y.min() == pytest.approx(-1.0, abs=1e-4)


@pytest.mark.parametrize(("suffix", "fmt"), [("flac", "FLAC"), ("ogg", "OGG"), ("AIF", "AIFF")])
def test_save_format_follows_suffix(tmp_path, suffix, fmt):
    path = tmp_path / f"out.{suffix}"
    audio.save(path, sine(440.0, 0.5, 16_000))
    assert audio.info(path).format == fmt
    assert len(audio.load(path)) == pytest.approx(8_000, rel=0.01)


def test_save_creates_parents_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "b" / "out.wav"
    audio.save(path, noise(1_000), 8_000)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.wav"]
    assert audio.info(path).sample_rate == 8_000


def test_save_overwrites_existing_file(tmp_path):
    path = tmp_path / "out.wav"
    audio.save(path, noise(1_000))
    audio.save(path, noise(2_000))
    assert audio.info(path).num_samples == 2_000
    assert os.listdir(tmp_path) == ["out.wav"]


def test_save_under_a_file_raises_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("i am a file")
    with pytest.raises(OSError):
        audio.save(blocker / "out.wav", noise(1_000))
    assert os.listdir(tmp_path) == ["blocker"]
    assert blocker.read_text() == "i am a file"


def test_save_failure_removes_temporary_and_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.wav"
    audio.save(path, noise(1_000))

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        audio.save(path, noise(2_000))
    assert os.listdir(tmp_path) == ["out.wav"]
    assert audio.info(path).num_samples == 1_000


@pytest.mark.parametrize(
    "waveform",
    [np.zeros((2, 100)), np.zeros(()), np.zeros(100, dtype=np.int16)],
    ids=["2-D", "scalar", "integer"],
)
def test_save_rejects_non_mono_float(tmp_path, waveform):
    with pytest.raises(ValueError):
        audio.save(tmp_path / "out.wav", waveform)
    assert os.listdir(tmp_path) == []


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        audio.save(tmp_path / "out.xyz", noise(100))
    assert os.listdir(tmp_path) == []


def test_audio_errors_and_warnings_cross_process_boundaries(tmp_path):
    import pickle

    from proxyseg.errors import DamagedAudioWarning

    for error in (CorruptAudioError(tmp_path / "a.wav", "bad"), DamagedAudioWarning(tmp_path / "a.wav", "cut")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.path == error.path


def test_a_variable_bitrate_mp3_without_xing_header_is_decoded_to_its_end(tmp_path):
    """libsndfile would stop at the length it estimates from the loud first frame: about 3 s of 21."""
    rng = np.random.default_rng(0)
    quiet = 0.001 * np.sin(2 * np.pi * 200 * np.arange(16_000 * 20) / 16_000)
    path = tmp_path / "vbr.mp3"
    sf.write(path, np.concatenate([0.5 * rng.standard_normal(16_000), quiet]), 16_000, subtype="MPEG_LAYER_III")
    content = bytearray(path.read_bytes())
    start = content.index(b"Xing")
    content[start:start + 4] = bytes(4)  # the tag gone, its frame decodes as 576 samples of silence
    path.write_bytes(bytes(content))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        waveform = audio.load(path)
    assert len(waveform) / 16_000 == pytest.approx(21.0, abs=0.2)
    assert np.abs(waveform[-16_000:]).max() > 5e-4  # the quiet tone is there to the end
