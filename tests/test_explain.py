import numpy as np
import pytest

from proxyseg.explain.listening import component_mask, separate, stft
from proxyseg.explain.relevance import (BIN_FREQUENCIES, band, global_relevance, local_relevance, prototypes,
                                        relevant_components)
from proxyseg.grid import num_feature_frames


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return 10 * np.log10(np.sum(reference**2) / max(np.sum((reference - estimate) ** 2), 1e-30))


def test_global_relevance_matches_hand_computed_values():
    activations = np.array([[1.0, 3.0], [4.0, 0.0], [0.0, 0.0]])  # means 2, 2, 0
    weights = np.array([[1.0, 0.5, 9.0], [-1.0, -2.0, 0.0]])  # class 0, class 1 (never pushed up)
    relevance = global_relevance(activations, weights)
    np.testing.assert_allclose(relevance[:, 0], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(relevance[:, 1], [0.0, 0.0, 0.0])
    # over frame 1 only, component 1 is silent
    np.testing.assert_allclose(global_relevance(activations, weights, np.array([False, True]))[:, 0], [1.0, 0.0, 0.0])
    # per-class frames: class 0 over frame 0 only
    frames = np.array([[True, True], [False, True]])
    np.testing.assert_allclose(global_relevance(activations, weights, frames)[:, 0], [0.5, 1.0, 0.0])  # z = 1, 4, 0


def test_local_relevance_is_activation_times_weight():
    activations = np.array([[1.0, 2.0], [0.5, 0.0]])
    weights = np.array([[2.0, -4.0]])
    local = local_relevance(activations, weights)
    assert local.shape == (2, 1, 2)
    np.testing.assert_allclose(local[:, 0, :], [[2.0, 4.0], [-2.0, 0.0]])
    np.testing.assert_allclose(local.sum(axis=0)[0], [0.0, 4.0])  # the logit minus the bias


def test_relevant_components_are_sorted_and_thresholded():
    relevance = np.array([[0.6, 0.1], [1.0, 0.9], [0.2, 1.0]])
    chosen = relevant_components(relevance, threshold=0.5)
    assert chosen[0].tolist() == [1, 0] and chosen[1].tolist() == [2, 1]


def test_prototypes_weigh_atoms_by_positive_relevance():
    dictionary = np.zeros((257, 2))
    dictionary[4:33, 0] = 1.0  # 125 Hz – 1 kHz
    dictionary[64:129, 1] = 1.0  # 2 – 4 kHz
    relevance = np.array([[1.0, -0.5], [0.25, 1.0]])
    prototype = prototypes(relevance, dictionary)
    np.testing.assert_allclose(prototype[10], [1.0, 0.0])
    np.testing.assert_allclose(prototype[100], [0.25, 1.0])
    # Against a flat reference, each band is the third-octave bands the dominant atom spans.
    flat = np.ones(257)
    assert band(prototype[:, 0], flat) == pytest.approx((111.4, 1122.5), abs=0.1)
    assert band(prototype[:, 1], flat) == pytest.approx((1781.8, 4489.8), abs=0.1)
    assert BIN_FREQUENCIES[-1] == 8000.0


def test_a_band_is_the_run_of_third_octaves_most_above_the_reference():
    reference = np.full(257, 2.0)
    prototype = reference.copy()
    prototype[3:6] = 4.0  # 94–156 Hz: three third-octave bands doubled
    prototype[72:144] = 3.0  # 2.25–4.47 kHz: three third-octave bands, half as much again
    # The spectra are compared as shares of their mass, band by band, in log-ratio: the low run wins.
    assert band(prototype, reference) == pytest.approx((88.4, 176.8), abs=0.1)
    prototype[72:144] = 8.0  # now the high run stands out more
    assert band(prototype, reference) == pytest.approx((2244.9, 4489.8), abs=0.1)
    assert band(10 * prototype, reference) == band(prototype, reference)  # scale does not matter
    assert band(reference, reference) == (0.0, 0.0)  # nowhere above
    assert band(np.zeros(257), reference) == (0.0, 0.0)


def test_a_mask_and_its_complement_add_back_to_the_input():
    rng = np.random.default_rng(0)
    waveform = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    frames = num_feature_frames(waveform.shape[0])
    activations = rng.random((6, frames))
    dictionary = rng.random((257, 6))
    mask = component_mask(activations, dictionary, np.array([0, 3]))
    assert mask.shape == (257, frames) and np.all((mask >= 0) & (mask <= 1))
    np.testing.assert_allclose(component_mask(activations, dictionary, np.arange(6)), 1.0)
    np.testing.assert_allclose(component_mask(activations, dictionary, np.array([], dtype=int)), 0.0)
    kept, rest = separate(waveform, mask)
    assert kept.shape == rest.shape == waveform.shape
    assert _snr_db(waveform, kept + rest) >= 30
    everything, nothing = separate(waveform, np.ones_like(mask))
    assert _snr_db(waveform, everything) >= 30 and np.max(np.abs(nothing)) < 1e-4


def test_the_components_of_a_band_give_back_that_band():
    t = np.arange(16000 * 2) / 16000
    low, high = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 4000 * t)
    waveform = (0.3 * (low + high)).astype(np.float32)
    dictionary = np.zeros((257, 2))
    dictionary[:64, 0] = 1.0  # below 2 kHz
    dictionary[64:, 1] = 1.0  # above
    activations = np.ones((2, num_feature_frames(waveform.shape[0])))
    kept, rest = separate(waveform, component_mask(activations, dictionary, np.array([0])))
    middle = slice(1600, -1600)  # away from the edges
    assert np.corrcoef(kept[middle], low[middle])[0, 1] > 0.99
    assert np.corrcoef(rest[middle], high[middle])[0, 1] > 0.99


