"""From audio to segments: a model's frame probabilities, binarised per class; and the segment files of a run."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pyannote.core import Annotation

from proxyseg.artefacts import LoadedModel
from proxyseg.audio import as_waveform, stream
from proxyseg.formats import EXTENSIONS, write_annotation
from proxyseg.grid import SAMPLE_RATE
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.neural import Inference
from proxyseg.inputs import Job
from proxyseg.labels import CLASSES, frames_to_annotation
from proxyseg.postprocessing import Binarization, binarize
from proxyseg.teachers.registry import load_directory


@dataclass
class Segmentation:
    """The segmentation of one file.

    Attributes
    ----------
    annotation
        Segments labelled with class names (only the classes the model predicts).
    probabilities
        float32 ``(frame, class)`` on the 20 ms grid.
    duration
        Length of the audio, in seconds.
    """

    annotation: Annotation
    probabilities: np.ndarray
    duration: float


class Segmenter:
    """Segment audio with a teacher and per-class binarisation.

    Parameters
    ----------
    model
        Gives frame probabilities: a trained model (:class:`~proxyseg.inference.Inference`), an
        off-the-shelf teacher, any :class:`~proxyseg.inference.FrameModel`.
    binarization
        Per class thresholds and minimum durations; classes not given use ``Binarization()``.

    ``Segmenter.from_pretrained()("radio.wav").annotation`` segments a file with the shipped
    proxy (``from_pretrained("teacher")``: with the shipped teacher).
    """

    def __init__(self, model: FrameModel, binarization: dict[str, Binarization] | None = None):
        self.model = model
        self.binarization = {name: (binarization or {}).get(name, Binarization()) for name in CLASSES}

    @classmethod
    def from_pretrained(cls, model: str | Path | LoadedModel = "proxy") -> Segmenter:
        """The segmenter of a model directory (a committee's included), of a shipped model by name,
        or of a model already loaded."""
        if isinstance(model, LoadedModel):
            return cls(Inference(model), model.binarization)
        return cls(*load_directory(model))

    def __call__(self, audio: str | os.PathLike | np.ndarray, uri: str | None = None) -> Segmentation:
        """Segment a file (any format :func:`proxyseg.audio.load` reads) or a 16 kHz waveform ``(samples,)``.

        A file is decoded and segmented block by block: with a neural model, memory stays about
        flat whatever its length (the probabilities kept take 16 bytes per 20 ms frame). A file
        that cannot be used raises an :class:`~proxyseg.errors.AudioError`, a waveform that cannot
        a ``ValueError`` (see :func:`proxyseg.audio.as_waveform`).
        """
        if not isinstance(audio, (str, os.PathLike)):
            waveform = as_waveform(audio)
            return self.decide(self.model.predict(waveform), uri, waveform.shape[0] / SAMPLE_RATE)
        samples = []  # the length of each block, counted as they stream by

        def counted(blocks):
            for block in blocks:
                samples.append(len(block))
                yield block

        output = self.model.predict_stream(counted(stream(audio)), embedding=False)
        return self.decide(output, uri or Path(audio).stem, sum(samples) / SAMPLE_RATE)

    def decide(self, output: FrameOutput, uri: str | None, duration: float) -> Segmentation:
        """Binarise the model's ``output`` for a file of ``duration`` seconds into segments."""
        active = binarize(output.probabilities, self.binarization) & output.class_mask[None, :]
        annotation = frames_to_annotation(active, uri=uri, duration=duration)
        return Segmentation(annotation, output.probabilities, duration)


class SegmentWriter:
    """What ``proxyseg segment`` does to each file of a run (a :class:`proxyseg.batch.Writer`): segment it
    into ``outdir/<uri>.<ext>`` in one of :data:`proxyseg.formats.FORMATS`.

    ``thresholds`` (class → value) replace the model's onset and offset for those classes, its
    minimum durations kept.
    """

    def __init__(self, model: str, outdir: Path, output_format: str, thresholds: dict[str, float] | None = None):
        self.model, self.outdir, self.output_format = model, Path(outdir), output_format
        self.thresholds = dict(thresholds or {})
        self._segmenter = None

    def setup(self) -> None:
        self._segmenter = Segmenter.from_pretrained(self.model)
        for name, value in self.thresholds.items():
            self._segmenter.binarization[name] = replace(self._segmenter.binarization[name], onset=value, offset=value)

    def output(self, job: Job) -> Path:
        return self.outdir / f"{job.uri}.{EXTENSIONS[self.output_format]}"

    def done(self, job: Job) -> bool:
        return self.output(job).is_file()

    def __call__(self, job: Job) -> int:
        """Segment ``job``; the number of segments written."""
        result = self._segmenter(job.path, uri=job.uri)
        write_annotation(self.output(job), result.annotation, self.output_format, duration=result.duration)
        return len(result.annotation)
