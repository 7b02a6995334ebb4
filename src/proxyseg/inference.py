"""Chunked inference of frame-local models: memory bounded by the chunk, output equal to the whole.

A model whose output frame ``t`` depends only on input frames ``t - R .. t + R`` (``R`` its
receptive field; TCNs with frame-wise normalisation are such models) can run on chunks that
carry ``R`` frames of true context on each side: the kept centre of each chunk is then exactly
what the whole file would give, up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from proxyseg.features import frame_samples, num_feature_frames


class SlidingInference:
    """Run ``model`` over a waveform chunk by chunk.

    Parameters
    ----------
    model
        Maps ``(batch, samples)`` to a dict of ``(batch, frame, dim)`` tensors (all on the
        feature frame grid); called under ``torch.inference_mode``.
    receptive_field
        Context frames the model needs on each side.
    chunk_frames
        Frames kept per chunk (default 3000, one minute).
    transform
        Applied to each output dict before it is kept, e.g. a sigmoid on the logits.

    Examples
    --------
    >>> from proxyseg.models.tcn import TCNSegmenter
    >>> model = TCNSegmenter(repeats=1).eval()
    >>> run = SlidingInference(lambda x: model(x), model.receptive_field, chunk_frames=40)
    >>> waveform = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    >>> whole = model(torch.from_numpy(waveform)[None])["logits"][0].detach().numpy()
    >>> bool(np.abs(run(waveform)["logits"] - whole).max() < 1e-4)
    True
    """

    def __init__(self, model: Callable[[torch.Tensor], dict], receptive_field: int, chunk_frames: int = 3000,
                 transform: Callable[[dict], dict] | None = None):
        if chunk_frames < 1 or receptive_field < 0:
            raise ValueError("chunk_frames must be >= 1 and receptive_field >= 0")
        self.model, self.receptive_field, self.chunk_frames = model, receptive_field, chunk_frames
        self.transform = transform

    def __call__(self, waveform: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs for a 16 kHz waveform ``(samples,)``: a dict of float32 ``(frame, dim)``."""
        total = _frames_of(waveform)
        pieces: dict[str, list[np.ndarray]] = {}
        for first in range(0, total, self.chunk_frames):
            last = min(first + self.chunk_frames, total)
            context_first = max(0, first - self.receptive_field)
            context_last = min(total, last + self.receptive_field)
            outputs = _run(self.model, self.transform, waveform, context_first, context_last)
            keep = slice(first - context_first, first - context_first + (last - first))
            for name, value in outputs.items():
                pieces.setdefault(name, []).append(value[0, keep].float().numpy())
        return {name: np.concatenate(parts) for name, parts in pieces.items()}


class WindowedInference:
    """Run a model whose output depends on its whole input (SSL features) in fixed windows.

    Windows of ``window_frames`` frames start every ``step_frames`` frames (the last one is
    aligned with the end of the file); where windows overlap, their outputs are averaged. The
    result is the same whatever the length of the file around a window, but differs from one
    pass over the whole file: the model was trained on windows of that size.

    Parameters
    ----------
    model, transform
        As for :class:`SlidingInference`.
    window_frames
        Frames per window (the training chunk: 199 for 4 s).
    step_frames
        Frames between window starts (default: half a window).
    """

    def __init__(self, model: Callable[[torch.Tensor], dict], window_frames: int, step_frames: int | None = None,
                 transform: Callable[[dict], dict] | None = None):
        step_frames = step_frames or max(1, window_frames // 2)
        if window_frames < 1 or not 1 <= step_frames <= window_frames:
            raise ValueError("need window_frames >= 1 and 1 <= step_frames <= window_frames")
        self.model, self.window_frames, self.step_frames, self.transform = model, window_frames, step_frames, transform

    def __call__(self, waveform: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs for a 16 kHz waveform ``(samples,)``: a dict of float32 ``(frame, dim)``."""
        total = _frames_of(waveform)
        starts = list(range(0, max(total - self.window_frames, 0) + 1, self.step_frames))
        if starts[-1] + self.window_frames < total:
            starts.append(total - self.window_frames)
        sums: dict[str, np.ndarray] = {}
        counts = np.zeros((total, 1), dtype=np.float32)
        for first in starts:
            last = min(first + self.window_frames, total)
            outputs = _run(self.model, self.transform, waveform, first, last)
            for name, value in outputs.items():
                value = value[0, : last - first].float().numpy()
                sums.setdefault(name, np.zeros((total, value.shape[1]), dtype=np.float32))[first:last] += value
            counts[first:last] += 1
        return {name: total_value / np.maximum(counts, 1) for name, total_value in sums.items()}


def _frames_of(waveform: np.ndarray) -> int:
    total = num_feature_frames(waveform.shape[0])
    if total == 0:
        raise ValueError(f"a waveform of {waveform.shape[0]} samples is shorter than one 25 ms frame (400 samples)")
    return total


def _run(model, transform, waveform: np.ndarray, first: int, last: int) -> dict:
    """The model's outputs on the samples that feature frames ``first .. last - 1`` read."""
    start, end = frame_samples(first, last)
    chunk = torch.from_numpy(np.ascontiguousarray(waveform[start:end], dtype=np.float32))[None]
    with torch.inference_mode():
        outputs = model(chunk)
        return transform(outputs) if transform is not None else outputs
