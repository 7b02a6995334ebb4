"""Shared fixtures: small synthetic source folders that build a corpus in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RATE = 22_050  # not 16 kHz, so that every build also exercises resampling


def _voice(rng: np.random.Generator, pitch: float, duration: float) -> np.ndarray:
    """A harmonic 'syllable train': voiced bursts separated by short pauses."""
    t = np.arange(int(duration * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 8))
    syllables = (np.sin(2 * np.pi * rng.uniform(3.0, 5.0) * t) > -0.3).astype(float)
    edges = int(0.15 * RATE)
    syllables[:edges] = syllables[-edges:] = 0.0  # leading and trailing silence, as in real takes
    return 0.3 * voiced * syllables / 7


def _music(rng: np.random.Generator, duration: float) -> np.ndarray:
    t = np.arange(int(duration * RATE)) / RATE
    root = rng.uniform(110, 220)
    return 0.1 * sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.25, 1.5, 2.0))


def _noise(rng: np.random.Generator, duration: float) -> np.ndarray:
    return 0.1 * rng.standard_normal(int(duration * RATE))


@pytest.fixture(scope="session")
def source_folder(tmp_path_factory) -> Path:
    """``speech/<speaker>/*.wav`` (6 speakers), ``music/*.wav`` (4 tracks), ``noise/*`` (4 recordings)."""
    root = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    for speaker in range(6):
        for take in range(3):
            path = root / "speech" / f"spk{speaker}" / f"take{take}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, _voice(rng, 100 + 25 * speaker, rng.uniform(1.5, 4.0)), RATE)
    (root / "music").mkdir()
    for track in range(4):
        sf.write(root / "music" / f"track{track}.flac", _music(rng, 12.0), RATE)
    (root / "noise").mkdir()
    for recording in range(4):
        sf.write(root / "noise" / f"recording{recording}.wav", _noise(rng, 3.0), RATE)
    return root


@pytest.fixture(scope="session")
def tiny_corpus(source_folder, tmp_path_factory):
    """A 3-minute corpus (4 train, 1 dev, 1 test files) mixed from the synthetic sources.

    Mixed without the conditions added since (distant talkers, backchannels, band-limited sources;
    30 % reverberant scenes): the scenes several tests' figures were measured on (a music-only
    stretch, the faithfulness margins of the test file). tests/test_corpus_scene.py tests those conditions.
    """
    from proxyseg.corpus import build_corpus
    from proxyseg.corpus.scene import MixingConfig

    earlier = MixingConfig(reverb_probability=0.3, distant_talker_probability=0.0, backchannel_probability=0.0,
                           band_limit_probability=0.0)
    return build_corpus(tmp_path_factory.mktemp("tiny") / "corpus", hours=0.05, seed=3, sources=source_folder,
                        group_depth=1, cache_dir=tmp_path_factory.mktemp("tiny-cache"), jobs=1, progress=False,
                        mixing=earlier)


@pytest.fixture(scope="session")
def segmenter():
    """The shipped proxy's segmenter."""
    from proxyseg.segmentation import Segmenter

    return Segmenter.from_pretrained()
