"""Listenable explanations: the part of the input that a set of NMF components accounts for.

The proxy reconstructs the log-power spectrogram ``X = log(1 + P)`` (P the power on the
16-bit scale) as ``X̂ = Σ_k W[:, k] H[k, t]``. Components add in the log domain, so they
*multiply* power: without a set ``S`` the reconstruction is ``X̂ − X̂_S`` and its power
``expm1(X̂ − X̂_S)``. The soft mask of the other components is that power's share of the
reconstructed power, ``M_rest = expm1(X̂ − X̂_S) / expm1(X̂)``, and the mask of ``S`` is
``M_S = 1 − M_rest``, in [0, 1]. (A ratio of log-domain contributions would hardly attenuate
anything: removing components worth 5 nats of a 20-nat bin divides its power by e⁵, not by
4/3.) Applied to the complex STFT of the input (the mixture's phase) and inverted, the two parts
add back to the input, because the STFT below inverts exactly.

The masks live on the proxy's feature grid (25 ms windows every 20 ms, which does not invert
cleanly); they are interpolated in time onto a synthesis STFT of 32 ms Hann windows every 8 ms
(a quarter of the window, which sums to a constant), with the same 257 frequency bins.
"""

from __future__ import annotations

import numpy as np
import torch

from proxyseg.grid import HOP_LENGTH, N_FFT, WIN_LENGTH

#: Synthesis STFT: window and FFT of 512 samples (32 ms), hop of 128 (8 ms).
SYNTHESIS_HOP = N_FFT // 4
_EPSILON = 1e-12


def component_mask(activations: np.ndarray, dictionary: np.ndarray, components: np.ndarray) -> np.ndarray:
    """``M_S``: share of the reconstructed power due to ``components``, ``(freq, frame)`` in [0, 1].

    Parameters
    ----------
    activations
        ``H``, ``(component, frame)``, non-negative.
    dictionary
        ``W``, ``(freq, component)``, non-negative.
    components
        Indices of the components in ``S``.

    Cells that nothing reconstructs get a mask of 0 (the complement keeps them).

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> H = np.array([[1.0], [3.0]])
    >>> np.round(component_mask(H, W, np.array([0])), 3)  # bin 0: all of it; bin 1: 1 - expm1(3) / expm1(4)
    array([[1.   ],
           [0.644]])
    """
    total = dictionary @ activations
    rest = total - dictionary[:, components] @ activations[components]
    kept_by_rest = np.expm1(np.maximum(rest, 0.0)) / np.maximum(np.expm1(total), _EPSILON)
    return np.where(total > _EPSILON, 1.0 - np.clip(kept_by_rest, 0.0, 1.0), 0.0)


def stft(waveform: np.ndarray) -> np.ndarray:
    """Complex STFT for resynthesis, ``(257, frame)``; frame ``j`` is centred on sample ``128 j``."""
    signal = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))
    return torch.stft(signal, N_FFT, SYNTHESIS_HOP, window=torch.hann_window(N_FFT), center=True,
                      return_complex=True).numpy()


def istft(spectrum: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`stft`, ``length`` samples (float32)."""
    return torch.istft(torch.from_numpy(spectrum), N_FFT, SYNTHESIS_HOP, window=torch.hann_window(N_FFT),
                       center=True, length=length).numpy()


def to_synthesis_grid(mask: np.ndarray, synthesis_frames: int) -> np.ndarray:
    """Interpolate a mask ``(freq, feature frame)`` in time onto the synthesis frames.

    Feature frame ``i`` is centred on sample ``320 i + 200``; synthesis frame ``j`` on ``128 j``.
    Before the first and after the last feature frame the nearest one holds.
    """
    if mask.shape[1] == 0:
        return np.zeros((mask.shape[0], synthesis_frames), dtype=mask.dtype)
    # Where each synthesis frame falls on the feature frames, as a fractional index.
    position = np.clip((np.arange(synthesis_frames) * SYNTHESIS_HOP - WIN_LENGTH / 2) / HOP_LENGTH, 0, mask.shape[1] - 1)
    before = np.floor(position).astype(int)
    after = np.minimum(before + 1, mask.shape[1] - 1)
    share = (position - before).astype(mask.dtype)
    return mask[:, before] * (1 - share) + mask[:, after] * share


class Separator:
    """The synthesis STFT of one waveform ``(samples,)``, computed once, and what any mask keeps of it."""

    def __init__(self, waveform: np.ndarray):
        self.waveform = np.asarray(waveform, dtype=np.float32)
        self.spectrum = stft(self.waveform)

    def __call__(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The audio a mask ``(freq, feature frame)`` keeps, and its complement (which sums with it to the input).

        Returns
        -------
        tuple of np.ndarray
            ``(kept, rest)``, each ``(samples,)`` float32 at 16 kHz. The STFT inverts exactly, so
            the rest is the input minus what is kept.
        """
        gains = np.clip(to_synthesis_grid(mask.astype(np.float32), self.spectrum.shape[1]), 0.0, 1.0)
        kept = istft(self.spectrum * gains, self.waveform.shape[0])
        return kept, self.waveform - kept


def separate(waveform: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Separator(waveform)(mask)``: the audio a mask keeps of ``waveform``, and the rest."""
    return Separator(waveform)(mask)
