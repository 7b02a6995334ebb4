"""Training chunks from a corpus: waveform, frame targets and the mask of what is annotated.

Every file of a split is decoded once to 16 kHz (about 230 MB of memory per hour of audio).
Chunks start on the 20 ms grid, so that feature frame ``i`` of a chunk lines up with label
frame ``offset + i`` of its file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from proxyseg.audio import load
from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import CorpusError
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE, num_feature_frames
from proxyseg.labels import CLASSES, annotation_to_frames, num_frames, timeline_to_frames
from proxyseg.training.augment import Augmentation


@dataclass
class AnnotatedFile:
    """One decoded file and its frame targets.

    Attributes
    ----------
    waveform
        ``(samples,)`` at 16 kHz.
    targets
        ``(frame, class)``: labels (bool) or, to distil a teacher, its probabilities (float).
    mask
        ``(frame, class)`` bool: True where the target is known (inside the UEM, a class the
        corpus annotates or the teacher predicts).
    features
        Optional ``(frame, dim)`` input features computed beforehand (a teacher's
        embedding), sliced with the chunk.
    """

    uri: str
    waveform: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    features: np.ndarray | None = None


def load_split(corpus: Corpus, split: str) -> list[AnnotatedFile]:
    """Decode every file of ``split`` with its labels on the 20 ms label grid."""
    files = []
    class_mask = np.array([name in corpus.classes for name in CLASSES])
    for uri in corpus.uris(split):
        waveform = load(corpus.audio_path(uri))
        frames = num_frames(waveform.shape[0] / SAMPLE_RATE)
        targets = annotation_to_frames(corpus.annotation(uri), frames)
        evaluated = timeline_to_frames(corpus.uem(uri), frames)
        files.append(AnnotatedFile(uri, waveform, targets, evaluated[:, None] & class_mask[None, :]))
    return files


class ChunkDataset(Dataset):
    """Fixed-length chunks of annotated files.

    Parameters
    ----------
    files
        The decoded files.
    chunk_duration
        Seconds per chunk (4 s in the paper).
    random_offsets
        Training: each access draws a random start in the file (from torch's generator, seeded
        by Lightning). Evaluation: chunks tile each file in order.
    augmentation
        Applied to training chunks, with partners drawn from ``files``.

    Items are ``(waveform (samples,), targets (frame, class), mask (frame, class))`` tensors,
    float32, with ``frame = num_feature_frames(samples)``, followed by ``features (frame, dim)``
    when the files have features.
    """

    def __init__(self, files: list[AnnotatedFile], chunk_duration: float = 4.0, random_offsets: bool = False,
                 augmentation: Augmentation | None = None):
        self.files = [file for file in files if file.waveform.shape[0] >= chunk_duration * SAMPLE_RATE]
        if not self.files:
            raise CorpusError(f"no file is at least {chunk_duration} s long (the training chunk)")
        if augmentation is not None and any(file.features is not None for file in self.files):
            raise ValueError("augmentation would change the audio but not its precomputed features")
        self.chunk_samples = int(round(chunk_duration * SAMPLE_RATE / HOP_LENGTH)) * HOP_LENGTH
        self.frames = num_feature_frames(self.chunk_samples)
        self.random_offsets = random_offsets
        self.augmentation = augmentation
        self.index = [(i, start) for i, file in enumerate(self.files)
                      for start in range(0, file.waveform.shape[0] - self.chunk_samples + 1, self.chunk_samples)]

    def __len__(self) -> int:
        return len(self.index)

    def chunk(self, file_index: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Waveform, targets and mask of the chunk of ``file_index`` starting at sample ``start``."""
        file = self.files[file_index]
        first = start // HOP_LENGTH
        waveform = file.waveform[start : start + self.chunk_samples]
        return waveform, file.targets[first : first + self.frames], file.mask[first : first + self.frames]

    def random_start(self, file_index: int) -> int:
        """A random chunk start in ``file_index``, on the frame grid."""
        hops = (self.files[file_index].waveform.shape[0] - self.chunk_samples) // HOP_LENGTH
        return int(torch.randint(hops + 1, ()).item()) * HOP_LENGTH

    def random_chunk(self, file_index: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A chunk at a random place, of a random file unless ``file_index`` is given."""
        if file_index is None:
            file_index = int(torch.randint(len(self.files), ()).item())
        return self.chunk(file_index, self.random_start(file_index))

    def __getitem__(self, item: int):
        file_index, start = self.index[item]
        if self.random_offsets:
            start = self.random_start(file_index)
        waveform, targets, mask = self.chunk(file_index, start)
        if self.augmentation is not None:
            waveform, targets, mask = self.augmentation(waveform, targets, mask, self)
        tensors = (torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)),
                   torch.from_numpy(targets.astype(np.float32)), torch.from_numpy(mask))
        features = self.files[file_index].features
        if features is None:
            return tensors
        first = start // HOP_LENGTH
        return *tensors, torch.from_numpy(np.ascontiguousarray(features[first : first + self.frames], dtype=np.float32))
