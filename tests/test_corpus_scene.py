import dataclasses

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from proxyseg.corpus.activity import frame_energy
from proxyseg.corpus.prepare import prepare_sources
from proxyseg.corpus.scene import MixingConfig, SourcePool, mix_scene
from proxyseg.corpus.sources import folder_sources
from proxyseg.grid import HOP_LENGTH
from proxyseg.labels import CLASSES

SPEECH, MUSIC, NOISE, OVERLAP = range(4)


@pytest.fixture(scope="module")
def pool(source_folder, tmp_path_factory) -> SourcePool:
    prepared = prepare_sources(folder_sources(source_folder, group_depth=1), tmp_path_factory.mktemp("cache"))
    speakers = {}
    for item in prepared:
        if item.source.kind == "speech":
            speakers.setdefault(item.source.group, []).append(item)
    return SourcePool(speakers, [p for p in prepared if p.source.kind == "music"],
                      [p for p in prepared if p.source.kind == "noise"])


def frame_energies(signal: np.ndarray) -> np.ndarray:
    return frame_energy(signal)


def sounding(signal: np.ndarray, bridge: int) -> np.ndarray:
    """Frames where ``signal`` has energy, widened by ``bridge`` frames (labels bridge short gaps)."""
    return binary_dilation(frame_energies(signal) > 0, iterations=bridge)


@pytest.mark.parametrize("seed", range(8))
def test_labels_agree_with_the_sources_mixed_in(pool, seed):
    scene = mix_scene(pool, np.random.default_rng(seed))
    assert scene.waveform.dtype == np.float32
    assert scene.waveform.shape == (30 * 16000,)
    assert scene.labels.shape == (1500, len(CLASSES))
    # The stems add up to the mixture.
    np.testing.assert_allclose(sum(scene.stems.values()), scene.waveform, atol=1e-5)
    # A labelled frame has its source sounding in it or within a bridged pause (0.2 s for speech).
    talkers = [sounding(s, 10) for n, s in scene.stems.items() if n.startswith("talker:")]
    speaking = np.sum(talkers, axis=0) if talkers else np.zeros(1500)
    assert np.all(speaking[scene.labels[:, SPEECH]] >= 1)
    assert np.all(speaking[scene.labels[:, OVERLAP]] >= 2)
    for index, stem, bridge in ((MUSIC, "music", 25), (NOISE, "noise", 15)):
        assert np.all(sounding(scene.stems[stem], bridge)[scene.labels[:, index]])
        # Where the stem is within 20 dB of its loudest frame, the label is set.
        energy = frame_energies(scene.stems[stem])
        if energy.max() > 0:
            assert np.all(scene.labels[energy > energy.max() * 1e-2, index])
    # Overlap implies speech.
    assert not np.any(scene.labels[:, OVERLAP] & ~scene.labels[:, SPEECH])


def test_talkers_loud_frames_are_labelled_speech_when_dry(pool):
    config = dataclasses.replace(MixingConfig(), reverb_probability=0.0, program_weights=(1, 0, 0, 0))
    scene = mix_scene(pool, np.random.default_rng(0), config)
    for name, stem in scene.stems.items():
        if name.startswith("talker:"):
            energy = frame_energies(stem)
            assert np.all(scene.labels[energy > energy.max() * 1e-2, SPEECH])


def test_overlap_share_over_many_scenes_is_between_10_and_20_percent_of_speech(pool):
    labels = np.concatenate([mix_scene(pool, np.random.default_rng(seed)).labels for seed in range(40)])
    share = labels[:, OVERLAP].sum() / labels[:, SPEECH].sum()
    assert 0.10 <= share <= 0.20


def test_all_classes_occur_and_some_scenes_are_reverberant(pool):
    scenes = [mix_scene(pool, np.random.default_rng(seed)) for seed in range(20)]
    labels = np.concatenate([scene.labels for scene in scenes])
    assert labels.any(axis=0).all()
    assert 0 < sum(scene.reverberant for scene in scenes) < 20
    # Some frames carry no label at all: silence stretches exist.
    assert (~labels.any(axis=1)).sum() > 0


