"""The paper's teacher architecture: features → TCN → linear → sigmoid (DESIGN §1)."""

from __future__ import annotations

import torch
from torch import nn

from proxyseg.features import FEATURES, WINDOWED_FEATURES, make_features
from proxyseg.labels import CLASSES
from proxyseg.models.blocks import TCN
from proxyseg.models.size import check_size, tcn_context, tcn_parameters
from proxyseg.schema import Choice, Integer, Nullable, Number, Text, check


class TCNSegmenter(nn.Module):
    """Multilabel frame classifier: log-spectrogram or log-mel → normalisation → TCN → linear.

    Parameters
    ----------
    features
        ``spectrogram`` (257 bins, the paper's), ``logmel``, ``ssl`` (a frozen WavLM-like
        model, as the paper's teacher: its weights are not stored with this model's, only
        ``ssl_model``, the directory or id to load them from), or ``whisper`` (Whisper base's
        frozen encoder, from the packages of the ``whisper`` extra).
    n_mels
        Mel bands when ``features`` is ``logmel``.
    num_classes
        Output classes (4: speech, music, noise, overlap).
    bottleneck, channels, kernel_size, blocks, repeats
        The TCN's (see :class:`proxyseg.models.blocks.TCN`); the paper's teacher: 64, 128, 3, 3, 5.
    ssl_model, ssl_layers
        With ``features="ssl"``: the model to load and the layers to mix.
    log_offset
        Offset inside the log of the spectrogram or log-mel. The default, 1e-6, is a true
        log-power spectrum: on our corpus the teacher's training loss fell clearly faster than
        with the paper's ``log(1 + |STFT|²)`` (offset 1; ``benchmarks/teacher_log_offset.py``),
        whose shape changes with the input level (quiet recordings sit in its linear part).

    Every argument is checked against :attr:`ARGUMENTS`, and their product against the limits of
    :mod:`proxyseg.models.size`, before anything is built: a ``ValueError`` names the one that
    is out of range.

    The input normalisation is a batch norm over feature bins, whose statistics are those of
    the training features: in evaluation it is a fixed per-bin affine map, so it does not
    depend on the length of the input (instance norm would).

    Shape:
        - Input: ``(batch, samples)`` at 16 kHz
        - Output: ``{"logits": (batch, frame, class), "embedding": (batch, frame, bottleneck)}``

    Examples
    --------
    >>> model = TCNSegmenter()
    >>> outputs = model(torch.zeros(2, 64000))
    >>> outputs["logits"].shape, outputs["embedding"].shape, model.receptive_field
    (torch.Size([2, 199, 4]), torch.Size([2, 199, 64]), 35)
    >>> type(model)(**model.get_config()).get_config() == model.get_config()
    True
    """

    #: The type and range of each argument (generous: the paper's teacher is 64, 128, 3, 3, 5).
    ARGUMENTS = {"features": Choice(FEATURES), "n_mels": Integer(1, 512), "num_classes": Integer(1, 64),
                 "bottleneck": Integer(1, 2048), "channels": Integer(1, 4096), "kernel_size": Integer(1, 63),
                 "blocks": Integer(1, 16), "repeats": Integer(1, 64), "ssl_model": Nullable(Text(4096)),
                 "ssl_layers": Text(1000), "log_offset": Number(0.0, 1e6, above=True)}

    def __init__(self, features: str = "spectrogram", n_mels: int = 64, num_classes: int = len(CLASSES),
                 bottleneck: int = 64, channels: int = 128, kernel_size: int = 3, blocks: int = 3, repeats: int = 5,
                 ssl_model: str | None = None, ssl_layers: str = "all", log_offset: float = 1e-6):
        super().__init__()
        self._config = {"features": features, "n_mels": n_mels, "num_classes": num_classes, "bottleneck": bottleneck,
                        "channels": channels, "kernel_size": kernel_size, "blocks": blocks, "repeats": repeats,
                        "ssl_model": ssl_model, "ssl_layers": ssl_layers, "log_offset": log_offset}
        check(self._config, self.ARGUMENTS)
        self.features = make_features(features, n_mels, ssl_model, ssl_layers, log_offset)
        check_size(tcn_parameters(self.features.num_bins, bottleneck, channels, kernel_size, blocks, repeats)
                   + bottleneck * num_classes, tcn_context(kernel_size, blocks, repeats))
        # momentum=None: a cumulative average. The statistics are those of the input features,
        # which training does not change, so the exact average is the right estimate.
        self.normalise = nn.BatchNorm1d(self.features.num_bins, momentum=None)
        self.tcn = TCN(self.features.num_bins, bottleneck, channels, kernel_size, blocks, repeats)
        self.classifier = nn.Linear(bottleneck, num_classes)

    def get_config(self) -> dict:
        """Constructor arguments: ``type(model)(**model.get_config())`` rebuilds the model."""
        return dict(self._config)

    @property
    def receptive_field(self) -> int | None:
        """Feature frames of context on each side that an output frame depends on; None when
        the features see the whole input (SSL models, Whisper), which must then run in fixed windows."""
        return None if self._config["features"] in WINDOWED_FEATURES else self.tcn.receptive_field

    @property
    def embedding_size(self) -> int:
        """Size of the ``embedding`` output: the features a proxy can read."""
        return self._config["bottleneck"]

    def forward(self, waveform: torch.Tensor, features: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Logits and embedding of ``waveform`` ``(batch, samples)``; ``features`` ``(batch, frame, dim)``,
        when given, are those :attr:`features` computed beforehand on it (see
        :mod:`proxyseg.training.feature_cache`), used instead."""
        inputs = self.features(waveform) if features is None else features.transpose(1, 2)  # (batch, dim, frame)
        embedding = self.tcn(self.normalise(inputs).transpose(1, 2))  # (batch, frame, bottleneck)
        return {"logits": self.classifier(embedding), "embedding": embedding}
