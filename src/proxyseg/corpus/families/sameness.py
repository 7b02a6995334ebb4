"""The same recording twice: byte-identical copies, and re-encoded or renamed copies found by their spectra.

Game sound packs copy their effects between units and between packages; a recording in two splits
would let the test split hear what training heard. :func:`drop_copies` keeps one of identical
files, :func:`merge_same_recordings` gives copies one group.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from proxyseg.audio import load
from proxyseg.corpus.sources import Source


def drop_copies(sources: list[Source]) -> list[Source]:
    """Keep one of byte-identical files (the first by name)."""
    kept: dict[str, Source] = {}
    for source in sorted(sources, key=lambda source: source.name):
        kept.setdefault(hashlib.sha256(source.path.read_bytes()).hexdigest(), source)
    return sorted(kept.values(), key=lambda source: source.name)


#: Sample rate files are compared at: enough for the shape of a sound effect, cheap to decode.
FINGERPRINT_RATE = 8000
#: Two files are the same recording when their lengths agree within this (relative, absolute)...
SAME_LENGTH = (0.02, 0.02)
#: ...and their log spectrograms (24 bands, 32 ms frames, 8 kHz) correlate above this.
SAME_SPECTRUM = 0.95


def merge_same_recordings(sources: list[Source], decoded: dict[Path, np.ndarray] | None = None) -> list[Source]:
    """Give files holding the same recording (re-encoded, renamed, or copied into another unit or
    package) one group: the smallest of their groups. Sorted by name.

    Each file is compared at :data:`FINGERPRINT_RATE`: ``decoded`` gives those samples for the paths
    already decoded at that rate (:func:`decode`); the others are decoded here (a few seconds for a
    thousand short effects).
    """
    sources = sorted(sources, key=lambda source: source.name)
    decoded = decoded or {}
    prints = [_fingerprint(decoded[source.path] if source.path in decoded else decode(source.path))
              for source in sources]
    parent = list(range(len(sources)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(sources)), key=lambda i: prints[i][0])
    for a_pos, a in enumerate(order):
        length_a, spectrum_a = prints[a]
        for b in order[a_pos + 1:]:
            length_b, spectrum_b = prints[b]
            if length_b - length_a > SAME_LENGTH[0] * length_b + SAME_LENGTH[1]:
                break
            if _correlation(spectrum_a, spectrum_b) >= SAME_SPECTRUM:
                parent[find(b)] = find(a)
    members: dict[int, list[int]] = {}
    for i in range(len(sources)):
        members.setdefault(find(i), []).append(i)
    group = {}
    for indices in members.values():
        smallest = min(sources[i].group for i in indices)
        group.update({i: smallest for i in indices})
    return [
        Source(source.kind, group[i], source.name, source.path) for i, source in enumerate(sources)
    ]


def decode(path: Path) -> np.ndarray:
    """A file's samples ``(samples,)`` at :data:`FINGERPRINT_RATE`, as :func:`merge_same_recordings` compares them."""
    return load(path, sample_rate=FINGERPRINT_RATE, min_duration=0.0)


def _fingerprint(samples: np.ndarray) -> tuple[float, np.ndarray]:
    """Length in seconds and log energy in 24 bands every 32 ms of samples at :data:`FINGERPRINT_RATE`."""
    frames = len(samples) // 256
    if frames < 2:
        return len(samples) / FINGERPRINT_RATE, np.zeros((0, 24))
    windows = samples[: frames * 256].reshape(frames, 256) * np.hanning(256)
    power = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    edges = np.unique(np.geomspace(1, power.shape[1], 25).astype(int))
    bands = np.add.reduceat(power, edges[:-1], axis=1)
    return len(samples) / FINGERPRINT_RATE, np.log10(bands + 1e-8)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    frames = min(len(a), len(b))
    if frames < 2 or a.shape[1] != b.shape[1]:
        return 0.0
    x = a[:frames] - a[:frames].mean()
    y = b[:frames] - b[:frames].mean()
    denominator = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / denominator if denominator else 0.0
