"""Faithfulness and frequency bands of a proxy's explanations over a corpus split.

Usage::

    python benchmarks/explain.py CORPUS [--model proxy] [--split test] [--random-draws 5] [--output FILE]

Explains every file of the split (:class:`proxyseg.explain.explanation.Explainer`) and prints, per
class, over the files where the teacher detects it: the mean drop of the teacher's probability
when the class's relevant components are removed, the same for as many random components, their
ratio (the issue's target: at least 3 for speech and music), the mean drop when only the relevant
components are kept, the mean number of relevant components, and the bands found (median edges and
their quartiles). Then the paper's reading, checked on these files: speech relies on about
100 Hz – 1 kHz, music on 200 Hz – 4 kHz; for each, in how many files the band's centre (geometric
mean of its edges) lies inside the paper's range.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.audio import load
from proxyseg.corpus.manifest import Corpus
from proxyseg.explain.explanation import Explainer

#: The bands Mariotte et al. read from their class prototypes (Hz).
PAPER_BANDS = {"speech": (100.0, 1000.0), "music": (200.0, 4000.0)}


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
    for uri in uris:
        explanation = explainer(load(corpus.audio_path(uri)), uri)
        for name, item in explanation.classes.items():
            if item.detected and item.audio is not None:
                rows.setdefault(name, []).append({**item.faithfulness, "components": len(item.components),
                                                  "low": item.band_hz[0], "high": item.band_hz[1]})
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
    lines += ["", "| class | paper's band (Hz) | files whose band centre lies in it |", "|---|---|---|"]
    for name, (low, high) in PAPER_BANDS.items():
        centres = [np.sqrt(max(item["low"], 1.0) * item["high"]) for item in rows.get(name, [])]
        inside = sum(low <= centre <= high for centre in centres)
        lines.append(f"| {name} | {low:.0f}–{high:.0f} | {inside} of {len(centres)} |")
    report = "\n".join(lines)
    publish(report, args.output)


if __name__ == "__main__":
    main()
