"""Channels a scene may be heard through: band, codecs, alignment with the labels."""

import json

import numpy as np
import pytest

from proxyseg.corpus import build_corpus
from proxyseg.corpus.conditions import CHANNELS, through_channel
from proxyseg.corpus.scene import MixingConfig

RATE = 16000


def _tone(frequency: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _level_db(samples: np.ndarray) -> float:
    return 10 * np.log10(np.mean(samples[RATE // 4:-RATE // 4] ** 2) + 1e-12)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_channel_keeps_the_length_and_the_timing_of_the_scene(channel):
    """Speech-like bursts (a gated 1 kHz tone) come out where they went in: the codecs' delays are undone."""
    gate = (np.arange(3 * RATE) // 2400) % 3 == 0  # 150 ms on, 300 ms off
    bursts = _tone(1000, 3.0) * gate
    heard = through_channel(bursts, channel, np.random.default_rng(0))
    assert heard.shape == bursts.shape and heard.dtype == np.float32
    envelope = lambda x: np.convolve(np.abs(x), np.ones(160) / 160, mode="same")  # noqa: E731
    shifts = range(-400, 401, 20)
    scores = [np.dot(np.roll(envelope(heard), -shift), envelope(bursts)) for shift in shifts]
    assert abs(list(shifts)[int(np.argmax(scores))]) <= 40  # within 2.5 ms


@pytest.mark.parametrize("channel", ["telephone", "mulaw", "gsm"])
def test_the_telephone_channels_keep_300_to_3400_hz_only(channel):
    rng = np.random.default_rng(0)
    kept = _level_db(through_channel(_tone(1000), channel, rng)) - _level_db(_tone(1000))
    for frequency in (100, 6000):
        lost = _level_db(through_channel(_tone(frequency), channel, rng)) - _level_db(_tone(frequency))
        assert lost < kept - 25, (frequency, lost, kept)
    assert abs(kept) < 3


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="unknown channel 'radio'"):
        through_channel(_tone(1000), "radio", np.random.default_rng(0))


def test_a_corpus_heard_through_channels_keeps_the_labels_of_the_clean_scenes(source_folder, tmp_path):
    def build(name, probability):
        return build_corpus(tmp_path / name, hours=0.02, seed=5, sources=source_folder, group_depth=1,
                            cache_dir=tmp_path / "cache", jobs=1, progress=False,
                            mixing=MixingConfig(channel_probability=probability))

    clean, heard = build("clean", 0.0), build("heard", 1.0)
    scenes = json.loads((heard.root / "scenes.json").read_text())
    assert {scene["channel"] for scene in scenes.values()} <= set(CHANNELS)
    assert all(scene["channel"] is None for scene in json.loads((clean.root / "scenes.json").read_text()).values())
    for uri in scenes:
        assert (clean.root / "rttm" / f"{uri}.rttm").read_text() == (heard.root / "rttm" / f"{uri}.rttm").read_text()
        assert (clean.root / "audio" / f"{uri}.wav").read_bytes() != (heard.root / "audio" / f"{uri}.wav").read_bytes()
