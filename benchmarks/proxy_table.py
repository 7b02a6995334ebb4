"""The paper's comparison table on our corpus: the teacher and its proxies, with a sweep of K and λ_sp.

Usage::

    python benchmarks/proxy_table.py CORPUS [--teacher teacher] [--work DIR] [--epochs 20] [--jobs 2]
                                            [--split test] [--extra NAME=MODELDIR ...] [--output FILE]

Trains (unless already trained in ``--work``) each proxy of the table with
``proxyseg train proxy`` on the same corpus, teacher and budget, ``--jobs`` at a time with one
thread each; the fixed dictionaries come from ``proxyseg nmf learn`` on the same corpus (learnt
into ``--work`` when missing). Then scores, on the corpus's ``--split``:

- F1 per class against the reference (duration-based, as ``proxyseg evaluate``), every model
  binarised with the teacher's tuned thresholds;
- fidelity of each proxy to the teacher: per-class F1 of the proxy's segments against the
  teacher's own (both binarised with the teacher's thresholds), frame agreement of their
  decisions at 0.5 averaged over the teacher's classes, mean absolute probability difference;
- reconstruction: relative squared error ``Σ(X − WH)² / ΣX²`` of ``X = log(1 + |STFT|²)``,
  overall and in the 4–8 kHz band (the paper's reason for pre-learning ``W``).

``--extra`` adds rows for other trained models (e.g. the shipped proxy, trained longer).
Prints Markdown tables (and writes them with ``--output``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.artefacts import load_model
from proxyseg.audio import load
from proxyseg.corpus.manifest import Corpus
from proxyseg.features import nmf_spectrogram
from proxyseg.grid import SAMPLE_RATE
from proxyseg.grid import N_FFT
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.metrics import detection_scores, fidelity
from proxyseg.segmentation import Segmenter
from proxyseg.teachers import load_teacher
from proxyseg.training.dictionary import learn_corpus_dictionary
from proxyseg.training.teacher_outputs import TeacherOutputs, audio_splits

HIGH_BAND_HZ = 4000.0
#: name → (train proxy options, dictionary rank or None for a joint W)
TABLE = {
    "proxy (spectrogram, pre-learned W)": (["--features", "spectrogram"], 128),
    "proxy (spectrogram, joint W)": (["--features", "spectrogram", "--joint-dictionary"], None),
    "proxy (teacher features, pre-learned W)": (["--features", "teacher"], 128),
    "proxy (teacher features, joint W)": (["--features", "teacher", "--joint-dictionary"], None),
}
SWEEP = {
    "K = 64": (["--features", "teacher"], 64),
    "K = 128": TABLE["proxy (teacher features, pre-learned W)"],
    "K = 256": (["--features", "teacher"], 256),
    "λ_sp = 0.01": (["--features", "teacher", "--loss-weights", "10", "5", "0.01"], 128),
    "λ_sp = 0.1": TABLE["proxy (teacher features, pre-learned W)"],
    "λ_sp = 1": (["--features", "teacher", "--loss-weights", "10", "5", "1"], 128),
}


def directory_name(options: list[str], rank: int | None) -> str:
    """A directory name that identifies a proxy's options."""
    return "proxy" + "".join(f"_{o.lstrip('-')}" for o in options) + (f"_k{rank}" if rank else "")


def train_all(corpus: Path, teacher: str, work: Path, epochs: int, jobs: int) -> dict[tuple, Path]:
    """Train every distinct proxy of TABLE and SWEEP not yet trained; their directories."""
    variants = {(tuple(options), rank) for options, rank in [*TABLE.values(), *SWEEP.values()]}
    for rank in sorted({rank for _, rank in variants if rank}):
        if not (work / f"dictionary_k{rank}" / "dictionary.json").exists():
            learn_corpus_dictionary(corpus, work / f"dictionary_k{rank}", rank=rank)

    def train(variant: tuple) -> None:
        options, rank = variant
        output = work / directory_name(list(options), rank)
        if (output / "training.json").exists():
            return
        command = [sys.executable, "-m", "proxyseg", "train", "proxy", str(corpus), "--teacher", teacher,
                   "-o", str(output), "--teacher-cache", str(work / "teacher-outputs"), "--max-epochs", str(epochs),
                   "--quiet", *options]
        if rank:
            command += ["--dictionary", str(work / f"dictionary_k{rank}")]
        environment = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(work / f"{output.name}.log", "w") as log:
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=environment)

    # The teacher's outputs (with its embedding) once, for every proxy.
    outputs = TeacherOutputs(load_teacher(teacher), teacher, work / "teacher-outputs", embedding=True)
    for files in audio_splits(corpus).values():
        for uri, path in files:
            outputs(uri, load(path))
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(train, sorted(variants, key=str)))
    return {variant: work / directory_name(list(variant[0]), variant[1]) for variant in variants}


