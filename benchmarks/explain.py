"""Faithfulness and frequency bands of a proxy's explanations over a corpus split.

Usage::

    python benchmarks/explain.py CORPUS [--model proxy] [--split test] [--random-draws 5] [--output FILE]

Explains every file of the split (:class:`proxyseg.explain.explainer.Explainer`) and prints, per
class, over the files where the teacher detects it: the mean drop of the teacher's probability
when the class's relevant components are removed, the same for as many random components, their
ratio (the issue's target: at least 3 for speech and music), the mean drop when only the relevant
components are kept, the mean number of relevant components, and the bands found (median edges and
their quartiles). Then whether the bands match what the teacher is sensitive to: each third-octave
band is filtered out of the input in turn and the drop of the teacher's probability measured; per
class, the mean drop per third-octave inside the proxy's band against outside it, and the
third-octaves whose removal hurts the teacher most. Then the paper's reading, checked on these
files: speech relies on about 100 Hz – 1 kHz, music on 200 Hz – 4 kHz; for each, in how many files
the band's centre (geometric mean of its edges) lies inside the paper's range.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.audio import load
from proxyseg.corpus.manifest import Corpus
from proxyseg.explain.explainer import Explainer
from proxyseg.explain.listening import Separator
from proxyseg.explain.relevance import third_octave_bands
from proxyseg.labels import CLASSES
from proxyseg.progress import progress_bar

#: The bands Mariotte et al. read from their class prototypes (Hz).
PAPER_BANDS = {"speech": (100.0, 1000.0), "music": (200.0, 4000.0)}


def third_octave_sensitivity(teacher, waveform: np.ndarray, explanation) -> np.ndarray:
    """``(band, class)``: the drop of the teacher's mean probability of each class on the frames where
    it is detected when one third-octave band (:func:`third_octave_bands`) is filtered out of the input."""
    lower, _, band_of_bin = third_octave_bands()
    frames = explanation.detected  # (frame, class)
    counts = np.maximum(frames.sum(axis=0), 1)
    before = (explanation.teacher_probabilities * frames).sum(axis=0) / counts  # (class,)
    drops = np.zeros((len(lower), frames.shape[1]))
    separate = Separator(waveform)  # one STFT for every band
    for index in range(len(lower)):
        mask = np.repeat((band_of_bin == index)[:, None].astype(float), explanation.activations.shape[1], axis=1)
        _, rest = separate(mask)
        drops[index] = before - (teacher.predict(rest).probabilities * frames).sum(axis=0) / counts
    return drops


def add_rows(rows: dict[str, list[dict]], explanation, sensitivity: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> None:
    """A row per class whose faithfulness was measured: its figures, its band, the sensitivity in and out of it."""
    for name, item in explanation.classes.items():
        if item.tested:
            inside = (lower >= item.band_hz[0]) & (upper <= item.band_hz[1])  # (band,)
            drops = sensitivity[:, CLASSES.index(name)]
            rows.setdefault(name, []).append({
                **item.faithfulness, "components": len(item.components), "low": item.band_hz[0],
                "high": item.band_hz[1], "sensitivity": drops,
                "inside": drops[inside].mean() if inside.any() else np.nan,
                "outside": drops[~inside].mean() if not inside.all() else np.nan})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--model", default="proxy")
    parser.add_argument("--split", default="test")
    parser.add_argument("--random-draws", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    corpus = Corpus(args.corpus)
    explainer = Explainer.from_pretrained(args.model, random_draws=args.random_draws)
    rows: dict[str, list[dict]] = {}
    uris = corpus.uris(args.split)
    lower, upper, _ = third_octave_bands()
    with progress_bar() as bar:
        for uri in bar.track(uris, description="explaining"):
            waveform = load(corpus.audio_path(uri))
            explanation = explainer(waveform, uri)
            sensitivity = third_octave_sensitivity(explainer.teacher, waveform, explanation)  # (band, class)
            add_rows(rows, explanation, sensitivity, lower, upper)

    lines = [f"**{args.corpus.name}, {args.split} split ({len(uris)} files), model {args.model}, "
             f"{args.random_draws} random draws**", "",
             "| class | files | removal drop | random removal drop | ratio | keep-only drop | relevant components "
             "| band (Hz): median low–high | low edge, quartiles | high edge, quartiles |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, items in rows.items():
        mean = {key: float(np.mean([item[key] for item in items])) for key in
                ("removal_drop", "random_removal_drop", "keep_only", "components")}
        ratio = mean["removal_drop"] / mean["random_removal_drop"] if mean["random_removal_drop"] > 0 else float("inf")
        lows, highs = (np.percentile([item[edge] for item in items], [25, 50, 75]) for edge in ("low", "high"))
        lines.append(f"| {name} | {len(items)} | {mean['removal_drop']:.3f} | {mean['random_removal_drop']:.3f} | "
                     f"{ratio:.1f} | {mean['keep_only']:.3f} | {mean['components']:.1f} | "
                     f"{lows[1]:.0f}–{highs[1]:.0f} | {lows[0]:.0f}–{lows[2]:.0f} | {highs[0]:.0f}–{highs[2]:.0f} |")
    lines += ["", "| class | drop per third-octave filtered out: inside the band | outside it | ratio "
              "| the teacher's three most sensitive third-octaves (Hz, mean drop) |", "|---|---|---|---|---|"]
    for name, items in rows.items():
        inside, outside = (float(np.nanmean([item[key] for item in items])) for key in ("inside", "outside"))
        profile = np.mean([item["sensitivity"] for item in items], axis=0)  # (band,)
        top = ", ".join(f"{lower[b]:.0f}–{upper[b]:.0f} ({profile[b]:.3f})" for b in np.argsort(-profile)[:3])
        lines.append(f"| {name} | {inside:.3f} | {outside:.3f} | {inside / outside if outside > 0 else float('inf'):.1f} "
                     f"| {top} |")
    lines += ["", "| class | paper's band (Hz) | files whose band centre lies in it |", "|---|---|---|"]
    for name, (low, high) in PAPER_BANDS.items():
        centres = [np.sqrt(max(item["low"], 1.0) * item["high"]) for item in rows.get(name, [])]
        inside = sum(low <= centre <= high for centre in centres)
        lines.append(f"| {name} | {low:.0f}–{high:.0f} | {inside} of {len(centres)} |")
    report = "\n".join(lines)
    publish(report, args.output)


if __name__ == "__main__":
    main()
