"""Which NMF learner for the dictionary: scikit-learn's NMF (multiplicative updates) or MiniBatchNMF?

Usage::

    python benchmarks/nmf.py CORPUS [--rank 128] [--beta 0] [--scale 0.5]

Both learn on the same frames of ``nmf_spectrogram`` (log(1 + |STFT|²) on the 16-bit scale) of
balanced single-class segments of the corpus's train split (the segments of ``proxyseg nmf
learn``; ``--scale`` multiplies their 200/500/500 counts), with the same rank, β and sparsity.
Prints each learner's wall-clock time, its final β-divergence per matrix element, and the
relative reconstruction error per frequency band.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.decomposition import NMF, MiniBatchNMF
from sklearn.exceptions import ConvergenceWarning

from proxyseg.corpus.manifest import Corpus
from proxyseg.features import nmf_spectrogram
from proxyseg.nmf import BETA_LOSSES, EPSILON, sklearn_alpha
from proxyseg.training.dictionary import DEFAULT_COUNTS, single_class_segments

BANDS = ((0, 1000), (1000, 4000), (4000, 8000))


def beta_divergence(x: np.ndarray, y: np.ndarray, beta: float) -> float:
    """Mean β-divergence ``D(x | y)`` per element."""
    if beta == 2.0:
        return float(np.mean((x - y) ** 2) / 2)
    if beta == 1.0:
        return float(np.mean(x * np.log(x / y) - x + y))
    ratio = x / y
    return float(np.mean(ratio - np.log(ratio) - 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--beta", type=float, default=0.0)
    parser.add_argument("--sparsity", type=float, default=1.0)
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()

    counts = {name: max(1, int(count * args.scale)) for name, count in DEFAULT_COUNTS.items()}
    segments = single_class_segments(Corpus(args.corpus), counts)
    spectrogram = nmf_spectrogram()
    with torch.inference_mode():
        frames = np.concatenate([spectrogram(torch.from_numpy(np.ascontiguousarray(s))[None])[0].numpy()
                                 for kind in segments.values() for s in kind], axis=1).T + EPSILON  # (frame, freq)
    frames = frames.astype(np.float64)
    common = {"n_components": args.rank, "beta_loss": BETA_LOSSES[args.beta], "alpha_H": 0.0, "l1_ratio": 1.0,
              "alpha_W": sklearn_alpha(args.sparsity, frames.shape[1]), "random_state": 0, "init": "nndsvda"}
    learners = {
        "NMF (mu, 200 iterations)": NMF(solver="mu", max_iter=200, tol=0.0, **common),
        "MiniBatchNMF (batch 1024, 20 epochs)": MiniBatchNMF(batch_size=1024, max_iter=20, tol=0.0, **common),
    }
    bins = np.fft.rfftfreq(512, 1 / 16000)
    print(f"{frames.shape[0]} frames × {frames.shape[1]} bins, rank {args.rank}, beta {args.beta}, "
          f"sparsity {args.sparsity}")
    for name, learner in learners.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            codes = learner.fit_transform(frames)
        seconds = time.perf_counter() - start
        reconstruction = np.maximum(codes @ learner.components_, EPSILON)
        bands = []
        for low, high in BANDS:
            selected = (bins >= low) & (bins < high)
            error = np.sum((frames[:, selected] - reconstruction[:, selected]) ** 2) / np.sum(frames[:, selected] ** 2)
            bands.append(f"{low / 1000:g}-{high / 1000:g} kHz {100 * error:.2f} %")
        print(f"{name}: {seconds:.1f} s, divergence {beta_divergence(frames, reconstruction, args.beta):.4f} "
              f"per element; relative squared error {', '.join(bands)}")


if __name__ == "__main__":
    main()
