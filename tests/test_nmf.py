import numpy as np
import pytest

from proxyseg.errors import ModelError
from proxyseg.nmf import Dictionary, learn_dictionary


@pytest.fixture
def known():
    """X = W H with two spectral shapes and sparse activations (each atom alone on some frames,
    which makes the factorisation unique up to order and scale)."""
    rng = np.random.default_rng(0)
    # Strictly positive, as real spectra are: Itakura-Saito is undefined on exact zeros.
    atoms = np.array([[3, 2, 1, 0.05, 0.05, 0.05], [0.05, 0.05, 0.05, 1, 2, 3]]).T
    atoms /= np.linalg.norm(atoms, axis=0)
    activations = rng.uniform(0.5, 2.0, size=(2, 80)) * (rng.random((2, 80)) > 0.4) + 0.01
    return atoms, activations, atoms @ activations


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0])
def test_a_known_factorisation_is_recovered(known, beta):
    atoms, _, spectrogram = known
    dictionary = learn_dictionary([spectrogram[:, :40], spectrogram[:, 40:]], rank=2, beta=beta, sparsity=0.0,
                                  max_iter=1000)
    assert np.allclose(np.linalg.norm(dictionary.atoms, axis=0), 1.0, atol=1e-5)
    assert np.all(dictionary.atoms >= 0)
    similarity = dictionary.atoms.T @ atoms  # cosine: columns have unit norm
    assert np.all(similarity.max(axis=1) > 0.99)  # each learnt atom is one of the true ones
    reconstruction = dictionary.atoms @ dictionary.transform(spectrogram, max_iter=1000)
    assert np.linalg.norm(reconstruction - spectrogram) / np.linalg.norm(spectrogram) < 0.02


def test_transform_with_the_true_dictionary_gives_the_true_activations(known):
    atoms, activations, spectrogram = known
    estimated = Dictionary(atoms.astype(np.float32), beta=2.0, sparsity=0.0).transform(spectrogram, max_iter=2000)
    np.testing.assert_allclose(estimated, activations, rtol=0.02, atol=1e-3)


def test_sparsity_shrinks_the_activations(known):
    atoms, _, spectrogram = known
    dense = Dictionary(atoms.astype(np.float32), beta=2.0, sparsity=0.0).transform(spectrogram)
    sparse = Dictionary(atoms.astype(np.float32), beta=2.0, sparsity=50.0).transform(spectrogram)
    assert sparse.sum() < dense.sum()


def test_save_and_load_round_trip(known, tmp_path):
    dictionary = learn_dictionary([known[2]], rank=2, beta=2.0, sparsity=0.5)
    loaded = Dictionary.load(dictionary.save(tmp_path / "nmf"))
    np.testing.assert_array_equal(loaded.atoms, dictionary.atoms)
    assert (loaded.beta, loaded.sparsity) == (2.0, 0.5)
    (tmp_path / "nmf" / "dictionary.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not an NMF dictionary"):
        Dictionary.load(tmp_path / "nmf")


def test_bad_inputs_are_refused(known):
    with pytest.raises(ValueError, match="beta"):
        learn_dictionary([known[2]], rank=2, beta=0.5)
    with pytest.raises(ValueError, match="non-negative"):
        learn_dictionary([-known[2]], rank=2)
    with pytest.raises(ValueError, match="rank"):
        learn_dictionary([known[2]], rank=10)


def test_dictionary_segments_hold_one_class_alone(tiny_corpus):
    from proxyseg.training.dictionary import single_class_segments

    segments = single_class_segments(tiny_corpus, {"speech": 5, "music": 5, "noise": 5}, seed=1)
    assert set(segments) == {"speech", "music", "noise"}
    for waveforms in segments.values():
        for waveform in waveforms:
            assert 16000 <= waveform.shape[0] <= 4 * 16000
    assert segments["music"]  # the synthetic corpus has music-only stretches


def test_nmf_learn_command_writes_a_dictionary(tiny_corpus, tmp_path):
    from click.testing import CliRunner

    from proxyseg.cli import cli

    result = CliRunner().invoke(cli, ["nmf", "learn", str(tiny_corpus.root), "-o", str(tmp_path / "nmf"),
                                      "--rank", "8", "--max-iter", "5"])
    assert result.exit_code == 0, result.output
    dictionary = Dictionary.load(tmp_path / "nmf")
    assert dictionary.atoms.shape == (257, 8) and dictionary.beta == 2.0