@dataclass
class TestSet:
    """The decoded files of a split, their NMF spectrograms and references: read once for every model."""

    waveforms: dict[str, np.ndarray]
    spectrograms: dict[str, np.ndarray]  # uri → (freq, frame)
    references: dict
    uems: dict

    @classmethod
    def read(cls, corpus: Corpus, uris: list[str]) -> TestSet:
        waveforms = {uri: load(corpus.audio_path(uri)) for uri in uris}
        with torch.inference_mode():
            spectrograms = {uri: nmf_spectrogram()(torch.from_numpy(w)[None])[0].numpy() for uri, w in waveforms.items()}
        return cls(waveforms, spectrograms, {uri: corpus.annotation(uri) for uri in uris},
                   {uri: corpus.uem(uri) for uri in uris})

    @property
    def minutes(self) -> float:
        return sum(w.shape[0] for w in self.waveforms.values()) / SAMPLE_RATE / 60


def score_model(loaded, teacher: dict, test: TestSet) -> dict:
    """F1 against the reference, fidelity to the ``teacher`` (its scores) and reconstruction errors of one model."""
    model = Inference(loaded)
    segmenter = Segmenter(model, loaded.binarization)
    high = int(HIGH_BAND_HZ / (SAMPLE_RATE / N_FFT))
    hypotheses, probabilities = {}, {}
    squared_error, energy = np.zeros(2), np.zeros(2)  # overall, high band
    for uri, waveform in test.waveforms.items():
        output = model.predict(waveform)
        hypotheses[uri] = segmenter.decide(output, uri, waveform.shape[0] / SAMPLE_RATE).annotation
        probabilities[uri] = output.probabilities
        if loaded.type == "proxy_segmenter":
            with torch.inference_mode():
                estimate = loaded.model.reconstruct(torch.from_numpy(output.embedding.T)[None])[0].numpy()
            target = test.spectrograms[uri]  # (freq, frame)
            error, power = (target - estimate) ** 2, target**2
            squared_error += [error.sum(), error[high:].sum()]
            energy += [power.sum(), power[high:].sum()]
    result = {"f1": detection_scores(test.references, hypotheses, test.uems, loaded.classes)}
    if loaded.type == "proxy_segmenter":
        columns = [CLASSES.index(name) for name in loaded.classes]
        result["fidelity"] = fidelity([teacher["probabilities"][uri][:, columns] for uri in test.waveforms],
                                      [probabilities[uri][:, columns] for uri in test.waveforms], loaded.classes)
        result["segment_fidelity"] = detection_scores(teacher["hypotheses"], hypotheses, test.uems, loaded.classes)
        result["reconstruction"] = squared_error / energy
    else:
        result["probabilities"], result["hypotheses"] = probabilities, hypotheses
    return result


def render(title: str, rows: dict[str, dict]) -> str:
    """A Markdown table of F1 per class, fidelity and reconstruction."""
    lines = [f"**{title}**", "",
             "| model | " + " | ".join(f"F1 {name}" for name in CLASSES)
             + " | agreement % | F1 vs teacher (s/m/n/o) | mean abs. diff. | rec. error | rec. error 4–8 kHz |",
             "|---|" + "---|" * (len(CLASSES) + 5)]
    for name, scores in rows.items():
        cells = [f"{100 * s.f1:.1f}" if (s := scores["f1"].get(c)) else "—" for c in CLASSES]
        if "fidelity" in scores:
            fid = scores["fidelity"]
            agreement = np.mean([f.agreement for f in fid.values()])
            segments = scores["segment_fidelity"]
            cells += [f"{100 * agreement:.1f}", "/".join(f"{100 * segments[c].f1:.1f}" for c in segments),
                      f"{np.mean([f.mean_absolute_difference for f in fid.values()]):.3f}",
                      f"{100 * scores['reconstruction'][0]:.1f} %", f"{100 * scores['reconstruction'][1]:.1f} %"]
        else:
            cells += ["—"] * 5
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--teacher", default="teacher")
    parser.add_argument("--work", type=Path, default=Path("proxy-table"), help="Where the proxies are trained.")
    parser.add_argument("--epochs", type=int, default=20, help="Training epochs of every proxy.")
    parser.add_argument("--jobs", type=int, default=2, help="Proxies trained at once (one thread each).")
    parser.add_argument("--split", default="test")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=MODELDIR",
                        help="Another model to score in the first table.")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    directories = train_all(args.corpus, args.teacher, args.work, args.epochs, args.jobs)
    corpus = Corpus(args.corpus)
    uris = corpus.uris(args.split)
    teacher = load_teacher(args.teacher)
    if not isinstance(teacher, Inference):
        raise SystemExit("the table scores a teacher of ours (a model directory or 'teacher')")
    test = TestSet.read(corpus, uris)
    teacher_scores = score_model(teacher.loaded, {}, test)
    scores = {variant: score_model(load_model(path), teacher_scores, test) for variant, path in directories.items()}
    extra = {name: score_model(load_model(path), teacher_scores, test)
             for name, path in (item.split("=", 1) for item in args.extra)}

    def rows(table: dict) -> dict:
        return {name: scores[(tuple(options), rank)] for name, (options, rank) in table.items()}

    report = "\n\n".join([
        render(f"{args.corpus.name}, {args.split} split ({len(uris)} files, {test.minutes:.0f} min); "
               f"every proxy trained {args.epochs} epochs", {"teacher": teacher_scores, **rows(TABLE), **extra}),
        render("Sweep of the default proxy (teacher features, pre-learned W): rank K and sparsity weight λ_sp",
               rows(SWEEP)),
    ])
    publish(report, args.output)


if __name__ == "__main__":
    main()
