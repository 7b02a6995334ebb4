"""The explainable proxy: features → TCN → activations H ≥ 0 → Θ → sigmoid, and X̂ = W H (DESIGN §1)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from proxyseg.features import FEATURES, WINDOWED_FEATURES, make_features, nmf_spectrogram
from proxyseg.grid import N_FFT
from proxyseg.labels import CLASSES
from proxyseg.models.blocks import TCN, PointwiseConv
from proxyseg.models.size import check_size, tcn_context, tcn_parameters
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.schema import Choice, Fields, Integer, Nullable, check

#: Frequency bins of the reconstructed spectrogram (n_fft 512).
FREQUENCY_BINS = N_FFT // 2 + 1
#: Input features a proxy reads; ``teacher`` is the embedding output of a TCN teacher.
PROXY_FEATURES = (*FEATURES, "teacher")
#: ``fixed``: W is a pre-learned NMF dictionary; ``joint``: W is learnt with the network.
DICTIONARY_MODES = ("fixed", "joint")


class ProxySegmenter(nn.Module):
    """A segmenter whose bottleneck is an NMF activation matrix tied to a spectral dictionary.

    The encoder maps input features to ``H`` (``rank`` non-negative activations per frame); a
    linear layer Θ maps ``H`` to class logits frame by frame, and the dictionary ``W`` (257
    bins × ``rank``, non-negative, columns of unit L2 norm) maps ``H`` back to the spectrogram
    ``X = log(1 + |STFT|²)``: ``X̂ = W H``. Each component ``k`` is therefore a spectral shape
    ``W[:, k]`` whose contribution to each class is ``Θ[c, k]``.

    Parameters
    ----------
    features
        ``spectrogram`` (the paper's spectrogram proxy), ``logmel``, ``ssl`` (a frozen
        WavLM-like model, as the paper's WavLM proxy), ``whisper`` (Whisper base's frozen
        encoder) or ``teacher`` (the embedding of the TCN teacher described by ``teacher``,
        whose weights are part of this model's and stay frozen).
    rank
        Components ``K`` (128).
    dictionary_mode
        ``fixed``: ``W`` is a buffer, set from a pre-learned dictionary
        (:meth:`set_dictionary`); ``joint``: ``W = |V| / ‖|V|‖`` with ``V`` learnt.
    num_classes, bottleneck, channels, kernel_size, blocks
        As for :class:`~proxyseg.models.tcn.TCNSegmenter`.
    repeats
        TCN repeats; None picks the paper's: 4 on spectrogram and log-mel features, 2 on rich
        features (``ssl``, ``whisper``, ``teacher``).
    n_mels, ssl_model, ssl_layers
        Feature options (see :func:`proxyseg.features.make_features`).
    log_offset
        Offset inside the log of the *input* spectrogram or log-mel (1e-6, as the teacher). The
        reconstruction target is always the paper's ``log(1 + |STFT|²)``.
    teacher
        With ``features="teacher"``: the constructor arguments of the
        :class:`~proxyseg.models.tcn.TCNSegmenter` whose embedding is the input.

    Arguments are checked as :class:`~proxyseg.models.tcn.TCNSegmenter`'s, against :attr:`ARGUMENTS`.

    Shape:
        - Input: ``(batch, samples)`` at 16 kHz; optionally ``features (batch, frame, dim)``
          computed beforehand (e.g. a teacher's cached embedding), which replace the feature
          extractor.
        - Output: ``{"logits": (batch, frame, class), "activations": (batch, rank, frame)}``;
          the activations are ``H``.

    Examples
    --------
    >>> proxy = ProxySegmenter(rank=16)
    >>> outputs = proxy(torch.zeros(2, 64000))
    >>> outputs["logits"].shape, outputs["activations"].shape, proxy.receptive_field
    (torch.Size([2, 199, 4]), torch.Size([2, 16, 199]), 28)
    >>> proxy.reconstruct(outputs["activations"]).shape  # (batch, freq, frame)
    torch.Size([2, 257, 199])
    """

    #: The type and range of each argument (those it shares with the teacher are the teacher's).
    ARGUMENTS = {**TCNSegmenter.ARGUMENTS, "features": Choice(PROXY_FEATURES), "rank": Integer(1, 4096),
                 "dictionary_mode": Choice(DICTIONARY_MODES), "repeats": Nullable(TCNSegmenter.ARGUMENTS["repeats"]),
                 "teacher": Nullable(Fields(TCNSegmenter.ARGUMENTS))}

    def __init__(self, features: str = "spectrogram", rank: int = 128, dictionary_mode: str = "fixed",
                 num_classes: int = len(CLASSES), bottleneck: int = 64, channels: int = 128, kernel_size: int = 3,
                 blocks: int = 3, repeats: int | None = None, n_mels: int = 64, ssl_model: str | None = None,
                 ssl_layers: str = "all", log_offset: float = 1e-6, teacher: dict | None = None):
        super().__init__()
        self._config = {"features": features, "rank": rank, "dictionary_mode": dictionary_mode, "num_classes": num_classes,
                        "bottleneck": bottleneck, "channels": channels, "kernel_size": kernel_size, "blocks": blocks,
                        "repeats": repeats, "n_mels": n_mels, "ssl_model": ssl_model, "ssl_layers": ssl_layers,
                        "log_offset": log_offset, "teacher": teacher}
        check(self._config, self.ARGUMENTS)
        if repeats is None:
            repeats = self._config["repeats"] = 4 if features in ("spectrogram", "logmel") else 2
        if features == "teacher":
            if not teacher:
                raise ValueError("features='teacher' needs the teacher's TCNSegmenter arguments")
            self.features = _TeacherFeatures(TCNSegmenter(**teacher))
        else:
            self.features = make_features(features, n_mels, ssl_model, ssl_layers, log_offset)
        # A teacher's weights are stored with ours (an SSL backbone's are not) and its context adds
        # to the TCN's (SSL and Whisper features have no bounded context).
        stored = sum(p.numel() for p in self.features.parameters()) if features == "teacher" else 0
        context = None if features in WINDOWED_FEATURES else getattr(self.features, "receptive_field", 0)
        check_size(stored + rank * (FREQUENCY_BINS + num_classes + 1 + bottleneck)
                   + tcn_parameters(self.features.num_bins, bottleneck, channels, kernel_size, blocks, repeats),
                   None if context is None else context + tcn_context(kernel_size, blocks, repeats))
        self.spectrogram = nmf_spectrogram()  # the reconstruction target, as the dictionary's
        self.normalise = nn.BatchNorm1d(self.features.num_bins, momentum=None)  # see TCNSegmenter
        self.tcn = TCN(self.features.num_bins, bottleneck, channels, kernel_size, blocks, repeats)
        self.activations = PointwiseConv(bottleneck, rank)
        self.classifier = nn.Linear(rank, num_classes)
        atoms = torch.rand(FREQUENCY_BINS, rank, generator=torch.Generator().manual_seed(0))
        if dictionary_mode == "joint":
            self.atoms = nn.Parameter(atoms)
        else:
            self.register_buffer("atoms", atoms)

    def get_config(self) -> dict:
        """Constructor arguments: ``type(model)(**model.get_config())`` rebuilds the model."""
        return dict(self._config)

    @property
    def receptive_field(self) -> int | None:
        """Feature frames of context on each side an output frame depends on (None: SSL or Whisper features)."""
        if self._config["features"] in WINDOWED_FEATURES:
            return None
        extra = self.features.receptive_field if self._config["features"] == "teacher" else 0
        return None if extra is None else self.tcn.receptive_field + extra

    @property
    def embedding_size(self) -> int:
        """Frame features :class:`~proxyseg.inference.Inference` gives: the activations, ``K`` per frame."""
        return self._config["rank"]

    @property
    def dictionary(self) -> torch.Tensor:
        """``W``: ``(freq, component)``, non-negative, columns of unit L2 norm."""
        return F.normalize(self.atoms.abs(), dim=0)

    def set_dictionary(self, atoms: torch.Tensor) -> None:
        """Use ``atoms`` ``(freq, rank)`` (a pre-learned NMF dictionary) as ``W``, or as the start of a joint ``W``."""
        if atoms.shape != self.atoms.shape:
            raise ValueError(f"a dictionary of shape {tuple(atoms.shape)} does not fit {tuple(self.atoms.shape)}")
        if torch.any(atoms < 0):
            raise ValueError("dictionary atoms must be non-negative")
        with torch.no_grad():
            self.atoms.copy_(atoms)

    def reconstruct(self, activations: torch.Tensor) -> torch.Tensor:
        """``X̂ = W H``: ``(batch, freq, frame)`` from the activations ``H`` ``(batch, rank, frame)``."""
        return torch.matmul(self.dictionary, activations)

    def forward(self, waveform: torch.Tensor, features: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        inputs = self.features(waveform) if features is None else features.transpose(1, 2)  # (batch, dim, frame)
        activations = F.relu(self.activations(self.tcn(self.normalise(inputs).transpose(1, 2))))  # (batch, frame, rank)
        return {"logits": self.classifier(activations), "activations": activations.transpose(1, 2)}


class _TeacherFeatures(nn.Module):
    """The frozen embedding of a TCN teacher, ``(batch, bottleneck, frame)``."""

    def __init__(self, teacher: TCNSegmenter):
        super().__init__()
        self.teacher = teacher.eval().requires_grad_(False)
        self.num_bins = teacher.embedding_size
        self.receptive_field = teacher.receptive_field

    def train(self, mode: bool = True) -> _TeacherFeatures:
        super().train(False)  # frozen: its batch norm keeps the teacher's statistics
        return self

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.teacher(waveform)["embedding"].transpose(1, 2)
