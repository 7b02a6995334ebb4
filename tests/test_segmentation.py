import numpy as np
import soundfile as sf

from proxyseg.audio import load
from proxyseg.segmentation import Segmenter


def test_a_file_is_segmented_as_a_stream_exactly_as_its_whole_waveform(tmp_path):
    rng = np.random.default_rng(0)
    seconds = 150  # more than two 60 s chunks and decoding blocks
    time = np.arange(seconds * 44100) / 44100
    tone = 0.3 * np.sin(2 * np.pi * 220 * time) * (time % 20 < 10)  # 10 s on, 10 s off
    stereo = np.stack([tone + 0.01 * rng.standard_normal(time.size), tone], axis=1).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, stereo, 44100)

    segmenter = Segmenter.from_pretrained()
    streamed = segmenter(path)
    whole = segmenter(load(path), uri="long")
    assert streamed.duration == whole.duration == seconds
    assert streamed.probabilities.shape == whole.probabilities.shape == (7499, 4)
    assert np.abs(streamed.probabilities - whole.probabilities).max() < 1e-4
    assert streamed.annotation == whole.annotation and len(streamed.annotation) > 0
