"""Running a model over a long waveform: in chunks with context, in fixed windows, and stitching windows.

:class:`SlidingInference` runs frame-local models in chunks, :class:`WindowedInference` models
that see their whole input in fixed windows, :class:`WholeFileInference` models on features of the
whole file; :class:`OverlapAdd` averages overlapping windows
(also for the off-the-shelf teachers, see :func:`window_starts` and :func:`taper`).

Chunked inference of frame-local models bounds memory by the chunk, with an output equal to the
whole file's. A model whose output frame ``t`` depends only on input frames ``t - R .. t + R`` (``R`` its
receptive field; TCNs with frame-wise normalisation are such models) can run on chunks that
carry ``R`` frames of true context on each side: the kept centre of each chunk is then exactly
what the whole file would give, up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from proxyseg.grid import WIN_LENGTH, frame_samples, num_feature_frames


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
        pieces: dict[str, list[np.ndarray]] = {}
        step = frame_samples(self.chunk_frames, self.chunk_frames + 1)[0]  # blocks of a chunk: no large copies
        for outputs in self.stream(waveform[start:start + step] for start in range(0, max(len(waveform), 1), step)):
            for name, value in outputs.items():
                pieces.setdefault(name, []).append(value)
        return {name: np.concatenate(parts) for name, parts in pieces.items()}

    def stream(self, blocks: Iterable[np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        """Outputs chunk by chunk for a 16 kHz waveform given as consecutive blocks ``(samples,)``.

        Yields dicts of float32 ``(frame, dim)`` whose concatenation is :meth:`__call__` of the
        whole waveform. Only the samples the current chunk and its context need are held, so
        memory does not grow with the length of the stream.
        """
        blocks = iter(blocks)
        buffer, offset, ended = np.zeros(0, dtype=np.float32), 0, False  # buffer[0] is sample `offset`
        first, total = 0, None
        while total is None or first < total:
            last = first + self.chunk_frames
            needed = frame_samples(0, last + self.receptive_field)[1]  # the right context, when it exists
            pending = [buffer]
            while not ended and offset + sum(map(len, pending)) < needed:
                block = next(blocks, None)
                ended = block is None
                if block is not None:
                    pending.append(np.asarray(block, dtype=np.float32))
            buffer = np.concatenate(pending)
            if ended:
                total = _frames_of(offset + len(buffer))
                if first >= total:
                    return
                last = min(last, total)
            context_first = max(0, first - self.receptive_field)
            context_last = last + self.receptive_field if total is None else min(total, last + self.receptive_field)
            start, end = frame_samples(context_first, context_last)
            outputs = _run_on(self.model, self.transform, buffer[start - offset:end - offset])
            keep = slice(first - context_first, last - context_first)
            yield {name: value[0, keep].float().numpy() for name, value in outputs.items()}
            # Drop the samples that no later chunk reads.
            next_start = frame_samples(max(0, last - self.receptive_field), last + 1)[0]
            buffer, offset = buffer[next_start - offset:], next_start
            first = last


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
        total = _frames_of(waveform.shape[0])
        starts = list(range(0, max(total - self.window_frames, 0) + 1, self.step_frames))
        if starts[-1] + self.window_frames < total:
            starts.append(total - self.window_frames)
        stitched: dict[str, OverlapAdd] = {}
        for first in starts:
            last = min(first + self.window_frames, total)
            outputs = _run(self.model, self.transform, waveform, first, last)
            for name, value in outputs.items():
                value = value[0, : last - first].float().numpy()
                stitched.setdefault(name, OverlapAdd(total, value.shape[1])).add(first, value)
        return {name: values.mean().astype(np.float32) for name, values in stitched.items()}


class WholeFileInference:
    """Run a model on input features computed over the whole waveform at once.

    A model trained on features of whole files (:mod:`proxyseg.training.feature_cache`: Whisper's,
    whose frames depend on 30 s around them) is given them the same way: ``features`` on the
    whole waveform (Whisper runs its own overlapping 30 s windows), then ``model(waveform,
    features)``. Memory grows with the file (Whisper's features: 2 KB per 20 ms frame).

    Parameters
    ----------
    model, transform
        As for :class:`SlidingInference`; ``model`` also takes the features ``(batch, frame, dim)``.
    features
        Maps ``(batch, samples)`` to ``(batch, dim, frame)``.
    """

    def __init__(self, model: Callable[[torch.Tensor, torch.Tensor], dict],
                 features: Callable[[torch.Tensor], torch.Tensor], transform: Callable[[dict], dict] | None = None):
        self.model, self.features, self.transform = model, features, transform

    def __call__(self, waveform: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs for a 16 kHz waveform ``(samples,)``: a dict of float32 ``(frame, dim)``."""
        total = _frames_of(waveform.shape[0])
        outputs = _run_on(lambda samples: self.model(samples, self.features(samples).transpose(1, 2)),
                          self.transform, waveform)
        return {name: value[0, :total].float().numpy() for name, value in outputs.items()}


def _frames_of(samples: int) -> int:
    """Feature frames of ``samples`` samples; a ValueError when there is not even one."""
    total = num_feature_frames(samples)
    if total == 0:
        raise ValueError(f"a waveform of {samples} samples is shorter than one 25 ms frame ({WIN_LENGTH} samples)")
    return total


def _run(model, transform, waveform: np.ndarray, first: int, last: int) -> dict:
    """The model's outputs on the samples that feature frames ``first .. last - 1`` read."""
    start, end = frame_samples(first, last)
    return _run_on(model, transform, waveform[start:end])


def _run_on(model, transform, samples: np.ndarray) -> dict:
    """The model's outputs on ``samples`` ``(samples,)``, as ``(1, frame, dim)`` tensors."""
    chunk = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
    with torch.inference_mode():
        outputs = model(chunk)
        return transform(outputs) if transform is not None else outputs


def window_starts(num_samples: int, window: int, step: int, align: int) -> list[int]:
    """Starts of windows of ``window`` samples every ``step`` samples that cover a waveform.

    Regular windows run while they end before the waveform does; a last one then ends at the
    waveform's end, moved later by less than ``align`` samples so that every start is a
    multiple of ``align`` (the model's frame hop: frames of all windows then share one grid).
    ``step`` must be a multiple of ``align``.

    Examples
    --------
    >>> window_starts(100, 40, 30, 10), window_starts(100, 40, 28, 7), window_starts(30, 40, 30, 10)
    ([0, 30, 60], [0, 28, 56, 63], [0])
    """
    if num_samples <= window:
        return [0]
    last = -(-(num_samples - window) // align) * align
    return [*range(0, num_samples - window, step), last]


class OverlapAdd:
    """Weighted mean of window outputs on a shared frame grid (overlap-add stitching).

    Parameters
    ----------
    frames : int
        An upper bound on the frames of the grid.
    columns : int
        Values per frame.

    Examples
    --------
    >>> stitched = OverlapAdd(4, 1)
    >>> stitched.add(0, np.array([[1.0], [1.0], [1.0]]))
    >>> stitched.add(1, np.array([[0.0], [0.0]]), weights=np.array([1.0, 3.0]))
    >>> stitched.mean()[:, 0]
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, frames: int, columns: int):
        self._sums = np.zeros((frames, columns))  # (frame, column)
        self._weights = np.zeros(frames)  # (frame,)
        self._end = 0

    def add(self, first: int, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add ``values (frame, column)`` to frames ``first, first + 1, ...``.

        ``weights (frame,)``, positive, default 1, weigh these values in the mean.
        """
        last = first + len(values)
        weights = np.ones(len(values)) if weights is None else weights
        self._sums[first:last] += values * weights[:, None]
        self._weights[first:last] += weights
        self._end = max(self._end, last)

    def mean(self) -> np.ndarray:
        """The weighted mean at each frame up to the last one written, ``(frame, column)``."""
        weights = self._weights[: self._end]
        return self._sums[: self._end] / np.where(weights > 0, weights, 1.0)[:, None]


def taper(frames: int, ramp: int) -> np.ndarray:
    """Weights ``(frame,)`` rising linearly over ``ramp`` frames at both ends, 1 in between.

    Used with :class:`OverlapAdd`, they crossfade consecutive windows, so that frames near a
    window's edges, which lack context, hardly count where another window covers them.

    Examples
    --------
    >>> taper(6, 2).round(2)
    array([0.33, 0.67, 1.  , 1.  , 0.67, 0.33])
    """
    index = np.arange(frames)
    return np.minimum(1.0, np.minimum(index + 1, frames - index) / (ramp + 1))
