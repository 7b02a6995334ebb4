"""What the batch commands do to one file (see :mod:`proxyseg.batch`): segment it, or explain it."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg.atomic import atomic_output, write_json
from proxyseg.audio import SAMPLE_RATE, stream
from proxyseg.batch import Job
from proxyseg.explain.explanation import Explainer
from proxyseg.explain.report import write_report
from proxyseg.formats import EXTENSIONS, write_annotation
from proxyseg.labels import CLASSES
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

    The file is read as a stream, window by window (memory is bounded by the explainer's window),
    and its audio written as it comes: ``input.wav``, and ``<class>.wav`` and ``<class>.rest.wav``
    for each class with relevant components. Then ``report.html``, and last ``explanation.json``.
    Each file appears complete or not at all, and an earlier ``explanation.json`` is removed first: a
    folder holding one holds the complete explanation it describes (and no class audio of an earlier one).
    """
    stream(path)  # checks the file before any output is opened
    (outdir / EXPLANATION).unlink(missing_ok=True)
    sink = _FileSink(outdir, ExitStack())
    with sink.outputs:
        explanation = explainer.explain(lambda: stream(path), uri, str(path), sink=sink)
    for name in CLASSES:
        if name not in sink.files:
            for stale in (f"{name}.wav", f"{name}.rest.wav"):
                (outdir / stale).unlink(missing_ok=True)
    write_report(explanation, outdir)
    document = explanation.to_json()
    write_json(outdir / EXPLANATION, document)
    return document


class _FileSink:
    """An :class:`~proxyseg.explain.windows.AudioSink` that writes each piece of an explanation's audio to its file in ``outdir`` as it comes.

    The files are written under temporary names, renamed into place when ``outputs`` closes
    normally and removed otherwise; the input as 16-bit PCM, the explanations as 32-bit float
    (so that a class's audio and its rest add back to the input exactly).
    """

    def __init__(self, outdir: Path, outputs: ExitStack):
        self.outdir, self.outputs, self.files = Path(outdir), outputs, {}

    def input(self, samples: np.ndarray) -> None:
        self._file("input", "PCM_16").write(samples)

    def explained(self, name: str, kept: np.ndarray, rest: np.ndarray) -> None:
        self._file(name, "FLOAT").write(kept)
        self._file(f"{name}.rest", "FLOAT").write(rest)

    def _file(self, name: str, subtype: str) -> sf.SoundFile:
        if name not in self.files:
            partial = self.outputs.enter_context(atomic_output(self.outdir / f"{name}.wav"))
            self.files[name] = self.outputs.enter_context(sf.SoundFile(partial, "w", SAMPLE_RATE, 1, subtype))
        return self.files[name]
