"""Which NMF components a proxy's decisions rest on, and the spectra and bands they make (DESIGN §1).

With ``H`` the activations ``(component, frame)``, Θ the classifier weights ``(class,
component)`` and ``W`` the dictionary ``(freq, component)``:

- local relevance ``r[k, c, t] = H[k, t] · Θ[c, k]``: the contribution of component ``k`` to the
  logit of class ``c`` at frame ``t``;
- global relevance ``r[k, c] = z_k Θ[c, k] / max_k (z_k Θ[c, k])`` with ``z_k`` the mean of
  ``H[k]`` over the frames considered: 1 for the component that pushes the class most;
- a class prototype ``Σ_k max(r[k, c], 0) · W[:, k]``: the spectral shape behind the class;
- its band: the frequencies between the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``
  quantiles of the prototype's mass (80 % of it by default);
- a time-frequency map of the class ``Σ_{k∈S} W[:, k] · max(r[k, c, t], 0)`` over its relevant
  components ``S``: where in time and frequency they push the class up.
"""

from __future__ import annotations

import numpy as np

from proxyseg.features import N_FFT, SAMPLE_RATE

#: Centre frequency of each of the 257 bins, in Hz.
BIN_FREQUENCIES = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT


def local_relevance(activations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``r[k, c, t] = H[k, t] · Θ[c, k]``, shape ``(component, class, frame)``.

    Examples
    --------
    >>> local_relevance(np.array([[1.0, 2.0]]), np.array([[3.0], [-1.0]]))[0]
    array([[ 3.,  6.],
           [-1., -2.]])
    """
    return activations[:, None, :] * weights.T[:, :, None]


def global_relevance(activations: np.ndarray, weights: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """``r[k, c]``, shape ``(component, class)``, each column scaled so that its maximum is 1.

    Parameters
    ----------
    activations
        ``H``, ``(component, frame)``, non-negative.
    weights
        Θ, ``(class, component)``.
    frames
        Optional boolean ``(frame,)`` or ``(frame, class)``: average ``H`` over these frames
        only (e.g. where each class is detected). Without frames, over the whole file.

    A class whose contributions are all non-positive gets zeros.

    Examples
    --------
    >>> H = np.array([[1.0, 1.0], [2.0, 0.0]])  # z = (1, 1)
    >>> global_relevance(H, np.array([[2.0, 1.0]]))[:, 0]
    array([1. , 0.5])
    """
    classes = weights.shape[0]
    if frames is None:
        means = np.repeat(activations.mean(axis=1, keepdims=True), classes, axis=1)  # (component, class)
    else:
        chosen = np.broadcast_to(frames.reshape(frames.shape[0], -1), (activations.shape[1], classes)).astype(float)
        counts = chosen.sum(axis=0)
        means = (activations @ chosen) / np.maximum(counts, 1)
    contributions = means * weights.T  # (component, class)
    peaks = contributions.max(axis=0)
    scale = np.where(peaks > 0, peaks, np.inf)
    return contributions / scale


def relevant_components(relevance: np.ndarray, threshold: float = 0.5) -> list[np.ndarray]:
    """For each class (column), the components whose relevance exceeds ``threshold``, most relevant first."""
    result = []
    for column in relevance.T:
        chosen = np.flatnonzero(column > threshold)
        result.append(chosen[np.argsort(-column[chosen], kind="stable")])
    return result


def prototypes(relevance: np.ndarray, dictionary: np.ndarray) -> np.ndarray:
    """Class prototypes ``Σ_k max(r[k, c], 0) · W[:, k]``, shape ``(freq, class)``."""
    return dictionary @ np.maximum(relevance, 0.0)


def band(prototype: np.ndarray, coverage: float = 0.8) -> tuple[float, float]:
    """``[low_hz, high_hz]`` holding the central ``coverage`` of a prototype's mass.

    Examples
    --------
    >>> spectrum = np.zeros(257); spectrum[32:65] = 1.0  # 1 to 2 kHz, flat
    >>> [round(f) for f in band(spectrum, coverage=1.0)]
    [1000, 2000]
    """
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    mass = np.maximum(prototype, 0.0)
    total = mass.sum()
    if total <= 0:
        return (0.0, 0.0)
    cumulative = np.cumsum(mass) / total
    tail = (1.0 - coverage) / 2
    low = int(np.searchsorted(cumulative, tail, side="right")) if tail > 0 else int(np.flatnonzero(mass)[0])
    high = int(np.searchsorted(cumulative, 1.0 - tail - 1e-12))
    return float(BIN_FREQUENCIES[low]), float(BIN_FREQUENCIES[min(high, len(BIN_FREQUENCIES) - 1)])


def time_frequency_map(activations: np.ndarray, weights: np.ndarray, dictionary: np.ndarray,
                       components: np.ndarray, column: int) -> np.ndarray:
    """Where in time and frequency ``components`` push class ``column`` up, ``(freq, frame)``.

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> time_frequency_map(np.array([[1.0, 2.0], [3.0, 3.0]]), np.array([[2.0, -1.0]]), W, np.array([0, 1]), 0)
    array([[2., 4.],
           [0., 0.]])
    """
    contributions = np.maximum(activations[components] * weights[column, components][:, None], 0.0)
    return dictionary[:, components] @ contributions
