"""A trained model directory of proxyseg (teacher or proxy) behind the :class:`FrameModel` interface."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from proxyseg.artefacts import LoadedModel, load_model
from proxyseg.grid import SAMPLE_RATE, num_feature_frames
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.chunks import SlidingInference, WholeFileInference, WindowedInference
from proxyseg.labels import CLASSES


class Inference(FrameModel):
    """Frame probabilities from a model directory, computed chunk by chunk.

    Parameters
    ----------
    loaded
        A model read by :func:`proxyseg.artefacts.load_model`.
    chunk_frames
        Frames per chunk (memory is bounded by it; the output does not depend on it). Models on
        SSL features run instead in windows of their training chunk, half overlapping; models
        trained on features of whole files (Whisper's) run on the whole file at once.
    """

    def __init__(self, loaded: LoadedModel, chunk_frames: int = 3000):
        self.loaded = loaded
        self.classes = loaded.classes
        self.embedding_size = loaded.model.embedding_size
        self._mask = torch.tensor([name in loaded.classes for name in CLASSES])
        if loaded.specification.get("features_over") == "file":  # trained on cached features of whole files
            self._inference = WholeFileInference(loaded.model, loaded.model.features, transform=self._probabilities)
        elif loaded.model.receptive_field is None:  # SSL features: the training windows, averaged
            window = num_feature_frames(int(loaded.specification.get("chunk_duration", 4.0) * SAMPLE_RATE))
            self._inference = WindowedInference(loaded.model, window, transform=self._probabilities)
        else:
            self._inference = SlidingInference(loaded.model, loaded.model.receptive_field, chunk_frames,
                                               transform=self._probabilities)

    @classmethod
    def from_pretrained(cls, name_or_path="teacher", chunk_frames: int = 3000) -> Inference:
        """The teacher in a model directory, or a shipped one by name."""
        return cls(load_model(name_or_path), chunk_frames)

    def _probabilities(self, outputs: dict) -> dict:
        probabilities = torch.sigmoid(outputs["logits"]) * self._mask
        # A teacher's embedding, or a proxy's activations H: frame-major, as the probabilities.
        embedding = outputs["embedding"] if "embedding" in outputs else outputs["activations"].transpose(1, 2)
        return {"probabilities": probabilities, "embedding": embedding}

    def predict(self, waveform: np.ndarray) -> FrameOutput:
        outputs = self._inference(waveform)
        return FrameOutput(outputs["probabilities"], self.classes, outputs["embedding"])

    def predict_stream(self, blocks: Iterable[np.ndarray], embedding: bool = True) -> FrameOutput:
        """Chunk by chunk as the blocks arrive: memory holds one chunk and its context, plus the
        outputs kept (probabilities: 16 bytes per 20 ms frame; embedding: 4 bytes per
        dimension and frame). Models on SSL features need the whole waveform and join the blocks."""
        if not isinstance(self._inference, SlidingInference):
            return super().predict_stream(blocks, embedding)
        names = ("probabilities", "embedding") if embedding else ("probabilities",)
        pieces = {name: [] for name in names}
        for outputs in self._inference.stream(blocks):
            for name in names:
                pieces[name].append(outputs[name])
        joined = {name: np.concatenate(parts) for name, parts in pieces.items()}
        return FrameOutput(joined["probabilities"], self.classes, joined.get("embedding"))
