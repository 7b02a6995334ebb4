"""Which NMF components a proxy's decisions rest on, and the spectra and bands they make (DESIGN §1).

With ``H`` the activations ``(component, frame)``, Θ the classifier's weights ``(class,
component)`` and ``W`` the dictionary ``(freq, component)``:

- local relevance ``r[k, c, t] = H[k, t] · Θ[c, k]``: the contribution of component ``k`` to the
  logit of class ``c`` at frame ``t``;
- global relevance ``r[k, c] = z_k Θ[c, k] / max_k (z_k Θ[c, k])`` with ``z_k`` the mean of
  ``H[k]`` over the frames considered: 1 for the component that pushes the class most;
- a class prototype ``Σ_k max(r[k, c], 0) · W[:, k]``: the spectral shape behind the class;
- a reference spectrum ``W · z`` with ``z`` the mean of ``H`` over the whole file: the file's
  average spectrum as the dictionary reconstructs it;
- the class's band: where the prototype stands most above the reference. Both are averaged in
  third-octave bands (ISO 266 centres 31.5 Hz to 6.3 kHz, the last one up to 8 kHz) and compared
  as shares of their mass; the band is the run of consecutive third-octave bands in which the
  prototype exceeds the reference with the largest sum of log-ratios (every third of an octave
  counts alike, as on a log-frequency axis). NMF atoms of a log-spectrogram carry the spectrum's
  floor at every frequency, so the prototype alone spreads over the whole spectrum; where it rises
  above the reference is what sets the class apart;
- a time-frequency map of the class ``Σ_{k∈S} W[:, k] · max(r[k, c, t], 0)`` over its relevant
  components ``S``: where in time and frequency they push the class up.
"""

from __future__ import annotations

import numpy as np

from proxyseg.grid import N_FFT, SAMPLE_RATE

#: Centre frequency of each of the 257 bins, in Hz.
BIN_FREQUENCIES = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT


def local_relevance(activations: np.ndarray, classifier: np.ndarray) -> np.ndarray:
    """``r[k, c, t] = H[k, t] · Θ[c, k]``, shape ``(component, class, frame)``.

    Examples
    --------
    >>> local_relevance(np.array([[1.0, 2.0]]), np.array([[3.0], [-1.0]]))[0]
    array([[ 3.,  6.],
           [-1., -2.]])
    """
    return activations[:, None, :] * classifier.T[:, :, None]


