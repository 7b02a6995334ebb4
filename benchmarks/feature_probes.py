"""How much each class can be read linearly off a representation's frames: linear probes per class.

Usage::

    python benchmarks/feature_probes.py CORPUS [--cross-source HELD_OUT_CORPUS]
                                        [--features logmel whisper MODEL_DIR ...]
                                        [--train-files 200] [--test-files 60] [--output FILE]

Before training a teacher for hours on a representation, a probe says what it holds: for each
representation, one logistic regression per class is fitted on the frames of ``--train-files``
files of the corpus's train split (every 5th frame, features standardised) and scored on the
frames of ``--test-files`` files of its test split and, with ``--cross-source``, of the held-out
corpus. The score is the frame F1 at the best threshold (0.05 … 0.9) of each class, so that a
class's prevalence does not favour one representation; the last row gives the F1 of marking every
frame active, the floor any probe must beat.

Representations: ``logmel`` (64 log-mel bands, one frame: no context), ``whisper`` (Whisper base's
encoder, the ``whisper`` extra, run over each whole file), or a model directory of proxyseg (its
``embedding``: a teacher's bottleneck, with its receptive field of context). A probe is linear on
purpose: it measures what the representation makes explicit, not what a model trained on it could
reach.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from reporting import publish  # benchmarks/reporting.py, beside this script
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from proxyseg.corpus.manifest import Corpus
from proxyseg.features import make_features
from proxyseg.inference import Inference
from proxyseg.labels import CLASSES
from proxyseg.training.data import AnnotatedFile, load_split

TRAIN_STEP = 5  # every 5th training frame: neighbouring frames add little
THRESHOLDS = np.arange(0.05, 0.95, 0.05)


def representation(name: str):
    """A function from a 16 kHz waveform ``(samples,)`` to its frames ``(frame, dim)``."""
    if name in ("logmel", "whisper"):
        module = make_features(name)

        def frames(waveform: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(waveform)[None])[0].T.numpy()  # (frame, dim)
        return frames
    model = Inference.from_pretrained(name)
    return lambda waveform: model.predict(waveform).embedding


def frame_table(files: list[AnnotatedFile], frames_of, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features ``(frame, dim)``, labels and mask ``(frame, class)`` of every ``step``-th frame of ``files``."""
    features, labels, masks = [], [], []
    for file in files:
        values = frames_of(file.waveform)
        count = min(len(values), len(file.targets))
        features.append(values[:count:step])
        labels.append(file.targets[:count:step] > 0.5)
        masks.append(file.mask[:count:step])
    return np.concatenate(features), np.concatenate(labels), np.concatenate(masks)


def best_f1(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The frame F1 at the best of :data:`THRESHOLDS`."""
    scores = [2 * (labels & (probabilities >= threshold)).sum() / max((probabilities >= threshold).sum()
                                                                        + labels.sum(), 1)
              for threshold in THRESHOLDS]
    return float(max(scores))


def probe(train: tuple, tests: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """F1 per test set and class of logistic regressions fitted on ``train`` (as :func:`frame_table` gives)."""
    features, labels, mask = train
    scaler = StandardScaler().fit(features)
    scores: dict[str, dict[str, float]] = {name: {} for name in tests}
    for index, name in enumerate(CLASSES):
        known = mask[:, index]
        if labels[known, index].all() or not labels[known, index].any():
            continue
        classifier = LogisticRegression(C=0.1, max_iter=1000)
        classifier.fit(scaler.transform(features[known]), labels[known, index])
        for test, (test_features, test_labels, test_mask) in tests.items():
            rows = test_mask[:, index]
            if test_labels[rows, index].any():
                probabilities = classifier.predict_proba(scaler.transform(test_features[rows]))[:, 1]
                scores[test][name] = best_f1(probabilities, test_labels[rows, index])
    return scores


def every_frame_active(tests: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """The F1 of marking every frame active, per test set and class."""
    return {test: {name: best_f1(np.ones(int(mask[:, index].sum())), labels[mask[:, index], index])
                   for index, name in enumerate(CLASSES) if labels[mask[:, index], index].any()}
            for test, (_, labels, mask) in tests.items()}


def table(test: str, rows: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [f"**{test}** — frame F1 % at the best threshold of a linear probe per class", "",
             "| representation | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    for name, scores in rows.items():
        cells = [f"{100 * scores[test][label]:.1f}" if label in scores[test] else "–" for label in CLASSES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--cross-source", type=Path, help="a corpus built with --source-set held-out")
    parser.add_argument("--features", nargs="+", default=["logmel", "whisper"],
                        help="logmel, whisper, or model directories (their embedding)")
    parser.add_argument("--train-files", type=int, default=200)
    parser.add_argument("--test-files", type=int, default=60)
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()
    torch.set_num_threads(1)

    corpus = Corpus(arguments.corpus)
    train_files = load_split(corpus, "train")[: arguments.train_files]
    test_sets = {f"{arguments.corpus.name}, test split": load_split(corpus, "test")[: arguments.test_files]}
    if arguments.cross_source:
        held_out = Corpus(arguments.cross_source)
        test_sets[f"cross-source test ({arguments.cross_source.name})"] = [
            file for split in ("train", "dev", "test") for file in load_split(held_out, split)][: arguments.test_files]
    rows = {}
    for name in arguments.features:
        frames_of = representation(name)
        tests = {test: frame_table(files, frames_of, 1) for test, files in test_sets.items()}
        rows[Path(name).name] = probe(frame_table(train_files, frames_of, TRAIN_STEP), tests)
    rows["every frame active"] = every_frame_active(tests)  # the frames' labels: the same for every representation
    counts = f"{len(train_files)} training files, {arguments.test_files} files per test set at most"
    publish("\n\n".join([f"Linear probes ({counts}).", *(table(test, rows) for test in test_sets)]),
            arguments.output)


if __name__ == "__main__":
    main()
