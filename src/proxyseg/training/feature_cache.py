"""Frozen input features of whole files, computed once and cached for training.

Whisper's encoder costs about 30 ms of CPU per audio second and sees 30 s at a time: computed
on every training chunk, it would dominate training and see each chunk without the context it
has at inference. Computed once per file instead, over the whole file as
:class:`~proxyseg.inference.chunks.WholeFileInference` computes them, each epoch only slices
them. The price: augmentation, which changes the audio, cannot be used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from torch import nn

from proxyseg.atomic import atomic_output
from proxyseg.training.data import AnnotatedFile


class FeatureCache:
    """The features ``module`` gives for whole files, kept in ``cache_dir``.

    A file's features are stored under the hash of the features (``name`` and the module's
    configuration) and of its samples: files of several corpora never collide, and a file whose
    audio changed is computed again.

    Features are stored, and returned, as float16 ``(frame, dim)``: 2 bytes per value keep 12 h of
    Whisper frames in 2.2 GB.
    """

    def __init__(self, module: nn.Module, name: str, cache_dir: Path | None):
        self.module, self.cache_dir = module, cache_dir
        config = module.get_config() if hasattr(module, "get_config") else {}
        self.identity = json.dumps({"features": name, **config}, sort_keys=True)

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        """The features of one file's waveform ``(samples,)``, ``(frame, dim)`` float16."""
        digest = hashlib.sha256(self.identity.encode())
        digest.update(np.ascontiguousarray(waveform, dtype=np.float32).tobytes())
        path = self.cache_dir / f"{digest.hexdigest()[:40]}.safetensors" if self.cache_dir else None
        if path is not None and path.exists():
            try:
                with safe_open(str(path), framework="numpy") as handle:
                    if (handle.metadata() or {}).get("features") == self.identity:
                        return handle.get_tensor("features")
            except (OSError, SafetensorError):
                pass  # unreadable: computed again below
        with torch.inference_mode():
            features = self.module(torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None])
        features = np.ascontiguousarray(features[0].T.numpy(), dtype=np.float16)  # (frame, dim)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path) as partial:
                save_file({"features": features}, str(partial), metadata={"features": self.identity})
        return features


def attach_features(files: list[AnnotatedFile], cache: FeatureCache, bar: Progress | None = None) -> None:
    """Give each of ``files`` its features (in place), advancing a task of ``bar`` file by file."""
    task = bar.add_task("input features", total=len(files)) if bar is not None else None
    for file in files:
        file.features = cache(file.waveform)
        if task is not None:
            bar.advance(task)