def test_the_same_generator_state_gives_the_same_scene(pool):
    first, second = (mix_scene(pool, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(first.waveform, second.waveform)
    assert np.array_equal(first.labels, second.labels)


def test_peak_level_is_varied_and_never_clips(pool):
    peaks = [float(np.abs(mix_scene(pool, np.random.default_rng(seed)).waveform).max()) for seed in range(6)]
    assert max(peaks) <= 10 ** (-1 / 20) + 1e-6
    assert max(peaks) / min(peaks) > 1.5


def test_frames_are_aligned_with_the_sample_grid():
    assert HOP_LENGTH == 320


def test_backchannels_are_the_only_overlap_when_turns_never_overlap(pool, monkeypatch):
    import proxyseg.corpus.scene as scene_module

    monkeypatch.setattr(scene_module, "BACKCHANNEL_SECONDS", 5.0)  # the fixture's takes last 1.5–4 s
    turns = dataclasses.replace(MixingConfig(), program_weights=(1, 0, 0, 0), overlap_probability=0.0,
                                backchannel_probability=0.0)
    answered = dataclasses.replace(turns, backchannel_probability=1.0)
    without = np.concatenate([mix_scene(pool, np.random.default_rng(seed), turns).labels for seed in range(6)])
    with_them = [mix_scene(pool, np.random.default_rng(seed), answered) for seed in range(6)]
    assert not without[:, OVERLAP].any()
    assert sum(scene.labels[:, OVERLAP].sum() for scene in with_them) > 0
    for scene in with_them:  # a backchannel overlaps the turn it answers: two talkers, never three
        talkers = [sounding(s, 10) for n, s in scene.stems.items() if n.startswith("talker:")]
        assert np.all(np.sum(talkers, axis=0)[scene.labels[:, OVERLAP]] >= 2)


def test_a_distant_talker_is_far_quieter_than_the_others(pool):
    config = dataclasses.replace(MixingConfig(), program_weights=(1, 0, 0, 0), reverb_probability=0.0,
                                 section_counts=(1,), section_count_weights=(1.0,), three_talkers=0.0,
                                 distant_talker_probability=1.0, distant_level=(-30.0, -30.0))
    for seed in range(4):
        scene = mix_scene(pool, np.random.default_rng(seed), config)
        levels = sorted(10 * np.log10(np.mean(stem[np.abs(stem) > 0] ** 2))
                        for name, stem in scene.stems.items() if name.startswith("talker:"))
        assert len(levels) == 2 and levels[1] - levels[0] > 15  # 30 dB, less the ±4 and ±2 dB spreads


def test_noise_can_be_labelled_only_where_it_is_heard(pool):
    from scipy.ndimage import uniform_filter1d

    heard_only = dataclasses.replace(MixingConfig(), noise_audibility_db=10.0)
    dropped = 0
    for seed in range(8):
        every = mix_scene(pool, np.random.default_rng(seed))
        heard = mix_scene(pool, np.random.default_rng(seed), heard_only)
        np.testing.assert_array_equal(every.waveform, heard.waveform)  # the same scene, other noise labels
        np.testing.assert_array_equal(np.delete(every.labels, NOISE, 1), np.delete(heard.labels, NOISE, 1))
        assert not np.any(heard.labels[:, NOISE] & ~every.labels[:, NOISE])
        rest = sum(stem for name, stem in heard.stems.items() if name != "noise")
        own, other = (uniform_filter1d(frame_energies(s), 25, mode="nearest") for s in (heard.stems["noise"], rest))
        assert np.all(own[heard.labels[:, NOISE]] >= other[heard.labels[:, NOISE]] * 0.1)
        dropped += int((every.labels[:, NOISE] & ~heard.labels[:, NOISE]).sum())
    assert dropped > 0


def test_band_limited_sources_keep_nothing_above_their_cut_off(pool):
    narrow = dataclasses.replace(MixingConfig(), band_limit_probability=1.0, band_limit=(3400.0, 3400.0))
    for seed in range(3):
        scene = mix_scene(pool, np.random.default_rng(seed), narrow)
        for name, stem in scene.stems.items():
            if name == "floor" or not np.any(stem):
                continue
            power = np.abs(np.fft.rfft(stem)) ** 2
            frequencies = np.fft.rfftfreq(stem.shape[0], 1 / 16000)
            assert power[frequencies > 4500].sum() < 1e-3 * power.sum(), name