def test_the_synthesis_stft_frames_every_8_ms():
    assert stft(np.zeros(16000, dtype=np.float32)).shape == (257, 16000 // 128 + 1)


def test_an_explanation_has_the_documented_schema_classes_bands_and_audio_shapes(tiny_corpus):
    """The structure of the shipped proxy's explanation of a file: schema, the four classes, sorted
    relevance above the threshold, bands within 0–8 kHz, audio and faithfulness figures for the
    classes tested and none for the others. Whether the figures show faithfulness is
    ``tests/test_faithfulness.py``'s."""
    from proxyseg.audio import load
    from proxyseg.explain.explainer import Explainer
    from proxyseg.explain.result import SCHEMA

    uri = tiny_corpus.uris("test")[0]
    waveform = load(tiny_corpus.audio_path(uri))
    explanation = Explainer.from_pretrained(random_draws=2)(waveform, uri)
    document = explanation.to_json()
    assert document["schema"] == SCHEMA and document["input"]["uri"] == uri
    assert set(document["classes"]) == {"speech", "music", "noise", "overlap"}
    for name, item in explanation.classes.items():
        described = document["classes"][name]
        assert np.all(item.relevance > 0.5) and np.all(np.diff(item.relevance) <= 0)
        assert 0 <= described["band_hz"][0] <= described["band_hz"][1] <= 8000
        if item.detected and len(item.components):
            assert item.audio.shape == waveform.shape
            assert all(isinstance(value, float) for value in described["faithfulness"].values())
        else:
            assert item.audio is None and set(described["faithfulness"].values()) == {None}
    assert any(item.detected for item in explanation.classes.values())
    assert explanation.activations.shape == (128, explanation.proxy_probabilities.shape[0])


def test_a_long_file_explained_window_by_window_matches_one_window(tiny_corpus):
    from proxyseg.audio import load
    from proxyseg.explain.explainer import Explainer

    waveform = load(tiny_corpus.audio_path(tiny_corpus.uris("train")[0]))  # 30 s, in three windows
    whole = Explainer.from_pretrained(random_draws=0, window=3600)(waveform, "long")
    windowed = Explainer.from_pretrained(random_draws=0, window=10)(waveform, "long")
    assert windowed.duration == whole.duration == len(waveform) / 16000
    # The teacher runs over the whole file either way; the proxy's frames tile the file exactly.
    np.testing.assert_array_equal(windowed.detected, whole.detected)
    assert windowed.proxy_probabilities.shape == whole.proxy_probabilities.shape
    # Relevance, components, bands: the same but for what the windows' edges change.
    assert np.abs(windowed.relevance - whole.relevance).max() < 0.1
    for name, item in whole.classes.items():
        other = windowed.classes[name]
        assert len(set(item.components) ^ set(other.components)) <= 2
        if other.tested:
            # Each window's audio and its rest add back to the input, over the whole file.
            assert other.audio.shape == waveform.shape
            error = np.sum((other.audio + other.complement - waveform) ** 2)
            assert 10 * np.log10(np.sum(waveform**2) / error) >= 30


def test_explaining_a_long_file_reports_each_pass_window_by_window(tiny_corpus):
    from proxyseg.audio import load
    from proxyseg.explain.explainer import STAGES, Explainer

    waveform = load(tiny_corpus.audio_path(tiny_corpus.uris("train")[0]))  # 30 s, in three windows
    told = []
    Explainer.from_pretrained(random_draws=0, window=10).explain(
        lambda: (waveform[start:start + 16000 * 4] for start in range(0, len(waveform), 16000 * 4)), "long",
        progress=lambda stage, seconds: told.append((stage, seconds)))
    for stage in STAGES:
        seconds = [value for name, value in told if name == stage]
        assert sum(seconds) == pytest.approx(len(waveform) / 16000)
        assert len(seconds) == (8 if stage == STAGES[0] else 3)  # the teacher per block, the others per window
    assert [name for name, _ in told] == sorted((name for name, _ in told), key=STAGES.index)  # pass after pass
