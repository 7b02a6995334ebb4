"""What the batch commands do to one file (see :mod:`proxyseg.batch`): segment it, or explain it."""

from __future__ import annotations

from pathlib import Path

from proxyseg.atomic import write_json
from proxyseg.audio import load, save
from proxyseg.batch import Job
from proxyseg.explain.explanation import Explainer
from proxyseg.explain.report import write_report
from proxyseg.formats import EXTENSIONS, write_annotation
from proxyseg.segmentation import Segmenter

#: Written last by :func:`write_explanation`: its presence means a file's explanation is complete.
EXPLANATION = "explanation.json"


class SegmentTask:
    """Segment a file into ``outdir/<uri>.<ext>`` in one of :data:`proxyseg.formats.FORMATS`."""

    def __init__(self, model: str, outdir: Path, output_format: str):
        self.model, self.outdir, self.output_format = model, Path(outdir), output_format
        self._segmenter = None

    def setup(self) -> None:
        self._segmenter = Segmenter.from_pretrained(self.model)

    def output(self, job: Job) -> Path:
        return self.outdir / f"{job.uri}.{EXTENSIONS[self.output_format]}"

    def done(self, job: Job) -> bool:
        return self.output(job).exists()

    def __call__(self, job: Job) -> int:
        """Segment ``job``; the number of segments written."""
        result = self._segmenter(job.path, uri=job.uri)
        write_annotation(self.output(job), result.annotation, self.output_format, duration=result.duration)
        return len(result.annotation)


class ExplainTask:
    """Explain a file into ``outdir/<uri>/`` (into ``outdir`` itself when ``single``), see :func:`write_explanation`."""

    def __init__(self, model: str, outdir: Path, single: bool = False, **options):
        self.model, self.outdir, self.single, self.options = model, Path(outdir), single, options
        self._explainer = None

    def setup(self) -> None:
        self._explainer = Explainer.from_pretrained(self.model, **self.options)

    def folder(self, job: Job) -> Path:
        return self.outdir if self.single else self.outdir / job.uri

    def done(self, job: Job) -> bool:
        return (self.folder(job) / EXPLANATION).exists()

    def __call__(self, job: Job) -> dict:
        """Explain ``job``; the content of its explanation.json."""
        return write_explanation(self._explainer, job.path, self.folder(job), job.uri)


def write_explanation(explainer: Explainer, path: Path, outdir: Path, uri: str) -> dict:
    """Explain the audio file ``path`` into ``outdir``; the content of its explanation.json.

    Writes ``input.wav``, ``<class>.wav`` and ``<class>.rest.wav`` for each class with audio,
    ``report.html``, and last ``explanation.json``, each atomically.
    """
    waveform = load(path)
    explanation = explainer(waveform, uri, source=str(path))
    save(outdir / "input.wav", waveform)
    for name, item in explanation.classes.items():
        if item.audio is not None:
            save(outdir / f"{name}.wav", item.audio, subtype="FLOAT")
            save(outdir / f"{name}.rest.wav", item.complement, subtype="FLOAT")
    write_report(explanation, waveform, outdir)
    document = explanation.to_json()
    write_json(outdir / EXPLANATION, document)
    return document