def global_relevance(activations: np.ndarray, classifier: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """``r[k, c]``, shape ``(component, class)``, each column scaled so that its maximum is 1.

    Parameters
    ----------
    activations
        ``H``, ``(component, frame)``, non-negative.
    classifier
        Θ, ``(class, component)``.
    frames
        Optional boolean ``(frame,)`` or ``(frame, class)``: average ``H`` over these frames
        only (e.g. where each class is detected). Without frames, over the whole file.

    A class whose contributions are all non-positive gets zeros. See :class:`ActivationSums` for
    a file given window by window.

    Examples
    --------
    >>> H = np.array([[1.0, 1.0], [2.0, 0.0]])  # z = (1, 1)
    >>> global_relevance(H, np.array([[2.0, 1.0]]))[:, 0]
    array([1. , 0.5])
    """
    frame_count, classes = activations.shape[1], classifier.shape[0]
    chosen = np.ones((frame_count, classes)) if frames is None else frames.reshape(frame_count, -1)
    sums = ActivationSums(np.broadcast_to(chosen, (frame_count, classes)))
    sums.add(activations, 0)
    return sums.relevance(classifier)


class ActivationSums:
    """The sums of ``H`` that global relevance and the reference spectrum need, window by window.

    ``chosen`` ``(frame, class)`` (bool or weights) says over which frames of the file each
    class's mean activations are taken.

    Examples
    --------
    >>> sums = ActivationSums(np.array([[True], [False], [True]]))
    >>> sums.add(np.array([[1.0, 5.0]]), 0); sums.add(np.array([[3.0]]), 2)
    >>> sums.relevance(np.array([[1.0]])), sums.mean()
    (array([[1.]]), array([3.]))
    """

    def __init__(self, chosen: np.ndarray):
        self.chosen = np.asarray(chosen, dtype=np.float32)  # (frame, class)
        self.per_class, self.total, self.frames = 0.0, 0.0, 0  # Σ_t H[:, t] chosen[t, c], Σ_t H[:, t], frames

    def add(self, activations: np.ndarray, first_frame: int) -> None:
        """Add ``H`` ``(component, frame)`` of the frames from ``first_frame`` on."""
        span = slice(first_frame, first_frame + activations.shape[1])
        self.per_class = self.per_class + activations @ self.chosen[span]
        self.total = self.total + activations.sum(axis=1)
        self.frames += activations.shape[1]

    def relevance(self, classifier: np.ndarray) -> np.ndarray:
        """:func:`global_relevance` ``(component, class)`` of the frames added, with Θ ``classifier``."""
        return relevance_of_means(self.per_class / np.maximum(self.chosen.sum(axis=0), 1), classifier)

    def mean(self) -> np.ndarray:
        """``z``: the mean of ``H`` over every frame added, ``(component,)``."""
        return self.total / max(self.frames, 1)


def relevance_of_means(means: np.ndarray, classifier: np.ndarray) -> np.ndarray:
    """``r[k, c]`` from the mean activations ``z`` ``(component, class)`` over each class's frames.

    Examples
    --------
    >>> relevance_of_means(np.array([[1.0], [1.0]]), np.array([[2.0, -1.0]]))[:, 0]
    array([ 1. , -0.5])
    """
    contributions = means * classifier.T  # (component, class)
    peaks = contributions.max(axis=0)
    return contributions / np.where(peaks > 0, peaks, np.inf)


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


def third_octave_bands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lower_hz, upper_hz, band_of_bin)`` of the third-octave bands that hold at least one bin.

    Centres ``1000 · 2^(n/3)`` (ISO 266, nominally 31.5 Hz to 6.3 kHz), edges a sixth of an octave
    either side; the first band reaches down to 0 Hz and the last up to the Nyquist frequency, so
    every bin belongs to one band. Bands without a bin (40, 50 and 80 Hz at 31.25 Hz per bin) are left out.
    """
    centres = 1000.0 * 2.0 ** (np.arange(-15, 9) / 3)
    lower, upper = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    lower[0], upper[-1] = 0.0, BIN_FREQUENCIES[-1]
    band_of_bin = np.searchsorted(upper, BIN_FREQUENCIES)
    used, band_of_bin = np.unique(band_of_bin, return_inverse=True)
    return lower[used], upper[used], band_of_bin


def band(prototype: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """``[low_hz, high_hz]``: the run of third-octave bands where ``prototype`` most exceeds ``reference``.

    Both ``(freq,)`` spectra are scaled to unit mass and averaged per third-octave band
    (:func:`third_octave_bands`); among the runs of consecutive bands where the prototype's share
    exceeds the reference's, the one with the largest sum of ``log(prototype / reference)`` gives
    the band's edges. ``(0, 0)`` when the prototype is empty or nowhere above the reference.

    Examples
    --------
    >>> reference = np.ones(257)
    >>> prototype = np.ones(257); prototype[36:58] = 3.0  # 1125 to 1781 Hz stand out
    >>> [round(f) for f in band(prototype, reference)]
    [1122, 1782]
    """
    lower, upper, band_of_bin = third_octave_bands()
    if prototype.sum() <= 0 or reference.sum() <= 0:
        return (0.0, 0.0)
    # Sums per band of the unit-mass spectra; their ratio equals that of the band means.
    ours, theirs = (np.bincount(band_of_bin, spectrum / spectrum.sum(), len(lower)) for spectrum in (prototype, reference))
    contrast = np.log(np.maximum(ours, 1e-30) / np.maximum(theirs, 1e-30))  # (band,)
    best, best_score, start = None, 0.0, None
    for index, value in enumerate(np.append(contrast, 0.0)):  # a trailing 0 closes the last run
        if value > 0 and start is None:
            start = index
        elif value <= 0 and start is not None:
            score = contrast[start:index].sum()
            if score > best_score:
                best, best_score = (start, index - 1), score
            start = None
    if best is None:
        return (0.0, 0.0)
    return float(lower[best[0]]), float(upper[best[1]])


def time_frequency_map(activations: np.ndarray, classifier: np.ndarray, dictionary: np.ndarray,
                       components: np.ndarray, column: int) -> np.ndarray:
    """Where in time and frequency ``components`` push class ``column`` up, ``(freq, frame)``.

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> time_frequency_map(np.array([[1.0, 2.0], [3.0, 3.0]]), np.array([[2.0, -1.0]]), W, np.array([0, 1]), 0)
    array([[2., 4.],
           [0., 0.]])
    """
    contributions = np.maximum(activations[components] * classifier[column, components][:, None], 0.0)
    return dictionary[:, components] @ contributions
