import tracemalloc

import numpy as np
import pytest
import torch

from proxyseg.grid import num_feature_frames
from proxyseg.inference.chunks import SlidingInference, WindowedInference
from proxyseg.models.tcn import TCNSegmenter


def frame_energy_model(waveform: torch.Tensor) -> dict:
    """A frame-local model: the energy of each 400-sample frame, ``(batch, frame, 1)``."""
    frames = waveform.unfold(-1, 400, 320)
    return {"energy": (frames**2).mean(-1, keepdim=True)}


@pytest.mark.parametrize("samples", [400, 16000, 16000 * 5 + 123])
@pytest.mark.parametrize("window, step", [(50, 25), (50, 50), (7, 3)])
def test_windowed_inference_of_a_frame_local_model_equals_the_whole(samples, window, step):
    waveform = np.random.default_rng(samples).standard_normal(samples).astype(np.float32)
    expected = frame_energy_model(torch.from_numpy(waveform)[None])["energy"][0].numpy()
    result = WindowedInference(frame_energy_model, window, step)(waveform)["energy"]
    assert result.shape == (num_feature_frames(samples), 1)
    np.testing.assert_allclose(result, expected, rtol=1e-5)


@pytest.mark.parametrize("chunk_frames", [1, 13, 199, 10_000])
def test_sliding_inference_equals_the_whole_for_any_chunk(chunk_frames):
    torch.manual_seed(0)
    model = TCNSegmenter(repeats=2).eval()
    waveform = np.random.default_rng(1).standard_normal(16000 * 6).astype(np.float32) * 0.1
    with torch.inference_mode():
        whole = model(torch.from_numpy(waveform)[None])
    chunked = SlidingInference(model, model.receptive_field, chunk_frames)(waveform)
    for name in ("logits", "embedding"):
        assert np.abs(chunked[name] - whole[name][0].numpy()).max() < 1e-4


@pytest.mark.parametrize("block_samples", [1, 333, 16000, 10**6])
@pytest.mark.parametrize("samples", [400, 16000 * 3 + 77, 320 * 40 + 80])  # the last: exactly 40 frames
def test_streamed_inference_equals_the_whole_for_any_blocks(block_samples, samples):
    torch.manual_seed(0)
    model = TCNSegmenter(repeats=1).eval()
    waveform = np.random.default_rng(2).standard_normal(samples).astype(np.float32) * 0.1
    run = SlidingInference(model, model.receptive_field, chunk_frames=20)
    blocks = (waveform[start:start + block_samples] for start in range(0, samples, block_samples))
    pieces = list(run.stream(blocks))
    assert all(len(piece["logits"]) for piece in pieces)  # no empty chunk at the end
    with torch.inference_mode():
        whole = model(torch.from_numpy(waveform)[None])["logits"][0].numpy()
    assert np.abs(np.concatenate([piece["logits"] for piece in pieces]) - whole).max() < 1e-4


def test_streamed_inference_holds_only_what_a_chunk_needs():
    model = TCNSegmenter(repeats=1).eval()
    run = SlidingInference(model, model.receptive_field, chunk_frames=50)
    widths = []
    run.model = lambda chunk: (widths.append(chunk.shape[-1]), model(chunk))[1]
    seconds = 300
    blocks = (np.zeros(16000, np.float32) for _ in range(seconds))  # one second at a time
    tracemalloc.start()
    frames = sum(len(piece["logits"]) for piece in run.stream(blocks))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert frames == num_feature_frames(seconds * 16000)
    assert max(widths) == (50 + 2 * model.receptive_field - 1) * 320 + 400  # a chunk and its context, never more
    assert peak < seconds * 16000 * 4 / 20  # the waveform (19 MB as float32) is never held whole


def test_inputs_shorter_than_a_frame_are_refused():
    model = TCNSegmenter(repeats=1).eval()
    with pytest.raises(ValueError, match="shorter than one 25 ms frame"):
        SlidingInference(model, model.receptive_field)(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="shorter than one 25 ms frame"):
        list(SlidingInference(model, model.receptive_field).stream(iter([np.zeros(100, np.float32)] * 2)))
    with pytest.raises(ValueError, match="shorter than one 25 ms frame"):
        WindowedInference(frame_energy_model, 10)(np.zeros(399, np.float32))
