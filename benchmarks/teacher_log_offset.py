"""Does the teacher train faster on a log-power spectrogram than on the paper's log(1 + |STFT|²)?

Usage::

    python benchmarks/teacher_log_offset.py CORPUS [--epochs 8]

Trains two small teachers (TCN, 2 repeats) with the same seed, data, augmentation and optimiser
on the corpus's dev split (short and enough to compare learning speed), one with
``log_offset=1`` (the paper's features) and one with ``log_offset=1e-6`` (log-power), and prints
the mean training loss over the last 10 steps of each.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.utils.data import DataLoader

from proxyseg.corpus.manifest import Corpus
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.training.augment import Augmentation
from proxyseg.training.data import ChunkDataset, load_split
from proxyseg.training.losses import masked_bce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    files = load_split(Corpus(args.corpus), "dev")
    for offset in (1.0, 1e-6):
        torch.manual_seed(0)
        dataset = ChunkDataset(files, random_offsets=True, augmentation=Augmentation())
        model = TCNSegmenter(repeats=2, log_offset=offset)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(args.epochs):
            for waveform, targets, mask in DataLoader(dataset, batch_size=32, shuffle=True):
                loss = masked_bce(model(waveform)["logits"], targets, mask)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(loss.item())
        print(f"log_offset {offset:g}: {len(losses)} steps, mean loss of the last 10: {np.mean(losses[-10:]):.3f}")


if __name__ == "__main__":
    main()
