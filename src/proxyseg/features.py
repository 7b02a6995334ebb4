"""Input features on the 20 ms frame grid: the paper's log-spectrogram and a log-mel variant.

Both are plain ``nn.Module``s mapping a waveform ``(batch, samples)`` at 16 kHz to
``(batch, freq, frame)``. Frames follow the paper's analysis (DESIGN §1): a 25 ms Hann window
(400 samples, zero-padded to an FFT of 512), a 20 ms hop (320 samples) and no centre padding,
so ``frames = 1 + (samples - 400) // 320`` — the frame count of WavLM, and 199 for 4 s.
Frame ``i`` is centred at ``0.02 i + 0.0125`` s: 2.5 ms after the centre of label frame ``i``
(:mod:`proxyseg.labels`), a negligible offset.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000
N_FFT = 512
WIN_LENGTH = 400
HOP_LENGTH = 320


def num_feature_frames(num_samples: int) -> int:
    """Frames of a waveform of ``num_samples`` samples (0 when shorter than one window).

    >>> num_feature_frames(64000), num_feature_frames(399), num_feature_frames(400)
    (199, 0, 1)
    """
    return 0 if num_samples < WIN_LENGTH else 1 + (num_samples - WIN_LENGTH) // HOP_LENGTH


def frame_samples(first: int, last: int) -> tuple[int, int]:
    """The sample range ``[start, end)`` that feature frames ``first .. last - 1`` read."""
    return first * HOP_LENGTH, (last - 1) * HOP_LENGTH + WIN_LENGTH


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


FEATURES = ("spectrogram", "logmel", "ssl")


def make_features(name: str, n_mels: int = 64, ssl_model: str | None = None, ssl_layers: str = "all",
                  log_offset: float = 1.0) -> nn.Module:
    """The feature module called ``name``: ``spectrogram``, ``logmel`` or ``ssl``.

    ``log_offset`` is the offset inside the logarithm of the first two (see :class:`LogSpectrogram`).

    ``ssl`` is a frozen WavLM / HuBERT / wav2vec2 model (a local directory or model id given as
    ``ssl_model``) whose hidden states are mixed by learned weights
    (:class:`proxyseg.ssl_features.SSLFeatures`).
    """
    if name == "spectrogram":
        return LogSpectrogram(log_offset)
    if name == "logmel":
        return LogMel(n_mels, log_offset)
    if name == "ssl":
        if not ssl_model:
            raise ValueError("features='ssl' needs ssl_model: a local directory or a model id")
        from proxyseg.ssl_features import SSLFeatures

        return SSLFeatures(ssl_model, layers=ssl_layers)
    raise ValueError(f"unknown features {name!r}; choose from {', '.join(FEATURES)}")
