"""Input features: waveform ``(batch, samples)`` at 16 kHz → ``(batch, dim, frame)`` on the 20 ms grid.

:mod:`proxyseg.features.spectral` holds the log-spectrogram (the paper's, and the NMF data) and
log-mel; :mod:`proxyseg.features.ssl` a frozen self-supervised model (WavLM, HuBERT, wav2vec2) and
:mod:`proxyseg.features.whisper` Whisper base's frozen encoder, each loaded only when asked for.
:func:`make_features` builds one by name.
"""

from __future__ import annotations

from torch import nn

from proxyseg.features.spectral import (INT16_SCALE, NMF_SPECTROGRAM, LogMel, LogSpectrogram, mel_filters,
                                        nmf_spectrogram)

__all__ = ["FEATURES", "INT16_SCALE", "NMF_SPECTROGRAM", "WINDOWED_FEATURES", "LogMel", "LogSpectrogram",
           "make_features", "mel_filters", "nmf_spectrogram"]

FEATURES = ("spectrogram", "logmel", "ssl", "whisper")
#: Features whose frames depend on the whole input (self-attention): a model on them has no
#: bounded receptive field, and runs in fixed windows.
WINDOWED_FEATURES = ("ssl", "whisper")


def make_features(name: str, n_mels: int = 64, ssl_model: str | None = None, ssl_layers: str = "all",
                  log_offset: float = 1.0) -> nn.Module:
    """The feature module called ``name``: ``spectrogram``, ``logmel``, ``ssl`` or ``whisper``.

    ``log_offset`` is the offset inside the logarithm of the first two (see :class:`LogSpectrogram`).

    ``ssl`` is a frozen WavLM / HuBERT / wav2vec2 model (a local directory or model id given as
    ``ssl_model``) whose hidden states are mixed by learned weights
    (:class:`proxyseg.features.ssl.SSLFeatures`).

    ``whisper`` is Whisper base's frozen encoder, 512 channels, from the packages of the
    ``whisper`` extra (:class:`proxyseg.features.whisper.WhisperFeatures`).
    """
    if name == "spectrogram":
        return LogSpectrogram(log_offset)
    if name == "logmel":
        return LogMel(n_mels, log_offset)
    if name == "ssl":
        if not ssl_model:
            raise ValueError("features='ssl' needs ssl_model: a local directory or a model id")
        from proxyseg.features.ssl import SSLFeatures

        return SSLFeatures(ssl_model, layers=ssl_layers)
    if name == "whisper":
        from proxyseg.features.whisper import WhisperFeatures

        return WhisperFeatures()
    raise ValueError(f"unknown features {name!r}; choose from {', '.join(FEATURES)}")
