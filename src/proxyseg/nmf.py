"""The NMF dictionary W that ties the proxy's activations to the frequency domain (DESIGN §1).

``X ≈ W H`` with ``X`` a non-negative spectrogram ``(freq, frame)``, ``W`` the dictionary
``(freq, component)`` and ``H`` the activations ``(component, frame)``. The dictionary is learnt
with scikit-learn's multiplicative-update NMF (β-divergence: 0 Itakura-Saito, 1 Kullback-Leibler,
2 Euclidean), with an L1 penalty on the activations, then its columns are scaled to unit L2 norm
(the scale moves into ``H``) and it is kept fixed.

scikit-learn's convention is ``X.T ≈ A B`` with samples in rows; here frames are samples, so its
``components_`` are ``W.T`` and its per-sample codes are ``H.T``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from sklearn.decomposition import NMF, non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

from proxyseg import __version__
from proxyseg.atomic import atomic_output, write_json
from proxyseg.errors import ModelError, OutputError
from proxyseg.features import NMF_SPECTROGRAM
from proxyseg.model_files import open_tensors, read_json
from proxyseg.ownership import ForeignMarker, read_marker
from proxyseg.schema import Choice, Fields, Integer, Number, Text

#: Itakura-Saito and Kullback-Leibler are undefined on exact zeros (digital silence): a floor
#: far below any audible bin of log(1 + |STFT|²) keeps them finite.
EPSILON = 1e-6
BETA_LOSSES = {0.0: "itakura-saito", 1.0: "kullback-leibler", 2.0: "frobenius"}
#: Frequency bins of a dictionary read from a file (ours have 257).
MAX_BINS = 4097
#: What ``dictionary.json`` may hold.
_SCHEMA = Fields({"type": Choice(("nmf_dictionary",)), "rank": Integer(1, 4096), "beta": Choice(tuple(BETA_LOSSES)),
                  "sparsity": Number(0.0, 1e6), "spectrogram": Choice((NMF_SPECTROGRAM,)),
                  "proxyseg_version": Text(100)}, required=("rank",))


@dataclass
class Dictionary:
    """A fixed NMF dictionary and how it was learnt.

    Attributes
    ----------
    atoms
        ``W``, float32 ``(freq, component)``, non-negative, columns of unit L2 norm.
    beta, sparsity
        β of the divergence and the L1 weight on the activations used to learn it (and to
        compute activations with :meth:`transform`).
    """

    atoms: np.ndarray
    beta: float = 2.0
    sparsity: float = 1.0

    @property
    def rank(self) -> int:
        """Number of components."""
        return self.atoms.shape[1]

    def transform(self, spectrogram: np.ndarray, max_iter: int = 200) -> np.ndarray:
        """Activations ``H`` (component, frame) of a spectrogram ``(freq, frame)`` with ``W`` fixed.

        Examples
        --------
        >>> atoms = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> activations = Dictionary(atoms, beta=2.0, sparsity=0.0).transform(np.array([[2.0, 0.0], [0.0, 3.0]]))
        >>> np.round(activations, 2)
        array([[2., 0.],
               [0., 3.]], dtype=float32)
        """
        spectrogram = _checked(spectrogram, self.atoms.shape[0])
        codes, _, _ = non_negative_factorization(
            spectrogram.T + EPSILON, H=self.atoms.T.astype(np.float64), n_components=self.rank, init="custom",
            update_H=False, solver="mu", beta_loss=BETA_LOSSES[self.beta], max_iter=max_iter, tol=0.0,
            alpha_W=sklearn_alpha(self.sparsity, spectrogram.shape[0]), l1_ratio=1.0)
        return codes.T.astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        """Write ``dictionary.safetensors`` + ``dictionary.json`` into ``directory``, the JSON last (an
        earlier one removed first: a run killed in between leaves no dictionary, not a mismatched one)."""
        directory = Path(directory)
        try:  # only a dictionary of ours is replaced
            read_marker(directory / "dictionary.json", lambda content: content.get("type") == "nmf_dictionary")
        except ForeignMarker as error:
            raise OutputError(f"{directory} holds a dictionary.json that is not proxyseg's ({error}); choose an "
                              "empty or new folder") from None
        (directory / "dictionary.json").unlink(missing_ok=True)
        with atomic_output(directory / "dictionary.safetensors") as partial:
            save_file({"atoms": np.ascontiguousarray(self.atoms, dtype=np.float32)}, str(partial))
        write_json(directory / "dictionary.json", {"type": "nmf_dictionary", "rank": self.rank, "beta": self.beta,
                                                   "sparsity": self.sparsity, "spectrogram": NMF_SPECTROGRAM,
                                                   "proxyseg_version": __version__})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Dictionary:
        """Read a dictionary written by :meth:`save`, as :func:`proxyseg.artefacts.load_model` reads a
        model: regular files inside ``directory`` only, strict JSON checked against its schema, the
        tensor's header checked before it is read.

        Raises
        ------
        ModelError
            Naming the file and what is wrong with it.
        """
        directory = Path(directory)
        try:
            config = read_json(directory, "dictionary.json", _SCHEMA)
            with open_tensors(directory, "dictionary.safetensors", framework="numpy") as handle:
                layout = {key: (handle.get_slice(key).get_shape(), handle.get_slice(key).get_dtype())
                          for key in handle.keys()}
                shape, dtype = layout.get("atoms", ([], None))
                if (list(layout) != ["atoms"] or dtype != "F32" or len(shape) != 2 or shape[1] != config["rank"]
                        or not 1 <= shape[0] <= MAX_BINS):
                    raise ModelError(f"{directory / 'dictionary.safetensors'}: must hold one float32 tensor 'atoms' "
                                     f"of shape (bins, {config['rank']}), 1 to {MAX_BINS} bins")
                atoms = handle.get_tensor("atoms")
        except ModelError as error:
            raise ModelError(f"{directory}: not an NMF dictionary ({error})") from None
        if not np.all(np.isfinite(atoms)) or np.any(atoms < 0):
            raise ModelError(f"{directory}: not an NMF dictionary (its atoms must be finite and non-negative)")
        return cls(atoms, float(config.get("beta", 2.0)), float(config.get("sparsity", 1.0)))


def learn_dictionary(spectrograms: list[np.ndarray], rank: int = 128, beta: float = 2.0, sparsity: float = 1.0,
                     max_iter: int = 200, seed: int = 0) -> Dictionary:
    """Learn ``W`` from spectrograms (each ``(freq, frame)``, non-negative) with sparse NMF.

    Parameters
    ----------
    spectrograms
        Segments of the training material, e.g. ``log(1 + |STFT|²)`` of 1–4 s of speech, music
        and noise in a balanced mix.
    rank
        Components ``K`` (128 in the paper).
    beta
        0 (Itakura-Saito), 1 (Kullback-Leibler) or 2 (Euclidean, the default: it gives the
        lowest squared error, which the proxy's reconstruction term measures; on our corpus
        0.4–1.0 % per band against 0.9–1.0 % for β = 0, ``benchmarks/nmf.py``).
    sparsity
        L1 weight μ on the activations (1 in the authors' code): the objective is
        ``D_β(X | W H) + μ Σ|H|``.
    max_iter
        Multiplicative-update iterations (200 in the authors' code). Stopping at the limit is
        expected and not reported as a failure to converge.
    seed
        Seeds the initialisation.

    Returns
    -------
    Dictionary
        Columns scaled to unit L2 norm.
    """
    if beta not in BETA_LOSSES:
        raise ValueError(f"beta must be one of {sorted(BETA_LOSSES)}, got {beta}")
    if not spectrograms:
        raise ValueError("no spectrogram to learn from")
    data = np.concatenate([_checked(s, spectrograms[0].shape[0]) for s in spectrograms], axis=1)  # (freq, frame)
    if rank > min(data.shape):
        raise ValueError(f"rank {rank} exceeds the data's dimensions {data.shape}")
    model = NMF(n_components=rank, init="nndsvda", solver="mu", beta_loss=BETA_LOSSES[beta], max_iter=max_iter, tol=0.0,
                alpha_W=sklearn_alpha(sparsity, data.shape[0]), alpha_H=0.0, l1_ratio=1.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.T + EPSILON)
    atoms = model.components_.T  # (freq, component)
    norms = np.linalg.norm(atoms, axis=0)
    atoms = atoms / np.where(norms > 0, norms, 1.0)
    return Dictionary(atoms.astype(np.float32), float(beta), float(sparsity))


def sklearn_alpha(sparsity: float, bins: int) -> float:
    """scikit-learn's ``alpha_W`` for the objective ``D(X | WH) + sparsity · Σ|H|``.

    scikit-learn minimises ``½ D + alpha_W · n_features · Σ|codes|`` (its codes are our ``H.T``
    and its features our frequency bins), hence ``alpha_W = sparsity / (2 · bins)``.
    """
    return sparsity / (2.0 * bins)


def _checked(spectrogram: np.ndarray, bins: int) -> np.ndarray:
    spectrogram = np.asarray(spectrogram, dtype=np.float64)
    if spectrogram.ndim != 2 or spectrogram.shape[0] != bins:
        raise ValueError(f"spectrogram must have shape ({bins}, frame), got {spectrogram.shape}")
    if not np.all(np.isfinite(spectrogram)) or np.any(spectrogram < 0):
        raise ValueError("spectrogram must be finite and non-negative")
    return spectrogram
