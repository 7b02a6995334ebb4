"""Spectral features on the 20 ms frame grid: the paper's log-spectrogram and a log-mel variant.

Both are plain ``nn.Module``s mapping a waveform ``(batch, samples)`` at 16 kHz to
``(batch, freq, frame)``, framed as :mod:`proxyseg.grid` says (25 ms Hann windows every 20 ms,
an FFT of 512, no centre padding).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from proxyseg.grid import HOP_LENGTH, N_FFT, SAMPLE_RATE, WIN_LENGTH

class LogSpectrogram(nn.Module):
    """``X = log(offset + |STFT(sample_scale · waveform)|²)``: 257 bins from 0 to 8 kHz.

    With ``offset = 1`` (the default) this is the paper's ``log(1 + |STFT|²)``, non-negative.
    On waveforms in [-1, 1] it sits mostly in the linear part of ``log(1 + ·)`` (a typical
    recording gives values around 0.01), so the NMF target of the proxy is computed on the
    16-bit sample scale (:func:`nmf_spectrogram`). A small offset (1e-6, about -95 dBFS per
    bin) gives a true log-power spectrum, whose shape does not change with the input level (a
    level change is a shift): the teacher trains markedly faster on it (see ``TCNSegmenter``).

    Shape:
        - Input: ``(batch, samples)``
        - Output: ``(batch, 257, frames)``

    Examples
    --------
    >>> LogSpectrogram()(torch.zeros(2, 64000)).shape
    torch.Size([2, 257, 199])
    """

    def __init__(self, offset: float = 1.0, sample_scale: float = 1.0):
        super().__init__()
        if offset <= 0 or sample_scale <= 0:
            raise ValueError(f"offset and sample_scale must be positive, got {offset} and {sample_scale}")
        self.offset, self.power_scale = offset, sample_scale**2
        self.register_buffer("window", torch.hann_window(WIN_LENGTH, periodic=True), persistent=False)

    @property
    def num_bins(self) -> int:
        """Frequency bins of the output."""
        return N_FFT // 2 + 1

    def power(self, waveform: torch.Tensor) -> torch.Tensor:
        """``|STFT|²``, ``(batch, 257, frames)``."""
        if waveform.shape[-1] < WIN_LENGTH:
            return waveform.new_zeros(*waveform.shape[:-1], self.num_bins, 0)
        # Frames of 400 samples every 320, each zero-padded to 512: torch.stft would frame
        # by n_fft (512) and so give a different frame count and centres than WavLM.
        frames = waveform.unfold(-1, WIN_LENGTH, HOP_LENGTH) * self.window  # (..., frame, 400)
        spectrum = torch.fft.rfft(frames, n=N_FFT)  # (..., frame, 257)
        return (spectrum.real**2 + spectrum.imag**2).transpose(-1, -2)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.log(self.power(waveform) * self.power_scale + self.offset)


#: Samples of 16-bit audio per unit of a float waveform.
INT16_SCALE = 2.0**15


#: How :func:`nmf_spectrogram` is computed, as stored with a dictionary.
NMF_SPECTROGRAM = {"formula": "log(1 + |STFT(32768 * waveform)|^2)", "sample_rate": SAMPLE_RATE, "n_fft": N_FFT,
                   "win_length": WIN_LENGTH, "hop_length": HOP_LENGTH, "window": "hann", "center": False}


def nmf_spectrogram() -> LogSpectrogram:
    """The NMF dictionary's data and the proxy's reconstruction target: ``log(1 + |STFT|²)`` on
    the 16-bit sample scale, values from 0 to about 25, in the logarithmic part of ``log(1 + ·)``
    for every audible bin."""
    return LogSpectrogram(1.0, sample_scale=INT16_SCALE)


class LogMel(nn.Module):
    """``log(offset + mel power)`` on ``n_mels`` HTK-mel bands from 0 to 8 kHz.

    Shape:
        - Input: ``(batch, samples)``
        - Output: ``(batch, n_mels, frames)``

    Examples
    --------
    >>> LogMel(64)(torch.zeros(1, 16000)).shape
    torch.Size([1, 64, 49])
    """

    def __init__(self, n_mels: int = 64, offset: float = 1.0):
        super().__init__()
        if n_mels < 1:
            raise ValueError(f"n_mels must be >= 1, got {n_mels}")
        self.spectrogram = LogSpectrogram(offset)
        self.register_buffer("filters", torch.from_numpy(mel_filters(n_mels)), persistent=False)

    @property
    def num_bins(self) -> int:
        """Mel bands of the output."""
        return self.filters.shape[0]

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mel_power = torch.einsum("mf,...ft->...mt", self.filters, self.spectrogram.power(waveform))
        return torch.log(mel_power + self.spectrogram.offset)


def mel_filters(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular HTK-mel filters, ``(n_mels, n_fft // 2 + 1)``, float32, each peaking at 1."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges = to_hz(np.linspace(0.0, to_mel(sample_rate / 2), n_mels + 2))
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)
