"""Input features computed once per whole file: the cache, the model fed them, and whole-file inference."""

import numpy as np
import torch
from safetensors import safe_open

from proxyseg.features import LogMel
from proxyseg.grid import num_feature_frames
from proxyseg.inference.chunks import WholeFileInference
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.training.data import AnnotatedFile, ChunkDataset
from proxyseg.training.feature_cache import FeatureCache, attach_features


def _waveform(seed: int, seconds: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * 16_000)).astype(np.float32) * 0.1


class _Counting(torch.nn.Module):
    """Log-mel features that count how often they run."""

    def __init__(self, n_mels: int = 8):
        super().__init__()
        self.inner, self.calls, self.n_mels = LogMel(n_mels), 0, n_mels

    def get_config(self) -> dict:
        return {"n_mels": self.n_mels}

    def forward(self, waveform):
        self.calls += 1
        return self.inner(waveform)


def test_features_are_computed_once_per_audio_and_kept(tmp_path):
    module = _Counting()
    cache = FeatureCache(module, "logmel", tmp_path)
    waveform = _waveform(0)
    first = cache(waveform)
    assert first.dtype == np.float16 and first.shape == (num_feature_frames(len(waveform)), 8)
    expected = module.inner(torch.from_numpy(waveform)[None])[0].T.numpy()
    np.testing.assert_allclose(first, expected, rtol=2e-3, atol=2e-3)
    again = FeatureCache(module, "logmel", tmp_path)(waveform)  # a resumed run: read, not computed
    assert module.calls == 1 and np.array_equal(again, first)
    other = cache(_waveform(1))  # other audio: its own entry
    assert module.calls == 2 and not np.array_equal(other, first) and len(list(tmp_path.iterdir())) == 2


def test_other_features_never_reuse_a_cached_entry(tmp_path):
    waveform = _waveform(0)
    FeatureCache(_Counting(8), "logmel", tmp_path)(waveform)
    wider = _Counting(16)
    assert FeatureCache(wider, "logmel", tmp_path)(waveform).shape[1] == 16 and wider.calls == 1
    for path in tmp_path.iterdir():
        with safe_open(str(path), framework="numpy") as handle:
            assert '"features": "logmel"' in handle.metadata()["features"]


def test_a_damaged_entry_is_computed_again(tmp_path):
    module = _Counting()
    cache = FeatureCache(module, "logmel", tmp_path)
    first = cache(_waveform(0))
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"not safetensors")
    assert np.array_equal(cache(_waveform(0)), first) and module.calls == 2


def test_attached_features_are_sliced_with_their_chunks(tmp_path):
    waveform = _waveform(0, seconds=6.0)
    frames = num_feature_frames(len(waveform))
    file = AnnotatedFile("a", waveform, np.zeros((frames, 4), dtype=bool), np.ones((frames, 4), dtype=bool))
    attach_features([file], FeatureCache(_Counting(), "logmel", tmp_path))
    chunk = ChunkDataset([file], chunk_duration=2.0)[1]
    assert len(chunk) == 4 and chunk[3].shape == (chunk[1].shape[0], 8)
    first = 100  # the second 2 s chunk starts at frame 100
    np.testing.assert_array_equal(chunk[3].numpy(), file.features[first:first + chunk[1].shape[0]].astype(np.float32))


def test_a_model_given_its_features_gives_what_it_computes_itself():
    model = TCNSegmenter(features="logmel", n_mels=16, repeats=1).eval()
    waveform = torch.from_numpy(_waveform(2))[None]
    with torch.no_grad():
        own = model(waveform)
        given = model(waveform, model.features(waveform).transpose(1, 2))
        other = model(waveform, torch.zeros_like(model.features(waveform)).transpose(1, 2))
    assert torch.allclose(own["logits"], given["logits"], atol=1e-6)
    assert not torch.allclose(own["logits"], other["logits"], atol=1e-3)  # the features given are used


def test_whole_file_inference_runs_the_model_on_the_whole_files_features():
    model = TCNSegmenter(features="logmel", n_mels=16, repeats=1).eval()
    waveform = _waveform(3, seconds=5.0)
    outputs = WholeFileInference(model, model.features)(waveform)
    with torch.no_grad():
        whole = model(torch.from_numpy(waveform)[None])
    assert outputs["logits"].shape == (num_feature_frames(len(waveform)), 4)
    np.testing.assert_allclose(outputs["logits"], whole["logits"][0].numpy(), atol=1e-5)
