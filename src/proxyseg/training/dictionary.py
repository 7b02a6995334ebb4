"""``proxyseg nmf learn``: the proxy's NMF dictionary, learnt on balanced corpus segments."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from proxyseg.corpus.manifest import Corpus
from proxyseg.features import nmf_spectrogram
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE
from proxyseg.labels import CLASSES, active_runs
from proxyseg.nmf import Dictionary, learn_dictionary
from proxyseg.training.data import load_split

logger = logging.getLogger(__name__)

#: Segments per class, as in the authors' code (DESIGN §1).
DEFAULT_COUNTS = {"speech": 200, "music": 500, "noise": 500}


def single_class_segments(corpus: Corpus, counts: dict[str, int] = DEFAULT_COUNTS, split: str = "train",
                          durations: tuple[float, float] = (1.0, 4.0), seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Waveforms of 1–4 s where one class sounds alone (speech: without music or noise).

    Parameters
    ----------
    corpus
        Where to look (its ``split``).
    counts
        How many segments per class; fewer are returned when the corpus has not enough.
    durations
        Range of segment lengths in seconds.
    seed
        Seeds which stretches are picked.

    Returns
    -------
    dict
        class → list of float32 waveforms ``(samples,)``.
    """
    rng = np.random.default_rng(seed)
    files = load_split(corpus, split)
    min_frames, max_frames = (int(d / 0.02) for d in durations)
    segments: dict[str, list[np.ndarray]] = {}
    for name, count in counts.items():
        column = CLASSES.index(name)
        others = [index for index in range(3) if index != column]  # overlap may go with speech
        runs = []
        for file_index, file in enumerate(files):
            alone = file.targets[:, column] & ~file.targets[:, others].any(axis=1) & file.mask[:, column]
            runs += [(file_index, start, end) for start, end in active_runs(alone) if end - start >= min_frames]
        chosen = []
        for run in rng.permutation(len(runs))[:count]:
            file_index, start, end = runs[run]
            length = int(rng.integers(min_frames, min(max_frames, end - start) + 1))
            first = int(rng.integers(start, end - length + 1))
            chosen.append(files[file_index].waveform[first * HOP_LENGTH : (first + length) * HOP_LENGTH])
        segments[name] = chosen
        if len(chosen) < count:
            logger.warning("only %d %s segments of at least %.0f s alone in %s", len(chosen), name, durations[0],
                           corpus.root)
    return segments


def random_segments(waveforms: list[np.ndarray], count: int = sum(DEFAULT_COUNTS.values()),
                    durations: tuple[float, float] = (1.0, 4.0), seed: int = 0) -> list[np.ndarray]:
    """``count`` stretches of 1–4 s at random places of ``waveforms`` (for unlabelled audio).

    Files shorter than the shortest duration are skipped; a stretch never exceeds its file.
    """
    rng = np.random.default_rng(seed)
    shortest, longest = (int(d * SAMPLE_RATE) for d in durations)
    usable = [w for w in waveforms if w.shape[0] >= shortest]
    if not usable:
        raise ValueError(f"no waveform is at least {durations[0]} s long")
    segments = []
    for _ in range(count):
        waveform = usable[int(rng.integers(len(usable)))]
        length = int(rng.integers(shortest, min(longest, waveform.shape[0]) + 1))
        start = int(rng.integers(waveform.shape[0] - length + 1))
        segments.append(waveform[start : start + length])
    return segments


def learn_corpus_dictionary(corpus: str | Path, output: str | Path, *, rank: int = 128, beta: float = 2.0,
                            sparsity: float = 1.0, max_iter: int = 200, counts: dict[str, int] = DEFAULT_COUNTS,
                            seed: int = 0) -> Dictionary:
    """Learn the dictionary on the NMF spectrogram of balanced single-class segments; save it.

    Returns
    -------
    Dictionary
        Also written to ``output`` (``dictionary.safetensors`` + ``dictionary.json``).
    """
    segments = single_class_segments(Corpus(corpus), counts, seed=seed)
    dictionary = dictionary_from_segments([s for kind in segments.values() for s in kind], rank=rank, beta=beta,
                                          sparsity=sparsity, max_iter=max_iter, seed=seed)
    dictionary.save(output)
    return dictionary


def dictionary_from_segments(segments: list[np.ndarray], *, rank: int = 128, beta: float = 2.0, sparsity: float = 1.0,
                             max_iter: int = 200, seed: int = 0) -> Dictionary:
    """Learn W on :func:`~proxyseg.features.nmf_spectrogram` (the NMF data and the proxy's target) of waveforms."""
    spectrogram = nmf_spectrogram()
    with torch.inference_mode():
        spectrograms = [spectrogram(torch.from_numpy(np.ascontiguousarray(s))[None])[0].numpy() for s in segments]
    logger.info("learning a rank-%d dictionary on %d segments", rank, len(spectrograms))
    return learn_dictionary(spectrograms, rank=rank, beta=beta, sparsity=sparsity, max_iter=max_iter, seed=seed)
